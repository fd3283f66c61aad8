"""The operator image `make image` builds without a container engine: an OCI archive whose config
is what the Dockerfile says, that runc runs as the chart's pod would (non-root, read-only root,
no capabilities), and whose operator holds a deploy on the real API server.

Skipped, with the reason, only where this machine cannot build or run containers (not root, or no
runc/debootstrap); `make deps` installs both from Debian.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from harness.cluster import ROOT, Cluster
from harness.image import (
    Image,
    Unpacked,
    build_image,
    container,
    container_runtime_missing,
    dockerfile_settings,
    run_to_completion,
)
from harness.kube import apply
from harness.manifests import deployment
from harness.observe import spec_paused
from harness.operator import install_crds
from harness.processes import free_port
from harness.prometheus import Prometheus
from harness.slogate import freeze
from harness.waiting import wait_until
from slogate import __version__

MISSING = container_runtime_missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=f"cannot build or run containers: {MISSING}")

WORK = ROOT / ".cluster" / "image"


@pytest.fixture(scope="module")
def image() -> Image:
    WORK.mkdir(parents=True, exist_ok=True)
    return build_image(WORK / "slogate-image.oci.tar")


@pytest.fixture(scope="module")
def unpacked(image: Image, tmp_path_factory: pytest.TempPathFactory) -> Unpacked:
    rootfs = tmp_path_factory.mktemp("image") / "rootfs"
    image.unpack(rootfs)
    return Unpacked(image=image, rootfs=rootfs)


def test_the_image_is_configured_as_the_dockerfile_says(image: Image) -> None:
    index = image.index()
    assert index["manifests"][0]["digest"] == image.digest
    assert index["manifests"][0]["annotations"]["io.containerd.image.name"] == image.reference
    settings = image.config()["config"]
    dockerfile = dockerfile_settings()
    assert settings["User"] == dockerfile["user"] == "10001:10001"
    assert settings["Entrypoint"] == dockerfile["entrypoint"] == ["slogate"]
    assert settings["Cmd"] == dockerfile["cmd"] == ["run"]
    assert sorted(settings["ExposedPorts"]) == sorted(dockerfile["exposed_ports"])
    for key, value in dockerfile["env"].items():
        assert f"{key}={value}" in settings["Env"]
    labels = settings["Labels"]
    assert dockerfile["labels"].items() <= labels.items()
    assert labels["org.opencontainers.image.version"] == image.reference.rsplit(":", 1)[1]
    assert len(labels["org.opencontainers.image.revision"].removesuffix("-dirty")) == 40


def test_the_entrypoint_runs_as_the_non_root_user_on_a_read_only_root(
    unpacked: Unpacked, tmp_path: Path
) -> None:
    version = run_to_completion(unpacked, tmp_path, ["slogate", "--version"])
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"slogate {__version__}"
    probe = run_to_completion(
        unpacked,
        tmp_path,
        ["/bin/sh", "-c", "id -u; id -g; touch /probe 2>/dev/null && echo writable || echo read-only"],
    )
    assert probe.stdout.split() == ["10001", "10001", "read-only"], probe.stderr


@pytest.mark.cluster
@pytest.mark.prometheus
def test_the_operator_in_the_image_holds_a_deploy_during_a_freeze(
    unpacked: Unpacked, tmp_path: Path, cluster: Cluster, namespace: str, prometheus: Prometheus
) -> None:
    install_crds(cluster)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(cluster.kubectl("config", "view", "--raw", "--flatten", "--minify").stdout)
    os.chmod(kubeconfig, 0o644)  # the image's user reads it; the file is the test's alone
    metrics, health = free_port(), free_port()
    apply(cluster, deployment("api", "registry.example/api:1", replicas=1), namespace)
    args = [
        "slogate",
        "run",
        f"--prometheus-url={prometheus.url}",
        f"--namespace={namespace}",
        f"--metrics-port={metrics}",
        f"--health-port={health}",
        "--evaluation-interval=2s",
        "--log-format=json",
    ]
    mounts = {kubeconfig: "/var/run/slogate/kubeconfig"}
    env = {"KUBECONFIG": "/var/run/slogate/kubeconfig"}
    with container(unpacked, tmp_path, args, env=env, mounts=mounts) as running:

        def healthy() -> bool:
            try:
                return requests.get(f"http://127.0.0.1:{health}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_until(healthy, 90, f"the operator in the container to report healthy (log: {running.log})")
        assert "slogate_admission_mode" in requests.get(f"http://127.0.0.1:{metrics}/metrics", timeout=5).text
        apply(cluster, freeze("release-freeze", duration="1h"), namespace)
        wait_until(
            lambda: spec_paused(cluster, "deployment", "api", namespace),
            30,
            f"the containerised operator to hold api (log: {running.log})",
        )
        output = running.output()
    for refusal in ("Forbidden", "forbidden", "Traceback", "Read-only file system"):
        assert refusal not in output, f"{refusal!r} in the container's output:\n{output[-3000:]}"
