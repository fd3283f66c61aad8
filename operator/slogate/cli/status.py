"""``slogate status [-n ns | -A]``: the release safety of a namespace (or all) on one screen.

SLOs with their budget and burn, the freezes in force, the open incidents, the workloads slogate
holds, and the holds admission applies (each namespace's HoldSet and the mechanism enforcing it),
each read from what the operator last wrote (resource status and workload annotations).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import datetime
from typing import Any

from slogate.api.base import WorkloadKind
from slogate.api.incident import IncidentState
from slogate.api.wire import (
    DECISION_ANNOTATION,
    EXPECTED_CLEAR_ANNOTATION,
    HELD_ANNOTATION,
    HELD_SINCE_ANNOTATION,
    REASON_ANNOTATION,
)
from slogate.cli.explain import freeze_summary, incident_summary, slo_summary, slo_table
from slogate.cli.kube import Kube
from slogate.cli.output import (
    add_command,
    annotations_of,
    name_of,
    namespace_of,
    relative,
    render,
    section,
    spec_of,
    table,
)

HOLDING_DECISIONS = ("Hold", "Rollback")
OPEN_STATES = tuple(state.value for state in IncidentState if state.is_open)


def held_summary(kind: WorkloadKind, workload: dict[str, Any]) -> dict[str, Any] | None:
    """A workload slogate holds (its own pause, or a Hold/Rollback decision), else None."""
    marks = annotations_of(workload)
    if marks.get(HELD_ANNOTATION) != "true" and marks.get(DECISION_ANNOTATION) not in HOLDING_DECISIONS:
        return None
    return {
        "namespace": namespace_of(workload),
        "kind": kind.value,
        "name": name_of(workload),
        "decision": marks.get(DECISION_ANNOTATION),
        "paused": bool(spec_of(workload).get("paused")),
        "heldSince": marks.get(HELD_SINCE_ANNOTATION),
        "expectedClear": marks.get(EXPECTED_CLEAR_ANNOTATION),
        "reason": marks.get(REASON_ANNOTATION),
    }


def admission_summary(holdset: dict[str, Any]) -> dict[str, Any]:
    """A namespace's HoldSet: how many holds admission applies there, and by which mechanism."""
    return {
        "namespace": namespace_of(holdset),
        "holds": len(spec_of(holdset).get("holds") or []),
        "enforcedBy": (holdset.get("status") or {}).get("enforcedBy") or "unknown",
    }


def status_view(
    slos: list[dict[str, Any]],
    freezes: list[dict[str, Any]],
    incidents: list[dict[str, Any]],
    workloads: list[tuple[WorkloadKind, dict[str, Any]]],
    holdsets: list[dict[str, Any]],
) -> dict[str, Any]:
    held = [summary for kind, body in workloads if (summary := held_summary(kind, body)) is not None]
    return {
        "admission": [admission_summary(holdset) for holdset in holdsets],
        "slos": [slo_summary(slo) for slo in slos],
        "activeFreezes": [summary for f in freezes if (summary := freeze_summary(f))["active"]],
        "openIncidents": [i for i in map(incident_summary, incidents) if i["state"] in OPEN_STATES],
        "heldWorkloads": held,
    }


def _qualified(item: dict[str, Any], all_namespaces: bool) -> str:
    return f"{item['namespace']}/{item['name']}" if all_namespaces else str(item["name"])


Namer = Callable[[dict[str, Any]], str]


def _slos_block(view: dict[str, Any], name: Namer) -> str:
    if not view["slos"]:
        return "SLOs: none"
    return section("SLOs", slo_table([{**slo, "name": name(slo)} for slo in view["slos"]]))


def _freezes_block(view: dict[str, Any], now: datetime, name: Namer) -> str:
    if not view["activeFreezes"]:
        return "Active freezes: none"
    rows = [
        [name(f), relative(f["ends"], now) or "-", f["heldWorkloads"], f["reason"]]
        for f in view["activeFreezes"]
    ]
    return section("Active freezes", table(["name", "ends", "held", "reason"], rows))


def _incidents_block(view: dict[str, Any], now: datetime, name: Namer) -> str:
    if not view["openIncidents"]:
        return "Open incidents: none"
    rows = [
        [
            name(i),
            i["severity"],
            i["state"],
            "yes" if i["holdingPromotions"] else "no",
            relative(i["openedAt"], now) or "-",
            i["title"],
        ]
        for i in view["openIncidents"]
    ]
    return section("Open incidents", table(["name", "severity", "state", "holding", "opened", "title"], rows))


def _held_block(view: dict[str, Any], now: datetime, name: Namer) -> str:
    if not view["heldWorkloads"]:
        return "Held workloads: none"
    rows = [
        [
            f"{w['kind'].lower()}/{name(w)}",
            w["decision"],
            "yes" if w["paused"] else "no",
            relative(w["heldSince"], now) or "-",
            relative(w["expectedClear"], now) or "unknown",
            w["reason"],
        ]
        for w in view["heldWorkloads"]
    ]
    return section(
        "Held workloads (slogate explain KIND/NAME for every input)",
        table(["workload", "decision", "paused", "since", "clears", "reason"], rows),
    )


def _admission_block(view: dict[str, Any]) -> str:
    if not view["admission"]:
        return "Holds applied at admission: none in force"
    rows = [[a["namespace"], a["holds"], a["enforcedBy"]] for a in view["admission"]]
    return section(
        "Holds applied at admission (new deploys caught by them are paused in the same write)",
        table(["namespace", "holds", "enforced by"], rows),
    )


def human(view: dict[str, Any], now: datetime, all_namespaces: bool) -> str:
    def name(item: dict[str, Any]) -> str:
        return _qualified(item, all_namespaces)

    blocks = [
        _slos_block(view, name),
        _freezes_block(view, now, name),
        _incidents_block(view, now, name),
        _held_block(view, now, name),
        _admission_block(view),
    ]
    return "\n\n".join(blocks)


def run(args: argparse.Namespace, now: datetime) -> str:
    kube = Kube(args.kubeconfig, args.context, args.namespace)
    namespace = None if args.all_namespaces else kube.namespace
    view = status_view(
        kube.list_resources("ServiceLevelObjective", namespace),
        kube.list_resources("ChangeFreeze", namespace),
        kube.list_resources("Incident", namespace),
        kube.list_workloads(namespace),
        kube.list_resources("HoldSet", namespace),
    )
    return render(view, args.output, lambda data: human(data, now, args.all_namespaces))


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    add_command(
        commands,
        "status",
        summary="SLOs with budget and burn, active freezes, open incidents, held workloads",
        description="Show the release safety of a namespace (or of all with -A).",
        run=run,
        all_namespaces=True,
    )
