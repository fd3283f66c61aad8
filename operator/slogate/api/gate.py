"""The ReleaseGate resource: what a promotion of a set of workloads needs, and what to do otherwise.

A gate reads the SLOs that protect each workload it governs, the freezes and incidents that apply to
it, and optional extra PromQL checks. The decision itself is made by ``slogate.domain.verdict``;
this module only describes the policy and the status the operator reports.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal, get_args

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, model_validator

from slogate.api.base import (
    AGE_COLUMN,
    CEL_RULES,
    SERVER_DEFAULT,
    ChangeType,
    Conditions,
    Duration,
    ExemptChangeType,
    LabelSelector,
    PrinterColumn,
    PromQL,
    Resource,
    ResourceNames,
    SlogateModel,
    StatusModel,
    WorkloadReference,
    cel,
    cel_duration_seconds,
)
from slogate.api.durations import parse_duration
from slogate.api.incident import Severity
from slogate.api.promql import require_promql


class Mode(StrEnum):
    ENFORCE = "Enforce"
    DRY_RUN = "DryRun"


class NoDataPolicy(StrEnum):
    PROCEED = "Proceed"
    HOLD = "Hold"


class DuringRolloutAction(StrEnum):
    HOLD = "Hold"
    ROLLBACK = "Rollback"


class Verdict(StrEnum):
    """What slogate decides for a workload."""

    PROCEED = "Proceed"
    HOLD = "Hold"
    ROLLBACK = "Rollback"
    RESUME = "Resume"


class Comparison(StrEnum):
    LESS_THAN = "LessThan"
    LESS_THAN_OR_EQUAL = "LessThanOrEqual"
    GREATER_THAN = "GreaterThan"
    GREATER_THAN_OR_EQUAL = "GreaterThanOrEqual"


class ExtraCheck(SlogateModel):
    """A PromQL query whose single value must compare with a threshold for a promotion to proceed."""

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)] = (
        Field(description="Name of the check, shown in verdicts.")
    )
    query: Annotated[PromQL, AfterValidator(require_promql)] = Field(
        description='PromQL returning one value, e.g. max(queue_depth{app="checkout"}).'
    )
    comparison: Comparison = Field(description="How the value must compare with threshold to pass.")
    threshold: float = Field(description="The value compared against.")


class OnViolation(SlogateModel):
    """What to do with a workload when a check fails."""

    before_rollout: Literal["Hold"] = Field(
        default="Hold",
        description="Before a rollout starts: Hold (queue it, paused, until the checks pass).",
    )
    during_rollout: DuringRolloutAction = Field(
        default=DuringRolloutAction.HOLD,
        description="While a rollout is in progress: Hold (pause it) or Rollback (abort a Rollout, undo a "
        "Deployment). Only measured health rolls back (burn rate, the release's own budget, extra "
        "checks); freezes, incidents, low budget left and missing data always hold: a rollback is a "
        "change too.",
    )


class GateExemptions(SlogateModel):
    """Changes the gate's health checks do not stop."""

    change_types: list[ExemptChangeType] = Field(
        default_factory=lambda: list(get_args(ExemptChangeType)),
        max_length=2,
        description="Change types (from the slogate.dev/change-type annotation on the pod template) "
        "exempt from the error-budget and extra checks: reliability and emergency by default. "
        "emergency changes also pass freezes and incidents. An empty list exempts nothing.",
    )


class BreakGlassOverride(SlogateModel):
    """Let promotions through whatever the checks say, until it expires. Audited on every decision."""

    model_config = ConfigDict(
        json_schema_extra={
            CEL_RULES: [
                cel(
                    "self.by.trim().size() > 0 && self.reason.trim().size() > 0",
                    "by and reason must not be blank",
                    ".reason",
                )
            ]
        }
    )

    by: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="Who is breaking the glass."
    )
    reason: Annotated[str, StringConstraints(min_length=1, max_length=1024)] = Field(
        description="Why; recorded with every decision the override changes."
    )
    expires: datetime = Field(description="When the override stops applying (RFC 3339).")
    selector: LabelSelector | None = Field(
        default=None, description="Only the governed workloads matching this; all of them when unset."
    )

    @model_validator(mode="after")
    def _not_blank(self) -> BreakGlassOverride:
        if not self.by.strip() or not self.reason.strip():
            raise ValueError("by and reason must not be blank")
        return self


