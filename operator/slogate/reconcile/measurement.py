"""What one evaluation cycle measures, and the answers it may reuse: the plan and measure steps.

A cycle first plans every query it needs (each SLO's windows, each gate's extra checks, each current
release's budget window), then sends in one batched evaluation only the queries that are due: what
a decision reads (a gate's burn-rate window, its checks, a young release's window) every cycle; the
other windows up to an hour, which only the SLO's status shows, once per status interval; the
windows over an hour (they change slowly) once per long-window interval; the last answers reused
in between. Prometheus' cost is per query as much as per sample, so measuring only what a decision
reads at the fast cadence is what lets the interval be a second. The answers of a plan become the
cycle's ``CycleInputs`` for the decisions and the SLO statuses.

Before a plan, the recorded history of each SLO with long windows is looked up (itself on the long
cadence), because it decides whether those windows are read from the recorded series or from raw
data. Everything here is pure: ``now`` is an argument and the I/O is the cycle's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slogate.api.durations import format_duration, parse_duration
from slogate.api.gate import ReleaseGateSpec
from slogate.api.incident import RecentDeployment
from slogate.api.slo import ServiceLevelObjective
from slogate.domain.inputs import Measured, Refused, ReleaseImpact
from slogate.domain.queries import resolve_queries
from slogate.domain.recording import history_from_samples, is_long_window
from slogate.domain.releases import consumed_percent, release_started, release_window
from slogate.reconcile.ports import QueryResult
from slogate.reconcile.reach import Reach
from slogate.reconcile.slos import (
    Cadence,
    DecidingWindows,
    SloQueries,
    history_query_for,
    long_window_queries,
    queries_for,
)
from slogate.reconcile.snapshots import CycleInputs, WorkloadKey
from slogate.reconcile.world import Tracked, World

LONG_RELEASE_GRAIN = timedelta(minutes=1)
"""A long release window grows by this grain, so its query changes (and is sent) once a minute."""


@dataclass(frozen=True)
class SloPlan:
    tracked: Tracked[Any]
    queries: SloQueries | None
    """None for an invalid spec."""


@dataclass(frozen=True)
class ReleaseQuery:
    slo: Tracked[ServiceLevelObjective]
    window: timedelta | None
    """None while the release is too young to measure against this SLO."""
    query: str | None


@dataclass(frozen=True)
class ReleasePlan:
    started: datetime
    per_slo: tuple[ReleaseQuery, ...]


@dataclass(frozen=True)
class MeasurementPlan:
    slos: tuple[SloPlan, ...]
    checks: Mapping[tuple[str, str, str], str]
    """Each gate's extra-check query, by (namespace, gate, check)."""
    releases: Mapping[WorkloadKey, ReleasePlan]

    def queries(self) -> list[str]:
        """Every query the plan reads, in a stable order, once each."""
        wanted = [query for plan in self.slos if plan.queries is not None for query in plan.queries.all()]
        wanted += self.checks.values()
        wanted += [
            release.query
            for plan in self.releases.values()
            for release in plan.per_slo
            if release.query is not None
        ]
        return list(dict.fromkeys(wanted))

    def cadences(self) -> dict[str, Cadence]:
        """How often each of the plan's queries is sent. A query two uses share (an SLO's window
        that a release's window equals) goes at the more frequent of their cadences."""
        found: dict[str, Cadence] = {}

        def add(query: str, cadence: Cadence) -> None:
            found[query] = min(found.get(query, cadence), cadence, key=CADENCE_ORDER.index)

        for plan in self.slos:
            for query, cadence in (plan.queries.cadences() if plan.queries is not None else {}).items():
                add(query, cadence)
        for query in self.checks.values():
            add(query, Cadence.EVERY_CYCLE)
        for release_plan in self.releases.values():
            for release in release_plan.per_slo:
                if release.query is not None and release.window is not None:
                    add(
                        release.query, Cadence.LONG if is_long_window(release.window) else Cadence.EVERY_CYCLE
                    )
        return found

    def inputs(
        self, results: Mapping[str, QueryResult], prometheus_outage: bool, previous: CycleInputs
    ) -> CycleInputs:
        """The decisions' inputs from this plan's answers. While Prometheus is out, the release
        impacts measured last stand (a release's budget does not become unknown for it)."""
        check_values: dict[tuple[str, str], dict[str, Measured]] = {}
        for (namespace, gate, check), query in self.checks.items():
            check_values.setdefault((namespace, gate), {})[check] = measured(results.get(query))
        impacts = previous.release_impacts if prometheus_outage else self._impacts(results)
        return CycleInputs(
            check_values=check_values, prometheus_outage=prometheus_outage, release_impacts=impacts
        )

    def _impacts(self, results: Mapping[str, QueryResult]) -> dict[WorkloadKey, ReleaseImpact]:
        impacts = {}
        for key, plan in self.releases.items():
            consumed: dict[str, Measured] = {}
            for release in plan.per_slo:
                result = results.get(release.query) if release.query is not None else None
                model = release.slo.model
                if result is not None and result.error is not None:
                    consumed[release.slo.name] = Refused(result.error)
                    continue
                if model is None or release.window is None or result is None or result.value is None:
                    consumed[release.slo.name] = None
                    continue
                consumed[release.slo.name] = consumed_percent(
                    result.value, model.spec.objective, release.window, parse_duration(model.spec.window)
                )
            impacts[key] = ReleaseImpact(started_at=plan.started, budget_consumed_percent=consumed)
        return impacts


