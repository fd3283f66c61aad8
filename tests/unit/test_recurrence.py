"""RRULE and cron syntax."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from slogate.api.recurrence import parse_cron, parse_rrule


@pytest.mark.parametrize(
    ("expression", "day", "fires"),
    [
        ("0 16 * * FRI", date(2026, 3, 13), True),
        ("0 16 * * FRI", date(2026, 3, 14), False),
        ("0 0 1 * *", date(2026, 3, 1), True),
        ("0 0 13 * 5", date(2026, 3, 13), True),  # both restricted: either matches
        ("0 0 13 * 5", date(2026, 3, 20), True),
        ("0 0 13 * 5", date(2026, 3, 14), False),
        ("0 0 * 12 *", date(2026, 11, 30), False),
        ("0 0 * DEC *", date(2026, 12, 24), True),
        ("0 0 * * 7", date(2026, 3, 15), True),  # 7 is Sunday too
        ("@weekly", date(2026, 3, 15), True),
    ],
)
def test_cron_days(expression: str, day: date, fires: bool) -> None:
    assert parse_cron(expression).matches_day(day) is fires


def test_cron_fields() -> None:
    schedule = parse_cron("*/15 9-17/4 * * MON-FRI")
    assert schedule.minutes == {0, 15, 30, 45}
    assert schedule.hours == {9, 13, 17}
    assert schedule.days_of_week == {1, 2, 3, 4, 5}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "five fields"),
        ("60 * * * *", "minute"),
        ("* 24 * * *", "hour"),
        ("* * 0 * *", "day-of-month"),
        ("* * * 13 *", "month"),
        ("* * * * 8", "day-of-week"),
        ("*/0 * * * *", "bad step"),
        ("5-1 * * * *", "outside"),
        ("x * * * *", "not a number"),
        ("@reboot", "five fields"),
    ],
)
def test_cron_rejects(expression: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_cron(expression)


def test_rrule_with_and_without_dtstart() -> None:
    bare = parse_rrule("FREQ=WEEKLY;BYDAY=FR;BYHOUR=16;BYMINUTE=0")
    assert bare.after(datetime(2026, 3, 10)) == datetime(2026, 3, 13, 16, 0)
    anchored = parse_rrule("DTSTART:20241220T000000\nRRULE:FREQ=YEARLY")
    assert anchored.after(datetime(2026, 1, 1)) == datetime(2026, 12, 20)
    prefixed = parse_rrule("RRULE:FREQ=DAILY;BYHOUR=1;BYMINUTE=0")
    assert prefixed.after(datetime(2026, 3, 10, 2)) == datetime(2026, 3, 11, 1)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("BYDAY=FR", "no FREQ"),
        ("FREQ=HOURLY", "not supported"),
        ("FREQ=MINUTELY", "not supported"),
        ("FREQ=WEEKLY;BYDAY=XX", "invalid rrule"),
        ("DTSTART;TZID=Europe/Berlin:20241220T000000\nRRULE:FREQ=YEARLY", "local"),
        ("FREQ=DAILY;UNTIL=20261231T000000Z", "local"),
        ("DTSTART:20241220T000000", "no RRULE"),
    ],
)
def test_rrule_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_rrule(text)