class ReleaseGateSpec(SlogateModel):
    """The conditions a promotion of the selected workloads must meet."""

    model_config = ConfigDict(
        json_schema_extra={
            CEL_RULES: [
                cel(
                    "!has(self.burnRateWindow) || !has(self.burnRateShortWindow) || "
                    f"{cel_duration_seconds('self.burnRateShortWindow')} <= "
                    f"{cel_duration_seconds('self.burnRateWindow')}",
                    "burnRateShortWindow must be no longer than burnRateWindow",
                    ".burnRateShortWindow",
                )
            ]
        }
    )

    selector: LabelSelector = Field(
        description="Deployments and Rollouts in this namespace the gate governs. {} selects them all."
    )
    mode: Mode = Field(
        default=Mode.ENFORCE,
        json_schema_extra={SERVER_DEFAULT: True},
        description="Enforce, or DryRun: decide and report, but never hold or roll back.",
    )
    max_burn_rate: float | None = Field(
        default=None,
        gt=0,
        description="Hold while a protecting SLO burns faster than this, e.g. 4, over both "
        "burnRateWindow (the burn is significant) and burnRateShortWindow (it is still happening). "
        "Unset: not checked.",
    )
    burn_rate_window: Duration | None = Field(
        default=None,
        description="The long window maxBurnRate is read over, e.g. 1h. Unset: the SLO's shortest "
        "policy short window (5m for the defaults of a 30d SLO).",
    )
    burn_rate_short_window: Duration | None = Field(
        default=None,
        description="The short window maxBurnRate is read over, so a burn that has ended stops holding "
        "at once. Unset: a twelfth of burnRateWindow (1h: 5m), but no shorter than the SLO's shortest "
        "policy window and no longer than burnRateWindow.",
    )
    require_no_page_alert: bool = Field(
        default=False,
        description="Also hold while a page-severity burn-rate policy of a protecting SLO fires (its "
        "long and short windows both at or above its burnRate, the SRE Workbook's fast-burn alerts "
        "by default). Defaults to false.",
    )
    min_budget_remaining: float | None = Field(
        default=None,
        ge=0,
        le=100,
        description="Hold when a protecting SLO has less than this percentage of its error budget left. "
        "Unset: not checked.",
    )
    max_budget_consumed_per_release: float | None = Field(
        default=20.0,
        gt=0,
        le=100,
        description="Percentage of an SLO's error budget one release may consume. A rollout that "
        "consumes more is stopped (onViolation.duringRollout), and further promotions are held until "
        "that release's burn leaves the SLO window. Defaults to 20.",
    )
    require_no_active_freeze: bool = Field(
        default=True, description="Hold while a ChangeFreeze applies to the workload. Defaults to true."
    )
    incident_severity_threshold: Severity = Field(
        default=Severity.P2,
        description="Hold while an open Incident of this severity or more severe affects the workload "
        "(unless the incident sets holdsPromotions). Defaults to P2.",
    )
    checks: list[ExtraCheck] | None = Field(
        default=None, max_length=8, description="Extra PromQL checks that must pass."
    )
    on_no_data: NoDataPolicy = Field(
        default=NoDataPolicy.PROCEED,
        description="What a check does when its SLO or query has no data (no traffic, NaN, below "
        "minRequestRate): Proceed (default; the reason is still reported) or Hold.",
    )
    on_query_failed: NoDataPolicy = Field(
        default=NoDataPolicy.HOLD,
        description="What a check does when Prometheus refused its SLO's query (a PromQL error, a "
        "sample or time limit): Hold (default; a broken query is not a quiet service) or Proceed. The "
        "SLO's Ready condition carries Prometheus' error.",
    )
    on_violation: OnViolation = Field(
        default_factory=OnViolation, description="What to do before and during a rollout."
    )
    exemptions: GateExemptions = Field(
        default_factory=GateExemptions, description="Change types the health checks let through."
    )
    override: BreakGlassOverride | None = Field(
        default=None, description="Break-glass: let promotions through until expires."
    )

    @model_validator(mode="after")
    def _short_window_within_long(self) -> ReleaseGateSpec:
        if (
            self.burn_rate_window
            and self.burn_rate_short_window
            and parse_duration(self.burn_rate_short_window) > parse_duration(self.burn_rate_window)
        ):
            raise ValueError(
                f"burnRateShortWindow ({self.burn_rate_short_window}) must be no longer than "
                f"burnRateWindow ({self.burn_rate_window})"
            )
        return self


