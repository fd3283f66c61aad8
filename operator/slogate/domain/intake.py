"""Incidents from where SREs already work: a provider's webhook body turned into an Incident, and
the write that brings the cluster's Incident up to date with it. Pure: no HTTP, no clock.

Each provider's incident is one Incident, named from the provider and its incident id (the
Alertmanager group key, the PagerDuty incident id, the incident.io incident id), so a retry or a
replay of a webhook finds the Incident it made. Every Incident written here records when the
provider last changed it (``slogate.dev/source-updated-at``): a webhook older than that changes
nothing (a retry of ``triggered`` arriving after ``resolved`` does not reopen anything), and one
that says what the Incident already says writes nothing. The mapping of severities, states and
services is documented in docs/intake.md.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.alias_generators import to_camel

from slogate.api.base import API_VERSION, LABEL_VALUE_PATTERN, LabelKey, LabelValue
from slogate.api.incident import Incident, IncidentSpec, IncidentState, Severity
from slogate.api.wire import PREFIX, parse_time
from slogate.domain.signatures import Refused

SOURCE_LABEL = PREFIX + "source"
SOURCE_ID_ANNOTATION = PREFIX + "source-id"
SOURCE_URL_ANNOTATION = PREFIX + "source-url"
SOURCE_UPDATED_ANNOTATION = PREFIX + "source-updated-at"

TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 8192
_NAME_SAFE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
NAMESPACE_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
_NAMESPACE = re.compile(NAMESPACE_PATTERN)
_LABEL_VALUE = re.compile(LABEL_VALUE_PATTERN)


class Provider(StrEnum):
    ALERTMANAGER = "alertmanager"
    PAGERDUTY = "pagerduty"
    INCIDENTIO = "incidentio"


def malformed(message: str) -> Refused:
    return Refused(400, "malformed", message)


def unknown_service(message: str) -> Refused:
    return Refused(422, "unknown-service", message)


# The user's mapping, from the file the chart renders from its values.


class MappingModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True)


class ServiceTarget(MappingModel):
    """Where a provider's service runs: its namespace, and the workloads it is (by default those
    whose ``workloadLabel`` is the service's name)."""

    namespace: str = Field(pattern=NAMESPACE_PATTERN)
    workload: LabelValue | None = None
    """The value of ``workloadLabel`` on its Deployments and Rollouts, when not the service's name."""


class AlertmanagerMapping(MappingModel):
    service_label: str = "service"
    namespace_label: str = "namespace"
    severity_label: str = "severity"
    severities: dict[str, Severity] = Field(
        default_factory=lambda: {
            "critical": Severity.P1,
            "page": Severity.P1,
            "error": Severity.P2,
            "high": Severity.P2,
            "warning": Severity.P3,
            "info": Severity.P4,
        }
    )
    default_severity: Severity = Severity.P3


class PagerDutyMapping(MappingModel):
    priorities: dict[str, Severity] = Field(
        default_factory=lambda: {
            "P1": Severity.P1,
            "P2": Severity.P2,
            "P3": Severity.P3,
            "P4": Severity.P4,
            "P5": Severity.P4,
        }
    )
    urgencies: dict[str, Severity] = Field(default_factory=lambda: {"high": Severity.P2, "low": Severity.P4})
    """The severity of an incident without a priority (or with one not listed), by urgency."""


class IncidentIoMapping(MappingModel):
    service_field: str = "Affected services"
    """The custom field whose values (catalog entries, options or text) name the services."""
    severities: dict[str, Severity] = Field(
        default_factory=lambda: {"Critical": Severity.P1, "Major": Severity.P2, "Minor": Severity.P3}
    )
    default_severity: Severity = Severity.P3
    statuses: dict[str, IncidentState] = Field(
        default_factory=lambda: {"Fixing": IncidentState.MITIGATING, "Monitoring": IncidentState.MITIGATING}
    )
    """Incident statuses by name, before their category is looked up."""
    categories: dict[str, IncidentState] = Field(
        default_factory=lambda: {
            "triage": IncidentState.DETECTED,
            "live": IncidentState.TRIAGED,
            "paused": IncidentState.TRIAGED,
            "learning": IncidentState.RESOLVED,
            "closed": IncidentState.CLOSED,
            "declined": IncidentState.CLOSED,
            "merged": IncidentState.CLOSED,
            "canceled": IncidentState.CLOSED,
        }
    )


