"""A real Prometheus Alertmanager (Debian's ``prometheus-alertmanager``, ``make alertmanager``) on a
free loopback port, with one webhook receiver, for the intake's end-to-end test."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from harness.processes import free_port
from harness.waiting import wait_until


def alertmanager_binary() -> str:
    for name in ("prometheus-alertmanager", "alertmanager"):
        found = shutil.which(name)
        if found is not None:
            return found
    raise FileNotFoundError("Alertmanager is not installed; run 'make alertmanager' (Debian's package)")


@dataclass(frozen=True)
class Alertmanager:
    url: str
    address: str
    """host:port, as Prometheus' alerting config names it."""


@contextmanager
def running_alertmanager(webhook_url: str, token_file: Path, log: Path) -> Iterator[Alertmanager]:
    """Alertmanager routing every alert to ``webhook_url`` with a bearer token from ``token_file``,
    grouped by alert name and service, flushing a group at most every second."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="slogate-am-") as workdir:
        config = Path(workdir) / "alertmanager.yml"
        config.write_text(
            "route:\n"
            "  receiver: slogate\n"
            "  group_by: [alertname, service]\n"
            "  group_wait: 0s\n"
            "  group_interval: 1s\n"
            "  repeat_interval: 1h\n"
            "receivers:\n"
            "  - name: slogate\n"
            "    webhook_configs:\n"
            f"      - url: {webhook_url}\n"
            "        send_resolved: true\n"
            "        http_config:\n"
            "          authorization:\n"
            "            type: Bearer\n"
            f"            credentials_file: {token_file}\n"
        )
        with log.open("ab") as sink:
            process = subprocess.Popen(
                [
                    alertmanager_binary(),
                    f"--config.file={config}",
                    f"--storage.path={workdir}/data",
                    f"--web.listen-address=127.0.0.1:{port}",
                    # No gossip: a single instance, and no port taken by default (9094).
                    "--cluster.listen-address=",
                ],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(f"alertmanager exited with {process.returncode}; see {log}")
            try:
                return requests.get(f"{url}/-/ready", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        try:
            wait_until(ready, 30, f"Alertmanager to be ready (log: {log})", interval=0.25)
            yield Alertmanager(url=url, address=f"127.0.0.1:{port}")
        finally:
            process.terminate()
            process.wait(timeout=30)
