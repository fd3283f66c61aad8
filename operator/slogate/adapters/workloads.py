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
import json
from typing import Any

from kubernetes import client

from slogate.api.base import WorkloadKind
from slogate.domain.templates import template_hash
from slogate.reconcile.ports import Annotations, RollbackOutcome, RollbackRefusedError, WorkloadRef

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


ROLLBACK_ATTEMPTS = 3
"""Reads and patches a rollback tries while only the Deployment's status moves under it."""


def rollback_patch(
    deployment: dict[str, Any],
    previous: dict[str, Any],
    target_template: dict[str, Any],
    annotations: Annotations,
) -> list[dict[str, Any]]:
    """The JSON patch that puts ``previous``'s template back, as ``kubectl rollout undo`` does: its
    annotations come back too (but for the controller's own), then ``annotations``, and a pause is
    lifted. The resourceVersion test makes it fail rather than undo a write made since the read."""
    restored: Annotations = {
        **{
            key: value
            for key, value in (previous["metadata"].get("annotations") or {}).items()
            if key not in ROLLBACK_SKIPPED_ANNOTATIONS
        },
        **annotations,
    }
    current_annotations = dict(deployment["metadata"].get("annotations") or {})
    for key, value in restored.items():
        if value is None:
            current_annotations.pop(key, None)
        else:
            current_annotations[key] = value
    patch: list[dict[str, Any]] = [
        {
            "op": "test",
            "path": "/metadata/resourceVersion",
            "value": deployment["metadata"]["resourceVersion"],
        },
        {"op": "replace", "path": "/spec/template", "value": target_template},
        {"op": "replace", "path": "/metadata/annotations", "value": current_annotations},
    ]
    if deployment["spec"].get("paused"):
        patch.append({"op": "remove", "path": "/spec/paused"})
    return patch


