"""End-to-end fixtures: slogate's CRDs installed, and the operator watching one test namespace."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.cluster import ROOT, Cluster
from harness.operator import OperatorProcess, install_crds, running_operator
from harness.prometheus import Prometheus

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

LOGS = ROOT / ".cluster" / "logs"


@pytest.fixture(scope="session")
def slogate_crds(cluster: Cluster) -> Cluster:
    install_crds(cluster)
    return cluster


@pytest.fixture
def operator(slogate_crds: Cluster, prometheus: Prometheus, namespace: str) -> Iterator[OperatorProcess]:
    """The operator, restricted to this test's namespace so tests never act on each other."""
    with running_operator(
        slogate_crds, prometheus.url, LOGS / f"operator-{namespace}.log", f"--namespace={namespace}"
    ) as running:
        yield running
