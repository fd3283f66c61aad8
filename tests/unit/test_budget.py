"""Burn-rate and budget maths, and the no-data rules."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slogate.domain.budget import (
    Measurement,
    NoData,
    allowed_bad_time,
    budget_consumed,
    budget_remaining_percent,
    burn_rate,
    error_budget,
    evaluate_window,
)

HOUR = timedelta(hours=1)
MONTH = timedelta(days=30)
objectives = st.floats(min_value=0.01, max_value=99.999)
ratios = st.floats(min_value=0, max_value=1)


@pytest.mark.parametrize(
    ("error_ratio", "objective", "burn"),
    [
        (0.001, 99.9, 1.0),
        (0.0144, 99.9, 14.4),
        (0.006, 99.9, 6.0),
        (0.0, 99.9, 0.0),
        (1.0, 99.9, 1000.0),
        (0.01, 99.0, 1.0),
        (0.5, 50, 1.0),
    ],
)
def test_burn_rate(error_ratio: float, objective: float, burn: float) -> None:
    assert burn_rate(error_ratio, objective) == pytest.approx(burn)


def test_workbook_budget_shares() -> None:
    assert budget_consumed(14.4, HOUR, MONTH) == pytest.approx(0.02)
    assert budget_consumed(6, 6 * HOUR, MONTH) == pytest.approx(0.05)
    assert budget_consumed(1, 72 * HOUR, MONTH) == pytest.approx(0.10)


def test_allowed_outage_for_three_nines_a_month() -> None:
    assert allowed_bad_time(99.9, MONTH) == pytest.approx(timedelta(minutes=43.2), abs=timedelta(seconds=1))


@pytest.mark.parametrize("objective", [0, 100, -1, 101])
def test_objective_must_be_strictly_between_0_and_100(objective: float) -> None:
    with pytest.raises(ValueError, match="strictly between"):
        error_budget(objective)


@pytest.mark.parametrize(
    ("error_ratio", "remaining"),
    [(0.0, 100.0), (0.0005, 50.0), (0.001, 0.0), (0.002, -100.0)],
)
def test_budget_remaining(error_ratio: float, remaining: float) -> None:
    assert budget_remaining_percent(error_ratio, 99.9) == pytest.approx(remaining, abs=1e-6)


@pytest.mark.parametrize(
    ("measurement", "min_rate", "reason"),
    [
        (Measurement(HOUR, None, 10), 0, NoData.NO_SAMPLES),
        (Measurement(HOUR, math.nan, 10), 0, NoData.NOT_A_NUMBER),
        (Measurement(HOUR, math.inf, 10), 0, NoData.NOT_A_NUMBER),
        (Measurement(HOUR, 0.0, 0.0), 0, NoData.NO_TRAFFIC),
        (Measurement(HOUR, 0.0, math.nan), 0, NoData.NO_TRAFFIC),
        (Measurement(HOUR, 0.5, 0.05), 0.1, NoData.BELOW_MIN_REQUEST_RATE),
    ],
)
def test_no_data_is_never_zero_nor_total_failure(
    measurement: Measurement, min_rate: float, reason: NoData
) -> None:
    burn = evaluate_window(measurement, 99.9, min_rate)
    assert burn.no_data is reason
    assert burn.burn_rate is None
    assert burn.error_ratio is None
    assert not burn.has_data


def test_without_a_request_rate_the_ratio_alone_counts() -> None:
    burn = evaluate_window(Measurement(HOUR, 0.002, None), 99.9, 5)
    assert burn.burn_rate == pytest.approx(2)


@pytest.mark.parametrize(("raw", "clamped"), [(-0.0001, 0.0), (1.02, 1.0)])
def test_ratios_are_clamped(raw: float, clamped: float) -> None:
    assert evaluate_window(Measurement(HOUR, raw, 1), 99.9, 0).error_ratio == clamped


@given(ratios, objectives)
def test_burn_rate_is_ratio_over_budget(error_ratio: float, objective: float) -> None:
    assert burn_rate(error_ratio, objective) * error_budget(objective) == pytest.approx(
        error_ratio, abs=1e-12
    )


@given(ratios, ratios, objectives)
def test_burn_rate_is_monotonic(first: float, second: float, objective: float) -> None:
    low, high = sorted((first, second))
    assert burn_rate(low, objective) <= burn_rate(high, objective)


@given(st.floats(min_value=0, max_value=1000), st.integers(min_value=1, max_value=10**7))
def test_burning_at_one_for_the_whole_period_spends_the_budget(burn: float, seconds: int) -> None:
    period = timedelta(seconds=seconds)
    assert budget_consumed(1, period, period) == pytest.approx(1)
    assert budget_consumed(burn, period / 2, period) == pytest.approx(burn / 2)


@given(
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
    st.floats(min_value=0, max_value=100),
)
def test_evaluate_window_either_has_a_finite_burn_or_a_reason(
    ratio: float | None, rate: float | None, min_rate: float
) -> None:
    burn = evaluate_window(Measurement(HOUR, ratio, rate), 99.9, min_rate)
    if burn.burn_rate is None:
        assert burn.no_data is not None
    else:
        assert burn.no_data is None
        assert math.isfinite(burn.burn_rate)
        assert 0 <= burn.burn_rate <= 1000 * (1 + 1e-9)
