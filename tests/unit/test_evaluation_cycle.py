"""The evaluation cycle with fakes at its ports: what it asks Prometheus, when, and what it writes.

Prometheus is a scripted fake of the MetricQueries port that answers by query text and records
every batch it was sent; the API server is a fake StatusWriter and WorkloadWriter. The World, the
planning, the SLO maths and the reconciler are the real ones.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from harness.bodies import deployment_body, resource_body
from harness.fakes import Answer, Events, History, ScriptedPrometheus, Statuses, Telemetry, Workloads
from slogate.api.base import WorkloadKind
from slogate.api.incident import RecentDeployment
from slogate.reconcile.cycle import CycleSettings, EvaluationCycle
from slogate.reconcile.ports import QueryResult
from slogate.reconcile.workloads import Action, WorkloadReconciler
from slogate.reconcile.world import World

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
APP = {"app.kubernetes.io/name": "checkout"}
ERRORS = 'sum(rate(http_requests_total{job="checkout",code=~"5.."}[$window]))'
TOTAL = 'sum(rate(http_requests_total{job="checkout"}[$window]))'


resource = resource_body


def slo_30d(**spec: Any) -> dict[str, Any]:
    return resource(
        "ServiceLevelObjective",
        "checkout",
        {
            "objective": 99.9,
            "window": "30d",
            "selector": {"matchLabels": APP},
            "indicator": {"ratio": {"errors": ERRORS, "total": TOTAL}},
            **spec,
        },
    )


@dataclass
class Harness:
    cycle: EvaluationCycle
    prometheus: ScriptedPrometheus
    statuses: Statuses
    workloads: Workloads
    clock: list[datetime]

    def run(self, at: datetime = NOW) -> None:
        self.clock[0] = at
        asyncio.run(self.cycle.run_once())

    def slo_status(self) -> Mapping[str, Any]:
        return next(
            status
            for plural, _, status in reversed(self.statuses.patches)
            if plural == "servicelevelobjectives"
        )


def harness(answer: Answer, *resources: dict[str, Any], history: History | None = None) -> Harness:
    world = World(platform_namespace="slogate-system")
    collections = {
        "ServiceLevelObjective": world.slos,
        "ReleaseGate": world.gates,
        "ChangeFreeze": world.freezes,
        "Incident": world.incidents,
    }
    for body in resources:
        tracked = collections[body["kind"]].observe(body, deleted=False)
        assert tracked.model is not None, tracked.problems
    world.observe_workload(
        WorkloadKind.DEPLOYMENT, deployment_body("checkout", APP, "shop/checkout:2", "2"), deleted=False
    )
    prometheus, statuses, workloads = ScriptedPrometheus(answer), Statuses(), Workloads()
    clock = [NOW]
    cycle = EvaluationCycle(
        world=world,
        reconciler=WorkloadReconciler(world, workloads, Events()),
        queries=prometheus,
        statuses=statuses,
        history=history or History(),
        telemetry=Telemetry(),
        clock=lambda: clock[0],
        settings=CycleSettings(status_heartbeat=timedelta(0)),
    )
    return Harness(cycle, prometheus, statuses, workloads, clock)


def steady(ratio: float, history_samples: float | None = None) -> Answer:
    """A service at ``ratio`` errors, 50 requests a second, with recorded history of this many
    samples (None: no recorded series)."""

    def answer(query: str) -> QueryResult:
        if query.startswith("count_over_time("):
            return QueryResult(value=history_samples)
        if query.startswith(('sum(rate(http_requests_total{job="checkout"}[', "avg_over_time(")):
            return QueryResult(value=50.0)
        return QueryResult(value=ratio)

    return answer


def sources(status: Mapping[str, Any]) -> dict[str, str]:
    return {entry["window"]: entry["source"] for entry in status["burnRates"]}


def test_long_windows_come_from_recorded_series_that_cover_them() -> None:
    run = harness(steady(0.0001, history_samples=30 * 24 * 60), slo_30d())
    run.run()
    status = run.slo_status()
    assert sources(status) == {
        "5m": "Raw",
        "30m": "Raw",
        "1h": "Raw",
        "6h": "Recorded",
        "3d": "Recorded",
        "30d": "Recorded",
    }
    assert status["recordedHistory"] == "30d"
    recorded = [query for query in run.prometheus.sent if "slogate:slo_errors:rate5m" in query]
    assert len(recorded) == 3
    assert status["errorBudgetRemainingPercent"] == pytest.approx(90.0)


def test_without_recorded_series_long_windows_are_raw_subqueries() -> None:
    run = harness(steady(0.0001), slo_30d())
    run.run()
    status = run.slo_status()
    assert set(sources(status).values()) == {"Raw"}
    assert "recordedHistory" not in status
    long_queries = [q for q in run.prometheus.sent if "[30d:5m]" in q]
    assert long_queries, "the 30d window is aggregated before the range"
    assert not [q for q in run.prometheus.sent if "[30d])" in q and "rate(" in q.split("[30d]")[0][-40:]]


def test_history_shorter_than_a_window_reads_only_the_windows_it_covers() -> None:
    run = harness(steady(0.0001, history_samples=2 * 24 * 60), slo_30d())
    run.run()
    assert sources(run.slo_status())["6h"] == "Recorded"
    assert sources(run.slo_status())["3d"] == "Raw"
    assert sources(run.slo_status())["30d"] == "Raw"
    assert run.slo_status()["recordedHistory"] == "2d"


def windows_sent(run: Harness) -> set[str]:
    """The windows of the queries sent since the last look, as [1h], [30d:5m], ..."""
    sent = {window for query in run.prometheus.sent for window in re.findall(r"\[([0-9a-z:]+)\]", query)}
    run.prometheus.batches.clear()
    return sent


def test_each_window_is_measured_as_often_as_its_use_needs() -> None:
    gate = resource("ReleaseGate", "checkout", {"selector": {"matchLabels": APP}, "maxBurnRate": 4})
    run = harness(steady(0.0001, history_samples=30 * 24 * 60), slo_30d(), gate)
    run.run(NOW)
    assert {"5m", "30m", "1h", "6h", "3d", "30d"} <= windows_sent(run)
    run.run(NOW + timedelta(seconds=1))
    assert windows_sent(run) == {"5m"}, "only the window the gate decides on, every cycle"
    run.run(NOW + timedelta(seconds=10))
    assert windows_sent(run) == {"5m", "30m", "1h"}, "the status windows every 10 s"
    run.run(NOW + timedelta(seconds=11))
    assert windows_sent(run) == {"5m"}
    assert run.slo_status()["errorBudgetRemainingPercent"] == pytest.approx(90.0), "reused answer"
    run.run(NOW + timedelta(minutes=1))
    assert {"5m", "30m", "1h", "6h", "3d", "30d"} <= windows_sent(run), "the long windows once a minute"


@pytest.mark.parametrize(
    ("gate_spec", "every_cycle"),
    [
        ({"burnRateWindow": "1h"}, {"1h", "5m"}),
        ({"burnRateWindow": "6h"}, {"30m"}),  # 6h is a long window: measured once a minute
        ({"burnRateWindow": "2h", "burnRateShortWindow": "7m"}, {"7m"}),
        ({"requireNoPageAlert": True}, {"5m", "1h", "30m"}),  # the page policies' windows up to 1h
    ],
    ids=["workbook-pair", "long-pair", "explicit-short", "page-alerts"],
)
def test_the_windows_a_gate_decides_on_are_measured_every_cycle(
    gate_spec: dict[str, Any], every_cycle: set[str]
) -> None:
    gate = resource(
        "ReleaseGate", "checkout", {"selector": {"matchLabels": APP}, "maxBurnRate": 4, **gate_spec}
    )
    run = harness(steady(0.0001, history_samples=30 * 24 * 60), slo_30d(), gate)
    run.run(NOW)
    windows_sent(run)
    run.run(NOW + timedelta(seconds=1))
    assert windows_sent(run) == every_cycle


def test_a_gate_window_is_measured_every_cycle_and_its_rate_only_for_min_request_rate() -> None:
    gate = resource(
        "ReleaseGate",
        "checkout",
        {"selector": {"matchLabels": APP}, "maxBurnRate": 4, "burnRateWindow": "2m"},
    )
    run = harness(steady(0.0001, history_samples=30 * 24 * 60), slo_30d(minRequestRate=1), gate)
    run.run(NOW)
    windows_sent(run)
    run.run(NOW + timedelta(seconds=1))
    assert len([q for q in run.prometheus.sent if "[2m]" in q]) == 2, "ratio and rate: minRequestRate is set"
    assert windows_sent(run) == {"2m"}
    assert {entry["window"] for entry in run.slo_status()["burnRates"]} >= {"2m", "1h"}


def test_a_refused_query_is_reported_as_failed_never_as_no_samples() -> None:
    def answer(query: str) -> QueryResult:
        if "[1h]" in query:
            return QueryResult(
                error="Prometheus rejected the query: query processing would load too many samples"
            )
        return steady(0.0001)(query)

    run = harness(answer, slo_30d())
    run.run()
    status = run.slo_status()
    windows = {entry["window"]: entry for entry in status["burnRates"]}
    assert windows["1h"]["noDataReason"] == "QueryFailed"
    assert windows["5m"].get("noDataReason") is None
    ready = next(c for c in status["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "False"
    assert ready["reason"] == "QueryFailed"
    assert "too many samples" in ready["message"]


def test_a_gate_check_above_its_limit_holds_through_the_cycle_inputs() -> None:
    check = "sum(queue_depth)"
    gate = resource(
        "ReleaseGate",
        "checkout",
        {
            "selector": {"matchLabels": APP},
            "checks": [{"name": "queue", "query": check, "comparison": "LessThan", "threshold": 100}],
        },
    )
    depth = [50.0]
    run = harness(lambda q: QueryResult(value=depth[0]) if q == check else QueryResult(), gate)
    run.run()
    assert run.workloads.paused == []
    depth[0] = 150.0
    run.run(NOW + timedelta(seconds=1))
    assert run.workloads.paused == [True]
    outcome = asyncio.run(run.cycle.resource_changed("shop"))
    assert [result.action for result in outcome] == [Action.NONE], "the inputs of the last cycle stand"


def test_an_outage_holds_by_the_operator_policy_and_keeps_the_release_measured_before() -> None:
    gate = resource(
        "ReleaseGate",
        "checkout",
        {"selector": {"matchLabels": APP}, "maxBurnRate": 4, "maxBudgetConsumedPerRelease": 20},
    )
    released = NOW - timedelta(minutes=30)
    history = History(
        [
            RecentDeployment.model_validate(
                {"workload": {"kind": "Deployment", "name": "checkout"}, "revision": "2", "time": released}
            )
        ]
    )
    run = harness(steady(0.0), slo_30d(), gate, history=history)
    run.run()
    assert [q for q in run.prometheus.sent if "[30m]" in q and "5.." in q], "the release's window is queried"
    assert run.workloads.paused == []
    measured = run.cycle.inputs.release_impacts
    assert measured, "the release's budget is measured"
    run.prometheus.down = True
    run.run(NOW + timedelta(seconds=1))
    assert run.workloads.paused == [True], "Prometheus out: the operator's outage policy holds"
    assert run.cycle.inputs.release_impacts == measured
    assert run.cycle.inputs.prometheus_outage
    run.prometheus.down = False
    run.run(NOW + timedelta(seconds=2))
    assert run.workloads.paused == [True, False]


def test_a_budget_limit_reads_a_short_slo_window_every_cycle() -> None:
    gate = resource("ReleaseGate", "checkout", {"selector": {"matchLabels": APP}, "minBudgetRemaining": 20})
    hourly = slo_30d(
        window="1h",
        policies=[
            {"name": "fast", "severity": "page", "burnRate": 10, "longWindow": "5m", "shortWindow": "1m"}
        ],
    )
    run = harness(steady(0.0001), hourly, gate)
    run.run(NOW)
    windows_sent(run)
    run.run(NOW + timedelta(seconds=1))
    assert windows_sent(run) == {"1h"}, "the budget left is read over the SLO's window"
