"""Deployments Argo CD syncs: detected by its tracking marks, held instead of rolled back.

A rollback in the cluster is drift that Argo CD's self-heal reverts; slogate would roll back again
and the Deployment would flap between revisions. These tests pin the decision taken instead."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from test_reconcile_workloads import FakeEvents, FakeWorkloads

from slogate.api.base import WorkloadKind
from slogate.api.gate import Verdict
from slogate.api.wire import (
    ACTION_REQUIRED_ANNOTATION,
    HELD_ANNOTATION,
    HELD_TEMPLATE_ANNOTATION,
    RELEASED_AT_ANNOTATION,
    ROLLED_BACK_TO_ANNOTATION,
)
from slogate.domain.verdict import Decision
from slogate.reconcile.markers import release_annotations
from slogate.reconcile.workloads import ROLLBACK_IN_GIT, Action, WorkloadReconciler, plan
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


# ---------------------------------------------------------------------------------------------------
# The echo of a lifted hold: Argo CD writes back the pause slogate has just lifted


def managed_by(*owners: tuple[str, str, bool]) -> list[dict[str, Any]]:
    """managedFields entries: (manager, time, whether it owns spec.paused)."""
    return [
        {
            "manager": manager,
            "operation": "Update",
            "time": time,
            "fieldsV1": {"f:spec": {"f:paused": {}} if owns_paused else {"f:replicas": {}}},
        }
        for manager, time, owns_paused in owners
    ]


def written_back(
    released_at: str | None = "2026-05-01T12:00:00Z",
    manager: str = "argocd-controller",
    written_at: str = "2026-05-01T12:00:02Z",
    annotations: dict[str, str] | None = None,
) -> dict[str, Any]:
    marks = {**TRACKING, **(annotations or {})}
    if released_at is not None:
        marks[RELEASED_AT_ANNOTATION] = released_at
    manifest = body(marks, paused=True)
    manifest["metadata"]["managedFields"] = managed_by(
        ("slogate", "2026-05-01T12:00:00Z", False), (manager, written_at, True)
    )
    return manifest


def test_the_writer_of_spec_paused_is_read_from_managed_fields() -> None:
    manifest = body(paused=True)
    manifest["metadata"]["managedFields"] = managed_by(
        ("kubectl-rollout", "2026-05-01T10:00:00Z", True),
        ("argocd-controller", "2026-05-01T11:00:00Z", True),
        ("slogate", "2026-05-01T11:30:00Z", False),
    )
    state = workload_state(D, manifest)
    assert (state.paused_by, state.paused_at) == ("argocd-controller", datetime(2026, 5, 1, 11, tzinfo=UTC))
    assert (workload_state(D, body()).paused_by, workload_state(D, body()).paused_at) == (None, None)


@pytest.mark.parametrize(
    ("manifest", "echo"),
    [
        (written_back(), True),
        (written_back(written_at="2026-05-01T12:04:59Z"), True),
        (written_back(written_at="2026-05-01T12:05:01Z"), False),
        (written_back(written_at="2026-05-01T11:59:59Z"), False),
        (written_back(released_at=None), False),
        (written_back(manager="kubectl-rollout"), False),
        (written_back(annotations={HELD_ANNOTATION: "true"}), False),
        (
            {
                **written_back(),
                "metadata": {
                    **written_back()["metadata"],
                    "annotations": {RELEASED_AT_ANNOTATION: "2026-05-01T12:00:00Z"},
                },
            },
            False,
        ),
    ],
    ids=[
        "Argo CD, seconds after the release",
        "within five minutes",
        "later than that",
        "before the release",
        "never released by slogate",
        "a person's kubectl rollout pause",
        "slogate's own marked hold",
        "not synced by Argo CD",
    ],
)
def test_a_pause_argo_cd_writes_back_soon_after_a_release_is_the_echo_of_slogates_hold(
    manifest: dict[str, Any], echo: bool
) -> None:
    state = workload_state(D, manifest)
    assert state.pause_echoed is echo
    assert state.held_by_slogate is (echo or state.annotations.get(HELD_ANNOTATION) == "true")


PROCEED = decided(Verdict.PROCEED)


def reconciled(
    manifest: dict[str, Any], decision_resources: tuple[dict[str, Any], ...] = ()
) -> tuple[FakeWorkloads, FakeEvents, World, tuple[WorkloadKind, str, str]]:
    world = World()
    for resource in decision_resources:
        world.freezes.observe(resource, deleted=False)
    manifest["metadata"].setdefault("uid", "uid-checkout")
    state = world.observe_workload(D, manifest, deleted=False)
    workloads, events = FakeWorkloads(), FakeEvents()
    asyncio.run(WorkloadReconciler(world, workloads, events).reconcile(state.key, NOW))
    return workloads, events, world, state.key


def test_the_echo_is_released_once_and_the_release_time_dropped() -> None:
    workloads, events, world, key = reconciled(written_back())
    [write] = workloads.writes
    assert (write.method, write.paused) == ("set_paused", False)
    assert write.annotations[RELEASED_AT_ANNOTATION] is None, "a second write-back must not be released again"
    assert events.posted[-1].reason == "Released"
    assert "Argo CD wrote back the pause slogate had lifted" in events.posted[-1].message

    again = written_back(released_at=None, written_at="2026-05-01T12:00:30Z")
    again["metadata"]["annotations"] = dict(world.workloads[key].annotations)
    state = workload_state(D, again)
    assert not state.pause_echoed
    assert not state.held_by_slogate


def test_releasing_a_synced_workload_records_when_so_its_echo_is_known() -> None:
    held = body({**TRACKING, HELD_ANNOTATION: "true"}, paused=True)
    held["metadata"]["managedFields"] = managed_by(("slogate", "2026-05-01T11:00:00Z", True))
    workloads, _, _, _ = reconciled(held)
    [write] = workloads.writes
    assert write.paused is False
    assert write.annotations[RELEASED_AT_ANNOTATION] == "2026-05-01T12:00:00Z"
    plain = body({HELD_ANNOTATION: "true"}, paused=True)
    assert reconciled(plain)[0].writes[0].annotations[RELEASED_AT_ANNOTATION] is None


def test_an_echo_while_a_hold_is_due_again_becomes_slogates_marked_hold() -> None:
    freeze = {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": "ChangeFreeze",
        "metadata": {
            "name": "migration",
            "namespace": "shop",
            "uid": "uid-freeze",
            "generation": 1,
            "creationTimestamp": "2026-05-01T11:59:00Z",
        },
        "spec": {"reason": "Database migration.", "duration": "2h"},
    }
    workloads, events, world, key = reconciled(written_back(), (freeze,))
    [write] = workloads.writes
    assert write.method == "annotate"
    assert write.annotations[HELD_ANNOTATION] == "true"
    assert world.workloads[key].annotations[HELD_ANNOTATION] == "true"
    assert "kept as slogate's hold" in events.posted[-1].message
