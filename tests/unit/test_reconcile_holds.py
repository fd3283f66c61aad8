"""Holds published for admission: derived from the decision function, rewritten only when they
change, and the backstop that reports a deploy admission missed. Fakes only at the ports."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from test_reconcile_workloads import (
    CHECKOUT,
    FREEZE_2H,
    NOW,
    P1_INCIDENT,
    FakeEvents,
    FakeWorkloads,
    applied,
    burning_slo,
    gate,
    workload_body,
)

from slogate.api.base import WorkloadKind
from slogate.api.holdset import AdmissionMode, HoldSetSpec
from slogate.domain.admission import matching_holds
from slogate.reconcile.admission import AdmissionHolds
from slogate.reconcile.holds import hold_rules
from slogate.reconcile.ports import RevisionStart, SloReading, WorkloadRef
from slogate.reconcile.workloads import WorkloadReconciler
from slogate.reconcile.world import Collection, World


def world_of(*resources: dict[str, Any]) -> World:
    world = World(platform_namespace="slogate-system")
    collections: dict[str, Collection[Any]] = {
        "ChangeFreeze": world.freezes,
        "Incident": world.incidents,
        "ReleaseGate": world.gates,
        "ServiceLevelObjective": world.slos,
    }
    for resource in resources:
        assert collections[resource["kind"]].observe(resource, deleted=False).model is not None
    return world


def rules(*resources: dict[str, Any], now: datetime = NOW) -> list[dict[str, Any]]:
    found = hold_rules(world_of(*resources), "shop", now=now, check_values={})
    return [rule.model_dump(mode="json", by_alias=True, exclude_none=True) for rule in found]


def test_a_freeze_with_no_gate_holds_every_workload_with_its_exemptions() -> None:
    [rule] = rules(FREEZE_2H)
    assert rule["source"] == "ChangeFreeze/db-migration"
    assert "gate" not in rule
    assert rule["match"] == []
    assert rule["exemptChangeTypes"] == ["emergency"]
    assert rule["since"] == "2026-05-01T11:00:00Z"
    assert rule["clearsAt"] == "2026-05-01T13:00:00Z"
    assert rule["message"].startswith("ChangeFreeze/db-migration: change freeze in force until")


def test_under_a_gate_the_rule_needs_both_selectors_and_the_default_policy_steps_aside() -> None:
    gated, default = sorted(rules(FREEZE_2H, gate()), key=lambda rule: "gate" in rule, reverse=True)
    assert gated["gate"] == "checkout"
    assert gated["match"] == [{"matchLabels": CHECKOUT}]
    assert default["match"] == []
    assert default["unless"] == [{"matchLabels": CHECKOUT}]


def test_a_burning_slo_holds_what_the_gate_and_the_slo_both_select() -> None:
    [rule] = [rule for rule in rules(burning_slo(), gate(maxBurnRate=4)) if rule.get("gate")]
    assert rule["source"] == "ServiceLevelObjective/checkout-availability"
    assert rule["match"] == [{"matchLabels": CHECKOUT}, {"matchLabels": CHECKOUT}]
    assert set(rule["exemptChangeTypes"]) == {"reliability", "emergency"}
    assert rule["since"] == "2026-05-01T12:00:00Z"


@pytest.mark.parametrize(
    ("resources", "why"),
    [
        (
            (FREEZE_2H, gate(mode="DryRun")),
            "a DryRun gate enforces nothing and the default policy steps aside",
        ),
        ((burning_slo(2.0), gate(maxBurnRate=4)), "a burn within the limit"),
        ((FREEZE_2H, gate(requireNoActiveFreeze=False)), "a gate that ignores freezes"),
        (
            (
                FREEZE_2H,
                gate(override={"by": "sre", "reason": "fix", "expires": "2026-05-01T14:00:00Z"}),
            ),
            "a break-glass override of the whole gate",
        ),
        (
            (applied("Incident", "minor", {**P1_INCIDENT["spec"], "severity": "P3"}),),
            "a P3 incident under the default policy",
        ),
    ],
)
def test_nothing_is_held_when_the_decision_would_not_hold(
    resources: tuple[dict[str, Any], ...], why: str
) -> None:
    published = hold_rules(world_of(*resources), "shop", now=NOW, check_values={})
    assert matching_holds(published, CHECKOUT, "") == [], why


def test_an_override_for_some_workloads_exempts_exactly_those() -> None:
    override = {
        "by": "sre",
        "reason": "fix",
        "expires": "2026-05-01T14:00:00Z",
        "selector": {"matchLabels": {"tier": "edge"}},
    }
    [rule] = [rule for rule in rules(FREEZE_2H, gate(override=override)) if rule.get("gate")]
    assert {"matchLabels": {"tier": "edge"}} in rule["unless"]


def test_an_open_p1_incident_holds_what_it_affects() -> None:
    [rule] = rules(P1_INCIDENT)
    assert rule["source"] == "Incident/checkout-5xx"
    assert rule["match"] == [{"matchLabels": CHECKOUT}]


@dataclass
class FakeHoldSets:
    puts: list[tuple[str, HoldSetSpec]] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)

    def list_holdsets(self) -> dict[str, HoldSetSpec]:
        return {}

    def put_holdset(self, namespace: str, spec: HoldSetSpec, enforced_by: str) -> None:
        self.puts.append((namespace, spec))

    def delete_holdset(self, namespace: str) -> None:
        self.deletes.append(namespace)


def test_holds_are_written_when_they_change_not_when_a_measurement_moves() -> None:
    world = world_of(burning_slo(20.0), gate(maxBurnRate=4))
    world.observe_workload(WorkloadKind.DEPLOYMENT, workload_body(WorkloadKind.DEPLOYMENT), deleted=False)
    store = FakeHoldSets()
    holds = AdmissionHolds(world, store, AdmissionMode.POLICY)
    asyncio.run(holds.refresh(NOW, {}, None))
    asyncio.run(holds.refresh(NOW + timedelta(seconds=10), {}, None))
    assert len(store.puts) == 1
    world.slos.observe(burning_slo(27.5), deleted=False)
    asyncio.run(holds.refresh(NOW + timedelta(seconds=20), {}, None))
    assert len(store.puts) == 1, "a new burn rate of the same hold is not a new hold"
    [rule] = holds.holds_in("shop")
    assert rule.since == NOW, "a hold keeps its start across refreshes"
    world.slos.observe(burning_slo(1.0), deleted=False)
    asyncio.run(holds.refresh(NOW + timedelta(seconds=30), {}, None))
    assert store.deletes == ["shop"]
    assert holds.holds_in("shop") == []


@dataclass
class FakeRevisions:
    start: RevisionStart
    asked: list[datetime] = field(default_factory=list)

    def revision_start(self, ref: WorkloadRef, uid: str, template: str, since: datetime) -> RevisionStart:
        self.asked.append(since)
        return self.start


@dataclass
class FakeTelemetry:
    late: list[tuple[str, str, int]] = field(default_factory=list)

    def decision(self, workload_kind: str, action: str, reason: str) -> None: ...

    def evaluation(self, seconds: float, slo_count: int) -> None: ...

    def prometheus_error(self) -> None: ...

    def reconcile_error(self, what: str) -> None: ...

    def held_late(self, workload_kind: str, namespace: str, pods: int) -> None:
        self.late.append((workload_kind, namespace, pods))

    def slos(self, readings: Iterable[SloReading]) -> None: ...


@pytest.mark.parametrize(
    ("start", "pods"),
    [
        (RevisionStart(created_at=NOW - timedelta(minutes=90), pods_started=2), None),
        (RevisionStart(created_at=NOW - timedelta(minutes=5), pods_started=2), 2),
        (RevisionStart(created_at=None, pods_started=0, template_deployed=False), 0),
    ],
    ids=["rollout began before the freeze", "deploy arrived during the freeze", "no ReplicaSet yet"],
)
def test_the_backstop_reports_a_deploy_admission_missed(start: RevisionStart, pods: int | None) -> None:
    world = world_of(FREEZE_2H)
    state = world.observe_workload(
        WorkloadKind.DEPLOYMENT, workload_body(WorkloadKind.DEPLOYMENT, rolling=True), deleted=False
    )
    holds = AdmissionHolds(world, FakeHoldSets(), AdmissionMode.POLICY)
    asyncio.run(holds.refresh(NOW, {}, None))
    events, telemetry = FakeEvents(), FakeTelemetry()
    reconciler = WorkloadReconciler(
        world,
        FakeWorkloads(),
        events,
        admission=holds,
        revisions=FakeRevisions(start),
        telemetry=telemetry,
    )
    outcome = asyncio.run(reconciler.reconcile(state.key, NOW))
    assert outcome is not None
    annotations = world.workloads[state.key].annotations
    if pods is not None:
        assert events.posted[-1].reason == "HeldLate"
        assert "admission did not hold this deploy" in annotations["slogate.dev/held-late"]
        assert telemetry.late == [("Deployment", "shop", pods)]
    else:
        assert events.posted[-1].reason == "Held"
        assert "slogate.dev/held-late" not in annotations
        assert telemetry.late == []
