"""The decision sinks against a real HTTP server: what they send, and that failures only log.

A ``http.server`` on a free loopback port records every request as it arrived on the wire
(method, path, headers, body) and answers with the status a test asks for.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from harness.fakes import Workloads
from harness.manifests import deployment
from harness.processes import free_port
from slogate.adapters.sinks import GrafanaAnnotations, WebhookSink, webhook_payload
from slogate.api.base import WorkloadKind
from slogate.reconcile.ports import (
    DecisionMarker,
    EventType,
    InvolvedObject,
    WorkloadRef,
)
from slogate.reconcile.workloads import WorkloadReconciler
from slogate.reconcile.world import World

SINKS_LOGGER = "slogate.adapters.sinks"

MARKER = DecisionMarker(
    workload=WorkloadRef(WorkloadKind.DEPLOYMENT, "shop", "checkout"),
    decision="Hold",
    action="Pause",
    event_reason="Held",
    reason="ServiceLevelObjective/checkout-availability: burn rate 14.2 over 1h",
    gates=("checkout-gate",),
    revision="7",
    time=datetime(2026, 3, 14, 9, 30, 5, tzinfo=UTC),
)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class RecordingServer:
    url: str
    requests: list[Request] = field(default_factory=list)
    status: int = 200
    delay_seconds: float = 0.0


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    port = free_port()
    recording = RecordingServer(url=f"http://127.0.0.1:{port}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            recording.requests.append(
                Request("POST", self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(raw))
            )
            time.sleep(recording.delay_seconds)
            answer = b'{"message":"database is locked"}' if recording.status >= 400 else b'{"id":1}'
            self.send_response(recording.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output quiet; the requests are recorded instead."""

    httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="sink-server", daemon=True)
    thread.start()
    yield recording
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text("s3cret-token-1\n")
    return path


def test_grafana_posts_an_annotation_with_a_fresh_token_each_time(
    server: RecordingServer, token_file: Path
) -> None:
    sink = GrafanaAnnotations(server.url + "/", token_file, dashboard_uid="slo-overview")

    sink.record(MARKER)
    token_file.write_text("s3cret-token-2")
    sink.record(MARKER)

    assert [(r.method, r.path) for r in server.requests] == [("POST", "/api/annotations")] * 2
    assert [r.headers["authorization"] for r in server.requests] == [
        "Bearer s3cret-token-1",
        "Bearer s3cret-token-2",
    ]
    assert server.requests[0].headers["content-type"] == "application/json"
    assert server.requests[0].body == {
        "time": 1773480605000,
        "tags": ["slogate", "Hold", "namespace:shop", "workload:deployment/checkout", "gate:checkout-gate"],
        "text": "slogate Held: Deployment shop/checkout revision 7: "
        "ServiceLevelObjective/checkout-availability: burn rate 14.2 over 1h",
        "dashboardUID": "slo-overview",
    }


def test_grafana_without_token_or_dashboard_sends_an_organisation_annotation(server: RecordingServer) -> None:
    GrafanaAnnotations(server.url).record(MARKER)

    [request] = server.requests
    assert "authorization" not in request.headers
    assert set(request.body) == {"time", "tags", "text"}


def test_webhook_posts_the_marker_with_token_and_extra_headers(
    server: RecordingServer, token_file: Path
) -> None:
    sink = WebhookSink(
        server.url + "/hooks/release?channel=payments",
        token_file,
        headers={"X-Team": "payments", "Authorization": "overridden by the token file"},
    )

    sink.record(MARKER)

    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/hooks/release?channel=payments")
    assert request.headers["authorization"] == "Bearer s3cret-token-1"
    assert request.headers["x-team"] == "payments"
    assert request.headers["content-type"] == "application/json"
    assert request.body == webhook_payload(MARKER)
    assert request.body["workload"] == {"kind": "Deployment", "namespace": "shop", "name": "checkout"}
    assert request.body["time"] == "2026-03-14T09:30:05Z"


