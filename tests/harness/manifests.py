"""Workload manifests for tests: the smallest Deployments and canary Rollouts the controllers act on."""

from __future__ import annotations

from typing import Any


def pod_template(app: str, image: str) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": app}},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }


def deployment(name: str, image: str, replicas: int = 3) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": pod_template(name, image),
        },
    }


def canary_rollout(name: str, image: str, replicas: int = 4) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": pod_template(name, image),
            "strategy": {"canary": {"steps": [{"setWeight": 25}, {"pause": {}}, {"setWeight": 75}]}},
        },
    }


def image_patch(image: str) -> dict[str, Any]:
    """A merge patch that changes the pod template's only container image."""
    return {"spec": {"template": {"spec": {"containers": [{"name": "app", "image": image}]}}}}
