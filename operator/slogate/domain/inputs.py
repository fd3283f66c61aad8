"""The inputs of a release decision: plain snapshots the reconciler builds from cluster state.

Everything is already resolved to values (measured burn rates, a freeze's state at ``now``, an
incident's severity), so the decision needs no I/O and the same snapshots always give the same
verdict. Scope is resolved before: only gates, SLOs, freezes and incidents that reach the workload
(``slogate.domain.scope``) are passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slogate.api.base import ChangeType
from slogate.api.gate import NoDataPolicy, ReleaseGateSpec
from slogate.api.incident import IncidentState, Severity
from slogate.api.slo import SloState
from slogate.domain.calendar import FreezeState
from slogate.domain.scope import Workload


@dataclass(frozen=True)
class Refused:
    """A value Prometheus refused to measure (a PromQL error, a sample or time limit): not measured at
    all, unlike a query that ran and found no data, so a check never takes it for a quiet service."""

    error: str


Measured = float | Refused | None
"""A query's answer as a check reads it: a number, refused, or no data (None)."""


@dataclass(frozen=True)
class PageAlertSnapshot:
    """A page-severity burn-rate policy of the SLO, as last evaluated."""

    name: str
    burn_rate: float
    long_window: timedelta
    short_window: timedelta
    firing: bool
    long_window_burn_rate: float | None = None
    short_window_burn_rate: float | None = None


@dataclass(frozen=True)
class SloSnapshot:
    """An SLO protecting the workload, as last measured. None values mean no data."""

    name: str
    objective: float
    window: timedelta
    state: SloState
    budget_remaining_percent: float | None
    shortest_policy_window: timedelta
    """The shortest short window of its policies: a gate's default burn-rate window."""
    burn_rates: Mapping[timedelta, float | None] = field(default_factory=dict)
    page_alerts: tuple[PageAlertSnapshot, ...] = ()
    failed_windows: frozenset[timedelta] = frozenset()
    """Windows whose queries Prometheus refused: not measured at all, unlike a window without data."""


@dataclass(frozen=True)
class ReleaseImpact:
    """Error budget consumed by one release, per SLO name (percent of that SLO's budget).

    During a rollout it is the release in progress; otherwise the last completed release."""

    started_at: datetime
    budget_consumed_percent: Mapping[str, Measured]


@dataclass(frozen=True)
class FreezeSnapshot:
    """A ChangeFreeze that reaches the workload, evaluated at ``now``."""

    name: str
    reason: str
    state: FreezeState
    exempt_change_types: frozenset[str] = frozenset({ChangeType.EMERGENCY.value})


@dataclass(frozen=True)
class IncidentSnapshot:
    """An Incident that affects the workload."""

    name: str
    title: str
    severity: Severity
    state: IncidentState
    holds_promotions: bool | None = None


@dataclass(frozen=True)
class GateSnapshot:
    """A ReleaseGate that governs the workload, with its extra checks' current values by name.

    ``name`` None stands for the built-in policy applied when no gate governs a workload."""

    name: str | None
    spec: ReleaseGateSpec
    check_values: Mapping[str, Measured] = field(default_factory=dict)
    outage_policy: NoDataPolicy | None = None
    """While Prometheus cannot be reached: the operator's --on-prometheus-unavailable, which then
    stands in for the gate's onNoData."""

    @property
    def no_data_policy(self) -> NoDataPolicy:
        return self.outage_policy if self.outage_policy is not None else self.spec.on_no_data


@dataclass(frozen=True)
class DecisionInput:
    """Everything one decision for one workload at one moment depends on."""

    workload: Workload
    now: datetime
    gates: tuple[GateSnapshot, ...] = ()
    slos: tuple[SloSnapshot, ...] = ()
    freezes: tuple[FreezeSnapshot, ...] = ()
    incidents: tuple[IncidentSnapshot, ...] = ()
    rollout_in_progress: bool = False
    currently_held: bool = False
    change_type: ChangeType | None = None
    release: ReleaseImpact | None = None
