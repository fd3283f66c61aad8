"""plan(): the write that brings a workload in line with the enforced verdict, and what it never does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from slogate.api.base import WorkloadKind
from slogate.api.gate import Verdict
from slogate.api.wire import HELD_ANNOTATION, ROLLED_BACK_TO_ANNOTATION
from slogate.domain.verdict import Decision
from slogate.reconcile.workloads import ROLLBACK_ROLLING_OUT, Action, plan
from slogate.reconcile.world import WorkloadState

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TEMPLATE = "3f2a9c1d0b7e6a54"
D, R = WorkloadKind.DEPLOYMENT, WorkloadKind.ROLLOUT
PROCEED, HOLD, ROLLBACK, RESUME = Verdict.PROCEED, Verdict.HOLD, Verdict.ROLLBACK, Verdict.RESUME


class Pause(Enum):
    NONE = "not paused"
    SLOGATE = "paused by slogate"
    PERSON = "paused by a person"


def state(
    kind: WorkloadKind, pause: Pause, *, aborted: bool = False, target: bool = False, rolling: bool = True
) -> WorkloadState:
    annotations: dict[str, str] = {}
    if pause is Pause.SLOGATE:
        annotations[HELD_ANNOTATION] = "true"
    if target:
        annotations[ROLLED_BACK_TO_ANNOTATION] = TEMPLATE
    return WorkloadState(
        kind=kind,
        namespace="shop",
        name="checkout",
        uid="uid-1",
        labels={"app.kubernetes.io/name": "checkout"},
        annotations=annotations,
        paused=pause is not Pause.NONE,
        template_hash=TEMPLATE,
        revision="7",
        rollout_in_progress=rolling,
        aborted=aborted,
        change_type=None,
    )


def decision(enforced: Verdict, *, action: Verdict | None = None) -> Decision:
    return Decision(
        action=action or enforced,
        enforced_action=enforced,
        reasons=(),
        expected_clear_at=None,
        evaluated_at=NOW,
        rollout_in_progress=enforced is Verdict.ROLLBACK,
        change_type=None,
    )


@dataclass(frozen=True)
class Row:
    verdict: Verdict
    kind: WorkloadKind
    pause: Pause
    action: Action
    note: str = ""
    aborted: bool = False
    target: bool = False
    rolling: bool = True

    @property
    def id(self) -> str:
        flags = ("-aborted" if self.aborted else "") + ("-target" if self.target else "")
        flags += "" if self.rolling else "-complete"
        return f"{self.verdict.value}-{self.kind.value}-{self.pause.name.lower()}{flags}"


SOMEONE_ELSE = "already paused by someone else; slogate leaves that pause alone"
UNDO_REFUSES = "paused by someone else; kubectl rollout undo refuses a paused Deployment"
ALREADY_ABORTED = "already aborted"
ALREADY_ROLLED_BACK = "already rolled back to this template"

TABLE = [
    # Proceed and Resume: lift only slogate's own pause.
    *(
        Row(verdict, kind, pause, Action.UNPAUSE if pause is Pause.SLOGATE else Action.NONE)
        for verdict in (PROCEED, RESUME)
        for kind in (D, R)
        for pause in Pause
    ),
    Row(PROCEED, R, Pause.NONE, Action.NONE, aborted=True),
    Row(RESUME, R, Pause.SLOGATE, Action.UNPAUSE, aborted=True),
    Row(PROCEED, D, Pause.NONE, Action.NONE, target=True),
    Row(RESUME, D, Pause.SLOGATE, Action.UNPAUSE, target=True),
    # Hold: pause unless paused already; never take over a person's pause.
    Row(HOLD, D, Pause.NONE, Action.PAUSE),
    Row(HOLD, D, Pause.SLOGATE, Action.NONE),
    Row(HOLD, D, Pause.PERSON, Action.NONE, SOMEONE_ELSE),
    Row(HOLD, R, Pause.NONE, Action.PAUSE),
    Row(HOLD, R, Pause.SLOGATE, Action.NONE),
    Row(HOLD, R, Pause.PERSON, Action.NONE, SOMEONE_ELSE),
    # A paused Rollout is not reconciled: pausing an aborted one could strand its canary pods.
    Row(
        HOLD,
        R,
        Pause.NONE,
        Action.NONE,
        "aborted: the Rollout stays on its stable revision until its template changes",
        aborted=True,
    ),
    # slogate's own rollback is left to roll out (pausing it would keep the bad revision's pods),
    # then held like any other revision.
    Row(HOLD, D, Pause.NONE, Action.NONE, ROLLBACK_ROLLING_OUT, target=True),
    Row(HOLD, D, Pause.SLOGATE, Action.NONE, ROLLBACK_ROLLING_OUT, target=True),
    Row(HOLD, D, Pause.NONE, Action.PAUSE, target=True, rolling=False),
    Row(HOLD, D, Pause.SLOGATE, Action.NONE, target=True, rolling=False),
    # Rollback of a Deployment: kubectl rollout undo, once per template, never over a person's pause.
    Row(ROLLBACK, D, Pause.NONE, Action.ROLL_BACK),
    Row(ROLLBACK, D, Pause.SLOGATE, Action.ROLL_BACK),
    Row(ROLLBACK, D, Pause.PERSON, Action.NONE, UNDO_REFUSES),
    Row(ROLLBACK, D, Pause.NONE, Action.NONE, ALREADY_ROLLED_BACK, target=True),
    Row(ROLLBACK, D, Pause.SLOGATE, Action.NONE, ALREADY_ROLLED_BACK, target=True),
    Row(ROLLBACK, D, Pause.PERSON, Action.NONE, ALREADY_ROLLED_BACK, target=True),
    # Rollback of a Rollout: abort, once.
    Row(ROLLBACK, R, Pause.NONE, Action.ABORT),
    Row(ROLLBACK, R, Pause.SLOGATE, Action.ABORT),
    Row(ROLLBACK, R, Pause.PERSON, Action.ABORT),
    Row(ROLLBACK, R, Pause.NONE, Action.NONE, ALREADY_ABORTED, aborted=True),
    Row(ROLLBACK, R, Pause.SLOGATE, Action.NONE, ALREADY_ABORTED, aborted=True),
    Row(ROLLBACK, R, Pause.PERSON, Action.NONE, ALREADY_ABORTED, aborted=True),
]


@pytest.mark.parametrize("row", TABLE, ids=[row.id for row in TABLE])
def test_plan(row: Row) -> None:
    workload = state(row.kind, row.pause, aborted=row.aborted, target=row.target, rolling=row.rolling)
    planned = plan(workload, decision(row.verdict))
    assert (planned.action, planned.note) == (row.action, row.note)


def test_the_table_covers_every_verdict_kind_and_pause() -> None:
    covered = {(row.verdict, row.kind, row.pause) for row in TABLE}
    assert covered == {(v, k, p) for v in Verdict for k in WorkloadKind for p in Pause}


@pytest.mark.parametrize(
    ("action", "enforced", "expected"),
    [
        (HOLD, PROCEED, Action.NONE),
        (ROLLBACK, PROCEED, Action.NONE),
        (HOLD, RESUME, Action.UNPAUSE),
    ],
)
def test_plan_follows_the_enforced_verdict_not_a_dry_run_one(
    action: Verdict, enforced: Verdict, expected: Action
) -> None:
    pause = Pause.SLOGATE if enforced is RESUME else Pause.NONE
    assert plan(state(D, pause), decision(enforced, action=action)).action is expected


def test_a_held_annotation_without_the_pause_is_not_slogates_pause() -> None:
    # Someone unpaused what slogate held: the annotation is stale, the workload is not held.
    unpaused = WorkloadState(
        kind=D,
        namespace="shop",
        name="checkout",
        uid="uid-1",
        labels={},
        annotations={HELD_ANNOTATION: "true"},
        paused=False,
        template_hash=TEMPLATE,
        revision="7",
        rollout_in_progress=False,
        aborted=False,
        change_type=None,
    )
    assert plan(unpaused, decision(PROCEED)).action is Action.NONE
    assert plan(unpaused, decision(HOLD)).action is Action.PAUSE


states = st.builds(
    state,
    kind=st.sampled_from(WorkloadKind),
    pause=st.sampled_from(Pause),
    aborted=st.booleans(),
    target=st.booleans(),
    rolling=st.booleans(),
)
decisions = st.builds(decision, st.sampled_from(Verdict), action=st.sampled_from(Verdict))


@given(states, decisions)
def test_never_unpause_a_pause_slogate_does_not_hold(workload: WorkloadState, decided: Decision) -> None:
    if plan(workload, decided).action is Action.UNPAUSE:
        assert workload.held_by_slogate


@given(states, decisions)
def test_a_persons_pause_is_never_lifted(workload: WorkloadState, decided: Decision) -> None:
    if workload.paused and not workload.held_by_slogate:
        # ROLL_BACK lifts a pause in the same write; ABORT leaves spec.paused alone.
        assert plan(workload, decided).action not in (Action.UNPAUSE, Action.ROLL_BACK)


@given(states, decisions)
def test_never_roll_back_twice(workload: WorkloadState, decided: Decision) -> None:
    action = plan(workload, decided).action
    if workload.is_rollback_target:
        assert action is not Action.ROLL_BACK
    if workload.aborted:
        assert action is not Action.ABORT


@given(states, decisions)
def test_actions_fit_the_kind(workload: WorkloadState, decided: Decision) -> None:
    action = plan(workload, decided).action
    if workload.kind is D:
        assert action is not Action.ABORT
    else:
        assert action is not Action.ROLL_BACK


@given(states, decisions)
def test_only_hold_and_rollback_stop_a_release(workload: WorkloadState, decided: Decision) -> None:
    action = plan(workload, decided).action
    if action in (Action.PAUSE, Action.ROLL_BACK, Action.ABORT):
        assert decided.enforced_action in (HOLD, ROLLBACK)
    rollback_rolling_out = workload.is_rollback_target and workload.rollout_in_progress
    if decided.enforced_action is HOLD and not (workload.paused or workload.aborted or rollback_rolling_out):
        assert action is Action.PAUSE


@given(states, decisions)
def test_a_rollback_rolling_out_is_never_paused(workload: WorkloadState, decided: Decision) -> None:
    if workload.is_rollback_target and workload.rollout_in_progress:
        assert plan(workload, decided).action is not Action.PAUSE
