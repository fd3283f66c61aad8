"""Deployments Argo CD syncs: detected by its tracking marks, held instead of rolled back.

A rollback in the cluster is drift that Argo CD's self-heal reverts; slogate would roll back again
and the Deployment would flap between revisions. These tests pin the decision taken instead."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from slogate.api.base import WorkloadKind
from slogate.api.gate import Verdict
from slogate.api.holdset import HELD_ANNOTATION, ROLLED_BACK_TO_ANNOTATION
from slogate.domain.verdict import Decision
from slogate.reconcile.markers import (
    ACTION_REQUIRED_ANNOTATION,
    HELD_TEMPLATE_ANNOTATION,
    release_annotations,
)
from slogate.reconcile.workloads import ROLLBACK_IN_GIT, Action, plan
from slogate.reconcile.world import ARGOCD_TRACKING_ANNOTATION, World, workload_state

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
D, R = WorkloadKind.DEPLOYMENT, WorkloadKind.ROLLOUT
TRACKING = {ARGOCD_TRACKING_ANNOTATION: "shop:apps/Deployment:shop/checkout"}


def body(
    annotations: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
    paused: bool = False,
    image: str = "checkout:2",
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "checkout",
            "namespace": "shop",
            "annotations": annotations or {},
            "labels": labels or {},
        },
        "spec": {"paused": paused, "template": {"spec": {"containers": [{"name": "app", "image": image}]}}},
    }


def decided(verdict: Verdict) -> Decision:
    return Decision(
        action=verdict,
        enforced_action=verdict,
        reasons=(),
        expected_clear_at=None,
        evaluated_at=NOW,
        rollout_in_progress=verdict is Verdict.ROLLBACK,
        change_type=None,
    )


ROLLBACK, HOLD = decided(Verdict.ROLLBACK), decided(Verdict.HOLD)


@pytest.mark.parametrize(
    ("annotations", "labels", "tracking_label", "managed"),
    [
        (TRACKING, {}, None, True),
        ({}, {"app.kubernetes.io/instance": "shop"}, None, False),
        ({}, {"app.kubernetes.io/instance": "shop"}, "app.kubernetes.io/instance", True),
        ({}, {}, "app.kubernetes.io/instance", False),
    ],
    ids=["tracking annotation", "instance label alone (Helm sets it too)", "configured label", "neither"],
)
def test_argocd_management_is_read_from_its_tracking_marks(
    annotations: dict[str, str], labels: dict[str, str], tracking_label: str | None, managed: bool
) -> None:
    assert workload_state(D, body(annotations, labels), tracking_label).gitops_managed is managed


def test_the_world_uses_the_configured_tracking_label() -> None:
    world = World(gitops_tracking_label="argocd.argoproj.io/instance")
    labelled = body(labels={"argocd.argoproj.io/instance": "shop"})
    assert world.observe_workload(D, labelled, deleted=False).gitops_managed


def test_a_synced_deployment_is_held_not_rolled_back() -> None:
    state = workload_state(D, body(TRACKING))
    intended = plan(state, ROLLBACK)
    assert intended.action is Action.PAUSE
    assert intended.note == ROLLBACK_IN_GIT
    assert intended.markers == {
        HELD_TEMPLATE_ANNOTATION: state.template_hash,
        ACTION_REQUIRED_ANNOTATION: ROLLBACK_IN_GIT,
    }


def test_the_hold_is_stable_while_the_template_is_the_held_one() -> None:
    first = workload_state(D, body(TRACKING))
    marks = {
        **TRACKING,
        HELD_ANNOTATION: "true",
        HELD_TEMPLATE_ANNOTATION: first.template_hash,
        ACTION_REQUIRED_ANNOTATION: ROLLBACK_IN_GIT,
    }
    held = workload_state(D, body(marks, paused=True))
    again = plan(held, ROLLBACK)
    assert again.action is Action.NONE
    assert again.markers == plan(first, ROLLBACK).markers


@pytest.mark.parametrize("verdict", [ROLLBACK, HOLD], ids=["still rolling", "rollout no longer counted"])
def test_the_rollback_made_in_git_is_let_through_and_not_held_again(verdict: Decision) -> None:
    """The revert arrives while slogate holds (admission may even have paused it again): holding
    it would keep the bad pods running and the burn they cause would never clear."""
    first = workload_state(D, body(TRACKING, image="checkout:2"))
    marks = {**TRACKING, HELD_ANNOTATION: "true", HELD_TEMPLATE_ANNOTATION: first.template_hash}
    reverted = workload_state(D, body(marks, paused=True, image="checkout:1"))
    released = plan(reverted, verdict)
    assert released.action is Action.UNPAUSE
    assert released.markers == {ROLLED_BACK_TO_ANNOTATION: reverted.template_hash}
    after = {**marks, **released.markers, **release_annotations()}
    rolling = workload_state(D, body({k: v for k, v in after.items() if v is not None}, image="checkout:1"))
    assert plan(rolling, ROLLBACK).action is Action.NONE
    assert plan(rolling, HOLD).action is Action.NONE


def test_a_hold_for_another_reason_is_not_taken_for_a_rollback_in_git() -> None:
    """Only a template other than the one held in place of a rollback is let through: a freeze's
    hold of a synced Deployment queues new commits as it does for any other workload."""
    first = workload_state(D, body(TRACKING, image="checkout:1"))
    held = workload_state(D, body({**TRACKING, HELD_ANNOTATION: "true"}, paused=True, image="checkout:2"))
    assert first.template_hash != held.template_hash
    assert plan(held, HOLD).action is Action.NONE


def test_a_pause_someone_else_placed_is_left_alone() -> None:
    intended = plan(workload_state(D, body(TRACKING, paused=True)), ROLLBACK)
    assert intended.action is Action.NONE
    assert "someone else" in intended.note


def test_a_synced_rollout_is_still_aborted() -> None:
    """status.abort is not diffed by Argo CD, so aborting a synced Rollout fights nothing."""
    rollout = replace(workload_state(R, body(TRACKING)), kind=R)
    assert plan(rollout, ROLLBACK).action is Action.ABORT


def test_an_unmanaged_deployment_is_still_rolled_back() -> None:
    assert plan(workload_state(D, body()), ROLLBACK).action is Action.ROLL_BACK
