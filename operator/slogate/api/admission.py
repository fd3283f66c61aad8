"""The MutatingAdmissionPolicy that holds a deploy in the same write, and its binding.

CEL inside the API server: no webhook server, no certificate, no extra hop on the write path. Its
parameter is the namespace's HoldSet (``slogate.api.holdset``), which the operator keeps current;
a namespace without one is let through (``parameterNotFoundAction: Allow``). Each expression
mirrors ``slogate.domain.admission``, the function the fallback webhook runs; the unit tests and
the e2e tests hold both to the same cases. The manifests are generated (``make manifests``) into
``deploy/admission/`` and the chart, never written by hand.

The operator installs the same two objects itself where it may (``slogate run`` on a cluster
without the chart). What it installs carries Helm's ownership metadata for one release, so that
``helm install`` of that release afterwards adopts them instead of refusing to import them.
"""

from __future__ import annotations

from typing import Any

from slogate.api.base import API_VERSION
from slogate.api.holdset import HOLDSET_NAME, HoldSet
from slogate.api.wire import (
    CHANGE_TYPE_ANNOTATION,
    HELD_ANNOTATION,
    HELD_BY_ADMISSION,
    HELD_BY_ANNOTATION,
    HELD_SINCE_ANNOTATION,
    REASON_ANNOTATION,
    ROLLED_BACK_TO_ANNOTATION,
)

POLICY_NAME = "slogate-hold"
ADMISSION_API_VERSION = "admissionregistration.k8s.io/v1"
POLICY_PLURAL = "mutatingadmissionpolicies"
LABELS = {"app.kubernetes.io/name": "slogate", "app.kubernetes.io/part-of": "slogate"}

HELM_MANAGED_BY = ("app.kubernetes.io/managed-by", "Helm")
HELM_RELEASE_NAME_ANNOTATION = "meta.helm.sh/release-name"
HELM_RELEASE_NAMESPACE_ANNOTATION = "meta.helm.sh/release-namespace"


def adoptable_by_helm(manifest: dict[str, Any], namespace: str, release: str) -> dict[str, Any]:
    """``manifest`` with the label and annotations by which Helm recognises an object as its
    release's: ``helm install RELEASE -n NAMESPACE`` then takes it over (Helm's ownership check
    refuses any existing object without them)."""
    metadata = manifest["metadata"]
    return {
        **manifest,
        "metadata": {
            **metadata,
            "labels": {**metadata.get("labels", {}), HELM_MANAGED_BY[0]: HELM_MANAGED_BY[1]},
            "annotations": {
                **metadata.get("annotations", {}),
                HELM_RELEASE_NAME_ANNOTATION: release,
                HELM_RELEASE_NAMESPACE_ANNOTATION: namespace,
            },
        },
    }


def _selector_matches(selector: str, labels: str) -> str:
    """CEL for Kubernetes label-selector semantics (``slogate.domain.scope.selector_matches``)."""
    value = f"{labels}[e.key]"
    values = "e.?values.orValue([])"
    return (
        f"{selector}.?matchLabels.orValue({{}})"
        f".all(k, k in {labels} && {labels}[k] == {selector}.matchLabels[k])"
        f" && {selector}.?matchExpressions.orValue([]).all(e,"
        f" e.operator == 'In' ? (e.key in {labels} && {value} in {values}) :"
        f" e.operator == 'NotIn' ? !(e.key in {labels} && {value} in {values}) :"
        f" e.operator == 'Exists' ? e.key in {labels} : !(e.key in {labels}))"
    )


def _annotation(body: str, key: str) -> str:
    return f"{body}.metadata.?annotations[?'{key}'].orValue('')"


CONDITIONS = {
    "isDeploy": "request.operation == 'CREATE' || object.spec.template != oldObject.spec.template",
    "isSlogateRollback": (
        f"request.operation == 'UPDATE' && {_annotation('object', ROLLED_BACK_TO_ANNOTATION)} != ''"
        f" && {_annotation('object', ROLLED_BACK_TO_ANNOTATION)}"
        f" != {_annotation('oldObject', ROLLED_BACK_TO_ANNOTATION)}"
    ),
    "liftsHold": (
        "request.operation == 'UPDATE' && oldObject.spec.?paused.orValue(false)"
        f" && {_annotation('oldObject', HELD_ANNOTATION)} == 'true'"
        f" && {_annotation('object', HELD_ANNOTATION)} == 'true'"
    ),
    "paused": "object.spec.?paused.orValue(false)",
}
"""Named like the functions of ``slogate.domain.admission`` they mirror."""

