"""``slogate postmortem INCIDENT``: a Markdown postmortem draft from what the cluster recorded.

Summary, impact on the SLOs that protect the affected workloads, one timeline merging the
incident's state changes with slogate's decisions, the deployments just before it, and the gates'
decisions. The sections only people can write (root cause, lessons, action items) are left as
prompts. Kubernetes keeps Events for an hour by default, so run it soon after the incident.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from slogate.api.wire import format_time, read_time
from slogate.cli.explain import (
    incident_summary,
    names_workload,
    slo_summary,
    slogate_events,
)
from slogate.cli.kube import Kube
from slogate.cli.output import add_command, name_of, namespace_of, number, percent, render, spec_of, status_of

LOOKBACK = timedelta(hours=1)
"""How long before the incident opened decisions and deployments still belong to its story."""


def _reference_text(reference: dict[str, Any], home_namespace: str) -> str:
    """kind/name, or kind/namespace/name for a workload outside the incident's namespace."""
    other = reference.get("namespace") and reference.get("namespace") != home_namespace
    namespace = f"{reference['namespace']}/" if other else ""
    return f"{str(reference.get('kind', '')).lower()}/{namespace}{reference.get('name')}"


def _names_affected(
    reference: dict[str, Any], owner_namespace: str, affected: list[dict[str, Any]], incident_namespace: str
) -> bool:
    """Whether ``reference`` (written in a resource of ``owner_namespace``) is an affected workload."""
    return any(
        names_workload(
            reference,
            owner_namespace,
            str(workload.get("kind")),
            workload.get("namespace") or incident_namespace,
            str(workload.get("name")),
        )
        for workload in affected
    )


def _affects(slo: dict[str, Any], affected: list[dict[str, Any]], incident_namespace: str) -> bool:
    return any(
        _names_affected(selected, namespace_of(slo), affected, incident_namespace)
        for selected in status_of(slo).get("selectedWorkloads") or []
    )


def _time(text: Any) -> str | None:
    """The API server's times in one spelling (whole seconds, Z), so the timeline reads and sorts."""
    moment = read_time(text)
    return None if moment is None else format_time(moment)


def _in_period(time: Any, opened: datetime | None, resolved: datetime | None) -> bool:
    moment = read_time(time)
    if moment is None or opened is None:
        return moment is not None
    return opened - LOOKBACK <= moment and (resolved is None or moment <= resolved + LOOKBACK)


def _decisions(
    events_by_workload: dict[str, list[dict[str, Any]]], opened: datetime | None, resolved: datetime | None
) -> list[dict[str, Any]]:
    return [
        {**event, "time": _time(event["time"]), "workload": workload}
        for workload, events in events_by_workload.items()
        for event in slogate_events(events)
        if _in_period(event["time"], opened, resolved)
    ]


def _verdicts(
    gates: list[dict[str, Any]], affected: list[dict[str, Any]], namespace: str
) -> list[dict[str, Any]]:
    """The current verdict of every gate on each affected workload, with its blocking checks."""
    return [
        {
            "gate": name_of(gate),
            "workload": _reference_text(verdict.get("workload") or {}, namespace),
            "verdict": verdict.get("verdict"),
            "enforcedVerdict": verdict.get("enforcedVerdict"),
            "blocking": [
                f"{reason.get('check')}: {reason.get('message')}"
                for reason in verdict.get("reasons") or []
                if not reason.get("passed")
            ],
        }
        for gate in gates
        for verdict in status_of(gate).get("workloads") or []
        if _names_affected(verdict.get("workload") or {}, namespace_of(gate), affected, namespace)
    ]


