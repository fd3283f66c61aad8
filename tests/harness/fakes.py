"""Fakes at reconcile's ports, for unit tests of the cycle and the controller: each records what it
was asked, and the scripted Prometheus answers by query text."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slogate.api.incident import RecentDeployment
from slogate.reconcile.ports import (
    Annotations,
    EventType,
    IncidentConflictError,
    InvolvedObject,
    PrometheusUnavailableError,
    QueryResult,
    RollbackOutcome,
    SloReading,
    WorkloadRef,
)

Answer = Callable[[str], QueryResult]


@dataclass
class ScriptedPrometheus:
    """Answers each query with ``answer(query)``; raises while ``down``."""

    answer: Answer
    down: bool = False
    batches: list[list[str]] = field(default_factory=list)

    def evaluate(self, queries: Iterable[str]) -> dict[str, QueryResult]:
        batch = list(queries)
        self.batches.append(batch)
        if self.down:
            raise PrometheusUnavailableError("connection refused")
        return {query: self.answer(query) for query in batch}

    @property
    def sent(self) -> list[str]:
        return [query for batch in self.batches for query in batch]


@dataclass
class Statuses:
    patches: list[tuple[str, str, Mapping[str, Any]]] = field(default_factory=list)

    def patch_status(self, plural: str, namespace: str, name: str, status: Mapping[str, Any]) -> None:
        self.patches.append((plural, name, status))


@dataclass
class Workloads:
    paused: list[bool] = field(default_factory=list)

    def set_paused(self, ref: WorkloadRef, paused: bool, annotations: Annotations) -> str:
        self.paused.append(paused)
        return str(len(self.paused))

    def annotate(self, ref: WorkloadRef, annotations: Annotations) -> str:
        return "1"

    def abort_rollout(self, ref: WorkloadRef, annotations: Annotations) -> str:
        return "1"

    def roll_back_deployment(
        self, ref: WorkloadRef, annotations: Annotations, lift_own_hold: bool, record_target_as: str
    ) -> RollbackOutcome:
        raise AssertionError("no rollback in these tests")


class Events:
    def post(
        self,
        regarding: InvolvedObject,
        *,
        event_type: EventType,
        reason: str,
        action: str,
        message: str,
        now: datetime,
    ) -> None:
        return None


@dataclass
class History:
    deployments: list[RecentDeployment] = field(default_factory=list)

    def recent_deployments(
        self, ref: WorkloadRef, uid: str, selector: Mapping[str, str], limit: int = 3
    ) -> list[RecentDeployment]:
        return self.deployments


class Telemetry:
    def decision(self, workload_kind: str, action: str, reason: str) -> None:
        return None

    def evaluation(self, seconds: float, slo_count: int) -> None:
        return None

    def prometheus_error(self) -> None:
        return None

    def reconcile_error(self, what: str) -> None:
        return None

    def held_late(self, workload_kind: str, namespace: str, pods: int) -> None:
        return None

    def slos(self, readings: Iterable[SloReading]) -> None:
        return None


@dataclass
class NoRuleStore:
    """A cluster without the PrometheusRule CRD and without the rules ConfigMap."""

    def serves_prometheus_rules(self) -> bool:
        return False

    def list_prometheus_rules(self) -> list[Mapping[str, Any]]:
        return []

    def apply_prometheus_rule(self, manifest: Mapping[str, Any]) -> None:
        raise AssertionError("no PrometheusRule is written without the CRD")

    def config_map_data(self, namespace: str, name: str) -> Mapping[str, str] | None:
        return None

    def apply_config_map(self, namespace: str, name: str, data: Mapping[str, str]) -> None:
        raise AssertionError("no ConfigMap is configured")


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch, as the API server applies ``application/merge-patch+json``."""
    if not isinstance(patch, dict):
        return patch
    merged = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = merge_patch(merged.get(key), value)
    return merged


@dataclass
class IncidentStore:
    """Incidents by namespace and name, with resourceVersion preconditions as the API server has."""

    incidents: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    writes: int = 0
    version: int = 0

    def read_incident(self, namespace: str, name: str) -> Mapping[str, Any] | None:
        return self.incidents.get((namespace, name))

    def create_incident(self, body: Mapping[str, Any]) -> None:
        key = (body["metadata"]["namespace"], body["metadata"]["name"])
        if key in self.incidents:
            raise IncidentConflictError("exists")
        self._store(key, dict(body))

    def patch_incident(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        current = self.incidents.get((namespace, name))
        if current is None:
            raise IncidentConflictError("gone")
        expected = patch.get("metadata", {}).get("resourceVersion")
        if expected is not None and expected != current["metadata"]["resourceVersion"]:
            raise IncidentConflictError("stale resourceVersion")
        self._store((namespace, name), merge_patch(current, patch))

    def _store(self, key: tuple[str, str], body: dict[str, Any]) -> None:
        self.version += 1
        self.writes += 1
        body["metadata"] = {**body["metadata"], "resourceVersion": str(self.version)}
        self.incidents[key] = body


@dataclass
class IntakeCounts:
    requests: list[tuple[str, str, str]] = field(default_factory=list)

    def intake_request(self, provider: str, result: str, reason: str) -> None:
        self.requests.append((provider, result, reason))
