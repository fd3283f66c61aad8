"""Holds applied at admission: a deploy that arrives during a hold never rolls a pod.

Against the real API server (MutatingAdmissionPolicy served, as in 1.36), the real Deployment and
Argo Rollouts controllers, and the operator. The webhook fallback runs on a second control plane
whose API server does not serve the policy API.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cluster import ROOT, Cluster, free_port
from harness.kube import apply, get, merge_patch
from harness.manifests import canary_rollout, deployment, image_patch
from harness.observe import (
    annotations_of,
    deployment_rolled_out,
    event_reasons,
    pods_with_image,
    spec_paused,
)
from harness.operator import OperatorProcess, install_crds, running_operator
from harness.prometheus import Prometheus
from harness.slogate import freeze
from harness.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

POLICY_MANIFEST = ROOT / "deploy" / "admission" / "slogate-hold.yaml"
WITHOUT_POLICY_API = (
    "--runtime-config=admissionregistration.k8s.io/v1/mutatingadmissionpolicies=false,"
    "admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings=false"
    # With the API off, the admission plugin waits forever for informers of resources that are not
    # served, and the API server's bootstrap hooks fail; a cluster without the API runs without it.
    " --disable-admission-plugins=MutatingAdmissionPolicy"
)


def replicasets_of(cluster: Cluster, namespace: str, app: str) -> list[dict[str, Any]]:
    listing = json.loads(
        cluster.kubectl("get", "rs", "-n", namespace, "-l", f"app={app}", "-o", "json").stdout
    )
    return list(listing["items"])


def pods_of_image(cluster: Cluster, namespace: str, app: str, image: str) -> int:
    return len(pods_with_image(cluster, namespace, app, image))


def holdset_present(cluster: Cluster, namespace: str) -> bool:
    found = cluster.kubectl("get", "holdsets", "slogate", "-n", namespace, check=False)
    return found.returncode == 0


def start_freeze(cluster: Cluster, namespace: str, name: str = "release-freeze") -> None:
    apply(cluster, freeze(name, duration="2h"), namespace)
    wait_until(lambda: holdset_present(cluster, namespace), 15, "the operator to publish the freeze's hold")


def rollout_phase(cluster: Cluster, namespace: str, name: str) -> str:
    return str((get(cluster, "rollout", name, namespace).get("status") or {}).get("phase"))


def test_during_a_freeze_deploys_roll_no_pod_and_all_roll_out_when_it_ends(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    apply(cluster, deployment("api", "registry.example/api:1"), namespace)
    apply(cluster, canary_rollout("web", "registry.example/web:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "api", "registry.example/api:1"), 60, "api:1"
    )
    wait_until(lambda: rollout_phase(cluster, namespace, "web") == "Healthy", 120, "web:1 Healthy")
    start_freeze(cluster, namespace)

    # The same write that changes the template pauses it: no new ReplicaSet for the Deployment.
    merge_patch(cluster, "deployment", "api", namespace, image_patch("registry.example/api:2"))
    assert spec_paused(cluster, "deployment", "api", namespace)
    held = annotations_of(cluster, "deployment", "api", namespace)
    assert held["slogate.dev/held"] == "true"
    assert "ChangeFreeze/release-freeze" in held["slogate.dev/reason"]
    merge_patch(cluster, "rollout", "web", namespace, image_patch("registry.example/web:2"))
    assert spec_paused(cluster, "rollout", "web", namespace)
    apply(cluster, deployment("worker", "registry.example/worker:1"), namespace)
    assert spec_paused(cluster, "deployment", "worker", namespace)
    apply(cluster, canary_rollout("edge", "registry.example/edge:1"), namespace)
    assert spec_paused(cluster, "rollout", "edge", namespace)

    time.sleep(5)
    assert len(replicasets_of(cluster, namespace, "api")) == 1
    assert replicasets_of(cluster, namespace, "worker") == []
    for app, image in (("api", "api:2"), ("web", "web:2"), ("worker", "worker:1"), ("edge", "edge:1")):
        assert pods_of_image(cluster, namespace, app, f"registry.example/{image}") == 0, image
    # api and web were already held by the operator when the freeze began; worker and edge are new
    # and were held by admission alone.
    wait_until(
        lambda: "HeldAtAdmission" in event_reasons(cluster, namespace, "worker"),
        15,
        "the admission hold's Event",
    )
    assert annotations_of(cluster, "deployment", "worker", namespace)["slogate.dev/held-by"] == "admission"
    assert annotations_of(cluster, "rollout", "edge", namespace)["slogate.dev/held-by"] == "admission"

    cluster.kubectl("delete", "sgfreeze", "release-freeze", "-n", namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "api", "registry.example/api:2"), 90, "api:2"
    )
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "worker", "registry.example/worker:1"),
        90,
        "worker:1",
    )
    wait_until(
        lambda: pods_of_image(cluster, namespace, "web", "registry.example/web:2") > 0, 120, "web:2 pods"
    )
    wait_until(
        lambda: pods_of_image(cluster, namespace, "edge", "registry.example/edge:1") > 0, 120, "edge pods"
    )
    wait_until(lambda: not holdset_present(cluster, namespace), 15, "the HoldSet to go with the last hold")


def test_an_emergency_change_passes_the_freeze_at_once_and_is_audited(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    apply(cluster, deployment("payments", "registry.example/payments:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "payments", "registry.example/payments:1"), 60, "v1"
    )
    start_freeze(cluster, namespace)
    emergency = image_patch("registry.example/payments:hotfix")
    emergency["spec"]["template"]["metadata"] = {"annotations": {"slogate.dev/change-type": "emergency"}}
    merge_patch(cluster, "deployment", "payments", namespace, emergency)

    assert not spec_paused(cluster, "deployment", "payments", namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "payments", "registry.example/payments:hotfix"),
        60,
        "the emergency change to roll out during the freeze",
    )
    wait_until(
        lambda: (
            "waived"
            in annotations_of(cluster, "deployment", "payments", namespace).get("slogate.dev/reason", "")
        ),
        15,
        "the waiver to be recorded on the workload",
    )
    assert "emergency" in annotations_of(cluster, "deployment", "payments", namespace)["slogate.dev/reason"]


def test_with_admission_bypassed_the_operator_still_holds_and_reports_the_leak(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    apply(cluster, deployment("orders", "registry.example/orders:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "orders", "registry.example/orders:1"), 60, "v1"
    )
    start_freeze(cluster, namespace)
    # The operator pauses workloads in a freeze's scope; lift that pause the way a person would, so
    # the next template change meets admission only.
    wait_until(
        lambda: spec_paused(cluster, "deployment", "orders", namespace), 15, "the freeze to hold orders"
    )
    cluster.kubectl("delete", "mutatingadmissionpolicybinding", "slogate-hold")
    try:
        time.sleep(2)  # the API server's policy cache drops the binding
        merge_patch(
            cluster,
            "deployment",
            "orders",
            namespace,
            {"spec": {"paused": False, **image_patch("registry.example/orders:2")["spec"]}},
        )
        wait_until(
            lambda: "HeldLate" in event_reasons(cluster, namespace, "orders"), 30, "the backstop to hold late"
        )
        assert spec_paused(cluster, "deployment", "orders", namespace)
        late = annotations_of(cluster, "deployment", "orders", namespace)["slogate.dev/held-late"]
        assert "held late: admission did not hold this deploy" in late
        assert "slogate_held_late_total" in operator.metrics()
    finally:
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(POLICY_MANIFEST))


@pytest.fixture(scope="module")
def cluster_without_policy_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A second control plane whose API server does not serve MutatingAdmissionPolicy."""
    state = tmp_path_factory.mktemp("no-policy-api")
    env = {
        **os.environ,
        "SLOGATE_CLUSTER_DIR": str(state),
        "SLOGATE_APISERVER_EXTRA_ARGS": WITHOUT_POLICY_API,
        "SLOGATE_READY_TIMEOUT": "90",
    }
    script = str(ROOT / "hack" / "cluster.sh")
    started = subprocess.run(
        [script, "up"], env=env, check=False, capture_output=True, text=True, timeout=300
    )
    assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
    try:
        cluster = Cluster(
            kubeconfig=Path(state) / "kubeconfig", source="local cluster without the policy API"
        )
        install_crds(cluster)
        yield cluster
    finally:
        subprocess.run([script, "down"], env=env, check=False, capture_output=True, timeout=300)


