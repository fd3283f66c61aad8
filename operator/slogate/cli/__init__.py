"""The ``slogate`` command line: ``slogate run`` starts the operator; the other commands are a
kubectl-style companion for the people the operator serves (freeze, unfreeze, explain, status,
postmortem) and the source of the SLOs' recording rules for a Prometheus set up by hand (rules).

Each command lives in its own module with an ``add_parser``; the read commands build plain data
from what the operator wrote in the cluster and render it as a table, JSON or YAML. A failure the
user can act on is a ``CliError`` and is printed as one line saying what to do, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from slogate import __version__
from slogate.cli import explain, freeze, postmortem, rules, run, status, unfreeze
from slogate.cli.output import CliError
from slogate.cli.run import settings_from

__all__ = ["build_parser", "main", "settings_from"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slogate", description="SLO-aware release gating for Kubernetes.")
    parser.add_argument("--version", action="version", version=f"slogate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in (run, freeze, unfreeze, explain, status, postmortem, rules):
        command.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        code: int = args.handler(args)
        return code
    try:
        print(args.command_run(args, datetime.now(UTC)))
    except CliError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
