"""slogate's recording rules and long-window queries, checked by the real Prometheus tools: promtool
accepts the rule file for every indicator kind, and Prometheus accepts and answers every query
that reads the recorded series or aggregates raw data before the range."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from harness.prometheus import Prometheus
from harness.slogate import REQUESTS
from slogate.api.slo import Indicator
from slogate.domain.recording import history_query, recorded_queries, rule_group, subquery_queries

pytestmark = pytest.mark.prometheus

ERRORS = f'sum(rate({REQUESTS}{{service="rules",code=~"5.."}}[$window]))'
GOOD = f'sum(rate({REQUESTS}{{service="rules",code!~"5.."}}[$window]))'
TOTAL = f'sum(rate({REQUESTS}{{service="rules"}}[$window]))'
INDICATORS: dict[str, dict[str, Any]] = {
    "errors-total": {"ratio": {"errors": ERRORS, "total": TOTAL}},
    "good-total": {"ratio": {"good": GOOD, "total": TOTAL}},
    "latency": {"latency": {"metric": "http_duration_seconds", "matchers": 'job="a"', "threshold": "0.3"}},
    "error-ratio-with-rate": {"errorRatio": {"query": f"({ERRORS}) / ({TOTAL})", "requestRate": TOTAL}},
    "bare-error-ratio": {"errorRatio": {"query": f"({ERRORS}) / ({TOTAL})"}},
}


def test_promtool_accepts_the_rules_of_every_indicator_kind(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (make prometheus installs Debian's package)")
    groups = [
        rule_group("shop", name, Indicator.model_validate(spec)).as_dict()
        for name, spec in INDICATORS.items()
    ]
    path = tmp_path / "slogate-rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    checked = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"{2 * len(INDICATORS)} rules found" in checked.stdout


@pytest.mark.parametrize("kind", sorted(INDICATORS))
def test_prometheus_answers_every_long_window_query(prometheus: Prometheus, kind: str) -> None:
    prometheus.exporter.add("rules", ok=100, errors=1)
    indicator = Indicator.model_validate(INDICATORS[kind])
    window = timedelta(days=3)
    recorded, raw = recorded_queries("shop", kind, indicator, window), subquery_queries(indicator, window)
    queries = [
        recorded.error_ratio,
        raw.error_ratio,
        history_query("shop", kind, indicator, timedelta(days=30)),
        *(query for query in (recorded.request_rate, raw.request_rate) if query is not None),
    ]
    for query in queries:
        answer = requests.post(f"{prometheus.url}/api/v1/query", data={"query": query}, timeout=10)
        assert answer.status_code == 200, f"{query}: {answer.text}"
        assert answer.json()["status"] == "success"