LABELS_EXPRESSION = "object.metadata.?labels.orValue({})"
CHANGE_TYPE_EXPRESSION = (
    f"object.spec.template.?metadata.?annotations[?'{CHANGE_TYPE_ANNOTATION}'].orValue('')"
)


def _holds(labels: str, change_type: str) -> str:
    """The holds that catch the workload (``slogate.domain.admission.matching_holds``)."""
    return (
        "params.spec.?holds.orValue([]).filter(h,"
        f" !({change_type} in h.?exemptChangeTypes.orValue([]))"
        f" && h.match.all(s, {_selector_matches('s', labels)})"
        f" && !h.?unless.orValue([]).exists(s, {_selector_matches('s', labels)}))"
    )


VARIABLES = {
    "labels": LABELS_EXPRESSION,
    "changeType": CHANGE_TYPE_EXPRESSION,
    "holds": _holds("variables.labels", "variables.changeType"),
}

MUTATION = (
    "Object{"
    " metadata: Object.metadata{ annotations: {"
    f" '{HELD_ANNOTATION}': 'true',"
    f" '{HELD_SINCE_ANNOTATION}': string(variables.holds[0].since),"
    f" '{HELD_BY_ANNOTATION}': '{HELD_BY_ADMISSION}',"
    f" '{REASON_ANNOTATION}': variables.holds.map(h, h.message).join('; ')"
    " } },"
    " spec: Object.spec{ paused: true }"
    " }"
)

MATCH_CONDITIONS = {
    "is-deploy-or-lifts-hold": f"({CONDITIONS['isDeploy']}) || ({CONDITIONS['liftsHold']})",
    "not-slogate-rollback": f"!({CONDITIONS['isSlogateRollback']})",
    "not-paused": f"!({CONDITIONS['paused']})",
    "held": f"size({_holds(LABELS_EXPRESSION, CHANGE_TYPE_EXPRESSION)}) > 0",
}
"""Match conditions cannot read variables, so they repeat the expressions. A write that no hold
catches stops here: the mutation (a server-side apply merge, the costly part) never runs for it."""


def mutating_admission_policy(failure_policy: str = "Ignore") -> dict[str, Any]:
    """The policy: pause a deploy that a hold of its namespace's HoldSet catches."""
    return {
        "apiVersion": ADMISSION_API_VERSION,
        "kind": "MutatingAdmissionPolicy",
        "metadata": {"name": POLICY_NAME, "labels": LABELS},
        "spec": {
            "paramKind": {"apiVersion": API_VERSION, "kind": HoldSet.names.kind},
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["apps"],
                        "apiVersions": ["v1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["deployments"],
                    },
                    {
                        "apiGroups": ["argoproj.io"],
                        "apiVersions": ["v1alpha1"],
                        "operations": ["CREATE", "UPDATE"],
                        "resources": ["rollouts"],
                    },
                ]
            },
            "variables": [{"name": name, "expression": expression} for name, expression in VARIABLES.items()],
            "matchConditions": [
                {"name": name, "expression": expression} for name, expression in MATCH_CONDITIONS.items()
            ],
            "mutations": [
                {"patchType": "ApplyConfiguration", "applyConfiguration": {"expression": MUTATION}}
            ],
            "failurePolicy": failure_policy,
            "reinvocationPolicy": "Never",
        },
    }


def mutating_admission_policy_binding() -> dict[str, Any]:
    """The binding: every namespace, each with its own HoldSet (none: nothing is held there)."""
    return {
        "apiVersion": ADMISSION_API_VERSION,
        "kind": "MutatingAdmissionPolicyBinding",
        "metadata": {"name": POLICY_NAME, "labels": LABELS},
        "spec": {
            "policyName": POLICY_NAME,
            "paramRef": {"name": HOLDSET_NAME, "parameterNotFoundAction": "Allow"},
        },
    }
