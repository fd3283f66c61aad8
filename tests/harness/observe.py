"""What a test reads off the cluster to judge slogate: pauses, markers, Events, pods per image."""

from __future__ import annotations

import json
from typing import Any

from harness.cluster import Cluster
from harness.kube import apply, get, list_items
from harness.manifests import deployment
from harness.waiting import wait_until


def spec_paused(cluster: Cluster, kind: str, name: str, namespace: str) -> bool:
    return bool(get(cluster, kind, name, namespace)["spec"].get("paused"))


def annotations_of(cluster: Cluster, kind: str, name: str, namespace: str) -> dict[str, str]:
    found: dict[str, str] = get(cluster, kind, name, namespace)["metadata"].get("annotations") or {}
    return found


def slogate_events(cluster: Cluster, namespace: str, name: str) -> list[dict[str, Any]]:
    events = json.loads(
        cluster.kubectl(
            "get", "events", "-n", namespace, "--field-selector", f"involvedObject.name={name}", "-o", "json"
        ).stdout
    )["items"]
    return [event for event in events if (event.get("source") or {}).get("component") == "slogate"]


def event_reasons(cluster: Cluster, namespace: str, name: str) -> list[str]:
    return [event["reason"] for event in slogate_events(cluster, namespace, name)]


def pods_with_image(cluster: Cluster, namespace: str, app: str, image: str) -> list[dict[str, Any]]:
    return [
        pod
        for pod in list_items(cluster, "pods", namespace, f"app={app}")
        if pod["spec"]["containers"][0]["image"] == image
    ]


def status_of(cluster: Cluster, kind: str, name: str, namespace: str) -> dict[str, Any]:
    found: dict[str, Any] = get(cluster, kind, name, namespace).get("status") or {}
    return found


def deployment_rolled_out(cluster: Cluster, namespace: str, name: str, image: str) -> bool:
    """The Deployment runs ``image`` on every replica, all available, no older pod left, not paused."""
    obj = get(cluster, "deployment", name, namespace)
    status = obj.get("status", {})
    replicas = obj["spec"]["replicas"]
    return (
        obj["spec"]["template"]["spec"]["containers"][0]["image"] == image
        and not obj["spec"].get("paused")
        and status.get("observedGeneration") == obj["metadata"]["generation"]
        and status.get("updatedReplicas") == replicas
        and status.get("availableReplicas") == replicas
        and status.get("replicas") == replicas
    )


def ready_deployment(cluster: Cluster, namespace: str, name: str) -> None:
    """Apply the Deployment ``name`` at ``registry.example/NAME:1`` and wait until it has rolled out."""
    image = f"registry.example/{name}:1"
    apply(cluster, deployment(name, image), namespace)
    wait_until(lambda: deployment_rolled_out(cluster, namespace, name, image), 60, f"{name}:1")