def test_the_webhook_holds_the_same_way_where_the_policy_api_is_not_served(
    cluster_without_policy_api: Cluster, prometheus: Prometheus
) -> None:
    cluster = cluster_without_policy_api
    served = cluster.kubectl("api-resources", "--api-group=admissionregistration.k8s.io").stdout
    assert "mutatingadmissionpolicies" not in served
    namespace = "webhook-holds"
    cluster.kubectl("create", "namespace", namespace)
    apply(cluster, deployment("api", "registry.example/api:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "api", "registry.example/api:1"), 60, "api:1"
    )
    log = ROOT / ".cluster" / "logs" / "operator-webhook.log"
    with running_operator(
        cluster,
        prometheus.url,
        log,
        f"--namespace={namespace}",
        "--admission-webhook-host=127.0.0.1",
        f"--admission-webhook-port={free_port()}",
    ) as running:
        assert 'slogate_admission_mode{mode="Webhook"} 1.0' in running.metrics()
        start_freeze(cluster, namespace)
        wait_until(
            lambda: (
                cluster.kubectl(
                    "get", "mutatingwebhookconfiguration", "slogate-hold.slogate.dev", check=False
                ).returncode
                == 0
            ),
            30,
            "kopf to register the webhook",
        )
        merge_patch(cluster, "deployment", "api", namespace, image_patch("registry.example/api:2"))
        assert spec_paused(cluster, "deployment", "api", namespace)
        apply(cluster, deployment("worker", "registry.example/worker:1"), namespace)
        assert spec_paused(cluster, "deployment", "worker", namespace)
        assert (
            annotations_of(cluster, "deployment", "worker", namespace)["slogate.dev/held-by"] == "admission"
        )
        time.sleep(3)
        assert len(replicasets_of(cluster, namespace, "api")) == 1
        assert replicasets_of(cluster, namespace, "worker") == []
        enforced = get(cluster, "holdset", "slogate", namespace)["status"]["enforcedBy"]
        assert enforced == "Webhook"

        cluster.kubectl("delete", "sgfreeze", "release-freeze", "-n", namespace)
        wait_until(
            lambda: deployment_rolled_out(cluster, namespace, "api", "registry.example/api:2"), 90, "api:2"
        )
        wait_until(
            lambda: deployment_rolled_out(cluster, namespace, "worker", "registry.example/worker:1"),
            90,
            "worker",
        )
