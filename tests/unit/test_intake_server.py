"""The intake's HTTP server on a loopback port: real HTTP (and HTTPS) in, the real intake behind
it, a fake IncidentStore at reconcile's port; bounded bodies, concurrency and time."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from harness.fakes import IncidentStore, IntakeCounts
from harness.intake import PAGERDUTY_SECRET, encode, pagerduty_body, pagerduty_headers
from harness.processes import free_port
from slogate.adapters.admission import write_self_signed_certificate
from slogate.adapters.intake import (
    CredentialFiles,
    IntakeListenError,
    IntakeServer,
    ServerLimits,
    tls_context,
)
from slogate.domain.intake import mapping_from_document
from slogate.reconcile.intake import Intake
from slogate.reconcile.ports import IntakeAnswer, IntakeRequest

MAPPING = mapping_from_document({"services": {"Checkout API": {"namespace": "shop", "workload": "checkout"}}})


def serve(
    handle: Callable[[IntakeRequest], IntakeAnswer],
    counts: IntakeCounts,
    limits: ServerLimits,
    tls_dir: Path | None = None,
) -> tuple[IntakeServer, str]:
    port = free_port()
    server = IntakeServer(
        handle,
        telemetry=counts,
        address="127.0.0.1",
        port=port,
        limits=limits,
        tls=tls_context(tls_dir) if tls_dir else None,
    )
    server.start()
    return server, f"{'https' if tls_dir else 'http'}://127.0.0.1:{port}"


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "pagerduty-secrets"
    path.write_text(f"old-secret\n{PAGERDUTY_SECRET}\n")
    return path


@pytest.fixture
def store() -> IncidentStore:
    return IncidentStore()


@pytest.fixture
def counts() -> IntakeCounts:
    return IntakeCounts()


@pytest.fixture
def intake(store: IncidentStore, counts: IntakeCounts, secret_file: Path) -> Intake:
    files = CredentialFiles(pagerduty_secret=secret_file)
    return Intake(store, MAPPING, files.read, lambda: datetime.now(UTC), counts)


@pytest.fixture
def url(intake: Intake, counts: IntakeCounts) -> Iterator[str]:
    server, base = serve(intake.handle, counts, ServerLimits(max_body_bytes=64 * 1024, concurrency=2))
    yield base
    server.stop()


def post_pagerduty(base: str, body: bytes, **kwargs: object) -> requests.Response:
    return requests.post(
        f"{base}/webhooks/pagerduty",
        data=body,
        headers=pagerduty_headers(body, PAGERDUTY_SECRET),
        timeout=10,
        **kwargs,
    )  # type: ignore[arg-type]


def test_a_signed_webhook_creates_the_incident_and_its_replay_changes_nothing(
    url: str, store: IncidentStore
) -> None:
    body = encode(pagerduty_body())
    first = post_pagerduty(url, body)
    assert (first.status_code, first.json()["result"], first.json()["incident"]) == (
        201,
        "created",
        "pagerduty-pgr0vu2",
    )
    again = post_pagerduty(url, body)
    assert (again.status_code, again.json()["result"]) == (200, "unchanged")
    assert store.writes == 1
    assert requests.get(f"{url}/healthz", timeout=5).text == "ok"


def test_a_rotated_secret_file_takes_effect_without_a_restart(url: str, secret_file: Path) -> None:
    body = encode(pagerduty_body())
    secret_file.write_text("the-new-secret\n")
    answer = post_pagerduty(url, body)
    assert (answer.status_code, answer.json()["reason"]) == (401, "bad-signature")


def test_an_oversized_body_is_refused_and_counted(
    url: str, counts: IntakeCounts, store: IncidentStore
) -> None:
    answer = post_pagerduty(url, b"x" * (65 * 1024))
    assert (answer.status_code, answer.json()["reason"]) == (413, "too-large")
    assert counts.requests == [("pagerduty", "refused", "too-large")]
    assert store.incidents == {}


def test_an_unknown_path_is_404(url: str) -> None:
    assert requests.post(f"{url}/webhooks/opsgenie", data=b"{}", timeout=5).status_code == 404


def test_past_its_concurrency_the_server_answers_busy_at_once_and_past_its_timeout_gives_up() -> None:
    release = threading.Event()
    started = threading.Semaphore(0)

    def slow(_: IntakeRequest) -> IntakeAnswer:
        started.release()
        release.wait(10)
        return IntakeAnswer(200, "unchanged", "replay", "slow")

    counts = IntakeCounts()
    server, base = serve(slow, counts, ServerLimits(concurrency=1, timeout_seconds=1.5))
    try:
        results: list[int] = []
        waiting = threading.Thread(
            target=lambda: results.append(
                requests.post(f"{base}/webhooks/pagerduty", data=b"{}", timeout=10).status_code
            )
        )
        waiting.start()
        assert started.acquire(timeout=5)
        busy = requests.post(f"{base}/webhooks/pagerduty", data=b"{}", timeout=5)
        assert (busy.status_code, busy.json()["reason"], busy.headers["Retry-After"]) == (503, "busy", "1")
        waiting.join(timeout=10)
        assert results == [503]
        assert ("pagerduty", "refused", "timeout") in counts.requests
    finally:
        release.set()
        server.stop()


def test_tls_from_a_secret_directory(tmp_path: Path, intake: Intake, counts: IntakeCounts) -> None:
    certfile, _ = write_self_signed_certificate(tmp_path, ["127.0.0.1"])
    server, base = serve(intake.handle, counts, ServerLimits(), tls_dir=tmp_path)
    try:
        answer = post_pagerduty(base, encode(pagerduty_body()), verify=str(certfile))
        assert answer.status_code == 201
    finally:
        server.stop()


def test_a_port_already_taken_is_a_listen_error_naming_it(intake: Intake, counts: IntakeCounts) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = IntakeServer(
            intake.handle, telemetry=counts, address="127.0.0.1", port=port, limits=ServerLimits()
        )
        with pytest.raises(IntakeListenError, match=f"cannot listen on 127.0.0.1:{port}"):
            server.start()
        server.stop()
