"""The models accept what users write and reject mistakes with a message naming the field."""

from __future__ import annotations

from copy import deepcopy
from datetime import timedelta
from typing import Any

import pytest

from slogate.api import (
    ChangeFreeze,
    Incident,
    InvalidResourceError,
    ReleaseGate,
    ServiceLevelObjective,
    parse_resource,
    validation_problems,
)
from slogate.api.durations import parse_duration
from slogate.api.gate import Mode
from slogate.api.incident import IncidentState, Severity
from slogate.api.slo import AlertSeverity, default_policies
from slogate.api.validation import admission_problems

SLO: dict[str, Any] = {
    "apiVersion": "slogate.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "checkout"},
    "spec": {
        "objective": 99.9,
        "window": "30d",
        "selector": {"matchLabels": {"app": "checkout"}},
        "indicator": {"ratio": {"errors": "sum(rate(e[$window]))", "total": "sum(rate(t[$window]))"}},
    },
}
GATE: dict[str, Any] = {"kind": "ReleaseGate", "spec": {"selector": {}}}
FREEZE: dict[str, Any] = {"kind": "ChangeFreeze", "spec": {"reason": "migration", "duration": "2h"}}
INCIDENT: dict[str, Any] = {
    "kind": "Incident",
    "spec": {"severity": "P1", "title": "checkout down", "affectedSelector": {}},
}


