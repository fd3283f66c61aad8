"""The HoldSet resource: the holds in force in one namespace, kept by the operator for admission.

Admission cannot run the operator's code: a MutatingAdmissionPolicy is CEL inside the API server.
So the operator turns its decisions into data the policy can evaluate: one HoldSet per namespace
(named ``slogate``) listing every hold in force there, each with the label selectors a workload
must match to be held, the selectors that exempt it, and the change types that pass anyway. The
policy (``slogate.api.admission``) and the fallback webhook (``slogate.domain.admission``) both
evaluate exactly this list. People read it; only the operator writes it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from slogate.api.base import (
    AGE_COLUMN,
    Conditions,
    ExemptChangeType,
    LabelSelector,
    LabelSelectorRequirement,
    PrinterColumn,
    Resource,
    ResourceNames,
    SelectorOperator,
    SlogateModel,
    StatusModel,
)

HOLDSET_NAME = "slogate"
"""The one HoldSet of a namespace; the policy binding looks it up by this name."""


class HeldRequirement(SlogateModel):
    """A ``matchExpressions`` entry of a selector copied from a slogate resource (already validated
    there, so the HoldSet's schema carries no CEL: the API server prices nested rules per item)."""

    key: Annotated[str, StringConstraints(max_length=317)] = Field(description="The label key.")
    operator: SelectorOperator = Field(description="In, NotIn, Exists or DoesNotExist.")
    values: list[Annotated[str, StringConstraints(max_length=63)]] | None = Field(
        default=None, max_length=64, description="Label values, for In and NotIn."
    )


class HeldSelector(SlogateModel):
    """A label selector copied from a slogate resource."""

    match_labels: dict[str, Annotated[str, StringConstraints(max_length=63)]] | None = Field(
        default=None, max_length=64, description="Labels that must all be present with these values."
    )
    match_expressions: list[HeldRequirement] | None = Field(
        default=None, max_length=32, description="Requirements that must all hold."
    )

    @classmethod
    def of(cls, selector: LabelSelector) -> HeldSelector:
        return cls(
            match_labels=selector.match_labels,
            match_expressions=[
                HeldRequirement(key=item.key, operator=item.operator, values=item.values)
                for item in selector.match_expressions or ()
            ]
            or None,
        )

    def as_label_selector(self) -> LabelSelector:
        return LabelSelector(
            match_labels=self.match_labels,
            match_expressions=[
                LabelSelectorRequirement(key=item.key, operator=item.operator, values=item.values)
                for item in self.match_expressions or ()
            ]
            or None,
        )


class HoldRule(SlogateModel):
    """One hold: a workload matching every ``match`` selector and no ``unless`` selector is held,
    unless its pod template declares one of ``exemptChangeTypes``."""

    source: Annotated[str, StringConstraints(min_length=1, max_length=320)] = Field(
        description="What holds: ChangeFreeze/NAME, Incident/NAME, ServiceLevelObjective/NAME or check/NAME."
    )
    gate: Annotated[str, StringConstraints(max_length=253)] | None = Field(
        default=None, description="The ReleaseGate whose rule this is; unset for the built-in policy."
    )
    message: Annotated[str, StringConstraints(min_length=1, max_length=1024)] = Field(
        description="Why, as written on a held workload."
    )
    since: datetime = Field(description="Since when the hold has been in force.")
    clears_at: datetime | None = Field(default=None, description="When it is expected to end, if known.")
    match: list[HeldSelector] = Field(
        max_length=3, description="Selectors of workload labels that must all match."
    )
    unless: list[HeldSelector] = Field(
        default_factory=list,
        max_length=16,
        description="Selectors of workload labels that exempt a workload.",
    )
    exempt_change_types: list[ExemptChangeType] = Field(
        default_factory=list, max_length=2, description="Change types that pass this hold (audited)."
    )


class HoldSetSpec(SlogateModel):
    """Every hold in force in the namespace."""

    holds: list[HoldRule] = Field(default_factory=list, max_length=64, description="The holds.")


class AdmissionMode(StrEnum):
    """How a deploy that arrives during a hold is held, as a HoldSet's ``status.enforcedBy`` says."""

    POLICY = "MutatingAdmissionPolicy"
    WEBHOOK = "Webhook"
    RECONCILE = "Reconcile"


class HoldSetStatus(StatusModel):
    """How the holds are enforced."""

    enforced_by: str | None = Field(
        default=None,
        description="MutatingAdmissionPolicy, Webhook, or Reconcile (no admission: held after the fact).",
    )
    conditions: Conditions = Field(default_factory=list, description="Enforced.")


class HoldSet(Resource):
    """The holds in force in one namespace, kept by the slogate operator so that a deploy arriving
    during a hold is paused in the same write (admission). Written by the operator only."""

    names: ClassVar[ResourceNames] = ResourceNames(
        kind="HoldSet",
        plural="holdsets",
        short_names=("sghold",),
        printer_columns=(
            PrinterColumn("Enforced-By", ".status.enforcedBy", "string", "How holds are enforced."),
            AGE_COLUMN,
        ),
    )

    kind: Literal["HoldSet"] = "HoldSet"
    spec: HoldSetSpec = Field(description="The holds.")
    status: HoldSetStatus | None = Field(default=None, description="How they are enforced.")
