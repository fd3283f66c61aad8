"""``slogate rules`` against a real API server: the rule file it prints for the SLOs of a namespace
loads in ``promtool check rules`` (the Prometheus tool), as YAML and as JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness.cluster import Cluster
from harness.kube import apply
from harness.operator import install_crds
from harness.slogate import slo

pytestmark = pytest.mark.cluster

PROMTOOL = "/usr/bin/promtool"


@pytest.fixture(scope="module")
def crds(cluster: Cluster) -> Cluster:
    install_crds(cluster)
    return cluster


def rules(cluster: Cluster, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "slogate.cli", "rules", "--kubeconfig", str(cluster.kubeconfig)]
    return subprocess.run(
        [*command, "-n", namespace, *args], capture_output=True, text=True, timeout=60, check=False
    )


def promtool_check(path: Path) -> str:
    if not Path(PROMTOOL).exists() and shutil.which("promtool") is None:
        pytest.skip(f"promtool is not installed ({PROMTOOL}); 'make prometheus' installs Debian's")
    tool = PROMTOOL if Path(PROMTOOL).exists() else str(shutil.which("promtool"))
    result = subprocess.run([tool, "check", "rules", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"promtool refused the rule file:\n{result.stdout}{result.stderr}"
    return result.stdout


def test_the_printed_rule_file_loads_in_promtool(crds: Cluster, namespace: str, tmp_path: Path) -> None:
    for name, service in (("web", "web"), ("checkout", "checkout"), ("api", "api")):
        apply(crds, slo(name, service, app=name), namespace)
    result = rules(crds, namespace)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    document = yaml.safe_load(result.stdout)
    assert [group["name"] for group in document["groups"]] == [
        f"slogate/{namespace}/api",
        f"slogate/{namespace}/checkout",
        f"slogate/{namespace}/web",
    ]
    path = tmp_path / "slogate-rules.yaml"
    path.write_text(result.stdout)
    assert "SUCCESS: 6 rules found" in promtool_check(path)

    as_json = rules(crds, namespace, "-o", "json")
    assert as_json.returncode == 0, as_json.stderr
    assert json.loads(as_json.stdout) == document
    json_path = tmp_path / "slogate-rules.json"
    json_path.write_text(as_json.stdout)  # JSON is YAML: promtool reads it as it is
    assert "SUCCESS: 6 rules found" in promtool_check(json_path)


def test_a_namespace_without_slos_gives_an_empty_loadable_file(
    crds: Cluster, namespace: str, tmp_path: Path
) -> None:
    result = rules(crds, namespace)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == {"groups": []}
    path = tmp_path / "empty.yaml"
    path.write_text(result.stdout)
    promtool_check(path)
