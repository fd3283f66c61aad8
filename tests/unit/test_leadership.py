"""The Lease rule: who may hold it, as a table and as properties over any times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slogate.domain.leadership import LeaseRecord, may_hold

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
FIFTEEN = timedelta(seconds=15)


@pytest.mark.parametrize(
    ("lease", "expected"),
    [
        (None, True),
        (LeaseRecord(holder=None, renewed=NOW, duration=FIFTEEN), True),
        (LeaseRecord(holder="", renewed=NOW, duration=FIFTEEN), True),
        (LeaseRecord(holder="me", renewed=NOW, duration=FIFTEEN), True),
        (LeaseRecord(holder="me", renewed=NOW - timedelta(hours=1), duration=FIFTEEN), True),
        (LeaseRecord(holder="other", renewed=NOW, duration=FIFTEEN), False),
        (LeaseRecord(holder="other", renewed=NOW - timedelta(seconds=14), duration=FIFTEEN), False),
        (LeaseRecord(holder="other", renewed=NOW - FIFTEEN, duration=FIFTEEN), True),
        (LeaseRecord(holder="other", renewed=NOW - timedelta(seconds=16), duration=FIFTEEN), True),
        (LeaseRecord(holder="other", renewed=NOW + timedelta(seconds=5), duration=FIFTEEN), False),
        (LeaseRecord(holder="other", renewed=None, duration=FIFTEEN), True),
        (LeaseRecord(holder="other", renewed=NOW, duration=None), True),
    ],
    ids=[
        "absent",
        "no holder",
        "empty holder",
        "own",
        "own, long expired",
        "other, just renewed",
        "other, one second left",
        "other, expires now",
        "other, expired",
        "other, renewed by a clock ahead of ours",
        "other, never renewed",
        "other, no duration",
    ],
)
def test_who_may_hold(lease: LeaseRecord | None, expected: bool) -> None:
    assert may_hold(lease, "me", NOW) is expected


times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))
durations = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(hours=1))
identities = st.text(min_size=1, max_size=20)


@given(renewed=times, duration=durations, holder=identities, identity=identities, elapsed=durations)
def test_another_holder_blocks_exactly_until_expiry(
    renewed: datetime, duration: timedelta, holder: str, identity: str, elapsed: timedelta
) -> None:
    lease = LeaseRecord(holder=holder, renewed=renewed, duration=duration)
    now = renewed + elapsed
    assert may_hold(lease, identity, now) is (holder == identity or elapsed >= duration)


@given(renewed=times, duration=durations, identity=identities, now=times)
def test_the_holder_may_always_renew(
    renewed: datetime, duration: timedelta, identity: str, now: datetime
) -> None:
    assert may_hold(LeaseRecord(holder=identity, renewed=renewed, duration=duration), identity, now)


@given(renewed=times, duration=durations, now=times)
def test_of_two_replicas_at_most_one_is_blocked_by_the_other(
    renewed: datetime, duration: timedelta, now: datetime
) -> None:
    """Whoever holds a live Lease keeps it; the other waits: never both blocked, never both free
    unless the Lease has expired."""
    lease = LeaseRecord(holder="a", renewed=renewed, duration=duration)
    a, b = may_hold(lease, "a", now), may_hold(lease, "b", now)
    assert a
    assert b is (now >= renewed + duration)
