#!/usr/bin/env python3
"""`make bench`: slogate's speed and memory, measured on the local cluster with a real Prometheus.

Prints one figure per line as ``name: value unit``:

Every operator runs at its default evaluation interval (1 s).

- breach_to_hold_p50 / _max: from the moment Prometheus itself first answers the gate's burn-rate
  query above its limit (polled every 50 ms) to the moment the API server shows the Deployment
  paused; target within 1 s.
- breach_to_abort_p50 / _max, and _argo_rollouts: the same breach (a 30 s error ratio from 0 to
  20 % against 4 %) on a canary Rollout paused at 25 %, to ``status.abort``: judged by slogate, and
  by an Argo Rollouts AnalysisTemplate (Prometheus provider, 10 s interval, failureLimit 0) in the
  same run; slogate's must be the lower.
- freeze_to_hold_p99, incident_to_hold_p99: from just before a ChangeFreeze or a P1 Incident is
  applied to each affected Deployment shown paused; target p99 under 1 s.
- webhook_to_hold_p99: from just before a signed PagerDuty v3 incident.triggered (P1) is posted to
  the operator's incident intake to each affected Deployment shown paused; target p99 under 1 s.
- eval_cycle_500slo_2000deploy: one full evaluation cycle (every SLO queried, every workload
  decided, statuses written) with 500 SLOs over 2,000 Deployments, from the operator's own
  histogram; target under 5 s. peak_rss: the operator's peak resident memory (VmHWM) in that run;
  target under 250 MiB.
- deploys_leaked_during_freeze: pods of a new revision created while a ChangeFreeze was in force,
  over at least 50 template changes (Deployments and canary Rollouts, each change also setting
  ``paused: false`` as a GitOps sync of an unpaused manifest does) and new workloads; target 0.
- prom_cpu_per_min, samples_per_cycle, their _raw counterparts and largest_query_samples: what
  slogate's evaluation of 500 SLOs costs a Prometheus holding 30 days of history, against the raw
  approach, from hack/bench_prometheus.py (its docstring says how).
- admission_overhead_p99: p99 latency of a Deployment template update through the API server with
  slogate's MutatingAdmissionPolicy bound and a HoldSet of 20 holds in the namespace, minus the
  same without the binding (200 writes each, in alternating rounds); target under 20 ms.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import bench_prometheus  # noqa: E402
import requests  # noqa: E402
from kubernetes import client, config  # noqa: E402

from harness.cluster import Cluster, local_cluster  # noqa: E402
from harness.intake import PAGERDUTY_SECRET, encode, pagerduty_body, pagerduty_headers  # noqa: E402
from harness.kube import apply  # noqa: E402
from harness.manifests import canary_rollout, deployment  # noqa: E402
from harness.operator import OperatorProcess, install_crds, start_operator  # noqa: E402
from harness.processes import free_port  # noqa: E402
from harness.prometheus import PrometheusServer, prometheus_server  # noqa: E402
from harness.slogate import REQUESTS, freeze, gate, incident, slo  # noqa: E402
from slogate.reconcile.cycle import CycleSettings  # noqa: E402

LOGS = ROOT / ".cluster" / "logs"
EVAL_INTERVAL_SECONDS = CycleSettings().interval.total_seconds()
"""The operator's default, which every operator of the bench runs at."""
BREACH_TRIALS = 5
HOLD_TRIALS = 5
WORKLOADS_PER_HOLD_TRIAL = 10
SCALE_SLOS = 500
SCALE_DEPLOYMENTS = 2000
WARM_UP_CYCLES = 5
"""Left out of the steady state: the first cycles write every status, while the Deployment
controller is still working through the 2,000 Deployments just created."""
MEASURED_CYCLES = 5
FREEZE_WORKLOADS = 5
FREEZE_ROUNDS = 5
OVERHEAD_WRITES = 200
OVERHEAD_ROUNDS = 5
POLICY_MANIFEST = ROOT / "deploy" / "admission" / "slogate-hold.yaml"


