"""SLO status from one cycle's query answers, conditions, and when a status is worth writing."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slogate.api.base import Condition, ConditionStatus, WorkloadKind
from slogate.api.slo import ServiceLevelObjective
from slogate.reconcile.conditions import condition, previous_conditions, readiness, validity
from slogate.reconcile.ports import QueryResult, SloReading
from slogate.reconcile.slos import queries_for, slo_reading, slo_status, spread_heartbeat, status_changed
from slogate.reconcile.world import Tracked, WorkloadState, track

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=3)
ERRORS = 'sum(rate(http_requests_total{job="checkout",code=~"5.."}[$window]))'
TOTAL = 'sum(rate(http_requests_total{job="checkout"}[$window]))'
WINDOWS = ("1m", "5m", "1h")


def slo_body(status: Mapping[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {
            "name": "checkout-availability",
            "namespace": "shop",
            "generation": 2,
            "creationTimestamp": "2026-04-01T09:00:00Z",
        },
        "spec": {
            "objective": 99,
            "window": "1h",
            "selector": {"matchLabels": {"app.kubernetes.io/name": "checkout"}},
            "indicator": {"ratio": {"errors": ERRORS, "total": TOTAL}},
            "policies": [
                {"name": "fast", "severity": "page", "burnRate": 10, "longWindow": "5m", "shortWindow": "1m"}
            ],
            **spec,
        },
    }
    if status is not None:
        body["status"] = dict(status)
    return body


def answers(ratios: Mapping[str, float | None], rate: float | None = 25.0) -> dict[str, QueryResult]:
    """Prometheus's answers: the error ratio per window, and the request rate."""
    results = {}
    for window, ratio in ratios.items():
        errors, total = ERRORS.replace("$window", window), TOTAL.replace("$window", window)
        if ratio is not None:
            results[f"({errors}) / ({total})"] = QueryResult(value=ratio)
        if rate is not None:
            results[total] = QueryResult(value=rate)
    return results


def evaluate(
    results: Mapping[str, QueryResult],
    *,
    body: dict[str, Any] | None = None,
    prometheus_error: str | None = None,
    now: datetime = NOW,
    selected: tuple[WorkloadState, ...] = (),
) -> dict[str, Any]:
    tracked: Tracked[ServiceLevelObjective] = track(ServiceLevelObjective, body or slo_body())
    return slo_status(
        tracked=tracked,
        queries=(
            queries_for(tracked.namespace, tracked.name, tracked.model.spec)
            if tracked.model is not None
            else None
        ),
        results=results,
        prometheus_error=prometheus_error,
        selected=selected,
        now=now,
    )


def conditions_of(status: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["type"]: entry for entry in status["conditions"]}


def test_the_queries_cover_every_window() -> None:
    tracked = track(ServiceLevelObjective, slo_body())
    assert tracked.model is not None
    queries = queries_for(tracked.namespace, tracked.name, tracked.model.spec)
    assert [window.window for window in queries.windows] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(hours=1),
    ]
    assert set(answers(dict.fromkeys(WINDOWS, 0.0))) == set(queries.all())


def test_healthy() -> None:
    status = evaluate(answers(dict.fromkeys(WINDOWS, 0.001)))
    assert status["state"] == "Healthy"
    assert status["sli"] == pytest.approx(99.9)
    assert status["errorBudgetRemainingPercent"] == pytest.approx(90.0)
    assert status["burnRate"] == pytest.approx(0.1)
    assert [entry["window"] for entry in status["burnRates"]] == ["1m", "5m", "1h"]
    assert status["alerts"][0]["firing"] is False
    assert status["observedGeneration"] == 2
    assert status["lastEvaluationTime"] == "2026-05-01T12:00:00Z"
    conditions = conditions_of(status)
    assert conditions["Valid"]["status"] == "True"
    assert (conditions["Ready"]["status"], conditions["Ready"]["reason"]) == ("True", "Evaluated")
    assert status["resolvedQueries"][0]["errorRatio"] == (
        f"({ERRORS.replace('$window', '1m')}) / ({TOTAL.replace('$window', '1m')})"
    )


def test_burning() -> None:
    status = evaluate(answers({"1m": 0.2, "5m": 0.15, "1h": 0.002}))
    assert status["state"] == "Burning"
    assert status["burnRate"] == pytest.approx(15.0)
    assert status["alerts"][0]["firing"] is True
    assert status["alerts"][0]["longWindowBurnRate"] == pytest.approx(15.0)
    assert status["errorBudgetRemainingPercent"] == pytest.approx(80.0)


