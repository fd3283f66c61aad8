"""Which workloads a resource governs: label selectors and the tenancy rule.

A resource governs workloads in its own namespace only. The single exception is the operator's
platform namespace: freezes and incidents there may reach other namespaces through a
``namespaceSelector``. Outside it a namespaceSelector is ignored, so no tenant can act on another
tenant's workloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from slogate.api.base import LabelSelector, SelectorOperator, WorkloadKind


@dataclass(frozen=True)
class Workload:
    """A Deployment or Rollout as the decision needs it."""

    kind: WorkloadKind
    namespace: str
    name: str
    labels: Mapping[str, str] = field(default_factory=dict)
    namespace_labels: Mapping[str, str] = field(default_factory=dict)


def selector_matches(selector: LabelSelector, labels: Mapping[str, str]) -> bool:
    """Kubernetes label-selector semantics; the empty selector matches everything."""
    for key, value in (selector.match_labels or {}).items():
        if labels.get(key) != value:
            return False
    for requirement in selector.match_expressions or ():
        present = requirement.key in labels
        key_value = labels.get(requirement.key)
        values = set(requirement.values or ())
        operator = requirement.operator
        if operator is SelectorOperator.IN and key_value not in values:
            return False
        if operator is SelectorOperator.NOT_IN and present and key_value in values:
            return False
        if operator is SelectorOperator.EXISTS and not present:
            return False
        if operator is SelectorOperator.DOES_NOT_EXIST and present:
            return False
    return True


def governs(
    resource_namespace: str,
    selector: LabelSelector | None,
    namespace_selector: LabelSelector | None,
    workload: Workload,
    platform_namespace: str | None,
) -> bool:
    """Whether a resource in ``resource_namespace`` reaches ``workload``. A missing selector selects
    every workload in scope."""
    if resource_namespace == workload.namespace:
        in_scope = True
    elif namespace_selector is not None and platform_namespace is not None:
        in_scope = resource_namespace == platform_namespace and selector_matches(
            namespace_selector, workload.namespace_labels
        )
    else:
        in_scope = False
    return in_scope and (selector is None or selector_matches(selector, workload.labels))
