"""Recording rules delivered by the running operator on the local cluster, whose
kube-controller-manager runs the real garbage collector: with prometheus-operator's PrometheusRule
CRD installed, an SLO gets its PrometheusRule, a spec change updates it, and deleting the SLO
removes it; the ConfigMap option keeps every SLO's group in one key; and the chart's RBAC lets the
operator do both, as its ServiceAccount, in namespaced mode."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from harness.chart import extra_namespaces, installed, namespaced, operator_args, service_account_kubeconfig
from harness.cluster import ROOT, Cluster, component_dir
from harness.kube import apply, get, list_items, merge_patch
from harness.operator import OperatorProcess, running_operator
from harness.prometheus import Prometheus
from harness.slogate import REQUESTS, slo
from harness.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

CRD_FILE = "monitoring.coreos.com_prometheusrules.yaml"
LOGS = ROOT / ".cluster" / "logs"


@pytest.fixture(scope="module")
def prometheus_rule_crd(slogate_crds: Cluster) -> Iterator[Cluster]:
    crd = component_dir("prometheus-operator", "PROMETHEUS_OPERATOR_VERSION") / CRD_FILE
    if not crd.exists():
        pytest.skip(f"{crd} is missing; run 'make prometheus-operator-crd'")
    slogate_crds.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(crd))
    slogate_crds.kubectl("wait", "--for=condition=established", "--timeout=60s", "-f", str(crd))
    yield slogate_crds
    slogate_crds.kubectl("delete", "-f", str(crd), "--wait=false", check=False)


@pytest.fixture
def delivering(
    prometheus_rule_crd: Cluster, prometheus: Prometheus, namespace: str
) -> Iterator[OperatorProcess]:
    """The operator in auto mode (it finds the CRD served at start), with the ConfigMap option."""
    with running_operator(
        prometheus_rule_crd,
        prometheus.url,
        LOGS / f"operator-{namespace}.log",
        f"--namespace={namespace}",
        "--prometheus-rule-labels=release=kube-prometheus-stack",
        f"--rules-configmap={namespace}/slogate-rules",
    ) as running:
        yield running


def rule_of(cluster: Cluster, namespace: str, name: str) -> dict[str, Any] | None:
    found = [
        item
        for item in list_items(cluster, "prometheusrules.monitoring.coreos.com", namespace)
        if item["metadata"]["name"] == f"slogate-{name}"
    ]
    return found[0] if found else None


def exprs(rule: dict[str, Any]) -> list[str]:
    return [each["expr"] for each in rule["spec"]["groups"][0]["rules"]]


def config_map_groups(cluster: Cluster, namespace: str, name: str = "slogate-rules") -> list[str] | None:
    result = cluster.kubectl("get", "configmap", name, "-n", namespace, "-o", "yaml", check=False)
    if result.returncode != 0:
        return None
    document = yaml.safe_load(yaml.safe_load(result.stdout)["data"]["slogate-rules.yaml"])
    return [group["name"] for group in document["groups"]]


def test_an_slo_gets_a_prometheus_rule_updated_with_it_and_collected_after_it(
    delivering: OperatorProcess, prometheus_rule_crd: Cluster, namespace: str
) -> None:
    cluster = prometheus_rule_crd
    apply(cluster, slo("checkout", "checkout", app="checkout"), namespace)
    rule = wait_until(lambda: rule_of(cluster, namespace, "checkout"), 30, "the SLO's PrometheusRule")
    owner = get(cluster, "servicelevelobjective", "checkout", namespace)
    assert rule["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "slogate"
    assert rule["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    (reference,) = rule["metadata"]["ownerReferences"]
    assert reference["uid"] == owner["metadata"]["uid"]
    assert (reference["controller"], reference["blockOwnerDeletion"]) == (True, False)
    (group,) = rule["spec"]["groups"]
    assert group["name"] == f"slogate/{namespace}/checkout"
    assert group["interval"] == "1m"
    assert [each["record"] for each in group["rules"]] == [
        "slogate:slo_errors:rate5m",
        "slogate:slo_requests:rate5m",
    ]
    assert all("[5m]" in expr for expr in exprs(rule))

    indicator = {
        "ratio": {
            "errors": f'sum(rate({REQUESTS}{{service="checkout",code=~"50."}}[$window]))',
            "total": f'sum(rate({REQUESTS}{{service="checkout"}}[$window]))',
        }
    }
    merge_patch(cluster, "servicelevelobjective", "checkout", namespace, {"spec": {"indicator": indicator}})
    updated = wait_until(
        lambda: (found := rule_of(cluster, namespace, "checkout")) and '"50."' in exprs(found)[0] and found,
        30,
        "the PrometheusRule to follow the SLO's new indicator",
    )
    assert (
        updated["spec"]["groups"][0]["rules"][0]["labels"]["slogate_indicator"]
        != (group["rules"][0]["labels"]["slogate_indicator"])
    ), "a changed indicator starts new series"

    cluster.kubectl("delete", "servicelevelobjective", "checkout", "-n", namespace)
    wait_until(
        lambda: rule_of(cluster, namespace, "checkout") is None,
        60,
        "the garbage collector to delete the PrometheusRule of the deleted SLO",
        interval=1,
    )


def test_the_config_map_holds_every_slos_group_sorted(
    delivering: OperatorProcess, prometheus_rule_crd: Cluster, namespace: str
) -> None:
    cluster = prometheus_rule_crd
    for name in ("web", "api"):
        apply(cluster, slo(name, name, app=name), namespace)
    expected = [f"slogate/{namespace}/api", f"slogate/{namespace}/web"]
    wait_until(lambda: config_map_groups(cluster, namespace) == expected, 30, "both groups in the ConfigMap")
    cluster.kubectl("delete", "servicelevelobjective", "web", "-n", namespace)
    wait_until(
        lambda: config_map_groups(cluster, namespace) == expected[:1],
        30,
        "the deleted SLO's group to leave the ConfigMap",
    )


def test_the_charts_namespaced_rbac_lets_the_operator_deliver_both(
    prometheus_rule_crd: Cluster, prometheus: Prometheus, namespace: str
) -> None:
    cluster = prometheus_rule_crd
    release = f"slogate-{namespace}"
    with (
        extra_namespaces(cluster, 1) as (team,),
        installed(
            cluster,
            release,
            namespace,
            *namespaced(team),
            "--set",
            "recordingRules.configMap.enabled=true",
            "--set",
            "recordingRules.prometheusRuleLabels.release=kps",
        ),
    ):
        as_operator = service_account_kubeconfig(cluster, namespace, release)
        log = LOGS / f"operator-chart-rules-{namespace}.log"
        flags = ("--namespace=", "--leader-election-lease=", "--prometheus-rule", "--rules-configmap=")
        rendered = [arg for arg in operator_args(cluster, release, namespace) if arg.startswith(flags)]
        assert f"--rules-configmap={namespace}/{release}-rules" in rendered
        with running_operator(as_operator, prometheus.url, log, *rendered):
            apply(cluster, slo("checkout", "checkout", app="checkout"), team)
            rule = wait_until(lambda: rule_of(cluster, team, "checkout"), 30, "the PrometheusRule")
            assert rule["metadata"]["labels"]["release"] == "kps"
            wait_until(
                lambda: (
                    config_map_groups(cluster, namespace, f"{release}-rules") == [f"slogate/{team}/checkout"]
                ),
                30,
                "the rules ConfigMap in the release namespace",
            )
        text = log.read_text()
        for refusal in ("Forbidden", "forbidden", "failed"):
            assert refusal not in text, f"{refusal!r} in {log}"