def report(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:.3f} {unit}", flush=True)


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def poll(probe: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> float:
    """Wait for ``probe``; return the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return time.monotonic()
        time.sleep(interval)
    raise SystemExit(f"bench: timed out after {timeout}s waiting for {what}")


@contextmanager
def bench_namespace(cluster: Cluster) -> Iterator[str]:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    try:
        yield name
    finally:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


def paused_names(cluster: Cluster, namespace: str) -> set[str]:
    items = json.loads(cluster.kubectl("get", "deployments", "-n", namespace, "-o", "json").stdout)["items"]
    return {item["metadata"]["name"] for item in items if item["spec"].get("paused")}


def operator_for(
    cluster: Cluster, server: PrometheusServer, namespace: str, *extra_args: str
) -> OperatorProcess:
    """The operator watching ``namespace``, at its default evaluation interval."""
    return start_operator(
        cluster,
        server.url,
        LOGS / f"bench-operator-{namespace}.log",
        f"--namespace={namespace}",
        *extra_args,
        interval=None,
    )


def breach_to_hold(cluster: Cluster, server: PrometheusServer) -> list[float]:
    with bench_namespace(cluster) as namespace:
        service = f"bench-{namespace}"
        exporter = server.handle.exporter
        exporter.set_traffic(service, requests_per_second=100, error_ratio=0.0)
        apply(cluster, slo("availability", service, app="web"), namespace)
        apply(cluster, gate("web", app="web", max_burn_rate=4), namespace)
        apply(cluster, deployment("web", "registry.example/web:1"), namespace)
        burn = (
            f'sum(rate({REQUESTS}{{service="{service}",code=~"5.."}}[10s]))'
            f' / sum(rate({REQUESTS}{{service="{service}"}}[10s])) / 0.01'
        )
        operator = operator_for(cluster, server, namespace)
        samples = []
        try:
            for _ in range(BREACH_TRIALS):
                poll(lambda: not paused_names(cluster, namespace), 60, "web to be released")
                time.sleep(EVAL_INTERVAL_SECONDS)
                exporter.set_traffic(service, requests_per_second=100, error_ratio=0.3)
                breached = poll(
                    lambda: any(float(r["value"][1]) > 4 for r in server.handle.query(burn)), 60, "the breach"
                )
                held = poll(lambda: "web" in paused_names(cluster, namespace), 60, "web to be held")
                samples.append(held - breached)
                exporter.set_traffic(service, requests_per_second=100, error_ratio=0.0)
        finally:
            operator.stop()
            exporter.stop_traffic(service)
        return samples


ABORT_ERROR_RATIO = 0.04
"""The breach both tools judge: the 30 s error ratio above 4 % (4x the budget of a 99 % SLO)."""
ANALYSIS_INTERVAL = "10s"
ABORT_TRIALS = 5


def error_ratio_30s(service: str) -> str:
    return (
        f'sum(rate({REQUESTS}{{service="{service}",code=~"5.."}}[30s]))'
        f' / sum(rate({REQUESTS}{{service="{service}"}}[30s]))'
    )


def analysis_template(name: str, service: str, prometheus_url: str) -> dict[str, Any]:
    """Argo Rollouts' own analysis of the same breach: the Prometheus provider, every 10 s, the
    first failed measurement fails the run (and aborts the rollout)."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": name},
        "spec": {
            "metrics": [
                {
                    "name": "error-ratio",
                    "interval": ANALYSIS_INTERVAL,
                    "failureLimit": 0,
                    "successCondition": f"result[0] < {ABORT_ERROR_RATIO}",
                    "provider": {
                        "prometheus": {"address": prometheus_url, "query": error_ratio_30s(service)}
                    },
                }
            ]
        },
    }


def analysed_rollout(name: str, image: str, template: str | None) -> dict[str, Any]:
    rollout = canary_rollout(name, image)
    if template is not None:
        rollout["spec"]["strategy"]["canary"]["analysis"] = {
            "templates": [{"templateName": template}],
            "startingStep": 1,
        }
    return rollout


