"""The ``slogate`` CLI against the local cluster, with the operator running and a real Prometheus.

Each command is run as a user runs it (a subprocess with --kubeconfig and -n), and what it prints is
checked against what the operator did to the cluster.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cluster import Cluster
from harness.kube import apply, get, merge_patch
from harness.manifests import canary_rollout
from harness.observe import ready_deployment, spec_paused, status_of
from harness.operator import OperatorProcess
from harness.processes import free_port
from harness.prometheus import Prometheus
from harness.slogate import gate, incident, slo
from harness.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


def slogate(
    cluster: Cluster, namespace: str, *args: str, kubeconfig: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "slogate.cli",
            *args,
            "--kubeconfig",
            str(kubeconfig or cluster.kubeconfig),
            "-n",
            namespace,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )


def succeeds(cluster: Cluster, namespace: str, *args: str) -> str:
    result = slogate(cluster, namespace, *args)
    assert result.returncode == 0, f"slogate {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
    assert result.stderr == ""
    return result.stdout


def as_json(cluster: Cluster, namespace: str, *args: str) -> Any:
    return json.loads(succeeds(cluster, namespace, *args, "-o", "json"))


def test_freeze_holds_releases_and_unfreeze_ends_it_keeping_the_record(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    ready_deployment(cluster, namespace, "api")

    created = as_json(
        cluster, namespace, "freeze", "2h", "--reason", "database migration", "--selector", "app=api"
    )
    assert created["namespace"] == namespace
    assert created["scope"] == "app=api"
    assert created["requestedBy"], "who froze is recorded, as the API server authenticates them"
    name = created["name"]
    frozen = get(cluster, "sgfreeze", name, namespace)
    assert frozen["spec"]["duration"] == "2h"
    assert frozen["spec"]["selector"] == {"matchLabels": {"app": "api"}}
    wait_until(lambda: spec_paused(cluster, "deployment", "api", namespace), 15, "the freeze to hold api")

    wait_until(
        lambda: as_json(cluster, namespace, "status")["heldWorkloads"], 15, "status to list the held workload"
    )
    table = succeeds(cluster, namespace, "status")
    assert "Active freezes:" in table
    assert name in table
    assert "deployment/api" in table
    assert "database migration" in table
    enforced = as_json(cluster, namespace, "status")["admission"]
    assert enforced == [{"namespace": namespace, "holds": 1, "enforcedBy": "MutatingAdmissionPolicy"}]

    explained = as_json(cluster, namespace, "explain", "deployment/api")
    assert explained["decision"] == "Hold"
    assert explained["held"] is True
    assert f"ChangeFreeze/{name}" in explained["reason"]
    assert [f["name"] for f in explained["freezes"]] == [name]
    assert explained["expectedClear"] is not None
    assert "HELD (decision Hold)" in succeeds(cluster, namespace, "explain", "deploy/api")

    ended = yaml.safe_load(succeeds(cluster, namespace, "unfreeze", "-o", "yaml"))
    assert [item["name"] for item in ended] == [name]
    wait_until(
        lambda: not spec_paused(cluster, "deployment", "api", namespace), 15, "unfreeze to release api"
    )
    kept = get(cluster, "sgfreeze", name, namespace)
    assert "duration" not in kept["spec"]
    assert kept["spec"]["end"] == ended[0]["endedAt"]
    assert "slogate.dev/ended-at" in kept["metadata"]["annotations"]
    wait_until(
        lambda: status_of(cluster, "sgfreeze", name, namespace).get("active") is False,
        15,
        "the freeze status to report it over",
    )
    assert "no freeze made by 'slogate freeze' is in force" in succeeds(cluster, namespace, "unfreeze")


def test_explain_reads_rollouts_too(slogate_crds: Cluster, namespace: str, operator: OperatorProcess) -> None:
    cluster = slogate_crds
    apply(cluster, canary_rollout("canary", "registry.example/canary:1"), namespace)
    wait_until(
        lambda: status_of(cluster, "rollout", "canary", namespace).get("phase") == "Healthy", 120, "canary:1"
    )
    succeeds(cluster, namespace, "freeze", "1h", "--reason", "release train", "--name", "train")
    wait_until(lambda: spec_paused(cluster, "rollout", "canary", namespace), 15, "the freeze to hold canary")
    explained = as_json(cluster, namespace, "explain", "rollout/canary")
    assert explained["workload"] == {"kind": "Rollout", "namespace": namespace, "name": "canary"}
    assert explained["decision"] == "Hold"
    assert "ChangeFreeze/train" in explained["reason"]
    assert "Rollout " + namespace + "/canary: HELD" in succeeds(cluster, namespace, "explain", "ro/canary")


def test_explain_and_status_show_every_input_of_a_burn_hold(
    slogate_crds: Cluster, prometheus: Prometheus, namespace: str, operator: OperatorProcess
) -> None:
    cluster, service = slogate_crds, f"web-{namespace}"
    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
    apply(cluster, slo("web-availability", service, app="web"), namespace)
    apply(cluster, gate("web", app="web"), namespace)
    ready_deployment(cluster, namespace, "web")
    wait_until(
        lambda: status_of(cluster, "sgslo", "web-availability", namespace).get("state") == "Healthy",
        30,
        "the SLO to be measured Healthy",
    )
    allowed = as_json(cluster, namespace, "explain", "deployment/web")
    assert allowed["decision"] == "Proceed"
    assert "ALLOWED" in succeeds(cluster, namespace, "explain", "deployment/web")

    prometheus.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.2)
    try:
        wait_until(lambda: spec_paused(cluster, "deployment", "web", namespace), 30, "the burn to hold web")
        explained = wait_until(
            lambda: (
                (view := as_json(cluster, namespace, "explain", "deployment/web"))["checks"]
                and view["decision"] == "Hold"
                and view
            ),
            15,
            "explain to show the gate's checks",
        )
        failing = [check for check in explained["checks"] if check["result"] == "FAIL"]
        assert [check["check"] for check in failing] == ["BurnRate"]
        assert failing[0]["gate"] == "web"
        assert failing[0]["source"] == "ServiceLevelObjective/web-availability"
        assert float(failing[0]["observed"]) > 4
        assert failing[0]["limit"] == "4"
        assert explained["gates"] == ["web"]
        [measured] = explained["slos"]
        assert measured["name"] == "web-availability"
        assert measured["budgetRemainingPercent"] is not None
        assert set(measured["burnRates"]) >= {"10s", "30s"}
        assert any(event["reason"] == "Held" for event in explained["events"])

        text = succeeds(cluster, namespace, "explain", "deployment/web")
        for expected in ("HELD", "BurnRate", "FAIL", "web-availability", "Recent slogate events", "Held"):
            assert expected in text

        status = as_json(cluster, namespace, "status")
        assert [s["name"] for s in status["slos"]] == ["web-availability"]
        assert [w["name"] for w in status["heldWorkloads"]] == ["web"]
        everywhere = as_json(cluster, namespace, "status", "-A")
        assert any(s["namespace"] == namespace for s in everywhere["slos"])
        assert f"{namespace}/web-availability" in succeeds(cluster, namespace, "status", "-A")
    finally:
        prometheus.exporter.stop_traffic(service)


def test_postmortem_drafts_the_incident_story(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    ready_deployment(cluster, namespace, "checkout")
    apply(cluster, incident("checkout-5xx", app="checkout", severity="P1"), namespace)
    wait_until(
        lambda: spec_paused(cluster, "deployment", "checkout", namespace), 15, "the P1 to hold checkout"
    )
    wait_until(
        lambda: as_json(cluster, namespace, "status")["openIncidents"], 15, "status to list the incident"
    )
    merge_patch(cluster, "sginc", "checkout-5xx", namespace, {"spec": {"state": "Resolved"}})
    wait_until(
        lambda: status_of(cluster, "sginc", "checkout-5xx", namespace).get("resolvedAt"),
        20,
        "the incident to be recorded resolved",
    )
    wait_until(
        lambda: not spec_paused(cluster, "deployment", "checkout", namespace), 15, "resolving to release"
    )

    draft = succeeds(cluster, namespace, "postmortem", "checkout-5xx")
    assert draft.startswith("# Postmortem (draft): checkout returns errors")
    for expected in (
        "## Summary",
        "| Severity | P1 |",
        "## Impact on SLOs",
        "## Timeline (UTC)",
        "Incident Detected",
        "Incident Resolved",
        "slogate Held deployment/checkout",
        "## Deployments before and during the incident",
        "registry.example/checkout:1",
        "## Release gate decisions",
        "## Action items",
    ):
        assert expected in draft, f"{expected!r} missing from:\n{draft}"
    facts = as_json(cluster, namespace, "postmortem", "checkout-5xx")
    assert facts["incident"]["affectedWorkloads"] == ["deployment/checkout"]
    assert {d["reason"] for d in facts["gateDecisions"]} >= {"Held", "Released"}


def test_errors_name_the_problem_and_what_to_do(
    slogate_crds: Cluster, namespace: str, tmp_path: Path
) -> None:
    cluster = slogate_crds
    missing = slogate(cluster, namespace, "explain", "deployment/nope")
    assert missing.returncode == 1
    assert f"Deployment 'nope' not found in namespace '{namespace}'" in missing.stderr
    assert "Traceback" not in missing.stderr

    assert "name a workload as deployment/NAME" in slogate(cluster, namespace, "explain", "nope").stderr
    assert "invalid duration '2x'" in slogate(cluster, namespace, "freeze", "2x", "--reason", "r").stderr
    assert "Incident 'nope' not found" in slogate(cluster, namespace, "postmortem", "nope").stderr
    assert "no ChangeFreeze named nope" in slogate(cluster, namespace, "unfreeze", "nope").stderr

    unreachable = tmp_path / "kubeconfig"
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{free_port()}"
    unreachable.write_text(yaml.safe_dump(config))
    down = slogate(cluster, namespace, "status", kubeconfig=unreachable)
    assert down.returncode == 1
    assert "cannot reach the API server" in down.stderr
    assert "is the cluster up" in down.stderr