def _timeline(status: dict[str, Any], decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The incident's state changes and slogate's decisions, in one list sorted by time."""
    timeline = [
        {
            "time": _time(entry.get("time")),
            "what": f"Incident {entry.get('state')}: {entry.get('message') or ''}".strip(),
        }
        for entry in status.get("timeline") or []
    ] + [
        {
            "time": decision["time"],
            "what": f"slogate {decision['reason']} {decision['workload']}: {decision['message']}",
        }
        for decision in decisions
    ]
    return sorted(timeline, key=lambda item: str(item["time"] or ""))


def _deployments(status: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    return [
        {
            "time": _time(deployment.get("time")),
            "workload": _reference_text(deployment.get("workload") or {}, namespace),
            "revision": deployment.get("revision"),
            "images": [
                f"{image.get('container')}: {image.get('previous') or '(new)'} -> {image.get('current')}"
                for image in deployment.get("images") or []
            ],
            "owner": deployment.get("owner"),
        }
        for deployment in status.get("recentDeployments") or []
    ]


def postmortem_view(
    incident: dict[str, Any],
    slos: list[dict[str, Any]],
    gates: list[dict[str, Any]],
    events_by_workload: dict[str, list[dict[str, Any]]],
    now: datetime,
) -> dict[str, Any]:
    """The draft's facts as plain data (the ``-o json`` output)."""
    namespace = namespace_of(incident)
    status = status_of(incident)
    affected = list(status.get("affectedWorkloads") or [])
    opened, resolved = read_time(status.get("openedAt")), read_time(status.get("resolvedAt"))
    decisions = _decisions(events_by_workload, opened, resolved)
    return {
        "generatedAt": format_time(now),
        "incident": {
            **incident_summary(incident),
            "description": spec_of(incident).get("description"),
            "openedAt": _time(status.get("openedAt")),
            "resolvedAt": _time(status.get("resolvedAt")),
            "duration": status.get("duration"),
            "affectedWorkloads": [_reference_text(reference, namespace) for reference in affected],
        },
        "sloImpact": [slo_summary(slo) for slo in slos if _affects(slo, affected, namespace)],
        "timeline": _timeline(status, decisions),
        "deployments": _deployments(status, namespace),
        "gateDecisions": decisions,
        "gateVerdicts": _verdicts(gates, affected, namespace),
    }


def _cell(value: Any) -> str:
    return "-" if value in (None, "", []) else str(value).replace("|", "\\|").replace("\n", " ")


def _markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


PROMPTS = [
    "## Root cause",
    "_Why it happened; the trigger and the conditions that let it through._",
    "## What went well, what did not",
    "_Detection, response, the release gates' part._",
    "## Action items",
    "| Action | Owner | Due |\n|---|---|---|\n|  |  |  |",
]
"""The sections only people can write."""


def _summary(view: dict[str, Any]) -> list[str]:
    incident = view["incident"]
    return [
        f"# Postmortem (draft): {incident['title']}",
        f"_Generated by `slogate postmortem` at {view['generatedAt']} from Incident "
        f"{incident['namespace']}/{incident['name']} and slogate's records. Check every fact; "
        "complete the sections in italics._",
        "## Summary",
        _markdown_table(
            ["", ""],
            [
                ["Severity", incident["severity"]],
                ["State", incident["state"]],
                ["Commander", incident["commander"]],
                ["Opened", incident["openedAt"]],
                ["Resolved", incident["resolvedAt"] or "not yet"],
                ["Duration", incident["duration"]],
                ["Affected workloads", ", ".join(incident["affectedWorkloads"])],
                ["Holding promotions now", "yes" if incident["holdingPromotions"] else "no"],
            ],
        ),
        incident["description"] or "_What happened, in two sentences._",
    ]


def _slo_impact(view: dict[str, Any]) -> list[str]:
    parts = ["## Impact on SLOs"]
    if view["sloImpact"]:
        parts.append(f"As measured at {view['generatedAt']}:")
        parts.append(
            _markdown_table(
                ["SLO", "Objective", "State", "SLI", "Budget left", "Burn rate", "Alerts firing"],
                [
                    [
                        slo["name"],
                        f"{slo['objective']}% over {slo['window']}",
                        slo["state"],
                        percent(slo["sli"], 3),
                        percent(slo["budgetRemainingPercent"]),
                        number(slo["burnRate"]),
                        ", ".join(slo["alertsFiring"]),
                    ]
                    for slo in view["sloImpact"]
                ],
            )
        )
    else:
        parts.append("No ServiceLevelObjective protects the affected workloads.")
    parts.append("_Users affected, requests failed, budget spent by this incident._")
    return parts


def _timeline_and_deployments(view: dict[str, Any]) -> list[str]:
    return [
        "## Timeline (UTC)",
        "\n".join(f"- {_cell(item['time'])}: {item['what']}" for item in view["timeline"]) or "No records.",
        "## Deployments before and during the incident",
        _markdown_table(
            ["Time", "Workload", "Revision", "Image changes", "Owner"],
            [
                [d["time"], d["workload"], d["revision"], "; ".join(d["images"]), d["owner"]]
                for d in view["deployments"]
            ],
        )
        if view["deployments"]
        else "None recorded.",
    ]


def _gate_decisions(view: dict[str, Any]) -> list[str]:
    parts = ["## Release gate decisions"]
    if view["gateDecisions"]:
        parts.append(
            _markdown_table(
                ["Time", "Workload", "Decision", "Why"],
                [[d["time"], d["workload"], d["reason"], d["message"]] for d in view["gateDecisions"]],
            )
        )
    else:
        parts.append("slogate recorded no decision on the affected workloads in this period.")
    if view["gateVerdicts"]:
        parts.append("Current verdicts:")
        parts.append(
            _markdown_table(
                ["Gate", "Workload", "Verdict", "Blocking checks"],
                [
                    [v["gate"], v["workload"], v["verdict"], "; ".join(v["blocking"])]
                    for v in view["gateVerdicts"]
                ],
            )
        )
    return parts


def markdown(view: dict[str, Any]) -> str:
    parts = [
        *_summary(view),
        *_slo_impact(view),
        *_timeline_and_deployments(view),
        *_gate_decisions(view),
        *PROMPTS,
    ]
    return "\n\n".join(parts) + "\n"


def run(args: argparse.Namespace, now: datetime) -> str:
    kube = Kube(args.kubeconfig, args.context, args.namespace)
    incident = kube.get_resource("Incident", kube.namespace, args.incident)
    namespace = kube.namespace
    events = {
        _reference_text(reference, namespace): kube.events_about(
            reference.get("namespace") or namespace, reference["name"]
        )
        for reference in status_of(incident).get("affectedWorkloads") or []
    }
    view = postmortem_view(
        incident,
        kube.list_resources("ServiceLevelObjective", namespace),
        kube.list_resources("ReleaseGate", namespace),
        events,
        now,
    )
    return render(view, args.output, markdown)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    postmortem = add_command(
        commands,
        "postmortem",
        summary="a Markdown postmortem draft for an Incident",
        description="Write a postmortem draft in Markdown (summary, SLO impact, timeline, deployments, "
        "gate decisions) from the Incident's status and slogate's records.",
        run=run,
    )
    postmortem.add_argument("incident", metavar="INCIDENT", help="name of the Incident")
