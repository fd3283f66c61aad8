"""``slogate run``: start the operator.

Every flag has an environment variable (``SLOGATE_<FLAG>``), so the Helm chart and a developer's
shell configure it the same way; the variables are read when ``slogate run`` starts, and checked
like the flags (``slogate.cli.environment``).
"""

from __future__ import annotations

import argparse
import logging
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import kopf
import yaml

import slogate.handlers  # noqa: F401  (importing registers the handlers with kopf)
from slogate.api.durations import parse_duration
from slogate.api.gate import NoDataPolicy
from slogate.cli.environment import (
    AppendAfterEnvironment,
    FromEnvironment,
    boolean,
    choice,
    port,
    resolve_environment,
)
from slogate.domain.intake import IntakeMapping, mapping_from_document
from slogate.runtime import credential_files
from slogate.settings import (
    AdmissionChoice,
    AdmissionSettings,
    GrafanaConnection,
    IntakeSettings,
    LeaderElection,
    LogFormat,
    OperatorSettings,
    PrometheusConnection,
    PrometheusRulesChoice,
    RecordingRules,
    WebhookConnection,
)

ADMISSION_CHOICE = choice(AdmissionChoice, list(AdmissionChoice))
FAILURE_POLICY = choice(str, ["Ignore", "Fail"])
RULES_CHOICE = choice(PrometheusRulesChoice, list(PrometheusRulesChoice))
LOG_FORMAT = choice(LogFormat, list(LogFormat))
OUTAGE_POLICY = choice(NoDataPolicy, list(NoDataPolicy))


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"{error}; use a duration such as 10s or 1m") from error


def _url(text: str) -> str:
    parsed = urlsplit(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an http(s) URL; use e.g. http://prometheus.monitoring:9090"
        )
    return text


def _header(text: str) -> tuple[str, str]:
    name, separator, value = text.partition(":")
    if not separator or not name.strip():
        raise argparse.ArgumentTypeError("use the form 'Name: value', e.g. 'X-Team: payments'")
    return name.strip(), value.strip()


def _headers(text: str) -> list[tuple[str, str]]:
    return [_header(line) for line in text.splitlines() if line.strip()]


