"""Where the tests' Kubernetes API server comes from, and how they talk to it.

Three sources, in this order: an existing cluster the user names with
``SLOGATE_TEST_KUBECONFIG`` (used as is: it must already run Argo Rollouts);
a kind cluster through pytest-kind when a Docker engine answers (the pinned
Argo Rollouts controller binary is run against it); otherwise the local control
plane that ``hack/cluster.sh`` builds, started for the session and stopped
again unless it was already running.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from harness.processes import free_port

ROOT = Path(__file__).resolve().parents[2]
HACK = ROOT / "hack"


def pinned_versions() -> dict[str, str]:
    versions = {}
    for line in (HACK / "versions.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip()
    return versions


def cache_dir() -> Path:
    return Path(os.environ.get("SLOGATE_CACHE", Path.home() / ".cache" / "slogate"))


def component_dir(name: str, version_key: str) -> Path:
    return cache_dir() / f"{name}-{pinned_versions()[version_key]}"


def binary(name: str) -> str:
    """Path of a pinned binary from the cache, falling back to PATH for user clusters."""
    for component, key in (
        ("kubernetes", "KUBERNETES_VERSION"),
        ("helm", "HELM_VERSION"),
        ("argo-rollouts", "ARGO_ROLLOUTS_VERSION"),
    ):
        candidate = component_dir(component, key) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is neither in the slogate cache nor on PATH; run 'make binaries'")
    return found


@dataclass(frozen=True)
class Cluster:
    """A reachable Kubernetes API server and the tools to drive it."""

    kubeconfig: Path
    source: str

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [binary("kubectl"), "--kubeconfig", str(self.kubeconfig), *args],
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} exited {result.returncode}:\n{result.stderr}{result.stdout}"
            )
        return result

    def helm(self, *args: str, check: bool = True, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [binary("helm"), "--kubeconfig", str(self.kubeconfig), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} exited {result.returncode}:\n{result.stderr}")
        return result


def docker_engine_available() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    probe = subprocess.run([docker, "info"], capture_output=True, timeout=20)
    return probe.returncode == 0


def local_cluster_running() -> bool:
    status = subprocess.run([str(HACK / "cluster.sh"), "status"], capture_output=True, text=True)
    return status.returncode == 0


@contextmanager
def local_cluster() -> Iterator[Cluster]:
    """The hack/ control plane: reused when running, otherwise started and stopped around the session."""
    already_running = local_cluster_running()
    up = subprocess.run([str(HACK / "cluster.sh"), "up"], capture_output=True, text=True)
    if up.returncode != 0:
        raise RuntimeError(f"hack/cluster.sh up failed:\n{up.stderr}")
    try:
        yield Cluster(kubeconfig=ROOT / ".cluster" / "kubeconfig", source="local")
    finally:
        if not already_running:
            subprocess.run([str(HACK / "cluster.sh"), "down"], capture_output=True, check=False)


@contextmanager
def rollouts_controller_for(kubeconfig: Path, log: Path) -> Iterator[None]:
    """Install the pinned Argo Rollouts CRDs and run its controller against a cluster."""
    crds = component_dir("argo-rollouts", "ARGO_ROLLOUTS_VERSION") / "crds"
    cluster = Cluster(kubeconfig=kubeconfig, source="kind")
    for crd in sorted(crds.glob("*-crd.yaml")):
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd))
    with log.open("ab") as sink:
        controller = subprocess.Popen(
            [
                binary("rollouts-controller"),
                f"--kubeconfig={kubeconfig}",
                "--leader-elect=false",
                f"--healthzPort={free_port()}",
                f"--metricsport={free_port()}",
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        yield
    finally:
        controller.terminate()
        controller.wait(timeout=30)
