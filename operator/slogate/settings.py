"""The operator's configuration, from flags or SLOGATE_* environment variables.

One frozen value built once by the CLI and handed to the runtime; nothing reads the environment
after start-up, so a test can run several operators with different settings side by side.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

from slogate.api.gate import NoDataPolicy
from slogate.domain.intake import IntakeMapping


class LogFormat(StrEnum):
    PLAIN = "plain"
    JSON = "json"


@dataclass(frozen=True)
class PrometheusConnection:
    url: str
    bearer_token_file: Path | None = None
    insecure_skip_verify: bool = False
    timeout_seconds: float = 10.0

    def headers(self) -> dict[str, str]:
        """Authorization read from the token file (a mounted Secret), fresh on every call."""
        if self.bearer_token_file is None:
            return {}
        return {"Authorization": f"Bearer {self.bearer_token_file.read_text().strip()}"}


@dataclass(frozen=True)
class GrafanaConnection:
    """Where decisions are posted as Grafana annotations."""

    url: str
    token_file: Path | None = None
    dashboard_uid: str | None = None


@dataclass(frozen=True)
class WebhookConnection:
    """Where every decision is POSTed as JSON."""

    url: str
    token_file: Path | None = None
    headers: tuple[tuple[str, str], ...] = ()


class AdmissionChoice(StrEnum):
    """How to hold deploys that arrive during a hold: ``auto`` picks the MutatingAdmissionPolicy
    where the API server serves it and the webhook elsewhere."""

    AUTO = "auto"
    POLICY = "policy"
    WEBHOOK = "webhook"
    OFF = "off"


@dataclass(frozen=True)
class AdmissionSettings:
    choice: AdmissionChoice = AdmissionChoice.AUTO
    failure_policy: str = "Ignore"
    """Of the policy slogate installs itself and of the webhook: Ignore lets writes through when
    admission fails; Fail refuses them."""
    webhook_address: str = "0.0.0.0"  # noqa: S104  (a pod serves its webhook on all interfaces)
    webhook_port: int = 9443
    webhook_host: str | None = None
    """How the API server reaches the webhook by URL (e.g. 127.0.0.1 for a local operator)."""
    webhook_service: str | None = None
    """NAMESPACE/NAME of the Service in front of an in-cluster operator's webhook."""
    webhook_cert_dir: Path | None = None
    validation_webhook: bool = False
    """Also refuse, at apply time, slogate resources the models reject (a time zone, an RRULE, a PromQL
    syntax error): a validating webhook on the same server, always failing open."""
    helm_release: tuple[str, str] | None = ("slogate-system", "slogate")
    """NAMESPACE, NAME of the Helm release that may adopt the policy and binding the operator
    installs itself; the README's ``helm install`` by default. None: no Helm ownership metadata."""


class PrometheusRulesChoice(StrEnum):
    """Whether to write a PrometheusRule per SLO: ``auto`` while the API server serves the
    prometheus-operator CRD (asked at start and every few minutes)."""

    AUTO = "auto"
    ON = "on"
    OFF = "off"


@dataclass(frozen=True)
class RecordingRules:
    """How the SLOs' recording rules are delivered besides ``slogate rules`` (docs/recording-rules.md)."""

    prometheus_rules: PrometheusRulesChoice = PrometheusRulesChoice.AUTO
    prometheus_rule_labels: tuple[tuple[str, str], ...] = ()
    """Labels on every PrometheusRule, for a prometheus-operator ruleSelector."""
    config_map: tuple[str, str] | None = None
    """NAMESPACE, NAME of a ConfigMap holding every SLO's rules under ``slogate-rules.yaml``."""


@dataclass(frozen=True)
class IntakeSettings:
    """The incident intake: webhooks from Alertmanager, PagerDuty and incident.io turned into
    Incidents, on a port of its own (docs/intake.md). Off unless a port is given."""

    port: int
    address: str = "0.0.0.0"  # noqa: S104  (a pod serves on all interfaces)
    tls_dir: Path | None = None
    """A directory holding tls.crt and tls.key (a mounted kubernetes.io/tls Secret); plain HTTP without."""
    mapping: IntakeMapping = field(default_factory=IntakeMapping)
    """The workload label, services and severity/state mappings (from --intake-mapping-file)."""
    alertmanager_token_file: Path | None = None
    alertmanager_basic_auth_file: Path | None = None
    pagerduty_secret_file: Path | None = None
    incidentio_secret_file: Path | None = None
    max_body_bytes: int = 1024 * 1024
    concurrency: int = 8
    replay_window: timedelta = timedelta(minutes=5)
    """How far a Svix webhook-timestamp may be from now, either way."""
    write_timeout: timedelta = timedelta(seconds=10)
    """The most a webhook waits for the API server (each call, and the whole request)."""


def default_identity() -> str:
    """This replica's name in the Lease: the pod name where the chart sets POD_ID, else host and
    process id (unique for two operators on one machine)."""
    return os.environ.get("POD_ID") or f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class LeaderElection:
    """The coordination.k8s.io/v1 Lease the replicas compete for; only its holder acts."""

    namespace: str
    name: str
    identity: str = field(default_factory=default_identity)
    lease_duration: timedelta = timedelta(seconds=15)

    @property
    def renew_interval(self) -> timedelta:
        """A third of the duration: two renewals may fail before the Lease can lapse."""
        return self.lease_duration / 3


@dataclass(frozen=True)
class OperatorSettings:
    prometheus: PrometheusConnection
    namespaces: tuple[str, ...] = ()
    platform_namespace: str | None = None
    evaluation_interval: timedelta = timedelta(seconds=1)
    long_window_interval: timedelta = timedelta(minutes=1)
    """SLO windows over an hour are measured this often (from the recorded series, or raw)."""
    field_manager: str = "slogate"
    log_format: LogFormat = LogFormat.PLAIN
    metrics_port: int = 9464
    health_port: int = 8081
    instance: str = field(default_factory=socket.gethostname)
    leader_election: LeaderElection | None = None
    """Act only while holding this Lease; without one (a single replica, `make run`) the operator
    always acts."""
    outage_policy: NoDataPolicy = NoDataPolicy.HOLD
    """What gates do while Prometheus cannot be reached: Hold (default) or Proceed. Missing data
    never causes a rollback either way."""
    grafana: GrafanaConnection | None = None
    """Post every decision as a Grafana annotation too; off when None."""
    webhook: WebhookConnection | None = None
    admission: AdmissionSettings = field(default_factory=AdmissionSettings)
    """POST every decision as JSON to a webhook too; off when None."""
    recording_rules: RecordingRules = field(default_factory=RecordingRules)
    intake: IntakeSettings | None = None
    """The incident intake's server; off when None."""
    argocd_tracking_label: str | None = None
    """The label Argo CD tracks resources by (application.instanceLabelKey) when its tracking method
    is label; its tracking annotation is recognised always."""
