"""The ports reconcile acts through: small protocols the adapters implement and tests fake.

Reconcile never imports an adapter; the handlers wire real ones in (kopf ``memo``), and tests of
the reconcile logic pass fakes of these protocols only. The value types that cross a port live
here too, so both sides share one definition.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from slogate.api.base import WorkloadKind
from slogate.api.holdset import HoldSetSpec
from slogate.api.incident import RecentDeployment
from slogate.domain.intake import Provider
from slogate.domain.signatures import BasicCredentials

Annotations = Mapping[str, str | None]
"""Marker annotations to write; a None value removes the annotation."""


@dataclass(frozen=True)
class WorkloadRef:
    kind: WorkloadKind
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind.value.lower()}/{self.name} in {self.namespace}"


class RollbackRefusedError(Exception):
    """kubectl rollout undo would refuse too: the message says why, in its words."""


@dataclass(frozen=True)
class RollbackOutcome:
    from_revision: int
    to_revision: int
    target_template_hash: str
    resource_version: str
    skipped: bool


class WorkloadWriter(Protocol):
    """Writes on workloads; each returns the resourceVersion its write produced."""

    def set_paused(self, ref: WorkloadRef, paused: bool, annotations: Annotations) -> str: ...

    def annotate(self, ref: WorkloadRef, annotations: Annotations) -> str: ...

    def abort_rollout(self, ref: WorkloadRef, annotations: Annotations) -> str: ...

    def roll_back_deployment(
        self, ref: WorkloadRef, annotations: Annotations, lift_own_hold: bool, record_target_as: str
    ) -> RollbackOutcome: ...


class EventType(StrEnum):
    NORMAL = "Normal"
    WARNING = "Warning"


@dataclass(frozen=True)
class InvolvedObject:
    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str | None = None


class EventRecorder(Protocol):
    def post(
        self,
        regarding: InvolvedObject,
        *,
        event_type: EventType,
        reason: str,
        action: str,
        message: str,
        now: datetime,
    ) -> None: ...


@dataclass(frozen=True)
class DecisionMarker:
    """One recorded decision, as the optional external sinks (Grafana, a webhook) receive it."""

    workload: WorkloadRef
    decision: str
    """The enforced verdict: Proceed, Hold, Rollback or Resume."""
    action: str
    """What slogate wrote on the workload: None, Pause, Unpause, RollBack or Abort."""
    event_reason: str
    """The reason of the Kubernetes Event posted for the decision, e.g. Held or DryRunHold."""
    reason: str
    """Why, in one line: the blocking reasons, or why the workload may proceed."""
    gates: tuple[str, ...]
    """The ReleaseGates whose rules blocked the workload; empty when nothing blocked it."""
    revision: str | None
    time: datetime


class DecisionSink(Protocol):
    """Somewhere outside the cluster that hears of every decision: a dashboard, a chat, an audit log.

    A sink reports its own failures (it logs them) and returns; the reconciler still guards
    against one that raises, so a failing sink never fails the decision it reports on."""

    def record(self, marker: DecisionMarker) -> None: ...


class PrometheusUnavailableError(Exception):
    """Prometheus could not be reached or answered with a server error."""


@dataclass(frozen=True)
class QueryResult:
    """One query's value: a finite number, or no data (None), or an error message."""

    value: float | None = None
    error: str | None = None


class MetricQueries(Protocol):
    def evaluate(self, queries: Iterable[str]) -> dict[str, QueryResult]: ...


class StatusWriter(Protocol):
    def patch_status(self, plural: str, namespace: str, name: str, status: Mapping[str, Any]) -> None: ...


class DeploymentHistory(Protocol):
    def recent_deployments(
        self, ref: WorkloadRef, uid: str, selector: Mapping[str, str], limit: int = 3
    ) -> list[RecentDeployment]: ...


@dataclass(frozen=True)
class RevisionStart:
    """When a workload's current revision was created, and how many of its pods started since a
    given moment."""

    created_at: datetime | None
    pods_started: int
    template_deployed: bool = True
    """False when no ReplicaSet has the workload's current template yet: a deploy the controller
    has not acted on, paused before any pod of it could start."""