def _rollout_status(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    status: dict[str, Any] = json.loads(
        cluster.kubectl("get", "rollout", name, "-n", namespace, "-o", "json").stdout
    ).get("status", {})
    return status


def breach_to_abort(cluster: Cluster, server: PrometheusServer, *, by_argo_rollouts: bool) -> list[float]:
    """From Prometheus first answering the 30 s error ratio above 4 % to the canary's status.abort,
    with a canary Rollout paused at 25 %: judged by slogate at its defaults (a 30 s burn-rate window
    on the same query), or by an Argo Rollouts AnalysisTemplate at a 10 s interval."""
    with bench_namespace(cluster) as namespace:
        service = f"canary-{namespace}"
        exporter = server.handle.exporter
        exporter.set_traffic(service, requests_per_second=100, error_ratio=0.0)
        template = None
        operator = None
        if by_argo_rollouts:
            template = "error-ratio"
            apply(cluster, analysis_template(template, service, server.url), namespace)
        else:
            slo_30s = slo("canary", service, app="canary")
            slo_30s["spec"]["policies"][0].update(longWindow="30s", shortWindow="10s")
            apply(cluster, slo_30s, namespace)
            apply(
                cluster,
                gate("canary", app="canary", during_rollout="Rollback", burnRateWindow="30s"),
                namespace,
            )
            operator = operator_for(cluster, server, namespace)
        apply(cluster, analysed_rollout("canary", "registry.example/canary:0", template), namespace)
        poll(lambda: _rollout_status(cluster, namespace, "canary").get("phase") == "Healthy", 120, "canary:0")
        breach = error_ratio_30s(service)
        phases = random.Random(ABORT_TRIALS)  # noqa: S311 (a reproducible spread, nothing secret)
        samples = []
        try:
            for trial in range(1, ABORT_TRIALS + 1):
                exporter.set_traffic(service, requests_per_second=100, error_ratio=0.0)
                poll(
                    lambda: all(float(r["value"][1]) < 0.001 for r in server.handle.query(breach)),
                    120,
                    "the error ratio back to 0",
                )
                apply(
                    cluster,
                    analysed_rollout("canary", f"registry.example/canary:{trial}", template),
                    namespace,
                )
                poll(
                    lambda: (
                        _rollout_status(cluster, namespace, "canary").get("currentStepIndex") == 1
                        and not _rollout_status(cluster, namespace, "canary").get("abort")
                    ),
                    120,
                    "the canary at its pause step",
                )
                # Where the analysis interval or the evaluation tick falls against the breach is
                # chance in production: a fixed delay would put every breach at the same point of
                # the AnalysisRun's 10 s (it measures first when the canary step starts).
                time.sleep(3 + phases.uniform(0, 10))
                exporter.set_traffic(service, requests_per_second=100, error_ratio=0.2)
                breached = poll(
                    lambda: any(
                        float(r["value"][1]) > ABORT_ERROR_RATIO for r in server.handle.query(breach)
                    ),
                    60,
                    "the breach",
                )
                aborted = poll(
                    lambda: _rollout_status(cluster, namespace, "canary").get("abort") is True,
                    120,
                    "the canary to abort",
                )
                samples.append(aborted - breached)
        finally:
            if operator is not None:
                operator.stop()
            exporter.stop_traffic(service)
        return samples


@dataclass(frozen=True)
class HoldTrial:
    """How one kind of hold is opened and closed in a namespace, and the operator flags it needs."""

    kind: str
    open: Callable[[Cluster, str, str], str]
    """Opens a hold named after ``name`` in a namespace (the clock starts just before); returns the
    name of the resource that holds."""
    operator_args: Callable[[str], tuple[str, ...]] = lambda namespace: ()
    """The operator's extra flags for a namespace."""


def applied(kind: str, make: Callable[[str], dict[str, Any]]) -> HoldTrial:
    """A hold that is a resource the test applies."""

    def open_hold(cluster: Cluster, name: str, namespace: str) -> str:
        apply(cluster, make(name), namespace)
        return name

    return HoldTrial(kind=kind, open=open_hold)


def webhook_trial(directory: Path) -> HoldTrial:
    """A P1 opened by a signed PagerDuty v3 webhook posted to the operator's incident intake."""
    port = free_port()
    secrets, mapping = directory / "pagerduty-secrets", directory / "mapping.yaml"
    secrets.write_text(PAGERDUTY_SECRET + "\n")

    def intake_flags(namespace: str) -> tuple[str, ...]:
        services = {"Checkout API": {"namespace": namespace, "workload": "svc"}}
        mapping.write_text(json.dumps({"workloadLabel": "app", "services": services}))
        return (
            f"--intake-port={port}",
            "--intake-address=127.0.0.1",
            f"--intake-pagerduty-secret-file={secrets}",
            f"--intake-mapping-file={mapping}",
        )

    def open_hold(cluster: Cluster, name: str, namespace: str) -> str:
        body = encode(pagerduty_body(incident_id=name.replace("-", "").upper(), priority="P1"))
        answer = requests.post(
            f"http://127.0.0.1:{port}/webhooks/pagerduty",
            data=body,
            headers=pagerduty_headers(body, PAGERDUTY_SECRET),
            timeout=10,
        )
        if answer.status_code != 201:
            raise SystemExit(f"bench: the intake answered {answer.status_code}: {answer.text}")
        return str(answer.json()["incident"])

    return HoldTrial(kind="Incident", open=open_hold, operator_args=intake_flags)


def apply_to_hold(cluster: Cluster, server: PrometheusServer, trial_kind: HoldTrial) -> list[float]:
    samples: list[float] = []
    with bench_namespace(cluster) as namespace:
        names = [f"svc-{index}" for index in range(WORKLOADS_PER_HOLD_TRIAL)]
        apply(
            cluster,
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [
                    {
                        **deployment(name, "registry.example/svc:1", replicas=1),
                        "metadata": {"name": name, "labels": {"app": "svc"}},
                    }
                    for name in names
                ],
            },
            namespace,
        )
        operator = operator_for(cluster, server, namespace, *trial_kind.operator_args(namespace))
        try:
            for trial in range(HOLD_TRIALS):
                poll(lambda: not paused_names(cluster, namespace), 60, "every workload to be released")
                name = f"{trial_kind.kind.lower()}-{trial}"
                started = time.monotonic()
                holder = trial_kind.open(cluster, name, namespace)
                pending = set(names)
                while pending:
                    now_paused = paused_names(cluster, namespace) & pending
                    stamp = time.monotonic()
                    samples += [stamp - started] * len(now_paused)
                    pending -= now_paused
                    if stamp - started > 60:
                        raise SystemExit(
                            f"bench: {trial_kind.kind} did not hold {sorted(pending)} within 60 s"
                        )
                    time.sleep(0.02)
                cluster.kubectl("delete", trial_kind.kind.lower(), holder, "-n", namespace)
        finally:
            operator.stop()
    return samples


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise SystemExit("bench: no VmHWM in /proc status")