def _comma_separated(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _add_sink_flags(run: argparse.ArgumentParser) -> None:
    grafana = run.add_argument_group("Grafana annotations", "post every decision as a Grafana annotation")
    grafana.add_argument(
        "--grafana-url",
        type=_url,
        default=FromEnvironment("GRAFANA_URL", _url),
        help="Grafana base URL, e.g. http://grafana.monitoring:3000 (env SLOGATE_GRAFANA_URL); "
        "off when omitted",
    )
    grafana.add_argument(
        "--grafana-token-file",
        type=Path,
        default=FromEnvironment("GRAFANA_TOKEN_FILE", Path),
        help="file holding a Grafana service account token, e.g. a mounted Secret; re-read for every post",
    )
    grafana.add_argument(
        "--grafana-dashboard-uid",
        default=FromEnvironment("GRAFANA_DASHBOARD_UID"),
        help="dashboard to attach the annotations to; organisation-wide annotations when omitted",
    )
    webhook = run.add_argument_group("webhook", "POST every decision as JSON to a URL")
    webhook.add_argument(
        "--webhook-url",
        type=_url,
        default=FromEnvironment("WEBHOOK_URL", _url),
        help="URL to POST every decision to as JSON (env SLOGATE_WEBHOOK_URL); off when omitted",
    )
    webhook.add_argument(
        "--webhook-token-file",
        type=Path,
        default=FromEnvironment("WEBHOOK_TOKEN_FILE", Path),
        help="file holding a bearer token for the webhook, e.g. a mounted Secret; re-read for every post",
    )
    webhook.add_argument(
        "--webhook-header",
        type=_header,
        action=AppendAfterEnvironment,
        default=FromEnvironment("WEBHOOK_HEADERS", _headers, []),
        help="extra header 'Name: value' for the webhook (repeatable; env SLOGATE_WEBHOOK_HEADERS, "
        "one per line)",
    )


def _add_admission_flags(run: argparse.ArgumentParser) -> None:
    admission = run.add_argument_group(
        "admission", "hold a deploy that arrives during a hold in the same write (see docs/admission.md)"
    )
    admission.add_argument(
        "--admission",
        type=ADMISSION_CHOICE,
        metavar="{" + ",".join(AdmissionChoice) + "}",
        default=FromEnvironment("ADMISSION", ADMISSION_CHOICE, AdmissionChoice.AUTO),
        help="auto (default): the MutatingAdmissionPolicy where the API server serves it, else the "
        "webhook; off: hold after the fact only",
    )
    admission.add_argument(
        "--admission-failure-policy",
        type=FAILURE_POLICY,
        metavar="{Ignore,Fail}",
        default=FromEnvironment("ADMISSION_FAILURE_POLICY", FAILURE_POLICY, "Ignore"),
        help="when admission itself fails: Ignore (default) lets the write through, Fail refuses it",
    )
    admission.add_argument(
        "--admission-webhook-port", type=port, default=FromEnvironment("ADMISSION_WEBHOOK_PORT", port, 9443)
    )
    admission.add_argument(
        "--admission-webhook-address",
        default=FromEnvironment("ADMISSION_WEBHOOK_ADDRESS", str, "0.0.0.0"),  # noqa: S104  (a pod serves on all interfaces)
        help="address the webhook listens on (default 0.0.0.0)",
    )
    admission.add_argument(
        "--admission-webhook-host",
        default=FromEnvironment("ADMISSION_WEBHOOK_HOST"),
        help="host or IP by which the API server reaches the webhook (e.g. 127.0.0.1)",
    )
    admission.add_argument(
        "--admission-webhook-service",
        default=FromEnvironment("ADMISSION_WEBHOOK_SERVICE"),
        help="NAMESPACE/NAME of the Service in front of the operator's webhook (in a cluster)",
    )
    admission.add_argument(
        "--admission-webhook-cert-dir",
        type=Path,
        default=FromEnvironment("ADMISSION_WEBHOOK_CERT_DIR", Path),
        help="the webhook's certificate: tls.crt, tls.key and ca.crt found there are served (the "
        "chart mounts a Secret shared by all replicas); else a self-signed one is written there "
        "(default: a temporary directory)",
    )
    admission.add_argument(
        "--validation-webhook",
        action="store_true",
        default=FromEnvironment("VALIDATION_WEBHOOK", boolean, False),
        help="refuse at apply time the slogate resources the operator would mark Invalid (time zone, "
        "RRULE, cron, PromQL syntax), by a validating webhook on the admission webhook's server that "
        "fails open; off by default for a local run, on in the chart",
    )
    admission.add_argument(
        "--admission-helm-release",
        metavar="NAMESPACE/NAME",
        default=FromEnvironment("ADMISSION_HELM_RELEASE", str, "slogate-system/slogate"),
        help="the Helm release that may adopt the admission policy and binding the operator installs "
        "itself: they carry its ownership metadata, so 'helm install NAME -n NAMESPACE' afterwards "
        "takes them over (default slogate-system/slogate; 'none' for no Helm metadata)",
    )


def _admission(args: argparse.Namespace) -> AdmissionSettings:
    service = args.admission_webhook_service
    if service is not None and service.count("/") != 1:
        raise SystemExit("slogate run: --admission-webhook-service must be NAMESPACE/NAME")
    release = args.admission_helm_release
    helm_release = (
        None if release == "none" else _namespace_and_name("--admission-helm-release", release, "ops/slogate")
    )
    return AdmissionSettings(
        choice=args.admission,
        failure_policy=args.admission_failure_policy,
        webhook_port=args.admission_webhook_port,
        webhook_address=args.admission_webhook_address,
        webhook_host=args.admission_webhook_host,
        webhook_service=service,
        webhook_cert_dir=args.admission_webhook_cert_dir,
        validation_webhook=args.validation_webhook,
        helm_release=helm_release,
    )


def _size(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1024:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size in bytes of at least 1024")
    return int(text)


def _count(text: str) -> int:
    if not text.strip().isdigit() or not 1 <= int(text) <= 256:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number from 1 to 256")
    return int(text)


def _add_intake_flags(run: argparse.ArgumentParser) -> None:
    intake = run.add_argument_group(
        "incident intake",
        "Incidents from Alertmanager, PagerDuty and incident.io webhooks (see docs/intake.md); secrets "
        "are files (a mounted Secret), one a line, re-read for every request",
    )
    intake.add_argument(
        "--intake-port",
        type=port,
        default=FromEnvironment("INTAKE_PORT", port),
        help="port of the incident intake (env SLOGATE_INTAKE_PORT); off when omitted",
    )
    intake.add_argument(
        "--intake-address",
        default=FromEnvironment("INTAKE_ADDRESS", str, "0.0.0.0"),  # noqa: S104  (a pod serves on all interfaces)
        help="address the intake listens on (default 0.0.0.0)",
    )
    intake.add_argument(
        "--intake-tls-dir",
        type=Path,
        default=FromEnvironment("INTAKE_TLS_DIR", Path),
        help="serve HTTPS with tls.crt and tls.key from this directory (a mounted kubernetes.io/tls Secret)",
    )
    intake.add_argument(
        "--intake-mapping-file",
        type=Path,
        default=FromEnvironment("INTAKE_MAPPING_FILE", Path),
        help="YAML mapping of services to namespaces and of providers' severities and states "
        "(env SLOGATE_INTAKE_MAPPING_FILE); the documented defaults when omitted",
    )
    for flag, what in (
        ("alertmanager-token-file", "bearer tokens Alertmanager's http_config.authorization sends"),
        ("alertmanager-basic-auth-file", "user:password lines Alertmanager's http_config.basic_auth sends"),
        ("pagerduty-secret-file", "PagerDuty v3 webhook signing secrets"),
        ("incidentio-secret-file", "incident.io webhook signing secrets (whsec_...)"),
    ):
        variable = "INTAKE_" + flag.upper().replace("-", "_")
        intake.add_argument(
            f"--intake-{flag}",
            type=Path,
            default=FromEnvironment(variable, Path),
            help=f"file of {what}, one a line (env SLOGATE_{variable}); that provider is refused without",
        )
    intake.add_argument(
        "--intake-max-body-bytes",
        type=_size,
        default=FromEnvironment("INTAKE_MAX_BODY_BYTES", _size, 1024 * 1024),
        help="larger webhook bodies are refused with 413 (default 1048576)",
    )
    intake.add_argument(
        "--intake-concurrency",
        type=_count,
        default=FromEnvironment("INTAKE_CONCURRENCY", _count, 8),
        help="webhooks handled at once; more are refused with 503 and Retry-After (default 8)",
    )
    intake.add_argument(
        "--intake-replay-window",
        type=_duration,
        default=FromEnvironment("INTAKE_REPLAY_WINDOW", _duration, timedelta(minutes=5)),
        help="how far incident.io's webhook-timestamp may be from now (default 5m)",
    )
    intake.add_argument(
        "--intake-write-timeout",
        type=_duration,
        default=FromEnvironment("INTAKE_WRITE_TIMEOUT", _duration, timedelta(seconds=10)),
        help="the most a webhook waits for the API server (default 10s)",
    )


def _intake(args: argparse.Namespace) -> IntakeSettings | None:
    if args.intake_port is None:
        given = [
            name
            for name in (
                "tls_dir",
                "mapping_file",
                "alertmanager_token_file",
                "alertmanager_basic_auth_file",
                "pagerduty_secret_file",
                "incidentio_secret_file",
            )
            if getattr(args, f"intake_{name}") is not None
        ]
        if given:
            flags = ", ".join("--intake-" + name.replace("_", "-") for name in given)
            raise SystemExit(f"slogate run: {flags} need --intake-port")
        return None
    settings = IntakeSettings(
        port=args.intake_port,
        address=args.intake_address,
        tls_dir=args.intake_tls_dir,
        mapping=_intake_mapping(args.intake_mapping_file),
        alertmanager_token_file=args.intake_alertmanager_token_file,
        alertmanager_basic_auth_file=args.intake_alertmanager_basic_auth_file,
        pagerduty_secret_file=args.intake_pagerduty_secret_file,
        incidentio_secret_file=args.intake_incidentio_secret_file,
        max_body_bytes=args.intake_max_body_bytes,
        concurrency=args.intake_concurrency,
        replay_window=args.intake_replay_window,
        write_timeout=args.intake_write_timeout,
    )
    try:
        credential_files(settings).read()
    except (OSError, ValueError) as error:
        raise SystemExit(f"slogate run: the intake's credentials: {error}") from None
    return settings


def _intake_mapping(path: Path | None) -> IntakeMapping:
    if path is None:
        return IntakeMapping()
    try:
        return mapping_from_document(yaml.safe_load(path.read_text()))
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise SystemExit(f"slogate run: --intake-mapping-file {path}: {error}") from None


def _add_recording_rule_flags(run: argparse.ArgumentParser) -> None:
    rules = run.add_argument_group(
        "recording rules", "where the SLOs' recording rules are written (see docs/recording-rules.md)"
    )
    rules.add_argument(
        "--prometheus-rules",
        type=RULES_CHOICE,
        metavar="{" + ",".join(PrometheusRulesChoice) + "}",
        default=FromEnvironment("PROMETHEUS_RULES", RULES_CHOICE, PrometheusRulesChoice.AUTO),
        help="a monitoring.coreos.com/v1 PrometheusRule per SLO, owned by it: auto (default) while "
        "the API server serves that CRD, on, or off (env SLOGATE_PROMETHEUS_RULES)",
    )
    rules.add_argument(
        "--prometheus-rule-labels",
        type=_labels,
        default=FromEnvironment("PROMETHEUS_RULE_LABELS", _labels, ()),
        help="labels k=v,... on every PrometheusRule, for a prometheus-operator ruleSelector "
        "(env SLOGATE_PROMETHEUS_RULE_LABELS)",
    )
    rules.add_argument(
        "--rules-configmap",
        metavar="NAMESPACE/NAME",
        default=FromEnvironment("RULES_CONFIGMAP"),
        help="keep every SLO's rules in this ConfigMap, key slogate-rules.yaml, for a Prometheus that "
        "mounts it (env SLOGATE_RULES_CONFIGMAP); none when omitted",
    )


def _labels(text: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            raise argparse.ArgumentTypeError(f"use k=v,... e.g. release=prometheus, not {item!r}")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


def _recording_rules(args: argparse.Namespace) -> RecordingRules:
    target = args.rules_configmap
    return RecordingRules(
        prometheus_rules=args.prometheus_rules,
        prometheus_rule_labels=args.prometheus_rule_labels,
        config_map=None
        if target is None
        else _namespace_and_name("--rules-configmap", target, "monitoring/slogate-rules"),
    )


def _add_prometheus_flags(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--prometheus-url",
        type=_url,
        default=FromEnvironment("PROMETHEUS_URL", _url),
        help="Prometheus base URL, e.g. http://prometheus.monitoring:9090 (env SLOGATE_PROMETHEUS_URL)",
    )
    run.add_argument(
        "--prometheus-bearer-token-file",
        type=Path,
        default=FromEnvironment("PROMETHEUS_BEARER_TOKEN_FILE", Path),
        help="file holding a bearer token for Prometheus, e.g. a mounted Secret; re-read every cycle",
    )
    run.add_argument(
        "--prometheus-insecure-skip-verify",
        action="store_true",
        default=FromEnvironment("PROMETHEUS_INSECURE_SKIP_VERIFY", boolean, False),
        help="do not verify Prometheus' TLS certificate (set REQUESTS_CA_BUNDLE for a private CA instead)",
    )


def _add_scope_flags(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--namespace",
        "-n",
        action=AppendAfterEnvironment,
        default=FromEnvironment("NAMESPACES", _comma_separated, []),
        help="namespace to watch (repeatable; env SLOGATE_NAMESPACES, comma-separated); all when omitted",
    )
    run.add_argument(
        "--platform-namespace",
        default=FromEnvironment("PLATFORM_NAMESPACE"),
        help="namespace whose freezes and incidents may select other namespaces",
    )
    run.add_argument(
        "--argocd-tracking-label",
        default=FromEnvironment("ARGOCD_TRACKING_LABEL"),
        help="the label Argo CD tracks resources by, when its tracking method is label "
        "(e.g. app.kubernetes.io/instance; env SLOGATE_ARGOCD_TRACKING_LABEL); its tracking "
        "annotation is recognised always",
    )


def _add_operation_flags(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--evaluation-interval",
        type=_duration,
        default=FromEnvironment("EVALUATION_INTERVAL", _duration, timedelta(seconds=1)),
        help="how often the SLO windows gates decide on are measured and every workload decided "
        "(default 1s; the other windows up to 1h every 10s)",
    )
    run.add_argument(
        "--long-window-interval",
        type=_duration,
        default=FromEnvironment("LONG_WINDOW_INTERVAL", _duration, timedelta(minutes=1)),
        help="how often SLO windows over 1h are measured, from recorded series or raw data "
        "(default 1m; env SLOGATE_LONG_WINDOW_INTERVAL)",
    )
    run.add_argument(
        "--field-manager",
        default=FromEnvironment("FIELD_MANAGER", str, "slogate"),
        help="field manager of slogate's writes, for Argo CD ignoreDifferences (default slogate)",
    )
    run.add_argument(
        "--log-format",
        type=LOG_FORMAT,
        metavar="{" + ",".join(LogFormat) + "}",
        default=FromEnvironment("LOG_FORMAT", LOG_FORMAT, LogFormat.PLAIN),
    )
    run.add_argument("--metrics-port", type=port, default=FromEnvironment("METRICS_PORT", port, 9464))
    run.add_argument("--health-port", type=port, default=FromEnvironment("HEALTH_PORT", port, 8081))
    run.add_argument(
        "--leader-election-lease",
        metavar="NAMESPACE/NAME",
        default=FromEnvironment("LEADER_ELECTION_LEASE"),
        help="coordination.k8s.io/v1 Lease the replicas compete for; only its holder acts "
        "(env SLOGATE_LEADER_ELECTION_LEASE). This replica's identity is POD_ID, else host and pid. "
        "The operator always acts when omitted",
    )
    run.add_argument(
        "--on-prometheus-unavailable",
        type=OUTAGE_POLICY,
        metavar="{" + ",".join(NoDataPolicy) + "}",
        default=FromEnvironment("ON_PROMETHEUS_UNAVAILABLE", OUTAGE_POLICY, NoDataPolicy.HOLD),
        help="what gates do while Prometheus cannot be reached: Hold (default) new promotions, or "
        "Proceed; missing data never rolls anything back",
    )


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser("run", help="run the operator against the current kubeconfig or in-cluster")
    _add_prometheus_flags(run)
    _add_scope_flags(run)
    _add_operation_flags(run)
    _add_sink_flags(run)
    _add_admission_flags(run)
    _add_recording_rule_flags(run)
    _add_intake_flags(run)
    run.set_defaults(handler=lambda args: run_operator(settings_from(args)))


def _grafana(args: argparse.Namespace) -> GrafanaConnection | None:
    if not args.grafana_url:
        if args.grafana_token_file or args.grafana_dashboard_uid:
            raise SystemExit(
                "slogate run: --grafana-token-file and --grafana-dashboard-uid need --grafana-url"
            )
        return None
    return GrafanaConnection(
        url=args.grafana_url, token_file=args.grafana_token_file, dashboard_uid=args.grafana_dashboard_uid
    )


def _webhook(args: argparse.Namespace) -> WebhookConnection | None:
    if not args.webhook_url:
        if args.webhook_token_file or args.webhook_header:
            raise SystemExit("slogate run: --webhook-token-file and --webhook-header need --webhook-url")
        return None
    return WebhookConnection(
        url=args.webhook_url, token_file=args.webhook_token_file, headers=tuple(args.webhook_header)
    )


def _namespace_and_name(flag: str, text: str, example: str) -> tuple[str, str]:
    namespace, _, name = text.partition("/")
    if not namespace or not name or "/" in name:
        raise SystemExit(f"slogate run: {flag} must be NAMESPACE/NAME, e.g. {example}, not {text!r}")
    return namespace, name


def _leader_election(lease: str | None) -> LeaderElection | None:
    if lease is None:
        return None
    namespace, name = _namespace_and_name("--leader-election-lease", lease, "slogate-system/slogate")
    return LeaderElection(namespace=namespace, name=name)


def settings_from(args: argparse.Namespace) -> OperatorSettings:
    args = resolve_environment(args)
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
        long_window_interval=args.long_window_interval,
        field_manager=args.field_manager,
        log_format=args.log_format,
        metrics_port=args.metrics_port,
        health_port=args.health_port,
        leader_election=_leader_election(args.leader_election_lease),
        outage_policy=args.on_prometheus_unavailable,
        grafana=_grafana(args),
        webhook=_webhook(args),
        admission=_admission(args),
        recording_rules=_recording_rules(args),
        intake=_intake(args),
        argocd_tracking_label=args.argocd_tracking_label,
    )


def run_operator(settings: OperatorSettings) -> int:
    kopf.configure(
        log_format=kopf.LogFormat.JSON if settings.log_format is LogFormat.JSON else kopf.LogFormat.FULL
    )
    # kopf logs every handled watch event at INFO; slogate's own decisions are logged and posted
    # as Events instead, so only kopf's warnings and errors are kept.
    logging.getLogger("kopf.objects").setLevel(logging.WARNING)
    kopf.run(
        # Every replica watches on its own; which one acts is decided by the leader Lease
        # (slogate.runtime), not by kopf's peering, which pauses every replica of equal priority.
        standalone=True,
        clusterwide=not settings.namespaces,
        namespaces=settings.namespaces,
        liveness_endpoint=f"http://0.0.0.0:{settings.health_port}/healthz",
        memo=kopf.Memo(settings=settings),
    )
    return 0
