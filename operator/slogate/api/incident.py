"""The Incident resource: an open incident holds promotions of the workloads it affects.

Severity P1 is the most severe. Whether an incident holds promotions is decided by the gates that
govern a workload (their ``incidentSeverityThreshold``, P2 by default) unless the incident itself
says otherwise with ``holdsPromotions``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from slogate.api.base import (
    AGE_COLUMN,
    SERVER_DEFAULT,
    Conditions,
    LabelSelector,
    PrinterColumn,
    Resource,
    ResourceNames,
    SlogateModel,
    StatusModel,
    WorkloadReference,
)


class Severity(StrEnum):
    """Incident severity; P1 is the most severe."""

    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """1 for P1 (most severe) to 4 for P4; lower is more severe."""
        return int(self.value[1])

    def at_or_above(self, threshold: Severity) -> bool:
        """True when this severity is as severe as ``threshold`` or more (P1 is at or above P2)."""
        return self.rank <= threshold.rank


class IncidentState(StrEnum):
    DETECTED = "Detected"
    TRIAGED = "Triaged"
    MITIGATING = "Mitigating"
    RESOLVED = "Resolved"
    CLOSED = "Closed"

    @property
    def is_open(self) -> bool:
        """Detected, Triaged and Mitigating are open; Resolved and Closed are not."""
        return self in (IncidentState.DETECTED, IncidentState.TRIAGED, IncidentState.MITIGATING)


class IncidentSpec(SlogateModel):
    """An incident and the services it affects."""

    severity: Severity = Field(description="P1 (most severe) to P4.")
    title: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="One line saying what is wrong."
    )
    description: Annotated[str, StringConstraints(max_length=8192)] | None = Field(
        default=None, description="What is known so far."
    )
    state: IncidentState = Field(
        default=IncidentState.DETECTED,
        json_schema_extra={SERVER_DEFAULT: True},
        description="Detected, Triaged, Mitigating (open: may hold promotions), Resolved or Closed.",
    )
    commander: Annotated[str, StringConstraints(max_length=256)] | None = Field(
        default=None, description="The incident commander."
    )
    started_at: datetime | None = Field(
        default=None, description="When the impact began, if earlier than the resource's creation."
    )
    affected_selector: LabelSelector = Field(
        description="The affected services: Deployments and Rollouts by label. {} selects them all."
    )
    namespace_selector: LabelSelector | None = Field(
        default=None,
        description="Namespaces whose workloads are affected. Honoured only for incidents in the "
        "operator's platform namespace; elsewhere an incident affects its own namespace only.",
    )
    holds_promotions: bool | None = Field(
        default=None,
        description="true: hold promotions of affected workloads while open, whatever the severity; "
        "false: never hold. Unset: hold when the severity is at or above the governing gate's "
        "incidentSeverityThreshold (P2 by default).",
    )


class TimelineEntry(StatusModel):
    """One step of the incident's life."""

    time: datetime = Field(description="When it happened.")
    state: IncidentState = Field(description="The state entered.")
    message: str | None = Field(default=None, description="What happened.")


class ImageChange(StatusModel):
    """A container image that a deployment changed."""

    container: str = Field(description="Container name.")
    previous: str | None = Field(default=None, description="Image before the deployment.")
    current: str = Field(description="Image after the deployment.")


class RecentDeployment(StatusModel):
    """A recent deployment of an affected workload: the usual suspect list."""

    workload: WorkloadReference = Field(description="The workload deployed.")
    revision: str = Field(description="Its revision (deployment.kubernetes.io/revision or rollout's).")
    time: datetime = Field(description="When the revision was created.")
    images: list[ImageChange] = Field(default_factory=list, description="Images the revision changed.")
    owner: str | None = Field(default=None, description="Who made the change, when known.")


class IncidentStatus(StatusModel):
    """The incident as slogate tracks it. Written by slogate; never set it by hand."""

    observed_generation: int | None = Field(default=None, description="The generation last processed.")
    opened_at: datetime | None = Field(default=None, description="startedAt, or when slogate first saw it.")
    resolved_at: datetime | None = Field(default=None, description="When it entered Resolved or Closed.")
    duration: str | None = Field(default=None, description="Open for this long, e.g. 1h23m.")
    holding_promotions: bool | None = Field(default=None, description="Whether it holds promotions now.")
    affected_workloads: list[WorkloadReference] = Field(
        default_factory=list, description="Workloads the selectors match."
    )
    timeline: list[TimelineEntry] = Field(default_factory=list, description="State changes, oldest first.")
    recent_deployments: list[RecentDeployment] = Field(
        default_factory=list, description="The last three deployments of each affected workload."
    )
    conditions: Conditions = Field(default_factory=list, description="Valid and Ready conditions.")


class Incident(Resource):
    """An incident: while open, it holds promotions of the workloads it affects (P1 and P2 by
    default), and its status lists the recent deployments of those workloads."""

    names: ClassVar[ResourceNames] = ResourceNames(
        kind="Incident",
        plural="incidents",
        short_names=("sginc",),
        printer_columns=(
            PrinterColumn("Severity", ".spec.severity", "string", "P1 to P4."),
            PrinterColumn("State", ".spec.state", "string", "Detected to Closed."),
            PrinterColumn("Holding", ".status.holdingPromotions", "boolean", "Holds promotions now."),
            PrinterColumn("Title", ".spec.title", "string", "What is wrong.", priority=1),
            AGE_COLUMN,
        ),
    )

    kind: Literal["Incident"] = "Incident"
    spec: IncidentSpec = Field(description="The incident.")
    status: IncidentStatus | None = Field(default=None, description="Tracked state.")
