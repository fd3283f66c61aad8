"""Small typed accessors over ``kubectl -o json`` for tests."""

from __future__ import annotations

import json
from typing import Any

from harness.cluster import Cluster


def get(cluster: Cluster, kind: str, name: str, namespace: str) -> dict[str, Any]:
    result = cluster.kubectl("get", kind, name, "-n", namespace, "-o", "json", "--show-managed-fields")
    obj: dict[str, Any] = json.loads(result.stdout)
    return obj


def list_items(cluster: Cluster, kind: str, namespace: str, selector: str = "") -> list[dict[str, Any]]:
    args = ["get", kind, "-n", namespace, "-o", "json"]
    if selector:
        args += ["-l", selector]
    items: list[dict[str, Any]] = json.loads(cluster.kubectl(*args).stdout)["items"]
    return items


def apply(cluster: Cluster, manifest: dict[str, Any] | str, namespace: str) -> None:
    text = manifest if isinstance(manifest, str) else json.dumps(manifest)
    cluster.kubectl("apply", "-n", namespace, "-f", "-", input=text)


def merge_patch(
    cluster: Cluster,
    kind: str,
    name: str,
    namespace: str,
    patch: dict[str, Any],
    *,
    field_manager: str | None = None,
) -> None:
    """A merge patch, written as ``field_manager`` when given (to write as another controller)."""
    manager = [f"--field-manager={field_manager}"] if field_manager else []
    cluster.kubectl("patch", kind, name, "-n", namespace, "--type=merge", *manager, "-p", json.dumps(patch))


def status_merge_patch(cluster: Cluster, kind: str, name: str, namespace: str, patch: dict[str, Any]) -> None:
    """A merge patch on the status subresource, as controllers and kubectl plugins write it."""
    cluster.kubectl(
        "patch", kind, name, "-n", namespace, "--subresource=status", "--type=merge", "-p", json.dumps(patch)
    )
