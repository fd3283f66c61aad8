"""Which slogate resources reach which workloads, for a whole evaluation cycle at once.

Asking every workload about every selector costs their product: 2,000 workloads and 600 gates and
SLOs are 1.2 million selector evaluations per cycle. A label index (namespace, key, value) turns a
``matchLabels`` selector into the few workloads that carry its labels, so a cycle costs the matches
instead. The answer is the same as ``domain.scope.governs`` for every pair, which stays the single
definition of who governs whom; the index only skips pairs that cannot match.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from slogate.api.base import LabelSelector, WorkloadKind
from slogate.api.freeze import ChangeFreeze
from slogate.api.gate import ReleaseGate
from slogate.api.incident import Incident
from slogate.api.slo import ServiceLevelObjective
from slogate.domain.scope import governs, selector_matches
from slogate.reconcile.world import ObjectKey, Tracked, WorkloadState, World

WorkloadKey = tuple[WorkloadKind, str, str]


@dataclass
class InReach:
    """The resources that reach one workload."""

    gates: list[Tracked[ReleaseGate]] = field(default_factory=list)
    slos: list[Tracked[ServiceLevelObjective]] = field(default_factory=list)
    freezes: list[Tracked[ChangeFreeze]] = field(default_factory=list)
    incidents: list[Tracked[Incident]] = field(default_factory=list)


class LabelIndex:
    """Workloads by namespace and by (namespace, label key, label value)."""

    def __init__(self, workloads: Iterable[WorkloadState]) -> None:
        self._by_namespace: dict[str, list[WorkloadState]] = defaultdict(list)
        self._by_label: dict[tuple[str, str, str], list[WorkloadState]] = defaultdict(list)
        for state in workloads:
            self._by_namespace[state.namespace].append(state)
            for key, value in state.labels.items():
                self._by_label[(state.namespace, key, value)].append(state)

    @property
    def namespaces(self) -> Iterable[str]:
        return self._by_namespace.keys()

    def candidates(self, namespace: str, selector: LabelSelector | None) -> list[WorkloadState]:
        """A superset of the workloads in ``namespace`` that ``selector`` can match."""
        required = (selector.match_labels or {}) if selector is not None else {}
        if not required:
            return self._by_namespace.get(namespace, [])
        return min(
            (self._by_label.get((namespace, key, value), []) for key, value in required.items()),
            key=len,
        )


@dataclass
class Reach:
    """Both directions of "reaches", computed once: per workload, and per resource."""

    of_workload: dict[WorkloadKey, InReach] = field(default_factory=dict)
    of_resource: dict[tuple[str, ObjectKey], list[WorkloadState]] = field(default_factory=dict)

    def for_workload(self, key: WorkloadKey) -> InReach:
        return self.of_workload.get(key) or InReach()

    def selected_by(self, kind: str, tracked: Tracked[Any]) -> list[WorkloadState]:
        return self.of_resource.get((kind, ObjectKey(tracked.namespace, tracked.name)), [])


def _namespaces_in_scope(
    world: World, index: LabelIndex, tracked: Tracked[Any], namespace_selector: LabelSelector | None
) -> list[str]:
    if namespace_selector is None or tracked.namespace != world.platform_namespace:
        return [tracked.namespace]
    others = [
        namespace
        for namespace in index.namespaces
        if namespace != tracked.namespace
        and selector_matches(namespace_selector, world.namespace_labels.get(namespace, {}))
    ]
    return [tracked.namespace, *others]


def _reached(
    world: World,
    index: LabelIndex,
    tracked: Tracked[Any],
    selector: LabelSelector | None,
    namespace_selector: LabelSelector | None,
) -> list[WorkloadState]:
    reached = [
        state
        for namespace in _namespaces_in_scope(world, index, tracked, namespace_selector)
        for state in index.candidates(namespace, selector)
        if governs(
            tracked.namespace,
            selector,
            namespace_selector,
            world.as_workload(state),
            world.platform_namespace,
        )
    ]
    return sorted(reached, key=lambda state: state.key)


def compute_reach(world: World) -> Reach:
    index = LabelIndex(world.workloads.values())
    reach = Reach()

    def record(kind: str, tracked: Tracked[Any], states: list[WorkloadState], field_name: str) -> None:
        reach.of_resource[(kind, ObjectKey(tracked.namespace, tracked.name))] = states
        for state in states:
            getattr(reach.of_workload.setdefault(state.key, InReach()), field_name).append(tracked)

    for gate in world.gates.valid():
        if gate.model is not None:
            record("gate", gate, _reached(world, index, gate, gate.model.spec.selector, None), "gates")
    for slo in world.slos.valid():
        if slo.model is not None:
            record("slo", slo, _reached(world, index, slo, slo.model.spec.selector, None), "slos")
    for freeze in world.freezes.valid():
        if freeze.model is not None:
            spec = freeze.model.spec
            record(
                "freeze",
                freeze,
                _reached(world, index, freeze, spec.selector, spec.namespace_selector),
                "freezes",
            )
    for incident in world.incidents.valid():
        if incident.model is not None:
            declared = incident.model.spec
            reached = _reached(
                world, index, incident, declared.affected_selector, declared.namespace_selector
            )
            record("incident", incident, reached, "incidents")
    return reach


def reach_of_one(world: World, state: WorkloadState) -> InReach:
    """The resources reaching a single workload, for a reconcile outside the cycle."""
    workload = world.as_workload(state)
    return InReach(
        gates=world.gates_for(workload),
        slos=world.slos_for(workload),
        freezes=world.freezes_for(workload),
        incidents=world.incidents_for(workload),
    )
