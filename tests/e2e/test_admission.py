"""Holds applied at admission: a deploy that arrives during a hold never rolls a pod.

Against the real API server (MutatingAdmissionPolicy served, as in 1.36), the real Deployment and
Argo Rollouts controllers, and the operator. The webhook fallback runs on a second control plane
whose API server does not serve the policy API.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cluster import ROOT, Cluster
from harness.kube import apply, get, merge_patch
from harness.manifests import canary_rollout, deployment, image_patch
from harness.observe import (
    annotations_of,
    deployment_rolled_out,
    event_reasons,
    pods_with_image,
    spec_paused,
)
from harness.operator import OperatorProcess, install_crds, running_operator, start_operator
from harness.processes import free_port
from harness.prometheus import Prometheus
from harness.slogate import freeze
from harness.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

POLICY_MANIFEST = ROOT / "deploy" / "admission" / "slogate-hold.yaml"
WITHOUT_POLICY_API = (
    "--runtime-config=admissionregistration.k8s.io/v1/mutatingadmissionpolicies=false,"
    "admissionregistration.k8s.io/v1/mutatingadmissionpolicybindings=false"
    # With the API off, the admission plugin waits forever for informers of resources that are not
    # served, and the API server's bootstrap hooks fail; a cluster without the API runs without it.
    " --disable-admission-plugins=MutatingAdmissionPolicy"
    # A webhook behind a Service is called at one of its endpoints, as kube-proxy would pick one;
    # there is no kube-proxy here, so the API server picks (the test of two replicas needs it).
    " --enable-aggregator-routing=true"
)
CHART = ROOT / "charts" / "slogate"
WEBHOOK_CONFIGURATION = "slogate-hold.slogate.dev"
WEBHOOK_REPLICA_ADDRESSES = ("10.254.0.1", "10.254.0.2")
"""Addresses the two webhook replicas listen on, aliased on lo: endpoints may not be loopback."""


def replicasets_of(cluster: Cluster, namespace: str, app: str) -> list[dict[str, Any]]:
    listing = json.loads(
        cluster.kubectl("get", "rs", "-n", namespace, "-l", f"app={app}", "-o", "json").stdout
    )
    return list(listing["items"])


def pods_of_image(cluster: Cluster, namespace: str, app: str, image: str) -> int:
    return len(pods_with_image(cluster, namespace, app, image))


def holdset_present(cluster: Cluster, namespace: str) -> bool:
    found = cluster.kubectl("get", "holdsets", "slogate", "-n", namespace, check=False)
    return found.returncode == 0


def admission_holds(cluster: Cluster, namespace: str) -> bool:
    """Whether the API server's admission already holds a new Deployment here, asked with a
    server-side dry run: a HoldSet reaches the admission policy through the API server's informer,
    a moment after it is written (measured here: up to about a second)."""
    probe = deployment("admission-probe", "registry.example/probe:1")
    created = cluster.kubectl(
        "create", "--dry-run=server", "-o", "json", "-n", namespace, "-f", "-", input=json.dumps(probe)
    )
    return bool(json.loads(created.stdout)["spec"].get("paused"))


def start_freeze(cluster: Cluster, namespace: str, name: str = "release-freeze") -> None:
    apply(cluster, freeze(name, duration="2h"), namespace)
    wait_until(lambda: holdset_present(cluster, namespace), 15, "the operator to publish the freeze's hold")
    wait_until(lambda: admission_holds(cluster, namespace), 15, "admission to hold with the freeze's HoldSet")


def rollout_phase(cluster: Cluster, namespace: str, name: str) -> str:
    return str((get(cluster, "rollout", name, namespace).get("status") or {}).get("phase"))


def test_during_a_freeze_deploys_roll_no_pod_and_all_roll_out_when_it_ends(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    apply(cluster, deployment("api", "registry.example/api:1"), namespace)
    apply(cluster, canary_rollout("web", "registry.example/web:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "api", "registry.example/api:1"), 60, "api:1"
    )
    wait_until(lambda: rollout_phase(cluster, namespace, "web") == "Healthy", 120, "web:1 Healthy")
    start_freeze(cluster, namespace)

    # The same write that changes the template pauses it: no new ReplicaSet for the Deployment.
    merge_patch(cluster, "deployment", "api", namespace, image_patch("registry.example/api:2"))
    assert spec_paused(cluster, "deployment", "api", namespace)
    held = annotations_of(cluster, "deployment", "api", namespace)
    assert held["slogate.dev/held"] == "true"
    assert "ChangeFreeze/release-freeze" in held["slogate.dev/reason"]
    merge_patch(cluster, "rollout", "web", namespace, image_patch("registry.example/web:2"))
    assert spec_paused(cluster, "rollout", "web", namespace)
    apply(cluster, deployment("worker", "registry.example/worker:1"), namespace)
    assert spec_paused(cluster, "deployment", "worker", namespace)
    apply(cluster, canary_rollout("edge", "registry.example/edge:1"), namespace)
    assert spec_paused(cluster, "rollout", "edge", namespace)

    time.sleep(5)
    assert len(replicasets_of(cluster, namespace, "api")) == 1
    assert replicasets_of(cluster, namespace, "worker") == []
    for app, image in (("api", "api:2"), ("web", "web:2"), ("worker", "worker:1"), ("edge", "edge:1")):
        assert pods_of_image(cluster, namespace, app, f"registry.example/{image}") == 0, image
    # api and web were already held by the operator when the freeze began; worker and edge are new
    # and were held by admission alone.
    wait_until(
        lambda: "HeldAtAdmission" in event_reasons(cluster, namespace, "worker"),
        15,
        "the admission hold's Event",
    )
    assert annotations_of(cluster, "deployment", "worker", namespace)["slogate.dev/held-by"] == "admission"
    assert annotations_of(cluster, "rollout", "edge", namespace)["slogate.dev/held-by"] == "admission"

    cluster.kubectl("delete", "sgfreeze", "release-freeze", "-n", namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "api", "registry.example/api:2"), 90, "api:2"
    )
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "worker", "registry.example/worker:1"),
        90,
        "worker:1",
    )
    wait_until(
        lambda: pods_of_image(cluster, namespace, "web", "registry.example/web:2") > 0, 120, "web:2 pods"
    )
    wait_until(
        lambda: pods_of_image(cluster, namespace, "edge", "registry.example/edge:1") > 0, 120, "edge pods"
    )
    wait_until(lambda: not holdset_present(cluster, namespace), 15, "the HoldSet to go with the last hold")


def test_an_emergency_change_passes_the_freeze_at_once_and_is_audited(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    apply(cluster, deployment("payments", "registry.example/payments:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "payments", "registry.example/payments:1"), 60, "v1"
    )
    start_freeze(cluster, namespace)
    emergency = image_patch("registry.example/payments:hotfix")
    emergency["spec"]["template"]["metadata"] = {"annotations": {"slogate.dev/change-type": "emergency"}}
    merge_patch(cluster, "deployment", "payments", namespace, emergency)

    assert not spec_paused(cluster, "deployment", "payments", namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "payments", "registry.example/payments:hotfix"),
        60,
        "the emergency change to roll out during the freeze",
    )
    wait_until(
        lambda: (
            "waived"
            in annotations_of(cluster, "deployment", "payments", namespace).get("slogate.dev/reason", "")
        ),
        15,
        "the waiver to be recorded on the workload",
    )
    assert "emergency" in annotations_of(cluster, "deployment", "payments", namespace)["slogate.dev/reason"]


def test_with_admission_bypassed_the_operator_still_holds_and_reports_the_leak(
    slogate_crds: Cluster, namespace: str, operator: OperatorProcess
) -> None:
    cluster = slogate_crds
    apply(cluster, deployment("orders", "registry.example/orders:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "orders", "registry.example/orders:1"), 60, "v1"
    )
    start_freeze(cluster, namespace)
    # The operator pauses workloads in a freeze's scope; lift that pause the way a person would, so
    # the next template change meets admission only.
    wait_until(
        lambda: spec_paused(cluster, "deployment", "orders", namespace), 15, "the freeze to hold orders"
    )
    cluster.kubectl("delete", "mutatingadmissionpolicybinding", "slogate-hold")
    try:
        time.sleep(2)  # the API server's policy cache drops the binding
        merge_patch(
            cluster,
            "deployment",
            "orders",
            namespace,
            {"spec": {"paused": False, **image_patch("registry.example/orders:2")["spec"]}},
        )
        wait_until(
            lambda: "HeldLate" in event_reasons(cluster, namespace, "orders"), 30, "the backstop to hold late"
        )
        assert spec_paused(cluster, "deployment", "orders", namespace)
        late = annotations_of(cluster, "deployment", "orders", namespace)["slogate.dev/held-late"]
        assert "held late: admission did not hold this deploy" in late
        assert "slogate_held_late_total" in operator.metrics()
    finally:
        cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(POLICY_MANIFEST))


def wait_for_webhook_configuration(cluster: Cluster) -> None:
    def registered() -> bool:
        found = cluster.kubectl("get", "mutatingwebhookconfiguration", WEBHOOK_CONFIGURATION, check=False)
        return found.returncode == 0

    wait_until(registered, 30, "kopf to register the webhook")


@pytest.fixture(scope="module")
def cluster_without_policy_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A second control plane whose API server does not serve MutatingAdmissionPolicy."""
    state = tmp_path_factory.mktemp("no-policy-api")
    env = {
        **os.environ,
        "SLOGATE_CLUSTER_DIR": str(state),
        "SLOGATE_APISERVER_EXTRA_ARGS": WITHOUT_POLICY_API,
        "SLOGATE_READY_TIMEOUT": "90",
    }
    script = str(ROOT / "hack" / "cluster.sh")
    started = subprocess.run(
        [script, "up"], env=env, check=False, capture_output=True, text=True, timeout=300
    )
    assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
    try:
        cluster = Cluster(
            kubeconfig=Path(state) / "kubeconfig", source="local cluster without the policy API"
        )
        install_crds(cluster)
        yield cluster
    finally:
        subprocess.run([script, "down"], env=env, check=False, capture_output=True, timeout=300)


