"""The ServiceLevelObjective resource: what "reliable enough" means for a set of workloads.

An SLO names an objective over a rolling window, an indicator (exactly one of three kinds), the
workloads it protects, and the multiwindow burn-rate policies that turn measurements into alerts.
When no policies are given the SRE Workbook's defaults for a 30-day window are scaled to the SLO's
window, so a 30m test SLO behaves like a 30d production one, only faster.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints, field_validator, model_validator

from slogate.api.base import (
    AGE_COLUMN,
    CEL_RULES,
    SERVER_DEFAULT,
    Conditions,
    Duration,
    LabelSelector,
    PrinterColumn,
    PromQL,
    Resource,
    ResourceNames,
    SchemaExtra,
    SlogateModel,
    StatusModel,
    WorkloadReference,
    cel,
    cel_duration_seconds,
)
from slogate.api.durations import format_duration, parse_duration
from slogate.api.promql import promql_syntax_error, require_window_query

WindowQuery = Annotated[
    PromQL,
    AfterValidator(require_window_query),
    SchemaExtra(**{CEL_RULES: [cel("self.contains('$window')", "must contain the $window placeholder")]}),
]

METRIC_NAME_PATTERN = r"^[a-zA-Z_:][a-zA-Z0-9_:]*$"
BUCKET_BOUND_PATTERN = r"^[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$"


class RatioIndicator(SlogateModel):
    """Good/total or errors/total: two PromQL rates whose ratio is the SLI."""

    model_config = ConfigDict(
        json_schema_extra={
            CEL_RULES: [cel("has(self.good) != has(self.errors)", "set exactly one of good or errors")]
        }
    )

    good: WindowQuery | None = Field(
        default=None,
        description='Rate of good events, e.g. sum(rate(http_requests_total{code!~"5.."}[$window])). '
        "Exactly one of good or errors.",
    )
    errors: WindowQuery | None = Field(
        default=None,
        description='Rate of bad events, e.g. sum(rate(http_requests_total{code=~"5.."}[$window])). '
        "Exactly one of good or errors.",
    )
    total: WindowQuery = Field(
        description="Rate of all events, e.g. sum(rate(http_requests_total[$window])). Also the request "
        "rate compared with minRequestRate."
    )

    @model_validator(mode="after")
    def _one_numerator(self) -> RatioIndicator:
        if (self.good is None) == (self.errors is None):
            raise ValueError("set exactly one of good or errors")
        return self


class LatencyIndicator(SlogateModel):
    """Requests slower than a threshold are bad, read from a Prometheus histogram."""

    metric: Annotated[str, StringConstraints(pattern=METRIC_NAME_PATTERN, max_length=256)] = Field(
        description="Histogram base name without the _bucket/_count suffix, e.g. "
        "http_request_duration_seconds."
    )
    matchers: Annotated[str, StringConstraints(max_length=1024)] | None = Field(
        default=None,
        description='PromQL label matchers without braces, e.g. job="checkout",route!="/healthz".',
    )
    threshold: Annotated[str, StringConstraints(pattern=BUCKET_BOUND_PATTERN, max_length=32)] = Field(
        description="The bucket bound (le label) that separates good from bad, spelled exactly as the "
        'metric\'s le label, e.g. "0.3". Requests at or under it are good.'
    )

    @field_validator("matchers")
    @classmethod
    def _matchers_parse(cls, matchers: str | None) -> str | None:
        problem = promql_syntax_error(f"up{{{matchers}}}") if matchers else None
        if problem is not None:
            raise ValueError(f"not valid PromQL label matchers ({problem}): {matchers!r}")
        return matchers


class ErrorRatioIndicator(SlogateModel):
    """A query that already returns the error ratio (0 to 1)."""

    query: WindowQuery = Field(description="PromQL returning the error ratio over [$window], from 0 to 1.")
    request_rate: WindowQuery | None = Field(
        default=None,
        description="PromQL returning requests per second over [$window]; without it minRequestRate "
        "cannot apply and only an empty or NaN result counts as no data.",
    )


class Indicator(SlogateModel):
    """The service level indicator: exactly one of ratio, latency or errorRatio."""

    model_config = ConfigDict(
        json_schema_extra={
            CEL_RULES: [
                cel(
                    "[has(self.ratio), has(self.latency), has(self.errorRatio)].exists_one(k, k)",
                    "set exactly one indicator kind: ratio, latency or errorRatio",
                )
            ]
        }
    )

    ratio: RatioIndicator | None = Field(default=None, description="Good/total or errors/total queries.")
    latency: LatencyIndicator | None = Field(default=None, description="A latency threshold on a histogram.")
    error_ratio: ErrorRatioIndicator | None = Field(default=None, description="A raw error-ratio query.")

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> Indicator:
        kinds = [self.ratio, self.latency, self.error_ratio]
        if sum(kind is not None for kind in kinds) != 1:
            raise ValueError("set exactly one indicator kind: ratio, latency or errorRatio")
        return self


class AlertSeverity(StrEnum):
    PAGE = "page"
    TICKET = "ticket"


class BurnRatePolicy(SlogateModel):
    """A multiwindow burn-rate alert: fires when both windows burn faster than burnRate."""

    model_config = ConfigDict(
        json_schema_extra={
            CEL_RULES: [
                cel(
                    f"{cel_duration_seconds('self.shortWindow')} < {cel_duration_seconds('self.longWindow')}",
                    "shortWindow must be shorter than longWindow",
                    ".shortWindow",
                )
            ]
        }
    )

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)] = (
        Field(description="A name for the policy, unique within the SLO, e.g. page-fast.")
    )
    severity: AlertSeverity = Field(description="page (wake someone) or ticket (next working day).")
    burn_rate: float = Field(gt=0, le=10000, description="Burn-rate threshold, e.g. 14.4.")
    long_window: Duration = Field(description="The window that says the burn is significant, e.g. 1h.")
    short_window: Duration = Field(
        description="The window that says the burn is still happening, e.g. 5m; shorter than longWindow."
    )

    @model_validator(mode="after")
    def _short_before_long(self) -> BurnRatePolicy:
        if parse_duration(self.short_window) >= parse_duration(self.long_window):
            raise ValueError(
                f"shortWindow ({self.short_window}) must be shorter than longWindow ({self.long_window})"
            )
        return self


REFERENCE_WINDOW = timedelta(days=30)
_WORKBOOK_POLICIES = (
    ("page-fast", AlertSeverity.PAGE, 14.4, timedelta(hours=1), timedelta(minutes=5)),
    ("page-slow", AlertSeverity.PAGE, 6.0, timedelta(hours=6), timedelta(minutes=30)),
    ("ticket", AlertSeverity.TICKET, 1.0, timedelta(days=3), timedelta(hours=6)),
)


def _scaled(reference: timedelta, window: timedelta) -> str:
    seconds = max(1, math.floor(reference.total_seconds() * (window / REFERENCE_WINDOW) + 0.5))
    return format_duration(timedelta(seconds=seconds))


def default_policies(window: timedelta) -> tuple[BurnRatePolicy, ...]:
    """The SRE Workbook's multiwindow policies for 30 days (14.4x 1h/5m and 6x 6h/30m page, 1x 3d/6h
    ticket), with windows scaled by window/30d so each still spends the same share of the budget
    (2%, 5%, 10%). Windows are rounded to the nearest second and never go below one; a policy whose
    two windows would collapse into one is left out. For windows of minutes, rate() needs several
    scrape intervals per window: give policies explicitly there."""
    policies = []
    for name, severity, burn_rate, long_window, short_window in _WORKBOOK_POLICIES:
        long_text = _scaled(long_window, window)
        short_text = _scaled(short_window, window)
        if parse_duration(short_text) >= parse_duration(long_text):
            continue
        policies.append(
            BurnRatePolicy(
                name=name,
                severity=severity,
                burn_rate=burn_rate,
                long_window=long_text,
                short_window=short_text,
            )
        )
    return tuple(policies)


class ServiceLevelObjectiveSpec(SlogateModel):
    """What reliability a set of workloads must deliver, and how to measure it."""

    model_config = ConfigDict(
        json_schema_extra={
            CEL_RULES: [
                cel(
                    f"!has(self.policies) || self.policies.all(p, {cel_duration_seconds('p.longWindow')}"
                    f" <= {cel_duration_seconds('self.window')})",
                    "every policy's longWindow must be no longer than window",
                    ".policies",
                ),
                cel(
                    "!has(self.policies) || "
                    "self.policies.all(p, self.policies.exists_one(q, q.name == p.name))",
                    "policy names must be unique",
                    ".policies",
                ),
            ]
        }
    )

    description: Annotated[str, StringConstraints(max_length=1024)] | None = Field(
        default=None, description='What this SLO promises, in words, e.g. "Checkout requests succeed".'
    )
    objective: float = Field(
        gt=0, lt=100, description="Target percentage of good events, strictly between 0 and 100, e.g. 99.9."
    )
    window: Duration = Field(
        default="30d",
        json_schema_extra={SERVER_DEFAULT: True},
        description="Rolling window the objective and the error budget are measured over, e.g. 30d or, "
        "in tests, 30m.",
    )
    selector: LabelSelector = Field(
        description="Deployments and Rollouts in this namespace that this SLO protects, by label. "
        "{} selects them all."
    )
    indicator: Indicator = Field(description="How good and bad events are measured.")
    min_request_rate: float = Field(
        default=0.0,
        ge=0,
        description="Requests per second a window needs before its burn rate counts; below it the "
        "window reports no data. No traffic (an empty or NaN result) is always no data, never zero "
        "errors nor total failure. Defaults to 0 (any traffic counts).",
    )
    policies: list[BurnRatePolicy] | None = Field(
        default=None,
        min_length=1,
        max_length=8,
        description="Multiwindow burn-rate policies. Defaults to the SRE Workbook's (14.4x 1h/5m and "
        "6x 6h/30m page, 1x 3d/6h ticket for 30d), scaled to window.",
    )

    @model_validator(mode="after")
    def _policies_fit_window(self) -> ServiceLevelObjectiveSpec:
        window = parse_duration(self.window)
        names = [policy.name for policy in self.policies or ()]
        if len(set(names)) != len(names):
            raise ValueError("policy names must be unique")
        for policy in self.policies or ():
            if parse_duration(policy.long_window) > window:
                raise ValueError(
                    f"policy {policy.name}: longWindow ({policy.long_window}) must be no longer than "
                    f"window ({self.window})"
                )
        return self

    def effective_policies(self) -> tuple[BurnRatePolicy, ...]:
        """The policies in force: the given ones, or the scaled Workbook defaults."""
        if self.policies:
            return tuple(self.policies)
        return default_policies(parse_duration(self.window))


class SloState(StrEnum):
    HEALTHY = "Healthy"
    BURNING = "Burning"
    EXHAUSTED = "Exhausted"
    UNKNOWN = "Unknown"
    INVALID = "Invalid"


class WindowBurnRate(StatusModel):
    """Measurements over one window."""

    window: str = Field(description="The window measured.")
    burn_rate: float | None = Field(
        default=None, description="Error ratio / (1 - objective); absent: no data."
    )
    error_ratio: float | None = Field(default=None, description="Bad events / all events, 0 to 1.")
    request_rate: float | None = Field(default=None, description="Requests per second, when known.")
    no_data_reason: str | None = Field(
        default=None,
        description="Why the window has no burn rate: QueryFailed (Prometheus refused a query; see the "
        "Ready condition), NoSamples, NotANumber, NoTraffic or BelowMinRequestRate.",
    )
    source: str | None = Field(
        default=None,
        description="Raw (queried from the indicator's series) or Recorded (from slogate's recording "
        "rules); windows up to 1h are always raw.",
    )


class PolicyAlert(StatusModel):
    """The state of one burn-rate policy."""

    name: str = Field(description="The policy name.")
    severity: AlertSeverity = Field(description="page or ticket.")
    firing: bool = Field(description="True when both windows burn at or above the threshold.")
    burn_rate_threshold: float = Field(description="The policy's burnRate.")
    long_window: str = Field(description="The policy's long window.")
    short_window: str = Field(description="The policy's short window.")
    long_window_burn_rate: float | None = Field(default=None, description="Measured; absent: no data.")
    short_window_burn_rate: float | None = Field(default=None, description="Measured; absent: no data.")


class ResolvedQuery(StatusModel):
    """The PromQL slogate actually runs for one window."""

    window: str = Field(description="The window the queries are for.")
    error_ratio: str = Field(description="PromQL for the error ratio.")
    request_rate: str | None = Field(default=None, description="PromQL for requests per second.")


class ServiceLevelObjectiveStatus(StatusModel):
    """What the operator last measured. Written by slogate; never set it by hand."""

    observed_generation: int | None = Field(default=None, description="The generation last evaluated.")
    state: SloState | None = Field(
        default=None,
        description="Healthy, Burning (a policy fires), Exhausted (no budget left), Unknown (no data) or "
        "Invalid (the spec cannot be evaluated; see the Valid condition).",
    )
    sli: float | None = Field(default=None, description="Percentage of good events over the window.")
    error_budget_remaining_percent: float | None = Field(
        default=None, description="Share of the window's error budget left; negative when overspent."
    )
    burn_rate: float | None = Field(
        default=None, description="Burn rate over the shortest long window of the policies: the pace now."
    )
    burn_rates: list[WindowBurnRate] = Field(default_factory=list, description="Burn rate per window.")
    alerts: list[PolicyAlert] = Field(default_factory=list, description="State of each burn-rate policy.")
    resolved_queries: list[ResolvedQuery] = Field(default_factory=list, description="The queries run.")
    recorded_history: str | None = Field(
        default=None,
        description="How far back slogate's recorded series for this SLO reach (absent: none found). "
        "Windows longer than 1h that it covers are read from them; the others from raw data.",
    )
    selected_workloads: list[WorkloadReference] = Field(
        default_factory=list, description="The workloads the selector matched."
    )
    last_evaluation_time: datetime | None = Field(
        default=None, description="When the SLO was last evaluated."
    )
    conditions: Conditions = Field(default_factory=list, description="Valid and Ready conditions.")


class ServiceLevelObjective(Resource):
    """A service level objective: an objective, a rolling window, an indicator and the workloads it
    protects. slogate measures it in Prometheus and reports budget and burn rates in status."""

    names: ClassVar[ResourceNames] = ResourceNames(
        kind="ServiceLevelObjective",
        plural="servicelevelobjectives",
        short_names=("sgslo",),
        printer_columns=(
            PrinterColumn("Objective", ".spec.objective", "number", "Target percentage of good events."),
            PrinterColumn("Window", ".spec.window", "string", "Rolling window."),
            PrinterColumn(
                "Budget Left", ".status.errorBudgetRemainingPercent", "number", "Error budget left (%)."
            ),
            PrinterColumn("Burn Rate", ".status.burnRate", "number", "Burn rate now."),
            PrinterColumn("State", ".status.state", "string", "Healthy, Burning, Exhausted, Unknown."),
            AGE_COLUMN,
        ),
    )

    kind: Literal["ServiceLevelObjective"] = "ServiceLevelObjective"
    spec: ServiceLevelObjectiveSpec = Field(description="The objective and how to measure it.")
    status: ServiceLevelObjectiveStatus | None = Field(default=None, description="Measured state.")
