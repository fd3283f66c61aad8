"""The individual rules of a ReleaseGate, each turning snapshots into explained reasons.

Every rule reports what it saw (``observed``), what it compared with (``limit``), whether it passed,
whether a failure is waived (an exempt change type, a break-glass override) and when it is expected
to clear. Which failures may trigger a rollback is decided here too: only measured health (burn rate,
the release's own budget, extra checks) ever does; freezes, incidents, a low budget left and missing
data only hold, because a rollback is itself a change.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from slogate.api.base import ChangeType
from slogate.api.durations import format_duration
from slogate.api.gate import CheckKind, Comparison, Mode, NoDataPolicy
from slogate.domain.burnwindows import burn_rate_windows
from slogate.domain.inputs import (
    DecisionInput,
    FreezeSnapshot,
    GateSnapshot,
    IncidentSnapshot,
    PageAlertSnapshot,
    Refused,
    SloSnapshot,
)
from slogate.domain.scope import selector_matches


@dataclass(frozen=True)
class Reason:
    """One rule's finding for one workload."""

    check: CheckKind
    gate: str | None
    source: str | None
    passed: bool
    message: str
    observed: str | None = None
    limit: str | None = None
    waived: bool = False
    enforced: bool = True
    clears_at: datetime | None = None
    rollback_eligible: bool = False

    @property
    def blocking(self) -> bool:
        """Failed and not waived: this reason stops the promotion."""
        return not self.passed and not self.waived


def _number(value: float) -> str:
    return f"{value:.4g}"


def _percent(value: float) -> str:
    return f"{value:.4g}%"


def _slo_source(slo: SloSnapshot) -> str:
    return f"ServiceLevelObjective/{slo.name}"


def _health_waiver(gate: GateSnapshot, change_type: ChangeType | None) -> bool:
    return change_type is not None and change_type.value in gate.spec.exemptions.change_types


def _no_data(gate: GateSnapshot, check: CheckKind, source: str, what: str, limit: str) -> Reason:
    policy = gate.no_data_policy
    rule = (
        f"Prometheus is unavailable and --on-prometheus-unavailable is {policy.value}"
        if gate.outage_policy is not None
        else f"onNoData is {policy.value}"
    )
    return Reason(
        check=check,
        gate=gate.name,
        source=source,
        passed=policy is not NoDataPolicy.HOLD,
        message=f"{what}: no data; {rule}",
        observed="no data",
        limit=limit,
    )


def _query_failed(
    gate: GateSnapshot,
    check: CheckKind,
    source: str,
    what: str,
    limit: str,
    *,
    error: str = "see the SLO's Ready condition",
) -> Reason:
    """A value Prometheus refused to measure: never taken for a quiet service."""
    policy = gate.spec.on_query_failed
    return Reason(
        check=check,
        gate=gate.name,
        source=source,
        passed=policy is not NoDataPolicy.HOLD,
        message=f"{what}: Prometheus refused the query ({error}); onQueryFailed is {policy.value}",
        observed="query failed",
        limit=limit,
    )


def _burn_rate_reason(gate: GateSnapshot, slo: SloSnapshot, limit: float) -> Reason:
    windows = burn_rate_windows(gate.spec, slo.shortest_policy_window).distinct()
    over = " and ".join(f"over {format_duration(window)}" for window in windows)
    source = _slo_source(slo)
    if any(window in slo.failed_windows for window in windows):
        return _query_failed(gate, CheckKind.BURN_RATE, source, f"burn rate {over}", _number(limit))
    burns = [slo.burn_rates.get(window) for window in windows]
    finite = [burn for burn in burns if burn is not None and math.isfinite(burn)]
    if len(finite) < len(windows):
        return _no_data(gate, CheckKind.BURN_RATE, source, f"burn rate {over}", _number(limit))
    # Held only while every window is over the limit: significant (long) and still happening (short).
    passed = not all(burn > limit for burn in finite)
    if len(windows) == 1:
        measured = f"over {format_duration(windows[0])} is {_number(finite[0])}"
        verdict = f"{'within' if passed else 'above'} maxBurnRate {_number(limit)}"
    else:
        measured = " and ".join(
            f"{_number(burn)} over {format_duration(window)}"
            for burn, window in zip(finite, windows, strict=True)
        )
        verdict = (
            f"within maxBurnRate {_number(limit)} (held only while both are above)"
            if passed
            else f"above maxBurnRate {_number(limit)} over both"
        )
    return Reason(
        check=CheckKind.BURN_RATE,
        gate=gate.name,
        source=source,
        passed=passed,
        message=f"burn rate {measured}, {verdict}",
        observed=" / ".join(_number(burn) for burn in finite),
        limit=_number(limit),
        rollback_eligible=True,
    )


