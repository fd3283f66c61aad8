"""What slogate writes on a workload to explain a decision, and to remember what it did (the keys
are the wire contract, in ``slogate.api.wire``).

The annotations are the durable record: a person reads them with ``kubectl describe``, Argo CD
shows them, and a restarted operator reads ``held`` and ``rolled-back-to`` to know which pause is
its own and which rollback it already made. Nothing here performs I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime

from slogate.api.gate import Verdict
from slogate.api.wire import (
    ACTION_REQUIRED_ANNOTATION,
    DECIDED_AT_ANNOTATION,
    DECISION_ANNOTATION,
    DRY_RUN_DECISION_ANNOTATION,
    EXPECTED_CLEAR_ANNOTATION,
    GATE_ANNOTATION,
    HELD_ANNOTATION,
    HELD_BY_ANNOTATION,
    HELD_BY_OPERATOR,
    HELD_LATE_ANNOTATION,
    HELD_SINCE_ANNOTATION,
    HELD_TEMPLATE_ANNOTATION,
    REASON_ANNOTATION,
    RELEASED_AT_ANNOTATION,
    REVISION_ANNOTATION,
    SLO_STATE_ANNOTATION,
    format_time,
)
from slogate.domain.checks import Reason
from slogate.domain.verdict import Decision

MAX_REASON_LENGTH = 2048


def described(reason: Reason) -> str:
    """One reason as written on a workload: its source, then what it found."""
    return f"{reason.source + ': ' if reason.source else ''}{reason.message}"


def explanation(decision: Decision) -> str:
    """The blocking reasons in one line, or why the workload may proceed. Waived reasons (exempt
    change types, a break-glass override) are always named: they are the audit trail of a release
    that went through despite them."""
    waived = [described(reason) for reason in decision.reasons if reason.waived]
    blocking = [described(reason) for reason in decision.blocking_reasons]
    text = "; ".join(blocking) if blocking else "all checks pass"
    if waived:
        text += "; waived: " + "; ".join(waived)
    return text if len(text) <= MAX_REASON_LENGTH else text[: MAX_REASON_LENGTH - 1] + "…"


def deciding_gates(decision: Decision) -> tuple[str, ...]:
    """The ReleaseGates whose rules block the workload, sorted; empty when nothing blocks it."""
    return tuple(sorted({reason.gate for reason in decision.blocking_reasons if reason.gate}))


def decision_annotations(
    decision: Decision, revision: str | None, slo_states: dict[str, str], now: datetime
) -> dict[str, str | None]:
    """The marker annotations for a decision; None removes an annotation that no longer applies.
    The decision recorded is the one the workload is left at: Resume lifts slogate's hold and
    leaves it at Proceed, so recording Resume would only be rewritten by the next reconcile."""
    settled = Verdict.PROCEED if decision.enforced_action is Verdict.RESUME else decision.enforced_action
    return {
        DECISION_ANNOTATION: settled.value,
        DRY_RUN_DECISION_ANNOTATION: None if decision.enforced else decision.action.value,
        REASON_ANNOTATION: explanation(decision),
        DECIDED_AT_ANNOTATION: format_time(now),
        REVISION_ANNOTATION: revision,
        SLO_STATE_ANNOTATION: ", ".join(f"{name}={state}" for name, state in sorted(slo_states.items()))
        or None,
        GATE_ANNOTATION: ", ".join(deciding_gates(decision)) or None,
        EXPECTED_CLEAR_ANNOTATION: format_time(decision.expected_clear_at)
        if decision.expected_clear_at
        else None,
    }


def hold_annotations(now: datetime) -> dict[str, str | None]:
    """The hold the operator places itself. Whether it came late (admission should have held the
    change and did not) is found after the hold and written then, in ``HELD_LATE_ANNOTATION``."""
    return {
        HELD_ANNOTATION: "true",
        HELD_SINCE_ANNOTATION: format_time(now),
        HELD_BY_ANNOTATION: HELD_BY_OPERATOR,
        HELD_LATE_ANNOTATION: None,
    }


def release_annotations(released_at: datetime | None = None) -> dict[str, str | None]:
    """Lift slogate's hold marks. ``released_at`` is given when the workload is one a GitOps tool
    syncs, so a pause it writes back soon after is known for the echo it is; None removes it."""
    return {
        RELEASED_AT_ANNOTATION: format_time(released_at) if released_at is not None else None,
        HELD_ANNOTATION: None,
        HELD_SINCE_ANNOTATION: None,
        HELD_BY_ANNOTATION: None,
        HELD_LATE_ANNOTATION: None,
        EXPECTED_CLEAR_ANNOTATION: None,
        HELD_TEMPLATE_ANNOTATION: None,
        ACTION_REQUIRED_ANNOTATION: None,
    }


_MEASURED_NUMBER = re.compile(r"(?<![\w.:-])\d+(\.\d+)?%?")


def without_measurements(reason: str | None) -> str | None:
    """A reason with its measured numbers blanked: "burn rate is 28.17" and "burn rate is 27.74"
    are the same reason. Times (12:00:00, 2026-12-24) are kept: a new end is a new reason."""
    return None if reason is None else _MEASURED_NUMBER.sub("#", reason)


def differs(current: Mapping[str, str], wanted: Mapping[str, str | None]) -> bool:
    """Whether ``wanted`` records a different decision than the one on the workload: anything but
    the decision time and the measured numbers in the reason (a burn that moves from 28 to 27 is
    the same decision; writing it every cycle would be an Event every cycle)."""
    for key, value in wanted.items():
        if key == DECIDED_AT_ANNOTATION:
            continue
        if key == REASON_ANNOTATION:
            if without_measurements(current.get(key)) != without_measurements(value):
                return True
        elif current.get(key) != value:
            return True
    return False
