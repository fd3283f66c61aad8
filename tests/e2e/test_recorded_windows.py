"""Long SLO windows through slogate's recording rules, end to end: a real Prometheus loads the rules
slogate generates, holds 30 days of their history (backfilled with promtool), and goes on
evaluating them; the operator reads the long windows from the recorded series, and without them
falls back to raw data and still holds."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cluster import ROOT, Cluster
from harness.kube import apply
from harness.manifests import deployment
from harness.observe import annotations_of, deployment_rolled_out, spec_paused, status_of
from harness.operator import OperatorProcess, running_operator
from harness.prometheus import PrometheusServer, prometheus_server
from harness.recorded import backfill_recorded
from harness.slogate import REQUESTS
from harness.waiting import wait_until
from slogate.api.slo import Indicator
from slogate.domain.recording import rule_group

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

LOGS = ROOT / ".cluster" / "logs"
BURNING_FOR = timedelta(hours=6)


def indicator(service: str) -> dict[str, Any]:
    return {
        "ratio": {
            "errors": f'sum(rate({REQUESTS}{{service="{service}",code=~"5.."}}[$window]))',
            "total": f'sum(rate({REQUESTS}{{service="{service}"}}[$window]))',
        }
    }


def slo_30d(name: str, service: str, app: str) -> dict[str, Any]:
    """A production-shaped SLO: 99.9 % over 30 days, the Workbook's policies."""
    return {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": name},
        "spec": {
            "objective": 99.9,
            "window": "30d",
            "selector": {"matchLabels": {"app": app}},
            "indicator": indicator(service),
        },
    }


def gate(name: str, app: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": "ReleaseGate",
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": app}}, "maxBurnRate": 4, **spec},
    }


def burn_rates(cluster: Cluster, slo: str, namespace: str) -> dict[str, dict[str, Any]]:
    status = status_of(cluster, "sgslo", slo, namespace)
    return {entry["window"]: entry for entry in status.get("burnRates", [])}


@pytest.fixture
def recorded_prometheus(namespace: str, tmp_path: Path) -> Iterator[PrometheusServer]:
    """A Prometheus with the rules of the `pay` SLO loaded and 30 days of their history: the last
    6 hours at 1 % errors (10x the budget of 99.9 %), quiet before. The `web` SLO has no rules."""
    pay = Indicator.model_validate(indicator(f"pay-{namespace}"))
    rules = tmp_path / "slogate-rules.yaml"
    rules.write_text(yaml.safe_dump({"groups": [rule_group(namespace, "pay", pay).as_dict()]}))

    def history(data: Path) -> None:
        backfill_recorded(
            data,
            namespace=namespace,
            name="pay",
            indicator=pay,
            error_ratio_at=lambda age: 0.01 if age < BURNING_FOR else 0.0001,
            requests_per_second=50,
        )

    with prometheus_server(LOGS / f"prometheus-recorded-{namespace}.log", (rules,), history) as server:
        yield server


@pytest.fixture
def recorded_operator(
    slogate_crds: Cluster, recorded_prometheus: PrometheusServer, namespace: str
) -> Iterator[OperatorProcess]:
    with running_operator(
        slogate_crds, recorded_prometheus.url, LOGS / f"operator-{namespace}.log", f"--namespace={namespace}"
    ) as running:
        yield running


def test_a_burn_over_six_hours_is_held_through_the_recorded_series(
    slogate_crds: Cluster,
    recorded_prometheus: PrometheusServer,
    namespace: str,
    recorded_operator: OperatorProcess,
) -> None:
    cluster, service = slogate_crds, f"pay-{namespace}"
    recorded_prometheus.handle.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    apply(cluster, slo_30d("pay", service, app="pay"), namespace)
    # One window, 6h: the recorded history burns there while the live traffic is clean, so the default
    # short window (30m) would say the burn is over and release it.
    apply(cluster, gate("pay", app="pay", burnRateWindow="6h", burnRateShortWindow="6h"), namespace)
    apply(cluster, deployment("pay", "registry.example/pay:1"), namespace)

    wait_until(
        lambda: burn_rates(cluster, "pay", namespace).get("6h", {}).get("source") == "Recorded",
        60,
        "the 6h window to be read from the recorded series",
    )
    windows = burn_rates(cluster, "pay", namespace)
    assert {window: entry["source"] for window, entry in windows.items()} == {
        "5m": "Raw",
        "30m": "Raw",
        "1h": "Raw",
        "6h": "Recorded",
        "3d": "Recorded",
        "30d": "Recorded",
    }
    assert windows["6h"]["burnRate"] == pytest.approx(10, rel=0.1)
    status = status_of(cluster, "sgslo", "pay", namespace)
    assert status["recordedHistory"].startswith(("29d", "30d"))
    queries = {entry["window"]: entry["errorRatio"] for entry in status["resolvedQueries"]}
    assert queries["30d"].startswith("sum_over_time(slogate:slo_errors:rate5m{")

    wait_until(lambda: spec_paused(cluster, "deployment", "pay", namespace), 30, "the 6h burn to hold pay")
    held = annotations_of(cluster, "deployment", "pay", namespace)
    assert "burn rate over 6h" in held["slogate.dev/reason"]


def test_without_the_rules_long_windows_are_raw_and_a_burn_still_holds(
    slogate_crds: Cluster,
    recorded_prometheus: PrometheusServer,
    namespace: str,
    recorded_operator: OperatorProcess,
) -> None:
    cluster, service = slogate_crds, f"web-{namespace}"
    exporter = recorded_prometheus.handle.exporter
    exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    apply(cluster, slo_30d("web", service, app="web"), namespace)
    apply(cluster, gate("web", app="web"), namespace)
    apply(cluster, deployment("web", "registry.example/web:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "web", "registry.example/web:1"), 60, "web:1"
    )
    wait_until(
        lambda: bool(burn_rates(cluster, "web", namespace).get("30d")),
        60,
        "the web SLO to be measured",
    )
    status = status_of(cluster, "sgslo", "web", namespace)
    assert "recordedHistory" not in status
    assert {entry["source"] for entry in status["burnRates"]} == {"Raw"}
    queries = {entry["window"]: entry["errorRatio"] for entry in status["resolvedQueries"]}
    assert "[30d:5m]" in queries["30d"], "aggregated before the range"

    exporter.set_traffic(service, requests_per_second=50, error_ratio=0.2)
    wait_until(lambda: spec_paused(cluster, "deployment", "web", namespace), 60, "the burn to hold web")
    reason = annotations_of(cluster, "deployment", "web", namespace)["slogate.dev/reason"]
    assert "burn rate over 5m" in reason, "held on the SLO's shortest window, read raw"
    assert "above maxBurnRate 4" in reason
    exporter.stop_traffic(service)