def burn_rate_checks(gate: GateSnapshot, inputs: DecisionInput) -> list[Reason]:
    limit = gate.spec.max_burn_rate
    if limit is None:
        return []
    return [_burn_rate_reason(gate, slo, limit) for slo in sorted(inputs.slos, key=lambda slo: slo.name)]


def _page_alert_reason(gate: GateSnapshot, slo: SloSnapshot, alert: PageAlertSnapshot) -> Reason:
    limit = f">= {_number(alert.burn_rate)}"
    what = f"page alert {alert.name}"
    source = _slo_source(slo)
    if alert.long_window in slo.failed_windows or alert.short_window in slo.failed_windows:
        return _query_failed(gate, CheckKind.PAGE_ALERT, source, what, limit)
    burns = (alert.long_window_burn_rate, alert.short_window_burn_rate)
    if any(burn is None or not math.isfinite(burn) for burn in burns):
        return _no_data(gate, CheckKind.PAGE_ALERT, source, what, limit)
    measured = (
        f"burn rate {_number(alert.long_window_burn_rate or 0)} over {format_duration(alert.long_window)} "
        f"and {_number(alert.short_window_burn_rate or 0)} over {format_duration(alert.short_window)}"
    )
    return Reason(
        check=CheckKind.PAGE_ALERT,
        gate=gate.name,
        source=source,
        passed=not alert.firing,
        message=f"{what} {'firing' if alert.firing else 'not firing'}: {measured} "
        f"(fires at {_number(alert.burn_rate)} over both)",
        observed="firing" if alert.firing else "not firing",
        limit=limit,
        rollback_eligible=True,
    )


def page_alert_checks(gate: GateSnapshot, inputs: DecisionInput) -> list[Reason]:
    if not gate.spec.require_no_page_alert:
        return []
    return [
        _page_alert_reason(gate, slo, alert)
        for slo in sorted(inputs.slos, key=lambda slo: slo.name)
        for alert in slo.page_alerts
    ]


def budget_remaining_checks(gate: GateSnapshot, inputs: DecisionInput) -> list[Reason]:
    limit = gate.spec.min_budget_remaining
    if limit is None:
        return []
    reasons = []
    for slo in sorted(inputs.slos, key=lambda slo: slo.name):
        remaining = slo.budget_remaining_percent
        if slo.window in slo.failed_windows:
            reasons.append(
                _query_failed(
                    gate, CheckKind.BUDGET_REMAINING, _slo_source(slo), "error budget left", _percent(limit)
                )
            )
            continue
        if remaining is None or not math.isfinite(remaining):
            reasons.append(
                _no_data(
                    gate, CheckKind.BUDGET_REMAINING, _slo_source(slo), "error budget left", _percent(limit)
                )
            )
            continue
        passed = remaining >= limit
        reasons.append(
            Reason(
                check=CheckKind.BUDGET_REMAINING,
                gate=gate.name,
                source=_slo_source(slo),
                passed=passed,
                message=f"{_percent(remaining)} of the error budget left, "
                f"{'at or above' if passed else 'below'} minBudgetRemaining {_percent(limit)}",
                observed=_percent(remaining),
                limit=_percent(limit),
            )
        )
    return reasons


