"""The operator's own metrics, served on /metrics in the Prometheus text format.

Decisions by workload kind, action and the check that decided; how long an evaluation cycle takes
and how many SLOs it covered; Prometheus and reconcile failures; which admission mechanism holds
deploys, and the deploys it missed (held late by the reconcile, with the pods that had
started); whether this replica is the one that acts (``slogate_leader``). A registry per operator instance
keeps tests and several operators in one process apart.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

CYCLE_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


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

    def leader(self, acting: bool) -> None:
        self._leader.set(1 if acting else 0)

    def admission_mode(self, mode: str, modes: tuple[str, ...]) -> None:
        for each in modes:
            self._admission_mode.labels(mode=each).set(1 if each == mode else 0)

    def held_late(self, workload_kind: str, namespace: str, pods: int) -> None:
        self._held_late.labels(workload_kind=workload_kind, namespace=namespace).inc()
        self._pods_leaked.labels(workload_kind=workload_kind, namespace=namespace).inc(pods)

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
