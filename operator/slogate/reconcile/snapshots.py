"""From what the World holds to what one decision needs: the inputs of ``domain.verdict.decide``.

SLOs enter as last measured (their status, written by the evaluation cycle); freezes are evaluated
at ``now`` from their calendar; incidents and gates enter as declared. Scope (which resources reach
the workload) is the World's answer; this module only converts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from slogate.api.base import WorkloadKind
from slogate.api.durations import parse_duration
from slogate.api.freeze import ChangeFreeze
from slogate.api.gate import NoDataPolicy, ReleaseGate
from slogate.api.incident import Incident
from slogate.api.slo import AlertSeverity, ServiceLevelObjective, SloState
from slogate.domain.budget import NoData
from slogate.domain.burnwindows import shortest_policy_window
from slogate.domain.calendar import FreezeState, freeze_state, schedule_from_spec
from slogate.domain.inputs import (
    DecisionInput,
    FreezeSnapshot,
    GateSnapshot,
    IncidentSnapshot,
    Measured,
    PageAlertSnapshot,
    ReleaseImpact,
    SloSnapshot,
)
from slogate.domain.scope import selector_matches
from slogate.reconcile.reach import InReach
from slogate.reconcile.world import Tracked, WorkloadState, World

CheckValues = Mapping[tuple[str, str], Mapping[str, Measured]]
"""Extra-check values of each gate, by (namespace, gate name), then check name."""

WorkloadKey = tuple[WorkloadKind, str, str]


@dataclass(frozen=True)
class CycleInputs:
    """What the last evaluation cycle measured besides SLO status, handed whole to every decision
    until the next cycle replaces it: one value, so no decision sees half of one cycle's inputs and
    half of another's."""

    check_values: CheckValues = field(default_factory=dict)
    prometheus_outage: bool = False
    """Prometheus could not be reached: every gate treats missing data by the operator's outage
    policy instead of its own onNoData."""
    release_impacts: Mapping[WorkloadKey, ReleaseImpact] = field(default_factory=dict)
    """Budget consumed by each workload's current release."""

    def without_release(self, key: WorkloadKey) -> CycleInputs:
        """The same inputs once ``key``'s template changed: its release is new, not yet measured."""
        if key not in self.release_impacts:
            return self
        impacts = {other: impact for other, impact in self.release_impacts.items() if other != key}
        return replace(self, release_impacts=impacts)


def slo_snapshot(tracked: Tracked[ServiceLevelObjective]) -> SloSnapshot | None:
    model = tracked.model
    if model is None:
        return None
    status = model.status
    burn_rates: dict[timedelta, float | None] = {}
    failed: set[timedelta] = set()
    if status is not None:
        for window in status.burn_rates:
            burn_rates[parse_duration(window.window)] = window.burn_rate
            if window.no_data_reason == NoData.QUERY_FAILED.value:
                failed.add(parse_duration(window.window))
    return SloSnapshot(
        name=tracked.name,
        objective=model.spec.objective,
        window=parse_duration(model.spec.window),
        state=(status.state if status is not None and status.state is not None else SloState.UNKNOWN),
        budget_remaining_percent=status.error_budget_remaining_percent if status is not None else None,
        shortest_policy_window=shortest_policy_window(model.spec),
        burn_rates=burn_rates,
        page_alerts=page_alerts(model),
        failed_windows=frozenset(failed),
    )


def page_alerts(model: ServiceLevelObjective) -> tuple[PageAlertSnapshot, ...]:
    """The SLO's page-severity policies as its status last reported them; a policy the status does
    not report yet (never evaluated) is not firing and has no data."""
    reported = {alert.name: alert for alert in model.status.alerts} if model.status is not None else {}
    found = []
    for policy in model.spec.effective_policies():
        if policy.severity is not AlertSeverity.PAGE:
            continue
        alert = reported.get(policy.name)
        found.append(
            PageAlertSnapshot(
                name=policy.name,
                burn_rate=policy.burn_rate,
                long_window=parse_duration(policy.long_window),
                short_window=parse_duration(policy.short_window),
                firing=alert is not None and alert.firing,
                long_window_burn_rate=alert.long_window_burn_rate if alert is not None else None,
                short_window_burn_rate=alert.short_window_burn_rate if alert is not None else None,
            )
        )
    return tuple(found)


def freeze_state_at(tracked: Tracked[ChangeFreeze], now: datetime) -> FreezeState | None:
    model = tracked.model
    if model is None:
        return None
    created_at = tracked.created_at or now
    return freeze_state(schedule_from_spec(model.spec, created_at), now)


def freeze_snapshot(
    tracked: Tracked[ChangeFreeze], workload_labels: Mapping[str, str], now: datetime
) -> FreezeSnapshot | None:
    """The freeze as it applies to one workload; None when the workload is exempt by label."""
    model = tracked.model
    state = freeze_state_at(tracked, now)
    if model is None or state is None:
        return None
    exempt = model.spec.exemptions.selector
    if exempt is not None and selector_matches(exempt, workload_labels):
        return None
    return FreezeSnapshot(
        name=tracked.name,
        reason=model.spec.reason,
        state=state,
        exempt_change_types=frozenset(model.spec.exemptions.change_types),
    )


def incident_snapshot(tracked: Tracked[Incident]) -> IncidentSnapshot | None:
    model = tracked.model
    if model is None:
        return None
    return IncidentSnapshot(
        name=tracked.name,
        title=model.spec.title,
        severity=model.spec.severity,
        state=model.spec.state,
        holds_promotions=model.spec.holds_promotions,
    )


def gate_snapshot(
    tracked: Tracked[ReleaseGate], check_values: CheckValues, no_data_policy: NoDataPolicy | None = None
) -> GateSnapshot | None:
    """The gate as it decides now; ``no_data_policy`` stands in for its onNoData (Prometheus
    outage)."""
    model = tracked.model
    if model is None:
        return None
    return GateSnapshot(
        name=tracked.name,
        spec=model.spec,
        check_values=check_values.get((tracked.namespace, tracked.name), {}),
        outage_policy=no_data_policy,
    )


def decision_input(
    *,
    world: World,
    state: WorkloadState,
    reach: InReach,
    check_values: CheckValues,
    now: datetime,
    no_data_policy: NoDataPolicy | None = None,
    release: ReleaseImpact | None = None,
) -> DecisionInput:
    """Everything the decision for ``state`` at ``now`` depends on; ``reach`` holds the resources
    that reach it."""
    gates = (gate_snapshot(tracked, check_values, no_data_policy) for tracked in reach.gates)
    slos = (slo_snapshot(tracked) for tracked in reach.slos)
    freezes = (freeze_snapshot(tracked, state.labels, now) for tracked in reach.freezes)
    incidents = (incident_snapshot(tracked) for tracked in reach.incidents)
    return DecisionInput(
        workload=world.as_workload(state),
        now=now,
        gates=tuple(gate for gate in gates if gate is not None),
        slos=tuple(slo for slo in slos if slo is not None),
        freezes=tuple(freeze for freeze in freezes if freeze is not None),
        incidents=tuple(incident for incident in incidents if incident is not None),
        rollout_in_progress=state.rollout_in_progress,
        currently_held=state.held_by_slogate,
        change_type=state.change_type,
        release=release,
    )
