"""Reading and writing slogate's own resources and the workloads' history through the API server.

Four jobs that reconcile reaches through ports: the initial listing that fills the World before
anything is decided (so a restarted operator never releases a hold because it has not yet seen the
freeze behind it), status writes on the status subresource, and the recent revisions of a workload
for an Incident's suspect list (and, for a deploy admission missed, the pods that had started).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from slogate.api.base import GROUP, VERSION, WorkloadKind, WorkloadReference
from slogate.api.incident import ImageChange, RecentDeployment
from slogate.api.kinds import RESOURCE_PLURALS
from slogate.api.wire import parse_time
from slogate.domain.templates import template_hash
from slogate.reconcile.ports import RevisionStart, WorkloadRef

log = logging.getLogger(__name__)

ROLLOUT_REVISION = "rollout.argoproj.io/revision"
DEPLOYMENT_REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"


def _raw(response: Any) -> dict[str, Any]:
    body = json.loads(response.data)
    if not isinstance(body, dict):
        raise TypeError(f"expected a JSON object from the API server, got {type(body).__name__}")
    return body


@dataclass(frozen=True)
class Listing:
    """Every watched object at one moment, as raw bodies."""

    resources: Mapping[str, list[dict[str, Any]]]
    deployments: list[dict[str, Any]]
    rollouts: list[dict[str, Any]]
    namespaces: list[dict[str, Any]]


class ClusterReader:
    """Lists what the operator watches, in every namespace or in the given ones."""

    def __init__(self, api: client.ApiClient, namespaces: Iterable[str] = ()) -> None:
        self._custom = client.CustomObjectsApi(api)
        self._apps = client.AppsV1Api(api)
        self._core = client.CoreV1Api(api)
        self._namespaces = tuple(namespaces)

    def _custom_items(self, group: str, version: str, plural: str) -> list[dict[str, Any]]:
        if not self._namespaces:
            return list(
                _raw(self._custom.list_cluster_custom_object(group, version, plural, _preload_content=False))[
                    "items"
                ]
            )
        items: list[dict[str, Any]] = []
        for namespace in self._namespaces:
            items += _raw(
                self._custom.list_namespaced_custom_object(
                    group, version, namespace, plural, _preload_content=False
                )
            )["items"]
        return items

    def _deployments(self) -> list[dict[str, Any]]:
        if not self._namespaces:
            return list(_raw(self._apps.list_deployment_for_all_namespaces(_preload_content=False))["items"])
        items: list[dict[str, Any]] = []
        for namespace in self._namespaces:
            items += _raw(self._apps.list_namespaced_deployment(namespace, _preload_content=False))["items"]
        return items

    def _rollouts(self) -> list[dict[str, Any]]:
        try:
            return self._custom_items("argoproj.io", "v1alpha1", "rollouts")
        except ApiException as error:
            if error.status == 404:
                log.info("Argo Rollouts is not installed; only Deployments are governed")
                return []
            raise

    def _namespace_objects(self) -> list[dict[str, Any]]:
        try:
            return list(_raw(self._core.list_namespace(_preload_content=False))["items"])
        except ApiException as error:
            if error.status == 403:
                log.info(
                    "no permission to list namespaces; namespaceSelector of platform resources is ignored"
                )
                return []
            raise

    def list_all(self) -> Listing:
        resources = {plural: self._custom_items(GROUP, VERSION, plural) for plural in RESOURCE_PLURALS}
        deployments = self._deployments()
        rollouts = self._rollouts()
        for item in deployments:
            item.setdefault("kind", "Deployment")
        for item in rollouts:
            item.setdefault("kind", "Rollout")
        return Listing(resources, deployments, rollouts, self._namespace_objects())


class StatusPatcher:
    """Merge patches on the status subresource of slogate's resources, as ``field_manager``."""

    def __init__(self, api: client.ApiClient, field_manager: str) -> None:
        self._custom = client.CustomObjectsApi(api)
        self._field_manager = field_manager

    def patch_status(self, plural: str, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        try:
            self._custom.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                namespace,
                plural,
                name,
                {"status": dict(status)},
                field_manager=self._field_manager,
                _content_type="application/merge-patch+json",
            )
        except ApiException as error:
            if error.status != 404:
                raise


