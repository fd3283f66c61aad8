"""From the World to the holds in force in a namespace, as data admission can evaluate.

Admission sees a workload that may not exist yet, so it cannot be given per-workload verdicts; it
is given rules instead: "a workload matching these selectors is held, because ...". The rules come
from the decision function itself. A verdict is the most severe of what each governing gate (or
the built-in policy) says, and each gate's blocking reasons come from one resource at a time (a
freeze, an incident, an SLO) or from the gate alone (its extra checks). So ``decide`` is run for
each gate with one resource at a time: when it says Hold, the rule is "matches the gate's selector
and the resource's selector". The change types that pass are found the same way, by deciding
again with each exempt change type declared. The built-in policy applies where no gate governs,
so its rules exclude every gate's selector.

Not expressible as rules, and left to the operator's own reconcile (the backstop): a workload's
``maxBudgetConsumedPerRelease`` (it depends on that workload's last release).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, get_args

from slogate.api.base import ChangeType, ExemptChangeType, LabelSelector, WorkloadKind
from slogate.api.gate import NoDataPolicy, ReleaseGate, ReleaseGateSpec, Verdict
from slogate.api.holdset import HeldSelector, HoldRule
from slogate.domain.inputs import DecisionInput, FreezeSnapshot, GateSnapshot, IncidentSnapshot, SloSnapshot
from slogate.domain.scope import Workload, governs, selectors_disjoint
from slogate.domain.verdict import DEFAULT_POLICY, Decision, decide
from slogate.reconcile.markers import described
from slogate.reconcile.snapshots import (
    CheckValues,
    freeze_state_at,
    gate_snapshot,
    incident_snapshot,
    slo_snapshot,
)
from slogate.reconcile.world import Tracked, World

EXEMPTIBLE = tuple(ChangeType(value) for value in get_args(ExemptChangeType))

Resource = FreezeSnapshot | IncidentSnapshot | SloSnapshot | None
"""One resource a gate is asked about; None asks about the gate's own extra checks."""


class _Candidate:
    """One resource in reach of a namespace, with the selector a workload must match to be reached
    and the selectors that exempt a workload from it."""

    def __init__(
        self,
        resource: Resource,
        selector: LabelSelector | None,
        since: datetime | None,
        unless: Iterable[LabelSelector] = (),
    ) -> None:
        self.resource = resource
        self.selector = selector
        self.since = since
        self.unless = tuple(unless)


def _in_namespace(world: World, tracked: Tracked[Any], namespace: str, scope: LabelSelector | None) -> bool:
    probe = Workload(
        kind=WorkloadKind.DEPLOYMENT,
        namespace=namespace,
        name="",
        namespace_labels=world.namespace_labels.get(namespace, {}),
    )
    return governs(tracked.namespace, None, scope, probe, world.platform_namespace)


def _candidates(world: World, namespace: str, now: datetime) -> list[_Candidate]:
    found: list[_Candidate] = []
    for freeze in world.freezes.valid():
        spec = freeze.model.spec if freeze.model else None
        state = freeze_state_at(freeze, now)
        if spec is None or state is None or not state.active or state.current is None:
            continue
        if not _in_namespace(world, freeze, namespace, spec.namespace_selector):
            continue
        snapshot = FreezeSnapshot(
            name=freeze.name,
            reason=spec.reason,
            state=state,
            exempt_change_types=frozenset(spec.exemptions.change_types),
        )
        exempt = [spec.exemptions.selector] if spec.exemptions.selector is not None else []
        found.append(_Candidate(snapshot, spec.selector, state.current.start, exempt))
    for incident in world.incidents.valid():
        declared = incident.model.spec if incident.model else None
        reported = incident_snapshot(incident)
        if declared is None or reported is None or not declared.state.is_open:
            continue
        if not _in_namespace(world, incident, namespace, declared.namespace_selector):
            continue
        found.append(
            _Candidate(reported, declared.affected_selector, declared.started_at or incident.created_at)
        )
    for slo in world.slos.valid():
        slo_state = slo_snapshot(slo)
        if slo.namespace == namespace and slo.model is not None and slo_state is not None:
            found.append(_Candidate(slo_state, slo.model.spec.selector, None))
    return found


def _without_checks(gate: GateSnapshot) -> GateSnapshot:
    """The gate as asked about one resource: its own extra checks are asked about once, alone."""
    return GateSnapshot(
        name=gate.name, spec=gate.spec.model_copy(update={"checks": None}), outage_policy=gate.outage_policy
    )


