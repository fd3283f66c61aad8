"""The reconciler against a Deployment that behaves like the API server's and its controller's: it
settles. Random sequences of burns, recoveries and releases, with watch events and the
controller's status arriving late and in any order, never make slogate write more than once per
real change, and once nothing changes, nothing is written.

The simulated Deployment is the fake at the WorkloadWriter port. What matters of the real one is
modelled: every write of the spec *or of the annotations* bumps ``metadata.generation`` (the
Deployment strategy does so for annotations too), the controller catches up with
``status.observedGeneration`` later, a rollout moves only while unpaused, and a rollback puts the
previous template back as a new revision. That is the mechanism of the write loop slogate once had:
its own mark made the status stale, a stale status read as "not rolling" turned a Rollback into a
Hold, and the next mark turned it back.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from harness.bodies import NAMESPACE, deployment_body, resource_body
from harness.fakes import Events
from slogate.api.base import WorkloadKind
from slogate.domain.templates import template_hash
from slogate.reconcile.ports import Annotations, RollbackOutcome, RollbackRefusedError, WorkloadRef
from slogate.reconcile.workloads import WorkloadReconciler
from slogate.reconcile.world import World

START = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
APP = {"app.kubernetes.io/name": "checkout"}
KEY = (WorkloadKind.DEPLOYMENT, NAMESPACE, "checkout")


@dataclass
class SimulatedDeployment:
    """One Deployment as the API server stores it, with a controller that lags behind."""

    body: dict[str, Any] = field(default_factory=lambda: deployment_body("checkout", APP, "shop/checkout:1"))
    history: list[dict[str, Any]] = field(default_factory=list)
    writes: int = 0

    def __post_init__(self) -> None:
        self.body["status"]["rolledOut"] = template_hash(self.body["spec"]["template"])

    def _store(self) -> str:
        metadata = self.body["metadata"]
        metadata["generation"] += 1
        metadata["resourceVersion"] = str(int(metadata["resourceVersion"]) + 1)
        return str(metadata["resourceVersion"])

    def _annotate(self, annotations: Annotations) -> None:
        current = self.body["metadata"].setdefault("annotations", {})
        for key, value in annotations.items():
            if value is None:
                current.pop(key, None)
            else:
                current[key] = value

    def set_paused(self, ref: WorkloadRef, paused: bool, annotations: Annotations) -> str:
        self.writes += 1
        self.body["spec"]["paused"] = paused
        self._annotate(annotations)
        return self._store()

    def annotate(self, ref: WorkloadRef, annotations: Annotations) -> str:
        self.writes += 1
        self._annotate(annotations)
        return self._store()

    def abort_rollout(self, ref: WorkloadRef, annotations: Annotations) -> str:
        raise AssertionError("a Deployment is never aborted")

    def roll_back_deployment(
        self, ref: WorkloadRef, annotations: Annotations, lift_own_hold: bool, record_target_as: str
    ) -> RollbackOutcome:
        if not self.history:
            raise RollbackRefusedError("no previous revision")
        self.writes += 1
        previous = self.history.pop()
        self.history.append(self.body["spec"]["template"])
        self.body["spec"]["template"] = copy.deepcopy(previous)
        target = template_hash(previous)
        self._annotate({**annotations, record_target_as: target})
        if lift_own_hold:
            self.body["spec"]["paused"] = False
        self._new_revision()
        return RollbackOutcome(
            from_revision=1,
            to_revision=2,
            target_template_hash=target,
            resource_version=self._store(),
            skipped=False,
        )

    def _new_revision(self) -> None:
        annotations = self.body["metadata"]["annotations"]
        revision = int(annotations.get("deployment.kubernetes.io/revision", "1")) + 1
        annotations["deployment.kubernetes.io/revision"] = str(revision)

    def release(self, image: str) -> None:
        """Someone applies a new image: a new template, a new revision."""
        self.history.append(copy.deepcopy(self.body["spec"]["template"]))
        self.body["spec"]["template"]["spec"]["containers"][0]["image"] = image
        self._new_revision()
        self._store()

    def controller_step(self) -> None:
        """The Deployment controller observes the latest generation and moves the rollout one
        step: new pods start, then they become available. A paused rollout does not move."""
        status, metadata = self.body["status"], self.body["metadata"]
        status["observedGeneration"] = metadata["generation"]
        rolled_out = status.get("rolledOut") == template_hash(self.body["spec"]["template"])
        if rolled_out or self.body["spec"].get("paused"):
            return
        if status["updatedReplicas"] == 2 and status.get("starting"):
            status.update(updatedReplicas=2, replicas=2, availableReplicas=2, starting=False)
            status["rolledOut"] = template_hash(self.body["spec"]["template"])
        else:
            status.update(updatedReplicas=2, replicas=4, availableReplicas=2, starting=True)


def slo_body(burn: float) -> dict[str, Any]:
    body = resource_body(
        "ServiceLevelObjective",
        "checkout-availability",
        {
            "objective": 99.9,
            "window": "30d",
            "selector": {"matchLabels": APP},
            "indicator": {"errorRatio": {"query": "sum(rate(e[$window])) / sum(rate(r[$window]))"}},
        },
    )
    body["status"] = {
        "state": "Burning" if burn > 1 else "Healthy",
        "burnRate": burn,
        "errorBudgetRemainingPercent": 60.0,
        "burnRates": [{"window": "1h", "burnRate": burn}],
    }
    return body


GATE = resource_body(
    "ReleaseGate",
    "checkout",
    {"selector": {"matchLabels": APP}, "maxBurnRate": 4, "onViolation": {"duringRollout": "Rollback"}},
)

EXTERNAL = ("burn", "recover", "release")
INTERNAL = ("reconcile", "controller", "watch")


@dataclass
class Run:
    deployment: SimulatedDeployment = field(default_factory=SimulatedDeployment)
    world: World = field(default_factory=lambda: World(platform_namespace="slogate-system"))
    now: datetime = START
    releases: int = 0

    def __post_init__(self) -> None:
        self.world.gates.observe(GATE, deleted=False)
        self.world.slos.observe(slo_body(0.0), deleted=False)
        self.watch()
        self.reconciler = WorkloadReconciler(self.world, self.deployment, Events())

    def watch(self) -> None:
        self.world.observe_workload(WorkloadKind.DEPLOYMENT, copy.deepcopy(self.deployment.body), False)

    def step(self, what: str) -> None:
        self.now += timedelta(seconds=1)
        if what in ("burn", "recover"):
            self.world.slos.observe(slo_body(20.0 if what == "burn" else 0.0), deleted=False)
        elif what == "release":
            self.releases += 1
            self.deployment.release(f"shop/checkout:{self.releases + 1}")
        elif what == "controller":
            self.deployment.controller_step()
        elif what == "watch":
            self.watch()
        else:
            asyncio.run(self.reconciler.reconcile(KEY, self.now))

    def settle(self, rounds: int) -> None:
        """Rounds in the order a real cluster goes: the watch event of slogate's own write comes
        before the controller has caught up with it."""
        for _ in range(rounds):
            for what in ("reconcile", "watch", "reconcile", "controller", "watch"):
                self.step(what)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(EXTERNAL + INTERNAL * 3), max_size=40))
def test_writes_stop_once_nothing_changes(steps: list[str]) -> None:
    run = Run()
    for what in steps:
        run.step(what)
    run.settle(6)
    settled_at = run.deployment.writes
    run.settle(20)
    assert run.deployment.writes == settled_at


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(EXTERNAL), min_size=1, max_size=8))
def test_at_most_one_write_per_change_once_the_rollout_it_caused_has_settled(changes: list[str]) -> None:
    """Each change is followed by the controller, watches and reconciles going round until the
    cluster is quiet. A change is one write (hold, release, rollback), plus the one hold a rollback
    leads to once its own rollout has completed under a burn that goes on."""
    run = Run()
    run.settle(4)
    for what in changes:
        before = run.deployment.writes
        rolled_back_before = run.deployment.body["metadata"]["annotations"].get("slogate.dev/rolled-back-to")
        run.step(what)
        run.settle(8)
        rolled_back = run.deployment.body["metadata"]["annotations"].get("slogate.dev/rolled-back-to")
        allowed = 2 if rolled_back != rolled_back_before else 1
        assert run.deployment.writes - before <= allowed, (what, run.deployment.body)
