"""The controller: what each watch event makes the operator do, with fakes at the ports only.

A workload event reconciles that workload at once; a spec change of a freeze or an incident
reconciles what it reaches at once; status-only changes (slogate's own writes among them) and
events before the first full listing only update the World; a standby replica decides nothing.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from harness.bodies import deployment_body, resource_body
from harness.fakes import Events, History, NoRuleStore, ScriptedPrometheus, Statuses, Telemetry, Workloads
from slogate.api.base import WorkloadKind
from slogate.api.freeze import ChangeFreeze
from slogate.reconcile.controller import Controller
from slogate.reconcile.cycle import CycleSettings, EvaluationCycle
from slogate.reconcile.ports import QueryResult
from slogate.reconcile.rules import RuleDelivery, RuleDeliverySettings
from slogate.reconcile.workloads import WorkloadReconciler
from slogate.reconcile.world import World

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
APP = {"app": "checkout"}
FREEZES = ChangeFreeze.names.plural


def deployment(image: str = "shop/checkout:1") -> dict[str, Any]:
    return deployment_body("checkout", APP, image)


def freeze(generation: int = 1, status: dict[str, Any] | None = None) -> dict[str, Any]:
    body = resource_body(
        "ChangeFreeze",
        "migration",
        {"reason": "Database migration", "duration": "2h"},
        generation=generation,
        created=(NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    return {**body, **({"status": status} if status is not None else {})}


def controller() -> tuple[Controller, Workloads]:
    world, workloads = World(), Workloads()
    cycle = EvaluationCycle(
        world=world,
        reconciler=WorkloadReconciler(world, workloads, Events()),
        queries=ScriptedPrometheus(lambda query: QueryResult()),
        statuses=Statuses(),
        history=History(),
        telemetry=Telemetry(),
        clock=lambda: NOW,
        settings=CycleSettings(),
    )
    rules = RuleDelivery(
        world, NoRuleStore(), RuleDeliverySettings(), Telemetry(), active=lambda: cycle.active
    )
    return Controller(world, cycle, rules, lambda: NOW), workloads


def test_events_before_the_first_listing_only_fill_the_world() -> None:
    control, workloads = controller()
    asyncio.run(control.resource_event(FREEZES, "ADDED", freeze()))
    asyncio.run(control.workload_event(WorkloadKind.DEPLOYMENT, "ADDED", deployment()))
    assert workloads.paused == []
    assert (WorkloadKind.DEPLOYMENT, "shop", "checkout") in control.world.workloads


def test_a_new_freeze_holds_at_once_and_its_status_changes_do_nothing_more() -> None:
    control, workloads = controller()
    control.load({}, [(WorkloadKind.DEPLOYMENT, deployment())], [])
    asyncio.run(control.resource_event(FREEZES, "ADDED", freeze()))
    assert workloads.paused == [True]
    asyncio.run(control.resource_event(FREEZES, "MODIFIED", freeze(status={"active": True})))
    assert workloads.paused == [True], "a status-only change is slogate's own write coming back"


def test_a_workload_event_reconciles_that_workload() -> None:
    control, workloads = controller()
    control.load({FREEZES: [freeze()]}, [], [])
    asyncio.run(control.workload_event(WorkloadKind.DEPLOYMENT, "ADDED", deployment()))
    assert workloads.paused == [True], "a deploy that arrives during a freeze is held"


def test_a_standby_replica_only_keeps_its_world_current() -> None:
    control, workloads = controller()
    control.load({}, [(WorkloadKind.DEPLOYMENT, deployment())], [])
    control.cycle.deactivate()
    asyncio.run(control.resource_event(FREEZES, "ADDED", freeze()))
    asyncio.run(control.workload_event(WorkloadKind.DEPLOYMENT, "MODIFIED", deployment("shop/checkout:2")))
    assert workloads.paused == []
    assert control.world.freezes.get("shop", "migration") is not None
