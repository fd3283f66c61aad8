"""Shared building blocks of the four resources: the model base class, constrained scalar types,
Kubernetes label selectors and conditions, and the CRD metadata each resource declares.

Everything the CRD generator needs that pydantic cannot express on its own (CEL rules, intended
server-side defaults, list-map keys) is attached here as JSON-schema extras, so the models stay the
one source of truth for both the operator's validation and the API server's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.config import JsonDict
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from slogate.api.durations import (
    DURATION_MAX_LENGTH,
    DURATION_PATTERN,
    DURATION_UNITS_SECONDS,
    parse_duration,
)

GROUP = "slogate.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "slogate"

SERVER_DEFAULT = "x-slogate-server-default"
"""Schema marker: keep this field's default in the CRD. All other defaults live only in the models,
so that changing one later is a code change, not a migration of every stored object."""

CEL_RULES = "x-kubernetes-validations"


def cel(rule: str, message: str, field_path: str | None = None) -> JsonDict:
    """One CEL validation rule; ``field_path`` makes the API server name that field in its error."""
    entry: JsonDict = {"rule": rule, "message": message}
    if field_path is not None:
        entry["fieldPath"] = field_path
    return entry


def cel_duration_seconds(expression: str) -> str:
    """A CEL expression for the exact seconds of a duration string (CEL's own ``duration()`` has no
    ``d``/``w``/``y`` units). Relies on every unit being one distinct letter."""
    terms = [
        f"({expression}.matches('[0-9]+{unit}') ? "
        f"int({expression}.find('[0-9]+{unit}').replace('{unit}', '')) * {seconds} : 0)"
        for unit, seconds in DURATION_UNITS_SECONDS.items()
    ]
    return "(" + " + ".join(terms) + ")"


class SchemaExtra:
    """Annotation that adds keys (CEL rules, bounds) to a type's generated JSON schema."""

    def __init__(self, **extra: Any) -> None:
        self.extra = extra

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.extra)
        return schema


class SlogateModel(BaseModel):
    """Base of every spec and nested spec model: camelCase on the wire, immutable, strict keys."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        use_enum_values=False,
    )


class StatusModel(BaseModel):
    """Base of status models: written by the operator, so unknown keys (from a newer operator
    version) are ignored rather than rejected."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)


def _positive_duration(value: str) -> str:
    parse_duration(value)
    return value


Duration = Annotated[
    str,
    StringConstraints(max_length=DURATION_MAX_LENGTH),
    AfterValidator(_positive_duration),
    SchemaExtra(
        pattern=DURATION_PATTERN,
        minLength=2,
        **{CEL_RULES: [cel("self.matches('[1-9]')", "must be greater than zero")]},
    ),
]
"""A Prometheus-style duration such as ``30s``, ``5m``, ``1h30m`` or ``30d``."""

PromQL = Annotated[str, StringConstraints(min_length=1, max_length=4096)]

QUALIFIED_NAME_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
LABEL_VALUE_PATTERN = r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$"
_QUALIFIED_NAME_RE = re.compile(QUALIFIED_NAME_PATTERN)
_LABEL_VALUE_RE = re.compile(LABEL_VALUE_PATTERN)

LabelKey = Annotated[str, StringConstraints(pattern=QUALIFIED_NAME_PATTERN, min_length=1, max_length=317)]
LabelValue = Annotated[str, StringConstraints(pattern=LABEL_VALUE_PATTERN, max_length=63)]


class SelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"


class LabelSelectorRequirement(SlogateModel):
    """One requirement of a label selector, exactly as in Kubernetes ``matchExpressions``."""

    model_config = ConfigDict(
        json_schema_extra={
            CEL_RULES: [
                cel(
                    "self.operator in ['In', 'NotIn'] ? (has(self.values) && size(self.values) > 0)"
                    " : (!has(self.values) || size(self.values) == 0)",
                    "values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist",
                    ".values",
                )
            ]
        }
    )

    key: LabelKey = Field(description="The label key the requirement applies to.")
    operator: SelectorOperator = Field(description="How the key relates to the values.")
    values: list[LabelValue] | None = Field(
        default=None,
        max_length=64,
        description="Label values; non-empty for In and NotIn, empty for Exists and DoesNotExist.",
    )

    @model_validator(mode="after")
    def _values_match_operator(self) -> LabelSelectorRequirement:
        needs_values = self.operator in (SelectorOperator.IN, SelectorOperator.NOT_IN)
        if needs_values and not self.values:
            raise ValueError(f"values must be non-empty for operator {self.operator.value}")
        if not needs_values and self.values:
            raise ValueError(f"values must be empty for operator {self.operator.value}")
        return self


