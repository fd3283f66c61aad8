"""Session fixtures: a real Kubernetes API server and a real Prometheus.

See ``harness.cluster`` for where the cluster comes from. Logs of the processes
the fixtures start go to ``.cluster/logs/`` so a failing run can be read after.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cluster import (
    ROOT,
    Cluster,
    docker_engine_available,
    local_cluster,
    rollouts_controller_for,
)
from harness.prometheus import Prometheus, running_prometheus

LOGS = ROOT / ".cluster" / "logs"


@pytest.fixture(scope="session")
def cluster(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    LOGS.mkdir(parents=True, exist_ok=True)
    external = os.environ.get("SLOGATE_TEST_KUBECONFIG")
    if external:
        yield Cluster(kubeconfig=Path(external), source="SLOGATE_TEST_KUBECONFIG")
    elif docker_engine_available():
        kind = request.getfixturevalue("kind_cluster")
        kubeconfig = Path(kind.kubeconfig_path)
        with rollouts_controller_for(kubeconfig, LOGS / "argo-rollouts-kind.log"):
            yield Cluster(kubeconfig=kubeconfig, source="kind")
    else:
        with local_cluster() as local:
            yield local


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards without waiting for finalization."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    cluster.kubectl("create", "namespace", name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="session")
def prometheus() -> Iterator[Prometheus]:
    LOGS.mkdir(parents=True, exist_ok=True)
    with running_prometheus(LOGS / "prometheus-test.log") as running:
        yield running
