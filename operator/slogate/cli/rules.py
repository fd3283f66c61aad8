"""``slogate rules [-n ns | -A] [-o yaml|json]``: the SLOs' recording rules as a Prometheus rule file.

For a Prometheus that is not run by prometheus-operator (``rule_files``), a Thanos ruler, or
``mimirtool rules load``: one group per SLO it can read, sorted by namespace and name, the same
groups the operator writes into PrometheusRules and its ConfigMap (docs/recording-rules.md). An
SLO whose spec is invalid gets no rules; a note on stderr names it and the problem, so the file on
stdout stays loadable.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from enum import StrEnum

from slogate.cli.kube import Kube
from slogate.cli.output import add_cluster_flags
from slogate.domain.rulefiles import groups_of, render_yaml, rule_file


class RuleFormat(StrEnum):
    YAML = "yaml"
    JSON = "json"


def run(args: argparse.Namespace, now: datetime) -> str:
    kube = Kube(args.kubeconfig, args.context, args.namespace)
    namespace = None if args.all_namespaces else kube.namespace
    groups, skipped = groups_of(kube.list_resources("ServiceLevelObjective", namespace))
    for slo in skipped:
        print(f"note: {slo}", file=sys.stderr)
    document = rule_file(groups)
    if args.output is RuleFormat.JSON:
        return json.dumps(document, indent=2)
    return render_yaml(document).rstrip("\n")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "rules",
        help="the SLOs' recording rules as a Prometheus rule file",
        description="Print the recording rules of the SLOs of a namespace (or of all with -A) as a "
        "Prometheus rule file, e.g. slogate rules -A > slogate-rules.yaml && promtool check rules "
        "slogate-rules.yaml",
    )
    add_cluster_flags(parser, all_namespaces=True)
    parser.add_argument(
        "-o",
        "--output",
        type=RuleFormat,
        choices=list(RuleFormat),
        default=RuleFormat.YAML,
        help="yaml (default, a rule file) or json",
    )
    parser.set_defaults(command_run=run)
