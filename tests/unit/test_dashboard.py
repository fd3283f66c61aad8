"""The Grafana dashboard asks only for series the operator exports, so no panel is silently empty."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from harness.cluster import ROOT
from slogate.adapters.telemetry import PrometheusTelemetry
from slogate.reconcile.ports import SloReading

DASHBOARD = ROOT / "dashboards" / "slogate.json"
CHART_DASHBOARD = ROOT / "charts" / "slogate" / "files" / "dashboards" / "slogate.json"

# PromQL functions, aggregations and keywords used in the dashboard, i.e. the identifiers that are
# not metric names. A new function in a panel must be added here, which keeps the check exact.
PROMQL_WORDS = frozenset(
    {
        "sum",
        "max",
        "min",
        "avg",
        "count",
        "by",
        "without",
        "rate",
        "increase",
        "histogram_quantile",
        "label_values",
        "and",
        "or",
        "unless",
        "on",
        "ignoring",
        "bool",
    }
)


def exported_series() -> set[str]:
    """Every sample name the operator's registry serves, with each labelled metric exercised once."""
    telemetry = PrometheusTelemetry()
    telemetry.decision("Deployment", "Hold", "BurnRate")
    telemetry.evaluation(0.1, 1)
    telemetry.prometheus_error()
    telemetry.reconcile_error("workload")
    telemetry.held_late("Deployment", "shop", 2)
    telemetry.admission_mode("MutatingAdmissionPolicy", ("MutatingAdmissionPolicy", "Webhook"))
    telemetry.leader(acting=True)
    telemetry.admission_review("Deployment", held=True)
    telemetry.intake_request("pagerduty", "refused", "bad-signature")
    telemetry.slos([SloReading("shop", "checkout", "Burning", 98.5, -50.0, {"5m": 15.0})])
    return {sample.name for family in telemetry.registry.collect() for sample in family.samples}


def expressions(node: Any) -> Iterator[str]:
    """Every PromQL expression of the dashboard: panel targets and variable queries."""
    if isinstance(node, dict):
        for key, value in node.items():
            # A variable's "query" is PromQL only when it calls something; "prometheus" names a type.
            if isinstance(value, str) and (
                key == "expr" or (key in {"definition", "query"} and "(" in value)
            ):
                yield value
            else:
                yield from expressions(value)
    elif isinstance(node, list):
        for item in node:
            yield from expressions(item)


def metric_names(expression: str) -> set[str]:
    text = re.sub(r'"[^"]*"', "", expression)  # label values
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", "", text)  # range selectors
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    text = re.sub(r"\blabel_values\(\s*([a-zA-Z_:][\w:]*)\s*,\s*\w+\s*\)", r"\1", text)
    names = set(re.findall(r"[a-zA-Z_:][\w:]*", text))
    return names - PROMQL_WORDS


def load() -> dict[str, Any]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return dashboard


def test_the_chart_ships_the_same_dashboard() -> None:
    assert (
        DASHBOARD.resolve() == CHART_DASHBOARD.resolve()
        or DASHBOARD.read_text() == CHART_DASHBOARD.read_text()
    )


def test_every_panel_has_a_query_and_a_unique_id() -> None:
    panels = [panel for panel in load()["panels"] if panel["type"] != "row"]
    assert panels
    for panel in panels:
        assert panel["targets"], panel["title"]
        assert all(target["expr"] for target in panel["targets"]), panel["title"]
    ids = [panel["id"] for panel in load()["panels"]]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("expression", sorted(set(expressions(load()))))
def test_queries_reference_only_exported_metrics(expression: str) -> None:
    names = metric_names(expression)
    assert names, f"no metric found in {expression!r}"
    unknown = names - exported_series()
    assert not unknown, f"{expression!r} uses {sorted(unknown)}, which the operator does not export"


def test_every_exported_metric_has_a_panel() -> None:
    used = {name for expression in expressions(load()) for name in metric_names(expression)}
    families = {name.removesuffix("_total") for name in exported_series() if not name.endswith("_created")}
    bases = {re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
    bases |= {name.removesuffix("_total") for name in used}
    missing = {name for name in families if re.sub(r"_(bucket|sum|count)$", "", name) not in bases}
    assert not missing, f"metrics without a panel: {sorted(missing)}"


def test_the_metric_name_parser_sees_through_promql() -> None:
    expression = (
        'histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket{instance=~"$instance", x="y{z}"}'
        "[$__rate_interval]))) / on (job) b_total"
    )
    assert metric_names(expression) == {"a_seconds_bucket", "b_total"}
