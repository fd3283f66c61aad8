"""``slogate unfreeze [NAME...]``: end freezes now, keeping them as the audit trail.

A freeze is ended, not deleted: its ``end`` is set to now (``duration`` removed, since a one-shot
freeze has one or the other) and it is annotated with who ended it and when. The object stays, so
``kubectl get sgfreeze`` and ``slogate postmortem`` still show that releases were frozen, why, by
whom and until when. Without names, every freeze in force that ``slogate freeze`` made in the
namespace is ended. Recurring freezes and freezes that have not started yet are not ended (there is
no "now" to end them at that keeps the schedule meaningful): the message says to delete or edit them.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from slogate.api.durations import parse_duration
from slogate.api.wire import (
    CREATED_BY_CLI,
    CREATED_BY_LABEL,
    ENDED_AT_ANNOTATION,
    ENDED_BY_ANNOTATION,
    format_time,
    read_time,
)
from slogate.cli.kube import Kube
from slogate.cli.output import CliError, add_command, labels_of, name_of, render, spec_of, status_of, table


def made_by_cli(freeze: dict[str, Any]) -> bool:
    return labels_of(freeze).get(CREATED_BY_LABEL) == CREATED_BY_CLI


def in_force(freeze: dict[str, Any], now: datetime) -> bool:
    """Active as the operator last reported it, and its current window not already over."""
    status = status_of(freeze)
    end = read_time((status.get("currentWindow") or {}).get("end"))
    return bool(status.get("active")) and (end is None or end > now)


def _planned_end(spec: dict[str, Any], start: datetime | None) -> datetime | None:
    """When a one-shot freeze ends: its end, or its start plus its duration."""
    end = read_time(spec.get("end"))
    if end is None and start is not None and spec.get("duration"):
        end = start + parse_duration(str(spec["duration"]))
    return end


def end_patch(freeze: dict[str, Any], ended_by: str | None, now: datetime) -> dict[str, Any]:
    """The merge patch that ends a one-shot freeze now; CliError when it cannot be ended so."""
    name = name_of(freeze)
    spec = spec_of(freeze)
    if spec.get("recurrence"):
        raise CliError(
            f"ChangeFreeze {name!r} is recurring; unfreeze ends one-shot freezes only: delete it "
            f"('kubectl delete sgfreeze {name}') or edit its recurrence"
        )
    start = read_time(spec.get("start")) or read_time(freeze["metadata"].get("creationTimestamp"))
    if start is not None and start > now:
        raise CliError(
            f"ChangeFreeze {name!r} has not started yet (it starts {format_time(start)}); delete it "
            f"('kubectl delete sgfreeze {name}') to cancel it"
        )
    end_now = _planned_end(spec, start)
    if end_now is not None and end_now <= now:
        raise CliError(
            f"ChangeFreeze {name!r} is already over (it ended {format_time(end_now)}); nothing to end"
        )
    # The CRD requires end > start: a freeze made this very second ends one second after it began.
    end = max(now, start + timedelta(seconds=1)) if start is not None else now
    annotations = {ENDED_AT_ANNOTATION: format_time(now)}
    if ended_by:
        annotations[ENDED_BY_ANNOTATION] = ended_by
    return {"metadata": {"annotations": annotations}, "spec": {"end": format_time(end), "duration": None}}


def chosen(
    freezes: list[dict[str, Any]], names: list[str], namespace: str, now: datetime
) -> list[dict[str, Any]]:
    """The freezes to end: the named ones, else the CLI's own that are in force."""
    if names:
        by_name = {name_of(freeze): freeze for freeze in freezes}
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise CliError(
                f"no ChangeFreeze named {', '.join(unknown)} in namespace {namespace!r}; list them with "
                f"'kubectl get sgfreeze -n {namespace}' or pass -n NAMESPACE"
            )
        return [by_name[name] for name in names]
    return [freeze for freeze in freezes if made_by_cli(freeze) and in_force(freeze, now)]


def human(ended: list[dict[str, Any]]) -> str:
    if not ended:
        return (
            "no freeze made by 'slogate freeze' is in force here; name one to end it "
            "(slogate unfreeze NAME), or list them with 'kubectl get sgfreeze'"
        )
    rows = [[item["name"], item["namespace"], item["endedAt"], item["reason"]] for item in ended]
    return (
        table(["name", "namespace", "ended at", "reason"], rows)
        + "\nHeld releases proceed at the operator's next evaluation unless something else holds them."
    )


def run(args: argparse.Namespace, now: datetime) -> str:
    kube = Kube(args.kubeconfig, args.context, args.namespace)
    freezes = kube.list_resources("ChangeFreeze", kube.namespace)
    targets = chosen(freezes, args.names, kube.namespace, now)
    ended_by = kube.whoami() if targets else None
    # Every patch is built (and refused) before the first is sent: all named freezes end, or none.
    patches = [(freeze, end_patch(freeze, ended_by, now)) for freeze in targets]
    ended = []
    for freeze, patch in patches:
        kube.patch_resource("ChangeFreeze", kube.namespace, name_of(freeze), patch)
        ended.append(
            {
                "name": name_of(freeze),
                "namespace": kube.namespace,
                "endedAt": patch["spec"]["end"],
                "endedBy": ended_by,
                "reason": spec_of(freeze).get("reason"),
            }
        )
    return render(ended, args.output, human)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    unfreeze = add_command(
        commands,
        "unfreeze",
        summary="end freezes now (the CLI's own, or the named ones), keeping them for the record",
        description="End ChangeFreezes now by setting their end to the current time; they are kept "
        "(annotated with who ended them) as the audit trail. Without NAME: every freeze made by "
        "'slogate freeze' in the namespace that is in force.",
        run=run,
    )
    unfreeze.add_argument("names", nargs="*", metavar="NAME", help="ChangeFreezes to end")
