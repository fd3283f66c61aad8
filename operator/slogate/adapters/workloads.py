"""Acting on Deployments and Argo Rollouts the way their own tools do.

Every write carries slogate's field manager, so Argo CD's ``ignoreDifferences``
can name it, and slogate's marker annotations, so a person (and a restarted
operator) can see what slogate did and why. The operations mirror the
controllers' own clients:

- hold: merge patch ``spec.paused=true`` (Deployment and Rollout alike);
- release: merge patch ``spec.paused=false``, only for a workload slogate itself
  holds; a Rollout's ``status.pauseConditions`` belong to its controller and are
  left alone;
- abort: ``status.abort=true`` on a Rollout's status subresource, as
  ``kubectl argo rollouts abort`` does;
- roll back: the algorithm of ``kubectl rollout undo`` for a Deployment, with a
  resourceVersion precondition so a concurrent write is never overwritten.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from kubernetes import client

ROLLOUT_GROUP = "argoproj.io"
ROLLOUT_VERSION = "v1alpha1"
ROLLOUT_PLURAL = "rollouts"
REVISION_ANNOTATION = "deployment.kubernetes.io/revision"
POD_TEMPLATE_HASH = "pod-template-hash"
# kubectl rollout undo does not copy these from the ReplicaSet to the Deployment.
ROLLBACK_SKIPPED_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        REVISION_ANNOTATION,
        "deployment.kubernetes.io/revision-history",
        "deployment.kubernetes.io/desired-replicas",
        "deployment.kubernetes.io/max-replicas",
        "deprecated.deployment.rollback.to",
    }
)


class WorkloadKind(StrEnum):
    DEPLOYMENT = "Deployment"
    ROLLOUT = "Rollout"


@dataclass(frozen=True)
class WorkloadRef:
    kind: WorkloadKind
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.lower()}/{self.name} in {self.namespace}"


class RollbackRefusedError(Exception):
    """kubectl rollout undo would refuse too: the reason says why, in its words."""


@dataclass(frozen=True)
class RollbackOutcome:
    from_revision: int
    to_revision: int
    skipped: bool


class KubernetesWorkloads:
    """Deployment and Rollout writes through one API client, as ``field_manager``."""

    def __init__(self, api: client.ApiClient, field_manager: str) -> None:
        self._apps = client.AppsV1Api(api)
        self._custom = client.CustomObjectsApi(api)
        self._field_manager = field_manager

    def read(self, ref: WorkloadRef) -> dict[str, Any]:
        if ref.kind is WorkloadKind.DEPLOYMENT:
            return self._plain(self._apps.read_namespaced_deployment(ref.name, ref.namespace))
        return self._plain(
            self._custom.get_namespaced_custom_object(
                ROLLOUT_GROUP, ROLLOUT_VERSION, ref.namespace, ROLLOUT_PLURAL, ref.name
            )
        )

    def _plain(self, model: object) -> dict[str, Any]:
        """The JSON form of a client model (camelCase keys), as the API server sends it."""
        plain = self._apps.api_client.sanitize_for_serialization(model)
        if not isinstance(plain, dict):
            raise TypeError(f"expected an object from the API server, got {type(plain).__name__}")
        return plain

    def set_paused(self, ref: WorkloadRef, paused: bool, annotations: dict[str, str | None]) -> None:
        """Pause or unpause, writing the marker annotations in the same patch.

        Unpausing removes ``spec.paused`` rather than writing ``false``: both mean
        "not paused" to the controllers, and an absent field is one a GitOps tool
        that never set it does not see as drift.
        """
        spec = {"paused": True if paused else None}
        self._merge_patch(ref, {"metadata": {"annotations": annotations}, "spec": spec})

    def annotate(self, ref: WorkloadRef, annotations: dict[str, str | None]) -> None:
        """Write (or, with None, remove) marker annotations only."""
        self._merge_patch(ref, {"metadata": {"annotations": annotations}})

    def abort_rollout(self, ref: WorkloadRef, annotations: dict[str, str | None]) -> None:
        if ref.kind is not WorkloadKind.ROLLOUT:
            raise ValueError(f"only an Argo Rollout can be aborted, not {ref}")
        self._custom.patch_namespaced_custom_object_status(
            ROLLOUT_GROUP,
            ROLLOUT_VERSION,
            ref.namespace,
            ROLLOUT_PLURAL,
            ref.name,
            {"status": {"abort": True}},
            field_manager=self._field_manager,
            _content_type="application/merge-patch+json",
        )
        self.annotate(ref, annotations)

    def roll_back_deployment(self, ref: WorkloadRef, annotations: dict[str, str | None]) -> RollbackOutcome:
        """Restore the previous revision's pod template, as ``kubectl rollout undo`` does."""
        if ref.kind is not WorkloadKind.DEPLOYMENT:
            raise ValueError(f"only a Deployment is rolled back by template, not {ref}")
        deployment = self.read(ref)
        if deployment["spec"].get("paused"):
            raise RollbackRefusedError(f"cannot roll back {ref}: it is paused; resume it first")
        current, previous = self._current_and_previous_replicasets(deployment)
        from_revision = revision_of(current) if current else 0
        to_revision = revision_of(previous)
        target_template = template_without_hash(previous["spec"]["template"])
        if template_without_hash(deployment["spec"]["template"]) == target_template:
            return RollbackOutcome(from_revision=from_revision, to_revision=to_revision, skipped=True)
        merged_annotations: dict[str, str | None] = {
            **{
                key: value
                for key, value in (previous["metadata"].get("annotations") or {}).items()
                if key not in ROLLBACK_SKIPPED_ANNOTATIONS
            },
            **annotations,
        }
        current_annotations = dict(deployment["metadata"].get("annotations") or {})
        for key, value in merged_annotations.items():
            if value is None:
                current_annotations.pop(key, None)
            else:
                current_annotations[key] = value
        patch = [
            {
                "op": "test",
                "path": "/metadata/resourceVersion",
                "value": deployment["metadata"]["resourceVersion"],
            },
            {"op": "replace", "path": "/spec/template", "value": target_template},
            {"op": "replace", "path": "/metadata/annotations", "value": current_annotations},
        ]
        self._apps.patch_namespaced_deployment(
            ref.name,
            ref.namespace,
            patch,
            field_manager=self._field_manager,
            _content_type="application/json-patch+json",
        )
        return RollbackOutcome(from_revision=from_revision, to_revision=to_revision, skipped=False)

    def _current_and_previous_replicasets(
        self, deployment: dict[str, Any]
    ) -> tuple[dict[str, Any] | None, dict[str, Any]]:
        owned = [
            rs
            for rs in self._owned_replicasets(deployment)
            if (rs["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION)
        ]
        owned.sort(key=revision_of)
        current_revision = int(
            (deployment["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "0") or 0
        )
        older = [rs for rs in owned if revision_of(rs) < current_revision] if current_revision else owned[:-1]
        if not older:
            raise RollbackRefusedError(
                f"cannot roll back deployment/{deployment['metadata']['name']}: no previous revision found"
            )
        current = next((rs for rs in owned if revision_of(rs) == current_revision), None)
        return current, older[-1]

    def _owned_replicasets(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        selector = ",".join(
            f"{key}={value}"
            for key, value in (deployment["spec"]["selector"].get("matchLabels") or {}).items()
        )
        listed = self._apps.list_namespaced_replica_set(
            deployment["metadata"]["namespace"], label_selector=selector
        )
        uid = deployment["metadata"]["uid"]
        replicasets: list[dict[str, Any]] = self._plain(listed)["items"]
        return [
            rs
            for rs in replicasets
            if any(
                owner.get("uid") == uid and owner.get("controller")
                for owner in rs["metadata"].get("ownerReferences") or []
            )
        ]

    def _merge_patch(self, ref: WorkloadRef, patch: dict[str, Any]) -> None:
        if ref.kind is WorkloadKind.DEPLOYMENT:
            self._apps.patch_namespaced_deployment(
                ref.name,
                ref.namespace,
                patch,
                field_manager=self._field_manager,
                _content_type="application/merge-patch+json",
            )
        else:
            self._custom.patch_namespaced_custom_object(
                ROLLOUT_GROUP,
                ROLLOUT_VERSION,
                ref.namespace,
                ROLLOUT_PLURAL,
                ref.name,
                patch,
                field_manager=self._field_manager,
                _content_type="application/merge-patch+json",
            )


def revision_of(replicaset: dict[str, Any]) -> int:
    return int((replicaset["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "0") or 0)


def template_without_hash(template: dict[str, Any]) -> dict[str, Any]:
    """A pod template with the ReplicaSet's ``pod-template-hash`` label removed, for comparison and reuse."""
    stripped = copy.deepcopy(template)
    labels = stripped.get("metadata", {}).get("labels")
    if labels:
        labels.pop(POD_TEMPLATE_HASH, None)
    return stripped