def histogram(metrics: str, name: str) -> tuple[float, float]:
    values = {}
    for line in metrics.splitlines():
        if line.startswith(f"{name}_sum ") or line.startswith(f"{name}_count "):
            key, value = line.split()
            values[key.rsplit("_", 1)[1]] = float(value)
    return values.get("sum", 0.0), values.get("count", 0.0)


def evaluation_at_scale(cluster: Cluster, server: PrometheusServer) -> tuple[float, float]:
    with bench_namespace(cluster) as namespace:
        services = [f"svc{index}" for index in range(SCALE_SLOS)]
        for service in services:
            server.handle.exporter.set_traffic(service, requests_per_second=1, error_ratio=0.001)
        deployments = [
            {
                **deployment(f"d{index}", "registry.example/app:1", replicas=0),
                "metadata": {"name": f"d{index}", "labels": {"app": services[index % SCALE_SLOS]}},
            }
            for index in range(SCALE_DEPLOYMENTS)
        ]
        slos = [slo(f"slo-{service}", service, app=service, objective=99.9) for service in services]
        gates = [gate(f"gate-{index}", app=services[index]) for index in range(0, SCALE_SLOS, 5)]
        for chunk in range(0, len(deployments), 500):
            apply(
                cluster,
                {"apiVersion": "v1", "kind": "List", "items": deployments[chunk : chunk + 500]},
                namespace,
            )
        apply(cluster, {"apiVersion": "v1", "kind": "List", "items": slos + gates}, namespace)
        operator = operator_for(cluster, server, namespace)
        try:
            # Once a second, as a scrape goes: a read of /metrics every 50 ms (its 6,000 SLO series)
            # would take CPU from the cycles it measures.
            poll(
                lambda: (
                    histogram(operator.metrics(), "slogate_evaluation_duration_seconds")[1] >= WARM_UP_CYCLES
                ),
                300,
                f"{WARM_UP_CYCLES} cycles",
                interval=1.0,
            )
            first_sum, first_count = histogram(operator.metrics(), "slogate_evaluation_duration_seconds")
            poll(
                lambda: (
                    histogram(operator.metrics(), "slogate_evaluation_duration_seconds")[1]
                    >= first_count + MEASURED_CYCLES
                ),
                300,
                f"{MEASURED_CYCLES} more cycles",
                interval=1.0,
            )
            total, count = histogram(operator.metrics(), "slogate_evaluation_duration_seconds")
            cycle = (total - first_sum) / (count - first_count)
            statuses = json.loads(cluster.kubectl("get", "sgslo", "-n", namespace, "-o", "json").stdout)[
                "items"
            ]
            measured = sum(
                1 for item in statuses if (item.get("status") or {}).get("state") not in (None, "Invalid")
            )
            if measured < SCALE_SLOS:
                raise SystemExit(f"bench: only {measured} of {SCALE_SLOS} SLOs have a measured state")
            return cycle, peak_rss_mib(operator.process.pid)
        finally:
            operator.stop()
            for service in services:
                server.handle.exporter.stop_traffic(service)