def with_spec(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    changed = deepcopy(body)
    for key, value in changes.items():
        if value is None:
            changed["spec"].pop(key, None)
        else:
            changed["spec"][key] = value
    return changed


def problem_fields(body: dict[str, Any]) -> dict[str, str]:
    return {problem.field: problem.message for problem in validation_problems(body)}


@pytest.mark.parametrize("body", [SLO, GATE, FREEZE, INCIDENT])
def test_minimal_resources_are_valid(body: dict[str, Any]) -> None:
    assert validation_problems(body) == ()


def test_defaults_are_the_documented_ones() -> None:
    slo = parse_resource(SLO)
    gate = parse_resource(GATE)
    freeze = parse_resource(FREEZE)
    incident = parse_resource(INCIDENT)
    assert isinstance(slo, ServiceLevelObjective)
    assert isinstance(gate, ReleaseGate)
    assert isinstance(freeze, ChangeFreeze)
    assert isinstance(incident, Incident)
    assert slo.spec.min_request_rate == 0
    assert gate.spec.mode is Mode.ENFORCE
    assert gate.spec.max_budget_consumed_per_release == 20
    assert gate.spec.require_no_active_freeze
    assert gate.spec.incident_severity_threshold is Severity.P2
    assert gate.spec.exemptions.change_types == ["reliability", "emergency"]
    assert freeze.spec.time_zone == "UTC"
    assert freeze.spec.exemptions.change_types == ["emergency"]
    assert incident.spec.state is IncidentState.DETECTED


@pytest.mark.parametrize(
    ("body", "field", "fragment"),
    [
        (with_spec(SLO, objective=100), "spec.objective", "less than 100"),
        (with_spec(SLO, objective=0), "spec.objective", "greater than 0"),
        (with_spec(SLO, objective=-5), "spec.objective", "greater than 0"),
        (with_spec(SLO, window="30 days"), "spec.window", "Prometheus style"),
        (with_spec(SLO, window="1m1h"), "spec.window", "largest first"),
        (with_spec(SLO, window="0s"), "spec.window", "greater than zero"),
        (with_spec(SLO, window="5ms"), "spec.window", "invalid duration"),
        (with_spec(SLO, selector=None), "spec.selector", "Field required"),
        (with_spec(SLO, indicator=None), "spec.indicator", "Field required"),
        (
            with_spec(
                SLO,
                indicator={
                    "ratio": {"errors": "e[$window]", "total": "t[$window]"},
                    "latency": {"metric": "h", "threshold": "0.3"},
                },
            ),
            "spec.indicator",
            "exactly one indicator kind",
        ),
        (with_spec(SLO, indicator={}), "spec.indicator", "exactly one indicator kind"),
        (
            with_spec(
                SLO,
                indicator={"ratio": {"good": "g[$window]", "errors": "e[$window]", "total": "t[$window]"}},
            ),
            "spec.indicator.ratio",
            "exactly one of good or errors",
        ),
        (
            with_spec(SLO, indicator={"ratio": {"errors": "e[5m]", "total": "t[$window]"}}),
            "spec.indicator.ratio.errors",
            "must contain the $window placeholder",
        ),
        (
            with_spec(SLO, indicator={"ratio": {"errors": "sum(rate(e[$window])", "total": "t[$window]"}}),
            "spec.indicator.ratio.errors",
            "not valid PromQL (unclosed left parenthesis)",
        ),
        (
            with_spec(SLO, indicator={"ratio": {"good": "g[$window]", "total": "sum(rate(t[$window])) by"}}),
            "spec.indicator.ratio.total",
            "not valid PromQL",
        ),
        (
            with_spec(SLO, indicator={"errorRatio": {"query": "rate(e)[$window]"}}),
            "spec.indicator.errorRatio.query",
            "not valid PromQL",
        ),
        (
            with_spec(
                SLO, indicator={"errorRatio": {"query": "e[$window]", "requestRate": "rate(r[$window]"}}
            ),
            "spec.indicator.errorRatio.requestRate",
            "not valid PromQL (unclosed left parenthesis)",
        ),
        (
            with_spec(
                SLO, indicator={"latency": {"metric": "h", "matchers": 'job="a",,', "threshold": "0.3"}}
            ),
            "spec.indicator.latency.matchers",
            "not valid PromQL label matchers",
        ),
        (
            with_spec(
                GATE, checks=[{"name": "q", "query": "max(q{a=})", "comparison": "LessThan", "threshold": 1}]
            ),
            "spec.checks[0].query",
            "not valid PromQL",
        ),
        (
            with_spec(SLO, indicator={"latency": {"metric": "bad name", "threshold": "0.3"}}),
            "spec.indicator.latency.metric",
            "pattern",
        ),
        (
            with_spec(
                SLO,
                policies=[
                    {"name": "p", "severity": "page", "burnRate": 2, "longWindow": "5m", "shortWindow": "1h"}
                ],
            ),
            "spec.policies[0]",
            "shortWindow (1h) must be shorter than longWindow (5m)",
        ),
        (
            with_spec(
                SLO,
                policies=[
                    {"name": "p", "severity": "page", "burnRate": 2, "longWindow": "31d", "shortWindow": "1h"}
                ],
            ),
            "spec",
            "longWindow (31d) must be no longer than window (30d)",
        ),
        (
            with_spec(
                SLO,
                selector={"matchExpressions": [{"key": "app", "operator": "In"}]},
            ),
            "spec.selector.matchExpressions[0]",
            "values must be non-empty for operator In",
        ),
        (
            with_spec(SLO, selector={"matchLabels": {"bad key!": "x"}}),
            "spec.selector.matchLabels",
            "invalid label key",
        ),
        (with_spec(SLO, unknownField=1), "spec.unknownField", "Extra inputs are not permitted"),
        (with_spec(INCIDENT, severity="P5"), "spec.severity", "'P1', 'P2', 'P3' or 'P4'"),
        (with_spec(INCIDENT, state="Open"), "spec.state", "Detected"),
        (with_spec(INCIDENT, title=None), "spec.title", "Field required"),
        (with_spec(GATE, mode="Audit"), "spec.mode", "'Enforce' or 'DryRun'"),
        (
            with_spec(GATE, exemptions={"changeTypes": ["feature"]}),
            "spec.exemptions.changeTypes[0]",
            "reliability",
        ),
        (with_spec(GATE, minBudgetRemaining=101), "spec.minBudgetRemaining", "less than or equal to 100"),
        (
            with_spec(GATE, override={"by": " ", "reason": "x", "expires": "2026-01-01T00:00:00Z"}),
            "spec.override",
            "must not be blank",
        ),
        (with_spec(FREEZE, timeZone="Mars/Olympus_Mons"), "spec.timeZone", "unknown time zone"),
        (with_spec(FREEZE, timeZone="localtime"), "spec.timeZone", "not an IANA time zone"),
        (with_spec(FREEZE, duration=None), "spec", "needs end or duration"),
        (
            with_spec(FREEZE, duration=None, start="2026-01-02T00:00:00Z", end="2026-01-01T00:00:00Z"),
            "spec",
            "end must be after start",
        ),
        (with_spec(FREEZE, end="2026-01-01T00:00:00Z"), "spec", "set end or duration, not both"),
        (with_spec(FREEZE, start="2026-01-01T00:00:00"), "spec.start", "UTC offset"),
        (
            with_spec(FREEZE, recurrence={"cron": "@daily", "duration": "1h"}),
            "spec",
            "either recurrence or a one-shot window",
        ),
        (
            with_spec(FREEZE, duration=None, recurrence={"rrule": "FREQ=FORTNIGHTLY", "duration": "1h"}),
            "spec.recurrence.rrule",
            "FREQ=FORTNIGHTLY is not supported",
        ),
        (
            with_spec(FREEZE, duration=None, recurrence={"rrule": "FREQ=WEEKLY;BYDAY=XX", "duration": "1h"}),
            "spec.recurrence.rrule",
            "invalid rrule",
        ),
        (
            with_spec(FREEZE, duration=None, recurrence={"cron": "0 25 * * *", "duration": "1h"}),
            "spec.recurrence.cron",
            "hour",
        ),
        (
            with_spec(
                FREEZE, duration=None, recurrence={"rrule": "FREQ=DAILY", "cron": "@daily", "duration": "1h"}
            ),
            "spec.recurrence",
            "exactly one of rrule or cron",
        ),
    ],
)
def test_invalid_input_names_the_field(body: dict[str, Any], field: str, fragment: str) -> None:
    problems = problem_fields(body)
    assert field in problems, problems
    assert fragment in problems[field], problems[field]


def test_parse_resource_raises_with_every_problem() -> None:
    body = with_spec(SLO, objective=150, window="forever")
    with pytest.raises(InvalidResourceError) as raised:
        parse_resource(body)
    assert {problem.field for problem in raised.value.problems} == {"spec.objective", "spec.window"}
    assert "invalid ServiceLevelObjective" in str(raised.value)


def test_unknown_kind_is_a_problem_not_a_crash() -> None:
    assert [problem.field for problem in validation_problems({"kind": "Pod"})] == ["kind"]


def test_workbook_defaults_for_thirty_days() -> None:
    policies = default_policies(timedelta(days=30))
    assert [(p.name, p.severity, p.burn_rate, p.long_window, p.short_window) for p in policies] == [
        ("page-fast", AlertSeverity.PAGE, 14.4, "1h", "5m"),
        ("page-slow", AlertSeverity.PAGE, 6.0, "6h", "30m"),
        ("ticket", AlertSeverity.TICKET, 1.0, "3d", "6h"),
    ]


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("7d", [("14m", "1m10s"), ("1h24m", "7m"), ("16h48m", "1h24m")]),
        ("30m", [("3s", "1s"), ("15s", "1s"), ("3m", "15s")]),
    ],
)
def test_workbook_defaults_scale_with_the_window(window: str, expected: list[tuple[str, str | None]]) -> None:
    policies = {p.long_window: p.short_window for p in default_policies(parse_duration(window))}
    for long_window, short_window in expected:
        if short_window is None:
            assert long_window not in policies, "a policy whose windows collapse to 1s is dropped"
        else:
            assert policies[long_window] == short_window


