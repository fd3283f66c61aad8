"""The Prometheus adapter against a real Prometheus: batching, no data, bad queries, outages, and a
real nginx in front of it (request-line limit, credentials)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from harness.processes import free_port
from harness.prometheus import Prometheus
from harness.proxy import TOKEN, nginx_proxy
from harness.waiting import wait_until
from slogate.adapters.prometheus import (
    PrometheusQueries,
    PrometheusSettings,
    PrometheusUnavailableError,
    QueryResult,
)

pytestmark = pytest.mark.prometheus

REQUESTS = "slogate_test_http_requests_total"


def error_ratio(service: str) -> str:
    return (
        f'sum(rate({REQUESTS}{{service="{service}",code=~"5.."}}[10s]))'
        f' / sum(rate({REQUESTS}{{service="{service}"}}[10s]))'
    )


def test_a_batch_gives_each_query_its_own_value_no_data_or_error(prometheus: Prometheus) -> None:
    prometheus.exporter.set_traffic("orders", requests_per_second=100, error_ratio=0.1)
    prometheus.exporter.add("dormant", ok=0, errors=0)
    wait_until(lambda: prometheus.query(error_ratio("orders")), 30, "a rate for orders")
    queries = PrometheusQueries(PrometheusSettings(url=prometheus.url, batch_size=10))

    results = queries.evaluate(
        [
            error_ratio("orders"),
            error_ratio("dormant"),
            error_ratio("never-existed"),
            f'rate({REQUESTS}{{service="orders"}}[10s])',
            error_ratio("orders"),
            "vector(0.25)",
        ]
    )

    orders = results[error_ratio("orders")]
    assert orders.value == pytest.approx(0.1, abs=0.03)
    assert results[error_ratio("dormant")] == QueryResult(), "0/0 is no data"
    assert results[error_ratio("never-existed")] == QueryResult(), "no series is no data"
    multi = results[f'rate({REQUESTS}{{service="orders"}}[10s])'].error
    assert multi is not None
    assert "returned 2 series" in multi
    assert "sum()" in multi
    assert results["vector(0.25)"] == QueryResult(value=0.25)
    assert len(results) == 5, "identical queries are evaluated once"
    prometheus.exporter.stop_traffic("orders")


def test_a_broken_query_does_not_spoil_its_batch(prometheus: Prometheus) -> None:
    queries = PrometheusQueries(PrometheusSettings(url=prometheus.url, batch_size=10))

    results = queries.evaluate(["vector(1)", "sum(rate(oops[5m]", "scalar(vector(2))"])

    assert results["vector(1)"] == QueryResult(value=1.0)
    assert results["scalar(vector(2))"] == QueryResult(value=2.0)
    broken = results["sum(rate(oops[5m]"].error
    assert broken is not None
    assert "rejected the query" in broken


def test_an_unreachable_prometheus_raises_for_the_failure_policy() -> None:
    queries = PrometheusQueries(PrometheusSettings(url=f"http://127.0.0.1:{free_port()}", timeout_seconds=2))
    with pytest.raises(PrometheusUnavailableError, match=r"127\.0\.0\.1"):
        queries.evaluate(["vector(1)"])


def test_a_full_batch_passes_a_reverse_proxy_with_an_8k_request_line_limit(
    prometheus: Prometheus, tmp_path: Path
) -> None:
    prometheus.exporter.set_traffic("proxied", requests_per_second=100, error_ratio=0.1)
    wait_until(lambda: prometheus.query(error_ratio("proxied")), 30, "a rate for proxied")
    ratios = [error_ratio(f"proxied-{index}") for index in range(49)] + [error_ratio("proxied")]
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    with nginx_proxy(prometheus.url, tmp_path / "nginx") as proxied:
        in_the_url = requests.get(
            f"{proxied}/api/v1/query", params={"query": " or ".join(ratios)}, headers=bearer, timeout=10
        )
        assert in_the_url.status_code == 414, "the proxy must limit the request line, as nginx does"

        results = PrometheusQueries(
            PrometheusSettings(url=proxied, batch_size=50, headers=lambda: bearer)
        ).evaluate(ratios)

    assert results[error_ratio("proxied")].value == pytest.approx(0.1, abs=0.03)
    assert all(results[ratio] == QueryResult() for ratio in ratios[:-1]), "no series is no data"
    prometheus.exporter.stop_traffic("proxied")


def test_a_refused_credential_is_an_outage_that_names_the_status(
    prometheus: Prometheus, tmp_path: Path
) -> None:
    with nginx_proxy(prometheus.url, tmp_path / "nginx") as proxied:
        queries = PrometheusQueries(
            PrometheusSettings(url=proxied, headers=lambda: {"Authorization": "Bearer expired"})
        )
        with pytest.raises(PrometheusUnavailableError, match="HTTP 401"):
            queries.evaluate(["vector(1)", "vector(2)"])
