"""SLO burn against a ReleaseGate, end to end: real Prometheus, real API server, real controllers."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from harness.cluster import ROOT, Cluster
from harness.kube import apply, get, merge_patch
from harness.manifests import canary_rollout, deployment, image_patch
from harness.observe import (
    annotations_of,
    deployment_rolled_out,
    event_reasons,
    pods_with_image,
    spec_paused,
    status_of,
)
from harness.operator import OperatorProcess, start_operator
from harness.prometheus import Prometheus
from harness.slogate import gate, slo
from harness.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

LOGS = ROOT / ".cluster" / "logs"


def healthy_deployment_under_gate(
    cluster: Cluster, prometheus: Prometheus, namespace: str, service: str, governing: dict[str, Any]
) -> None:
    """A Deployment named as ``governing``'s app at image 1, rolled out, with its SLO
    ``<app>-availability`` over clean traffic of ``service`` measured Healthy."""
    app = governing["metadata"]["name"]
    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    apply(cluster, slo(f"{app}-availability", service, app=app), namespace)
    apply(cluster, governing, namespace)
    apply(cluster, deployment(app, f"registry.example/{app}:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, app, f"registry.example/{app}:1"), 60, f"{app}:1"
    )
    wait_until(
        lambda: status_of(cluster, "sgslo", f"{app}-availability", namespace).get("state") == "Healthy",
        30,
        "the SLO to be measured Healthy",
    )


def test_an_update_during_a_burn_is_held_and_resumes_when_the_burn_stops(
    slogate_crds: Cluster, prometheus: Prometheus, namespace: str, operator: OperatorProcess
) -> None:
    cluster, service = slogate_crds, f"web-{namespace}"
    healthy_deployment_under_gate(cluster, prometheus, namespace, service, gate("web", app="web"))
    assert not spec_paused(cluster, "deployment", "web", namespace)

    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.2)
    wait_until(lambda: spec_paused(cluster, "deployment", "web", namespace), 30, "the burn to hold web")
    held = annotations_of(cluster, "deployment", "web", namespace)
    assert held["slogate.dev/held"] == "true"
    assert held["slogate.dev/decision"] == "Hold"
    assert "burn rate over 10s" in held["slogate.dev/reason"]
    assert "above maxBurnRate 4" in held["slogate.dev/reason"]
    assert held["slogate.dev/gate"] == "web"
    assert "web-availability=" in held["slogate.dev/slo-state"]
    # The hold reads the gate's window every cycle; the SLO's state follows its policy windows,
    # which are measured at the status cadence (10 s).
    slo_labels = f'namespace="{namespace}",slo="web-availability"'
    burning = rf"slogate_slo_state{{{slo_labels},state=\"(Burning|Exhausted)\"}} 1\.0"
    wait_until(lambda: re.search(burning, operator.metrics()), 25, "the SLO's state to show the burn")
    assert f'slogate_slo_burn_rate{{{slo_labels},window="10s"}}' in operator.metrics()

    merge_patch(cluster, "deployment", "web", namespace, image_patch("registry.example/web:2"))
    wait_until(
        lambda: (
            get(cluster, "deployment", "web", namespace)["status"].get("observedGeneration")
            == get(cluster, "deployment", "web", namespace)["metadata"]["generation"]
        ),
        30,
        "the Deployment controller to see the held update",
    )
    assert pods_with_image(cluster, namespace, "web", "registry.example/web:2") == []

    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "web", "registry.example/web:2"),
        90,
        "the held update to roll out once the burn stops",
    )
    released = annotations_of(cluster, "deployment", "web", namespace)
    assert "slogate.dev/held" not in released
    assert released["slogate.dev/decision"] in {"Resume", "Proceed"}
    assert released["slogate.dev/reason"] == "all checks pass"
    reasons = event_reasons(cluster, namespace, "web")
    assert "Held" in reasons
    assert "Released" in reasons
    verdicts = status_of(cluster, "sggate", "web", namespace)["workloads"]
    assert [v["workload"]["name"] for v in verdicts] == ["web"]
    prometheus.exporter.stop_traffic(service)


def burn_rate_metric(operator: OperatorProcess, namespace: str, slo_name: str, window: str) -> float | None:
    labels = rf'namespace="{namespace}",slo="{slo_name}",window="{window}"'
    found = re.search(rf"slogate_slo_burn_rate{{{labels}}} (\S+)", operator.metrics())
    return float(found.group(1)) if found else None


def test_a_burn_that_has_ended_stops_holding_while_the_long_window_still_remembers_it(
    slogate_crds: Cluster, prometheus: Prometheus, namespace: str, operator: OperatorProcess
) -> None:
    cluster, service = slogate_crds, f"api-{namespace}"
    pair = gate("api", app="api", burnRateWindow="30s", burnRateShortWindow="10s")
    healthy_deployment_under_gate(cluster, prometheus, namespace, service, pair)

    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.2)
    wait_until(lambda: spec_paused(cluster, "deployment", "api", namespace), 40, "the burn to hold api")
    reason = annotations_of(cluster, "deployment", "api", namespace)["slogate.dev/reason"]
    assert "over 30s and" in reason
    assert "over 10s, above maxBurnRate 4 over both" in reason
    wait_until(
        lambda: (burn_rate_metric(operator, namespace, "api-availability", "30s") or 0) > 15,
        40,
        "the burn to fill the long window",
    )

    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    wait_until(
        lambda: not spec_paused(cluster, "deployment", "api", namespace), 40, "the hold to end with the burn"
    )
    long_window = burn_rate_metric(operator, namespace, "api-availability", "30s")
    assert long_window is not None
    assert long_window > 4, "released on the short window while the long one is still over the limit"


def test_a_canary_that_starts_burning_mid_rollout_is_aborted(
    slogate_crds: Cluster, prometheus: Prometheus, namespace: str, operator: OperatorProcess
) -> None:
    cluster, service = slogate_crds, f"shop-{namespace}"
    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    apply(cluster, slo("shop-availability", service, app="shop"), namespace)
    apply(cluster, gate("shop", app="shop", during_rollout="Rollback"), namespace)
    apply(cluster, canary_rollout("shop", "registry.example/shop:1"), namespace)
    wait_until(
        lambda: status_of(cluster, "rollout", "shop", namespace).get("phase") == "Healthy", 120, "shop:1"
    )

    merge_patch(cluster, "rollout", "shop", namespace, image_patch("registry.example/shop:2"))
    wait_until(
        lambda: status_of(cluster, "rollout", "shop", namespace).get("currentStepIndex") == 1,
        60,
        "the canary to reach its pause step with 25% of the pods",
    )
    assert len(pods_with_image(cluster, namespace, "shop", "registry.example/shop:2")) == 1

    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.3)
    wait_until(
        lambda: status_of(cluster, "rollout", "shop", namespace).get("abort") is True,
        30,
        "the canary to abort",
    )
    wait_until(
        lambda: status_of(cluster, "rollout", "shop", namespace).get("phase") == "Degraded",
        60,
        "the controller to report the aborted canary Degraded",
    )
    wait_until(
        lambda: (
            not [
                pod
                for pod in pods_with_image(cluster, namespace, "shop", "registry.example/shop:2")
                if not pod["metadata"].get("deletionTimestamp")
            ]
        ),
        120,
        "the canary pods to be scaled down",
    )
    marked = annotations_of(cluster, "rollout", "shop", namespace)
    # Once aborted the canary no longer rolls; while the burn goes on the Rollout is held.
    assert marked["slogate.dev/decision"] in {"Rollback", "Hold"}
    assert "above maxBurnRate" in marked["slogate.dev/reason"]
    assert "Aborted" in event_reasons(cluster, namespace, "shop")
    prometheus.exporter.stop_traffic(service)


def test_a_deployment_under_a_rollback_gate_is_rolled_back_once_even_across_a_restart(
    slogate_crds: Cluster, prometheus: Prometheus, namespace: str
) -> None:
    cluster, service = slogate_crds, f"cart-{namespace}"
    log = LOGS / f"operator-{namespace}.log"
    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    apply(cluster, slo("cart-availability", service, app="cart"), namespace)
    apply(cluster, gate("cart", app="cart", during_rollout="Rollback"), namespace)
    apply(cluster, deployment("cart", "registry.example/cart:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "cart", "registry.example/cart:1"), 60, "cart:1"
    )
    operator = start_operator(cluster, prometheus.url, log, f"--namespace={namespace}")
    try:
        # New pods count as available only after a minute, so the rollout stays in progress.
        merge_patch(
            cluster,
            "deployment",
            "cart",
            namespace,
            {
                "spec": {
                    "minReadySeconds": 60,
                    "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
                    **image_patch("registry.example/cart:2")["spec"],
                }
            },
        )
        wait_until(
            lambda: pods_with_image(cluster, namespace, "cart", "registry.example/cart:2"),
            30,
            "the rollout of cart:2 to start",
        )
        prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.3)
        wait_until(
            lambda: (
                get(cluster, "deployment", "cart", namespace)["spec"]["template"]["spec"]["containers"][0][
                    "image"
                ]
                == "registry.example/cart:1"
            ),
            30,
            "the rollback to cart:1",
        )
        rolled_back = get(cluster, "deployment", "cart", namespace)
        assert rolled_back["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
        # Once the rollback completes, the burn still holds further releases.
        assert rolled_back["metadata"]["annotations"]["slogate.dev/decision"] in {"Rollback", "Hold"}
        assert "slogate.dev/rolled-back-to" in rolled_back["metadata"]["annotations"]
        assert "RolledBack" in event_reasons(cluster, namespace, "cart")
        # Settled, not flapping: while the rollback rolls out under the same burn, slogate marks
        # nothing more than the decision that changes (and the hold once the rollback completes).
        # Each of its marks bumps a Deployment's generation; a Hold/Rollback loop bumped it
        # hundreds of times in these seconds.
        generation = rolled_back["metadata"]["generation"]
        time.sleep(8)
        assert get(cluster, "deployment", "cart", namespace)["metadata"]["generation"] - generation <= 2

        operator.kill()
        operator = start_operator(cluster, prometheus.url, log, f"--namespace={namespace}")
        time.sleep(6)  # three evaluation cycles of the restarted operator, still burning
        after_restart = get(cluster, "deployment", "cart", namespace)
        assert after_restart["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
        assert (
            after_restart["spec"]["template"]["spec"]["containers"][0]["image"] == "registry.example/cart:1"
        )
        assert event_reasons(cluster, namespace, "cart").count("RolledBack") == 1
    finally:
        operator.stop()
        prometheus.exporter.stop_traffic(service)


def test_a_release_that_eats_too_much_budget_holds_further_promotions(
    slogate_crds: Cluster, prometheus: Prometheus, namespace: str, operator: OperatorProcess
) -> None:
    cluster, service = slogate_crds, f"feed-{namespace}"
    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    apply(cluster, slo("feed-availability", service, app="feed"), namespace)
    apply(
        cluster,
        gate("feed", app="feed", max_burn_rate=1000, maxBudgetConsumedPerRelease=1),
        namespace,
    )
    apply(cluster, deployment("feed", "registry.example/feed:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "feed", "registry.example/feed:1"), 60, "feed:1"
    )

    # Burn 10x: far under maxBurnRate, but 30 s of it is 8% of a 1h budget, over the 1% allowed.
    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.1)
    wait_until(
        lambda: spec_paused(cluster, "deployment", "feed", namespace),
        90,
        "the release's budget spend to hold further promotions",
    )
    reason = annotations_of(cluster, "deployment", "feed", namespace)["slogate.dev/reason"]
    # "the release in progress" when a kwok pod is briefly not Ready and the Deployment counts as
    # rolling; either way it is this release's spend that holds.
    assert "the last release consumed" in reason or "the release in progress consumed" in reason
    assert "above maxBudgetConsumedPerRelease 1%" in reason
    verdict = status_of(cluster, "sggate", "feed", namespace)["workloads"][0]
    budget = [r for r in verdict["reasons"] if r["check"] == "ReleaseBudget"]
    assert budget
    assert budget[0]["passed"] is False
    prometheus.exporter.stop_traffic(service)