class IntakeMapping(MappingModel):
    """How providers' incidents become Incidents: the file behind ``--intake-mapping-file``."""

    workload_label: LabelKey = "app.kubernetes.io/name"
    services: dict[str, ServiceTarget] = Field(default_factory=dict)
    """Provider service names (a PagerDuty service's name or id, an incident.io catalog entry, an
    Alertmanager service label) and where they run."""
    alertmanager: AlertmanagerMapping = Field(default_factory=AlertmanagerMapping)
    pagerduty: PagerDutyMapping = Field(default_factory=PagerDutyMapping)
    incidentio: IncidentIoMapping = Field(default_factory=IncidentIoMapping)

    @model_validator(mode="after")
    def _workloads_are_label_values(self) -> IntakeMapping:
        for name, target in self.services.items():
            if target.workload is None and (len(name) > 63 or not _LABEL_VALUE.fullmatch(name)):
                raise ValueError(f"services.{name}: the name is not a label value; give its workload")
        return self


def mapping_from_document(document: object) -> IntakeMapping:
    """The mapping from a parsed YAML document (None: the defaults). Raises ValueError."""
    try:
        return IntakeMapping.model_validate(document or {})
    except ValidationError as error:
        raise ValueError(str(error)) from None


# The report: what a provider says of one incident.


@dataclass(frozen=True)
class IncidentReport:
    provider: Provider
    key: str
    """The provider's incident id: the Incident's identity."""
    severity: Severity
    state: IncidentState
    title: str
    namespace: str
    workloads: tuple[str, ...]
    """Values of the mapping's workload label."""
    updated_at: datetime
    """When the provider last changed the incident, as the webhook says."""
    description: str | None = None
    commander: str | None = None
    started_at: datetime | None = None
    url: str | None = None


@dataclass(frozen=True)
class Ignored:
    """A well-formed, authentic webhook that is about nothing the intake tracks."""

    reason: str


M = TypeVar("M", bound=BaseModel)


def _document(body: bytes, provider: str) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise malformed(f"not a {provider} webhook: the body is not JSON") from None
    if not isinstance(document, dict):
        raise malformed(f"not a {provider} webhook: the body is not a JSON object")
    return document


def _schema(model: type[M], value: object, what: str) -> M:
    try:
        return model.model_validate(value)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the body"
        raise malformed(f"not a {what} webhook: {where}: {first['msg']}") from None


def _target(mapping: IntakeMapping, service: str, namespace: str | None) -> tuple[str, str]:
    """The namespace and workload label value of a named service."""
    known = mapping.services.get(service)
    if known is not None:
        return known.namespace, known.workload or service
    if not namespace:
        raise unknown_service(f"service {service!r} is not in the intake mapping's services")
    if not _NAMESPACE.match(namespace):
        raise unknown_service(f"{namespace!r}, the namespace of service {service!r}, is not a namespace name")
    if len(service) > 63 or not _LABEL_VALUE.fullmatch(service):
        raise unknown_service(f"service {service!r} is not a label value, so no workload carries it")
    return namespace, service


# Alertmanager's webhook_config body (version 4).


