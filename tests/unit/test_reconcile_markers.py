"""The marker annotations: the one-line explanation, what a decision writes, and when it differs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slogate.api.gate import CheckKind, Verdict
from slogate.api.wire import (
    DECIDED_AT_ANNOTATION,
    DECISION_ANNOTATION,
    DRY_RUN_DECISION_ANNOTATION,
    EXPECTED_CLEAR_ANNOTATION,
    GATE_ANNOTATION,
    REASON_ANNOTATION,
    REVISION_ANNOTATION,
    SLO_STATE_ANNOTATION,
)
from slogate.domain.checks import Reason
from slogate.domain.verdict import Decision
from slogate.reconcile.markers import MAX_REASON_LENGTH, decision_annotations, differs, explanation

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CLEARS = datetime(2026, 5, 1, 14, 0, tzinfo=UTC)

FREEZE = Reason(
    CheckKind.FREEZE,
    "checkout",
    "ChangeFreeze/db-migration",
    passed=False,
    message="change freeze in force until 2026-05-01T14:00:00+00:00: migration",
    clears_at=CLEARS,
)
BURN = Reason(
    CheckKind.BURN_RATE,
    "payments",
    "ServiceLevelObjective/checkout",
    passed=False,
    message="burn rate is 12, above maxBurnRate 4",
    rollback_eligible=True,
)
PASSED = Reason(CheckKind.INCIDENT, "checkout", None, passed=True, message="no incident")
WAIVED = Reason(
    CheckKind.FREEZE,
    None,
    "ChangeFreeze/weekends",
    passed=False,
    waived=True,
    message="change freeze in force (waived: emergency changes are exempt from this freeze)",
)
DEFAULT_POLICY_FREEZE = Reason(CheckKind.FREEZE, None, "ChangeFreeze/x", passed=False, message="freeze")


def decision(
    *reasons: Reason,
    action: Verdict = Verdict.HOLD,
    enforced: Verdict | None = None,
    clears: datetime | None = None,
) -> Decision:
    return Decision(
        action=action,
        enforced_action=enforced or action,
        reasons=reasons,
        expected_clear_at=clears,
        evaluated_at=NOW,
        rollout_in_progress=False,
        change_type=None,
    )


@pytest.mark.parametrize(
    ("reasons", "text"),
    [
        ((), "all checks pass"),
        ((PASSED,), "all checks pass"),
        (
            (FREEZE,),
            "ChangeFreeze/db-migration: change freeze in force until 2026-05-01T14:00:00+00:00: migration",
        ),
        (
            (FREEZE, PASSED, BURN),
            "ChangeFreeze/db-migration: change freeze in force until 2026-05-01T14:00:00+00:00: migration; "
            "ServiceLevelObjective/checkout: burn rate is 12, above maxBurnRate 4",
        ),
        (
            (WAIVED,),
            "all checks pass; waived: ChangeFreeze/weekends: change freeze in force "
            "(waived: emergency changes are exempt from this freeze)",
        ),
        ((BURN, WAIVED), f"{BURN.source}: {BURN.message}; waived: {WAIVED.source}: {WAIVED.message}"),
        ((Reason(CheckKind.OVERRIDE, "g", None, passed=False, message="no source"),), "no source"),
    ],
)
def test_explanation(reasons: tuple[Reason, ...], text: str) -> None:
    assert explanation(decision(*reasons)) == text


@given(st.integers(min_value=1, max_value=40))
def test_explanation_fits_an_annotation(count: int) -> None:
    long = Reason(CheckKind.EXTRA_CHECK, "g", "check/x", passed=False, message="x" * 300)
    text = explanation(decision(*([long] * count)))
    assert len(text) <= MAX_REASON_LENGTH
    if len(f"check/x: {'x' * 300}") * count + 2 * (count - 1) > MAX_REASON_LENGTH:
        assert text.endswith("…")
        assert len(text) == MAX_REASON_LENGTH


def test_decision_annotations_of_an_enforced_hold() -> None:
    annotations = decision_annotations(
        decision(FREEZE, BURN, PASSED, clears=CLEARS),
        "7",
        {"checkout-latency": "Healthy", "checkout-availability": "Burning"},
        NOW,
    )
    assert annotations == {
        DECISION_ANNOTATION: "Hold",
        DRY_RUN_DECISION_ANNOTATION: None,
        REASON_ANNOTATION: explanation(decision(FREEZE, BURN)),
        DECIDED_AT_ANNOTATION: "2026-05-01T12:00:00Z",
        REVISION_ANNOTATION: "7",
        SLO_STATE_ANNOTATION: "checkout-availability=Burning, checkout-latency=Healthy",
        GATE_ANNOTATION: "checkout, payments",
        EXPECTED_CLEAR_ANNOTATION: "2026-05-01T14:00:00Z",
    }


def test_decision_annotations_remove_what_no_longer_applies() -> None:
    annotations = decision_annotations(decision(action=Verdict.PROCEED), None, {}, NOW)
    assert annotations[DECISION_ANNOTATION] == "Proceed"
    for key in (
        DRY_RUN_DECISION_ANNOTATION,
        REVISION_ANNOTATION,
        SLO_STATE_ANNOTATION,
        GATE_ANNOTATION,
        EXPECTED_CLEAR_ANNOTATION,
    ):
        assert key in annotations
        assert annotations[key] is None


def test_a_dry_run_decision_is_recorded_apart() -> None:
    annotations = decision_annotations(
        decision(FREEZE, action=Verdict.HOLD, enforced=Verdict.PROCEED), "3", {}, NOW
    )
    assert annotations[DECISION_ANNOTATION] == "Proceed"
    assert annotations[DRY_RUN_DECISION_ANNOTATION] == "Hold"


def test_the_default_policy_names_no_gate() -> None:
    assert decision_annotations(decision(DEFAULT_POLICY_FREEZE), None, {}, NOW)[GATE_ANNOTATION] is None


def test_resume_is_recorded_as_the_proceed_it_leaves() -> None:
    # Resume lifts slogate's hold; the next decision for the released workload is Proceed, and
    # recording it must not need another write.
    resumed = decision_annotations(decision(action=Verdict.RESUME), "7", {}, NOW)
    after = decision_annotations(decision(action=Verdict.PROCEED), "7", {}, NOW)
    assert resumed[DECISION_ANNOTATION] == "Proceed"
    assert not differs({k: v for k, v in resumed.items() if v is not None}, after)


@pytest.mark.parametrize(
    ("current", "wanted", "different"),
    [
        ({}, {}, False),
        ({"a": "1"}, {"a": "1"}, False),
        ({"a": "1"}, {"a": "2"}, True),
        ({}, {"a": None}, False),
        ({"a": "1"}, {"a": None}, True),
        ({}, {"a": "1"}, True),
        ({"a": "1", "other": "x"}, {"a": "1"}, False),
        (
            {DECIDED_AT_ANNOTATION: "2026-05-01T11:00:00Z"},
            {DECIDED_AT_ANNOTATION: "2026-05-01T12:00:00Z"},
            False,
        ),
        ({}, {DECIDED_AT_ANNOTATION: "2026-05-01T12:00:00Z"}, False),
    ],
)
def test_differs(current: dict[str, str], wanted: dict[str, str | None], different: bool) -> None:
    assert differs(current, wanted) is different


keys = st.sampled_from(["slogate.dev/decision", "slogate.dev/reason", "team", DECIDED_AT_ANNOTATION])
values = st.text(max_size=5)


@given(st.dictionaries(keys, values), st.dictionaries(keys, st.none() | values))
def test_after_writing_nothing_differs(current: dict[str, str], wanted: dict[str, str | None]) -> None:
    written = {key: value for key, value in {**current, **wanted}.items() if value is not None}
    assert not differs(written, wanted)


@pytest.mark.parametrize(
    ("before", "after", "different"),
    [
        (
            "burn rate over 10s is 28.17, above maxBurnRate 4",
            "burn rate over 10s is 27.74, above maxBurnRate 4",
            False,
        ),
        ("42% of the error budget left", "41.5% of the error budget left", False),
        (
            "burn rate is 5, above maxBurnRate 4",
            "change freeze in force until 2026-12-27T00:00:00+00:00",
            True,
        ),
        (
            "freeze in force until 2026-12-27T00:00:00+00:00",
            "freeze in force until 2026-12-28T00:00:00+00:00",
            True,
        ),
    ],
)
def test_a_new_measurement_of_the_same_reason_is_not_a_new_decision(
    before: str, after: str, different: bool
) -> None:
    assert differs({REASON_ANNOTATION: before}, {REASON_ANNOTATION: after}) is different