def _images(template: Mapping[str, Any]) -> dict[str, str]:
    containers = ((template.get("spec") or {}).get("containers")) or []
    return {str(c.get("name")): str(c.get("image")) for c in containers}


class WorkloadHistory:
    """The last revisions of a workload, from the ReplicaSets its controller keeps."""

    def __init__(self, api: client.ApiClient) -> None:
        self._apps = client.AppsV1Api(api)
        self._core = client.CoreV1Api(api)

    def revision_start(self, ref: WorkloadRef, uid: str, template: str, since: datetime) -> RevisionStart:
        """Whether a ReplicaSet of the workload's current ``template`` (its hash) exists yet; the
        creation of its newest ReplicaSet (the revision a deploy made) and, when that is not older
        than ``since``, how many of its pods were created at or after ``since``."""
        listing = self._apps.list_namespaced_replica_set(ref.namespace, _preload_content=False)
        owned = [
            rs
            for rs in _raw(listing)["items"]
            if any(owner.get("uid") == uid for owner in rs["metadata"].get("ownerReferences") or [])
        ]
        if not any(template_hash(rs["spec"].get("template") or {}) == template for rs in owned):
            return RevisionStart(created_at=None, pods_started=0, template_deployed=False)
        newest = max(owned, key=lambda rs: parse_time(str(rs["metadata"]["creationTimestamp"])))
        created_at = parse_time(str(newest["metadata"]["creationTimestamp"]))
        if created_at <= since:
            return RevisionStart(created_at=created_at, pods_started=0)
        match_labels = ((newest.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        label_selector = ",".join(f"{key}={value}" for key, value in sorted(match_labels.items()))
        pods = _raw(
            self._core.list_namespaced_pod(
                ref.namespace, label_selector=label_selector, _preload_content=False
            )
        )["items"]
        started = [pod for pod in pods if parse_time(str(pod["metadata"].get("creationTimestamp"))) >= since]
        return RevisionStart(created_at=created_at, pods_started=len(started))

    def recent_deployments(
        self, ref: WorkloadRef, uid: str, selector: Mapping[str, str], limit: int = 3
    ) -> list[RecentDeployment]:
        """The last ``limit`` revisions, newest first; ``selector`` (the workload's matchLabels)
        narrows the listing to its own ReplicaSets."""
        label_selector = ",".join(f"{key}={value}" for key, value in sorted(selector.items()))
        replicasets = _raw(
            self._apps.list_namespaced_replica_set(
                ref.namespace, label_selector=label_selector, _preload_content=False
            )
        )["items"]
        revision_key = DEPLOYMENT_REVISION if ref.kind is WorkloadKind.DEPLOYMENT else ROLLOUT_REVISION
        owned = [
            rs
            for rs in replicasets
            if any(owner.get("uid") == uid for owner in rs["metadata"].get("ownerReferences") or [])
            and (rs["metadata"].get("annotations") or {}).get(revision_key, "").isdigit()
        ]
        owned.sort(key=lambda rs: int(rs["metadata"]["annotations"][revision_key]))
        deployments = []
        previous_images: dict[str, str] = {}
        for rs in owned:
            images = _images(rs["spec"].get("template") or {})
            annotations = rs["metadata"].get("annotations") or {}
            deployments.append(
                RecentDeployment(
                    workload=WorkloadReference(kind=ref.kind, namespace=ref.namespace, name=ref.name),
                    revision=annotations[revision_key],
                    time=rs["metadata"]["creationTimestamp"],
                    images=[
                        ImageChange(container=name, previous=previous_images.get(name), current=image)
                        for name, image in sorted(images.items())
                        if previous_images.get(name) != image
                    ],
                    owner=annotations.get(CHANGE_CAUSE),
                )
            )
            previous_images = images
        return deployments[-limit:][::-1]
