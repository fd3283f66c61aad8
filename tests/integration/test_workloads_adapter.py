"""The workload adapter against the real API server and the real controllers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import config

from harness.cluster import Cluster
from harness.kube import apply, get, list_items, merge_patch
from harness.manifests import canary_rollout, deployment, image_patch
from harness.observe import deployment_rolled_out
from harness.waiting import wait_until
from slogate.adapters.workloads import KubernetesWorkloads
from slogate.api.base import WorkloadKind
from slogate.reconcile.ports import RollbackRefusedError, WorkloadRef

pytestmark = pytest.mark.cluster

FIELD_MANAGER = "slogate-test"


@pytest.fixture(scope="module")
def workloads(cluster: Cluster) -> Iterator[KubernetesWorkloads]:
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    yield KubernetesWorkloads(api, field_manager=FIELD_MANAGER)
    api.close()


def managers(obj: dict[str, Any]) -> set[str]:
    return {entry["manager"] for entry in obj["metadata"].get("managedFields", [])}


def test_hold_and_release_a_deployment_with_markers_and_field_manager(
    cluster: Cluster, namespace: str, workloads: KubernetesWorkloads
) -> None:
    apply(cluster, deployment("api", "registry.example/api:1"), namespace)
    ref = WorkloadRef(WorkloadKind.DEPLOYMENT, namespace, "api")

    workloads.set_paused(ref, True, {"slogate.dev/decision": "Hold", "slogate.dev/reason": "freeze"})
    held = get(cluster, "deployment", "api", namespace)
    assert held["spec"]["paused"] is True
    assert held["metadata"]["annotations"]["slogate.dev/reason"] == "freeze"
    assert FIELD_MANAGER in managers(held)

    workloads.set_paused(ref, False, {"slogate.dev/decision": "Resume", "slogate.dev/reason": None})
    released = get(cluster, "deployment", "api", namespace)
    assert "paused" not in released["spec"]
    assert "slogate.dev/reason" not in released["metadata"]["annotations"]
    assert released["metadata"]["annotations"]["slogate.dev/decision"] == "Resume"


def test_roll_back_a_deployment_like_kubectl_rollout_undo(
    cluster: Cluster, namespace: str, workloads: KubernetesWorkloads
) -> None:
    manifest = deployment("cart", "registry.example/cart:1")
    manifest["spec"]["template"]["metadata"]["annotations"] = {"team": "payments"}
    apply(cluster, manifest, namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "cart", "registry.example/cart:1"), 60, "cart:1"
    )
    merge_patch(cluster, "deployment", "cart", namespace, image_patch("registry.example/cart:2"))
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "cart", "registry.example/cart:2"), 60, "cart:2"
    )
    ref = WorkloadRef(WorkloadKind.DEPLOYMENT, namespace, "cart")

    outcome = workloads.roll_back_deployment(
        ref,
        {"slogate.dev/decision": "Rollback"},
        lift_own_hold=False,
        record_target_as="slogate.dev/rolled-back-to",
    )

    assert (outcome.from_revision, outcome.to_revision, outcome.skipped) == (2, 1, False)
    assert (
        get(cluster, "deployment", "cart", namespace)["metadata"]["annotations"]["slogate.dev/rolled-back-to"]
        == outcome.target_template_hash
    )
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "cart", "registry.example/cart:1"),
        120,
        "the rollback to cart:1 to complete",
    )
    rolled_back = get(cluster, "deployment", "cart", namespace)
    assert rolled_back["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert rolled_back["metadata"]["annotations"]["slogate.dev/decision"] == "Rollback"
    assert "pod-template-hash" not in rolled_back["spec"]["template"]["metadata"]["labels"]
    assert rolled_back["spec"]["template"]["metadata"]["annotations"] == {"team": "payments"}
    revisions = sorted(
        int(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"])
        for rs in list_items(cluster, "replicasets", namespace, "app=cart")
    )
    assert revisions == [2, 3], "the rollback reuses revision 1's ReplicaSet as revision 3"


def test_roll_back_refuses_a_paused_deployment_and_one_without_history(
    cluster: Cluster, namespace: str, workloads: KubernetesWorkloads
) -> None:
    apply(cluster, deployment("solo", "registry.example/solo:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "solo", "registry.example/solo:1"), 60, "solo:1"
    )
    ref = WorkloadRef(WorkloadKind.DEPLOYMENT, namespace, "solo")
    with pytest.raises(RollbackRefusedError, match="no previous revision"):
        workloads.roll_back_deployment(ref, {}, lift_own_hold=False, record_target_as="t")

    merge_patch(cluster, "deployment", "solo", namespace, {"spec": {"paused": True}})
    with pytest.raises(RollbackRefusedError, match="paused; resume it first"):
        workloads.roll_back_deployment(ref, {}, lift_own_hold=False, record_target_as="t")


def test_hold_release_and_abort_a_canary_rollout(
    cluster: Cluster, namespace: str, workloads: KubernetesWorkloads
) -> None:
    apply(cluster, canary_rollout("pay", "registry.example/pay:1"), namespace)
    wait_until(
        lambda: get(cluster, "rollout", "pay", namespace).get("status", {}).get("phase") == "Healthy",
        120,
        "pay:1 Healthy",
    )
    ref = WorkloadRef(WorkloadKind.ROLLOUT, namespace, "pay")
    workloads.set_paused(ref, True, {"slogate.dev/decision": "Hold"})
    merge_patch(cluster, "rollout", "pay", namespace, image_patch("registry.example/pay:2"))
    wait_until(
        lambda: get(cluster, "rollout", "pay", namespace)["status"].get("message") == "manually paused",
        30,
        "the held Rollout to report a manual pause",
    )
    held = get(cluster, "rollout", "pay", namespace)
    assert FIELD_MANAGER in managers(held)
    new_hash = held["status"]["currentPodHash"]
    new_pods = [p for p in list_items(cluster, "pods", namespace, f"rollouts-pod-template-hash={new_hash}")]
    assert new_pods == [], "a Rollout held when its template changed must start no pod of the new revision"

    workloads.set_paused(ref, False, {"slogate.dev/decision": "Resume"})

    def at_pause_step() -> bool:
        status = get(cluster, "rollout", "pay", namespace)["status"]
        return status.get("currentStepIndex") == 1 and bool(status.get("pauseConditions"))

    wait_until(at_pause_step, 60, "the released canary to reach its pause step")

    workloads.abort_rollout(ref, {"slogate.dev/decision": "Rollback"})

    def aborted() -> dict[str, Any] | None:
        status: dict[str, Any] = get(cluster, "rollout", "pay", namespace)["status"]
        return status if status.get("phase") == "Degraded" and status.get("abort") else None

    status = wait_until(aborted, 60, "the Rollout to abort")
    wait_until(
        lambda: (
            not [
                pod
                for pod in list_items(cluster, "pods", namespace, f"rollouts-pod-template-hash={new_hash}")
                if not pod["metadata"].get("deletionTimestamp")
            ]
        ),
        60,
        "the canary pods to be scaled down",
    )
    rollout = get(cluster, "rollout", "pay", namespace)
    assert rollout["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/pay:2"
    assert rollout["metadata"]["annotations"]["slogate.dev/decision"] == "Rollback"
    assert status["stableRS"] != new_hash
    assert json.dumps(rollout["status"]).count("pauseConditions") <= 1