def _label_map(value: dict[str, str] | None) -> dict[str, str] | None:
    for key, label_value in (value or {}).items():
        if len(key) > 317 or _QUALIFIED_NAME_RE.fullmatch(key) is None:
            raise ValueError(f"invalid label key {key!r}")
        if len(label_value) > 63 or _LABEL_VALUE_RE.fullmatch(label_value) is None:
            raise ValueError(f"invalid label value {label_value!r} for key {key!r}")
    return value


LabelMap = Annotated[
    dict[str, Annotated[str, StringConstraints(max_length=63)]],
    AfterValidator(_label_map),
    SchemaExtra(
        maxProperties=64,
        **{
            CEL_RULES: [
                cel(
                    f"self.all(k, k.size() <= 317 && k.matches(r'{QUALIFIED_NAME_PATTERN}')"
                    f" && self[k].matches(r'{LABEL_VALUE_PATTERN}'))",
                    "label keys must be qualified names and values valid label values",
                )
            ]
        },
    ),
]


class LabelSelector(SlogateModel):
    """A Kubernetes label selector. An empty selector (``{}``) selects everything in scope."""

    match_labels: LabelMap | None = Field(
        default=None, description="Labels that must all be present with exactly these values."
    )
    match_expressions: list[LabelSelectorRequirement] | None = Field(
        default=None, max_length=32, description="Requirements that must all hold."
    )


class ChangeType(StrEnum):
    """What kind of change a release is, declared by the ``slogate.dev/change-type`` annotation."""

    FEATURE = "feature"
    RELIABILITY = "reliability"
    EMERGENCY = "emergency"


ExemptChangeType = Literal["reliability", "emergency"]
"""The change types an exemption can name; ordinary (feature) changes are never exempt."""


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(StatusModel):
    """A status condition in the standard Kubernetes shape (``metav1.Condition``)."""

    type: Annotated[str, StringConstraints(max_length=316, pattern=QUALIFIED_NAME_PATTERN)] = Field(
        description="Condition type, e.g. Ready or Valid."
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    observed_generation: int | None = Field(
        default=None, ge=0, description="The .metadata.generation the condition was set from."
    )
    last_transition_time: datetime = Field(description="When the status last changed.")
    reason: Annotated[
        str,
        StringConstraints(min_length=1, max_length=1024, pattern=r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"),
    ] = Field(description="A CamelCase machine-readable reason for the last transition.")
    message: Annotated[str, StringConstraints(max_length=32768)] = Field(
        default="", description="A human-readable explanation."
    )


CONDITION_READY = "Ready"
CONDITION_VALID = "Valid"
REASON_INVALID_SPEC = "InvalidSpec"

Conditions = Annotated[
    list[Condition],
    Field(max_length=16),
    SchemaExtra(**{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"]}),
]


class WorkloadKind(StrEnum):
    DEPLOYMENT = "Deployment"
    ROLLOUT = "Rollout"


class WorkloadReference(StatusModel):
    """A workload slogate governs: an apps/v1 Deployment or an Argo Rollouts Rollout."""

    kind: WorkloadKind = Field(description="Deployment or Rollout.")
    namespace: str | None = Field(default=None, description="Namespace, when not the resource's own.")
    name: str = Field(description="Name of the workload.")


@dataclass(frozen=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry of the CRD."""

    name: str
    json_path: str
    type: str
    description: str
    priority: int = 0


@dataclass(frozen=True)
class ResourceNames:
    """The CRD names of a resource kind."""

    kind: str
    plural: str
    short_names: tuple[str, ...]
    printer_columns: tuple[PrinterColumn, ...]

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"


AGE_COLUMN = PrinterColumn("Age", ".metadata.creationTimestamp", "date", "Time since creation.")


class Resource(BaseModel):
    """Base of the four top-level resources: apiVersion, kind, metadata, spec, status."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True)

    names: ClassVar[ResourceNames]

    api_version: str = Field(default=API_VERSION, description="slogate.dev/v1alpha1")
    kind: str = Field(description="The resource kind.")
    metadata: dict[str, Any] = Field(default_factory=dict, description="Standard object metadata.")
