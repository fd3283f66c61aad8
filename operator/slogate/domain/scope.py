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


def selectors_disjoint(*selectors: LabelSelector) -> bool:
    """Whether no set of labels matches every one of ``selectors``. Each requirement constrains one
    key, and label values are free strings, so the selectors overlap exactly when every key's
    constraints can be met together: this is exact, not an approximation."""
    allowed: dict[str, set[str]] = {}
    forbidden: dict[str, set[str]] = {}
    present: set[str] = set()
    absent: set[str] = set()

    def allow(key: str, values: set[str]) -> None:
        allowed[key] = allowed[key] & values if key in allowed else set(values)
        present.add(key)

    for selector in selectors:
        for key, value in (selector.match_labels or {}).items():
            allow(key, {value})
        for requirement in selector.match_expressions or ():
            values = set(requirement.values or ())
            if requirement.operator is SelectorOperator.IN:
                allow(requirement.key, values)
            elif requirement.operator is SelectorOperator.NOT_IN:
                forbidden.setdefault(requirement.key, set()).update(values)
            elif requirement.operator is SelectorOperator.EXISTS:
                present.add(requirement.key)
            else:
                absent.add(requirement.key)
    if present & absent:
        return True
    return any(not values - forbidden.get(key, set()) for key, values in allowed.items())


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
