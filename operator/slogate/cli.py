"""The ``slogate`` command line: ``slogate run`` starts the operator."""

from __future__ import annotations

import argparse
import sys

import kopf

import slogate.handlers  # noqa: F401  (importing registers the handlers with kopf)
from slogate import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slogate", description=__doc__)
    parser.add_argument("--version", action="version", version=f"slogate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the operator against the current kubeconfig")
    run.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[],
        help="namespace to watch (repeatable); all namespaces when omitted",
    )
    return parser


def run_operator(namespaces: list[str]) -> int:
    kopf.run(
        standalone=True,
        clusterwide=not namespaces,
        namespaces=namespaces,
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return run_operator(args.namespace)
    return 2


if __name__ == "__main__":
    sys.exit(main())
