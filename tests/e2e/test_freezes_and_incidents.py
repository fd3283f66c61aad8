"""Change freezes and incidents hold releases, end to end, and let them go when they end."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from harness.cluster import Cluster
from harness.kube import apply, merge_patch
from harness.manifests import image_patch
from harness.observe import (
    annotations_of,
    deployment_rolled_out,
    event_reasons,
    pods_with_image,
    ready_deployment,
    slogate_events,
    spec_paused,
    status_of,
)
from harness.operator import OperatorProcess
from harness.slogate import freeze, incident
from harness.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


def test_a_2h_freeze_queues_a_new_rollout_and_its_deletion_releases_it(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    ready_deployment(cluster, namespace, "api")

    apply(cluster, freeze("db-migration", duration="2h"), namespace)
    wait_until(lambda: spec_paused(cluster, "deployment", "api", namespace), 10, "the freeze to hold api")
    held = annotations_of(cluster, "deployment", "api", namespace)
    assert held["slogate.dev/decision"] == "Hold"
    assert "ChangeFreeze/db-migration" in held["slogate.dev/reason"]
    assert "slogate.dev/expected-clear" in held
    merge_patch(cluster, "deployment", "api", namespace, image_patch("registry.example/api:2"))
    time.sleep(3)
    assert pods_with_image(cluster, namespace, "api", "registry.example/api:2") == []
    frozen = status_of(cluster, "sgfreeze", "db-migration", namespace)
    assert frozen["active"] is True
    assert frozen["heldWorkloads"] == [{"kind": "Deployment", "name": "api"}]

    cluster.kubectl("delete", "sgfreeze", "db-migration", "-n", namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "api", "registry.example/api:2"),
        60,
        "the queued rollout to complete once the freeze is gone",
    )
    assert "slogate.dev/held" not in annotations_of(cluster, "deployment", "api", namespace)
    assert {"Held", "Released"} <= set(event_reasons(cluster, namespace, "api"))


def test_a_freeze_that_expires_releases_what_it_held(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    ready_deployment(cluster, namespace, "batch")
    now = datetime.now(UTC).replace(microsecond=0)
    end = now + timedelta(seconds=12)
    apply(
        cluster,
        freeze(
            "short", start=now.isoformat().replace("+00:00", "Z"), end=end.isoformat().replace("+00:00", "Z")
        ),
        namespace,
    )
    wait_until(lambda: spec_paused(cluster, "deployment", "batch", namespace), 10, "the freeze to hold batch")
    merge_patch(cluster, "deployment", "batch", namespace, image_patch("registry.example/batch:2"))
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "batch", "registry.example/batch:2"),
        60,
        "the rollout to proceed when the freeze ends",
    )
    assert datetime.now(UTC) >= end
    assert status_of(cluster, "sgfreeze", "short", namespace)["active"] is False


def test_an_emergency_change_passes_a_freeze_and_is_recorded(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    ready_deployment(cluster, namespace, "fix")
    apply(cluster, freeze("holiday", duration="2h"), namespace)
    wait_until(lambda: spec_paused(cluster, "deployment", "fix", namespace), 10, "the freeze to hold fix")

    merge_patch(
        cluster,
        "deployment",
        "fix",
        namespace,
        {
            "spec": {
                "template": {
                    "metadata": {"annotations": {"slogate.dev/change-type": "emergency"}},
                    "spec": {"containers": [{"name": "app", "image": "registry.example/fix:2"}]},
                }
            }
        },
    )
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "fix", "registry.example/fix:2"),
        30,
        "the emergency change to roll out through the freeze",
    )
    marked = annotations_of(cluster, "deployment", "fix", namespace)
    assert marked["slogate.dev/decision"] in {"Resume", "Proceed"}
    assert "waived: ChangeFreeze/holiday" in marked["slogate.dev/reason"]
    assert "emergency changes are exempt" in marked["slogate.dev/reason"]
    released = [
        event["message"]
        for event in slogate_events(cluster, namespace, "fix")
        if event["reason"] == "Released"
    ]
    assert len(released) == 1
    assert "waived: ChangeFreeze/holiday" in released[0], "the exemption is audited in the Event"


def test_a_p1_incident_holds_affected_workloads_until_it_is_resolved(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    ready_deployment(cluster, namespace, "checkout")
    ready_deployment(cluster, namespace, "search")

    apply(cluster, incident("checkout-5xx", app="checkout", severity="P1"), namespace)
    wait_until(
        lambda: spec_paused(cluster, "deployment", "checkout", namespace), 10, "the P1 to hold checkout"
    )
    assert not spec_paused(cluster, "deployment", "search", namespace), "unaffected workloads are not held"
    assert (
        "Incident/checkout-5xx"
        in annotations_of(cluster, "deployment", "checkout", namespace)["slogate.dev/reason"]
    )

    tracked = wait_until(
        lambda: (s := status_of(cluster, "sginc", "checkout-5xx", namespace)).get("recentDeployments") and s,
        20,
        "the incident status to list recent deployments",
    )
    assert tracked["holdingPromotions"] is True
    assert tracked["affectedWorkloads"] == [{"kind": "Deployment", "name": "checkout"}]
    assert tracked["recentDeployments"][0]["revision"] == "1"
    assert tracked["recentDeployments"][0]["images"] == [
        {"container": "app", "current": "registry.example/checkout:1"}
    ]

    merge_patch(cluster, "sginc", "checkout-5xx", namespace, {"spec": {"state": "Resolved"}})
    wait_until(
        lambda: not spec_paused(cluster, "deployment", "checkout", namespace),
        10,
        "resolving to release checkout",
    )
    resolved = wait_until(
        lambda: (s := status_of(cluster, "sginc", "checkout-5xx", namespace)).get("resolvedAt") and s,
        20,
        "the incident status to record the resolution",
    )
    assert [entry["state"] for entry in resolved["timeline"]] == ["Detected", "Resolved"]
    assert resolved["holdingPromotions"] is False


def test_a_pause_made_by_a_person_is_never_undone(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    ready_deployment(cluster, namespace, "manual")
    cluster.kubectl("rollout", "pause", "deployment/manual", "-n", namespace)

    apply(cluster, freeze("brief", duration="2h"), namespace)
    wait_until(
        lambda: (
            annotations_of(cluster, "deployment", "manual", namespace).get("slogate.dev/decision") == "Hold"
        ),
        10,
        "slogate to record its decision on the paused workload",
    )
    assert "slogate.dev/held" not in annotations_of(cluster, "deployment", "manual", namespace)

    cluster.kubectl("delete", "sgfreeze", "brief", "-n", namespace)
    wait_until(
        lambda: (
            annotations_of(cluster, "deployment", "manual", namespace).get("slogate.dev/reason")
            == "all checks pass"
        ),
        10,
        "slogate to see the freeze gone",
    )
    time.sleep(4)  # two more evaluation cycles
    assert spec_paused(cluster, "deployment", "manual", namespace), "a person's pause must stay"