def test_the_webhook_holds_the_same_way_where_the_policy_api_is_not_served(
    cluster_without_policy_api: Cluster, prometheus: Prometheus
) -> None:
    cluster = cluster_without_policy_api
    served = cluster.kubectl("api-resources", "--api-group=admissionregistration.k8s.io").stdout
    assert "mutatingadmissionpolicies" not in served
    namespace = "webhook-holds"
    cluster.kubectl("create", "namespace", namespace)
    apply(cluster, deployment("api", "registry.example/api:1"), namespace)
    wait_until(
        lambda: deployment_rolled_out(cluster, namespace, "api", "registry.example/api:1"), 60, "api:1"
    )
    log = ROOT / ".cluster" / "logs" / "operator-webhook.log"
    with running_operator(
        cluster,
        prometheus.url,
        log,
        f"--namespace={namespace}",
        "--admission-webhook-host=127.0.0.1",
        f"--admission-webhook-port={free_port()}",
    ) as running:
        assert 'slogate_admission_mode{mode="Webhook"} 1.0' in running.metrics()
        start_freeze(cluster, namespace)
        wait_for_webhook_configuration(cluster)
        merge_patch(cluster, "deployment", "api", namespace, image_patch("registry.example/api:2"))
        assert spec_paused(cluster, "deployment", "api", namespace)
        apply(cluster, deployment("worker", "registry.example/worker:1"), namespace)
        assert spec_paused(cluster, "deployment", "worker", namespace)
        assert (
            annotations_of(cluster, "deployment", "worker", namespace)["slogate.dev/held-by"] == "admission"
        )
        time.sleep(3)
        assert len(replicasets_of(cluster, namespace, "api")) == 1
        assert replicasets_of(cluster, namespace, "worker") == []
        enforced = get(cluster, "holdset", "slogate", namespace)["status"]["enforcedBy"]
        assert enforced == "Webhook"

        cluster.kubectl("delete", "sgfreeze", "release-freeze", "-n", namespace)
        wait_until(
            lambda: deployment_rolled_out(cluster, namespace, "api", "registry.example/api:2"), 90, "api:2"
        )
        wait_until(
            lambda: deployment_rolled_out(cluster, namespace, "worker", "registry.example/worker:1"),
            90,
            "worker",
        )


