"""Prometheus-style durations: parsing, calendar reading, formatting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slogate.api.durations import CalendarDuration, format_duration, parse_calendar_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h", timedelta(hours=1)),
        ("1h30m", timedelta(minutes=90)),
        ("30d", timedelta(days=30)),
        ("2w", timedelta(days=14)),
        ("1y", timedelta(days=365)),
        ("1d12h30m15s", timedelta(days=1, hours=12, minutes=30, seconds=15)),
        ("90s", timedelta(seconds=90)),
    ],
)
def test_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "5", "m", "1.5h", "30 d", "1m1h", "1h1h", "-5m", "5ms", "0s", "0h0m", "5M"]
)
def test_reject(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "days", "exact"),
    [
        ("2h", 0, timedelta(hours=2)),
        ("1d", 1, timedelta()),
        ("2d16h", 2, timedelta(hours=16)),
        ("1w1d", 8, timedelta()),
    ],
)
def test_calendar_reading(text: str, days: int, exact: timedelta) -> None:
    assert parse_calendar_duration(text) == CalendarDuration(days=days, exact=exact)


@pytest.mark.parametrize(
    ("value", "text"),
    [(timedelta(minutes=90), "1h30m"), (timedelta(days=30), "30d"), (timedelta(seconds=1), "1s")],
)
def test_format(value: timedelta, text: str) -> None:
    assert format_duration(value) == text


@given(st.integers(min_value=1, max_value=10 * 365 * 86400))
def test_format_then_parse_round_trips(seconds: int) -> None:
    assert parse_duration(format_duration(timedelta(seconds=seconds))) == timedelta(seconds=seconds)


def test_format_rejects_fractions_and_zero() -> None:
    for value in (timedelta(0), timedelta(milliseconds=1500)):
        with pytest.raises(ValueError, match="whole seconds"):
            format_duration(value)