def measured(result: QueryResult | None) -> Measured:
    """A query's answer as a check reads it; None when the query was not sent or found nothing."""
    if result is None:
        return None
    return Refused(result.error) if result.error is not None else result.value


CADENCE_ORDER = (Cadence.EVERY_CYCLE, Cadence.STATUS, Cadence.LONG)


@dataclass
class AnswerCache:
    """The last answer of each query not sent every cycle, and when it was measured. Only answers
    are kept, never decisions: a restarted operator measures everything in its first cycle."""

    intervals: Mapping[Cadence, timedelta]
    """How long an answer of each cadence stands; every-cycle queries are always sent."""
    answers: dict[str, tuple[QueryResult, datetime]] = field(default_factory=dict)

    def due(self, cadences: Mapping[str, Cadence], now: datetime) -> list[str]:
        """The queries to send now: the every-cycle ones, and each other one not measured within
        its cadence's interval."""
        return [
            query
            for query, cadence in cadences.items()
            if cadence is Cadence.EVERY_CYCLE
            or (found := self.answers.get(query)) is None
            or now - found[1] >= self.intervals[cadence]
        ]

    def remember(
        self, results: Mapping[str, QueryResult], cadences: Mapping[str, Cadence], now: datetime
    ) -> None:
        for query, result in results.items():
            if cadences.get(query, Cadence.EVERY_CYCLE) is not Cadence.EVERY_CYCLE:
                self.answers[query] = (result, now)

    def answers_for(self, queries: Iterable[str]) -> dict[str, QueryResult]:
        return {query: found[0] for query in queries if (found := self.answers.get(query)) is not None}

    def keep_only(self, queries: Iterable[str]) -> None:
        """Forget the answers no plan asks for any more (a deleted SLO, a release that grew)."""
        wanted = set(queries)
        for query in [query for query in self.answers if query not in wanted]:
            del self.answers[query]


def history_queries(world: World) -> dict[tuple[str, str], str]:
    """Per SLO (namespace, name) with long windows, the query of its recorded history."""
    found = {}
    for tracked in world.slos.valid():
        if tracked.model is not None and (
            query := history_query_for(tracked.namespace, tracked.name, tracked.model.spec)
        ):
            found[(tracked.namespace, tracked.name)] = query
    return found


def recorded_histories(
    queries: Mapping[tuple[str, str], str], results: Mapping[str, QueryResult]
) -> dict[tuple[str, str], timedelta]:
    """Each SLO's recorded history from the answers of ``history_queries``; an SLO whose recorded
    series were not found (no rules loaded) or whose query failed has none."""
    histories = {}
    for key, query in queries.items():
        result = results.get(query)
        if result is not None and result.value is not None and result.value > 0:
            histories[key] = history_from_samples(result.value)
    return histories


