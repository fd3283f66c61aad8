"""The wire contract outside the four resources' schemas: every ``slogate.dev/*`` annotation and label
key slogate reads or writes on objects, and the one text form of a time it writes.

Annotations are the durable record on workloads people own: a person reads them with ``kubectl
describe``, admission (the CEL policy and the webhook) writes the hold marks, and a restarted
operator reads ``held`` and ``rolled-back-to`` to know which pause is its own. Renaming a key here
is a breaking change for every cluster that already carries it.
"""

from __future__ import annotations

from datetime import UTC, datetime

PREFIX = "slogate.dev/"

# Declared by people, on a pod template: what kind of change a release is.
CHANGE_TYPE_ANNOTATION = PREFIX + "change-type"

# The hold marks, written by the operator or by admission in the write that changed the template.
HELD_ANNOTATION = PREFIX + "held"
HELD_SINCE_ANNOTATION = PREFIX + "held-since"
HELD_BY_ANNOTATION = PREFIX + "held-by"
"""Who placed the hold: ``admission`` (in the write that changed the template) or ``operator``."""
HELD_BY_ADMISSION = "admission"
HELD_BY_OPERATOR = "operator"
HELD_LATE_ANNOTATION = PREFIX + "held-late"
HELD_TEMPLATE_ANNOTATION = PREFIX + "held-template"
RELEASED_AT_ANNOTATION = PREFIX + "released-at"
"""When slogate last lifted its hold of a workload a GitOps tool syncs: a pause that tool writes
back soon after is the echo of that hold, not a pause of its own (``WorkloadState``)."""
ROLLED_BACK_TO_ANNOTATION = PREFIX + "rolled-back-to"

# The decision record the operator writes on a workload.
DECISION_ANNOTATION = PREFIX + "decision"
DECIDED_AT_ANNOTATION = PREFIX + "decided-at"
DRY_RUN_DECISION_ANNOTATION = PREFIX + "dry-run-decision"
REASON_ANNOTATION = PREFIX + "reason"
REVISION_ANNOTATION = PREFIX + "revision"
SLO_STATE_ANNOTATION = PREFIX + "slo-state"
GATE_ANNOTATION = PREFIX + "gate"
EXPECTED_CLEAR_ANNOTATION = PREFIX + "expected-clear"
ACTION_REQUIRED_ANNOTATION = PREFIX + "action-required"

# What ``slogate freeze`` and ``slogate unfreeze`` write on the ChangeFreezes they make and end.
CREATED_BY_LABEL = PREFIX + "created-by"
CREATED_BY_CLI = "slogate-cli"
REQUESTED_BY_ANNOTATION = PREFIX + "requested-by"
ENDED_BY_ANNOTATION = PREFIX + "ended-by"
ENDED_AT_ANNOTATION = PREFIX + "ended-at"


def format_time(moment: datetime) -> str:
    """A time as Kubernetes writes a metav1.Time: RFC 3339, whole seconds, ``Z`` for UTC
    (``2026-05-01T12:00:00Z``). Every time the operator makes is UTC; one given with another offset
    keeps it (a decision marker's receiver sees the time it was handed), and a naive one is UTC."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """An RFC 3339 time as the API server, kubectl or a person writes it, in UTC: ``Z`` or any
    offset, any number of fractional digits (a Lease's MicroTime, Go's nanoseconds), and a time
    without an offset taken as UTC. Raises ValueError for anything else."""
    moment = datetime.fromisoformat(text)
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def read_time(value: object) -> datetime | None:
    """A time field of an object as read, or None when it is absent, empty or not a time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_time(value)
    except ValueError:
        return None
