"""Wiring: the real adapters behind reconcile's ports, built once from the settings.

The handlers keep the result in kopf's ``memo``; nothing here is global, so two operators (or a
test and an operator) can run in one process.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kubernetes import client, config

from slogate.adapters.cluster import ClusterReader, StatusPatcher, WorkloadHistory
from slogate.adapters.events import KubernetesEvents
from slogate.adapters.prometheus import PrometheusQueries, PrometheusSettings
from slogate.adapters.sinks import GrafanaAnnotations, WebhookSink
from slogate.adapters.telemetry import PrometheusTelemetry
from slogate.adapters.workloads import KubernetesWorkloads
from slogate.api.base import WorkloadKind
from slogate.reconcile.controller import Controller
from slogate.reconcile.cycle import CycleSettings, EvaluationCycle
from slogate.reconcile.ports import DecisionSink
from slogate.reconcile.workloads import WorkloadReconciler
from slogate.reconcile.world import World
from slogate.settings import OperatorSettings


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
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def start(self) -> None:
        """List everything, then start the evaluation loop: nothing is decided on a partial view."""
        listing = await asyncio.to_thread(self.reader.list_all)
        workloads = [(WorkloadKind.DEPLOYMENT, body) for body in listing.deployments]
        workloads += [(WorkloadKind.ROLLOUT, body) for body in listing.rollouts]
        self.controller.load(listing.resources, workloads, listing.namespaces)
        self.tasks.append(asyncio.create_task(self.controller.cycle.run_forever(), name="slogate-evaluation"))

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
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


def build_runtime(settings: OperatorSettings) -> Runtime:
    api = api_client()
    prometheus = settings.prometheus
    queries = PrometheusQueries(
        PrometheusSettings(
            url=prometheus.url,
            headers=prometheus.headers,
            verify_tls=not prometheus.insecure_skip_verify,
            timeout_seconds=prometheus.timeout_seconds,
        )
    )
    world = World(
        platform_namespace=settings.platform_namespace,
        gitops_tracking_label=settings.argocd_tracking_label,
    )
    reconciler = WorkloadReconciler(
        world,
        KubernetesWorkloads(api, field_manager=settings.field_manager),
        KubernetesEvents(api, instance=settings.instance),
        outage_policy=settings.outage_policy,
        sinks=decision_sinks(settings),
    )
    telemetry = PrometheusTelemetry()
    cycle = EvaluationCycle(
        world=world,
        reconciler=reconciler,
        queries=queries,
        statuses=StatusPatcher(api, field_manager=settings.field_manager),
        history=WorkloadHistory(api),
        telemetry=telemetry,
        clock=utc_now,
        settings=CycleSettings(interval=settings.evaluation_interval),
    )
    return Runtime(
        settings=settings,
        api=api,
        controller=Controller(world, cycle, utc_now),
        telemetry=telemetry,
        reader=ClusterReader(api, settings.namespaces),
    )
