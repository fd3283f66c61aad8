"""What every read command shares: its flags, its errors and how it prints (tables, JSON, YAML).

The commands build plain dictionaries (their JSON/YAML output) and render them as text here, so the
formatting is pure and unit-tested, and ``-o json`` shows exactly what the table was made from.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import yaml

from slogate.api.durations import format_duration
from slogate.api.wire import format_time, read_time


class CliError(Exception):
    """A failure the user can act on: the message says what went wrong and what to do."""


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"
    YAML = "yaml"


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    *,
    summary: str,
    description: str,
    run: Callable[[argparse.Namespace, datetime], str],
    all_namespaces: bool = False,
) -> argparse.ArgumentParser:
    """A command's parser with the cluster flags and -o; the caller adds its own arguments."""
    parser = commands.add_parser(name, help=summary, description=description)
    add_cluster_flags(parser, all_namespaces=all_namespaces)
    add_output_flag(parser)
    parser.set_defaults(command_run=run)
    return parser


def add_cluster_flags(parser: argparse.ArgumentParser, *, all_namespaces: bool = False) -> None:
    """The kubectl flags: which kubeconfig, context and namespace, and -A where listing makes sense."""
    cluster = parser.add_argument_group("cluster", "read like kubectl: --kubeconfig, else $KUBECONFIG")
    cluster.add_argument("--kubeconfig", help="path to the kubeconfig file (default: $KUBECONFIG)")
    cluster.add_argument("--context", help="kubeconfig context to use (default: the current one)")
    cluster.add_argument(
        "-n", "--namespace", help="namespace (default: the context's namespace, else default)"
    )
    if all_namespaces:
        cluster.add_argument(
            "-A", "--all-namespaces", action="store_true", help="every namespace you can read"
        )


def add_output_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        type=OutputFormat,
        choices=list(OutputFormat),
        default=OutputFormat.TABLE,
        help="table (default, for people), json or yaml (for scripts)",
    )


def render(data: Any, output: OutputFormat, human: Callable[[Any], str]) -> str:
    if output is OutputFormat.JSON:
        return json.dumps(data, indent=2, sort_keys=False)
    if output is OutputFormat.YAML:
        dumped: str = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
        return dumped.rstrip("\n")
    return human(data)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A kubectl-style table: upper-case headers, columns padded to the widest cell, no borders."""
    cells = [[str(header).upper() for header in headers]] + [
        ["<none>" if cell is None else str(cell) for cell in row] for row in rows
    ]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    return "\n".join(
        "   ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    )


def _span(delta: timedelta) -> str:
    seconds = int(abs(delta.total_seconds()))
    if seconds == 0:
        return "0s"
    # Two units at most, as kubectl's AGE column does: 3h12m, not 3h12m7s.
    return "".join(_split_units(format_duration(timedelta(seconds=seconds)))[:2])


def _split_units(text: str) -> list[str]:
    parts: list[str] = []
    current = ""
    for char in text:
        current += char
        if char.isalpha():
            parts.append(current)
            current = ""
    return parts


def relative(text: Any, now: datetime) -> str | None:
    """``2026-11-22T09:00:00Z (in 1h2m)`` or ``... (5m ago)``; None when there is no time."""
    moment = read_time(text)
    if moment is None:
        return None
    delta = moment - now
    when = f"in {_span(delta)}" if delta.total_seconds() > 0 else f"{_span(delta)} ago"
    return f"{format_time(moment)} ({when})"


def number(value: Any, digits: int = 2) -> str | None:
    """A measured float for a table; None stays None so the table shows <none>."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return f"{value:.{digits}f}"


def percent(value: Any, digits: int = 2) -> str | None:
    shown = number(value, digits)
    return None if shown is None else f"{shown}%"


def section(title: str, body: str) -> str:
    return f"{title}:\n" + "\n".join(f"  {line}" if line else "" for line in body.splitlines())


def labels_of(body: Mapping[str, Any]) -> dict[str, str]:
    return dict((body.get("metadata") or {}).get("labels") or {})


def annotations_of(body: Mapping[str, Any]) -> dict[str, str]:
    return dict((body.get("metadata") or {}).get("annotations") or {})


def name_of(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("name", ""))


def namespace_of(body: Mapping[str, Any]) -> str:
    return str((body.get("metadata") or {}).get("namespace", ""))


def status_of(body: Mapping[str, Any]) -> dict[str, Any]:
    return dict(body.get("status") or {})


def spec_of(body: Mapping[str, Any]) -> dict[str, Any]:
    return dict(body.get("spec") or {})
