"""Freeze calendars: one-shot and recurring, across daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slogate.api.durations import parse_calendar_duration
from slogate.api.freeze import ChangeFreezeSpec
from slogate.domain.calendar import (
    FreezeWindow,
    add_calendar_duration,
    freeze_state,
    schedule_from_spec,
    to_instant,
)

BERLIN = ZoneInfo("Europe/Berlin")  # 2026: forward 29 Mar 02:00 -> 03:00, back 25 Oct 03:00 -> 02:00
NEW_YORK = ZoneInfo("America/New_York")  # 2026: forward 8 Mar 02:00 -> 03:00, back 1 Nov 02:00 -> 01:00
CREATED = datetime(2026, 1, 1, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def spec(**fields: Any) -> ChangeFreezeSpec:
    return ChangeFreezeSpec.model_validate({"reason": "test", **fields})


@pytest.mark.parametrize(
    ("local", "zone", "instant"),
    [
        ("2026-01-15T12:00:00", BERLIN, "2026-01-15T11:00:00"),
        ("2026-07-15T12:00:00", BERLIN, "2026-07-15T10:00:00"),
        ("2026-03-29T02:30:00", BERLIN, "2026-03-29T01:00:00"),  # skipped: starts when the gap ends
        ("2026-03-29T02:00:00", BERLIN, "2026-03-29T01:00:00"),
        ("2026-03-29T03:00:00", BERLIN, "2026-03-29T01:00:00"),
        ("2026-10-25T02:30:00", BERLIN, "2026-10-25T00:30:00"),  # repeated: the first one
        ("2026-03-08T02:15:00", NEW_YORK, "2026-03-08T07:00:00"),
        ("2026-11-01T01:30:00", NEW_YORK, "2026-11-01T05:30:00"),
    ],
)
def test_local_to_instant(local: str, zone: ZoneInfo, instant: str) -> None:
    assert to_instant(datetime.fromisoformat(local), zone) == utc(instant)


@pytest.mark.parametrize(
    ("start", "duration", "end"),
    [
        ("2026-03-28T18:00:00", "1d", "2026-03-29T16:00:00"),  # a calendar day: 23 hours long here
        ("2026-03-28T18:00:00", "24h", "2026-03-29T17:00:00"),  # exact hours
        ("2026-10-24T18:00:00", "1d", "2026-10-25T17:00:00"),  # 25 hours long
        ("2026-10-24T18:00:00", "1d2h", "2026-10-25T19:00:00"),
    ],
)
def test_calendar_durations(start: str, duration: str, end: str) -> None:
    assert add_calendar_duration(
        datetime.fromisoformat(start), parse_calendar_duration(duration), BERLIN
    ) == utc(end)


def test_one_shot_duration_from_creation() -> None:
    schedule = schedule_from_spec(spec(duration="2h"), utc("2026-05-01T10:00:00"))
    before = freeze_state(schedule, utc("2026-05-01T09:00:00"))
    assert not before.active
    assert before.next == FreezeWindow(utc("2026-05-01T10:00:00"), utc("2026-05-01T12:00:00"))
    assert before.next_change == utc("2026-05-01T10:00:00")
    during = freeze_state(schedule, utc("2026-05-01T11:59:59"))
    assert during.active
    assert during.next_change == utc("2026-05-01T12:00:00")
    after = freeze_state(schedule, utc("2026-05-01T12:00:00"))
    assert not after.active
    assert after.next is None
    assert after.next_change is None


def test_one_shot_start_and_end() -> None:
    schedule = schedule_from_spec(
        spec(start="2026-06-01T00:00:00+02:00", end="2026-06-02T00:00:00+02:00"), CREATED
    )
    assert freeze_state(schedule, utc("2026-05-31T22:00:00")).active
    assert not freeze_state(schedule, utc("2026-05-31T21:59:59")).active


def test_weekly_freeze_keeps_local_time_across_spring_forward() -> None:
    weekends = schedule_from_spec(
        spec(timeZone="America/New_York", recurrence={"cron": "0 16 * * FRI", "duration": "2d16h"}), CREATED
    )
    state = freeze_state(weekends, utc("2026-03-07T12:00:00"))
    assert state.active
    assert state.current == FreezeWindow(
        utc("2026-03-06T21:00:00"), utc("2026-03-09T12:00:00")
    )  # Mon 08:00 EDT
    assert state.next == FreezeWindow(utc("2026-03-13T20:00:00"), utc("2026-03-16T12:00:00"))  # Fri 16:00 EDT


def test_weekly_freeze_keeps_local_time_across_fall_back() -> None:
    weekends = schedule_from_spec(
        spec(timeZone="America/New_York", recurrence={"cron": "0 16 * * FRI", "duration": "2d16h"}), CREATED
    )
    state = freeze_state(weekends, utc("2026-11-01T12:00:00"))
    assert state.current == FreezeWindow(
        utc("2026-10-30T20:00:00"), utc("2026-11-02T13:00:00")
    )  # Mon 08:00 EST


def test_daily_cron_in_the_spring_forward_gap_starts_when_the_gap_ends() -> None:
    schedule = schedule_from_spec(
        spec(timeZone="Europe/Berlin", recurrence={"cron": "30 2 * * *", "duration": "1h"}), CREATED
    )
    state = freeze_state(schedule, utc("2026-03-29T00:00:00"))
    assert state.next == FreezeWindow(utc("2026-03-29T01:00:00"), utc("2026-03-29T02:00:00"))
    after = freeze_state(schedule, utc("2026-03-29T02:00:00"))
    assert after.next == FreezeWindow(utc("2026-03-30T00:30:00"), utc("2026-03-30T01:30:00"))


def test_skipped_minutes_collapse_into_one_occurrence() -> None:
    schedule = schedule_from_spec(
        spec(timeZone="Europe/Berlin", recurrence={"cron": "*/15 2 * * *", "duration": "1m"}), CREATED
    )
    state = freeze_state(schedule, utc("2026-03-29T00:59:00"))
    assert state.next == FreezeWindow(utc("2026-03-29T01:00:00"), utc("2026-03-29T01:01:00"))
    assert freeze_state(schedule, utc("2026-03-29T01:01:00")).next == FreezeWindow(
        utc("2026-03-30T00:00:00"), utc("2026-03-30T00:01:00")
    )


def test_repeated_hour_fires_once_in_the_fall_back() -> None:
    schedule = schedule_from_spec(
        spec(timeZone="Europe/Berlin", recurrence={"cron": "30 2 * * *", "duration": "10m"}), CREATED
    )
    state = freeze_state(schedule, utc("2026-10-25T00:00:00"))
    assert state.next == FreezeWindow(utc("2026-10-25T00:30:00"), utc("2026-10-25T00:40:00"))
    assert freeze_state(schedule, utc("2026-10-25T00:40:00")).next == FreezeWindow(
        utc("2026-10-26T01:30:00"), utc("2026-10-26T01:40:00")
    )


def test_year_end_holidays_rrule() -> None:
    schedule = schedule_from_spec(
        spec(
            timeZone="Europe/Berlin",
            recurrence={
                "rrule": "DTSTART:20241220T000000\nRRULE:FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20",
                "duration": "14d",
            },
        ),
        CREATED,
    )
    summer = freeze_state(schedule, utc("2026-07-01T00:00:00"))
    assert not summer.active
    assert summer.next == FreezeWindow(utc("2026-12-19T23:00:00"), utc("2027-01-02T23:00:00"))
    assert freeze_state(schedule, utc("2027-01-01T00:00:00")).active


def test_overlapping_occurrences_merge() -> None:
    schedule = schedule_from_spec(
        spec(recurrence={"rrule": "FREQ=DAILY;BYHOUR=0;BYMINUTE=0", "duration": "36h"}), CREATED
    )
    state = freeze_state(schedule, utc("2026-05-01T12:00:00"))
    assert state.active
    assert state.current is not None
    assert state.current.end - utc("2026-05-01T12:00:00") > timedelta(days=300)


def test_now_must_be_aware() -> None:
    schedule = schedule_from_spec(spec(duration="2h"), CREATED)
    with pytest.raises(ValueError, match="aware"):
        freeze_state(schedule, datetime(2026, 1, 1))


SCHEDULES = [
    spec(timeZone="Europe/Berlin", recurrence={"cron": "30 2 * * *", "duration": "1h"}),
    spec(timeZone="America/New_York", recurrence={"cron": "0 16 * * FRI", "duration": "2d16h"}),
    spec(
        timeZone="Europe/Berlin",
        recurrence={"rrule": "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=2;BYMINUTE=30", "duration": "3h"},
    ),
    spec(timeZone="Australia/Lord_Howe", recurrence={"cron": "15 1-3 * * *", "duration": "20m"}),
    spec(start="2026-06-01T00:00:00Z", duration="1d"),
]
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda moment: moment.replace(tzinfo=UTC, microsecond=0)
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SCHEDULES), moments)
def test_state_is_consistent_with_its_own_transitions(freeze: ChangeFreezeSpec, now: datetime) -> None:
    schedule = schedule_from_spec(freeze, CREATED)
    state = freeze_state(schedule, now)
    if state.active:
        assert state.current is not None
        assert state.current.contains(now)
        assert not freeze_state(schedule, state.current.end).active
    else:
        assert state.current is None
    if state.next is not None:
        assert state.next.start > now
        assert freeze_state(schedule, state.next.start).active
        assert not freeze_state(schedule, state.next.start - timedelta(seconds=1)).active
    if state.next_change is not None:
        assert state.next_change > now
        assert freeze_state(schedule, state.next_change).active is not state.active