def test_a_server_error_is_logged_without_secrets_and_not_raised(
    server: RecordingServer, token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server.status = 500
    caplog.set_level(logging.WARNING, logger=SINKS_LOGGER)

    GrafanaAnnotations(server.url, token_file).record(MARKER)
    WebhookSink(server.url + "/hooks/T000/B000/XXXXsecretpath", token_file).record(MARKER)

    assert len(server.requests) == 2, "one attempt each, no retries"
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert all("HTTP 500" in m and "database is locked" in m for m in messages)
    assert messages[0].startswith("Grafana annotation for deployment/checkout in shop")
    assert messages[1].startswith("webhook for deployment/checkout in shop")
    assert not any("s3cret" in m or "secretpath" in m for m in messages)


def test_an_endpoint_that_is_not_listening_is_logged_and_not_raised(
    token_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    caplog.set_level(logging.WARNING, logger=SINKS_LOGGER)

    GrafanaAnnotations(closed, token_file).record(MARKER)
    WebhookSink(closed + "/hooks/secretpath?key=secretquery").record(MARKER)

    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 2
    assert all(f"could not reach {closed}: ConnectionError" in m for m in messages)
    assert all("Connection refused" in m for m in messages)
    assert not any("secret" in m for m in messages)


def test_a_slow_endpoint_is_given_up_after_the_timeout(
    server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.delay_seconds = 2.0
    caplog.set_level(logging.WARNING, logger=SINKS_LOGGER)

    started = time.monotonic()
    WebhookSink(server.url, timeout_seconds=0.3).record(MARKER)

    assert time.monotonic() - started < 1.5
    [message] = [record.getMessage() for record in caplog.records]
    assert "ReadTimeout" in message


def test_an_unreadable_token_file_is_logged_and_nothing_is_sent(
    server: RecordingServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger=SINKS_LOGGER)

    GrafanaAnnotations(server.url, tmp_path / "missing").record(MARKER)

    assert server.requests == []
    [message] = [record.getMessage() for record in caplog.records]
    assert f"could not read the token file {tmp_path / 'missing'}" in message


@dataclass
class ListedEvents:
    reasons: list[str] = field(default_factory=list)

    def post(
        self,
        regarding: InvolvedObject,
        *,
        event_type: EventType,
        reason: str,
        action: str,
        message: str,
        now: datetime,
    ) -> None:
        self.reasons.append(reason)


class BrokenSink:
    def record(self, marker: DecisionMarker) -> None:
        raise RuntimeError("sink bug")


def test_the_reconciler_records_every_decision_in_every_sink_despite_a_broken_one(
    server: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    world = World()
    body = deployment("checkout", "registry.example/checkout:2")
    body["metadata"] |= {
        "namespace": "shop",
        "uid": "u-1",
        "resourceVersion": "1",
        # A decision slogate recorded before: the new one (Proceed) is a change worth recording.
        "annotations": {"deployment.kubernetes.io/revision": "2", "slogate.dev/decision": "Hold"},
    }
    state = world.observe_workload(WorkloadKind.DEPLOYMENT, body, deleted=False)
    events = ListedEvents()
    reconciler = WorkloadReconciler(
        world, Workloads(), events, sinks=[BrokenSink(), GrafanaAnnotations(server.url)]
    )
    now = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)

    outcome = asyncio.run(reconciler.reconcile(state.key, now))

    assert outcome is not None
    assert outcome.recorded
    assert events.reasons == ["DecisionProceed"]
    [request] = server.requests
    assert request.body["tags"][:4] == [
        "slogate",
        "Proceed",
        "namespace:shop",
        "workload:deployment/checkout",
    ]
    assert request.body["text"].startswith("slogate DecisionProceed: Deployment shop/checkout revision 2")
    [failure] = [r for r in caplog.records if r.name == "slogate.reconcile.workloads"]
    assert failure.levelno == logging.ERROR
    assert failure.exc_info is not None
    assert str(failure.exc_info[1]) == "sink bug"
