"""The recording rules as delivered: the rule file from SLO bodies, PrometheusRule manifests, and
the ConfigMap's key read back."""

from __future__ import annotations

from typing import Any

import yaml

from slogate.domain.recording import ERRORS_RECORD, REQUESTS_RECORD, SLO_LABEL
from slogate.domain.rulefiles import (
    RULES_KEY,
    config_map_data,
    groups_in_config_map,
    groups_of,
    prometheus_rule,
    prometheus_rule_differs,
    render_yaml,
    rule_file,
)

ERRORS = 'sum(rate(http_requests_total{job="checkout",code=~"5.."}[$window]))'
TOTAL = 'sum(rate(http_requests_total{job="checkout"}[$window]))'


def slo(namespace: str, name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}"},
        "spec": {
            "objective": 99.9,
            "window": "30d",
            "selector": {"matchLabels": {"app": name}},
            "indicator": {"ratio": {"errors": ERRORS, "total": TOTAL}},
            **spec,
        },
    }


def test_one_group_per_valid_slo_sorted_by_namespace_then_name() -> None:
    # "a-b" sorts before "a/..." as a string; by namespace first, "a" comes before "a-b".
    bodies = [slo("a-b", "api"), slo("a", "web"), slo("a", "api")]
    groups, skipped = groups_of(bodies)
    names = [group["name"] for group in rule_file(groups)["groups"]]
    assert names == ["slogate/a/api", "slogate/a/web", "slogate/a-b/api"]
    assert skipped == []


def test_each_group_records_errors_and_requests_with_the_slo_labels() -> None:
    groups, _ = groups_of([slo("shop", "checkout")])
    (group,) = rule_file(groups)["groups"]
    assert group["interval"] == "1m"
    assert [rule["record"] for rule in group["rules"]] == [ERRORS_RECORD, REQUESTS_RECORD]
    assert all(rule["labels"][SLO_LABEL] == "checkout" for rule in group["rules"])
    assert "[5m]" in group["rules"][0]["expr"]
    assert "$window" not in group["rules"][0]["expr"]


def test_an_invalid_slo_is_skipped_with_its_problem() -> None:
    bad = slo("shop", "broken", objective=150)
    groups, skipped = groups_of([slo("shop", "checkout"), bad])
    assert list(groups) == [("shop", "checkout")]
    (note,) = skipped
    assert (note.namespace, note.name) == ("shop", "broken")
    assert "objective" in note.problem
    assert str(note).startswith("skipped ServiceLevelObjective shop/broken: ")


def test_the_yaml_is_deterministic_and_never_folds_promql() -> None:
    long_total = "sum(rate(" + "x" * 300 + "_total[$window]))"
    bodies = [slo("shop", "checkout", indicator={"ratio": {"errors": ERRORS, "total": long_total}})]
    first = render_yaml(rule_file(groups_of(bodies)[0]))
    assert first == render_yaml(rule_file(groups_of(list(reversed(bodies)))[0]))
    assert any(len(line) > 300 for line in first.splitlines())
    assert yaml.safe_load(first) == rule_file(groups_of(bodies)[0])


def test_the_config_map_key_reads_back_by_slo() -> None:
    groups, _ = groups_of([slo("shop", "checkout"), slo("pay", "api")])
    data = config_map_data(groups)
    assert list(data) == [RULES_KEY]
    assert groups_in_config_map(data) == groups


def test_a_config_map_slogate_did_not_write_gives_no_groups() -> None:
    assert groups_in_config_map({}) == {}
    assert groups_in_config_map({RULES_KEY: "groups: [{name: other, rules: []}]"}) == {}
    assert groups_in_config_map({RULES_KEY: ": not yaml : ["}) == {}
    assert groups_in_config_map({RULES_KEY: "just text"}) == {}


def test_the_prometheus_rule_is_owned_by_its_slo_and_labelled_for_a_rule_selector() -> None:
    groups, _ = groups_of([slo("shop", "checkout")])
    manifest = prometheus_rule(
        "shop",
        "checkout",
        "uid-1",
        groups[("shop", "checkout")],
        {"release": "prometheus", "app.kubernetes.io/managed-by": "someone-else"},
    )
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["kind"] == "PrometheusRule"
    metadata = manifest["metadata"]
    assert (metadata["namespace"], metadata["name"]) == ("shop", "slogate-checkout")
    assert metadata["labels"] == {"release": "prometheus", "app.kubernetes.io/managed-by": "slogate"}
    assert metadata["ownerReferences"] == [
        {
            "apiVersion": "slogate.dev/v1alpha1",
            "kind": "ServiceLevelObjective",
            "name": "checkout",
            "uid": "uid-1",
            "controller": True,
            "blockOwnerDeletion": False,
        }
    ]
    assert manifest["spec"] == {"groups": [groups[("shop", "checkout")]]}


def test_a_rule_differs_only_in_what_slogate_writes() -> None:
    groups, _ = groups_of([slo("shop", "checkout")])
    desired = prometheus_rule("shop", "checkout", "uid-1", groups[("shop", "checkout")], {"team": "sre"})
    live = {
        **desired,
        "metadata": {
            **desired["metadata"],
            "resourceVersion": "42",
            "labels": {**desired["metadata"]["labels"], "added-by": "a-human"},
        },
    }
    assert not prometheus_rule_differs(live, desired)
    other = prometheus_rule("shop", "checkout", "uid-2", groups[("shop", "checkout")], {"team": "sre"})
    assert prometheus_rule_differs(live, other), "a recreated SLO (new uid) owns it anew"
    relabelled = prometheus_rule("shop", "checkout", "uid-1", groups[("shop", "checkout")], {"team": "ops"})
    assert prometheus_rule_differs(live, relabelled)
    assert prometheus_rule_differs({**live, "spec": {"groups": []}}, desired)
