"""The incident intake's HTTP server: its own port, its own thread and event loop, TLS when given.

It never runs on kopf's event loop: a burst of webhooks, a slow sender or a slow API server delays
webhooks, never reconciliation. Bodies are bounded (413 past ``max_body_bytes``), so is the number
of requests being handled (503 with ``Retry-After`` past ``concurrency``; every provider retries),
and so is each request's time (503 past ``timeout_seconds``). Each request is handled by
``Intake.handle`` on a worker thread of the server's own pool; the answer is JSON with the result,
the reason and a message for the sender.

The senders' credentials are files (a mounted Secret), read for every request so a rotated Secret
takes effect without a restart.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from slogate.domain.intake import Provider
from slogate.domain.signatures import BasicCredentials, svix_key
from slogate.reconcile.ports import IntakeAnswer, IntakeCredentials, IntakeRequest, IntakeTelemetry

log = logging.getLogger(__name__)

PATHS = {
    "/webhooks/alertmanager": Provider.ALERTMANAGER,
    "/webhooks/pagerduty": Provider.PAGERDUTY,
    "/webhooks/incidentio": Provider.INCIDENTIO,
}


def _lines(path: Path | None) -> list[str]:
    if path is None:
        return []
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def _basic(line: str) -> BasicCredentials:
    username, separator, password = line.partition(":")
    if not separator or not username:
        raise ValueError("a basic auth file holds one user:password a line")
    return BasicCredentials(username, password)


@dataclass(frozen=True)
class CredentialFiles:
    """Files of one secret a line: several lines while a secret rotates."""

    alertmanager_token: Path | None = None
    alertmanager_basic_auth: Path | None = None
    pagerduty_secret: Path | None = None
    incidentio_secret: Path | None = None

    def read(self) -> IntakeCredentials:
        return IntakeCredentials(
            alertmanager_tokens=tuple(_lines(self.alertmanager_token)),
            alertmanager_basic=tuple(_basic(line) for line in _lines(self.alertmanager_basic_auth)),
            pagerduty_secrets=tuple(_lines(self.pagerduty_secret)),
            incidentio_keys=tuple(svix_key(line) for line in _lines(self.incidentio_secret)),
        )


def tls_context(directory: Path) -> ssl.SSLContext:
    """The server's TLS from ``tls.crt`` and ``tls.key`` in a directory (a kubernetes.io/tls Secret)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(directory / "tls.crt", directory / "tls.key")
    return context


class IntakeListenError(Exception):
    """The intake cannot listen (its port taken, its address not this host's): retrying won't help."""


@dataclass(frozen=True)
class ServerLimits:
    max_body_bytes: int = 1024 * 1024
    concurrency: int = 8
    timeout_seconds: float = 10.0


class IntakeServer:
    def __init__(
        self,
        handle: Callable[[IntakeRequest], IntakeAnswer],
        *,
        telemetry: IntakeTelemetry,
        address: str,
        port: int,
        limits: ServerLimits,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self._handle = handle
        self._telemetry = telemetry
        self._address, self._port = address, port
        self._limits = limits
        self._tls = tls
        self._pool = ThreadPoolExecutor(max_workers=limits.concurrency, thread_name_prefix="slogate-intake")
        self._in_flight = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Listen, on a thread of its own; returns once listening, raises when it cannot."""
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self._listen())
            except BaseException as error:  # reported to start(), which raises it
                failure.append(error)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._close())
            loop.close()

        self._thread = threading.Thread(target=serve, name="slogate-intake", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            where = f"{self._address}:{self._port}"
            raise IntakeListenError(
                f"the incident intake cannot listen on {where}: {failure[0]}"
            ) from failure[0]
        scheme = "https" if self._tls else "http"
        log.info("incident intake listening on %s://%s:%d", scheme, self._address, self._port)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _listen(self) -> None:
        app = web.Application(client_max_size=self._limits.max_body_bytes)
        app.router.add_post("/webhooks/{provider}", self._webhook)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._address, self._port, ssl_context=self._tls).start()

    async def _close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _webhook(self, request: web.Request) -> web.Response:
        provider = PATHS.get(request.path)
        if provider is None:
            return _refuse(404, "unknown-provider", f"no intake at {request.path}; use {', '.join(PATHS)}")
        if self._in_flight >= self._limits.concurrency:
            return self._refused(provider, 503, "busy", "too many webhooks at once; retry")
        self._in_flight += 1
        try:
            return await self._answer(provider, request)
        finally:
            self._in_flight -= 1

    async def _answer(self, provider: Provider, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            limit = self._limits.max_body_bytes
            return self._refused(provider, 413, "too-large", f"the body is over {limit} bytes")
        incoming = IntakeRequest(provider, {k.lower(): v for k, v in request.headers.items()}, body)
        loop = asyncio.get_running_loop()
        try:
            answer = await asyncio.wait_for(
                loop.run_in_executor(self._pool, self._handle, incoming), self._limits.timeout_seconds
            )
        except TimeoutError:
            return self._refused(provider, 503, "timeout", "the API server did not answer in time; retry")
        except Exception as error:
            log.exception("the %s intake failed", provider.value)
            message = f"could not write the Incident: {str(error) or type(error).__name__}; retry"
            return self._refused(provider, 503, "error", message)
        return web.json_response(answer.document(), status=answer.status)

    def _refused(self, provider: Provider, status: int, reason: str, message: str) -> web.Response:
        """A refusal made here rather than by the intake, counted like the intake's."""
        self._telemetry.intake_request(provider.value, "refused", reason)
        return _refuse(status, reason, message)


def _refuse(status: int, reason: str, message: str) -> web.Response:
    headers = {"Retry-After": "1"} if status == 503 else {}
    document = IntakeAnswer(status, "refused", reason, message).document()
    return web.json_response(document, status=status, headers=headers)
