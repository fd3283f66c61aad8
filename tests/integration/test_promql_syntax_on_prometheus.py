"""The PromQL syntax check against the real Prometheus that runs the queries: whatever the check
refuses, Prometheus refuses too (no valid SLO is ever refused at apply time), and the queries of the
examples and the generated indicator queries pass both."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
import yaml

from harness.cluster import ROOT
from harness.prometheus import Prometheus
from slogate.api.promql import promql_syntax_error
from slogate.api.slo import ServiceLevelObjective
from slogate.domain.queries import resolve_queries

pytestmark = pytest.mark.prometheus

REFUSED_BY_THE_CHECK = [
    "sum(rate(x[5m])",
    "sum(rate(x[5m])) by (le",
    "rate(x)",
    "sum(rate(x[5m])) +",
    'x{a=~"b"',
    "x{a=}",
    "max_over_time(x[5m:1m]) offset 5m",
    "sum(rate(x[5m])) / on() group_left",
    "histogram_quantile(0.9)",
    "x[5m] + 1",
]
ACCEPTED_BY_BOTH = [
    'sum(rate(http_requests_total{code=~"5.."}[5m])) / sum(rate(http_requests_total[5m]))',
    "histogram_quantile(0.99, sum by (le) (rate(h_bucket[5m])))",
    "max_over_time(up[5m:1m] offset 5m)",
    'sum(rate(x[5m])) / on() group_left sum(rate(y{job="a",}[5m]))',
    "1 - avg_over_time(up[30d])",
    "clamp_min(sum(rate(x[5m])), 1)",
]


def prometheus_error(prometheus: Prometheus, query: str) -> str | None:
    answer = requests.post(f"{prometheus.url}/api/v1/query", data={"query": query}, timeout=10).json()
    return None if answer["status"] == "success" else f"{answer['errorType']}: {answer['error']}"


@pytest.mark.parametrize("query", REFUSED_BY_THE_CHECK)
def test_what_the_check_refuses_prometheus_refuses(prometheus: Prometheus, query: str) -> None:
    assert promql_syntax_error(query) is not None
    refused = prometheus_error(prometheus, query)
    assert refused is not None
    assert refused.startswith("bad_data")


def example_queries() -> list[str]:
    found = []
    for path in sorted((ROOT / "examples").rglob("*.yaml")):
        for document in yaml.safe_load_all(Path(path).read_text()):
            if isinstance(document, dict) and document.get("kind") == "ServiceLevelObjective":
                slo = ServiceLevelObjective.model_validate(document)
                resolved = resolve_queries(slo.spec.indicator, "5m")
                found += [query for query in (resolved.error_ratio, resolved.request_rate) if query]
            if isinstance(document, dict) and document.get("kind") == "ReleaseGate":
                found += [check["query"] for check in document["spec"].get("checks") or []]
    return found


@pytest.mark.parametrize("query", ACCEPTED_BY_BOTH + example_queries())
def test_valid_queries_pass_the_check_and_prometheus(prometheus: Prometheus, query: str) -> None:
    assert promql_syntax_error(query) is None
    assert prometheus_error(prometheus, query) is None