class CheckKind(StrEnum):
    """Which rule a reason comes from."""

    BURN_RATE = "BurnRate"
    PAGE_ALERT = "PageAlert"
    BUDGET_REMAINING = "BudgetRemaining"
    RELEASE_BUDGET = "ReleaseBudget"
    EXTRA_CHECK = "ExtraCheck"
    FREEZE = "Freeze"
    INCIDENT = "Incident"
    OVERRIDE = "Override"


class VerdictReason(StatusModel):
    """One check behind a verdict, with the values it was decided on."""

    check: CheckKind = Field(description="The rule checked.")
    gate: str | None = Field(default=None, description="The ReleaseGate whose rule it is.")
    source: str | None = Field(
        default=None, description="The object the value came from, e.g. ServiceLevelObjective/checkout."
    )
    passed: bool = Field(description="Whether the check let the promotion through.")
    waived: bool = Field(
        default=False, description="Failed, but waived by an exempt change type or a break-glass override."
    )
    enforced: bool = Field(default=True, description="False when the gate is in DryRun.")
    message: str = Field(description="What was found.")
    observed: str | None = Field(default=None, description="The measured value.")
    limit: str | None = Field(default=None, description="The value it was compared with.")
    clears_at: datetime | None = Field(default=None, description="When this is expected to stop blocking.")


class WorkloadVerdict(StatusModel):
    """The decision for one workload."""

    workload: WorkloadReference = Field(description="The workload.")
    verdict: Verdict = Field(description="Proceed, Hold, Rollback or Resume, as decided.")
    enforced: bool = Field(description="False when the verdict comes only from DryRun gates.")
    enforced_verdict: Verdict = Field(description="What slogate actually does, counting Enforce gates only.")
    change_type: ChangeType | None = Field(default=None, description="The release's declared change type.")
    rollout_in_progress: bool = Field(default=False, description="Whether a rollout was under way.")
    reasons: list[VerdictReason] = Field(default_factory=list, description="Every check and its values.")
    expected_clear_time: datetime | None = Field(
        default=None, description="When every blocking reason is expected to clear, when known."
    )
    last_transition_time: datetime | None = Field(default=None, description="When the verdict last changed.")


class ReleaseGateStatus(StatusModel):
    """The gate's decisions. Written by slogate; never set it by hand."""

    observed_generation: int | None = Field(default=None, description="The generation last evaluated.")
    mode: Mode | None = Field(default=None, description="The mode in force.")
    verdict: Verdict | None = Field(
        default=None, description="The most severe verdict across governed workloads."
    )
    held_count: int | None = Field(default=None, description="Governed workloads held or rolled back.")
    override_active: bool | None = Field(
        default=None, description="Whether the break-glass override applies."
    )
    workloads: list[WorkloadVerdict] = Field(default_factory=list, description="Verdict per workload.")
    last_evaluation_time: datetime | None = Field(default=None, description="When last evaluated.")
    conditions: Conditions = Field(default_factory=list, description="Valid and Ready conditions.")


class ReleaseGate(Resource):
    """A release gate: holds, pauses or rolls back the selected workloads' releases while their SLOs
    burn, a change freeze is in force or an incident is open."""

    names: ClassVar[ResourceNames] = ResourceNames(
        kind="ReleaseGate",
        plural="releasegates",
        short_names=("sggate",),
        printer_columns=(
            PrinterColumn("Verdict", ".status.verdict", "string", "Most severe verdict."),
            PrinterColumn("Mode", ".spec.mode", "string", "Enforce or DryRun."),
            PrinterColumn("Held", ".status.heldCount", "integer", "Workloads held or rolled back."),
            PrinterColumn("Override", ".status.overrideActive", "boolean", "Break-glass in force.", 1),
            AGE_COLUMN,
        ),
    )

    kind: Literal["ReleaseGate"] = "ReleaseGate"
    spec: ReleaseGateSpec = Field(description="What a promotion needs.")
    status: ReleaseGateStatus | None = Field(default=None, description="Decisions.")
