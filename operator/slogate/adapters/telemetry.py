"""The operator's own metrics, served on /metrics in the Prometheus text format.

Decisions by workload kind, action and the check that decided; how long an evaluation cycle takes
and how many SLOs it covered; Prometheus and reconcile failures; which admission mechanism holds
deploys, what the fallback webhook answered, and the deploys it missed (held late by the
reconcile, with the pods that had started); whether this replica is the one that acts
(``slogate_leader``); the webhooks the incident intake answered; and every SLO's state, SLI, budget
left and burn rate per window, so dashboards and alerts need not read resource status.
A registry per operator instance keeps tests and several operators in one process apart.

The SLO series (a dozen per SLO: 6,000 for 500 SLOs) are not gauges set one by one: each cycle
hands over its readings whole and a collector renders them at scrape time. A scrape then sees one
cycle, never half of one, and neither a cycle nor a scrape pays a lock and a child object per
series.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from slogate.api.slo import SloState
from slogate.reconcile.ports import SloReading

CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class SloMetrics(Collector):
    """Every SLO's state, SLI, budget left and burn rate per window, as the last cycle read them."""

    def __init__(self) -> None:
        self.readings: tuple[SloReading, ...] = ()

    def describe(self) -> Iterator[Metric]:
        return self._families(())

    def collect(self) -> Iterator[Metric]:
        return self._families(self.readings)

    @staticmethod
    def _families(readings: Iterable[SloReading]) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "slogate_slo_state",
            "1 for the state each SLO is in (Healthy, Burning, Exhausted, Unknown, Invalid), 0 for the "
            "others.",
            labels=["namespace", "slo", "state"],
        )
        sli = GaugeMetricFamily(
            "slogate_slo_sli_percent",
            "Each SLO's SLI over its window, in percent; absent without data.",
            labels=["namespace", "slo"],
        )
        budget = GaugeMetricFamily(
            "slogate_slo_error_budget_remaining_percent",
            "Each SLO's error budget left over its window, in percent (negative when overspent); absent "
            "without data.",
            labels=["namespace", "slo"],
        )
        burn = GaugeMetricFamily(
            "slogate_slo_burn_rate",
            "Each SLO's burn rate over each measured window (1 spends the budget exactly over the SLO "
            "window); absent for a window without data.",
            labels=["namespace", "slo", "window"],
        )
        for reading in readings:
            slo = [reading.namespace, reading.name]
            for each in SloState:
                state.add_metric([*slo, each.value], 1.0 if each.value == reading.state else 0.0)
            if reading.sli_percent is not None:
                sli.add_metric(slo, reading.sli_percent)
            if reading.budget_remaining_percent is not None:
                budget.add_metric(slo, reading.budget_remaining_percent)
            for window, burn_rate in reading.burn_rates.items():
                if burn_rate is not None:
                    burn.add_metric([*slo, window], burn_rate)
        yield from (state, sli, budget, burn)


class PrometheusTelemetry:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self._decisions = Counter(
            "slogate_decisions",
            "Decisions slogate recorded on workloads, by workload kind, enforced action and deciding check.",
            ["workload_kind", "action", "reason"],
            registry=self.registry,
        )
        self._evaluation = Histogram(
            "slogate_evaluation_duration_seconds",
            "Time one evaluation cycle took (SLO queries, decisions, status writes).",
            buckets=CYCLE_BUCKETS,
            registry=self.registry,
        )
        self._slos = Gauge("slogate_slos", "SLOs evaluated in the last cycle.", registry=self.registry)
        self._prometheus_errors = Counter(
            "slogate_prometheus_errors", "Cycles in which Prometheus was unavailable.", registry=self.registry
        )
        self._reconcile_errors = Counter(
            "slogate_reconcile_errors",
            "Failures while reconciling, by what failed.",
            ["what"],
            registry=self.registry,
        )
        self._leader = Gauge(
            "slogate_leader",
            "1 while this replica acts (holds the leader Lease, or runs without leader election), 0 while "
            "it stands by.",
            registry=self.registry,
        )
        self._admission_mode = Gauge(
            "slogate_admission_mode",
            "1 for the mechanism that holds deploys at admission: MutatingAdmissionPolicy, Webhook or "
            "Reconcile (none: held after the fact).",
            ["mode"],
            registry=self.registry,
        )
        self._admission_reviews = Counter(
            "slogate_admission_reviews",
            "Writes the fallback admission webhook of this replica answered, by workload kind and result "
            "(held: paused in the same write; passed: no hold caught it).",
            ["workload_kind", "result"],
            registry=self.registry,
        )
        self._held_late = Counter(
            "slogate_held_late",
            "Deploys admission should have held that the reconcile held after the fact.",
            ["workload_kind", "namespace"],
            registry=self.registry,
        )
        self._pods_leaked = Counter(
            "slogate_pods_leaked",
            "Pods of a new revision that started during a hold before the reconcile held it.",
            ["workload_kind", "namespace"],
            registry=self.registry,
        )

        self._intake_requests = Counter(
            "slogate_intake_requests",
            "Webhooks the incident intake answered, by provider, result (created, updated, unchanged, "
            "ignored, refused) and reason (e.g. bad-signature, bad-timestamp, malformed, unknown-service).",
            ["provider", "result", "reason"],
            registry=self.registry,
        )

        self._slo_metrics = SloMetrics()
        self.registry.register(self._slo_metrics)

    def slos(self, readings: Iterable[SloReading]) -> None:
        self._slo_metrics.readings = tuple(readings)

    def leader(self, acting: bool) -> None:
        self._leader.set(1 if acting else 0)

    def admission_mode(self, mode: str, modes: tuple[str, ...]) -> None:
        for each in modes:
            self._admission_mode.labels(mode=each).set(1 if each == mode else 0)

    def admission_review(self, workload_kind: str, held: bool) -> None:
        self._admission_reviews.labels(workload_kind=workload_kind, result="held" if held else "passed").inc()

    def held_late(self, workload_kind: str, namespace: str, pods: int) -> None:
        self._held_late.labels(workload_kind=workload_kind, namespace=namespace).inc()
        self._pods_leaked.labels(workload_kind=workload_kind, namespace=namespace).inc(pods)

    def intake_request(self, provider: str, result: str, reason: str) -> None:
        self._intake_requests.labels(provider=provider, result=result, reason=reason).inc()

    def decision(self, workload_kind: str, action: str, reason: str) -> None:
        self._decisions.labels(workload_kind=workload_kind, action=action, reason=reason).inc()

    def evaluation(self, seconds: float, slo_count: int) -> None:
        self._evaluation.observe(seconds)
        self._slos.set(slo_count)

    def prometheus_error(self) -> None:
        self._prometheus_errors.inc()

    def reconcile_error(self, what: str) -> None:
        self._reconcile_errors.labels(what=what).inc()

    def serve(self, port: int, address: str = "0.0.0.0") -> None:  # noqa: S104  (a pod serves metrics on all interfaces)
        start_http_server(port, addr=address, registry=self.registry)
