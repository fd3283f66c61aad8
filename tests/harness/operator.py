"""The real operator, run as ``slogate run`` in a subprocess against the test cluster and Prometheus.

A subprocess rather than an in-process kopf run, so a test can kill it at any instant (as a node
failure would) and start it again, and so its logs land in a file a failing run can be read from.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from harness.cluster import ROOT, Cluster
from harness.processes import free_port
from harness.waiting import wait_until

CRDS = ROOT / "crds"


def install_crds(cluster: Cluster) -> None:
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(CRDS))
    for crd in sorted(CRDS.glob("*.yaml")):
        cluster.kubectl("wait", "--for=condition=established", "--timeout=60s", "-f", str(crd))


@dataclass
class OperatorProcess:
    process: subprocess.Popen[bytes]
    metrics_url: str
    health_url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL: no cleanup handlers run, as when a node dies."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def metrics(self) -> str:
        return requests.get(self.metrics_url, timeout=5).text


def start_operator(
    cluster: Cluster,
    prometheus_url: str,
    log: Path,
    *extra_args: str,
    interval: str | None = "2s",
    env: Mapping[str, str] | None = None,
) -> OperatorProcess:
    """``env`` adds to the test's environment, e.g. POD_ID to name a replica in the leader Lease;
    ``interval`` None leaves the evaluation interval at the operator's default."""
    metrics_port, health_port = free_port(), free_port()
    command = [
        sys.executable,
        "-m",
        "slogate.cli",
        "run",
        f"--prometheus-url={prometheus_url}",
        *([f"--evaluation-interval={interval}"] if interval is not None else []),
        f"--metrics-port={metrics_port}",
        f"--health-port={health_port}",
        *extra_args,
    ]
    sink = log.open("ab")
    process = subprocess.Popen(
        command,
        stdout=sink,
        stderr=subprocess.STDOUT,
        env={**os.environ, "KUBECONFIG": str(cluster.kubeconfig), **(env or {})},
    )
    sink.close()
    operator = OperatorProcess(
        process=process,
        metrics_url=f"http://127.0.0.1:{metrics_port}/metrics",
        health_url=f"http://127.0.0.1:{health_port}/healthz",
        log=log,
    )

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the operator exited with {process.returncode}; see {log}")
        try:
            return requests.get(operator.health_url, timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_until(healthy, 60, f"the operator to report healthy (log: {log})", interval=0.5)
    except AssertionError:
        operator.stop()  # a test that fails here never reaches its own stop
        raise
    return operator


@contextmanager
def running_operator(
    cluster: Cluster, prometheus_url: str, log: Path, *extra_args: str, interval: str = "2s"
) -> Iterator[OperatorProcess]:
    operator = start_operator(cluster, prometheus_url, log, *extra_args, interval=interval)
    try:
        yield operator
    finally:
        operator.stop()
