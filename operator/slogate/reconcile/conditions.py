"""Status conditions in the Kubernetes shape, keeping lastTransitionTime across unchanged writes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from slogate.api.base import CONDITION_READY, CONDITION_VALID, REASON_INVALID_SPEC, Condition, ConditionStatus
from slogate.api.validation import FieldProblem


def condition(
    *,
    kind: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    now: datetime,
    generation: int,
    previous: Iterable[Condition],
) -> Condition:
    """A condition whose transition time moves only when its status does."""
    before = next((existing for existing in previous if existing.type == kind), None)
    transition = before.last_transition_time if before is not None and before.status is status else now
    return Condition(
        type=kind,
        status=status,
        reason=reason,
        message=message,
        observed_generation=generation,
        last_transition_time=transition,
    )


def validity(
    *, problems: tuple[FieldProblem, ...], now: datetime, generation: int, previous: Iterable[Condition]
) -> Condition:
    previous = list(previous)
    if problems:
        message = (
            "; ".join(str(problem) for problem in problems) + ". Fix the spec; slogate ignores it until then."
        )
        return condition(
            kind=CONDITION_VALID,
            status=ConditionStatus.FALSE,
            reason=REASON_INVALID_SPEC,
            message=message,
            now=now,
            generation=generation,
            previous=previous,
        )
    return condition(
        kind=CONDITION_VALID,
        status=ConditionStatus.TRUE,
        reason="Valid",
        message="",
        now=now,
        generation=generation,
        previous=previous,
    )


def readiness(
    *, ready: bool, reason: str, message: str, now: datetime, generation: int, previous: Iterable[Condition]
) -> Condition:
    status = ConditionStatus.TRUE if ready else ConditionStatus.FALSE
    return condition(
        kind=CONDITION_READY,
        status=status,
        reason=reason,
        message=message,
        now=now,
        generation=generation,
        previous=previous,
    )


def previous_conditions(body: Mapping[str, Any]) -> list[Condition]:
    """The conditions already on an object, read from its raw body (it may not parse as a model)."""
    found = []
    for raw in (body.get("status") or {}).get("conditions") or []:
        try:
            found.append(Condition.model_validate(raw))
        except ValidationError:
            continue
    return found


def as_merge_patch(status: Mapping[str, Any], previous: Any) -> dict[str, Any]:
    """``status`` as a merge patch over the ``previous`` status: a key the new status no longer has
    (a measurement that is gone, a window that ended) is set to null, which removes it. Without
    this the API server would keep the old value, and slogate would read it back as current."""
    before = previous if isinstance(previous, Mapping) else {}
    return {**{key: None for key in before if key not in status}, **status}
