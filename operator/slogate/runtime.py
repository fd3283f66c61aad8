"""Wiring: the real adapters behind reconcile's ports, built once from the settings.

The handlers keep the result in kopf's ``memo``; nothing here is global, so two operators (or a
test and an operator) can run in one process.

With leader election configured, every replica watches and keeps its World current, and a task
here takes or renews the Lease every third of its duration: on taking it the replica acts (a full
evaluation at once); on any failure to renew it stops acting at once, before the Lease can have
passed to another replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kubernetes import client, config

from slogate.adapters.admission import KubernetesHoldSets, ensure_admission_policy, serves_admission_policies
from slogate.adapters.cluster import ClusterReader, StatusPatcher, WorkloadHistory
from slogate.adapters.events import KubernetesEvents
from slogate.adapters.incidents import KubernetesIncidents
from slogate.adapters.intake import CredentialFiles, IntakeServer, ServerLimits, tls_context
from slogate.adapters.lease import KubernetesLease
from slogate.adapters.prometheus import PrometheusQueries, PrometheusSettings
from slogate.adapters.rules import KubernetesRules
from slogate.adapters.sinks import GrafanaAnnotations, WebhookSink
from slogate.adapters.telemetry import PrometheusTelemetry
from slogate.adapters.workloads import KubernetesWorkloads
from slogate.api.base import WorkloadKind
from slogate.api.holdset import AdmissionMode
from slogate.reconcile.admission import AdmissionHolds
from slogate.reconcile.controller import Controller
from slogate.reconcile.cycle import CycleSettings, EvaluationCycle
from slogate.reconcile.intake import Intake
from slogate.reconcile.ports import DecisionSink
from slogate.reconcile.rules import RuleDelivery, RuleDeliverySettings
from slogate.reconcile.workloads import WorkloadReconciler
from slogate.reconcile.world import World
from slogate.settings import (
    AdmissionChoice,
    IntakeSettings,
    LeaderElection,
    OperatorSettings,
    PrometheusConnection,
    PrometheusRulesChoice,
    RecordingRules,
)

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


def api_client() -> client.ApiClient:
    """In the cluster, the pod's service account; elsewhere, the current kubeconfig context."""
    try:
        config.load_incluster_config()
    except config.ConfigException:
        return config.new_client_from_config()
    return client.ApiClient()


@dataclass
class Runtime:
    settings: OperatorSettings
    api: client.ApiClient
    controller: Controller
    telemetry: PrometheusTelemetry
    reader: ClusterReader
    admission: AdmissionHolds
    holdsets: KubernetesHoldSets
    lease: KubernetesLease | None = None
    intake: IntakeServer | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        """List everything, then start the evaluation loop: nothing is decided on a partial view.
        With leader election, the loop stands by until this replica holds the Lease."""
        if self.intake is not None:
            # First, so a port already taken stops the start before anything runs. Every replica
            # takes webhooks: the writes are idempotent and guarded by resourceVersion.
            await asyncio.to_thread(self.intake.start)
        self.admission.load(await asyncio.to_thread(self.holdsets.list_holdsets))
        listing = await asyncio.to_thread(self.reader.list_all)
        workloads = [(WorkloadKind.DEPLOYMENT, body) for body in listing.deployments]
        workloads += [(WorkloadKind.ROLLOUT, body) for body in listing.rollouts]
        self.controller.load(listing.resources, workloads, listing.namespaces)
        election = self.settings.leader_election
        if self.lease is not None and election is not None:
            self.controller.cycle.active = False
            self.telemetry.leader(acting=False)
            self.tasks.append(asyncio.create_task(self._lead(self.lease, election), name="slogate-lease"))
        else:
            self.telemetry.leader(acting=True)
        self.tasks.append(asyncio.create_task(self.controller.cycle.run_forever(), name="slogate-evaluation"))
        self.tasks.append(asyncio.create_task(self.controller.rules.run_forever(), name="slogate-rules"))

    async def _lead(self, lease: KubernetesLease, election: LeaderElection) -> None:
        cycle = self.controller.cycle
        where = f"{lease.namespace}/{lease.name}"
        while True:
            try:
                # A renewal slower than the renew interval counts as failed: the Lease may be about
                # to lapse, and acting meanwhile could overlap with the next holder.
                held = await asyncio.wait_for(
                    asyncio.to_thread(lease.try_hold, election.identity, utc_now()),
                    timeout=election.renew_interval.total_seconds(),
                )
            except Exception as error:
                log.warning(
                    "renewing the leader Lease %s failed: %s", where, str(error) or type(error).__name__
                )
                held = False
            if held and not cycle.active:
                log.info("%s holds the leader Lease %s and acts from now", election.identity, where)
                cycle.activate()
                self.controller.rules.activate()
            elif not held and cycle.active:
                log.warning("%s lost the leader Lease %s and stands by", election.identity, where)
                cycle.deactivate()
            self.telemetry.leader(acting=held)
            await asyncio.sleep(election.renew_interval.total_seconds())

    async def stop(self) -> None:
        """Stop acting first, then give the Lease up so a standby takes over at its next try."""
        if self.intake is not None:
            await asyncio.to_thread(self.intake.stop)
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        election = self.settings.leader_election
        if self.lease is not None and election is not None and self.controller.cycle.active:
            self.controller.cycle.deactivate()
            try:
                await asyncio.to_thread(self.lease.release, election.identity)
                log.info("%s released the leader Lease", election.identity)
            except Exception as error:
                log.warning("releasing the leader Lease failed (it expires on its own): %s", error)
        self.api.close()