def release_budget_checks(gate: GateSnapshot, inputs: DecisionInput) -> list[Reason]:
    limit = gate.spec.max_budget_consumed_per_release
    release = inputs.release
    if limit is None or release is None:
        return []
    which = "the release in progress" if inputs.rollout_in_progress else "the last release"
    reasons = []
    for slo in sorted(inputs.slos, key=lambda slo: slo.name):
        consumed = release.budget_consumed_percent.get(slo.name)
        if isinstance(consumed, Refused):
            reasons.append(
                _query_failed(
                    gate,
                    CheckKind.RELEASE_BUDGET,
                    _slo_source(slo),
                    f"budget consumed by {which}",
                    _percent(limit),
                    error=consumed.error,
                )
            )
            continue
        if consumed is None or not math.isfinite(consumed):
            reasons.append(
                _no_data(
                    gate,
                    CheckKind.RELEASE_BUDGET,
                    _slo_source(slo),
                    f"budget consumed by {which}",
                    _percent(limit),
                )
            )
            continue
        passed = consumed <= limit
        reasons.append(
            Reason(
                check=CheckKind.RELEASE_BUDGET,
                gate=gate.name,
                source=_slo_source(slo),
                passed=passed,
                message=f"{which} consumed {_percent(consumed)} of the error budget, "
                f"{'within' if passed else 'above'} maxBudgetConsumedPerRelease {_percent(limit)}",
                observed=_percent(consumed),
                limit=_percent(limit),
                # A finished release's burn stops counting once it leaves the SLO window.
                clears_at=None if inputs.rollout_in_progress else release.started_at + slo.window,
                rollback_eligible=inputs.rollout_in_progress,
            )
        )
    return reasons


_COMPARISONS: dict[Comparison, tuple[str, Callable[[float, float], bool]]] = {
    Comparison.LESS_THAN: ("<", lambda value, threshold: value < threshold),
    Comparison.LESS_THAN_OR_EQUAL: ("<=", lambda value, threshold: value <= threshold),
    Comparison.GREATER_THAN: (">", lambda value, threshold: value > threshold),
    Comparison.GREATER_THAN_OR_EQUAL: (">=", lambda value, threshold: value >= threshold),
}


def extra_checks(gate: GateSnapshot, inputs: DecisionInput) -> list[Reason]:
    reasons = []
    for check in sorted(gate.spec.checks or (), key=lambda check: check.name):
        symbol, compare = _COMPARISONS[check.comparison]
        limit = f"{symbol} {_number(check.threshold)}"
        value = gate.check_values.get(check.name)
        if isinstance(value, Refused):
            reasons.append(
                _query_failed(
                    gate, CheckKind.EXTRA_CHECK, f"check/{check.name}", check.name, limit, error=value.error
                )
            )
            continue
        if value is None or not math.isfinite(value):
            reasons.append(_no_data(gate, CheckKind.EXTRA_CHECK, f"check/{check.name}", check.name, limit))
            continue
        passed = compare(value, check.threshold)
        reasons.append(
            Reason(
                check=CheckKind.EXTRA_CHECK,
                gate=gate.name,
                source=f"check/{check.name}",
                passed=passed,
                message=f"{check.name} is {_number(value)}, {'meets' if passed else 'fails'} {limit}",
                observed=_number(value),
                limit=limit,
                rollback_eligible=True,
            )
        )
    return reasons


def _emergency_waived(gate: GateSnapshot, change_type: ChangeType | None) -> bool:
    return (
        change_type is ChangeType.EMERGENCY
        and ChangeType.EMERGENCY.value in gate.spec.exemptions.change_types
    )


def _freeze_reason(gate: GateSnapshot, freeze: FreezeSnapshot, change_type: ChangeType | None) -> Reason:
    state = freeze.state
    source = f"ChangeFreeze/{freeze.name}"
    if not state.active or state.current is None:
        upcoming = f"; next starts {state.next.start.isoformat()}" if state.next is not None else ""
        return Reason(
            check=CheckKind.FREEZE,
            gate=gate.name,
            source=source,
            passed=True,
            message=f"freeze not in force{upcoming}",
            observed="inactive",
        )
    waived_by = None
    if change_type is not None and change_type.value in freeze.exempt_change_types:
        waived_by = f"{change_type.value} changes are exempt from this freeze"
    elif _emergency_waived(gate, change_type):
        waived_by = "emergency changes are exempt under this gate"
    return Reason(
        check=CheckKind.FREEZE,
        gate=gate.name,
        source=source,
        passed=False,
        waived=waived_by is not None,
        message=f"change freeze in force until {state.current.end.isoformat()}: {freeze.reason}"
        + (f" (waived: {waived_by})" if waived_by else ""),
        observed="active",
        limit="no active freeze",
        clears_at=state.current.end,
    )


