"""Multiwindow alert evaluation and SLO state."""

from __future__ import annotations

from datetime import timedelta

import pytest

from slogate.api.slo import ServiceLevelObjectiveSpec, SloState
from slogate.domain.alerts import assess_slo, windows_to_measure
from slogate.domain.budget import Measurement

MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)

SPEC = ServiceLevelObjectiveSpec.model_validate(
    {
        "objective": 99.9,
        "window": "30d",
        "selector": {},
        "indicator": {"ratio": {"errors": "e[$window]", "total": "t[$window]"}},
    }
)
WINDOWS = (5 * MINUTE, 30 * MINUTE, HOUR, 6 * HOUR, 3 * DAY, 30 * DAY)


def measurements(ratios: dict[timedelta, float | None], rate: float = 10.0) -> tuple[Measurement, ...]:
    return tuple(Measurement(window, ratios.get(window, 0.0), rate) for window in WINDOWS)


def test_windows_to_measure_cover_policies_and_extras() -> None:
    assert windows_to_measure(SPEC) == WINDOWS
    assert 2 * HOUR in windows_to_measure(SPEC, (2 * HOUR,))


@pytest.mark.parametrize(
    ("ratios", "state", "firing"),
    [
        ({}, SloState.HEALTHY, set()),
        ({HOUR: 0.015, 5 * MINUTE: 0.015}, SloState.BURNING, {"page-fast"}),
        ({HOUR: 0.015, 5 * MINUTE: 0.0001}, SloState.HEALTHY, set()),  # burn has stopped
        ({HOUR: 0.0001, 5 * MINUTE: 0.015}, SloState.HEALTHY, set()),  # a blip
        ({6 * HOUR: 0.007, 30 * MINUTE: 0.007}, SloState.BURNING, {"page-slow"}),
        ({3 * DAY: 0.0011, 6 * HOUR: 0.0011}, SloState.BURNING, {"ticket"}),
        ({30 * DAY: 0.001}, SloState.EXHAUSTED, set()),
        ({30 * DAY: None}, SloState.UNKNOWN, set()),
        ({HOUR: None, 5 * MINUTE: 0.5}, SloState.HEALTHY, set()),  # no data never fires
    ],
)
def test_assessment(ratios: dict[timedelta, float | None], state: SloState, firing: set[str]) -> None:
    assessment = assess_slo(SPEC, measurements(ratios))
    assert assessment.state is state
    assert {evaluation.policy.name for evaluation in assessment.policies if evaluation.firing} == firing


def test_threshold_is_inclusive() -> None:
    assessment = assess_slo(SPEC, measurements({HOUR: 0.0144, 5 * MINUTE: 0.0144}))
    assert assessment.policies[0].firing


def test_reported_values() -> None:
    assessment = assess_slo(SPEC, measurements({30 * DAY: 0.00025, HOUR: 0.002}))
    assert assessment.sli_percent == pytest.approx(99.975)
    assert assessment.budget_remaining_percent == pytest.approx(75)
    assert assessment.current_burn_window == HOUR
    assert assessment.current_burn_rate == pytest.approx(2)
    burn = assessment.burn_rate_over(HOUR)
    assert burn is not None
    assert burn.burn_rate == pytest.approx(2)
    assert assessment.burn_rate_over(2 * HOUR) is None


def test_zero_traffic_is_unknown_not_healthy_or_exhausted() -> None:
    assessment = assess_slo(SPEC, measurements({}, rate=0.0))
    assert assessment.state is SloState.UNKNOWN
    assert assessment.budget_remaining_percent is None