def decision_sinks(settings: OperatorSettings) -> list[DecisionSink]:
    """The configured external sinks for decision markers; none unless a URL is set."""
    sinks: list[DecisionSink] = []
    if settings.grafana is not None:
        grafana = settings.grafana
        sinks.append(GrafanaAnnotations(grafana.url, grafana.token_file, grafana.dashboard_uid))
    if settings.webhook is not None:
        webhook = settings.webhook
        sinks.append(WebhookSink(webhook.url, webhook.token_file, dict(webhook.headers)))
    return sinks


def admission_mode(api: client.ApiClient, settings: OperatorSettings) -> AdmissionMode:
    """The admission mechanism, by API discovery: the policy where it is served (and installed, or
    installable), the webhook where it is not; Reconcile when admission is switched off."""
    choice = settings.admission.choice
    if choice is AdmissionChoice.OFF:
        return AdmissionMode.RECONCILE
    if choice is AdmissionChoice.WEBHOOK:
        return AdmissionMode.WEBHOOK
    if serves_admission_policies(api):
        admission = settings.admission
        installed = ensure_admission_policy(
            api, admission.failure_policy, settings.field_manager, admission.helm_release
        )
        return AdmissionMode.POLICY if installed else AdmissionMode.RECONCILE
    if choice is AdmissionChoice.POLICY:
        log.warning("the API server does not serve MutatingAdmissionPolicy; deploys are held after the fact")
        return AdmissionMode.RECONCILE
    return AdmissionMode.WEBHOOK


def rule_delivery_settings(rules: RecordingRules) -> RuleDeliverySettings:
    choices = {
        PrometheusRulesChoice.AUTO: None,
        PrometheusRulesChoice.ON: True,
        PrometheusRulesChoice.OFF: False,
    }
    return RuleDeliverySettings(
        prometheus_rules=choices[rules.prometheus_rules],
        prometheus_rule_labels=dict(rules.prometheus_rule_labels),
        config_map=rules.config_map,
    )


def prometheus_queries(prometheus: PrometheusConnection) -> PrometheusQueries:
    return PrometheusQueries(
        PrometheusSettings(
            url=prometheus.url,
            headers=prometheus.headers,
            verify_tls=not prometheus.insecure_skip_verify,
            timeout_seconds=prometheus.timeout_seconds,
        )
    )


def credential_files(intake: IntakeSettings) -> CredentialFiles:
    return CredentialFiles(
        alertmanager_token=intake.alertmanager_token_file,
        alertmanager_basic_auth=intake.alertmanager_basic_auth_file,
        pagerduty_secret=intake.pagerduty_secret_file,
        incidentio_secret=intake.incidentio_secret_file,
    )


def intake_server(
    api: client.ApiClient, settings: OperatorSettings, intake: IntakeSettings, telemetry: PrometheusTelemetry
) -> IntakeServer:
    """The incident intake (``slogate run`` checked its mapping and credential files)."""
    timeout = intake.write_timeout.total_seconds()
    service = Intake(
        store=KubernetesIncidents(api, field_manager=settings.field_manager, timeout_seconds=timeout),
        mapping=intake.mapping,
        credentials=credential_files(intake).read,
        clock=utc_now,
        telemetry=telemetry,
        namespaces=settings.namespaces,
        replay_window=intake.replay_window,
    )
    return IntakeServer(
        service.handle,
        telemetry=telemetry,
        address=intake.address,
        port=intake.port,
        limits=ServerLimits(intake.max_body_bytes, intake.concurrency, timeout),
        tls=tls_context(intake.tls_dir) if intake.tls_dir else None,
    )


def build_runtime(settings: OperatorSettings) -> Runtime:
    api = api_client()
    queries = prometheus_queries(settings.prometheus)
    world = World(
        platform_namespace=settings.platform_namespace,
        gitops_tracking_label=settings.argocd_tracking_label,
    )
    telemetry = PrometheusTelemetry()
    mode = admission_mode(api, settings)
    log.info("deploys during a hold are held by %s", mode.value)
    telemetry.admission_mode(mode.value, tuple(each.value for each in AdmissionMode))
    holdsets = KubernetesHoldSets(api, field_manager=settings.field_manager, namespaces=settings.namespaces)
    admission = AdmissionHolds(world, holdsets, mode, settings.namespaces)
    history = WorkloadHistory(api)
    reconciler = WorkloadReconciler(
        world,
        KubernetesWorkloads(api, field_manager=settings.field_manager),
        KubernetesEvents(api, instance=settings.instance),
        outage_policy=settings.outage_policy,
        sinks=decision_sinks(settings),
        admission=admission,
        revisions=history,
        telemetry=telemetry,
    )
    cycle = EvaluationCycle(
        world=world,
        reconciler=reconciler,
        queries=queries,
        statuses=StatusPatcher(api, field_manager=settings.field_manager),
        history=history,
        telemetry=telemetry,
        clock=utc_now,
        settings=CycleSettings(
            interval=settings.evaluation_interval, long_window_interval=settings.long_window_interval
        ),
    )
    rules = RuleDelivery(
        world,
        KubernetesRules(api, field_manager=settings.field_manager, namespaces=settings.namespaces),
        rule_delivery_settings(settings.recording_rules),
        telemetry,
        active=lambda: cycle.active,
    )
    election = settings.leader_election
    return Runtime(
        settings=settings,
        lease=KubernetesLease(api, election.namespace, election.name, election.lease_duration)
        if election is not None
        else None,
        api=api,
        controller=Controller(world, cycle, rules, utc_now),
        telemetry=telemetry,
        reader=ClusterReader(api, settings.namespaces),
        admission=admission,
        holdsets=holdsets,
        intake=intake_server(api, settings, settings.intake, telemetry)
        if settings.intake is not None
        else None,
    )
