"""Objects as the API server hands them to the operator, for unit tests of reconcile: a slogate
resource and a Deployment in namespace ``shop``, with the metadata the World reads."""

from __future__ import annotations

from typing import Any

NAMESPACE = "shop"


def resource_body(
    kind: str, name: str, spec: dict[str, Any], *, generation: int = 1, created: str = "2026-11-01T00:00:00Z"
) -> dict[str, Any]:
    return {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "uid": f"uid-{name}",
            "generation": generation,
            "creationTimestamp": created,
        },
        "spec": spec,
    }


def deployment_body(name: str, labels: dict[str, str], image: str, revision: str = "1") -> dict[str, Any]:
    """A Deployment fully rolled out at ``image``."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": NAMESPACE,
            "uid": f"uid-{name}",
            "resourceVersion": "1",
            "generation": 1,
            "labels": dict(labels),
            "annotations": {"deployment.kubernetes.io/revision": revision},
        },
        "spec": {
            "replicas": 2,
            "template": {
                "metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
        "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2},
    }
