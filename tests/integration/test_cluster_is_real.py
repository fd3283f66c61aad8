"""Smoke tests that the test cluster is a real one: real controllers act on what we write."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from harness.cluster import Cluster
from harness.kube import apply, get, list_items, merge_patch, status_merge_patch
from harness.manifests import canary_rollout, deployment, image_patch
from harness.waiting import wait_until

pytestmark = pytest.mark.cluster


def ready_pods(cluster: Cluster, namespace: str, app: str) -> list[dict[str, Any]]:
    return [
        pod
        for pod in list_items(cluster, "pods", namespace, f"app={app}")
        if any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in pod.get("status", {}).get("conditions", [])
        )
    ]


def test_deployment_pods_become_ready_and_a_template_change_makes_the_next_revision(
    cluster: Cluster, namespace: str
) -> None:
    apply(cluster, deployment("web", "registry.example/web:1"), namespace)
    wait_until(lambda: len(ready_pods(cluster, namespace, "web")) == 3, 60, "3 Ready pods of web:1")

    merge_patch(cluster, "deployment", "web", namespace, image_patch("registry.example/web:2"))

    def rolled_out() -> dict[str, Any] | None:
        status = get(cluster, "deployment", "web", namespace)["status"]
        complete = status.get("updatedReplicas") == 3 and status.get("readyReplicas") == 3
        return status if complete and status.get("replicas") == 3 else None

    wait_until(rolled_out, 90, "web:2 fully rolled out")
    revisions = {
        rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"]: rs["spec"]["template"]["spec"][
            "containers"
        ][0]["image"]
        for rs in list_items(cluster, "replicasets", namespace, "app=web")
    }
    assert revisions == {"1": "registry.example/web:1", "2": "registry.example/web:2"}


def test_canary_rollout_advances_a_step_and_obeys_spec_paused(cluster: Cluster, namespace: str) -> None:
    apply(cluster, canary_rollout("shop", "registry.example/shop:1"), namespace)
    wait_until(
        lambda: get(cluster, "rollout", "shop", namespace).get("status", {}).get("phase") == "Healthy",
        120,
        "the first revision of the Rollout to be Healthy",
    )

    merge_patch(cluster, "rollout", "shop", namespace, image_patch("registry.example/shop:2"))

    def at_pause_step() -> dict[str, Any] | None:
        status = get(cluster, "rollout", "shop", namespace).get("status", {})
        reasons = [c["reason"] for c in status.get("pauseConditions") or []]
        return status if status.get("currentStepIndex") == 1 and "CanaryPauseStep" in reasons else None

    paused_status = wait_until(at_pause_step, 90, "the canary to reach its pause step")
    assert paused_status["phase"] == "Paused"
    wait_until(
        lambda: len(ready_pods(cluster, namespace, "shop")) >= 4,
        60,
        "the stable pods and the canary to be Ready",
    )

    merge_patch(cluster, "rollout", "shop", namespace, {"spec": {"paused": True}})
    status_merge_patch(cluster, "rollout", "shop", namespace, {"status": {"pauseConditions": None}})

    def manually_paused() -> dict[str, Any] | None:
        status = get(cluster, "rollout", "shop", namespace).get("status", {})
        return status if status.get("message") == "manually paused" else None

    held = wait_until(manually_paused, 30, "the controller to report the Rollout manually paused")
    assert held["phase"] == "Paused"
    time.sleep(3)
    still_held = get(cluster, "rollout", "shop", namespace)["status"]
    assert still_held["currentStepIndex"] == 1, "a Rollout with spec.paused=true must not advance"
    assert not still_held.get("pauseConditions")

    merge_patch(cluster, "rollout", "shop", namespace, {"spec": {"paused": False}})
    status_merge_patch(cluster, "rollout", "shop", namespace, {"status": {"pauseConditions": None}})

    def healthy_on_new_revision() -> dict[str, Any] | None:
        rollout = get(cluster, "rollout", "shop", namespace)
        status = rollout.get("status", {})
        done = status.get("phase") == "Healthy" and status.get("stableRS") == status.get("currentPodHash")
        return status if done and status.get("currentStepIndex") == 3 else None

    wait_until(healthy_on_new_revision, 90, "the canary to complete after resuming")


def test_helm_installs_and_uninstalls_a_chart(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    chart = tmp_path / "smoke"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: smoke\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("greeting: hello\n")
    (chart / "templates" / "configmap.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\n"
        "data:\n  greeting: {{ .Values.greeting | quote }}\n"
    )

    cluster.helm("install", "smoke", str(chart), "-n", namespace, "--set", "greeting=hi", "--wait")
    assert get(cluster, "configmap", "smoke-greeting", namespace)["data"] == {"greeting": "hi"}

    cluster.helm("uninstall", "smoke", "-n", namespace, "--wait")
    gone = cluster.kubectl("get", "configmap", "smoke-greeting", "-n", namespace, check=False)
    assert gone.returncode != 0
    assert "NotFound" in gone.stderr