def test_scaled_defaults_spend_the_same_budget_share() -> None:
    for window in (timedelta(days=30), timedelta(days=28), timedelta(hours=10)):
        for policy in default_policies(window):
            share = policy.burn_rate * parse_duration(policy.long_window) / window
            assert share == pytest.approx(
                {"page-fast": 0.02, "page-slow": 0.05, "ticket": 0.1}[policy.name], rel=0.01
            )


def test_effective_policies_prefer_the_given_ones() -> None:
    custom = [{"name": "only", "severity": "ticket", "burnRate": 3, "longWindow": "1d", "shortWindow": "2h"}]
    slo = parse_resource(with_spec(SLO, policies=custom))
    assert isinstance(slo, ServiceLevelObjective)
    assert [policy.name for policy in slo.spec.effective_policies()] == ["only"]


def test_models_round_trip_in_camel_case() -> None:
    slo = parse_resource(SLO)
    dumped = slo.model_dump(by_alias=True, exclude_none=True, mode="json")
    assert dumped["spec"]["minRequestRate"] == 0
    assert parse_resource(dumped) == slo


BAD_ZONE = with_spec(FREEZE, timeZone="Mars/Olympus")


@pytest.mark.parametrize(
    ("operation", "old", "body", "refused"),
    [
        ("CREATE", None, BAD_ZONE, True),
        ("CREATE", None, FREEZE, False),
        ("UPDATE", FREEZE, BAD_ZONE, True),
        # Admitted before validation was on: a label or a finalizer on it is not refused.
        ("UPDATE", BAD_ZONE, {**BAD_ZONE, "metadata": {"name": "f", "labels": {"team": "a"}}}, False),
        ("UPDATE", BAD_ZONE, with_spec(BAD_ZONE, reason="still wrong"), True),
        ("UPDATE", BAD_ZONE, FREEZE, False),
    ],
    ids=["create-bad", "create-good", "update-to-bad", "metadata-only", "spec-change-still-bad", "fixed"],
)
def test_admission_refuses_a_bad_spec_and_never_a_metadata_only_update(
    operation: str, old: dict[str, Any] | None, body: dict[str, Any], refused: bool
) -> None:
    problems = admission_problems(operation, old, body)
    assert bool(problems) is refused
    assert all(problem.field == "spec.timeZone" for problem in problems)
