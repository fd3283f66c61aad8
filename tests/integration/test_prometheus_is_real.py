"""Smoke tests that the test Prometheus scrapes the exporter and evaluates burn-rate queries."""

from __future__ import annotations

import math

import pytest

from harness.prometheus import Prometheus
from harness.waiting import wait_until

pytestmark = pytest.mark.prometheus

BURN_RATE = (
    'sum(rate(slogate_test_http_requests_total{{service="{service}",code=~"5.."}}[{window}]))'
    ' / sum(rate(slogate_test_http_requests_total{{service="{service}"}}[{window}]))'
    " / (1 - {objective})"
)


def test_a_burn_rate_query_over_the_exporter_counters(prometheus: Prometheus) -> None:
    prometheus.exporter.set_traffic("checkout", requests_per_second=200, error_ratio=0.02)
    query = BURN_RATE.format(service="checkout", window="10s", objective=0.99)

    def steady_burn() -> float | None:
        result = prometheus.query(query)
        burn = float(result[0]["value"][1]) if result else math.nan
        return burn if 1.8 <= burn <= 2.2 else None

    burn = wait_until(steady_burn, 30, "a 2% error ratio against a 99% objective to burn at 2x")
    assert burn == pytest.approx(2.0, rel=0.1)
    prometheus.exporter.stop_traffic("checkout")


def test_a_service_without_traffic_has_no_burn_rate_not_zero(prometheus: Prometheus) -> None:
    prometheus.exporter.add("idle", ok=0, errors=0)
    prometheus.wait_for('slogate_test_http_requests_total{service="idle"}')
    wait_until(
        lambda: len(prometheus.query('rate(slogate_test_http_requests_total{service="idle"}[10s])')) == 2,
        30,
        "two samples of the idle counters",
    )
    result = prometheus.query(BURN_RATE.format(service="idle", window="10s", objective=0.99))
    assert len(result) == 1
    assert math.isnan(float(result[0]["value"][1])), "0/0 must surface as NaN (no data), not 0 errors"