@contextmanager
def loopback_aliases(addresses: tuple[str, ...]) -> Iterator[None]:
    added = []
    try:
        for address in addresses:
            result = subprocess.run(
                ["ip", "addr", "add", f"{address}/32", "dev", "lo"],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0 and "File exists" not in result.stderr:
                pytest.skip(
                    f"cannot alias {address} on lo (needs root and iproute2): {result.stderr.strip()}"
                )
            if result.returncode == 0:
                added.append(address)
        yield
    finally:
        for address in added:
            subprocess.run(
                ["ip", "addr", "del", f"{address}/32", "dev", "lo"], check=False, capture_output=True
            )


def chart_webhook_certificate(cluster: Cluster, release: str, namespace: str, directory: Path) -> Path:
    """The certificate the real chart makes for ``release`` in ``namespace``, as its pods mount it."""
    rendered = cluster.helm(
        "template",
        release,
        str(CHART),
        "-n",
        namespace,
        "--set",
        "prometheus.url=http://prometheus.monitoring:9090",
        "--set",
        "admission.mode=webhook",
    ).stdout
    secret = next(
        document
        for document in yaml.safe_load_all(rendered)
        if document
        and document["kind"] == "Secret"
        and document["metadata"]["name"] == f"{release}-webhook-tls"
    )
    directory.mkdir(parents=True)
    for key, value in secret["data"].items():
        (directory / key).write_bytes(base64.b64decode(value))
    return directory


def webhook_answers(operator: OperatorProcess) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in operator.metrics().splitlines()
        if line.startswith("slogate_admission_reviews_total{")
    )


