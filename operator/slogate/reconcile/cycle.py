"""The evaluation cycle: measure every SLO, decide for every workload, report on every resource.

One cycle runs on each tick of the evaluation interval, and also at the exact moment a freeze
starts or ends, so a freeze holds on time rather than up to an interval late. A cycle gathers the
queries of all SLOs and gates into one batched evaluation, writes SLO status (only what changed,
plus a heartbeat), reconciles every workload (the same level-triggered function that the watch
handlers call), then writes the status of gates, freezes and incidents. Writes run concurrently
but bounded, so thousands of workloads do not open thousands of connections.

The reaction to a change of a resource (a new freeze, an incident raised) does not wait for the
next tick: ``resource_changed`` reconciles the workloads it can reach at once.

With several replicas, only the one holding the leader Lease runs cycles: after ``deactivate`` a
cycle in flight starts no further write (a replica never acts on a Lease it may have lost), and
``activate`` runs a full cycle at once, since the World it kept current while standing by is all
it needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from slogate.api.base import WorkloadKind
from slogate.api.durations import format_duration, parse_duration
from slogate.api.incident import RecentDeployment
from slogate.domain.inputs import ReleaseImpact
from slogate.domain.queries import resolve_queries
from slogate.domain.releases import consumed_percent, release_started, release_window
from slogate.domain.verdict import Decision
from slogate.reconcile.ports import (
    DeploymentHistory,
    MetricQueries,
    PrometheusUnavailableError,
    QueryResult,
    SloReading,
    StatusWriter,
    Telemetry,
    WorkloadRef,
)
from slogate.reconcile.reach import Reach, compute_reach
from slogate.reconcile.slos import (
    SloQueries,
    queries_for,
    slo_reading,
    slo_status,
    spread_heartbeat,
    status_changed,
)
from slogate.reconcile.snapshots import freeze_state_at
from slogate.reconcile.statuses import freeze_status, gate_status, incident_status
from slogate.reconcile.workloads import Outcome, WorkloadReconciler
from slogate.reconcile.world import Collection, ObjectKey, Tracked, World

log = logging.getLogger(__name__)

WorkloadKey = tuple[WorkloadKind, str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class CycleSettings:
    interval: timedelta = timedelta(seconds=10)
    status_heartbeat: timedelta = timedelta(minutes=1)
    """An unchanged status is rewritten after this long (each object at its own point between this
    and twice it), so a stale status shows as stale."""
    concurrency: int = 16


@dataclass
class CycleReport:
    started: datetime
    seconds: float = 0.0
    slo_count: int = 0
    queries: int = 0
    prometheus_error: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each phase, to tell a slow Prometheus from a slow API server."""

    def describe(self) -> str:
        phases = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.phases.items())
        return f"{self.slo_count} SLOs, {self.queries} queries, {len(self.outcomes)} workloads: {phases}"


async def bounded(limit: int, jobs: Iterable[Callable[[], Awaitable[T]]]) -> list[T | BaseException]:
    """Run ``jobs`` with at most ``limit`` in flight; a failure is returned, not raised."""
    semaphore = asyncio.Semaphore(limit)

    async def run(job: Callable[[], Awaitable[T]]) -> T | BaseException:
        async with semaphore:
            try:
                return await job()
            except Exception as error:
                # One workload's failure must not stop the others; the caller logs and counts it.
                return error

    return await asyncio.gather(*(run(job) for job in jobs))


