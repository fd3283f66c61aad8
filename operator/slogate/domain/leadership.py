"""Leader election: may this replica hold the operator's Lease?

Several replicas watch the cluster; only the one holding the coordination.k8s.io/v1 Lease acts.
This is the rule every replica applies to the Lease as it reads it, before it writes itself in as
the holder: the write carries the resourceVersion it read, so of two replicas that both find the
Lease free, the API server lets exactly one write succeed. Pure: ``now`` is an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class LeaseRecord:
    """The fields of a Lease that decide who may hold it."""

    holder: str | None
    renewed: datetime | None
    duration: timedelta | None


def may_hold(lease: LeaseRecord | None, identity: str, now: datetime) -> bool:
    """True when the Lease is absent, held by no one, held by ``identity``, or expired.

    A Lease whose holder never recorded a renewal or a duration proves nobody alive, so it counts
    as expired rather than blocking every replica for ever.
    """
    if lease is None or not lease.holder or lease.holder == identity:
        return True
    if lease.renewed is None or lease.duration is None:
        return True
    return now >= lease.renewed + lease.duration