def acting(operator: OperatorProcess) -> bool:
    return "slogate_leader 1.0" in operator.metrics().splitlines()


def webhook_endpoints(name: str, port: int, addresses: tuple[str, ...]) -> dict[str, Any]:
    """The Service's Endpoints as the endpoints controller keeps them: the Ready replicas."""
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": name},
        "subsets": [
            {"addresses": [{"ip": each} for each in addresses], "ports": [{"name": "webhook", "port": port}]}
        ],
    }


def test_either_webhook_replica_holds_with_the_chart_certificate_the_standby_too(
    cluster_without_policy_api: Cluster, prometheus: Prometheus, tmp_path: Path
) -> None:
    """The chart's two replicas as the API server sees them: one Service in front of both, one
    caBundle. Writes reach the leader first; then the leader's node is lost and the Service has only
    the standby, which must hold every deploy at admission at once, from the HoldSets it watches,
    with the same certificate. A replica whose certificate the caBundle did not name would let
    every deploy through (failurePolicy Ignore)."""
    cluster, namespace, release = cluster_without_policy_api, "webhook-replicas", "slogate-ha"
    cluster.kubectl("create", "namespace", namespace)
    port, service_name = free_port(), f"{release}-webhook"
    leader_address, standby_address = WEBHOOK_REPLICA_ADDRESSES
    with loopback_aliases(WEBHOOK_REPLICA_ADDRESSES):
        certificate = chart_webhook_certificate(cluster, release, namespace, tmp_path / "webhook-tls")
        service = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": service_name},
            "spec": {"ports": [{"name": "webhook", "port": port, "targetPort": port}]},
        }
        apply(cluster, service, namespace)
        apply(cluster, webhook_endpoints(service_name, port, (leader_address,)), namespace)

        def replica(index: int, address: str) -> OperatorProcess:
            return start_operator(
                cluster,
                prometheus.url,
                ROOT / ".cluster" / "logs" / f"operator-{namespace}-{index}.log",
                f"--namespace={namespace}",
                "--admission=webhook",
                f"--admission-webhook-service={namespace}/{service_name}",
                f"--admission-webhook-port={port}",
                f"--admission-webhook-address={address}",
                f"--admission-webhook-cert-dir={certificate}",
                f"--leader-election-lease={namespace}/{release}",
                env={"POD_ID": f"{release}-{index}"},
            )

        leader = replica(0, leader_address)
        standby: OperatorProcess | None = None
        try:
            wait_until(lambda: acting(leader), 30, "the first replica to take the Lease")
            standby = replica(1, standby_address)
            assert not acting(standby)
            apply(cluster, freeze("release-freeze", duration="2h"), namespace)
            wait_until(lambda: holdset_present(cluster, namespace), 30, "the leader to publish the hold")
            wait_for_webhook_configuration(cluster)
            configuration = get(cluster, "mutatingwebhookconfiguration", WEBHOOK_CONFIGURATION, "default")
            bundles = {
                base64.b64decode(hook["clientConfig"]["caBundle"]) for hook in configuration["webhooks"]
            }
            assert bundles == {(certificate / "ca.crt").read_bytes()}, "the caBundle is not the chart's CA"

            def deploy_held(names: list[str]) -> None:
                for name in names:
                    apply(cluster, deployment(name, f"registry.example/{name}:1"), namespace)
                    assert spec_paused(cluster, "deployment", name, namespace), f"{name} was let through"
                    held_by = annotations_of(cluster, "deployment", name, namespace)["slogate.dev/held-by"]
                    assert held_by == "admission", name

            first, second = [f"a-{index}" for index in range(6)], [f"b-{index}" for index in range(6)]
            deploy_held(first)
            assert webhook_answers(leader) >= len(first)
            assert webhook_answers(standby) == 0

            # The leader's node is lost: its endpoint goes, and so does the API server's connection.
            apply(cluster, webhook_endpoints(service_name, port, (standby_address,)), namespace)
            leader.kill()
            deploy_held(second)
            assert webhook_answers(standby) >= len(second)
            assert not acting(standby), "the standby answered as the leader: the test lost its point"
            time.sleep(3)
            for name in first + second:
                assert replicasets_of(cluster, namespace, name) == [], name
        finally:
            leader.stop()
            if standby is not None:
                standby.stop()