class KubernetesWorkloads:
    """Deployment and Rollout writes through one API client, as ``field_manager``."""

    def __init__(self, api: client.ApiClient, field_manager: str) -> None:
        self._apps = client.AppsV1Api(api)
        self._custom = client.CustomObjectsApi(api)
        self._field_manager = field_manager

    def read(self, ref: WorkloadRef) -> dict[str, Any]:
        """The object exactly as the API server stores it (raw JSON, no client model in between)."""
        response: Any
        if ref.kind is WorkloadKind.DEPLOYMENT:
            response = self._apps.read_namespaced_deployment(ref.name, ref.namespace, _preload_content=False)
        else:
            response = self._custom.get_namespaced_custom_object(
                ROLLOUT_GROUP,
                ROLLOUT_VERSION,
                ref.namespace,
                ROLLOUT_PLURAL,
                ref.name,
                _preload_content=False,
            )
        return raw_json(response)

    def set_paused(self, ref: WorkloadRef, paused: bool, annotations: Annotations) -> str:
        """Pause or unpause, writing the marker annotations in the same patch.

        Unpausing removes ``spec.paused`` rather than writing ``false``: both mean
        "not paused" to the controllers, and an absent field is one a GitOps tool
        that never set it does not see as drift.
        """
        spec = {"paused": True if paused else None}
        return self._merge_patch(ref, {"metadata": {"annotations": annotations}, "spec": spec})

    def annotate(self, ref: WorkloadRef, annotations: Annotations) -> str:
        """Write (or, with None, remove) marker annotations only."""
        return self._merge_patch(ref, {"metadata": {"annotations": annotations}})

    def abort_rollout(self, ref: WorkloadRef, annotations: Annotations) -> str:
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
        return self.annotate(ref, annotations)

    def roll_back_deployment(
        self, ref: WorkloadRef, annotations: Annotations, lift_own_hold: bool, record_target_as: str
    ) -> RollbackOutcome:
        """Restore the previous revision's pod template, as ``kubectl rollout undo`` does.

        A paused Deployment is refused, as kubectl refuses it, unless the pause is slogate's own
        (``lift_own_hold``): then the pause is lifted in the same write. The target template's
        hash is written to the ``record_target_as`` annotation in that write too, so a restarted
        operator knows this rollback is done.
        """
        if ref.kind is not WorkloadKind.DEPLOYMENT:
            raise ValueError(f"only a Deployment is rolled back by template, not {ref}")
        deployment = self.read(ref)
        for _ in range(ROLLBACK_ATTEMPTS - 1):
            try:
                return self._roll_back(ref, deployment, annotations, lift_own_hold, record_target_as)
            except client.ApiException as error:
                # The resourceVersion test failed (422). When only the status moved since the read
                # (the Deployment controller writes it all the time), the rollback decided on that
                # read still stands: read again and retry. A new generation is someone's change to
                # the Deployment, which must not be undone: that, or another error, is raised.
                fresh = self.read(ref) if error.status == 422 else None
                if fresh is None or fresh["metadata"]["generation"] != deployment["metadata"]["generation"]:
                    raise
                deployment = fresh
        return self._roll_back(ref, deployment, annotations, lift_own_hold, record_target_as)

    def _roll_back(
        self,
        ref: WorkloadRef,
        deployment: dict[str, Any],
        annotations: Annotations,
        lift_own_hold: bool,
        record_target_as: str,
    ) -> RollbackOutcome:
        paused = bool(deployment["spec"].get("paused"))
        if paused and not lift_own_hold:
            raise RollbackRefusedError(f"cannot roll back {ref}: it is paused; resume it first")
        current, previous = self._current_and_previous_replicasets(deployment)
        from_revision = revision_of(current) if current else 0
        to_revision = revision_of(previous)
        target_template = template_without_hash(previous["spec"]["template"])
        target_hash = template_hash(target_template)
        if template_without_hash(deployment["spec"]["template"]) == target_template:
            return RollbackOutcome(
                from_revision,
                to_revision,
                target_hash,
                deployment["metadata"]["resourceVersion"],
                skipped=True,
            )
        patched = self._apps.patch_namespaced_deployment(
            ref.name,
            ref.namespace,
            rollback_patch(
                deployment, previous, target_template, {**annotations, record_target_as: target_hash}
            ),
            field_manager=self._field_manager,
            _content_type="application/json-patch+json",
            _preload_content=False,
        )
        resource_version = raw_json(patched)["metadata"]["resourceVersion"]
        return RollbackOutcome(from_revision, to_revision, target_hash, resource_version, skipped=False)

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
            deployment["metadata"]["namespace"], label_selector=selector, _preload_content=False
        )
        uid = deployment["metadata"]["uid"]
        replicasets: list[dict[str, Any]] = raw_json(listed)["items"]
        return [
            rs
            for rs in replicasets
            if any(
                owner.get("uid") == uid and owner.get("controller")
                for owner in rs["metadata"].get("ownerReferences") or []
            )
        ]

    def _merge_patch(self, ref: WorkloadRef, patch: dict[str, Any]) -> str:
        """Apply a merge patch; the resourceVersion it produced."""
        response: Any
        if ref.kind is WorkloadKind.DEPLOYMENT:
            response = self._apps.patch_namespaced_deployment(
                ref.name,
                ref.namespace,
                patch,
                field_manager=self._field_manager,
                _content_type="application/merge-patch+json",
                _preload_content=False,
            )
        else:
            response = self._custom.patch_namespaced_custom_object(
                ROLLOUT_GROUP,
                ROLLOUT_VERSION,
                ref.namespace,
                ROLLOUT_PLURAL,
                ref.name,
                patch,
                field_manager=self._field_manager,
                _content_type="application/merge-patch+json",
                _preload_content=False,
            )
        return str(raw_json(response)["metadata"]["resourceVersion"])


def revision_of(replicaset: dict[str, Any]) -> int:
    return int((replicaset["metadata"].get("annotations") or {}).get(REVISION_ANNOTATION, "0") or 0)


def template_without_hash(template: dict[str, Any]) -> dict[str, Any]:
    """A pod template with the ReplicaSet's ``pod-template-hash`` label removed, for comparison and reuse."""
    stripped = copy.deepcopy(template)
    labels = stripped.get("metadata", {}).get("labels")
    if labels:
        labels.pop(POD_TEMPLATE_HASH, None)
    return stripped


def raw_json(response: Any) -> dict[str, Any]:
    """The body of a ``_preload_content=False`` response."""
    body = json.loads(response.data)
    if not isinstance(body, dict):
        raise TypeError(f"expected a JSON object from the API server, got {type(body).__name__}")
    return body
