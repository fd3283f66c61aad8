"""One evaluation of every SLO: which queries to run, and the status each SLO gets from the answers.

Windows up to an hour are read from raw data every cycle; longer ones from the SLO's recorded series
when their history covers the window, else from raw data aggregated before the range
(``domain.recording``), and each window's source is reported in the status with the recorded history
found. The queries of all SLOs are gathered first so the Prometheus port can share identical ones
and batch the rest; each SLO's status is then built from the answers with the pure budget maths. A
query that fails, or Prometheus being down, is no data for that window (never zero errors): a
refused query is marked QueryFailed in the window and in the Ready condition, with Prometheus'
own error text; what a gate does with no data is the gate's onNoData policy.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from slogate.api.base import Condition, WorkloadReference
from slogate.api.durations import format_duration, parse_duration
from slogate.api.gate import ReleaseGateSpec
from slogate.api.slo import (
    AlertSeverity,
    Indicator,
    PolicyAlert,
    ResolvedQuery,
    ServiceLevelObjective,
    ServiceLevelObjectiveSpec,
    ServiceLevelObjectiveStatus,
    SloState,
    WindowBurnRate,
)
from slogate.api.wire import read_time
from slogate.domain.alerts import SloAssessment, assess_slo, windows_to_measure
from slogate.domain.budget import Measurement
from slogate.domain.burnwindows import burn_rate_windows, shortest_policy_window
from slogate.domain.queries import ResolvedQueries, resolve_queries
from slogate.domain.recording import (
    covers,
    history_query,
    is_long_window,
    recorded_queries,
    subquery_queries,
)
from slogate.reconcile.conditions import as_merge_patch, previous_conditions, readiness, validity
from slogate.reconcile.ports import QueryResult, SloReading
from slogate.reconcile.world import Tracked, WorkloadState

DECIMALS = 4


class WindowSource(StrEnum):
    """Where a window's measurement comes from, as reported in the SLO's status."""

    RAW = "Raw"
    RECORDED = "Recorded"


class Cadence(StrEnum):
    """How often a query is sent. Every cycle: what a decision reads (a gate's burn-rate window).
    Status: the other windows up to an hour, which only the SLO's status and metrics show. Long:
    windows over an hour, which change slowly."""

    EVERY_CYCLE = "EveryCycle"
    STATUS = "Status"
    LONG = "Long"


@dataclass(frozen=True)
class WindowQueries:
    window: timedelta
    queries: ResolvedQueries
    source: WindowSource
    cadence: Cadence = Cadence.EVERY_CYCLE
    request_rate_cadence: Cadence = Cadence.EVERY_CYCLE
    """A decision needs the request rate only for minRequestRate: without it, no traffic already
    shows in the error ratio (NaN), so the rate can follow at the status cadence."""


@dataclass(frozen=True)
class SloQueries:
    """The queries one SLO needs, per window, and the recorded history they were chosen on."""

    windows: tuple[WindowQueries, ...]
    recorded_history: timedelta | None = None
    """How far back the SLO's recorded series reach; None when none were found."""

    def all(self) -> Iterable[str]:
        for window in self.windows:
            yield window.queries.error_ratio
            if window.queries.request_rate is not None:
                yield window.queries.request_rate

    def cadences(self) -> dict[str, Cadence]:
        found: dict[str, Cadence] = {}
        for window in self.windows:
            found[window.queries.error_ratio] = window.cadence
            if window.queries.request_rate is not None:
                found[window.queries.request_rate] = window.request_rate_cadence
        return found


def _cadences(window: timedelta, decides: bool, spec: ServiceLevelObjectiveSpec) -> tuple[Cadence, Cadence]:
    if is_long_window(window):
        return Cadence.LONG, Cadence.LONG
    if not decides:
        return Cadence.STATUS, Cadence.STATUS
    return Cadence.EVERY_CYCLE, Cadence.EVERY_CYCLE if spec.min_request_rate > 0 else Cadence.STATUS


def long_window_queries(
    namespace: str, name: str, indicator: Indicator, window: timedelta, recorded_history: timedelta | None
) -> WindowQueries:
    """A long window from the recorded series when their history covers it, else from raw data
    aggregated before the range."""
    if recorded_history is not None and covers(recorded_history, window):
        return WindowQueries(
            window, recorded_queries(namespace, name, indicator, window), WindowSource.RECORDED
        )
    return WindowQueries(window, subquery_queries(indicator, window), WindowSource.RAW)


def queries_for(
    namespace: str,
    name: str,
    spec: ServiceLevelObjectiveSpec,
    *,
    recorded_history: timedelta | None = None,
    deciding: DecidingWindows | None = None,
) -> SloQueries:
    """The SLO's queries: windows up to an hour raw, longer ones by ``long_window_queries``; each
    at the cadence its use needs (``deciding``: what gates decide on, measured whether or not the
    SLO's policies have those windows; when None, every window decides)."""
    decided = deciding.windows(spec) if deciding is not None else None
    windows = []
    for window in windows_to_measure(spec, tuple(sorted(decided or ()))):
        decides = decided is None or window in decided
        cadence, rate_cadence = _cadences(window, decides, spec)
        if is_long_window(window):
            found = long_window_queries(namespace, name, spec.indicator, window, recorded_history)
            queries, source = found.queries, found.source
        else:
            queries, source = resolve_queries(spec.indicator, format_duration(window)), WindowSource.RAW
        windows.append(WindowQueries(window, queries, source, cadence, rate_cadence))
    return SloQueries(windows=tuple(windows), recorded_history=recorded_history)


@dataclass(frozen=True)
class DecidingWindows:
    """What the gates of a namespace decide on, so that its SLOs measure those windows every cycle:
    each gate's burn-rate windows (which depend on the SLO's policies), the page policies' windows
    when a gate requires no page alert, and the SLO's window when a gate limits the budget left."""

    burn_rate_gates: tuple[ReleaseGateSpec, ...] = ()
    """The specs of the gates that set maxBurnRate."""
    pages: bool = False
    period: bool = False
    """A gate limits the budget left, which is read over the SLO's whole window."""

    def windows(self, spec: ServiceLevelObjectiveSpec) -> frozenset[timedelta]:
        shortest = shortest_policy_window(spec)
        found = {
            window for gate in self.burn_rate_gates for window in burn_rate_windows(gate, shortest).distinct()
        }
        if self.pages:
            for policy in spec.effective_policies():
                if policy.severity is AlertSeverity.PAGE:
                    found |= {parse_duration(policy.long_window), parse_duration(policy.short_window)}
        if self.period:
            found.add(parse_duration(spec.window))
        return frozenset(found)


def history_query_for(namespace: str, name: str, spec: ServiceLevelObjectiveSpec) -> str | None:
    """The query that finds how much recorded history the SLO has, when it has long windows."""
    window = parse_duration(spec.window)
    if not is_long_window(window):
        return None
    return history_query(namespace, name, spec.indicator, window)


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def _query_problems(queries: SloQueries, results: Mapping[str, QueryResult]) -> list[str]:
    return sorted(
        {
            f"{query}: {result.error}"
            for query in queries.all()
            if (result := results.get(query)) is not None and result.error
        }
    )


def _invalid_status(tracked: Tracked[ServiceLevelObjective], now: datetime) -> dict[str, Any]:
    previous = previous_conditions(tracked.body)
    invalid = ServiceLevelObjectiveStatus(
        observed_generation=tracked.generation,
        state=SloState.INVALID,
        last_evaluation_time=now,
        conditions=[
            validity(problems=tracked.problems, now=now, generation=tracked.generation, previous=previous),
            readiness(
                ready=False,
                reason="InvalidSpec",
                message="not evaluated: the spec is invalid",
                now=now,
                generation=tracked.generation,
                previous=previous,
            ),
        ],
    )
    return as_merge_patch(
        invalid.model_dump(by_alias=True, mode="json", exclude_none=True), tracked.body.get("status")
    )


def _measurements(
    queries: SloQueries, results: Mapping[str, QueryResult], prometheus_error: str | None
) -> tuple[Measurement, ...]:
    """Each window's answers; a window with a query Prometheus refused is marked failed, so its
    status says so rather than reading as no samples."""

    def answer(query: str | None) -> QueryResult:
        if query is None or prometheus_error is not None:
            return QueryResult()
        return results.get(query) or QueryResult()

    measurements = []
    for window in queries.windows:
        ratio = answer(window.queries.error_ratio)
        rate = answer(window.queries.request_rate)
        measurements.append(
            Measurement(
                window=window.window,
                error_ratio=ratio.value,
                request_rate=rate.value,
                failed=bool(ratio.error or rate.error),
            )
        )
    return tuple(measurements)


def _readiness(
    tracked: Tracked[ServiceLevelObjective], problems: list[str], prometheus_error: str | None, now: datetime
) -> Condition:
    if prometheus_error is not None:
        reason, message = "PrometheusUnavailable", prometheus_error
    elif problems:
        reason, message = "QueryFailed", "; ".join(problems)
    else:
        reason, message = "Evaluated", ""
    return readiness(
        ready=reason == "Evaluated",
        reason=reason,
        message=message,
        now=now,
        generation=tracked.generation,
        previous=previous_conditions(tracked.body),
    )


def _window_burn_rates(assessment: SloAssessment, queries: SloQueries) -> list[WindowBurnRate]:
    sources = {window.window: window.source for window in queries.windows}
    return [
        WindowBurnRate(
            window=format_duration(burn.window),
            burn_rate=_rounded(burn.burn_rate),
            error_ratio=_rounded(burn.error_ratio),
            request_rate=_rounded(burn.request_rate),
            no_data_reason=burn.no_data.value if burn.no_data is not None else None,
            source=sources[burn.window].value,
        )
        for burn in assessment.windows
    ]


def _policy_alerts(assessment: SloAssessment) -> list[PolicyAlert]:
    return [
        PolicyAlert(
            name=evaluation.policy.name,
            severity=evaluation.policy.severity,
            firing=evaluation.firing,
            burn_rate_threshold=evaluation.policy.burn_rate,
            long_window=evaluation.policy.long_window,
            short_window=evaluation.policy.short_window,
            long_window_burn_rate=_rounded(evaluation.long.burn_rate) if evaluation.long else None,
            short_window_burn_rate=_rounded(evaluation.short.burn_rate) if evaluation.short else None,
        )
        for evaluation in assessment.policies
    ]


def slo_status(
    *,
    tracked: Tracked[ServiceLevelObjective],
    queries: SloQueries | None,
    results: Mapping[str, QueryResult],
    prometheus_error: str | None,
    selected: Iterable[WorkloadState],
    now: datetime,
) -> dict[str, Any]:
    """The status an SLO gets from this cycle's answers, ready to be written as a merge patch."""
    if tracked.model is None or queries is None:
        return _invalid_status(tracked, now)
    assessment = assess_slo(tracked.model.spec, _measurements(queries, results, prometheus_error))
    previous = previous_conditions(tracked.body)
    status = ServiceLevelObjectiveStatus(
        observed_generation=tracked.generation,
        state=assessment.state,
        sli=_rounded(assessment.sli_percent),
        error_budget_remaining_percent=_rounded(assessment.budget_remaining_percent),
        burn_rate=_rounded(assessment.current_burn_rate),
        burn_rates=_window_burn_rates(assessment, queries),
        alerts=_policy_alerts(assessment),
        resolved_queries=[
            ResolvedQuery(
                window=format_duration(window.window),
                error_ratio=window.queries.error_ratio,
                request_rate=window.queries.request_rate,
            )
            for window in queries.windows
        ],
        recorded_history=(
            format_duration(_reported_history(queries.recorded_history))
            if queries.recorded_history is not None
            else None
        ),
        selected_workloads=[WorkloadReference(kind=state.kind, name=state.name) for state in selected],
        last_evaluation_time=now,
        conditions=[
            validity(problems=(), now=now, generation=tracked.generation, previous=previous),
            _readiness(tracked, _query_problems(queries, results), prometheus_error, now),
        ],
    )
    return as_merge_patch(
        status.model_dump(by_alias=True, mode="json", exclude_none=True), tracked.body.get("status")
    )


def _reported_history(value: timedelta) -> timedelta:
    """Whole hours once there is an hour of it, whole minutes before: history grows by a minute a
    minute, and a status that changed with it would be written every minute."""
    grain = timedelta(hours=1) if value >= timedelta(hours=1) else timedelta(minutes=1)
    return value // grain * grain


def slo_reading(namespace: str, name: str, status: Mapping[str, Any]) -> SloReading:
    """What the operator's metrics export of an SLO, read from the status it was just given: fresh
    every cycle, whether or not the write thresholds send that status to the server."""
    parsed = ServiceLevelObjectiveStatus.model_validate(
        {key: value for key, value in status.items() if value is not None}
    )
    return SloReading(
        namespace=namespace,
        name=name,
        state=(parsed.state or SloState.UNKNOWN).value,
        sli_percent=parsed.sli,
        budget_remaining_percent=parsed.error_budget_remaining_percent,
        burn_rates={burn.window: burn.burn_rate for burn in parsed.burn_rates or ()},
    )


def spread_heartbeat(heartbeat: timedelta, identity: str) -> timedelta:
    """The heartbeat of one object: between ``heartbeat`` and twice it, fixed per object. Objects
    first written in the same cycle (all of them, after a start) would otherwise all be rewritten
    in the same later cycle: 500 SLO statuses at once made that cycle 13 s long on the bench, and
    a cycle that long delays every hold it should place."""
    fraction = zlib.crc32(identity.encode()) / 0xFFFFFFFF
    return heartbeat * (1 + fraction)


RELATIVE_TOLERANCE = 0.02
ABSOLUTE_TOLERANCE = 1e-3
INFORMATIONAL_FIELDS = frozenset({"requestRate"})
"""Reported, but their change alone is not worth a write: a young series' long-window request rate
moves every cycle while the burn rate it explains stands still."""


def _same(before: Any, after: Any) -> bool:
    """Equal, with measured numbers compared within 2% (their noise is not news)."""
    if isinstance(before, bool) or isinstance(after, bool):
        return before is after
    if isinstance(before, int | float) and isinstance(after, int | float):
        return math.isclose(before, after, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        keys = {
            key
            for key, value in {**before, **after}.items()
            if value is not None and key not in INFORMATIONAL_FIELDS
        }
        return all(_same(before.get(key), after.get(key)) for key in keys)
    if isinstance(before, list) and isinstance(after, list):
        return len(before) == len(after) and all(_same(b, a) for b, a in zip(before, after, strict=True))
    return bool(before == after)


def status_changed(
    current: Mapping[str, Any] | None, wanted: Mapping[str, Any], heartbeat: timedelta
) -> bool:
    """Whether to write ``wanted`` over the ``current`` status on the server: something other than
    the evaluation time changed (numbers by more than 2%), or the last written evaluation time is
    older than ``heartbeat`` (so a stale status is visible as stale). The operator decides on the
    fresh values either way; this only spares the API server a write per SLO per cycle."""
    if not current:
        return True
    ignored = {"lastEvaluationTime"}
    if not _same(
        {key: value for key, value in current.items() if key not in ignored},
        {key: value for key, value in wanted.items() if key not in ignored},
    ):
        return True
    last = read_time(current.get("lastEvaluationTime"))
    now = read_time(wanted.get("lastEvaluationTime"))
    if last is None or now is None:
        return True
    return now - last >= heartbeat