class EvaluationCycle:
    def __init__(
        self,
        *,
        world: World,
        reconciler: WorkloadReconciler,
        queries: MetricQueries,
        statuses: StatusWriter,
        history: DeploymentHistory,
        telemetry: Telemetry,
        clock: Callable[[], datetime],
        settings: CycleSettings,
    ) -> None:
        self._world = world
        self._reconciler = reconciler
        self._queries = queries
        self._statuses = statuses
        self._history = history
        self._telemetry = telemetry
        self._clock = clock
        self._settings = settings
        self._decisions: dict[WorkloadKey, Decision] = {}
        self._published: dict[tuple[str, ObjectKey], Mapping[str, Any]] = {}
        self._recent: dict[WorkloadKey, list[RecentDeployment]] = {}
        self._wake = asyncio.Event()
        self.active = True
        self.last_report: CycleReport | None = None

    def activate(self) -> None:
        """This replica acts from now: forget what it published when it last acted (another replica
        has written since) and run a full cycle at once."""
        self.active = True
        self._published.clear()
        self.wake()

    def deactivate(self) -> None:
        """This replica stops acting now: a cycle in flight publishes no holds, reconciles no further
        workload and writes no further status; its SLO metrics go, so only the acting replica
        exports them."""
        self.active = False
        self._telemetry.slos(())

    async def run_forever(self) -> None:
        while True:
            started = time.monotonic()
            if self.active:
                try:
                    self.last_report = await self.run_once()
                except Exception:
                    log.exception("evaluation cycle failed; retrying at the next tick")
                    self._telemetry.reconcile_error("cycle")
            delay = max(0.0, self._settings.interval.total_seconds() - (time.monotonic() - started))
            boundary = self._next_freeze_change(self._clock())
            if boundary is not None:
                delay = min(delay, max(0.0, (boundary - self._clock()).total_seconds()))
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)

    def wake(self) -> None:
        """Run the next cycle now (e.g. after an SLO's spec changed)."""
        self._wake.set()

    def _next_freeze_change(self, now: datetime) -> datetime | None:
        changes = [
            state.next_change
            for tracked in self._world.freezes.valid()
            if (state := freeze_state_at(tracked, now)) is not None and state.next_change is not None
        ]
        return min(changes, default=None)

    async def run_once(self) -> CycleReport:
        now = self._clock()
        started = time.monotonic()
        report = CycleReport(started=now)
        await self._evaluate_slos(now, report, compute_reach(self._world))
        reach = compute_reach(self._world)
        mark = time.monotonic()
        if report.prometheus_error is None:
            await self._measure_releases(now, reach)
        report.phases["releases"] = time.monotonic() - mark
        mark = time.monotonic()
        if self.active:
            await self._reconciler.refresh_holds(now)
        report.phases["holds"] = time.monotonic() - mark
        mark = time.monotonic()
        report.outcomes = await self._reconcile_all(now, reach)
        report.phases["workloads"] = time.monotonic() - mark
        mark = time.monotonic()
        await self._write_resource_statuses(now, reach)
        report.phases["resource status"] = time.monotonic() - mark
        report.seconds = time.monotonic() - started
        self._telemetry.evaluation(report.seconds, report.slo_count)
        if report.seconds > self._settings.interval.total_seconds():
            log.warning(
                "evaluation took %.2f s, longer than the %s interval (%s)",
                report.seconds,
                format_duration(self._settings.interval),
                report.describe(),
            )
        return report

    def _gate_windows(self) -> dict[str, tuple[timedelta, ...]]:
        """Per namespace, the burnRateWindows its gates ask for: their SLOs must measure them too."""
        windows: dict[str, set[timedelta]] = {}
        for gate in self._world.gates.valid():
            if gate.model is not None and gate.model.spec.burn_rate_window:
                windows.setdefault(gate.namespace, set()).add(
                    parse_duration(gate.model.spec.burn_rate_window)
                )
        return {namespace: tuple(sorted(found)) for namespace, found in windows.items()}

    async def _evaluate_slos(self, now: datetime, report: CycleReport, reach: Reach) -> None:
        gate_windows = self._gate_windows()
        plans: list[tuple[Tracked[Any], SloQueries | None]] = [
            (
                tracked,
                queries_for(tracked.model, gate_windows.get(tracked.namespace, ()))
                if tracked.model
                else None,
            )
            for tracked in list(self._world.slos.items.values())
        ]
        check_queries = {
            (gate.namespace, gate.name, check.name): check.query
            for gate in self._world.gates.valid()
            if gate.model is not None
            for check in gate.model.spec.checks or ()
        }
        wanted = [query for _, plan in plans if plan is not None for query in plan.all()]
        wanted += list(check_queries.values())
        results: dict[str, QueryResult] = {}
        mark = time.monotonic()
        if wanted:
            try:
                results = await asyncio.to_thread(self._queries.evaluate, wanted)
            except PrometheusUnavailableError as error:
                report.prometheus_error = f"Prometheus is unavailable: {error}"
                self._telemetry.prometheus_error()
        report.phases["prometheus"] = time.monotonic() - mark
        mark = time.monotonic()
        report.slo_count, report.queries = len(plans), len(set(wanted))
        check_values: dict[tuple[str, str], dict[str, float | None]] = {}
        for (namespace, gate, check), query in check_queries.items():
            result = results.get(query)
            check_values.setdefault((namespace, gate), {})[check] = (
                result.value if result is not None else None
            )
        self._reconciler.check_values = check_values
        self._reconciler.prometheus_outage = report.prometheus_error is not None
        writes = []
        readings: list[SloReading] = []
        for tracked, plan in plans:
            status = slo_status(
                tracked=tracked,
                queries=plan,
                results=results,
                prometheus_error=report.prometheus_error,
                selected=reach.selected_by("slo", tracked),
                now=now,
            )
            readings.append(slo_reading(tracked.namespace, tracked.name, status))
            writes += self._publish(self._world.slos.plural, self._world.slos, tracked, status)
        if self.active:
            self._telemetry.slos(readings)
        await self._run_writes(writes, "slo status")
        report.phases["slo status"] = time.monotonic() - mark

    def _publish(
        self, plural: str, collection: Collection[Any], tracked: Tracked[Any], status: dict[str, Any]
    ) -> list[Callable[[], Awaitable[None]]]:
        """Take a fresh status into the World at once (decisions use it), and return the write
        that publishes it when it differs enough from what the server last received."""
        key = (plural, ObjectKey(tracked.namespace, tracked.name))
        published = self._published.get(key, tracked.body.get("status"))
        collection.observe({**tracked.body, "status": status}, deleted=False)
        heartbeat = spread_heartbeat(
            self._settings.status_heartbeat, f"{plural}/{key[1].namespace}/{key[1].name}"
        )
        if not status_changed(published, status, heartbeat):
            return []
        patch = {**{field: None for field in published or {} if status.get(field) is None}, **status}
        self._published[key] = {field: value for field, value in status.items() if value is not None}
        return [self._status_writer(plural, tracked, patch)]

    def _status_writer(
        self, plural: str, tracked: Tracked[Any], status: dict[str, Any]
    ) -> Callable[[], Awaitable[None]]:
        async def write() -> None:
            await asyncio.to_thread(
                self._statuses.patch_status, plural, tracked.namespace, tracked.name, status
            )

        return write

    async def _run_writes(self, writes: list[Callable[[], Awaitable[None]]], what: str) -> None:
        if not self.active:
            return
        for result in await bounded(self._settings.concurrency, writes):
            if isinstance(result, BaseException):
                log.warning("writing %s failed: %s", what, result)
                self._telemetry.reconcile_error(what)

    async def reconcile(
        self, keys: Iterable[WorkloadKey], now: datetime, reach: Reach | None = None
    ) -> list[Outcome]:
        """Reconcile the given workloads concurrently (bounded); failures are logged and counted."""

        def job(key: WorkloadKey) -> Callable[[], Awaitable[Outcome | None]]:
            in_reach = reach.for_workload(key) if reach is not None else None

            async def run() -> Outcome | None:
                # Checked as each workload's turn comes: a replica that lost the Lease mid-cycle
                # starts no further write.
                return await self._reconciler.reconcile(key, now, in_reach) if self.active else None

            return run

        outcomes: list[Outcome] = []
        for key, result in zip(
            keys := list(keys),
            await bounded(self._settings.concurrency, (job(key) for key in keys)),
            strict=True,
        ):
            if isinstance(result, BaseException):
                log.warning("reconciling %s/%s/%s failed: %s", *key, result)
                self._telemetry.reconcile_error("workload")
            elif result is not None:
                outcomes.append(result)
                self._decisions[key] = result.decision
                if result.recorded:
                    blocking = result.decision.blocking_reasons
                    self._telemetry.decision(
                        key[0].value,
                        result.decision.enforced_action.value,
                        blocking[0].check.value if blocking else "none",
                    )
        return outcomes

    async def _reconcile_all(self, now: datetime, reach: Reach) -> list[Outcome]:
        keys = list(self._world.workloads)
        for gone in set(self._decisions) - set(keys):
            self._decisions.pop(gone, None)
            self._recent.pop(gone, None)
        return await self.reconcile(keys, now, reach)

    async def resource_changed(self, namespace: str) -> list[Outcome]:
        """A gate, freeze or incident changed: decide again, now, for every workload it can reach."""
        now = self._clock()
        reach = compute_reach(self._world)
        keys = [state.key for state in self._world.workloads_in_reach_of(namespace)]
        await self._reconciler.refresh_holds(now)
        outcomes = await self.reconcile(keys, now, reach)
        await self._write_resource_statuses(now, reach)
        return outcomes

    async def _recent_deployments(self, keys: Iterable[WorkloadKey]) -> None:
        missing = [key for key in keys if key not in self._recent and key in self._world.workloads]

        def job(key: WorkloadKey) -> Callable[[], Awaitable[list[RecentDeployment]]]:
            state = self._world.workloads[key]
            ref = WorkloadRef(state.kind, state.namespace, state.name)
            return lambda: asyncio.to_thread(
                self._history.recent_deployments, ref, state.uid, state.selector_labels
            )

        for key, result in zip(
            missing, await bounded(self._settings.concurrency, map(job, missing)), strict=True
        ):
            if not isinstance(result, BaseException):
                self._recent[key] = result

    async def _write_resource_statuses(self, now: datetime, reach: Reach) -> None:
        writes = []
        for gate in list(self._world.gates.items.values()):
            status = gate_status(gate, reach.selected_by("gate", gate), self._decisions, now)
            writes += self._publish(self._world.gates.plural, self._world.gates, gate, status)
        for freeze in list(self._world.freezes.items.values()):
            status = freeze_status(freeze, reach.selected_by("freeze", freeze), self._decisions, now)
            writes += self._publish(self._world.freezes.plural, self._world.freezes, freeze, status)
        for incident in list(self._world.incidents.items.values()):
            affected = reach.selected_by("incident", incident)
            await self._recent_deployments(state.key for state in affected)
            status = incident_status(incident, affected, self._decisions, self._recent, now)
            writes += self._publish(self._world.incidents.plural, self._world.incidents, incident, status)
        await self._run_writes(writes, "resource status")

    def forget_history(self, key: WorkloadKey) -> None:
        """A workload's template changed: a new release, whose history and budget are not yet known."""
        self._recent.pop(key, None)
        self._reconciler.release_impacts.pop(key, None)

    async def _measure_releases(self, now: datetime, reach: Reach) -> None:
        """The budget each current release has consumed, for gates with maxBudgetConsumedPerRelease."""
        measured = [
            (key, found)
            for key, found in reach.of_workload.items()
            if found.slos
            and any(g.model is not None and g.model.spec.max_budget_consumed_per_release for g in found.gates)
        ]
        await self._recent_deployments(key for key, _ in measured)
        plans: dict[
            WorkloadKey, tuple[datetime, list[tuple[Tracked[Any], timedelta | None, str | None]]]
        ] = {}
        for key, found in measured:
            state = self._world.workloads.get(key)
            started = release_started(self._recent.get(key, []), state.revision if state else None)
            if state is None or started is None:
                continue
            per_slo = []
            for slo in found.slos:
                if slo.model is None:
                    continue
                window = release_window(started, now, parse_duration(slo.model.spec.window))
                query = (
                    resolve_queries(slo.model.spec.indicator, format_duration(window)).error_ratio
                    if window is not None
                    else None
                )
                per_slo.append((slo, window, query))
            # A release younger than the shortest measurable window is judged by burn rate alone.
            if any(window is not None for _, window, _ in per_slo):
                plans[key] = (started, per_slo)
        wanted = [query for _, per_slo in plans.values() for _, _, query in per_slo if query is not None]
        try:
            results = await asyncio.to_thread(self._queries.evaluate, wanted) if wanted else {}
        except PrometheusUnavailableError:
            self._telemetry.prometheus_error()
            return
        impacts: dict[WorkloadKey, ReleaseImpact] = {}
        for key, (started, per_slo) in plans.items():
            consumed: dict[str, float | None] = {}
            for slo, window, query in per_slo:
                result = results.get(query) if query is not None else None
                if slo.model is None or window is None or result is None or result.value is None:
                    consumed[slo.name] = None
                    continue
                consumed[slo.name] = consumed_percent(
                    result.value, slo.model.spec.objective, window, parse_duration(slo.model.spec.window)
                )
            impacts[key] = ReleaseImpact(started_at=started, budget_consumed_percent=consumed)
        self._reconciler.release_impacts = impacts