def _pods_by_image(cluster: Cluster, namespace: str) -> dict[str, int]:
    items = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
    counts: dict[str, int] = {}
    for pod in items:
        image = pod["spec"]["containers"][0]["image"]
        counts[image] = counts.get(image, 0) + 1
    return counts


def _rollouts_healthy(cluster: Cluster, namespace: str, count: int) -> bool:
    items = json.loads(cluster.kubectl("get", "rollouts", "-n", namespace, "-o", "json").stdout)["items"]
    return sum((item.get("status") or {}).get("phase") == "Healthy" for item in items) == count


def leaked_during_freeze(cluster: Cluster, server: PrometheusServer) -> tuple[int, int]:
    """(template changes made, pods of their revisions created) during an active freeze."""
    with bench_namespace(cluster) as namespace:
        workloads = [("deployment", f"dep-{index}") for index in range(FREEZE_WORKLOADS)]
        workloads += [("rollout", f"ro-{index}") for index in range(FREEZE_WORKLOADS)]
        for kind, name in workloads:
            make = deployment if kind == "deployment" else canary_rollout
            apply(cluster, make(name, f"registry.example/{name}:1", replicas=2), namespace)
        poll(
            lambda: _rollouts_healthy(cluster, namespace, FREEZE_WORKLOADS), 300, "the Rollouts to be Healthy"
        )
        operator = operator_for(cluster, server, namespace)
        changes = 0
        try:
            apply(cluster, freeze("bench-freeze", duration="2h"), namespace)
            poll(
                lambda: (
                    cluster.kubectl("get", "holdsets", "slogate", "-n", namespace, check=False).returncode
                    == 0
                ),
                30,
                "the freeze's HoldSet",
            )
            for version in range(2, 2 + FREEZE_ROUNDS):
                for kind, name in workloads:
                    patch = {
                        "spec": {
                            "paused": False,
                            "template": {
                                "spec": {
                                    "containers": [
                                        {"name": "app", "image": f"registry.example/{name}:{version}"}
                                    ]
                                }
                            },
                        }
                    }
                    cluster.kubectl(
                        "patch", kind, name, "-n", namespace, "--type=merge", "-p", json.dumps(patch)
                    )
                    changes += 1
            for index in range(FREEZE_WORKLOADS):
                apply(
                    cluster, deployment(f"new-dep-{index}", "registry.example/new:1", replicas=2), namespace
                )
                apply(
                    cluster,
                    canary_rollout(f"new-ro-{index}", "registry.example/new:1", replicas=2),
                    namespace,
                )
                changes += 2
            time.sleep(15)
            counts = _pods_by_image(cluster, namespace)
            leaked = sum(
                count for image, count in counts.items() if not image.endswith(":1") or "/new:" in image
            )
        finally:
            operator.stop()
        return changes, leaked


