"""The pure validation function the operator calls on every object it reads, and at admission.

The API server enforces what the CRD schema and its CEL rules can say; some facts cannot be checked
there (that a time zone exists, that an RRULE or cron expression parses, that a query is PromQL).
The validating webhook refuses those objects at apply time where it is on; where it is off or was
not reached (it fails open), they are admitted and the operator marks them Invalid instead of acting
on them. This module gives both one answer: a list of problems, each naming the field
(``spec.recurrence.rrule``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from slogate.api.base import Resource
from slogate.api.kinds import RESOURCE_KINDS, by_kind


@dataclass(frozen=True)
class FieldProblem:
    """One reason an object is invalid."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class InvalidResourceError(ValueError):
    """Raised by parse_resource; carries every problem found."""

    def __init__(self, kind: str, problems: tuple[FieldProblem, ...]) -> None:
        self.kind = kind
        self.problems = problems
        super().__init__(f"invalid {kind}: " + "; ".join(str(problem) for problem in problems))


def _field_path(location: tuple[int | str, ...]) -> str:
    path = ""
    for segment in location:
        if isinstance(segment, int):
            path += f"[{segment}]"
        else:
            path += f".{segment}" if path else segment
    return path or "(root)"


def _message(error_message: str) -> str:
    prefix = "Value error, "
    return error_message.removeprefix(prefix)


def problems_from(error: ValidationError) -> tuple[FieldProblem, ...]:
    """Turn a pydantic error into field problems with Kubernetes-style paths."""
    return tuple(
        FieldProblem(field=_field_path(tuple(detail["loc"])), message=_message(detail["msg"]))
        for detail in error.errors(include_url=False)
    )


def parse_resource(body: Mapping[str, Any]) -> Resource:
    """Parse an object as read from the API server into its model, or raise InvalidResourceError."""
    kind = str(body.get("kind", ""))
    model = by_kind(kind)
    if model is None:
        raise InvalidResourceError(
            kind or "(no kind)",
            (FieldProblem("kind", f"must be one of {', '.join(sorted(RESOURCE_KINDS))}"),),
        )
    try:
        return model.model_validate(body)
    except ValidationError as error:
        raise InvalidResourceError(kind, problems_from(error)) from error


def admission_problems(
    operation: str, old: Mapping[str, Any] | None, body: Mapping[str, Any]
) -> tuple[FieldProblem, ...]:
    """What refuses a write at admission: the object's problems, except on an update that leaves the
    spec as it was. Such an update (a label, an annotation, a finalizer removed on deletion) cannot
    make the object worse, and refusing it would block metadata writes to an object admitted before
    validation was on; that object stays marked Invalid in its status instead."""
    if operation == "UPDATE" and old is not None and old.get("spec") == body.get("spec"):
        return ()
    return validation_problems(body)


def validation_problems(body: Mapping[str, Any]) -> tuple[FieldProblem, ...]:
    """Every problem with an object, empty when it is valid. Never raises for bad input."""
    try:
        parse_resource(body)
    except InvalidResourceError as error:
        return error.problems
    return ()
