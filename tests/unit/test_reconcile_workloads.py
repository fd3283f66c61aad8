"""WorkloadReconciler against fakes of its ports: what it writes, what it posts, and that repeating a
reconcile changes nothing. The World is built from the bodies a user would kubectl apply."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from slogate.api.base import WorkloadKind
from slogate.api.gate import NoDataPolicy, Verdict
from slogate.api.wire import (
    DECISION_ANNOTATION,
    DRY_RUN_DECISION_ANNOTATION,
    EXPECTED_CLEAR_ANNOTATION,
    GATE_ANNOTATION,
    HELD_ANNOTATION,
    HELD_SINCE_ANNOTATION,
    REASON_ANNOTATION,
    ROLLED_BACK_TO_ANNOTATION,
    SLO_STATE_ANNOTATION,
)
from slogate.domain.templates import template_hash
from slogate.reconcile.ports import (
    Annotations,
    EventType,
    InvolvedObject,
    RollbackOutcome,
    RollbackRefusedError,
    WorkloadRef,
)
from slogate.reconcile.snapshots import CycleInputs
from slogate.reconcile.workloads import NOTHING_MEASURED, Action, Outcome, WorkloadReconciler
from slogate.reconcile.world import Collection, World

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
D, R = WorkloadKind.DEPLOYMENT, WorkloadKind.ROLLOUT
CHECKOUT = {"app.kubernetes.io/name": "checkout"}
GOOD_TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": CHECKOUT},
    "spec": {"containers": [{"name": "checkout", "image": "shop/checkout:1.4.1"}]},
}


# ---------------------------------------------------------------------------------------------------
# Fakes of the ports


@dataclass(frozen=True)
class Write:
    method: str
    ref: WorkloadRef
    annotations: dict[str, str | None]
    paused: bool | None = None


@dataclass
class FakeWorkloads:
    """Records every write; each returns a newer resourceVersion, as the API server does."""

    writes: list[Write] = field(default_factory=list)
    version: int = 90000
    refuse_rollback: str | None = None
    rollback_target: str = template_hash(GOOD_TEMPLATE)

    def _next(self) -> str:
        self.version += 1
        return str(self.version)

    def set_paused(self, ref: WorkloadRef, paused: bool, annotations: Annotations) -> str:
        self.writes.append(Write("set_paused", ref, dict(annotations), paused))
        return self._next()

    def annotate(self, ref: WorkloadRef, annotations: Annotations) -> str:
        self.writes.append(Write("annotate", ref, dict(annotations)))
        return self._next()

    def abort_rollout(self, ref: WorkloadRef, annotations: Annotations) -> str:
        self.writes.append(Write("abort_rollout", ref, dict(annotations)))
        return self._next()

    def roll_back_deployment(
        self, ref: WorkloadRef, annotations: Annotations, lift_own_hold: bool, record_target_as: str
    ) -> RollbackOutcome:
        if self.refuse_rollback is not None:
            raise RollbackRefusedError(self.refuse_rollback)
        self.writes.append(
            Write(
                "roll_back_deployment",
                ref,
                {**annotations, record_target_as: self.rollback_target},
                False if lift_own_hold else None,
            )
        )
        return RollbackOutcome(
            from_revision=7,
            to_revision=6,
            target_template_hash=self.rollback_target,
            resource_version=self._next(),
            skipped=False,
        )

    @property
    def methods(self) -> list[str]:
        return [write.method for write in self.writes]


@dataclass(frozen=True)
class Posted:
    regarding: InvolvedObject
    event_type: EventType
    reason: str
    action: str
    message: str
    now: datetime


@dataclass
class FakeEvents:
    posted: list[Posted] = field(default_factory=list)

    def post(
        self,
        regarding: InvolvedObject,
        *,
        event_type: EventType,
        reason: str,
        action: str,
        message: str,
        now: datetime,
    ) -> None:
        self.posted.append(Posted(regarding, event_type, reason, action, message, now))


# ---------------------------------------------------------------------------------------------------
# Bodies, as applied (plus the metadata the API server adds)


def applied(
    kind: str, name: str, spec: dict[str, Any], status: dict[str, Any] | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "shop",
            "uid": f"uid-{name}",
            "generation": 1,
            "creationTimestamp": "2026-05-01T11:00:00Z",
        },
        "spec": spec,
    }
    if status is not None:
        body["status"] = status
    return body


FREEZE_2H = applied(
    "ChangeFreeze", "db-migration", {"reason": "Primary database migration.", "duration": "2h"}
)
P1_INCIDENT = applied(
    "Incident",
    "checkout-5xx",
    {
        "severity": "P1",
        "title": "Checkout returns 5xx",
        "state": "Mitigating",
        "affectedSelector": {"matchLabels": CHECKOUT},
    },
)


def gate(name: str = "checkout", **spec: Any) -> dict[str, Any]:
    return applied("ReleaseGate", name, {"selector": {"matchLabels": CHECKOUT}, **spec})


def burning_slo(burn: float = 20.0) -> dict[str, Any]:
    return applied(
        "ServiceLevelObjective",
        "checkout-availability",
        {
            "objective": 99.9,
            "window": "30d",
            "selector": {"matchLabels": CHECKOUT},
            "indicator": {
                "errorRatio": {"query": "sum(rate(errors[$window])) / sum(rate(requests[$window]))"}
            },
        },
        {
            "state": "Burning",
            "burnRate": burn,
            "errorBudgetRemainingPercent": 62.5,
            "burnRates": [{"window": "5m", "burnRate": burn}, {"window": "1h", "burnRate": burn}],
        },
    )


def workload_body(
    kind: WorkloadKind,
    *,
    paused: bool = False,
    annotations: dict[str, str] | None = None,
    change_type: str | None = None,
    rolling: bool = False,
) -> dict[str, Any]:
    template: dict[str, Any] = {
        "metadata": {"labels": dict(CHECKOUT)},
        "spec": {"containers": [{"name": "checkout", "image": "shop/checkout:1.4.2"}]},
    }
    if change_type is not None:
        template["metadata"]["annotations"] = {"slogate.dev/change-type": change_type}
    metadata = {
        "name": "checkout",
        "namespace": "shop",
        "uid": "uid-checkout",
        "resourceVersion": "40000",
        "generation": 3,
        "labels": dict(CHECKOUT),
        "annotations": annotations or {},
    }
    spec = {"replicas": 3, "paused": paused, "template": template}
    if kind is D:
        metadata["annotations"] = {"deployment.kubernetes.io/revision": "7", **(annotations or {})}
        status: dict[str, Any] = {
            "observedGeneration": 3,
            "replicas": 4 if rolling else 3,
            "updatedReplicas": 1 if rolling else 3,
            "availableReplicas": 3,
        }
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": metadata,
            "spec": spec,
            "status": status,
        }
    metadata["annotations"] = {"rollout.argoproj.io/revision": "4", **(annotations or {})}
    status = {
        "currentPodHash": "5c6d7e8f9" if rolling else "7d9f8b6c5",
        "stableRS": "7d9f8b6c5",
        "updatedReplicas": 1 if rolling else 3,
        "phase": "Progressing" if rolling else "Healthy",
    }
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": metadata,
        "spec": spec,
        "status": status,
    }


@dataclass
class Setup:
    world: World
    workloads: FakeWorkloads
    events: FakeEvents
    reconciler: WorkloadReconciler
    key: tuple[WorkloadKind, str, str]

    def run(self, now: datetime = NOW, inputs: CycleInputs = NOTHING_MEASURED) -> Outcome:
        outcome = asyncio.run(self.reconciler.reconcile(self.key, now, inputs))
        assert outcome is not None
        return outcome

    @property
    def annotations(self) -> dict[str, str]:
        return dict(self.world.workloads[self.key].annotations)


def setup(
    kind: WorkloadKind = D,
    *,
    resources: tuple[dict[str, Any], ...] = (),
    workloads: FakeWorkloads | None = None,
    outage_policy: NoDataPolicy = NoDataPolicy.HOLD,
    **body: Any,
) -> Setup:
    world = World(platform_namespace="slogate-system")
    collections: dict[str, Collection[Any]] = {
        "ChangeFreeze": world.freezes,
        "Incident": world.incidents,
        "ReleaseGate": world.gates,
        "ServiceLevelObjective": world.slos,
    }
    for resource in resources:
        tracked = collections[resource["kind"]].observe(resource, deleted=False)
        assert tracked.model is not None, tracked.problems
    state = world.observe_workload(kind, workload_body(kind, **body), deleted=False)
    fake = workloads or FakeWorkloads()
    events = FakeEvents()
    reconciler = WorkloadReconciler(world, fake, events, outage_policy=outage_policy)
    return Setup(world, fake, events, reconciler, state.key)


# ---------------------------------------------------------------------------------------------------
# Idempotence


SCENARIOS: dict[str, tuple[WorkloadKind, dict[str, Any], str]] = {
    "freeze-holds-deployment": (D, {"resources": (FREEZE_2H,)}, "set_paused"),
    "freeze-holds-rollout": (R, {"resources": (FREEZE_2H,)}, "set_paused"),
    "incident-holds": (D, {"resources": (P1_INCIDENT,)}, "set_paused"),
    "dry-run-gate": (D, {"resources": (FREEZE_2H, gate(mode="DryRun"))}, "annotate"),
    "emergency-through-freeze": (D, {"resources": (FREEZE_2H,), "change_type": "emergency"}, "annotate"),
    "persons-pause-under-freeze": (D, {"resources": (FREEZE_2H,), "paused": True}, "annotate"),
    "release-own-hold": (
        D,
        {
            "paused": True,
            "annotations": {HELD_ANNOTATION: "true", HELD_SINCE_ANNOTATION: "2026-05-01T10:00:00Z"},
        },
        "set_paused",
    ),
    "burn-rolls-back-deployment": (
        D,
        {
            "resources": (burning_slo(), gate(maxBurnRate=4, onViolation={"duringRollout": "Rollback"})),
            "rolling": True,
        },
        "roll_back_deployment",
    ),
    "burn-aborts-rollout": (
        R,
        {
            "resources": (burning_slo(), gate(maxBurnRate=4, onViolation={"duringRollout": "Rollback"})),
            "rolling": True,
        },
        "abort_rollout",
    ),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_reconciling_twice_at_the_same_moment_writes_once(name: str) -> None:
    kind, arguments, method = SCENARIOS[name]
    world = setup(kind, **arguments)
    first = world.run()
    second = world.run()
    assert first.recorded
    assert world.workloads.methods == [method]
    assert len(world.events.posted) == 1
    assert second.recorded is False
    assert second.action is Action.NONE


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_reconciling_again_later_writes_nothing_new(name: str) -> None:
    kind, arguments, _ = SCENARIOS[name]
    world = setup(kind, **arguments)
    world.run()
    world.run()
    writes, events = len(world.workloads.writes), len(world.events.posted)
    # A minute later nothing has changed but the clock: only decided-at would differ.
    world.run(NOW + timedelta(minutes=1))
    world.run(NOW + timedelta(minutes=1))
    settled_writes = len(world.workloads.writes) - writes
    assert settled_writes == len(world.events.posted) - events
    assert settled_writes <= 1
    world.run(NOW + timedelta(minutes=2))
    assert len(world.workloads.writes) == writes + settled_writes


def test_a_restarted_operator_reads_its_own_hold_back() -> None:
    # A fresh World from the body that carries slogate's pause and markers: nothing to write.
    first = setup(resources=(FREEZE_2H,))
    first.run()
    held = first.world.workloads[first.key]
    markers = {key: value for key, value in held.annotations.items() if key.startswith("slogate.dev/")}
    restarted = setup(resources=(FREEZE_2H,), paused=True, annotations=markers)
    outcome = restarted.run()
    assert outcome.action is Action.NONE
    assert outcome.recorded is False
    assert restarted.workloads.writes == []


# ---------------------------------------------------------------------------------------------------
# Freezes, dry run, emergencies


def test_a_freeze_holds_and_its_deletion_releases() -> None:
    world = setup(resources=(FREEZE_2H,))
    outcome = world.run()
    assert outcome.decision.enforced_action is Verdict.HOLD
    assert outcome.action is Action.PAUSE
    [pause] = world.workloads.writes
    assert pause.paused is True
    assert pause.ref == WorkloadRef(D, "shop", "checkout")
    assert pause.annotations[HELD_ANNOTATION] == "true"
    assert pause.annotations[HELD_SINCE_ANNOTATION] == "2026-05-01T12:00:00Z"
    assert pause.annotations[DECISION_ANNOTATION] == "Hold"
    assert pause.annotations[DRY_RUN_DECISION_ANNOTATION] is None
    assert "ChangeFreeze/db-migration" in (pause.annotations[REASON_ANNOTATION] or "")
    assert "Primary database migration." in (pause.annotations[REASON_ANNOTATION] or "")
    assert pause.annotations[EXPECTED_CLEAR_ANNOTATION] == "2026-05-01T13:00:00Z"
    state = world.world.workloads[world.key]
    assert state.held_by_slogate
    [held] = world.events.posted
    assert (held.event_type, held.reason, held.action) == (EventType.WARNING, "Held", "Pause")
    assert held.regarding == InvolvedObject("apps/v1", "Deployment", "shop", "checkout", "uid-checkout")
    assert "ChangeFreeze/db-migration" in held.message

    world.world.freezes.observe(FREEZE_2H, deleted=True)
    later = NOW + timedelta(minutes=5)
    released = world.run(later)
    assert released.decision.enforced_action is Verdict.RESUME
    assert released.action is Action.UNPAUSE
    unpause = world.workloads.writes[-1]
    assert (unpause.method, unpause.paused) == ("set_paused", False)
    assert unpause.annotations[HELD_ANNOTATION] is None
    assert unpause.annotations[HELD_SINCE_ANNOTATION] is None
    assert unpause.annotations[EXPECTED_CLEAR_ANNOTATION] is None
    assert unpause.annotations[DECISION_ANNOTATION] == "Proceed"
    assert world.events.posted[-1].reason == "Released"
    assert world.events.posted[-1].event_type is EventType.NORMAL
    state = world.world.workloads[world.key]
    assert not state.paused
    assert HELD_ANNOTATION not in state.annotations
    # Released once: later reconciles never unpause again.
    world.run(later)
    world.run(later + timedelta(minutes=1))
    assert [w.method for w in world.workloads.writes].count("set_paused") == 2


def test_the_freeze_ending_on_its_own_releases() -> None:
    world = setup(resources=(FREEZE_2H,))
    assert world.run().action is Action.PAUSE
    assert world.run(NOW + timedelta(hours=1, seconds=-1)).action is Action.NONE
    assert world.run(NOW + timedelta(hours=1)).action is Action.UNPAUSE


def test_a_freeze_that_has_not_started_does_not_hold() -> None:
    future = applied(
        "ChangeFreeze",
        "later",
        {"reason": "quarter end", "start": "2026-05-02T00:00:00Z", "end": "2026-05-03T00:00:00Z"},
    )
    world = setup(resources=(future,))
    outcome = world.run()
    assert outcome.action is Action.NONE
    assert outcome.recorded is False
    assert world.workloads.methods == []
    assert world.events.posted == []


def test_an_untouched_workload_free_to_proceed_gets_no_marker() -> None:
    world = setup()
    outcome = world.run()
    assert outcome.decision.action is Verdict.PROCEED
    assert outcome.recorded is False
    assert world.workloads.methods == []
    assert world.events.posted == []


def test_a_dry_run_gate_records_the_decision_without_pausing() -> None:
    world = setup(resources=(FREEZE_2H, gate(mode="DryRun")))
    outcome = world.run()
    assert outcome.decision.action is Verdict.HOLD
    assert outcome.decision.enforced_action is Verdict.PROCEED
    assert outcome.action is Action.NONE
    [write] = world.workloads.writes
    assert write.method == "annotate"
    assert write.annotations[DRY_RUN_DECISION_ANNOTATION] == "Hold"
    assert write.annotations[DECISION_ANNOTATION] == "Proceed"
    assert write.annotations[GATE_ANNOTATION] == "checkout"
    assert HELD_ANNOTATION not in write.annotations
    assert not world.world.workloads[world.key].paused
    [event] = world.events.posted
    assert (event.event_type, event.reason) == (EventType.NORMAL, "DryRunHold")


def test_an_emergency_change_passes_a_freeze_and_the_waiver_is_recorded() -> None:
    world = setup(resources=(FREEZE_2H,), change_type="emergency")
    outcome = world.run()
    assert outcome.decision.enforced_action is Verdict.PROCEED
    assert outcome.action is Action.NONE
    [write] = world.workloads.writes
    reason = write.annotations[REASON_ANNOTATION] or ""
    assert reason.startswith("all checks pass; waived: ChangeFreeze/db-migration")
    assert "emergency" in reason
    assert "waived:" in world.events.posted[0].message


def test_a_feature_change_is_held_by_the_same_freeze() -> None:
    world = setup(resources=(FREEZE_2H,), change_type="feature")
    assert world.run().action is Action.PAUSE


def test_a_persons_pause_is_left_alone_and_explained() -> None:
    world = setup(resources=(FREEZE_2H,), paused=True)
    outcome = world.run()
    assert outcome.action is Action.NONE
    assert "someone else" in outcome.note
    assert world.workloads.methods == ["annotate"]
    assert HELD_ANNOTATION not in world.workloads.writes[0].annotations
    assert "someone else" in world.events.posted[0].message
    # The freeze ends: slogate does not lift the person's pause.
    world.world.freezes.observe(FREEZE_2H, deleted=True)
    outcome = world.run(NOW + timedelta(minutes=1))
    assert outcome.action is Action.NONE
    assert "set_paused" not in world.workloads.methods
    assert world.world.workloads[world.key].paused


def test_an_incident_holds_a_rollout() -> None:
    world = setup(R, resources=(P1_INCIDENT,))
    outcome = world.run()
    assert outcome.action is Action.PAUSE
    assert world.events.posted[0].regarding.api_version == "argoproj.io/v1alpha1"
    assert world.events.posted[0].regarding.kind == "Rollout"
    assert "Incident/checkout-5xx" in world.annotations[REASON_ANNOTATION]


# ---------------------------------------------------------------------------------------------------
# Rollbacks


ROLLBACK_GATE = gate(maxBurnRate=4, onViolation={"duringRollout": "Rollback"})


def test_burn_during_a_deployment_rollout_rolls_back_once() -> None:
    world = setup(resources=(burning_slo(), ROLLBACK_GATE), rolling=True)
    outcome = world.run()
    assert outcome.action is Action.ROLL_BACK
    [write] = world.workloads.writes
    assert write.annotations[ROLLED_BACK_TO_ANNOTATION] == template_hash(GOOD_TEMPLATE)
    assert write.annotations[DECISION_ANNOTATION] == "Rollback"
    assert write.annotations[SLO_STATE_ANNOTATION] == "checkout-availability=Burning"
    assert world.events.posted[0].reason == "RolledBack"
    assert world.events.posted[0].event_type is EventType.WARNING
    assert world.world.workloads[world.key].is_rollback_target


def test_a_rollback_lifts_slogates_own_hold_in_the_same_write() -> None:
    world = setup(
        resources=(burning_slo(), ROLLBACK_GATE),
        rolling=True,
        paused=True,
        annotations={HELD_ANNOTATION: "true", HELD_SINCE_ANNOTATION: "2026-05-01T11:00:00Z"},
    )
    assert world.run().action is Action.ROLL_BACK
    [write] = world.workloads.writes
    assert write.paused is False
    assert write.annotations[HELD_ANNOTATION] is None
    state = world.world.workloads[world.key]
    assert not state.paused
    assert HELD_ANNOTATION not in state.annotations


def test_a_refused_rollback_is_explained_not_retried_blindly() -> None:
    refusing = FakeWorkloads(
        refuse_rollback="cannot roll back deployment/checkout: no previous revision found"
    )
    world = setup(resources=(burning_slo(), ROLLBACK_GATE), rolling=True, workloads=refusing)
    outcome = world.run()
    assert outcome.action is Action.NONE
    assert "no previous revision" in outcome.note
    assert refusing.methods == ["annotate"]
    assert refusing.writes[0].annotations[DECISION_ANNOTATION] == "Rollback"
    assert "no previous revision" in world.events.posted[0].message


def test_burn_during_a_rollout_aborts_it_and_lifts_slogates_hold() -> None:
    world = setup(
        R,
        resources=(burning_slo(), ROLLBACK_GATE),
        rolling=True,
        paused=True,
        annotations={HELD_ANNOTATION: "true"},
    )
    outcome = world.run()
    assert outcome.action is Action.ABORT
    assert world.workloads.methods == ["abort_rollout", "set_paused"]
    assert world.workloads.writes[1].paused is False
    assert world.events.posted[0].reason == "Aborted"
    state = world.world.workloads[world.key]
    assert not state.paused
    assert state.aborted


def test_burn_before_a_rollout_holds_instead() -> None:
    world = setup(resources=(burning_slo(), ROLLBACK_GATE), rolling=False)
    assert world.run().action is Action.PAUSE


def test_a_reliability_change_is_not_stopped_by_burn() -> None:
    world = setup(resources=(burning_slo(), ROLLBACK_GATE), rolling=True, change_type="reliability")
    outcome = world.run()
    assert outcome.action is Action.NONE
    assert "waived" in world.annotations[REASON_ANNOTATION]


# ---------------------------------------------------------------------------------------------------
# Prometheus outage, and a workload that is gone


def test_a_prometheus_outage_holds_by_the_operator_policy() -> None:
    unmeasured = applied(
        "ServiceLevelObjective",
        "checkout-availability",
        {
            "objective": 99.9,
            "selector": {"matchLabels": CHECKOUT},
            "indicator": {"errorRatio": {"query": "sum(rate(errors[$window]))"}},
        },
    )
    world = setup(resources=(unmeasured, gate(maxBurnRate=4, onNoData="Proceed")))
    assert world.run().action is Action.NONE
    assert world.run(inputs=CycleInputs(prometheus_outage=True)).action is Action.PAUSE
    assert world.run(inputs=CycleInputs(prometheus_outage=False)).action is Action.UNPAUSE


def test_a_workload_that_is_gone_gives_none() -> None:
    world = setup()
    world.world.observe_workload(D, workload_body(D), deleted=True)
    assert asyncio.run(world.reconciler.reconcile(world.key, NOW)) is None
    assert world.workloads.writes == []
    assert world.events.posted == []
