"""The Helm chart installed into the test cluster, and the operator run as its ServiceAccount: for
tests of what the chart's values and RBAC give the operator."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import yaml

from harness.cluster import ROOT, Cluster
from harness.kube import get

CHART = str(ROOT / "charts" / "slogate")
PROMETHEUS = "http://prometheus.monitoring:9090"
LOGS = ROOT / ".cluster" / "logs"


@contextmanager
def extra_namespaces(cluster: Cluster, count: int) -> Iterator[list[str]]:
    names = [f"t-{uuid.uuid4().hex[:10]}" for _ in range(count)]
    for name in names:
        cluster.kubectl("create", "namespace", name)
    yield names
    for name in names:
        cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@contextmanager
def installed(cluster: Cluster, release: str, namespace: str, *values: str) -> Iterator[str]:
    """The chart installed as ``release``; uninstalled afterwards even when the test failed."""
    cluster.helm("install", release, CHART, "-n", namespace, "--set", f"prometheus.url={PROMETHEUS}", *values)
    try:
        yield release
    finally:
        cluster.helm("uninstall", release, "-n", namespace, "--wait", check=False)


def namespaced(*namespaces: str) -> tuple[str, ...]:
    """Helm flags for namespaced mode over ``namespaces``, leaving the cluster's admission policy
    (which other tests' operators install) alone."""
    return ("--set", f"watchNamespaces={{{','.join(namespaces)}}}", "--set", "admission.installPolicy=false")


def can_i(cluster: Cluster, account: str, verb: str, resource: str, *scope: str) -> bool:
    """``kubectl auth can-i --as account``: what the API server's authorizer allows."""
    result = cluster.kubectl("auth", "can-i", verb, resource, "--as", account, *scope, check=False)
    answer = result.stdout.strip()
    assert answer in {"yes", "no"}, f"kubectl auth can-i {verb} {resource}: {result.stderr}{answer}"
    return answer == "yes"


def operator_args(cluster: Cluster, release: str, namespace: str) -> list[str]:
    deployment = get(cluster, "deployment", release, namespace)
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


def service_account_kubeconfig(cluster: Cluster, namespace: str, account: str) -> Cluster:
    """A kubeconfig that authenticates as the ServiceAccount, as the operator pod would."""
    token = cluster.kubectl("create", "token", account, "-n", namespace, "--duration=1h").stdout.strip()
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": admin["clusters"][:1],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [
            {"name": account, "context": {"cluster": admin["clusters"][0]["name"], "user": account}}
        ],
        "current-context": account,
    }
    path = LOGS / f"kubeconfig-{namespace}-{account}"
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return Cluster(kubeconfig=path, source=f"ServiceAccount {namespace}/{account}")