class PayloadModel(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Alert(PayloadModel):
    status: str = Field(pattern="^(firing|resolved)$")
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: AwareDatetime  # noqa: N815  (the provider's field names)
    endsAt: AwareDatetime | None = None  # noqa: N815


class AlertmanagerPayload(PayloadModel):
    version: str = Field(pattern="^4$")
    groupKey: str = Field(min_length=1)  # noqa: N815
    status: str = Field(pattern="^(firing|resolved)$")
    alerts: list[Alert] = Field(min_length=1)
    groupLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonLabels: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    commonAnnotations: dict[str, str] = Field(default_factory=dict)  # noqa: N815
    externalURL: str | None = None  # noqa: N815


def _alert_moment(alert: Alert) -> datetime:
    """When an alert last changed: its end once resolved, else its start."""
    if alert.status == "resolved" and alert.endsAt is not None:
        return alert.endsAt
    return alert.startsAt


def alertmanager_report(body: bytes, mapping: IntakeMapping) -> IncidentReport:
    """A notification of one alert group: one Incident, open while the group fires."""
    payload = _schema(AlertmanagerPayload, _document(body, "Alertmanager"), "Alertmanager")
    rules = mapping.alertmanager
    service = payload.commonLabels.get(rules.service_label)
    if not service:
        raise unknown_service(
            f"the alerts of group {payload.groupKey} share no {rules.service_label!r} label naming a service"
        )
    namespace, workload = _target(mapping, service, payload.commonLabels.get(rules.namespace_label))
    severities = [
        rules.severities[label]
        for alert in payload.alerts
        if (label := alert.labels.get(rules.severity_label)) in rules.severities
    ]
    annotations = payload.commonAnnotations
    name = payload.groupLabels.get("alertname") or payload.commonLabels.get("alertname") or "alert"
    summary = annotations.get("summary")
    return IncidentReport(
        provider=Provider.ALERTMANAGER,
        key=payload.groupKey,
        severity=min(severities, key=lambda each: each.rank, default=rules.default_severity),
        state=IncidentState.DETECTED if payload.status == "firing" else IncidentState.RESOLVED,
        title=f"{name}: {summary}" if summary else f"{name} ({service})",
        namespace=namespace,
        workloads=(workload,),
        updated_at=max(_alert_moment(alert) for alert in payload.alerts),
        description=annotations.get("description"),
        started_at=min(alert.startsAt for alert in payload.alerts),
        url=payload.externalURL,
    )


# PagerDuty v3 webhooks.

PAGERDUTY_EVENTS = (
    "incident.triggered",
    "incident.acknowledged",
    "incident.resolved",
    "incident.priority_updated",
)
PAGERDUTY_STATES = {
    "triggered": IncidentState.DETECTED,
    "acknowledged": IncidentState.TRIAGED,
    "resolved": IncidentState.RESOLVED,
}


class Reference(PayloadModel):
    id: str = Field(min_length=1)
    summary: str | None = None


class PagerDutyIncident(PayloadModel):
    id: str = Field(min_length=1)
    type: str = Field(pattern="^incident$")
    status: str = Field(pattern="^(triggered|acknowledged|resolved)$")
    title: str = Field(min_length=1)
    service: Reference
    created_at: AwareDatetime | None = None
    html_url: str | None = None
    urgency: str | None = None
    priority: Reference | None = None
    assignees: list[Reference] = Field(default_factory=list)


class PagerDutyEvent(PayloadModel):
    id: str = Field(min_length=1)
    event_type: str = Field(min_length=1)
    resource_type: str
    occurred_at: AwareDatetime
    data: dict[str, Any]


class PagerDutyPayload(PayloadModel):
    event: PagerDutyEvent


def pagerduty_report(body: bytes, mapping: IntakeMapping) -> IncidentReport | Ignored:
    event = _schema(PagerDutyPayload, _document(body, "PagerDuty"), "PagerDuty v3").event
    if event.event_type not in PAGERDUTY_EVENTS:
        return Ignored(f"PagerDuty event {event.event_type} is not one the intake tracks")
    incident = _schema(PagerDutyIncident, event.data, "PagerDuty v3 incident")
    service = incident.service
    for name in filter(None, (service.summary, service.id)):
        if name in mapping.services:
            namespace, workload = _target(mapping, name, None)
            break
    else:
        raise unknown_service(
            f"PagerDuty service {service.summary or service.id!r} ({service.id}) is not in the intake "
            "mapping's services"
        )
    rules = mapping.pagerduty
    priority = incident.priority.summary if incident.priority is not None else None
    severity = rules.priorities.get(priority or "") or rules.urgencies.get(incident.urgency or "")
    assignee = incident.assignees[0].summary if incident.assignees else None
    return IncidentReport(
        provider=Provider.PAGERDUTY,
        key=incident.id,
        severity=severity or Severity.P3,
        state=PAGERDUTY_STATES[incident.status],
        title=incident.title,
        namespace=namespace,
        workloads=(workload,),
        updated_at=event.occurred_at,
        commander=assignee,
        started_at=incident.created_at,
        url=incident.html_url,
    )


# incident.io webhooks (v2 incidents).

INCIDENTIO_EVENTS = (
    "public_incident.incident_created_v2",
    "public_incident.incident_updated_v2",
    "private_incident.incident_created_v2",
    "private_incident.incident_updated_v2",
)


class Named(PayloadModel):
    id: str | None = None
    name: str = Field(min_length=1)


class IncidentIoStatus(PayloadModel):
    name: str = Field(min_length=1)
    category: str = Field(min_length=1)


class FieldValue(PayloadModel):
    value_catalog_entry: Named | None = None
    value_option: dict[str, Any] | None = None
    value_text: str | None = None

    @property
    def text(self) -> str | None:
        if self.value_catalog_entry is not None:
            return self.value_catalog_entry.name
        if self.value_option is not None and isinstance(self.value_option.get("value"), str):
            return str(self.value_option["value"])
        return self.value_text


class FieldEntry(PayloadModel):
    custom_field: Named
    values: list[FieldValue] = Field(default_factory=list)


class RoleAssignment(PayloadModel):
    role: dict[str, Any]
    assignee: Named | None = None


class IncidentIoIncident(PayloadModel):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    reference: str | None = None
    summary: str | None = None
    permalink: str | None = None
    severity: Named | None = None
    incident_status: IncidentIoStatus
    custom_field_entries: list[FieldEntry] = Field(default_factory=list)
    incident_role_assignments: list[RoleAssignment] = Field(default_factory=list)
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime


class IncidentIoEnvelope(PayloadModel):
    event_type: str = Field(min_length=1)


def incidentio_report(body: bytes, mapping: IntakeMapping) -> IncidentReport | Ignored:
    document = _document(body, "incident.io")
    event_type = _schema(IncidentIoEnvelope, document, "incident.io").event_type
    if event_type not in INCIDENTIO_EVENTS:
        return Ignored(f"incident.io event {event_type} is not one the intake tracks")
    incident = _schema(IncidentIoIncident, document.get(event_type), f"incident.io {event_type}")
    rules = mapping.incidentio
    services = [
        text
        for entry in incident.custom_field_entries
        if entry.custom_field.name == rules.service_field
        for value in entry.values
        if (text := value.text)
    ]
    if not services:
        raise unknown_service(f"incident {incident.reference or incident.id} has no {rules.service_field!r}")
    targets = {_target(mapping, service, None) for service in services}
    namespaces = {namespace for namespace, _ in targets}
    if len(namespaces) > 1:
        raise unknown_service(
            f"the services of incident {incident.reference or incident.id} run in several namespaces "
            f"({', '.join(sorted(namespaces))}); an Incident affects one"
        )
    status = incident.incident_status
    state = rules.statuses.get(status.name) or rules.categories.get(status.category)
    if state is None:
        raise malformed(f"incident.io status category {status.category!r} is unknown")
    lead = next(
        (
            each.assignee.name
            for each in incident.incident_role_assignments
            if each.assignee is not None and each.role.get("role_type") == "lead"
        ),
        None,
    )
    severity = rules.severities.get(incident.severity.name) if incident.severity is not None else None
    reference = f"{incident.reference}: " if incident.reference else ""
    return IncidentReport(
        provider=Provider.INCIDENTIO,
        key=incident.id,
        severity=severity or rules.default_severity,
        state=state,
        title=reference + incident.name,
        namespace=namespaces.pop(),
        workloads=tuple(sorted({workload for _, workload in targets})),
        updated_at=incident.updated_at,
        description=incident.summary,
        commander=lead,
        started_at=incident.created_at,
        url=incident.permalink,
    )


# From a report to the write that makes the cluster say it.


def incident_name(provider: Provider, key: str) -> str:
    """The Incident's name: the provider and its id, or a digest of an id no name can hold."""
    readable = key.lower()
    if _NAME_SAFE.match(readable):
        return f"{provider.value}-{readable}"
    return f"{provider.value}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def _selector(mapping_label: str, workloads: tuple[str, ...]) -> dict[str, Any]:
    if len(workloads) == 1:
        return {"matchLabels": {mapping_label: workloads[0]}}
    return {"matchExpressions": [{"key": mapping_label, "operator": "In", "values": list(workloads)}]}


def desired_spec(report: IncidentReport, workload_label: str) -> dict[str, Any]:
    """The Incident's spec as the provider says it, validated like the CRD validates it (the
    mapping and ``_target`` have made sure its workloads are label values)."""
    spec = IncidentSpec(
        severity=report.severity,
        title=report.title[:TITLE_LIMIT],
        description=report.description[:DESCRIPTION_LIMIT] if report.description else None,
        state=report.state,
        commander=report.commander[:256] if report.commander else None,
        started_at=report.started_at,
        affected_selector=_selector(workload_label, report.workloads),
    )
    return spec.model_dump(mode="json", by_alias=True, exclude_none=True)


def _moment(report: IncidentReport) -> str:
    return report.updated_at.isoformat()


def _annotations(report: IncidentReport) -> dict[str, str]:
    annotations = {SOURCE_ID_ANNOTATION: report.key, SOURCE_UPDATED_ANNOTATION: _moment(report)}
    if report.url:
        annotations[SOURCE_URL_ANNOTATION] = report.url
    return annotations


@dataclass(frozen=True)
class Create:
    body: dict[str, Any]


@dataclass(frozen=True)
class Update:
    name: str
    patch: dict[str, Any]
    """A merge patch carrying the resourceVersion it was computed from: a concurrent write fails it."""


@dataclass(frozen=True)
class Unchanged:
    name: str
    why: str
    """replay (it says what the Incident says) or stale (older than its last update)."""
    reason: str


Write = Create | Update | Unchanged


def plan_write(report: IncidentReport, existing: Mapping[str, Any] | None, workload_label: str) -> Write:
    """What to write so the cluster's Incident says what the report says, if anything."""
    name = incident_name(report.provider, report.key)
    spec = desired_spec(report, workload_label)
    if existing is None:
        # Also when the report says Resolved: a retried "triggered" arriving later is then older
        # than what the Incident records, and reopens nothing.
        return Create(
            {
                "apiVersion": API_VERSION,
                "kind": Incident.names.kind,
                "metadata": {
                    "name": name,
                    "namespace": report.namespace,
                    "labels": {SOURCE_LABEL: report.provider.value},
                    "annotations": _annotations(report),
                },
                "spec": spec,
            }
        )
    metadata = existing.get("metadata") or {}
    recorded = (metadata.get("annotations") or {}).get(SOURCE_UPDATED_ANNOTATION)
    if recorded:
        try:
            last = parse_time(recorded)
        except ValueError:
            last = None
        if last is not None and report.updated_at < last:
            return Unchanged(
                name,
                "stale",
                f"the webhook ({_moment(report)}) is older than {name}'s last update ({recorded})",
            )
    current = existing.get("spec") or {}
    # Only what the provider says is written: a commander a person set on an Alertmanager incident stays.
    if all(current.get(key) == value for key, value in spec.items()) and recorded == _moment(report):
        return Unchanged(name, "replay", f"{name} already says this")
    # A merge patch merges maps: the selector's other form is removed explicitly.
    selector = {"matchLabels": None, "matchExpressions": None, **spec["affectedSelector"]}
    return Update(
        name,
        {
            "metadata": {
                "resourceVersion": metadata.get("resourceVersion"),
                "annotations": _annotations(report),
            },
            "spec": {**spec, "affectedSelector": selector},
        },
    )
