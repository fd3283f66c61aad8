"""``slogate explain deployment/NAME``: why a workload is held or allowed, with every input value.

Everything comes from what the operator already wrote: the workload's ``slogate.dev/*``
annotations and Events, the verdict and per-check values in the ReleaseGate status, the SLO status
(budget and burn per window), and the freezes and incidents whose status names the workload. The
command re-decides nothing, so it shows exactly what the operator decided and when.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from slogate.api.base import WorkloadKind
from slogate.api.wire import (
    DECIDED_AT_ANNOTATION,
    DECISION_ANNOTATION,
    DRY_RUN_DECISION_ANNOTATION,
    EXPECTED_CLEAR_ANNOTATION,
    GATE_ANNOTATION,
    HELD_ANNOTATION,
    HELD_BY_ADMISSION,
    HELD_BY_ANNOTATION,
    HELD_LATE_ANNOTATION,
    HELD_SINCE_ANNOTATION,
    REASON_ANNOTATION,
    REVISION_ANNOTATION,
    ROLLED_BACK_TO_ANNOTATION,
)
from slogate.cli.kube import Kube
from slogate.cli.output import (
    CliError,
    add_command,
    annotations_of,
    name_of,
    namespace_of,
    number,
    percent,
    relative,
    render,
    section,
    spec_of,
    status_of,
    table,
)

KINDS = {
    "deployment": WorkloadKind.DEPLOYMENT,
    "deployments": WorkloadKind.DEPLOYMENT,
    "deploy": WorkloadKind.DEPLOYMENT,
    "rollout": WorkloadKind.ROLLOUT,
    "rollouts": WorkloadKind.ROLLOUT,
    "ro": WorkloadKind.ROLLOUT,
}
RECENT_EVENTS = 10
REPORTING_COMPONENT = "slogate"


def parse_target(text: str) -> tuple[WorkloadKind, str]:
    kind, separator, name = text.partition("/")
    if not separator or kind.lower() not in KINDS or not name:
        raise CliError(
            f"cannot explain {text!r}: name a workload as deployment/NAME or rollout/NAME, "
            "e.g. 'slogate explain deployment/checkout'"
        )
    return KINDS[kind.lower()], name


def names_workload(
    reference: Mapping[str, Any], owner_namespace: str, kind: str, namespace: str, name: str
) -> bool:
    """Whether a status WorkloadReference (namespace omitted when it is the owner's) is this one."""
    return (
        reference.get("kind") == kind
        and reference.get("name") == name
        and (reference.get("namespace") or owner_namespace) == namespace
    )


def _listed(resource: dict[str, Any], field: str, kind: str, namespace: str, name: str) -> bool:
    return any(
        names_workload(reference, namespace_of(resource), kind, namespace, name)
        for reference in status_of(resource).get(field) or []
    )


def _verdicts(
    gates: list[dict[str, Any]], kind: str, namespace: str, name: str
) -> list[tuple[str, dict[str, Any]]]:
    """(gate name, its status entry) for every gate that reports a verdict on this workload."""
    return [
        (name_of(gate), verdict)
        for gate in gates
        for verdict in status_of(gate).get("workloads") or []
        if names_workload(verdict.get("workload") or {}, namespace_of(gate), kind, namespace, name)
    ]


def _checks(verdicts: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    checks = []
    for gate, verdict in verdicts:
        for reason in verdict.get("reasons") or []:
            result = "pass" if reason.get("passed") else "waived" if reason.get("waived") else "FAIL"
            if not reason.get("passed") and reason.get("enforced") is False:
                result += " (dry run)"
            checks.append(
                {
                    "gate": reason.get("gate") or gate,
                    "check": reason.get("check"),
                    "source": reason.get("source"),
                    "result": result,
                    "observed": reason.get("observed"),
                    "limit": reason.get("limit"),
                    "clearsAt": reason.get("clearsAt"),
                    "message": reason.get("message"),
                }
            )
    return checks


def _gate_decision(verdicts: list[tuple[str, dict[str, Any]]]) -> str | None:
    """The most severe enforced verdict of the gates, as the workload annotation would record it."""
    found = {str(verdict.get("enforcedVerdict")) for _, verdict in verdicts}
    for decision in ("Rollback", "Hold"):
        if decision in found:
            return decision
    return "Proceed" if found else None


def slo_summary(slo: dict[str, Any]) -> dict[str, Any]:
    status = status_of(slo)
    return {
        "namespace": namespace_of(slo),
        "name": name_of(slo),
        "objective": spec_of(slo).get("objective"),
        "window": spec_of(slo).get("window"),
        "state": status.get("state"),
        "sli": status.get("sli"),
        "budgetRemainingPercent": status.get("errorBudgetRemainingPercent"),
        "burnRate": status.get("burnRate"),
        "burnRates": {
            entry.get("window"): entry.get("burnRate")
            for entry in status.get("burnRates") or []
            if entry.get("window")
        },
        "alertsFiring": [alert.get("name") for alert in status.get("alerts") or [] if alert.get("firing")],
        "lastEvaluationTime": status.get("lastEvaluationTime"),
    }


def freeze_summary(freeze: dict[str, Any]) -> dict[str, Any]:
    status = status_of(freeze)
    return {
        "namespace": namespace_of(freeze),
        "name": name_of(freeze),
        "active": bool(status.get("active")),
        "reason": spec_of(freeze).get("reason"),
        "ends": (status.get("currentWindow") or {}).get("end"),
        "nextChange": status.get("nextChange"),
        "heldWorkloads": len(status.get("heldWorkloads") or []),
    }


def incident_summary(incident: dict[str, Any]) -> dict[str, Any]:
    spec, status = spec_of(incident), status_of(incident)
    return {
        "namespace": namespace_of(incident),
        "name": name_of(incident),
        "severity": spec.get("severity"),
        "state": spec.get("state"),
        "title": spec.get("title"),
        "commander": spec.get("commander"),
        "holdingPromotions": bool(status.get("holdingPromotions")),
        "openedAt": status.get("openedAt"),
    }


def event_summary(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "time": event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp"),
        "type": event.get("type"),
        "reason": event.get("reason"),
        "message": event.get("message"),
    }


def slogate_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    mine = [
        event_summary(event)
        for event in events
        if (event.get("source") or {}).get("component") == REPORTING_COMPONENT
        or event.get("reportingComponent") == REPORTING_COMPONENT
    ]
    return sorted(mine, key=lambda event: str(event["time"] or ""))


def _paused_by(marks: dict[str, str]) -> str:
    if marks.get(HELD_ANNOTATION) != "true":
        return "someone else (slogate never lifts it)"
    if marks.get(HELD_BY_ANNOTATION) == HELD_BY_ADMISSION:
        return "slogate, at admission (in the write that changed it)"
    return "slogate"


def explain_view(
    kind: WorkloadKind,
    *,
    workload: dict[str, Any],
    gates: list[dict[str, Any]],
    slos: list[dict[str, Any]],
    freezes: list[dict[str, Any]],
    incidents: list[dict[str, Any]],
    events: list[dict[str, Any]],
) -> dict[str, Any]:
    """Everything known about one workload's release decision, as plain data."""
    namespace, name = namespace_of(workload), name_of(workload)
    marks = annotations_of(workload)
    held = marks.get(HELD_ANNOTATION) == "true"
    paused = bool(spec_of(workload).get("paused"))
    verdicts = _verdicts(gates, kind.value, namespace, name)
    # slogate annotates a workload when a decision changes; one that was always allowed may have
    # no annotation yet, and then its gates' status says what was decided.
    decision = marks.get(DECISION_ANNOTATION) or _gate_decision(verdicts)
    checks = _checks(verdicts)
    failing = "; ".join(str(check["message"]) for check in checks if check["result"] == "FAIL")
    return {
        "workload": {"kind": kind.value, "namespace": namespace, "name": name},
        "decision": decision,
        "dryRunDecision": marks.get(DRY_RUN_DECISION_ANNOTATION),
        "held": held,
        "paused": paused,
        "pausedBy": _paused_by(marks) if paused else None,
        "heldLate": marks.get(HELD_LATE_ANNOTATION),
        "reason": marks.get(REASON_ANNOTATION) or (failing or "all checks pass" if verdicts else None),
        "decidedAt": marks.get(DECIDED_AT_ANNOTATION),
        "heldSince": marks.get(HELD_SINCE_ANNOTATION),
        "expectedClear": marks.get(EXPECTED_CLEAR_ANNOTATION),
        "revision": marks.get(REVISION_ANNOTATION),
        "rolledBackTo": marks.get(ROLLED_BACK_TO_ANNOTATION),
        "gates": [gate.strip() for gate in marks.get(GATE_ANNOTATION, "").split(",") if gate.strip()],
        "checks": checks,
        "slos": [
            slo_summary(slo) for slo in slos if _listed(slo, "selectedWorkloads", kind.value, namespace, name)
        ],
        "freezes": [
            freeze_summary(freeze)
            for freeze in freezes
            if _listed(freeze, "heldWorkloads", kind.value, namespace, name)
            or (namespace_of(freeze) == namespace and status_of(freeze).get("active"))
        ],
        "incidents": [
            incident_summary(incident)
            for incident in incidents
            if _listed(incident, "affectedWorkloads", kind.value, namespace, name)
        ],
        "events": slogate_events(events)[-RECENT_EVENTS:],
    }


def headline(view: dict[str, Any]) -> str:
    decision = view["decision"]
    if decision is None:
        return (
            "ALLOWED (nothing has held it; no ReleaseGate governs it, so slogate records a decision "
            "only when a freeze or an incident holds it)"
        )
    if decision in ("Hold", "Rollback"):
        state = "HELD" if view["held"] or view["paused"] else "HELD (decided; not paused)"
        return f"{state} (decision {decision})"
    return f"ALLOWED (decision {decision})"


def _burns(burn_rates: Mapping[str, Any]) -> str:
    return " ".join(f"{window}={number(rate) or 'no-data'}" for window, rate in burn_rates.items()) or "-"


def slo_table(slos: list[dict[str, Any]]) -> str:
    return table(
        ["name", "state", "objective", "sli", "budget left", "burn", "burn per window", "alerts"],
        [
            [
                slo["name"],
                slo["state"],
                f"{slo['objective']}% / {slo['window']}",
                percent(slo["sli"], 3),
                percent(slo["budgetRemainingPercent"]),
                number(slo["burnRate"]),
                _burns(slo["burnRates"]),
                ",".join(slo["alertsFiring"]) or "-",
            ]
            for slo in slos
        ],
    )


def _decision_lines(view: dict[str, Any], now: datetime) -> str:
    workload = view["workload"]
    lines = [
        f"{workload['kind']} {workload['namespace']}/{workload['name']}: {headline(view)}",
        f"Reason:          {view['reason'] or '-'}",
    ]
    if view["dryRunDecision"]:
        lines.append(f"Dry run would:   {view['dryRunDecision']}")
    lines += [
        f"Decided:         {relative(view['decidedAt'], now) or '-'}",
        f"Paused:          {'yes, by ' + view['pausedBy'] if view['paused'] else 'no'}",
    ]
    if view["heldSince"]:
        lines.append(f"Held since:      {relative(view['heldSince'], now)}")
    if view["heldLate"]:
        lines.append(f"Held late:       {view['heldLate']}")
    if view["decision"] in ("Hold", "Rollback"):
        clears = relative(view["expectedClear"], now)
        lines.append(
            f"Expected clear:  {clears or 'not known: it clears when the blocking checks below pass'}"
        )
    if view["rolledBackTo"]:
        lines.append(f"Rolled back to:  revision {view['rolledBackTo']}")
    lines.append(f"Revision:        {view['revision'] or '-'}")
    lines.append(f"Gates:           {', '.join(view['gates']) or '-'}")
    return "\n".join(lines)


def _checks_block(view: dict[str, Any], now: datetime) -> str:
    if not view["checks"]:
        return "Checks: no ReleaseGate governs this workload (freezes and P1/P2 incidents still hold it)"
    rows = [
        [
            check["gate"],
            check["check"],
            check["source"] or "-",
            check["result"],
            check["observed"] or "-",
            check["limit"] or "-",
            relative(check["clearsAt"], now) or "-",
            check["message"],
        ]
        for check in view["checks"]
    ]
    return section(
        "Checks",
        table(["gate", "check", "source", "result", "observed", "limit", "clears", "message"], rows),
    )


def _related_blocks(view: dict[str, Any], now: datetime) -> list[str]:
    """The SLOs, freezes, incidents and events behind the decision, each only when there are any."""
    blocks = []
    if view["slos"]:
        blocks.append(section("SLOs protecting it", slo_table(view["slos"])))
    if view["freezes"]:
        rows = [
            [f["name"], "yes" if f["active"] else "no", relative(f["ends"], now) or "-", f["reason"]]
            for f in view["freezes"]
        ]
        blocks.append(section("Freezes", table(["name", "active", "ends", "reason"], rows)))
    if view["incidents"]:
        rows = [
            [i["name"], i["severity"], i["state"], "yes" if i["holdingPromotions"] else "no", i["title"]]
            for i in view["incidents"]
        ]
        blocks.append(section("Incidents", table(["name", "severity", "state", "holding", "title"], rows)))
    if view["events"]:
        rows = [[relative(e["time"], now) or "-", e["reason"], e["message"]] for e in view["events"]]
        blocks.append(section("Recent slogate events", table(["time", "reason", "message"], rows)))
    return blocks


def human(view: dict[str, Any], now: datetime) -> str:
    blocks = [_decision_lines(view, now), _checks_block(view, now), *_related_blocks(view, now)]
    return "\n\n".join(blocks)


def run(args: argparse.Namespace, now: datetime) -> str:
    kind, name = parse_target(args.workload)
    kube = Kube(args.kubeconfig, args.context, args.namespace)
    namespace = kube.namespace
    workload = kube.get_workload(kind, namespace, name)
    # Freezes and incidents of a platform namespace may name this workload: read every namespace.
    view = explain_view(
        kind,
        workload=workload,
        gates=kube.list_resources("ReleaseGate", namespace),
        slos=kube.list_resources("ServiceLevelObjective", namespace),
        freezes=kube.list_visible("ChangeFreeze", namespace),
        incidents=kube.list_visible("Incident", namespace),
        events=kube.events_about(namespace, name),
    )
    return render(view, args.output, lambda data: human(data, now))


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    explain = add_command(
        commands,
        "explain",
        summary="why a Deployment or Rollout is held or allowed, with every input value",
        description="Show slogate's decision for one workload: the reason, every check with its "
        "measured value and limit, the SLOs, freezes and incidents behind it, when it is expected to "
        "clear, and slogate's recent Events on it.",
        run=run,
    )
    explain.add_argument("workload", metavar="KIND/NAME", help="deployment/NAME or rollout/NAME")