class RevisionPods(Protocol):
    def revision_start(self, ref: WorkloadRef, uid: str, template: str, since: datetime) -> RevisionStart: ...


class HoldSetStore(Protocol):
    """The namespaces' HoldSets, which admission reads."""

    def list_holdsets(self) -> dict[str, HoldSetSpec]: ...

    def put_holdset(self, namespace: str, spec: HoldSetSpec, enforced_by: str) -> None: ...

    def delete_holdset(self, namespace: str) -> None: ...


@dataclass(frozen=True)
class SloReading:
    """One SLO as the last cycle measured it, for the operator's own metrics (dashboards and alerts
    on SLO state without reading every resource's status)."""

    namespace: str
    name: str
    state: str
    sli_percent: float | None
    budget_remaining_percent: float | None
    burn_rates: Mapping[str, float | None]
    """Burn rate per measured window (``5m``, ``1h``, ...); None where there was no data."""


class Telemetry(Protocol):
    """The operator's own metrics: what it decided, how long evaluation took, what failed, and the
    state of every SLO it measured."""

    def decision(self, workload_kind: str, action: str, reason: str) -> None: ...

    def evaluation(self, seconds: float, slo_count: int) -> None: ...

    def prometheus_error(self) -> None: ...

    def reconcile_error(self, what: str) -> None: ...

    def held_late(self, workload_kind: str, namespace: str, pods: int) -> None: ...

    def slos(self, readings: Iterable[SloReading]) -> None:
        """Replace the exported SLO series with these: an SLO not among them is no longer exported."""
        ...


class RuleStore(Protocol):
    """Where the SLOs' recording rules are delivered: a PrometheusRule per SLO (prometheus-operator)
    and, optionally, one ConfigMap holding them all (plain Prometheus)."""

    def serves_prometheus_rules(self) -> bool:
        """Whether the API server serves monitoring.coreos.com/v1 PrometheusRule."""
        ...

    def list_prometheus_rules(self) -> list[Mapping[str, Any]]:
        """The PrometheusRules slogate manages (by its managed-by label) in the governed namespaces."""
        ...

    def apply_prometheus_rule(self, manifest: Mapping[str, Any]) -> None: ...

    def config_map_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        """The ConfigMap's data; None when it does not exist."""
        ...

    def apply_config_map(self, namespace: str, name: str, data: Mapping[str, str]) -> None: ...


class IncidentConflictError(Exception):
    """The Incident was created or changed by someone else since it was read."""


class IncidentStore(Protocol):
    """The Incidents the intake writes, through the API server, each call bounded by a timeout."""

    def read_incident(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        """The Incident's body; None when there is none."""
        ...

    def create_incident(self, body: Mapping[str, Any]) -> None:
        """Raises IncidentConflictError when it exists already."""
        ...

    def patch_incident(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        """A merge patch; raises IncidentConflictError when its resourceVersion is no longer current."""
        ...


class IntakeTelemetry(Protocol):
    def intake_request(self, provider: str, result: str, reason: str) -> None:
        """One webhook answered: created, updated, unchanged, ignored or refused, and why."""
        ...


@dataclass(frozen=True)
class IntakeCredentials:
    """What senders prove themselves with, as read from the mounted Secret's files just now."""

    alertmanager_tokens: tuple[str, ...] = ()
    alertmanager_basic: tuple[BasicCredentials, ...] = ()
    pagerduty_secrets: tuple[str, ...] = ()
    incidentio_keys: tuple[bytes, ...] = ()

    def enabled(self, provider: Provider) -> bool:
        return bool(
            {
                Provider.ALERTMANAGER: self.alertmanager_tokens or self.alertmanager_basic,
                Provider.PAGERDUTY: self.pagerduty_secrets,
                Provider.INCIDENTIO: self.incidentio_keys,
            }[provider]
        )


@dataclass(frozen=True)
class IntakeRequest:
    provider: Provider
    headers: Mapping[str, str]
    """Header names lower-cased."""
    body: bytes


@dataclass(frozen=True)
class IntakeAnswer:
    status: int
    result: str
    reason: str
    message: str
    incident: str | None = None

    def document(self) -> dict[str, str | None]:
        return {
            "result": self.result,
            "reason": self.reason,
            "message": self.message,
            "incident": self.incident,
        }
