"""The one text form of a time: what the operator writes, and every form of it that it reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from slogate.api.wire import format_time, parse_time, read_time

NOON = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (NOON, "2026-05-01T12:00:00Z"),
        (NOON.replace(microsecond=654321), "2026-05-01T12:00:00Z"),
        (NOON.replace(tzinfo=None), "2026-05-01T12:00:00Z"),
        (NOON.astimezone(timezone(timedelta(hours=1))), "2026-05-01T13:00:00+01:00"),
    ],
)
def test_times_are_written_to_the_second(moment: datetime, text: str) -> None:
    assert format_time(moment) == text


@pytest.mark.parametrize(
    "text",
    [
        "2026-05-01T12:00:00Z",
        "2026-05-01T12:00:00+00:00",
        "2026-05-01T14:00:00+02:00",
        "2026-05-01T12:00:00",
        "2026-05-01T12:00:00.000000Z",
        "2026-05-01T12:00:00.000000000Z",
    ],
)
def test_every_rfc3339_form_reads_as_the_same_utc_time(text: str) -> None:
    assert parse_time(text) == NOON
    assert parse_time(text).tzinfo is UTC
    assert read_time(text) == NOON


@pytest.mark.parametrize("value", [None, "", "yesterday", 1714564800, NOON])
def test_what_is_not_a_time_string_reads_as_none(value: object) -> None:
    assert read_time(value) is None


def test_a_malformed_time_is_refused() -> None:
    with pytest.raises(ValueError, match="month"):
        parse_time("2026-13-01T00:00:00Z")


def test_what_is_written_reads_back() -> None:
    assert parse_time(format_time(NOON)) == NOON
