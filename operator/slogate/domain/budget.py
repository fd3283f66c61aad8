"""Error-budget and burn-rate arithmetic (Google SRE Workbook ch. 5; the same small maths as Sloth).

burn rate = error ratio / (1 - objective); budget consumed over a window = burn x window / period.
The one judgement call lives in ``evaluate_window``: a window with no traffic, an empty or NaN
result, or fewer requests per second than the SLO's ``minRequestRate`` has *no data*. It is never
read as zero errors (which would let a broken release through) nor as total failure (which would
page and hold on an idle service).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum


class NoData(StrEnum):
    """Why a window has no burn rate."""

    QUERY_FAILED = "QueryFailed"
    """Prometheus refused a query of the window (a syntax error, a limit): not measured at all."""
    NO_SAMPLES = "NoSamples"
    NOT_A_NUMBER = "NotANumber"
    NO_TRAFFIC = "NoTraffic"
    BELOW_MIN_REQUEST_RATE = "BelowMinRequestRate"


@dataclass(frozen=True)
class Measurement:
    """Raw query results for one window. None means the query returned no sample."""

    window: timedelta
    error_ratio: float | None
    request_rate: float | None = None
    failed: bool = False
    """A query of the window was refused: what it would have said is unknown."""


@dataclass(frozen=True)
class WindowBurn:
    """A window's burn rate, or why there is none."""

    window: timedelta
    burn_rate: float | None
    error_ratio: float | None
    request_rate: float | None
    no_data: NoData | None

    @property
    def has_data(self) -> bool:
        return self.burn_rate is not None


def error_budget(objective_percent: float) -> float:
    """The fraction of events allowed to be bad: 0.001 for 99.9."""
    if not 0 < objective_percent < 100:
        raise ValueError(f"objective must be strictly between 0 and 100, not {objective_percent}")
    return 1 - objective_percent / 100


def burn_rate(error_ratio: float, objective_percent: float) -> float:
    """How many times faster than sustainable the budget is being spent (1 = exactly on budget)."""
    return error_ratio / error_budget(objective_percent)


def budget_consumed(burn: float, window: timedelta, period: timedelta) -> float:
    """Fraction of the period's error budget spent by burning at ``burn`` for ``window``."""
    return burn * (window / period)


def budget_remaining_percent(period_error_ratio: float, objective_percent: float) -> float:
    """Percentage of the budget left, from the error ratio over the whole period; negative when
    overspent (an overspend is worth showing, not clamping)."""
    return 100 * (1 - burn_rate(period_error_ratio, objective_percent))


def allowed_bad_time(objective_percent: float, period: timedelta) -> timedelta:
    """How long a full outage the budget allows: 43.2 minutes for 99.9% over 30 days."""
    return period * error_budget(objective_percent)


def evaluate_window(
    measurement: Measurement, objective_percent: float, min_request_rate: float
) -> WindowBurn:
    """Turn raw results into a burn rate, applying the no-data rules. Error ratios slightly outside
    [0, 1] (counter resets, misaligned series) are clamped into it. A window without a request-rate
    result (``request_rate`` None) is judged on its error ratio alone."""
    ratio, rate = measurement.error_ratio, measurement.request_rate
    usable_rate = rate if rate is not None and math.isfinite(rate) else None
    no_data: NoData | None = None
    if measurement.failed:
        no_data = NoData.QUERY_FAILED
    elif ratio is None:
        no_data = NoData.NO_SAMPLES
    elif not math.isfinite(ratio):
        no_data = NoData.NOT_A_NUMBER
    elif rate is not None and (usable_rate is None or usable_rate <= 0):
        no_data = NoData.NO_TRAFFIC
    elif usable_rate is not None and usable_rate < min_request_rate:
        no_data = NoData.BELOW_MIN_REQUEST_RATE
    if no_data is not None or ratio is None:
        return WindowBurn(measurement.window, None, None, usable_rate, no_data)
    clamped = min(1.0, max(0.0, ratio))
    return WindowBurn(measurement.window, burn_rate(clamped, objective_percent), clamped, usable_rate, None)
