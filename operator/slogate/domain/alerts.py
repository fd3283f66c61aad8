"""Multiwindow, multi-burn-rate alert evaluation and the resulting SLO state.

A policy fires only when *both* its long window (the burn is significant) and its short window (it
is still happening) burn at or above the threshold; a window without data never fires a policy.
The SLO's state follows from the budget over the whole period and from the policies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from slogate.api.durations import parse_duration
from slogate.api.slo import BurnRatePolicy, ServiceLevelObjectiveSpec, SloState
from slogate.domain.budget import Measurement, WindowBurn, budget_remaining_percent, evaluate_window


@dataclass(frozen=True)
class PolicyEvaluation:
    """One policy against the measured windows."""

    policy: BurnRatePolicy
    long: WindowBurn | None
    short: WindowBurn | None
    firing: bool


@dataclass(frozen=True)
class SloAssessment:
    """Everything the operator reports about an SLO after one evaluation."""

    state: SloState
    sli_percent: float | None
    budget_remaining_percent: float | None
    current_burn_rate: float | None
    current_burn_window: timedelta | None
    windows: tuple[WindowBurn, ...]
    policies: tuple[PolicyEvaluation, ...]

    def burn_rate_over(self, window: timedelta) -> WindowBurn | None:
        """The measured window of exactly this length, if it was evaluated."""
        return next((burn for burn in self.windows if burn.window == window), None)


def windows_to_measure(
    spec: ServiceLevelObjectiveSpec, extra: tuple[timedelta, ...] = ()
) -> tuple[timedelta, ...]:
    """Every window an evaluation needs: the SLO window, each policy's two windows, and any extra
    (e.g. a gate's burnRateWindow), shortest first, without repeats."""
    windows = {parse_duration(spec.window), *extra}
    for policy in spec.effective_policies():
        windows.add(parse_duration(policy.long_window))
        windows.add(parse_duration(policy.short_window))
    return tuple(sorted(windows))


def evaluate_policy(policy: BurnRatePolicy, burns: Mapping[timedelta, WindowBurn]) -> PolicyEvaluation:
    long = burns.get(parse_duration(policy.long_window))
    short = burns.get(parse_duration(policy.short_window))
    firing = all(
        burn is not None and burn.burn_rate is not None and burn.burn_rate >= policy.burn_rate
        for burn in (long, short)
    )
    return PolicyEvaluation(policy=policy, long=long, short=short, firing=firing)


def assess_slo(spec: ServiceLevelObjectiveSpec, measurements: tuple[Measurement, ...]) -> SloAssessment:
    """Classify an SLO from its measurements: Unknown without data over the window, Exhausted when no
    budget is left, Burning when a policy fires, Healthy otherwise."""
    burns = {
        measurement.window: evaluate_window(measurement, spec.objective, spec.min_request_rate)
        for measurement in measurements
    }
    period = burns.get(parse_duration(spec.window))
    evaluations = tuple(evaluate_policy(policy, burns) for policy in spec.effective_policies())
    current_window = min(
        (parse_duration(policy.long_window) for policy in spec.effective_policies()), default=None
    )
    current = burns.get(current_window) if current_window is not None else None

    remaining: float | None = None
    sli: float | None = None
    if period is not None and period.error_ratio is not None:
        remaining = budget_remaining_percent(period.error_ratio, spec.objective)
        sli = 100 * (1 - period.error_ratio)

    if remaining is None:
        state = SloState.UNKNOWN
    elif remaining <= 0:
        state = SloState.EXHAUSTED
    elif any(evaluation.firing for evaluation in evaluations):
        state = SloState.BURNING
    else:
        state = SloState.HEALTHY
    return SloAssessment(
        state=state,
        sli_percent=sli,
        budget_remaining_percent=remaining,
        current_burn_rate=current.burn_rate if current is not None else None,
        current_burn_window=current_window,
        windows=tuple(burns[window] for window in sorted(burns)),
        policies=evaluations,
    )