def _decide(
    gate: GateSnapshot, resource: Resource, namespace: str, now: datetime, change: ChangeType | None
) -> Decision:
    """The gate's decision about one resource alone (``gate`` as ``_without_checks`` gives it, when
    asked about a resource)."""
    return decide(
        DecisionInput(
            workload=Workload(kind=WorkloadKind.DEPLOYMENT, namespace=namespace, name=""),
            now=now,
            gates=(gate,),
            slos=(resource,) if isinstance(resource, SloSnapshot) else (),
            freezes=(resource,) if isinstance(resource, FreezeSnapshot) else (),
            incidents=(resource,) if isinstance(resource, IncidentSnapshot) else (),
            change_type=change,
        )
    )


def _rule(
    gate: GateSnapshot,
    *,
    gate_selectors: list[LabelSelector],
    unless: list[LabelSelector],
    candidate: _Candidate,
    namespace: str,
    now: datetime,
    previous: Mapping[tuple[str, str | None], datetime],
) -> HoldRule | None:
    decision = _decide(gate, candidate.resource, namespace, now, None)
    if decision.enforced_action is not Verdict.HOLD:
        return None
    blocking = decision.blocking_reasons
    source = blocking[0].source or "check"
    gate_name = gate.name
    exempt: list[ExemptChangeType] = [
        change.value  # type: ignore[misc]
        for change in EXEMPTIBLE
        if _decide(gate, candidate.resource, namespace, now, change).enforced_action is not Verdict.HOLD
    ]
    match = [*gate_selectors, *([candidate.selector] if candidate.selector is not None else [])]
    return HoldRule(
        source=source,
        gate=gate_name,
        message="; ".join(described(reason) for reason in blocking)[:1024],
        since=candidate.since or previous.get((source, gate_name), now),
        clears_at=decision.expected_clear_at,
        match=[HeldSelector.of(selector) for selector in match],
        unless=[HeldSelector.of(selector) for selector in [*unless, *candidate.unless]],
        exempt_change_types=exempt,
    )


def _governing(
    gates: list[Tracked[ReleaseGate]],
    check_values: CheckValues,
    no_data_policy: NoDataPolicy | None,
    now: datetime,
) -> Iterable[tuple[GateSnapshot, list[LabelSelector], list[LabelSelector]]]:
    """Each enforcing gate of the namespace as the decision sees it (its break-glass override
    turned into an exempting selector), then the built-in policy for workloads no gate governs."""
    for tracked in gates:
        snapshot = gate_snapshot(tracked, check_values, no_data_policy)
        if snapshot is None or tracked.model is None:
            continue
        spec: ReleaseGateSpec = snapshot.spec
        override = spec.override
        in_force = override is not None and now < override.expires
        if in_force and override is not None and override.selector is None:
            continue
        unless = [override.selector] if in_force and override is not None and override.selector else []
        bare = GateSnapshot(
            name=snapshot.name,
            spec=spec.model_copy(update={"override": None}),
            check_values=snapshot.check_values,
            outage_policy=snapshot.outage_policy,
        )
        yield bare, [spec.selector], unless
    yield DEFAULT_POLICY, [], [tracked.model.spec.selector for tracked in gates if tracked.model is not None]


def hold_rules(
    world: World,
    namespace: str,
    *,
    now: datetime,
    check_values: CheckValues,
    no_data_policy: NoDataPolicy | None = None,
    previous: Iterable[HoldRule] = (),
) -> list[HoldRule]:
    """Every hold in force in ``namespace`` at ``now``, oldest first. ``previous`` (the rules last
    published) keeps the start of holds that have no start of their own (an SLO burning)."""
    started = {(rule.source, rule.gate): rule.since for rule in previous}
    gates = [tracked for tracked in world.gates.valid() if tracked.namespace == namespace]
    candidates = _candidates(world, namespace, now)
    rules: list[HoldRule] = []
    for gate, selectors, unless in _governing(gates, check_values, no_data_policy, now):
        asked = _without_checks(gate)
        for candidate in [*candidates, _Candidate(None, None, None)]:
            # A resource whose selector no workload of the gate can match makes a rule that holds
            # nothing: not asked at all (500 SLOs under 100 gates are 50,000 decisions otherwise).
            if candidate.selector is not None and selectors_disjoint(*selectors, candidate.selector):
                continue
            rule = _rule(
                gate if candidate.resource is None else asked,
                gate_selectors=selectors,
                unless=unless,
                candidate=candidate,
                namespace=namespace,
                now=now,
                previous=started,
            )
            if rule is not None:
                rules.append(rule)
    return sorted(rules, key=lambda rule: (rule.since, rule.source, rule.gate or ""))
