"""The MutatingAdmissionPolicy on the real API server decides exactly as slogate.domain.admission.

Every case of the shared table is sent to the API server as a server-side dry run (admission runs,
nothing is stored) with the table's HoldSet in the namespace, and the API server's answer is
compared with the Python function the webhook fallback runs.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from harness.admission_cases import CASES, HOLDS, HOLDSET_SPEC, AdmissionCase
from harness.cluster import ROOT, Cluster
from harness.operator import install_crds
from harness.waiting import wait_until
from slogate.domain.admission import hold_at_admission

pytestmark = pytest.mark.cluster

POLICY_MANIFEST = ROOT / "deploy" / "admission" / "slogate-hold.yaml"


@pytest.fixture(scope="module")
def held_namespace(cluster: Cluster) -> Iterator[tuple[Cluster, str]]:
    namespace = f"t-{uuid.uuid4().hex[:10]}"
    cluster.kubectl("create", "namespace", namespace)
    install_crds(cluster)
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(POLICY_MANIFEST))
    holdset = {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": "HoldSet",
        "metadata": {"name": "slogate", "namespace": namespace},
        "spec": HOLDSET_SPEC,
    }
    cluster.kubectl("apply", "-f", "-", input=json.dumps(holdset))
    probe = {
        **CASES[0].new,
        "metadata": {**CASES[0].new["metadata"], "name": "probe", "namespace": namespace},
    }

    def policy_active() -> bool:
        answer = cluster.kubectl(
            "create", "--dry-run=server", "-o", "json", "-f", "-", input=json.dumps(probe)
        )
        return bool(json.loads(answer.stdout)["spec"].get("paused"))

    wait_until(policy_active, 30, "the API server to load the policy and the HoldSet")
    yield cluster, namespace
    cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)


def admitted(cluster: Cluster, namespace: str, case: AdmissionCase, name: str) -> dict[str, Any]:
    def named(body: dict[str, Any]) -> str:
        return json.dumps({**body, "metadata": {**body["metadata"], "name": name, "namespace": namespace}})

    if case.operation == "CREATE":
        answer = cluster.kubectl("create", "--dry-run=server", "-o", "json", "-f", "-", input=named(case.new))
    else:
        assert case.old is not None
        cluster.kubectl("create", "-f", "-", input=named(case.old))
        answer = cluster.kubectl(
            "replace", "--dry-run=server", "-o", "json", "-f", "-", input=named(case.new)
        )
    return dict(json.loads(answer.stdout))


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.name for case in CASES])
def test_the_policy_and_the_webhook_function_agree(held_namespace: tuple[Cluster, str], index: int) -> None:
    cluster, namespace = held_namespace
    case = CASES[index]
    answer = admitted(cluster, namespace, case, f"case-{index}")
    expected = hold_at_admission(case.operation, case.old, case.new, HOLDS)
    annotations = answer["metadata"].get("annotations") or {}
    assert bool(answer["spec"].get("paused")) == (
        expected is not None or bool(case.new["spec"].get("paused"))
    )
    if expected is None:
        assert annotations.get("slogate.dev/held-by") is None
    else:
        for key, value in expected.annotations.items():
            assert annotations.get(key) == value, key