def freeze_checks(gate: GateSnapshot, inputs: DecisionInput) -> list[Reason]:
    if not gate.spec.require_no_active_freeze:
        return []
    ordered = sorted(inputs.freezes, key=lambda freeze: freeze.name)
    return [_freeze_reason(gate, freeze, inputs.change_type) for freeze in ordered]


def _incident_holds(gate: GateSnapshot, incident: IncidentSnapshot) -> bool:
    if not incident.state.is_open or incident.holds_promotions is False:
        return False
    return incident.holds_promotions is True or incident.severity.at_or_above(
        gate.spec.incident_severity_threshold
    )


def incident_checks(gate: GateSnapshot, inputs: DecisionInput) -> list[Reason]:
    reasons = []
    threshold = gate.spec.incident_severity_threshold.value
    for incident in sorted(inputs.incidents, key=lambda incident: incident.name):
        holds = _incident_holds(gate, incident)
        waived = holds and _emergency_waived(gate, inputs.change_type)
        if holds:
            message = f"{incident.severity.value} incident {incident.state.value}: {incident.title}"
        else:
            message = (
                f"{incident.severity.value} incident {incident.state.value} does not hold promotions "
                f"(threshold {threshold}, holdsPromotions {incident.holds_promotions})"
            )
        reasons.append(
            Reason(
                check=CheckKind.INCIDENT,
                gate=gate.name,
                source=f"Incident/{incident.name}",
                passed=not holds,
                waived=waived,
                message=message + (" (waived: emergency change)" if waived else ""),
                observed=f"{incident.severity.value} {incident.state.value}",
                limit=f"no open incident at or above {threshold}",
            )
        )
    return reasons


HEALTH_CHECKS = (
    burn_rate_checks,
    page_alert_checks,
    budget_remaining_checks,
    release_budget_checks,
    extra_checks,
)
"""Rules that measure service health; exempt change types (reliability, emergency) are waived."""

SAFETY_CHECKS = (freeze_checks, incident_checks)
"""Rules about organisational state; they carry their own waivers."""


def override_reason(gate: GateSnapshot, inputs: DecisionInput) -> Reason | None:
    """The gate's break-glass override as a reason (observed: who; limit: expiry), or None when the
    gate has none for this workload. It is in force while ``now`` is before its expiry."""
    override = gate.spec.override
    if override is None or (
        override.selector is not None and not selector_matches(override.selector, inputs.workload.labels)
    ):
        return None
    active = inputs.now < override.expires
    state = "in force" if active else "expired"
    return Reason(
        check=CheckKind.OVERRIDE,
        gate=gate.name,
        source=None,
        passed=True,
        message=f"break-glass override by {override.by} {state} until {override.expires.isoformat()}: "
        f"{override.reason}",
        observed=override.by,
        limit=override.expires.isoformat(),
    )


def gate_reasons(gate: GateSnapshot, inputs: DecisionInput) -> list[Reason]:
    """Every reason one gate gives for one workload, in a fixed order."""
    reasons: list[Reason] = []
    for rule in HEALTH_CHECKS:
        for reason in rule(gate, inputs):
            if (
                inputs.change_type is not None
                and _health_waiver(gate, inputs.change_type)
                and not reason.passed
            ):
                waiver = f" (waived: {inputs.change_type.value} change)"
                reasons.append(replace(reason, waived=True, message=reason.message + waiver))
            else:
                reasons.append(reason)
    for rule in SAFETY_CHECKS:
        reasons.extend(rule(gate, inputs))
    override = override_reason(gate, inputs)
    if override is not None and gate.spec.override is not None and inputs.now < gate.spec.override.expires:
        reasons = [
            replace(reason, waived=True, message=f"{reason.message} (waived: break-glass override)")
            if reason.blocking
            else reason
            for reason in reasons
        ]
    if override is not None:
        reasons.insert(0, override)
    enforced = gate.spec.mode is Mode.ENFORCE
    return [replace(reason, enforced=enforced) for reason in reasons]