def admission_overhead(cluster: Cluster) -> tuple[list[float], list[float]]:
    """Seconds each Deployment template update took (with, without) the policy bound."""
    api = client.AppsV1Api(config.new_client_from_config(str(cluster.kubeconfig)))
    with bench_namespace(cluster) as namespace:
        holds = [
            {
                "source": f"ChangeFreeze/other-{index}",
                "message": f"ChangeFreeze/other-{index}: a freeze of another team",
                "since": "2026-01-01T00:00:00Z",
                "match": [{"matchLabels": {"team": f"other-{index}"}}],
                "unless": [{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["infra"]}]}],
                "exemptChangeTypes": ["emergency"],
            }
            for index in range(20)
        ]
        apply(
            cluster,
            {
                "apiVersion": "slogate.dev/v1alpha1",
                "kind": "HoldSet",
                "metadata": {"name": "slogate"},
                "spec": {"holds": holds},
            },
            namespace,
        )
        apply(cluster, deployment("latency", "registry.example/latency:0", replicas=1), namespace)

        def timed_writes(count: int, start: int) -> list[float]:
            samples = []
            for index in range(start, start + count):
                body = {"spec": {"template": {"metadata": {"annotations": {"bench/write": str(index)}}}}}
                started = time.perf_counter()
                api.patch_namespaced_deployment("latency", namespace, body)
                samples.append(time.perf_counter() - started)
            return samples

        # Alternating rounds, so what else the cluster is doing meanwhile (the previous figure's
        # namespace being deleted, ReplicaSets of these very writes) weighs on both sides alike.
        with_policy: list[float] = []
        without_policy: list[float] = []
        per_round = OVERHEAD_WRITES // OVERHEAD_ROUNDS
        try:
            for round_index in range(OVERHEAD_ROUNDS):
                cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(POLICY_MANIFEST))
                time.sleep(2)  # the API server's policy cache picks the binding up
                with_policy += timed_writes(per_round, 2 * round_index * per_round)
                cluster.kubectl("delete", "mutatingadmissionpolicybinding", "slogate-hold")
                time.sleep(2)
                without_policy += timed_writes(per_round, (2 * round_index + 1) * per_round)
        finally:
            cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(POLICY_MANIFEST))
        return with_policy, without_policy


def main() -> None:
    LOGS.mkdir(parents=True, exist_ok=True)
    with local_cluster() as cluster, prometheus_server(LOGS / "bench-prometheus.log") as server:
        install_crds(cluster)
        report("eval_interval", EVAL_INTERVAL_SECONDS, "s")
        breaches = breach_to_hold(cluster, server)
        report("breach_to_hold_p50", statistics.median(breaches), "s")
        report("breach_to_hold_max", max(breaches), "s")
        aborts = breach_to_abort(cluster, server, by_argo_rollouts=False)
        report("breach_to_abort_p50", statistics.median(aborts), "s")
        report("breach_to_abort_max", max(aborts), "s")
        analysed = breach_to_abort(cluster, server, by_argo_rollouts=True)
        report("breach_to_abort_p50_argo_rollouts", statistics.median(analysed), "s")
        report("breach_to_abort_max_argo_rollouts", max(analysed), "s")
        freezes = apply_to_hold(
            cluster, server, applied("ChangeFreeze", lambda name: freeze(name, duration="2h"))
        )
        report("freeze_to_hold_p50", statistics.median(freezes), "s")
        report("freeze_to_hold_p99", percentile(freezes, 0.99), "s")
        incidents = apply_to_hold(
            cluster, server, applied("Incident", lambda name: incident(name, app="svc"))
        )
        report("incident_to_hold_p99", percentile(incidents, 0.99), "s")
        with tempfile.TemporaryDirectory(prefix="slogate-bench-intake-") as directory:
            webhooks = apply_to_hold(cluster, server, webhook_trial(Path(directory)))
        report("webhook_to_hold_p99", percentile(webhooks, 0.99), "s")
        changes, leaked = leaked_during_freeze(cluster, server)
        print(f"deploys_leaked_during_freeze: {leaked} pods (over {changes} deploys)", flush=True)
        with_policy, without_policy = admission_overhead(cluster)
        p99_with, p99_without = percentile(with_policy, 0.99), percentile(without_policy, 0.99)
        report("admission_overhead_p99", (p99_with - p99_without) * 1000, "ms")
        report("write_p99_with_admission", p99_with * 1000, "ms")
        report("write_p99_without_admission", p99_without * 1000, "ms")
        report("write_p50_with_admission", statistics.median(with_policy) * 1000, "ms")
        report("write_p50_without_admission", statistics.median(without_policy) * 1000, "ms")
        cycle, rss = evaluation_at_scale(cluster, server)
        report("eval_cycle_500slo_2000deploy", cycle, "s")
        report("peak_rss", rss, "MiB")
    # Prometheus' side, on 30 days of history (no cluster needed; see hack/bench_prometheus.py).
    bench_prometheus.run(SCALE_SLOS)


if __name__ == "__main__":
    main()
