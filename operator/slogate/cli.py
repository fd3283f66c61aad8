"""The ``slogate`` command line: ``slogate run`` starts the operator.

Every flag has an environment variable (``SLOGATE_<FLAG>``), so the Helm chart and a developer's
shell configure it the same way.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import kopf

import slogate.handlers  # noqa: F401  (importing registers the handlers with kopf)
from slogate import __version__
from slogate.api.durations import parse_duration
from slogate.api.gate import NoDataPolicy
from slogate.settings import LogFormat, OperatorSettings, PrometheusConnection


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"SLOGATE_{name}", default)


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error}; use a duration such as 10s or 1m") from error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="slogate", description="SLO-aware release gating for Kubernetes.")
    parser.add_argument("--version", action="version", version=f"slogate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the operator against the current kubeconfig or in-cluster")
    run.add_argument(
        "--prometheus-url",
        default=_env("PROMETHEUS_URL"),
        help="Prometheus base URL, e.g. http://prometheus.monitoring:9090 (env SLOGATE_PROMETHEUS_URL)",
    )
    run.add_argument(
        "--prometheus-bearer-token-file",
        type=Path,
        default=_env("PROMETHEUS_BEARER_TOKEN_FILE"),
        help="file holding a bearer token for Prometheus, e.g. a mounted Secret; re-read every cycle",
    )
    run.add_argument(
        "--prometheus-insecure-skip-verify",
        action="store_true",
        default=_env("PROMETHEUS_INSECURE_SKIP_VERIFY") == "true",
        help="do not verify Prometheus' TLS certificate (set REQUESTS_CA_BUNDLE for a private CA instead)",
    )
    run.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=[ns for ns in (_env("NAMESPACES") or "").split(",") if ns],
        help="namespace to watch (repeatable; env SLOGATE_NAMESPACES, comma-separated); all when omitted",
    )
    run.add_argument(
        "--platform-namespace",
        default=_env("PLATFORM_NAMESPACE"),
        help="namespace whose freezes and incidents may select other namespaces",
    )
    run.add_argument(
        "--evaluation-interval",
        type=_duration,
        default=_duration(_env("EVALUATION_INTERVAL", "10s") or "10s"),
        help="how often every SLO is measured and every workload decided (default 10s)",
    )
    run.add_argument(
        "--field-manager",
        default=_env("FIELD_MANAGER", "slogate"),
        help="field manager of slogate's writes, for Argo CD ignoreDifferences (default slogate)",
    )
    run.add_argument(
        "--log-format",
        type=LogFormat,
        choices=list(LogFormat),
        default=LogFormat(_env("LOG_FORMAT", "plain") or "plain"),
    )
    run.add_argument("--metrics-port", type=int, default=int(_env("METRICS_PORT", "9464") or 9464))
    run.add_argument("--health-port", type=int, default=int(_env("HEALTH_PORT", "8081") or 8081))
    run.add_argument(
        "--peering",
        default=_env("PEERING"),
        help="kopf peering name, for several replicas of which one acts; standalone when omitted",
    )
    run.add_argument(
        "--on-prometheus-unavailable",
        type=NoDataPolicy,
        choices=list(NoDataPolicy),
        default=NoDataPolicy(_env("ON_PROMETHEUS_UNAVAILABLE", "Hold") or "Hold"),
        help="what gates do while Prometheus cannot be reached: Hold (default) new promotions, or "
        "Proceed; missing data never rolls anything back",
    )
    return parser


def settings_from(args: argparse.Namespace) -> OperatorSettings:
    if not args.prometheus_url:
        raise SystemExit("slogate run: --prometheus-url (or SLOGATE_PROMETHEUS_URL) is required")
    return OperatorSettings(
        prometheus=PrometheusConnection(
            url=args.prometheus_url,
            bearer_token_file=args.prometheus_bearer_token_file,
            insecure_skip_verify=args.prometheus_insecure_skip_verify,
        ),
        namespaces=tuple(args.namespace),
        platform_namespace=args.platform_namespace,
        evaluation_interval=args.evaluation_interval,
        field_manager=args.field_manager,
        log_format=args.log_format,
        metrics_port=args.metrics_port,
        health_port=args.health_port,
        peering=args.peering,
        outage_policy=args.on_prometheus_unavailable,
    )


def run_operator(settings: OperatorSettings) -> int:
    kopf.configure(
        log_format=kopf.LogFormat.JSON if settings.log_format is LogFormat.JSON else kopf.LogFormat.FULL
    )
    # kopf logs every handled watch event at INFO; slogate's own decisions are logged and posted
    # as Events instead, so only kopf's warnings and errors are kept.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    kopf.run(
        standalone=settings.peering is None,
        peering_name=settings.peering,
        clusterwide=not settings.namespaces,
        namespaces=settings.namespaces,
        liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz",
        memo=kopf.Memo(settings=settings),
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return run_operator(settings_from(args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
