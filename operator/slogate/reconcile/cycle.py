"""The evaluation cycle: measure every SLO, decide for every workload, report on every resource.

One cycle runs on each tick of the evaluation interval, and also at the exact moment a freeze
starts or ends, so a freeze holds on time rather than up to an interval late. A cycle has three
steps. Plan: every query it needs (``reconcile.measurement``), after looking up how much recorded
history each SLO has. Measure: one batched evaluation of the queries that are due (windows up to
an hour every cycle, longer ones once per long-window interval). Publish: SLO status (only what
changed, plus a heartbeat), then every workload reconciled on the cycle's ``CycleInputs`` (the same
level-triggered function that the watch handlers call), then the status of gates, freezes and
incidents. Writes run concurrently but bounded, so thousands of workloads do not open thousands of
connections.

The reaction to a change of a resource (a new freeze, an incident raised) does not wait for the
next tick: ``resource_changed`` reconciles the workloads it can reach at once, on the inputs the
last cycle measured.

With several replicas, only the one holding the leader Lease runs cycles: after ``deactivate`` a
cycle in flight starts no further write (a replica never acts on a Lease it may have lost), and
``activate`` runs a full cycle at once, since the World it kept current while standing by is all
it needs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from slogate.api.durations import format_duration
from slogate.api.incident import RecentDeployment
from slogate.domain.verdict import Decision
from slogate.reconcile.measurement import (
    AnswerCache,
    MeasurementPlan,
    check_queries,
    history_queries,
    measured_releases,
    recorded_histories,
    release_plans,
    slo_plans,
)
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
from slogate.reconcile.slos import Cadence, slo_reading, slo_status, spread_heartbeat, status_changed
from slogate.reconcile.snapshots import CycleInputs, WorkloadKey, freeze_state_at
from slogate.reconcile.statuses import freeze_status, gate_status, incident_status
from slogate.reconcile.workloads import NOTHING_MEASURED, Outcome, WorkloadReconciler
from slogate.reconcile.world import Collection, ObjectKey, Tracked, World

log = logging.getLogger(__name__)

T = TypeVar("T")


SLOW_CYCLE_LOG_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class CycleSettings:
    interval: timedelta = timedelta(seconds=1)
    long_window_interval: timedelta = timedelta(minutes=1)
    """Windows over an hour are measured this often; between, their last answers stand."""
    status_window_interval: timedelta = timedelta(seconds=10)
    """Windows up to an hour that no gate decides on (the SLO's status and metrics show them) are
    measured this often."""
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
    """Queries sent this cycle."""
    reused: int = 0
    """Long-window answers reused from an earlier cycle."""
    prometheus_error: str | None = None
    outcomes: list[Outcome] = field(default_factory=list)
    phases: dict[str, float] = field(default_factory=dict)
    """Seconds spent in each phase, to tell a slow Prometheus from a slow API server."""

    def describe(self) -> str:
        phases = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in self.phases.items())
        return (
            f"{self.slo_count} SLOs, {self.queries} queries ({self.reused} reused), "
            f"{len(self.outcomes)} workloads: {phases}"
        )


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
        self._inputs = NOTHING_MEASURED
        self._answers = AnswerCache(
            {Cadence.STATUS: settings.status_window_interval, Cadence.LONG: settings.long_window_interval}
        )
        self._slow_logged: datetime | None = None
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

    @property
    def inputs(self) -> CycleInputs:
        """What the last cycle measured, as the decisions see it."""
        return self._inputs

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
        """Plan, measure, publish: SLO statuses, then every workload's decision, then the statuses
        of gates, freezes and incidents."""
        now = self._clock()
        started = time.monotonic()
        report = CycleReport(started=now)
        plan, planned_reach = await self._plan(now, report)
        results = await self._measure(plan, now, report)
        self._inputs = plan.inputs(results, report.prometheus_error is not None, self._inputs)
        await self._publish_slos(plan, results, now, report, planned_reach)
        reach = compute_reach(self._world)
        mark = time.monotonic()
        if self.active:
            await self._reconciler.refresh_holds(now, self._inputs)
        report.phases["holds"] = time.monotonic() - mark
        mark = time.monotonic()
        report.outcomes = await self._reconcile_all(now, reach)
        report.phases["workloads"] = time.monotonic() - mark
        mark = time.monotonic()
        await self._write_resource_statuses(now, reach)
        report.phases["resource status"] = time.monotonic() - mark
        report.seconds = time.monotonic() - started
        self._telemetry.evaluation(report.seconds, report.slo_count)
        self._warn_if_slow(report)
        return report

    def _warn_if_slow(self, report: CycleReport) -> None:
        """A cycle longer than the interval is logged at most once a minute: at a short interval and
        a large scale every cycle is, and a line a cycle would drown the log."""
        if report.seconds <= self._settings.interval.total_seconds():
            return
        if self._slow_logged is not None and report.started - self._slow_logged < SLOW_CYCLE_LOG_EVERY:
            return
        self._slow_logged = report.started
        log.warning(
            "evaluation took %.2f s, longer than the %s interval (%s)",
            report.seconds,
            format_duration(self._settings.interval),
            report.describe(),
        )

    async def _plan(self, now: datetime, report: CycleReport) -> tuple[MeasurementPlan, Reach]:
        """Every query this cycle reads, and the reach it was planned on. The SLOs' recorded history
        comes first (measured on the long cadence), since it picks the source of their long
        windows."""
        mark = time.monotonic()
        wanted = history_queries(self._world)
        lookups = dict.fromkeys(wanted.values(), Cadence.LONG)
        found = await self._evaluate(self._answers.due(lookups, now), report)
        self._answers.remember(found, lookups, now)
        histories = recorded_histories(wanted, self._answers.answers_for(lookups))
        report.phases["history"] = time.monotonic() - mark
        mark = time.monotonic()
        reach = compute_reach(self._world)
        await self._recent_deployments(measured_releases(reach))
        plan = MeasurementPlan(
            slos=slo_plans(self._world, histories),
            checks=check_queries(self._world),
            releases=release_plans(self._world, reach, self._recent, histories, now),
        )
        self._answers.keep_only([*plan.queries(), *lookups])
        report.phases["plan"] = time.monotonic() - mark
        return plan, reach

    async def _measure(
        self, plan: MeasurementPlan, now: datetime, report: CycleReport
    ) -> dict[str, QueryResult]:
        """One batched evaluation of the plan's due queries; the other answers, measured within
        their cadence's interval, are reused."""
        mark = time.monotonic()
        wanted, cadences = plan.queries(), plan.cadences()
        due = self._answers.due(cadences, now)
        fresh = await self._evaluate(due, report)
        self._answers.remember(fresh, cadences, now)
        report.phases["prometheus"] = time.monotonic() - mark
        report.slo_count, report.queries, report.reused = len(plan.slos), len(due), len(wanted) - len(due)
        return {**self._answers.answers_for(wanted), **fresh}

    async def _evaluate(self, queries: Iterable[str], report: CycleReport) -> dict[str, QueryResult]:
        """The answers of ``queries``, or none when Prometheus is unavailable (then recorded in the
        report, so the failure policy applies to the whole cycle)."""
        batch = list(queries)
        if not batch or report.prometheus_error is not None:
            return {}
        try:
            return await asyncio.to_thread(self._queries.evaluate, batch)
        except PrometheusUnavailableError as error:
            report.prometheus_error = f"Prometheus is unavailable: {error}"
            self._telemetry.prometheus_error()
            return {}

    async def _publish_slos(
        self,
        plan: MeasurementPlan,
        results: Mapping[str, QueryResult],
        now: datetime,
        report: CycleReport,
        reach: Reach,
    ) -> None:
        mark = time.monotonic()
        writes = []
        readings: list[SloReading] = []
        for slo in plan.slos:
            status = slo_status(
                tracked=slo.tracked,
                queries=slo.queries,
                results=results,
                prometheus_error=report.prometheus_error,
                selected=reach.selected_by("slo", slo.tracked),
                now=now,
            )
            readings.append(slo_reading(slo.tracked.namespace, slo.tracked.name, status))
            writes += self._publish(self._world.slos.plural, self._world.slos, slo.tracked, status)
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
                if not self.active:
                    return None
                return await self._reconciler.reconcile(key, now, self._inputs, in_reach)

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
        await self._reconciler.refresh_holds(now, self._inputs)
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
        self._inputs = self._inputs.without_release(key)