def test_exhausted() -> None:
    status = evaluate(answers({"1m": 0.0, "5m": 0.0, "1h": 0.02}))
    assert status["state"] == "Exhausted"
    assert status["errorBudgetRemainingPercent"] == pytest.approx(-100.0)


@pytest.mark.parametrize(
    ("results", "reason"),
    [
        pytest.param({}, "NoSamples", id="no-samples"),
        pytest.param(answers(dict.fromkeys(WINDOWS, math.nan), rate=0.0), "NotANumber", id="nan-no-traffic"),
        pytest.param(answers(dict.fromkeys(WINDOWS, math.nan), rate=None), "NotANumber", id="nan"),
        pytest.param(answers(dict.fromkeys(WINDOWS, 0.0), rate=0.0), "NoTraffic", id="zero-traffic"),
    ],
)
def test_no_data_is_unknown_never_zero_errors(results: dict[str, QueryResult], reason: str) -> None:
    status = evaluate(results)
    assert status["state"] == "Unknown"
    assert "sli" not in status or status["sli"] is None
    assert "burnRate" not in status or status["burnRate"] is None
    assert all(entry.get("burnRate") is None for entry in status["burnRates"])
    assert {entry["noDataReason"] for entry in status["burnRates"]} == {reason}
    assert conditions_of(status)["Ready"]["status"] == "True"


