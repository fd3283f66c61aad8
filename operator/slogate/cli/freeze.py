"""``slogate freeze 2h --reason "..."``: the ChatOps ``/deploy freeze 2h`` as a ChangeFreeze.

The freeze starts now and lasts the given duration. It is labelled as made by the CLI and annotated
with who asked (as the API server authenticates them), so ``slogate unfreeze`` finds it and the
audit trail says who froze what.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta
from typing import Any

from slogate.api.base import API_VERSION
from slogate.api.durations import parse_duration
from slogate.api.wire import (
    CREATED_BY_CLI,
    CREATED_BY_LABEL,
    REQUESTED_BY_ANNOTATION,
    format_time,
    parse_time,
)
from slogate.cli.kube import Kube
from slogate.cli.output import CliError, add_command, name_of, relative, render, spec_of


def parse_freeze_duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise CliError(f"{error}; e.g. 'slogate freeze 2h --reason ...'") from error


def parse_selector(text: str | None) -> dict[str, str] | None:
    """``app=web,tier=api`` as matchLabels; None when no selector was given."""
    if not text:
        return None
    labels: dict[str, str] = {}
    for term in text.split(","):
        key, separator, value = term.partition("=")
        if not separator or not key.strip() or "!" in key:
            raise CliError(
                f"--selector {text!r}: use key=value pairs separated by commas, e.g. app=web,tier=api"
            )
        labels[key.strip()] = value.strip()
    return labels


def default_name(now: datetime) -> str:
    return "freeze-" + now.strftime("%Y%m%d-%H%M%S")


def freeze_manifest(
    name: str,
    *,
    reason: str,
    duration: str,
    selector: dict[str, str] | None,
    requested_by: str | None,
    now: datetime,
) -> dict[str, Any]:
    if not reason.strip():
        raise CliError("--reason must say why releases are frozen, e.g. --reason 'database migration'")
    parse_freeze_duration(duration)
    spec: dict[str, Any] = {"reason": reason, "start": format_time(now), "duration": duration}
    if selector is not None:
        spec["selector"] = {"matchLabels": selector}
    metadata: dict[str, Any] = {"name": name, "labels": {CREATED_BY_LABEL: CREATED_BY_CLI}}
    if requested_by:
        metadata["annotations"] = {REQUESTED_BY_ANNOTATION: requested_by}
    return {"apiVersion": API_VERSION, "kind": "ChangeFreeze", "metadata": metadata, "spec": spec}


def created_summary(created: dict[str, Any], namespace: str, now: datetime) -> dict[str, Any]:
    spec = spec_of(created)
    start = parse_time(spec["start"])
    end = start + parse_duration(spec["duration"])
    selector = (spec.get("selector") or {}).get("matchLabels")
    return {
        "name": name_of(created),
        "namespace": namespace,
        "start": spec["start"],
        "end": format_time(end),
        "reason": spec["reason"],
        "scope": ",".join(f"{k}={v}" for k, v in selector.items()) if selector else "every workload",
        "requestedBy": (created["metadata"].get("annotations") or {}).get(REQUESTED_BY_ANNOTATION),
    }


def human(summary: dict[str, Any], now: datetime) -> str:
    return (
        f"changefreeze.slogate.dev/{summary['name']} created in namespace {summary['namespace']}\n"
        f"  frozen:  {summary['scope']}\n"
        f"  reason:  {summary['reason']}\n"
        f"  ends:    {relative(summary['end'], now)}\n"
        f"Releases that arrive meanwhile are held and proceed when it ends; end it early with "
        f"'slogate unfreeze {summary['name']} -n {summary['namespace']}'."
    )


def run(args: argparse.Namespace, now: datetime) -> str:
    duration = args.duration
    parse_freeze_duration(duration)
    kube = Kube(args.kubeconfig, args.context, args.namespace)
    manifest = freeze_manifest(
        args.name or default_name(now),
        reason=args.reason,
        duration=duration,
        selector=parse_selector(args.selector),
        requested_by=kube.whoami(),
        now=now,
    )
    created = kube.create_resource("ChangeFreeze", kube.namespace, manifest)
    summary = created_summary(created, kube.namespace, now)
    return render(summary, args.output, lambda data: human(data, now))


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    freeze = add_command(
        commands,
        "freeze",
        summary="freeze releases now for a duration (a ChangeFreeze)",
        description="Create a ChangeFreeze that starts now: releases of the selected workloads are "
        "held (queued) until it ends.",
        run=run,
    )
    freeze.add_argument("duration", help="how long, e.g. 2h, 30m, 1d")
    freeze.add_argument("--reason", required=True, help="why; shown on every held workload")
    freeze.add_argument("--selector", "-l", help="only workloads with these labels, e.g. app=web")
    freeze.add_argument("--name", help="name of the ChangeFreeze (default: freeze-<date>-<time>)")
