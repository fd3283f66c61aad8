"""slogate under failure: killed mid-rollout, and Prometheus gone."""

from __future__ import annotations

import time

import pytest

from harness.cluster import ROOT, Cluster
from harness.kube import apply, get, merge_patch
from harness.manifests import deployment, image_patch
from harness.observe import (
    annotations_of,
    deployment_rolled_out,
    event_reasons,
    pods_with_image,
    spec_paused,
    status_of,
)
from harness.operator import running_operator, start_operator
from harness.prometheus import prometheus_server
from harness.slogate import freeze, gate, slo
from harness.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

LOGS = ROOT / ".cluster" / "logs"


def test_killing_the_operator_loses_no_hold(slogate_crds: Cluster, namespace: str) -> None:
    cluster = slogate_crds
    log = LOGS / f"operator-{namespace}.log"
    apply(cluster, deployment("orders", "registry.example/orders:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "orders", "registry.example/orders:1"),
        60,
        "orders:1",
    )
    with prometheus_server(LOGS / f"prometheus-{namespace}.log") as server:
        operator = start_operator(cluster, server.url, log, f"--namespace={namespace}")
        try:
            apply(cluster, freeze("release-freeze", duration="2h"), namespace)
            wait_until(
                lambda: spec_paused(cluster, "deployment", "orders", namespace), 10, "the freeze to hold"
            )
            merge_patch(cluster, "deployment", "orders", namespace, image_patch("registry.example/orders:2"))

            operator.kill()
            operator = start_operator(cluster, server.url, log, f"--namespace={namespace}")
            time.sleep(5)  # a few cycles of the restarted operator
            assert spec_paused(cluster, "deployment", "orders", namespace), "the hold survives the restart"
            assert annotations_of(cluster, "deployment", "orders", namespace)["slogate.dev/held"] == "true"
            assert pods_with_image(cluster, namespace, "orders", "registry.example/orders:2") == []
            assert event_reasons(cluster, namespace, "orders").count("Held") == 1

            cluster.kubectl("delete", "sgfreeze", "release-freeze", "-n", namespace)
            wait_until(
                lambda: deployment_rolled_out(cluster, namespace, "orders", "registry.example/orders:2"),
                60,
                "the restarted operator to release the queued rollout",
            )
        finally:
            operator.stop()


def test_prometheus_down_holds_by_the_failure_policy_and_recovers(
    slogate_crds: Cluster, namespace: str
) -> None:
    cluster, service = slogate_crds, f"pay-{namespace}"
    apply(cluster, deployment("pay", "registry.example/pay:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "pay", "registry.example/pay:1"), 60, "pay:1"
    )
    with prometheus_server(LOGS / f"prometheus-{namespace}.log") as server:
        server.handle.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
        apply(cluster, slo("pay-availability", service, app="pay"), namespace)
        apply(cluster, gate("pay", app="pay", during_rollout="Rollback"), namespace)
        with running_operator(
            cluster, server.url, LOGS / f"operator-{namespace}.log", f"--namespace={namespace}"
        ) as op:
            wait_until(
                lambda: status_of(cluster, "sgslo", "pay-availability", namespace).get("state") == "Healthy",
                30,
                "the SLO to be measured",
            )
            assert not spec_paused(cluster, "deployment", "pay", namespace)

            server.stop()

            def unavailable() -> bool:
                conditions = status_of(cluster, "sgslo", "pay-availability", namespace).get("conditions", [])
                return any(
                    c["type"] == "Ready" and c["reason"] == "PrometheusUnavailable" for c in conditions
                )

            wait_until(unavailable, 30, "the SLO to report Prometheus unavailable")
            wait_until(
                lambda: spec_paused(cluster, "deployment", "pay", namespace), 10, "the outage policy to hold"
            )
            held = annotations_of(cluster, "deployment", "pay", namespace)
            assert held["slogate.dev/decision"] == "Hold", "missing data holds and never rolls back"
            assert "no data" in held["slogate.dev/reason"]
            assert status_of(cluster, "sgslo", "pay-availability", namespace)["state"] == "Unknown"
            errors = [
                float(line.split()[1])
                for line in op.metrics().splitlines()
                if line.startswith("slogate_prometheus_errors_total ")
            ]
            assert errors, "the operator exports its Prometheus failures"
            assert errors[0] > 0
            assert (
                get(cluster, "deployment", "pay", namespace)["metadata"]["annotations"][
                    "deployment.kubernetes.io/revision"
                ]
                == "1"
            )

            server.start()
            wait_until(
                lambda: status_of(cluster, "sgslo", "pay-availability", namespace).get("state") == "Healthy",
                30,
                "evaluation to recover when Prometheus returns",
            )
            wait_until(
                lambda: not spec_paused(cluster, "deployment", "pay", namespace),
                10,
                "the hold to be released",
            )
        server.handle.exporter.stop_traffic(service)
