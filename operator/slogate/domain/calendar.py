"""Freeze calendars: when a ChangeFreeze is in force, and when that next changes, from a given ``now``.

Recurrences (RRULE or cron) produce *local wall-clock* occurrences in the freeze's time zone; only
then are they turned into instants, so "Fridays 18:00 Europe/Berlin" stays at 18:00 local on both
sides of a daylight-saving change (Argo CD sync windows apply the offset of "now" instead, and drift
by an hour). Local times that do not exist or exist twice are resolved by one rule each:

- a time skipped by a spring-forward gap starts at the instant the gap ends (a freeze starts early
  rather than late);
- a time repeated by a fall-back starts at its first occurrence.

Durations follow iCalendar: days and weeks are nominal (wall clock), hours, minutes and seconds exact.
Overlapping or touching occurrences merge into one window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset

from slogate.api.durations import CalendarDuration, parse_calendar_duration
from slogate.api.freeze import ChangeFreezeSpec
from slogate.api.recurrence import CronSchedule, parse_cron, parse_rrule

SEARCH_HORIZON = timedelta(days=4 * 366)
"""How far ahead the next window is looked for (a leap-day rule fires every four years)."""

MAX_MERGED_OCCURRENCES = 10_000
"""A schedule whose occurrences always overlap never ends; its window end is reported as the end of
this many merged occurrences (a lower bound) rather than searched for forever."""


@dataclass(frozen=True)
class FreezeWindow:
    """A period in force, as UTC instants; ``end`` is exclusive."""

    start: datetime
    end: datetime

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True)
class FreezeState:
    """A freeze as seen at one moment."""

    active: bool
    current: FreezeWindow | None
    next: FreezeWindow | None

    @property
    def next_change(self) -> datetime | None:
        """When ``active`` next flips: the current window's end, or the next window's start."""
        if self.current is not None:
            return self.current.end
        return self.next.start if self.next is not None else None


def to_instant(local: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant of a naive local wall-clock time in ``zone`` (gap: when it ends; repeat: first)."""
    earlier = local.replace(tzinfo=zone, fold=0)
    instant = earlier.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local:
        return instant
    # In a gap: fold=1 reads the time with the offset after the transition, fold=0 with the one before;
    # the transition instant lies between the two readings. Find it to the second.
    low = local.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = instant
    after_offset = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after_offset:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0)


def add_calendar_duration(start_local: datetime, duration: CalendarDuration, zone: ZoneInfo) -> datetime:
    """The instant ``duration`` after a local start: nominal days on the wall clock, then exact time."""
    return to_instant(start_local + timedelta(days=duration.days), zone) + duration.exact


class LocalRecurrence(Protocol):
    def occurrences_from(self, local: datetime) -> Iterator[datetime]:
        """Naive local occurrences at or after ``local``, ascending."""
        ...


@dataclass(frozen=True)
class RRuleRecurrence:
    rule: rruleset

    def occurrences_from(self, local: datetime) -> Iterator[datetime]:
        yield from self.rule.xafter(local, inc=True)


@dataclass(frozen=True)
class CronRecurrence:
    schedule: CronSchedule

    def occurrences_from(self, local: datetime) -> Iterator[datetime]:
        first_minute = (
            local
            if local == local.replace(second=0, microsecond=0)
            else (local.replace(second=0, microsecond=0) + timedelta(minutes=1))
        )
        hours, minutes = sorted(self.schedule.hours), sorted(self.schedule.minutes)
        day = first_minute.date()
        for _ in range(int(SEARCH_HORIZON.days) + 2):
            if self.schedule.matches_day(day):
                for hour in hours:
                    for minute in minutes:
                        moment = datetime.combine(day, time(hour, minute))
                        if moment >= first_minute:
                            yield moment
            day += timedelta(days=1)


def _local_recurrence(spec: ChangeFreezeSpec) -> LocalRecurrence:
    recurrence = spec.recurrence
    if recurrence is None:
        raise ValueError("not a recurring freeze")
    if recurrence.rrule is not None:
        return RRuleRecurrence(parse_rrule(recurrence.rrule))
    if recurrence.cron is not None:
        return CronRecurrence(parse_cron(recurrence.cron))
    raise ValueError("recurrence has neither rrule nor cron")


class FreezeSchedule(Protocol):
    def windows_from(self, moment: datetime) -> Iterator[FreezeWindow]:
        """Windows that end after ``moment``, ascending by start (they may overlap)."""
        ...


@dataclass(frozen=True)
class OneShotSchedule:
    window: FreezeWindow

    def windows_from(self, moment: datetime) -> Iterator[FreezeWindow]:
        if self.window.end > moment:
            yield self.window


@dataclass(frozen=True)
class RecurringSchedule:
    recurrence: LocalRecurrence
    zone: ZoneInfo
    duration: CalendarDuration

    def windows_from(self, moment: datetime) -> Iterator[FreezeWindow]:
        # An occurrence that started up to one duration ago may still be in force. A nominal day lasts
        # at most 25 hours, and one more day of margin covers zone offsets.
        longest = timedelta(days=self.duration.days, hours=self.duration.days) + self.duration.exact
        local_from = (moment - longest).astimezone(self.zone).replace(tzinfo=None) - timedelta(days=1)
        horizon = moment + SEARCH_HORIZON
        previous_start: datetime | None = None
        for local in self.recurrence.occurrences_from(local_from):
            start = to_instant(local, self.zone)
            if start > horizon:
                return
            if start == previous_start:
                continue
            previous_start = start
            end = add_calendar_duration(local, self.duration, self.zone)
            if end > moment:
                yield FreezeWindow(start, end)


def schedule_from_spec(spec: ChangeFreezeSpec, created_at: datetime) -> FreezeSchedule:
    """The schedule a ChangeFreeze describes; a one-shot without start begins at ``created_at``."""
    zone = ZoneInfo(spec.time_zone)
    if spec.recurrence is not None:
        return RecurringSchedule(
            recurrence=_local_recurrence(spec),
            zone=zone,
            duration=parse_calendar_duration(spec.recurrence.duration),
        )
    start = (spec.start or created_at).astimezone(UTC)
    if spec.end is not None:
        end = spec.end.astimezone(UTC)
    elif spec.duration is not None:
        local_start = start.astimezone(zone).replace(tzinfo=None)
        end = add_calendar_duration(local_start, parse_calendar_duration(spec.duration), zone)
    else:
        raise ValueError("a one-shot freeze needs end or duration")
    return OneShotSchedule(FreezeWindow(start, end))


def _merged(windows: Iterator[FreezeWindow]) -> Iterator[FreezeWindow]:
    current: FreezeWindow | None = None
    merged_count = 0
    for window in windows:
        if current is not None and window.start <= current.end and merged_count < MAX_MERGED_OCCURRENCES:
            current = FreezeWindow(current.start, max(current.end, window.end))
            merged_count += 1
            continue
        if current is not None:
            yield current
        current, merged_count = window, 0
    if current is not None:
        yield current


def freeze_state(schedule: FreezeSchedule, now: datetime) -> FreezeState:
    """Whether the freeze is in force at ``now`` (an aware datetime), and its current and next windows."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    current: FreezeWindow | None = None
    for window in _merged(schedule.windows_from(now)):
        if window.end <= now:
            continue
        if window.start <= now and current is None:
            current = window
            continue
        return FreezeState(active=current is not None, current=current, next=window)
    return FreezeState(active=current is not None, current=current, next=None)
