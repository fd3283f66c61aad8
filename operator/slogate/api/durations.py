"""Prometheus-style durations (``30s``, ``5m``, ``1h30m``, ``30d``) as used in every slogate spec.

Durations stay strings in the models so that what the user wrote round-trips unchanged through the API
server and GitOps diffs; this module is the single place that parses them. The accepted syntax is
Prometheus' without the ``ms`` unit (sub-second windows are meaningless for SLOs and freezes, and
leaving it out keeps every unit a single distinct letter, which the CRD's CEL rules rely on).

Two readings exist because calendars need both (RFC 5545, section 3.3.6): for SLO maths every unit is
exact elapsed time (``1d`` = 86400 s); for freeze calendars ``y``, ``w`` and ``d`` are *nominal*
calendar units that follow the wall clock across daylight-saving changes, while ``h``, ``m`` and
``s`` stay exact.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import timedelta

DURATION_UNITS_SECONDS: dict[str, int] = {
    "y": 365 * 86400,
    "w": 7 * 86400,
    "d": 86400,
    "h": 3600,
    "m": 60,
    "s": 1,
}
"""Seconds per unit, largest first: the order units must appear in, as in Prometheus."""

DURATION_PATTERN = "^([0-9]+y)?([0-9]+w)?([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?$"
"""The shape of a duration; shared by the pydantic models and the generated CRD ``pattern``."""

DURATION_MAX_LENGTH = 32

_DURATION_RE = re.compile(DURATION_PATTERN)
_COMPONENT_RE = re.compile(r"([0-9]+)([ywdhms])")

_NOMINAL_UNITS = frozenset({"y", "w", "d"})


@dataclass(frozen=True)
class CalendarDuration:
    """A duration split for calendar arithmetic: whole nominal days plus an exact remainder."""

    days: int
    exact: timedelta


def _components(text: str) -> list[tuple[int, str]]:
    if not text or _DURATION_RE.fullmatch(text) is None:
        raise ValueError(
            f"invalid duration {text!r}: expected Prometheus style such as 30s, 5m, 1h30m or 30d "
            "(units y, w, d, h, m, s, largest first, each at most once)"
        )
    return [(int(number), unit) for number, unit in _COMPONENT_RE.findall(text)]


@functools.lru_cache(maxsize=4096)
def parse_duration(text: str) -> timedelta:
    """Exact length of a duration (``1d`` = 24 h). Raises ValueError naming the bad value."""
    seconds = sum(number * DURATION_UNITS_SECONDS[unit] for number, unit in _components(text))
    if seconds <= 0:
        raise ValueError(f"invalid duration {text!r}: must be greater than zero")
    return timedelta(seconds=seconds)


def parse_calendar_duration(text: str) -> CalendarDuration:
    """Calendar reading of a duration: ``y``/``w``/``d`` as nominal days, ``h``/``m``/``s`` exact."""
    parse_duration(text)
    days = 0
    exact_seconds = 0
    for number, unit in _components(text):
        if unit in _NOMINAL_UNITS:
            days += number * DURATION_UNITS_SECONDS[unit] // 86400
        else:
            exact_seconds += number * DURATION_UNITS_SECONDS[unit]
    return CalendarDuration(days=days, exact=timedelta(seconds=exact_seconds))


def format_duration(value: timedelta) -> str:
    """Shortest Prometheus-style spelling of a whole number of seconds (``5400s`` -> ``1h30m``).

    Years and weeks are not used, so a formatted value reads the way SREs write windows (``30d``).
    """
    remaining = int(value.total_seconds())
    if remaining <= 0 or remaining != value.total_seconds():
        raise ValueError(f"cannot format {value!r}: durations are positive whole seconds")
    parts: list[str] = []
    for unit in ("d", "h", "m", "s"):
        count, remaining = divmod(remaining, DURATION_UNITS_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)
