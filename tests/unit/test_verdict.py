"""The release decision: table tests for each rule and properties of the whole."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slogate.api.base import ChangeType, WorkloadKind, WorkloadReference
from slogate.api.gate import CheckKind, Mode, NoDataPolicy, ReleaseGateSpec, Verdict
from slogate.api.incident import IncidentState, Severity
from slogate.api.slo import SloState
from slogate.domain.calendar import FreezeState, FreezeWindow
from slogate.domain.inputs import (
    DecisionInput,
    FreezeSnapshot,
    GateSnapshot,
    IncidentSnapshot,
    PageAlertSnapshot,
    Refused,
    ReleaseImpact,
    SloSnapshot,
)
from slogate.domain.scope import Workload
from slogate.domain.verdict import decide

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
MINUTE = timedelta(minutes=1)
FIVE_MINUTES = 5 * MINUTE
WORKLOAD = Workload(WorkloadKind.DEPLOYMENT, "shop", "checkout", {"app": "checkout"})


def gate(name: str = "checkout", **spec: Any) -> GateSnapshot:
    values = spec.pop("check_values", {})
    return GateSnapshot(name, ReleaseGateSpec.model_validate({"selector": {}, **spec}), values)


def slo(name: str = "availability", burn: float | None = 1.0, remaining: float | None = 80.0) -> SloSnapshot:
    return SloSnapshot(
        name=name,
        objective=99.9,
        window=timedelta(days=30),
        state=SloState.HEALTHY,
        budget_remaining_percent=remaining,
        shortest_policy_window=FIVE_MINUTES,
        burn_rates={FIVE_MINUTES: burn, 30 * MINUTE: burn, HOUR: burn, 6 * HOUR: burn},
    )


ACTIVE_FREEZE = FreezeSnapshot(
    "migration", "database migration", FreezeState(True, FreezeWindow(NOW - HOUR, NOW + HOUR), None)
)
LATER_FREEZE = FreezeSnapshot(
    "holidays", "year end", FreezeState(False, None, FreezeWindow(NOW + 100 * HOUR, NOW + 200 * HOUR))
)


def incident(
    severity: Severity = Severity.P1, state: IncidentState = IncidentState.MITIGATING, **kw: Any
) -> IncidentSnapshot:
    return IncidentSnapshot("outage", "checkout down", severity, state, **kw)


def inputs(**fields: Any) -> DecisionInput:
    return DecisionInput(workload=WORKLOAD, now=NOW, **fields)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (inputs(), Verdict.PROCEED),
        (inputs(freezes=(ACTIVE_FREEZE,)), Verdict.HOLD),  # no gate: the built-in policy still freezes
        (inputs(freezes=(LATER_FREEZE,)), Verdict.PROCEED),
        (inputs(incidents=(incident(),)), Verdict.HOLD),
        (inputs(incidents=(incident(Severity.P2),)), Verdict.HOLD),
        (inputs(incidents=(incident(Severity.P3),)), Verdict.PROCEED),
        (inputs(incidents=(incident(Severity.P3, holds_promotions=True),)), Verdict.HOLD),
        (inputs(incidents=(incident(holds_promotions=False),)), Verdict.PROCEED),
        (inputs(incidents=(incident(state=IncidentState.RESOLVED),)), Verdict.PROCEED),
        (
            inputs(gates=(gate(incidentSeverityThreshold="P3"),), incidents=(incident(Severity.P3),)),
            Verdict.HOLD,
        ),
        (inputs(gates=(gate(requireNoActiveFreeze=False),), freezes=(ACTIVE_FREEZE,)), Verdict.PROCEED),
        (inputs(gates=(gate(maxBurnRate=4),), slos=(slo(burn=5),)), Verdict.HOLD),
        (inputs(gates=(gate(maxBurnRate=4),), slos=(slo(burn=4),)), Verdict.PROCEED),
        (
            inputs(
                gates=(gate(maxBurnRate=4, onViolation={"duringRollout": "Rollback"}),), slos=(slo(burn=5),)
            ),
            Verdict.HOLD,  # no rollout in progress: nothing to roll back
        ),
        (
            inputs(
                gates=(gate(maxBurnRate=4, onViolation={"duringRollout": "Rollback"}),),
                slos=(slo(burn=5),),
                rollout_in_progress=True,
            ),
            Verdict.ROLLBACK,
        ),
        (inputs(gates=(gate(maxBurnRate=4),), slos=(slo(burn=5),), rollout_in_progress=True), Verdict.HOLD),
        (inputs(gates=(gate(maxBurnRate=4),), slos=(slo(burn=None),)), Verdict.PROCEED),
        (inputs(gates=(gate(maxBurnRate=4, onNoData="Hold"),), slos=(slo(burn=None),)), Verdict.HOLD),
        (
            inputs(
                gates=(gate(maxBurnRate=4, onNoData="Hold", onViolation={"duringRollout": "Rollback"}),),
                slos=(slo(burn=None),),
                rollout_in_progress=True,
            ),
            Verdict.HOLD,  # missing data holds, never rolls back
        ),
        (inputs(gates=(gate(maxBurnRate=4, burnRateWindow="6h"),), slos=(slo(burn=5),)), Verdict.HOLD),
        (inputs(gates=(gate(maxBurnRate=4, burnRateWindow="2h"),), slos=(slo(burn=5),)), Verdict.PROCEED),
        (inputs(gates=(gate(minBudgetRemaining=10),), slos=(slo(remaining=5),)), Verdict.HOLD),
        (
            inputs(
                gates=(gate(minBudgetRemaining=10, onViolation={"duringRollout": "Rollback"}),),
                slos=(slo(remaining=5),),
                rollout_in_progress=True,
            ),
            Verdict.HOLD,  # a budget spent before this release is no reason to roll it back
        ),
        (
            inputs(
                gates=(gate(onViolation={"duringRollout": "Rollback"}),),
                slos=(slo(),),
                release=ReleaseImpact(NOW - HOUR, {"availability": 25.0}),
                rollout_in_progress=True,
            ),
            Verdict.ROLLBACK,
        ),
        (
            inputs(gates=(gate(),), slos=(slo(),), release=ReleaseImpact(NOW - HOUR, {"availability": 25.0})),
            Verdict.HOLD,
        ),
        (
            inputs(gates=(gate(),), slos=(slo(),), release=ReleaseImpact(NOW - HOUR, {"availability": 15.0})),
            Verdict.PROCEED,
        ),
        (
            inputs(
                gates=(
                    gate(
                        checks=[{"name": "queue", "query": "q", "comparison": "LessThan", "threshold": 100}],
                        check_values={"queue": 150.0},
                    ),
                )
            ),
            Verdict.HOLD,
        ),
        (
            inputs(gates=(gate(maxBurnRate=4),), slos=(slo(burn=5),), change_type=ChangeType.RELIABILITY),
            Verdict.PROCEED,
        ),
        (
            inputs(
                gates=(gate(maxBurnRate=4, exemptions={"changeTypes": []}),),
                slos=(slo(burn=5),),
                change_type=ChangeType.RELIABILITY,
            ),
            Verdict.HOLD,
        ),
        (inputs(freezes=(ACTIVE_FREEZE,), change_type=ChangeType.RELIABILITY), Verdict.HOLD),
        (inputs(freezes=(ACTIVE_FREEZE,), change_type=ChangeType.EMERGENCY), Verdict.PROCEED),
        (inputs(incidents=(incident(),), change_type=ChangeType.EMERGENCY), Verdict.PROCEED),
        (
            inputs(
                gates=(gate(exemptions={"changeTypes": []}),),
                freezes=(replace(ACTIVE_FREEZE, exempt_change_types=frozenset()),),
                change_type=ChangeType.EMERGENCY,
            ),
            Verdict.HOLD,
        ),
        (
            inputs(
                gates=(gate(exemptions={"changeTypes": []}),),
                freezes=(ACTIVE_FREEZE,),
                change_type=ChangeType.EMERGENCY,
            ),
            Verdict.PROCEED,  # the freeze's own exemption
        ),
        (inputs(currently_held=True), Verdict.RESUME),
        (inputs(currently_held=True, freezes=(ACTIVE_FREEZE,)), Verdict.HOLD),
    ],
)
def test_rules(case: DecisionInput, expected: Verdict) -> None:
    decision = decide(case)
    assert decision.action is expected, [reason.message for reason in decision.reasons]
    assert decision.enforced


def test_reasons_carry_their_values_and_sources() -> None:
    decision = decide(
        inputs(gates=(gate(maxBurnRate=4, minBudgetRemaining=10),), slos=(slo(burn=5.5, remaining=42),))
    )
    burn, budget = decision.reasons[:2]
    assert (burn.check, burn.gate, burn.source, burn.observed, burn.limit, burn.passed) == (
        CheckKind.BURN_RATE,
        "checkout",
        "ServiceLevelObjective/availability",
        "5.5",
        "4",
        False,
    )
    assert "above maxBurnRate 4" in burn.message
    assert (budget.observed, budget.limit, budget.passed) == ("42%", "10%", True)


def test_dry_run_decides_but_does_not_enforce() -> None:
    decision = decide(inputs(gates=(gate(mode="DryRun", maxBurnRate=4),), slos=(slo(burn=5),)))
    assert decision.action is Verdict.HOLD
    assert decision.enforced_action is Verdict.PROCEED
    assert not decision.enforced
    assert all(not reason.enforced for reason in decision.reasons)


def test_enforced_and_dry_run_gates_combine() -> None:
    decision = decide(
        inputs(
            gates=(
                gate("a-enforce", maxBurnRate=10, minBudgetRemaining=50),
                gate("b-dry-run", mode="DryRun", maxBurnRate=4, onViolation={"duringRollout": "Rollback"}),
            ),
            slos=(slo(burn=5, remaining=20),),
            rollout_in_progress=True,
        )
    )
    assert decision.action is Verdict.ROLLBACK
    assert decision.enforced_action is Verdict.HOLD
    assert [reason.gate for reason in decision.blocking_reasons] == ["a-enforce", "b-dry-run"]


def test_dry_run_hold_of_a_held_workload_resumes_it() -> None:
    decision = decide(
        inputs(gates=(gate(mode="DryRun", maxBurnRate=4),), slos=(slo(burn=5),), currently_held=True)
    )
    assert decision.action is Verdict.HOLD
    assert decision.enforced_action is Verdict.RESUME


def test_break_glass_override_lets_through_and_is_audited() -> None:
    override = {"by": "alice", "reason": "hotfix for INC-42", "expires": (NOW + HOUR).isoformat()}
    decision = decide(
        inputs(
            gates=(gate(maxBurnRate=4, override=override),), slos=(slo(burn=50),), freezes=(ACTIVE_FREEZE,)
        )
    )
    assert decision.action is Verdict.PROCEED
    first = decision.reasons[0]
    assert first.check is CheckKind.OVERRIDE
    assert "alice" in first.message
    assert "hotfix for INC-42" in first.message
    assert all(reason.waived for reason in decision.reasons if not reason.passed)


def test_expired_override_is_reported_and_ignored() -> None:
    override = {"by": "alice", "reason": "hotfix", "expires": (NOW - HOUR).isoformat()}
    decision = decide(inputs(gates=(gate(maxBurnRate=4, override=override),), slos=(slo(burn=50),)))
    assert decision.action is Verdict.HOLD
    assert "expired" in decision.reasons[0].message


def test_override_for_other_workloads_does_not_apply() -> None:
    override = {
        "by": "alice",
        "reason": "hotfix",
        "expires": (NOW + HOUR).isoformat(),
        "selector": {"matchLabels": {"app": "payments"}},
    }
    decision = decide(inputs(gates=(gate(maxBurnRate=4, override=override),), slos=(slo(burn=50),)))
    assert decision.action is Verdict.HOLD
    assert all(reason.check is not CheckKind.OVERRIDE for reason in decision.reasons)


@pytest.mark.parametrize(
    ("case", "clears"),
    [
        (inputs(freezes=(ACTIVE_FREEZE,)), NOW + HOUR),
        (
            inputs(
                freezes=(
                    ACTIVE_FREEZE,
                    FreezeSnapshot("longer", "x", FreezeState(True, FreezeWindow(NOW, NOW + 5 * HOUR), None)),
                )
            ),
            NOW + 5 * HOUR,
        ),
        (inputs(freezes=(ACTIVE_FREEZE,), incidents=(incident(),)), None),  # incidents end when resolved
        (
            inputs(gates=(gate(),), slos=(slo(),), release=ReleaseImpact(NOW - HOUR, {"availability": 25.0})),
            NOW - HOUR + timedelta(days=30),  # when that release's burn leaves the window
        ),
        (inputs(), None),
    ],
)
def test_expected_clear_time(case: DecisionInput, clears: datetime | None) -> None:
    assert decide(case).expected_clear_at == clears


def test_status_entry() -> None:
    decision = decide(inputs(freezes=(ACTIVE_FREEZE,)))
    entry = decision.to_status(WorkloadReference(kind=WorkloadKind.DEPLOYMENT, name="checkout"), NOW)
    dumped = entry.model_dump(by_alias=True, mode="json", exclude_none=True)
    assert dumped["verdict"] == "Hold"
    assert dumped["enforcedVerdict"] == "Hold"
    assert dumped["expectedClearTime"] == "2026-05-01T13:00:00Z"
    assert dumped["reasons"][0]["check"] == "Freeze"
    assert dumped["reasons"][0]["source"] == "ChangeFreeze/migration"


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide(replace(inputs(), now=datetime(2026, 1, 1)))


# Properties over generated inputs.

gate_specs = st.fixed_dictionaries(
    {},
    optional={
        "mode": st.sampled_from(["Enforce", "DryRun"]),
        "maxBurnRate": st.floats(min_value=0.5, max_value=20),
        "minBudgetRemaining": st.floats(min_value=0, max_value=100),
        "requireNoActiveFreeze": st.booleans(),
        "incidentSeverityThreshold": st.sampled_from(["P1", "P2", "P3", "P4"]),
        "onNoData": st.sampled_from(["Proceed", "Hold"]),
        "onViolation": st.fixed_dictionaries({"duringRollout": st.sampled_from(["Hold", "Rollback"])}),
    },
)
gates = st.lists(
    st.builds(lambda name, spec: gate(name, **spec), st.sampled_from(["a", "b", "c"]), gate_specs),
    max_size=3,
    unique_by=lambda snapshot: snapshot.name,
)
maybe_numbers = st.one_of(st.none(), st.floats(min_value=0, max_value=100))
slos = st.lists(
    st.builds(slo, st.sampled_from(["s1", "s2"]), maybe_numbers, maybe_numbers),
    max_size=2,
    unique_by=lambda s: s.name,
)
freezes = st.lists(st.sampled_from([ACTIVE_FREEZE, LATER_FREEZE]), max_size=2, unique_by=lambda f: f.name)
incidents = st.lists(
    st.builds(
        lambda name, severity, state, holds: IncidentSnapshot(name, "t", severity, state, holds),
        st.sampled_from(["i1", "i2"]),
        st.sampled_from(list(Severity)),
        st.sampled_from(list(IncidentState)),
        st.sampled_from([None, True, False]),
    ),
    max_size=2,
    unique_by=lambda i: i.name,
)
decision_inputs = st.builds(
    lambda g, s, f, i, rollout, held, change: inputs(
        gates=tuple(g),
        slos=tuple(s),
        freezes=tuple(f),
        incidents=tuple(i),
        rollout_in_progress=rollout,
        currently_held=held,
        change_type=change,
    ),
    gates,
    slos,
    freezes,
    incidents,
    st.booleans(),
    st.booleans(),
    st.one_of(st.none(), st.sampled_from(list(ChangeType))),
)


@given(decision_inputs, st.randoms())
def test_same_inputs_in_any_order_give_the_same_verdict(case: DecisionInput, random: Any) -> None:
    shuffled = replace(
        case,
        gates=tuple(random.sample(case.gates, len(case.gates))),
        slos=tuple(random.sample(case.slos, len(case.slos))),
        freezes=tuple(random.sample(case.freezes, len(case.freezes))),
        incidents=tuple(random.sample(case.incidents, len(case.incidents))),
    )
    assert decide(shuffled) == decide(case)


@given(decision_inputs)
def test_verdict_follows_from_its_reasons(case: DecisionInput) -> None:
    decision = decide(case)
    if not decision.blocking_reasons:
        assert decision.action in (Verdict.PROCEED, Verdict.RESUME)
    if decision.action is Verdict.ROLLBACK:
        assert case.rollout_in_progress
    if decision.action in (Verdict.PROCEED, Verdict.RESUME):
        assert decision.action is (Verdict.RESUME if case.currently_held else Verdict.PROCEED)
    if decision.action is Verdict.ROLLBACK:
        assert any(reason.rollback_eligible for reason in decision.blocking_reasons)


@given(decision_inputs)
def test_dry_run_gates_alone_never_enforce_a_hold(case: DecisionInput) -> None:
    dry = replace(
        case,
        gates=tuple(replace(g, spec=g.spec.model_copy(update={"mode": Mode.DRY_RUN})) for g in case.gates),
    )
    if dry.gates:
        assert decide(dry).enforced_action in (Verdict.PROCEED, Verdict.RESUME)


@given(decision_inputs)
def test_enforced_action_is_never_more_severe_than_the_decision(case: DecisionInput) -> None:
    severity = {Verdict.PROCEED: 0, Verdict.RESUME: 0, Verdict.HOLD: 1, Verdict.ROLLBACK: 2}
    decision = decide(case)
    assert severity[decision.enforced_action] <= severity[decision.action]


def failing_slo(*failed: timedelta) -> SloSnapshot:
    """An SLO whose queries Prometheus refused over ``failed``: no numbers there, and said why."""
    return replace(slo(burn=None, remaining=None), failed_windows=frozenset(failed))


@pytest.mark.parametrize(
    ("gate_spec", "failed", "expected", "message"),
    [
        (
            {"maxBurnRate": 4},
            (FIVE_MINUTES,),
            Verdict.HOLD,
            "burn rate over 5m: Prometheus refused the query",
        ),
        ({"maxBurnRate": 4, "burnRateWindow": "6h"}, (6 * HOUR,), Verdict.HOLD, "burn rate over 6h"),
        ({"minBudgetRemaining": 20}, (timedelta(days=30),), Verdict.HOLD, "error budget left: Prometheus"),
        (
            {"maxBurnRate": 4, "onQueryFailed": "Proceed"},
            (FIVE_MINUTES,),
            Verdict.PROCEED,
            "onQueryFailed is Proceed",
        ),
        ({"maxBurnRate": 4, "onNoData": "Proceed"}, (FIVE_MINUTES,), Verdict.HOLD, "onQueryFailed is Hold"),
        ({"maxBurnRate": 4}, (), Verdict.PROCEED, "no data; onNoData is Proceed"),
    ],
    ids=["burn", "burn-window", "budget", "opted-out", "no-data-policy-is-not-it", "no-data-is-not-failed"],
)
def test_a_refused_query_holds_unlike_no_data(
    gate_spec: dict[str, Any], failed: tuple[timedelta, ...], expected: Verdict, message: str
) -> None:
    decision = decide(inputs(gates=(gate(**gate_spec),), slos=(failing_slo(*failed),)))
    assert decision.action is expected
    assert any(message in reason.message for reason in decision.reasons), decision.reasons


REFUSED = Refused("bad_data: 1:10: parse error: unclosed left parenthesis")
QUEUE_CHECK = {"name": "queue", "query": "max(queue)", "comparison": "LessThan", "threshold": 100}


@pytest.mark.parametrize(
    ("gate_spec", "release", "expected", "message"),
    [
        (
            {"checks": [QUEUE_CHECK], "check_values": {"queue": REFUSED}},
            None,
            Verdict.HOLD,
            "queue: Prometheus refused the query (bad_data: 1:10: parse error",
        ),
        (
            {"checks": [QUEUE_CHECK], "check_values": {"queue": REFUSED}, "onQueryFailed": "Proceed"},
            None,
            Verdict.PROCEED,
            "onQueryFailed is Proceed",
        ),
        (
            {"checks": [QUEUE_CHECK], "check_values": {}, "onNoData": "Proceed"},
            None,
            Verdict.PROCEED,
            "queue: no data; onNoData is Proceed",
        ),
        (
            {"maxBudgetConsumedPerRelease": 20},
            ReleaseImpact(NOW - HOUR, {"availability": REFUSED}),
            Verdict.HOLD,
            "budget consumed by the last release: Prometheus refused the query (bad_data",
        ),
        (
            {"maxBudgetConsumedPerRelease": 20},
            ReleaseImpact(NOW - HOUR, {"availability": None}),
            Verdict.PROCEED,
            "budget consumed by the last release: no data; onNoData is Proceed",
        ),
    ],
    ids=["check", "check-opted-out", "check-no-data", "release", "release-no-data"],
)
def test_a_refused_check_or_release_query_fails_closed(
    gate_spec: dict[str, Any], release: ReleaseImpact | None, expected: Verdict, message: str
) -> None:
    decision = decide(inputs(gates=(gate(**gate_spec),), slos=(slo(),), release=release))
    assert decision.action is expected
    assert any(message in reason.message for reason in decision.reasons), decision.reasons


def test_an_outage_names_the_operator_policy_not_the_gates_on_no_data() -> None:
    outage = replace(gate(maxBurnRate=4), outage_policy=NoDataPolicy.HOLD)
    decision = decide(inputs(gates=(outage,), slos=(slo(burn=None, remaining=None),)))
    assert decision.action is Verdict.HOLD
    assert [reason.message for reason in decision.blocking_reasons] == [
        "burn rate over 5m: no data; Prometheus is unavailable and --on-prometheus-unavailable is Hold"
    ]


def burning(**burns: float) -> SloSnapshot:
    """An SLO measured over 5m, 30m, 1h and 6h: ``m5=20, h1=3`` and the rest quiet."""
    windows = {"m5": FIVE_MINUTES, "m30": 30 * MINUTE, "h1": HOUR, "h6": 6 * HOUR}
    return replace(slo(), burn_rates={window: burns.get(key, 0.1) for key, window in windows.items()})


@pytest.mark.parametrize(
    ("gate_spec", "measured", "expected", "message"),
    [
        # A fast burn that has just started: the last hour's average has not caught up yet.
        ({"maxBurnRate": 4}, burning(m5=20, h1=3), Verdict.HOLD, "burn rate over 5m is 20, above"),
        # A burn that is over: the last hour still remembers it.
        ({"maxBurnRate": 4}, burning(m5=0.1, h1=5), Verdict.PROCEED, "burn rate over 5m is 0.1, within"),
        # The Workbook's pair: held while both the hour and its last five minutes are over.
        (
            {"maxBurnRate": 4, "burnRateWindow": "1h"},
            burning(m5=6, h1=5),
            Verdict.HOLD,
            "burn rate 5 over 1h and 6 over 5m, above maxBurnRate 4 over both",
        ),
        (
            {"maxBurnRate": 4, "burnRateWindow": "1h"},
            burning(m5=0.1, h1=5),
            Verdict.PROCEED,
            "burn rate 5 over 1h and 0.1 over 5m, within maxBurnRate 4 (held only while both are above)",
        ),
        ({"maxBurnRate": 4, "burnRateWindow": "1h"}, burning(m5=20, h1=3), Verdict.PROCEED, "3 over 1h"),
        (
            {"maxBurnRate": 4, "burnRateWindow": "6h", "burnRateShortWindow": "1h"},
            burning(h6=5, h1=5),
            Verdict.HOLD,
            "burn rate 5 over 6h and 5 over 1h",
        ),
    ],
    ids=["fresh-burn", "finished-burn", "pair-both", "pair-finished", "pair-fresh", "explicit-short"],
)
def test_a_gate_holds_while_the_burn_is_significant_and_still_happening(
    gate_spec: dict[str, Any], measured: SloSnapshot, expected: Verdict, message: str
) -> None:
    decision = decide(inputs(gates=(gate(**gate_spec),), slos=(measured,)))
    assert decision.action is expected
    assert any(message in reason.message for reason in decision.reasons), decision.reasons


def page_alert(firing: bool, long: float | None = 15.0, short: float | None = 20.0) -> PageAlertSnapshot:
    return PageAlertSnapshot("page-fast", 14.4, HOUR, FIVE_MINUTES, firing, long, short)


@pytest.mark.parametrize(
    ("alerts", "expected", "message"),
    [
        (
            (page_alert(True),),
            Verdict.HOLD,
            "page alert page-fast firing: burn rate 15 over 1h and 20 over 5m",
        ),
        ((page_alert(False, 3, 20),), Verdict.PROCEED, "page alert page-fast not firing"),
        ((page_alert(False, None, None),), Verdict.PROCEED, "page alert page-fast: no data; onNoData"),
    ],
    ids=["firing", "not-firing", "no-data"],
)
def test_require_no_page_alert_holds_while_a_page_policy_fires(
    alerts: tuple[PageAlertSnapshot, ...], expected: Verdict, message: str
) -> None:
    measured = replace(slo(), page_alerts=alerts)
    decision = decide(inputs(gates=(gate(requireNoPageAlert=True),), slos=(measured,)))
    assert decision.action is expected
    assert any(message in reason.message for reason in decision.reasons), decision.reasons


MEASURED_WINDOWS = (FIVE_MINUTES, 30 * MINUTE, HOUR, 6 * HOUR)


@given(
    st.sampled_from([{}, {"burnRateWindow": "1h"}, {"burnRateWindow": "6h"}, {"burnRateWindow": "30m"}]),
    st.floats(min_value=0.5, max_value=20),
    st.lists(st.floats(min_value=0, max_value=50), min_size=4, max_size=4),
    st.sampled_from(MEASURED_WINDOWS),
    st.floats(min_value=0, max_value=50),
)
def test_holding_is_monotonic_in_every_windows_burn(
    windows: dict[str, str], limit: float, burns: list[float], bumped: timedelta, bump: float
) -> None:
    """More burn over any window never turns a hold into a pass."""
    before = replace(slo(), burn_rates=dict(zip(MEASURED_WINDOWS, burns, strict=True)))
    after = replace(before, burn_rates={**before.burn_rates, bumped: before.burn_rates[bumped] + bump})
    checked = (gate(maxBurnRate=limit, **windows),)
    if decide(inputs(gates=checked, slos=(before,))).action is Verdict.HOLD:
        assert decide(inputs(gates=checked, slos=(after,))).action is Verdict.HOLD
