"""The budget one release consumed: its start, its measurement window, its share of the budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slogate.api.base import WorkloadKind, WorkloadReference
from slogate.api.incident import RecentDeployment
from slogate.domain.releases import consumed_percent, release_started, release_window

NOW = datetime(2026, 3, 14, 12, 0, tzinfo=UTC)
WORKLOAD = WorkloadReference(kind=WorkloadKind.DEPLOYMENT, name="web")


def deployed(revision: str, minutes_ago: int) -> RecentDeployment:
    return RecentDeployment(workload=WORKLOAD, revision=revision, time=NOW - timedelta(minutes=minutes_ago))


def test_a_release_starts_when_its_revision_was_created() -> None:
    recent = [deployed("3", 5), deployed("2", 60), deployed("1", 600)]
    assert release_started(recent, "3") == NOW - timedelta(minutes=5)
    assert release_started(recent, "2") == NOW - timedelta(minutes=60)
    assert release_started(recent, "4") is None
    assert release_started(recent, None) is None


@pytest.mark.parametrize(
    ("age", "slo_window", "expected"),
    [
        (timedelta(seconds=29), timedelta(days=30), None),
        (timedelta(seconds=30), timedelta(days=30), timedelta(seconds=30)),
        (timedelta(seconds=47), timedelta(days=30), timedelta(seconds=40)),
        (timedelta(hours=2, seconds=5), timedelta(days=30), timedelta(hours=2)),
        (timedelta(days=40), timedelta(days=30), timedelta(days=30)),
    ],
)
def test_the_release_window(age: timedelta, slo_window: timedelta, expected: timedelta | None) -> None:
    assert release_window(NOW - age, NOW, slo_window) == expected


@pytest.mark.parametrize(
    ("error_ratio", "objective", "window", "period", "percent"),
    [
        # A full outage of a 99.9% / 30d SLO for 43.2 minutes spends the whole budget.
        (1.0, 99.9, timedelta(minutes=43.2), timedelta(days=30), 100.0),
        # Burning at 14.4x for 1h spends 2% (the Workbook's fast page).
        (0.0144, 99.9, timedelta(hours=1), timedelta(days=30), 2.0),
        # 1% errors against 99% for 6 minutes of a 1h window: burn 1, a tenth of the budget.
        (0.01, 99.0, timedelta(minutes=6), timedelta(hours=1), 10.0),
        (0.0, 99.9, timedelta(hours=1), timedelta(days=30), 0.0),
    ],
)
def test_consumed_percent(
    error_ratio: float, objective: float, window: timedelta, period: timedelta, percent: float
) -> None:
    assert consumed_percent(error_ratio, objective, window, period) == pytest.approx(percent)


@given(st.floats(min_value=-1, max_value=2), st.integers(min_value=30, max_value=86400))
def test_consumed_percent_is_bounded_by_a_full_outage(error_ratio: float, seconds: int) -> None:
    window, period = timedelta(seconds=seconds), timedelta(days=1)
    consumed = consumed_percent(error_ratio, 99.0, window, period)
    assert 0 <= consumed <= consumed_percent(1.0, 99.0, window, period)
