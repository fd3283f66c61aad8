"""A real Prometheus on loopback, scraping a test exporter whose counters the test drives.

The exporter publishes ``slogate_test_http_requests_total{service, code}``, the
usual shape of a request counter, so the SLO queries the tests write look like
the ones users write. Tests either add requests at once (``add``) or set a steady
traffic rate with an error ratio (``set_traffic``) that a background thread keeps
up, so ``rate()`` over short windows behaves as it does for a live service.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from prometheus_client import CollectorRegistry, Counter, start_http_server

from harness.processes import free_port

SCRAPE_INTERVAL_SECONDS = 1
TRAFFIC_TICK_SECONDS = 0.1


@dataclass
class RequestExporter:
    """HTTP request counters per service, incremented only by the test."""

    port: int
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    _traffic: dict[str, tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.requests = Counter(
            "slogate_test_http_requests",
            "Requests served by a test service, by HTTP status code.",
            ["service", "code"],
            registry=self.registry,
        )

    def add(self, service: str, ok: int = 0, errors: int = 0) -> None:
        self.requests.labels(service=service, code="200").inc(ok)
        self.requests.labels(service=service, code="500").inc(errors)

    def set_traffic(self, service: str, requests_per_second: float, error_ratio: float) -> None:
        """Serve ``requests_per_second`` from now on, ``error_ratio`` of them failing."""
        with self._lock:
            self._traffic[service] = (requests_per_second, error_ratio)

    def stop_traffic(self, service: str) -> None:
        with self._lock:
            self._traffic.pop(service, None)

    def tick(self, seconds: float) -> None:
        with self._lock:
            traffic = dict(self._traffic)
        for service, (rate, error_ratio) in traffic.items():
            total = rate * seconds
            self.requests.labels(service=service, code="200").inc(total * (1 - error_ratio))
            self.requests.labels(service=service, code="500").inc(total * error_ratio)


@dataclass(frozen=True)
class Prometheus:
    """A running Prometheus and the exporter it scrapes."""

    url: str
    exporter: RequestExporter

    def query(self, promql: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        response.raise_for_status()
        body = response.json()
        if body["status"] != "success":
            raise AssertionError(f"query {promql!r} failed: {body}")
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def wait_for(self, promql: str, timeout: float = 30) -> list[dict[str, Any]]:
        """Poll until ``promql`` returns a non-empty result."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{promql!r} returned nothing within {timeout}s")
            time.sleep(0.5)


def prometheus_binary() -> str:
    found = shutil.which("prometheus")
    if found is None:
        raise FileNotFoundError("prometheus is not installed; run 'make prometheus' (Debian's package)")
    return found


@contextmanager
def running_exporter() -> Iterator[RequestExporter]:
    exporter = RequestExporter(port=free_port())
    server, thread = start_http_server(exporter.port, addr="127.0.0.1", registry=exporter.registry)
    stopped = threading.Event()

    def keep_traffic_flowing() -> None:
        while not stopped.wait(TRAFFIC_TICK_SECONDS):
            exporter.tick(TRAFFIC_TICK_SECONDS)

    ticker = threading.Thread(target=keep_traffic_flowing, name="test-traffic", daemon=True)
    ticker.start()
    try:
        yield exporter
    finally:
        stopped.set()
        ticker.join()
        server.shutdown()
        thread.join()


class PrometheusServer:
    """One Prometheus process on a fixed loopback port and data directory, stoppable and restartable
    (to test what slogate does while Prometheus is down)."""

    def __init__(
        self,
        workdir: Path,
        exporter: RequestExporter,
        log: Path,
        rule_files: tuple[Path, ...] = (),
        alertmanager: str | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._workdir = workdir
        self.data = workdir / "data"
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None
        self._config = workdir / "prometheus.yml"
        rules = "".join(f"  - {path}\n" for path in rule_files)
        self._config.write_text(
            "global:\n"
            f"  scrape_interval: {SCRAPE_INTERVAL_SECONDS}s\n"
            f"  evaluation_interval: {SCRAPE_INTERVAL_SECONDS}s\n"
            + (f"rule_files:\n{rules}" if rules else "")
            + (
                f"alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{alertmanager}']\n"
                if alertmanager
                else ""
            )
            + "scrape_configs:\n"
            "  - job_name: test-exporter\n"
            "    static_configs:\n"
            f"      - targets: ['127.0.0.1:{exporter.port}']\n"
        )
        self.handle = Prometheus(url=self.url, exporter=exporter)

    def start(self) -> None:
        with self._log.open("ab") as sink:
            self._process = subprocess.Popen(
                [
                    prometheus_binary(),
                    f"--config.file={self._config}",
                    f"--storage.tsdb.path={self.data}",
                    # Backfilled history reaches 30 days back; the default retention is 15 days.
                    "--storage.tsdb.retention.time=60d",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        wait_until_ready(self.handle, self._process, self._log)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=30)


@contextmanager
def prometheus_server(
    log: Path,
    rule_files: tuple[Path, ...] = (),
    history: Callable[[Path], None] | None = None,
    alertmanager: str | None = None,
) -> Iterator[PrometheusServer]:
    """A started PrometheusServer scraping a fresh exporter every second; stopped on exit.
    ``history`` writes blocks into the data directory before Prometheus starts (a backfill);
    ``alertmanager`` (host:port) receives the alerts of the rule files."""
    with running_exporter() as exporter, tempfile.TemporaryDirectory(prefix="slogate-prom-") as workdir:
        server = PrometheusServer(Path(workdir), exporter, log, rule_files, alertmanager)
        if history is not None:
            history(server.data)
        server.start()
        try:
            yield server
        finally:
            server.stop()


@contextmanager
def running_prometheus(log: Path) -> Iterator[Prometheus]:
    """A running Prometheus on a free loopback port scraping a fresh exporter every second."""
    with prometheus_server(log) as server:
        yield server.handle


def wait_until_ready(prometheus: Prometheus, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}; see {log}")
        try:
            if prometheus.query('up{job="test-exporter"} == 1'):
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"prometheus did not scrape the test exporter within 60 s; see {log}")
