"""Syntax of recurring freeze schedules: iCalendar RRULEs and five-field cron expressions.

Both are parsed here, in the api layer, so that the operator's validation (``slogate.api.validation``)
and the calendar maths (``slogate.domain.calendar``) agree on what is valid. Neither syntax carries a
time zone: occurrences are local wall-clock times in the ChangeFreeze's ``timeZone``, and the
calendar turns them into instants. That is what keeps a "Fridays 16:00" freeze at 16:00 local on
both sides of a daylight-saving change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from dateutil.rrule import rruleset, rrulestr

RRULE_ANCHOR = datetime(2024, 1, 1)
"""Local DTSTART used when an RRULE gives none (Monday 2024-01-01, midnight). It fixes the phase of
INTERVAL and the defaults of BYDAY/BYHOUR/BYMINUTE, so give those explicitly or add a DTSTART line.
Recent, because occurrences are found by stepping forward from DTSTART."""

ALLOWED_FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
"""Sub-daily RRULEs are refused: stepping hour by hour from DTSTART is slow, and cron says
minute-level schedules more plainly."""

_FREQ_RE = re.compile(r"FREQ=([A-Z]+)")

_RRULE_PART_NAMES = (
    "FREQ UNTIL COUNT INTERVAL BYSECOND BYMINUTE BYHOUR BYDAY",
    "BYMONTHDAY BYYEARDAY BYWEEKNO BYMONTH BYSETPOS WKST",
)
_RRULE_PART = "(" + "|".join(" ".join(_RRULE_PART_NAMES).split()) + ")"
_RRULE_LINE = f"(RRULE:)?{_RRULE_PART}=[-+,A-Z0-9]+(;{_RRULE_PART}=[-+,A-Z0-9]+)*"
_DATE_LINE = "(DTSTART|EXDATE|RDATE)(;VALUE=DATE(-TIME)?)?:[0-9T,]+"
_LINE = f"[ \\t]*({_DATE_LINE}|{_RRULE_LINE})[ \\t]*"
RRULE_SHAPE_PATTERN = f"^{_LINE}(\\n{_LINE})*\\n?$"
"""What the API server checks of an RRULE: known parts, local date lines only (no TZID, no Z). That
the rule makes sense (BYDAY=XX, a FREQ slogate supports) is checked by ``parse_rrule``."""

CRON_SHAPE_PATTERN = (
    "^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[0-9A-Za-z*,/-]+( +[0-9A-Za-z*,/-]+){4})$"
)
"""What the API server checks of a cron expression: five fields or a macro; ranges by ``parse_cron``."""


def parse_rrule(text: str) -> rruleset:
    """Parse an RRULE (``FREQ=WEEKLY;BYDAY=FR;BYHOUR=16``, optionally prefixed ``RRULE:`` and optionally
    with ``DTSTART``/``EXDATE``/``RDATE`` lines in local time). Raises ValueError explaining why not."""
    stripped = text.strip()
    if not stripped:
        raise ValueError("rrule is empty")
    upper = stripped.upper()
    if "TZID" in upper or re.search(r"(DTSTART|UNTIL|EXDATE|RDATE)[^\n]*\d{8}T\d{6}Z", upper):
        raise ValueError("rrule times must be local (no TZID, no trailing Z): the zone is spec.timeZone")
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    rule_lines = [line for line in lines if not line.upper().startswith(("DTSTART", "EXDATE", "RDATE"))]
    if not rule_lines:
        raise ValueError("rrule has no RRULE line")
    for line in rule_lines:
        frequency = _FREQ_RE.search(line.upper())
        if frequency is None:
            raise ValueError(f"rrule {line!r} has no FREQ")
        if frequency.group(1) not in ALLOWED_FREQUENCIES:
            raise ValueError(
                f"rrule FREQ={frequency.group(1)} is not supported: use one of "
                f"{', '.join(ALLOWED_FREQUENCIES)} (use cron for hourly or minute-level schedules)"
            )
    normalised = "\n".join(
        line
        if line.upper().startswith(("DTSTART", "EXDATE", "RDATE", "RRULE", "EXRULE"))
        else f"RRULE:{line}"
        for line in lines
    )
    try:
        parsed = rrulestr(normalised, dtstart=RRULE_ANCHOR, forceset=True, unfold=True)
    except (ValueError, TypeError) as error:
        raise ValueError(f"invalid rrule {text!r}: {error}") from error
    if not isinstance(parsed, rruleset):
        raise ValueError(f"invalid rrule {text!r}")
    return parsed


_MONTH_NAMES = {
    name: number
    for number, name in enumerate(
        ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
    )
}
_DAY_NAMES = {name: number for number, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}

_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}


@dataclass(frozen=True)
class CronSchedule:
    """A parsed cron expression: the wall-clock minutes it matches.

    As in Vixie cron, when both day-of-month and day-of-week are restricted a day matches if either
    does; when one is ``*`` only the other counts. Days of week run 0 (Sunday) to 6.
    """

    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]
    day_of_month_restricted: bool
    day_of_week_restricted: bool

    def matches_day(self, day: date) -> bool:
        """Whether the schedule fires on this local date at all."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days_of_month
        dow = (day.isoweekday() % 7) in self.days_of_week
        if self.day_of_month_restricted and self.day_of_week_restricted:
            return dom or dow
        return dom and dow


def _value(token: str, names: dict[str, int], field: str) -> int:
    upper = token.upper()
    if upper in names:
        return names[upper]
    if not token.isdigit():
        raise ValueError(f"cron {field}: {token!r} is not a number")
    return int(token)


def _field(text: str, low: int, high: int, field: str, names: dict[str, int] | None = None) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        range_text, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ValueError(f"cron {field}: bad step in {part!r}")
            step = int(step_text)
        if range_text == "*":
            start, end = low, high
        elif "-" in range_text:
            first, _, last = range_text.partition("-")
            start, end = _value(first, names or {}, field), _value(last, names or {}, field)
        else:
            start = _value(range_text, names or {}, field)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high) or start > end:
            raise ValueError(f"cron {field}: {part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def parse_cron(text: str) -> CronSchedule:
    """Parse a five-field cron expression (minute hour day-of-month month day-of-week) or a macro such
    as ``@daily``. Names (JAN, MON) and 7 for Sunday are accepted. Raises ValueError naming the field."""
    expression = _MACROS.get(text.strip().lower(), text.strip())
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(
            f"cron {text!r} must have five fields (minute hour day-of-month month day-of-week) or be one of "
            f"{', '.join(sorted(_MACROS))}"
        )
    minute, hour, day_of_month, month, day_of_week = fields
    days_of_week = _field(day_of_week, 0, 7, "day-of-week", _DAY_NAMES)
    return CronSchedule(
        minutes=_field(minute, 0, 59, "minute"),
        hours=_field(hour, 0, 23, "hour"),
        days_of_month=_field(day_of_month, 1, 31, "day-of-month"),
        months=_field(month, 1, 12, "month", _MONTH_NAMES),
        days_of_week=frozenset(day % 7 for day in days_of_week),
        day_of_month_restricted=not day_of_month.startswith("*"),
        day_of_week_restricted=not day_of_week.startswith("*"),
    )
