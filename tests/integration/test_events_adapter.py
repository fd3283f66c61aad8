"""Events posted by slogate show on the object, as kubectl lists them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from kubernetes import config

from harness.cluster import Cluster
from harness.kube import apply, get
from harness.manifests import deployment
from slogate.adapters.events import KubernetesEvents
from slogate.reconcile.ports import EventType, InvolvedObject

pytestmark = pytest.mark.cluster


def test_an_event_is_listed_on_its_deployment(cluster: Cluster, namespace: str) -> None:
    apply(cluster, deployment("web", "registry.example/web:1"), namespace)
    uid = get(cluster, "deployment", "web", namespace)["metadata"]["uid"]
    api = config.new_client_from_config(config_file=str(cluster.kubeconfig))
    events = KubernetesEvents(api, instance="test-instance")

    events.post(
        InvolvedObject("apps/v1", "Deployment", namespace, "web", uid),
        event_type=EventType.WARNING,
        reason="Held",
        action="Hold",
        message="held: ChangeFreeze/holidays is active until 2026-12-27T00:00:00Z " + "x" * 2000,
        now=datetime(2026, 12, 24, 9, 0, tzinfo=UTC),
    )
    api.close()

    listed = json.loads(
        cluster.kubectl(
            "get", "events", "-n", namespace, "--field-selector", f"involvedObject.uid={uid}", "-o", "json"
        ).stdout
    )["items"]
    listed = [event for event in listed if event["source"].get("component") == "slogate"]
    assert [(e["reason"], e["type"], e["reportingInstance"]) for e in listed] == [
        ("Held", "Warning", "test-instance")
    ]
    assert listed[0]["message"].startswith("held: ChangeFreeze/holidays is active")
    assert len(listed[0]["message"]) == 1024
