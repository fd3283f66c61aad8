"""The ChangeFreeze resource: a period in which releases of the selected workloads are held.

A freeze is one-shot (``start``/``end``, or a ``duration`` such as ``2h`` from ``start`` or from the
resource's creation) or recurring (an RRULE or a cron expression plus a duration) in an IANA time
zone. Deploys that arrive during a freeze are queued (held), not lost, and proceed when it ends; the
calendar maths lives in ``slogate.domain.calendar``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator

from slogate.api.base import (
    AGE_COLUMN,
    CEL_RULES,
    SERVER_DEFAULT,
    Conditions,
    Duration,
    ExemptChangeType,
    LabelSelector,
    PrinterColumn,
    Resource,
    ResourceNames,
    SchemaExtra,
    SlogateModel,
    StatusModel,
    WorkloadReference,
    cel,
)
from slogate.api.recurrence import CRON_SHAPE_PATTERN, RRULE_SHAPE_PATTERN, parse_cron, parse_rrule

TIME_ZONE_PATTERN = r"^[A-Za-z][-A-Za-z0-9_+]*(/[-A-Za-z0-9_+]+)*$"
_NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


def validate_time_zone(name: str) -> str:
    """Accept an IANA zone name such as Europe/Berlin; reject anything zoneinfo cannot load, and the
    machine-dependent pseudo-zones (localtime, posixrules)."""
    if name in _NOT_ZONES:
        raise ValueError(f"{name!r} is not an IANA time zone name")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"unknown time zone {name!r}: use an IANA name such as Europe/Berlin") from error
    return name


def _valid_rrule(text: str) -> str:
    parse_rrule(text)
    return text


def _valid_cron(text: str) -> str:
    parse_cron(text)
    return text


TimeZoneName = Annotated[
    str, StringConstraints(pattern=TIME_ZONE_PATTERN, max_length=64), AfterValidator(validate_time_zone)
]


class Recurrence(SlogateModel):
    """A repeating freeze: each occurrence of rrule or cron starts a window of duration."""

    model_config = ConfigDict(
        json_schema_extra={
            CEL_RULES: [cel("has(self.rrule) != has(self.cron)", "set exactly one of rrule or cron")]
        }
    )

    rrule: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=2048),
            AfterValidator(_valid_rrule),
            SchemaExtra(
                **{
                    CEL_RULES: [
                        cel(
                            f"self.matches(r'{RRULE_SHAPE_PATTERN}')",
                            "must be an RRULE such as FREQ=WEEKLY;BYDAY=FR;BYHOUR=16, optionally with "
                            "DTSTART/EXDATE/RDATE lines in local time (no TZID, no Z)",
                        ),
                        cel(
                            "self.matches('FREQ=(DAILY|WEEKLY|MONTHLY|YEARLY)')",
                            "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY",
                        ),
                    ]
                },
            ),
        ]
        | None
    ) = Field(
        default=None,
        description="An iCalendar RRULE in local time, e.g. FREQ=YEARLY;BYMONTH=12;BYMONTHDAY=20. FREQ "
        "is DAILY, WEEKLY, MONTHLY or YEARLY. Without a DTSTART line the rule starts Monday "
        "2024-01-01 00:00, so give BYDAY/BYHOUR/BYMINUTE explicitly. The API server checks only "
        "the shape; slogate reports an unparsable rule in the Valid condition.",
    )
    cron: (
        Annotated[
            str,
            StringConstraints(min_length=1, max_length=128),
            AfterValidator(_valid_cron),
            SchemaExtra(
                **{
                    CEL_RULES: [
                        cel(
                            f"self.matches(r'{CRON_SHAPE_PATTERN}')",
                            "must be five cron fields (minute hour day-of-month month day-of-week) or a "
                            "macro such as @daily",
                        )
                    ]
                }
            ),
        ]
        | None
    ) = Field(
        default=None,
        description="A five-field cron expression in local time (minute hour day-of-month month "
        'day-of-week), e.g. "0 18 * * FRI", or a macro such as @daily. The API server checks only '
        "the shape; slogate reports an invalid expression in the Valid condition.",
    )
    duration: Duration = Field(
        description="How long each occurrence lasts, e.g. 62h or 2d. Days and weeks are calendar days "
        "(a 1d freeze from 18:00 ends at 18:00 local even across a daylight-saving change); hours, "
        "minutes and seconds are exact, as in iCalendar."
    )

    @model_validator(mode="after")
    def _one_syntax(self) -> Recurrence:
        if (self.rrule is None) == (self.cron is None):
            raise ValueError("set exactly one of rrule or cron")
        return self


def _emergency_only() -> list[ExemptChangeType]:
    return ["emergency"]


class FreezeExemptions(SlogateModel):
    """Releases the freeze lets through."""

    change_types: list[ExemptChangeType] = Field(
        default_factory=_emergency_only,
        max_length=2,
        description="Change types (slogate.dev/change-type on the pod template) not frozen. Defaults "
        "to [emergency]; an empty list freezes everything.",
    )
    selector: LabelSelector | None = Field(
        default=None, description="Workloads the freeze never applies to, by label."
    )


class ChangeFreezeSpec(SlogateModel):
    """When releases are frozen, for which workloads, and why."""

    model_config = ConfigDict(
        json_schema_extra={
            CEL_RULES: [
                cel(
                    "!(has(self.recurrence) && (has(self.start) || has(self.end) || has(self.duration)))",
                    "set either recurrence or a one-shot window (start, end, duration), not both",
                ),
                cel(
                    "has(self.recurrence) || has(self.end) || has(self.duration)",
                    "a one-shot freeze needs end or duration (or set recurrence)",
                ),
                cel("!(has(self.end) && has(self.duration))", "set end or duration, not both", ".duration"),
                cel(
                    "!has(self.start) || !has(self.end) || self.end > self.start",
                    "end must be after start",
                    ".end",
                ),
            ]
        }
    )

    reason: Annotated[str, StringConstraints(min_length=1, max_length=1024)] = Field(
        description="Why releases are frozen; shown on every held workload."
    )
    time_zone: TimeZoneName = Field(
        default="UTC",
        json_schema_extra={SERVER_DEFAULT: True},
        description="IANA time zone of the schedule, e.g. Europe/Berlin. Recurrences follow its wall "
        "clock across daylight-saving changes. The API server checks only the shape; slogate reports an "
        "unknown zone in the Valid condition.",
    )
    start: datetime | None = Field(
        default=None, description="One-shot: when the freeze begins (RFC 3339). Defaults to creation."
    )
    end: datetime | None = Field(default=None, description="One-shot: when it ends (RFC 3339).")
    duration: Duration | None = Field(
        default=None, description="One-shot: how long from start (or from creation), e.g. 2h."
    )
    recurrence: Recurrence | None = Field(default=None, description="A repeating freeze.")
    selector: LabelSelector | None = Field(
        default=None, description="Deployments and Rollouts frozen, by label; all in scope when unset."
    )
    namespace_selector: LabelSelector | None = Field(
        default=None,
        description="Namespaces frozen. Honoured only for freezes in the operator's platform namespace; "
        "elsewhere a freeze applies to its own namespace only.",
    )
    exemptions: FreezeExemptions = Field(
        default_factory=FreezeExemptions, description="Releases the freeze lets through."
    )

    @field_validator("start", "end")
    @classmethod
    def _has_offset(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a UTC offset (RFC 3339), e.g. 2025-12-20T00:00:00+01:00")
        return value

    @model_validator(mode="after")
    def _one_kind_of_window(self) -> ChangeFreezeSpec:
        one_shot = self.start is not None or self.end is not None or self.duration is not None
        if self.recurrence is not None and one_shot:
            raise ValueError("set either recurrence or a one-shot window (start, end, duration), not both")
        if self.recurrence is None and self.end is None and self.duration is None:
            raise ValueError("a one-shot freeze needs end or duration (or set recurrence)")
        if self.end is not None and self.duration is not None:
            raise ValueError("set end or duration, not both")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class FreezeWindowStatus(StatusModel):
    """One period of a freeze."""

    start: datetime = Field(description="When it begins.")
    end: datetime = Field(description="When it ends.")


class ChangeFreezeStatus(StatusModel):
    """The freeze as slogate sees it. Written by slogate; never set it by hand."""

    observed_generation: int | None = Field(default=None, description="The generation last evaluated.")
    active: bool | None = Field(default=None, description="Whether the freeze is in force now.")
    current_window: FreezeWindowStatus | None = Field(default=None, description="The period in force.")
    next_window: FreezeWindowStatus | None = Field(default=None, description="The next period to start.")
    next_change: datetime | None = Field(
        default=None, description="When active next flips: the current end, or the next start."
    )
    held_workloads: list[WorkloadReference] = Field(
        default_factory=list, description="Workloads whose releases are queued by this freeze."
    )
    last_evaluation_time: datetime | None = Field(default=None, description="When last evaluated.")
    conditions: Conditions = Field(default_factory=list, description="Valid and Ready conditions.")


class ChangeFreeze(Resource):
    """A change freeze: while in force, releases of the selected workloads are held (queued) and
    proceed when it ends."""

    names: ClassVar[ResourceNames] = ResourceNames(
        kind="ChangeFreeze",
        plural="changefreezes",
        short_names=("sgfreeze",),
        printer_columns=(
            PrinterColumn("Active", ".status.active", "boolean", "In force now."),
            PrinterColumn("Next Change", ".status.nextChange", "string", "When active next flips."),
            PrinterColumn("Zone", ".spec.timeZone", "string", "Time zone of the schedule.", 1),
            PrinterColumn("Reason", ".spec.reason", "string", "Why releases are frozen."),
            AGE_COLUMN,
        ),
    )

    kind: Literal["ChangeFreeze"] = "ChangeFreeze"
    spec: ChangeFreezeSpec = Field(description="The freeze.")
    status: ChangeFreezeStatus | None = Field(default=None, description="Evaluated state.")