def deciding_windows(world: World) -> dict[str, DecidingWindows]:
    """Per namespace, the burn-rate windows its gates decide on (a gate governs workloads of its
    own namespace only, so these are the windows its SLOs must measure every cycle)."""
    burn_rate_gates: dict[str, list[ReleaseGateSpec]] = {}
    pages: set[str] = set()
    period: set[str] = set()
    for gate in world.gates.valid():
        if gate.model is None:
            continue
        spec = gate.model.spec
        if spec.min_budget_remaining is not None:
            period.add(gate.namespace)
        if spec.require_no_page_alert:
            pages.add(gate.namespace)
        if spec.max_burn_rate is not None:
            burn_rate_gates.setdefault(gate.namespace, []).append(spec)
    return {
        namespace: DecidingWindows(
            tuple(burn_rate_gates.get(namespace, ())), namespace in pages, namespace in period
        )
        for namespace in {*burn_rate_gates, *pages, *period}
    }


def slo_plans(world: World, histories: Mapping[tuple[str, str], timedelta]) -> tuple[SloPlan, ...]:
    """Every SLO's queries, with the windows its namespace's gates decide on."""
    deciding = deciding_windows(world)
    return tuple(
        SloPlan(
            tracked,
            queries_for(
                tracked.namespace,
                tracked.name,
                tracked.model.spec,
                recorded_history=histories.get((tracked.namespace, tracked.name)),
                deciding=deciding.get(tracked.namespace, DecidingWindows()),
            )
            if tracked.model is not None
            else None,
        )
        for tracked in list(world.slos.items.values())
    )


def check_queries(world: World) -> dict[tuple[str, str, str], str]:
    return {
        (gate.namespace, gate.name, check.name): check.query
        for gate in world.gates.valid()
        if gate.model is not None
        for check in gate.model.spec.checks or ()
    }


def measured_releases(reach: Reach) -> list[WorkloadKey]:
    """The workloads whose current release a gate limits (maxBudgetConsumedPerRelease)."""
    return [
        key
        for key, found in reach.of_workload.items()
        if found.slos
        and any(g.model is not None and g.model.spec.max_budget_consumed_per_release for g in found.gates)
    ]


def release_query(
    slo: Tracked[ServiceLevelObjective],
    started: datetime,
    now: datetime,
    histories: Mapping[tuple[str, str], timedelta],
) -> ReleaseQuery:
    """The error ratio of one SLO since a release started. A release older than an hour is a long
    window (recorded series or a raw subquery), grown by the minute."""
    if slo.model is None:
        return ReleaseQuery(slo, None, None)
    spec = slo.model.spec
    window = release_window(started, now, parse_duration(spec.window))
    if window is None:
        return ReleaseQuery(slo, None, None)
    if not is_long_window(window):
        return ReleaseQuery(slo, window, resolve_queries(spec.indicator, format_duration(window)).error_ratio)
    window = window // LONG_RELEASE_GRAIN * LONG_RELEASE_GRAIN
    history = histories.get((slo.namespace, slo.name))
    long = long_window_queries(slo.namespace, slo.name, spec.indicator, window, history)
    return ReleaseQuery(slo, window, long.queries.error_ratio)


def release_plans(
    world: World,
    reach: Reach,
    recent: Mapping[WorkloadKey, list[RecentDeployment]],
    histories: Mapping[tuple[str, str], timedelta],
    now: datetime,
) -> dict[WorkloadKey, ReleasePlan]:
    """The budget window of each measured release. A release younger than the shortest measurable
    window is judged by burn rate alone."""
    plans = {}
    for key in measured_releases(reach):
        state = world.workloads.get(key)
        started = release_started(recent.get(key, []), state.revision if state else None)
        if state is None or started is None:
            continue
        per_slo = tuple(
            release_query(slo, started, now, histories)
            for slo in reach.for_workload(key).slos
            if slo.model is not None
        )
        if any(release.window is not None for release in per_slo):
            plans[key] = ReleasePlan(started, per_slo)
    return plans