def test_a_failed_query_makes_ready_false() -> None:
    results = answers(dict.fromkeys(WINDOWS, 0.001))
    failing = f"({ERRORS.replace('$window', '5m')}) / ({TOTAL.replace('$window', '5m')})"
    results[failing] = QueryResult(error="bad_data: 1:12: parse error: unexpected character")
    status = evaluate(results)
    ready = conditions_of(status)["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "QueryFailed")
    assert failing in ready["message"]
    assert "parse error" in ready["message"]
    five_minutes = next(entry for entry in status["burnRates"] if entry["window"] == "5m")
    assert five_minutes.get("burnRate") is None
    assert conditions_of(status)["Valid"]["status"] == "True"


def test_prometheus_unavailable_makes_the_state_unknown() -> None:
    # Values that might be lying around are not used: Prometheus did not answer this cycle.
    status = evaluate(
        answers(dict.fromkeys(WINDOWS, 0.001)), prometheus_error="Prometheus is unavailable: timed out"
    )
    assert status["state"] == "Unknown"
    ready = conditions_of(status)["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "PrometheusUnavailable")
    assert ready["message"] == "Prometheus is unavailable: timed out"
    assert all(entry.get("burnRate") is None for entry in status["burnRates"])


def test_an_invalid_slo_names_the_field() -> None:
    status = evaluate({}, body=slo_body(objective=100.5))
    assert status["state"] == "Invalid"
    valid, ready = conditions_of(status)["Valid"], conditions_of(status)["Ready"]
    assert (valid["status"], valid["reason"]) == ("False", "InvalidSpec")
    assert "spec.objective" in valid["message"]
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert status["observedGeneration"] == 2


def test_selected_workloads_are_listed() -> None:
    selected = tuple(
        WorkloadState(kind, "shop", name, "", {}, {}, False, "h", None, False, False, None)
        for kind, name in ((WorkloadKind.DEPLOYMENT, "checkout"), (WorkloadKind.ROLLOUT, "checkout-canary"))
    )
    status = evaluate(answers(dict.fromkeys(WINDOWS, 0.001)), selected=selected)
    assert status["selectedWorkloads"] == [
        {"kind": "Deployment", "name": "checkout"},
        {"kind": "Rollout", "name": "checkout-canary"},
    ]


def merge_patch(target: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """RFC 7386, as the API server applies slogate's status patches."""
    merged = dict(target)
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_patch(merged[key], value)
        else:
            merged[key] = value
    return merged


def without_nulls(status: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in status.items() if value is not None}


OUTCOMES: dict[str, dict[str, Any]] = {
    "healthy": {"results": answers(dict.fromkeys(WINDOWS, 0.001))},
    "no-data": {"results": {}},
    "outage": {"results": {}, "prometheus_error": "Prometheus is unavailable: connection refused"},
}


@pytest.mark.parametrize("after", list(OUTCOMES))
@pytest.mark.parametrize("before", list(OUTCOMES))
def test_the_status_patch_leaves_no_stale_measurement(before: str, after: str) -> None:
    # The status is written as a merge patch: a measurement that is gone (budget, burn rate, SLI
    # after Prometheus went down) must be removed on the server, or the gates read it as current.
    first = evaluate(**OUTCOMES[before])
    stored = slo_body(status=without_nulls(first))
    second = evaluate(**OUTCOMES[after], body=stored, now=NOW + timedelta(minutes=1))
    assert merge_patch(first, second) == without_nulls(second)
    assert not status_changed(without_nulls(second), second, timedelta(minutes=5))


# ---------------------------------------------------------------------------------------------------
# status_changed


HEARTBEAT = timedelta(minutes=1)


def test_status_changed() -> None:
    current = evaluate(answers(dict.fromkeys(WINDOWS, 0.001)))
    body = slo_body(status=current)
    same = evaluate(answers(dict.fromkeys(WINDOWS, 0.001)), body=body, now=NOW + timedelta(seconds=10))
    assert same["lastEvaluationTime"] != current["lastEvaluationTime"]
    assert not status_changed(current, same, HEARTBEAT)
    stale = evaluate(answers(dict.fromkeys(WINDOWS, 0.001)), body=body, now=NOW + HEARTBEAT)
    assert status_changed(current, stale, HEARTBEAT)
    moved = evaluate(answers(dict.fromkeys(WINDOWS, 0.002)), body=body, now=NOW + timedelta(seconds=10))
    assert status_changed(current, moved, HEARTBEAT)
    assert status_changed(None, current, HEARTBEAT)
    assert status_changed({}, current, HEARTBEAT)


@pytest.mark.parametrize(
    ("current", "wanted", "changed"),
    [
        (
            {"a": 1, "lastEvaluationTime": "2026-05-01T12:00:00Z"},
            {"a": 1, "lastEvaluationTime": "2026-05-01T12:00:59Z"},
            False,
        ),
        (
            {"a": 1, "lastEvaluationTime": "2026-05-01T12:00:00Z"},
            {"a": 1, "lastEvaluationTime": "2026-05-01T12:01:00Z"},
            True,
        ),
        (
            {"a": 1, "lastEvaluationTime": "2026-05-01T12:00:00Z"},
            {"a": 2, "lastEvaluationTime": "2026-05-01T12:00:01Z"},
            True,
        ),
        ({"a": 1}, {"a": 1, "lastEvaluationTime": "2026-05-01T12:00:01Z"}, True),
        # A field the server still has and the new status dropped must be removed: a change.
        (
            {"a": 1, "b": 2, "lastEvaluationTime": "2026-05-01T12:00:00Z"},
            {"a": 1, "lastEvaluationTime": "2026-05-01T12:00:01Z"},
            True,
        ),
        # Measured numbers within 2% are noise, not news; beyond it they are written.
        (
            {"a": 4.0, "lastEvaluationTime": "2026-05-01T12:00:00Z"},
            {"a": 4.05, "lastEvaluationTime": "2026-05-01T12:00:01Z"},
            False,
        ),
        (
            {"a": 4.0, "lastEvaluationTime": "2026-05-01T12:00:00Z"},
            {"a": 4.2, "lastEvaluationTime": "2026-05-01T12:00:01Z"},
            True,
        ),
        (
            {"a": True, "lastEvaluationTime": "2026-05-01T12:00:00Z"},
            {"a": False, "lastEvaluationTime": "2026-05-01T12:00:01Z"},
            True,
        ),
        (
            {"a": 1, "lastEvaluationTime": "2026-05-01T12:00:00+00:00"},
            {"a": 1, "lastEvaluationTime": "2026-05-01T12:00:30Z"},
            False,
        ),
    ],
)
def test_status_changed_table(current: dict[str, Any], wanted: dict[str, Any], changed: bool) -> None:
    assert status_changed(current, wanted, HEARTBEAT) is changed


# ---------------------------------------------------------------------------------------------------
# conditions


def previous(status: ConditionStatus, reason: str = "Evaluated") -> list[Condition]:
    return [
        Condition(type="Ready", status=status, reason=reason, message="", last_transition_time=EARLIER),
        Condition(
            type="Other",
            status=ConditionStatus.FALSE,
            reason="X",
            last_transition_time=EARLIER - timedelta(days=1),
        ),
    ]


@pytest.mark.parametrize(
    ("before", "now_status", "transition"),
    [
        ([], ConditionStatus.TRUE, NOW),
        (previous(ConditionStatus.TRUE), ConditionStatus.TRUE, EARLIER),
        (previous(ConditionStatus.TRUE, reason="Other"), ConditionStatus.TRUE, EARLIER),
        (previous(ConditionStatus.TRUE), ConditionStatus.FALSE, NOW),
        (previous(ConditionStatus.FALSE), ConditionStatus.TRUE, NOW),
        (previous(ConditionStatus.UNKNOWN), ConditionStatus.UNKNOWN, EARLIER),
    ],
)
def test_last_transition_time_moves_only_with_the_status(
    before: list[Condition], now_status: ConditionStatus, transition: datetime
) -> None:
    made = condition(
        kind="Ready",
        status=now_status,
        reason="QueryFailed",
        message="m",
        now=NOW,
        generation=3,
        previous=before,
    )
    assert made.last_transition_time == transition
    assert (made.reason, made.message, made.observed_generation) == ("QueryFailed", "m", 3)


@given(st.lists(st.booleans(), min_size=1, max_size=12))
def test_transition_time_is_the_last_flip(readings: list[bool]) -> None:
    conditions: list[Condition] = []
    flipped_at = None
    for step, ready in enumerate(readings):
        at = NOW + timedelta(minutes=step)
        made = readiness(ready=ready, reason="R", message="", now=at, generation=1, previous=conditions)
        if step == 0 or readings[step - 1] != ready:
            flipped_at = at
        assert made.last_transition_time == flipped_at
        conditions = [made]


def test_validity_lists_the_problems() -> None:
    tracked = track(ServiceLevelObjective, slo_body(objective=0, window="soon"))
    made = validity(problems=tracked.problems, now=NOW, generation=1, previous=[])
    assert made.status is ConditionStatus.FALSE
    assert "spec.objective" in made.message
    assert "spec.window" in made.message
    assert made.message.endswith("Fix the spec; slogate ignores it until then.")


def test_previous_conditions_skip_what_does_not_parse() -> None:
    body = {
        "status": {
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Evaluated",
                    "lastTransitionTime": "2026-05-01T09:00:00Z",
                },
                {"type": "Valid", "status": "Maybe"},
                "nonsense",
            ]
        }
    }
    assert [c.type for c in previous_conditions(body)] == ["Ready"]
    assert previous_conditions({}) == []
    assert previous_conditions({"status": None}) == []


def test_the_reading_for_metrics_carries_what_the_status_says() -> None:
    status = evaluate(answers({"1m": 0.2, "5m": 0.15, "1h": 0.002}))
    reading = slo_reading("shop", "checkout-availability", status)
    assert reading == SloReading(
        namespace="shop",
        name="checkout-availability",
        state=status["state"],
        sli_percent=status["sli"],
        budget_remaining_percent=status["errorBudgetRemainingPercent"],
        burn_rates={entry["window"]: entry["burnRate"] for entry in status["burnRates"]},
    )
    assert reading.state == "Burning"
    assert reading.burn_rates["1m"] == pytest.approx(20.0)


@pytest.mark.parametrize(
    ("results", "prometheus_error", "body", "state"),
    [
        (answers(dict.fromkeys(WINDOWS, None), rate=0.0), None, None, "Unknown"),
        ({}, "Prometheus is unavailable: connection refused", None, "Unknown"),
        ({}, None, slo_body(objective=120), "Invalid"),
    ],
    ids=["no traffic", "Prometheus down", "invalid spec"],
)
def test_a_reading_without_data_has_no_numbers(
    results: dict[str, QueryResult], prometheus_error: str | None, body: dict[str, Any] | None, state: str
) -> None:
    reading = slo_reading(
        "shop", "checkout-availability", evaluate(results, prometheus_error=prometheus_error, body=body)
    )
    assert reading.state == state
    assert reading.sli_percent is None
    assert reading.budget_remaining_percent is None
    assert all(value is None for value in reading.burn_rates.values())


@given(st.text(min_size=1, max_size=60))
def test_each_object_has_its_own_heartbeat_between_one_and_two_of_it(identity: str) -> None:
    heartbeat = spread_heartbeat(timedelta(minutes=1), identity)
    assert timedelta(minutes=1) <= heartbeat <= timedelta(minutes=2)
    assert spread_heartbeat(timedelta(minutes=1), identity) == heartbeat


def test_heartbeats_of_many_objects_spread_over_a_minute() -> None:
    beats = {
        int(
            spread_heartbeat(timedelta(minutes=1), f"servicelevelobjectives/shop/slo-{index}").total_seconds()
        )
        for index in range(500)
    }
    assert len(beats) >= 50, "500 SLOs written in one cycle must not all be rewritten in one later cycle"
