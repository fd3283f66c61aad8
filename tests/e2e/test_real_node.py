"""The local cluster's real node (hack/node.sh): a kubelet on containerd and runc from Debian,
registered beside the kwok nodes and tainted, running the image `make image` built, imported into
containerd with no registry.

Skipped, with the reason, only where this machine cannot run containers (not root, or no runc,
containerd or debootstrap); `make deps` installs them from Debian.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.chart import extra_namespaces, installed
from harness.cluster import ROOT, Cluster
from harness.image import Image, build_image, container_runtime_missing
from harness.kube import apply, get
from harness.manifests import deployment
from harness.observe import spec_paused
from harness.processes import free_port
from harness.prometheus import Prometheus
from harness.slogate import freeze
from harness.waiting import wait_until

MISSING = container_runtime_missing("containerd", "ctr")
pytestmark = [
    pytest.mark.cluster,
    pytest.mark.skipif(MISSING is not None, reason=f"cannot run containers: {MISSING}"),
]

NODE = "slogate-node-1"
TAINT = "slogate.dev/real-node"
NODE_SH = str(ROOT / "hack" / "node.sh")
POD_LOGS = ROOT / ".cluster" / "node" / "pod-logs"


@pytest.fixture(scope="module")
def real_node(cluster: Cluster) -> Iterator[Image]:
    """The node up with the image imported; stopped afterwards."""
    work = ROOT / ".cluster" / "image"
    work.mkdir(parents=True, exist_ok=True)
    image = build_image(work / "slogate-image.oci.tar")
    up = subprocess.run([NODE_SH, "up", str(image.archive)], capture_output=True, text=True, timeout=300)
    assert up.returncode == 0, up.stderr[-3000:]
    try:
        yield image
    finally:
        subprocess.run([NODE_SH, "down"], capture_output=True, timeout=180, check=False)


def pod_on_the_node(name: str, image: Image, args: list[str]) -> dict[str, object]:
    """A pod only the real node takes, as the chart's securityContext runs the operator."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "hostNetwork": True,
            "nodeSelector": {"kubernetes.io/hostname": NODE},
            "tolerations": [{"key": TAINT, "operator": "Exists", "effect": "NoSchedule"}],
            "restartPolicy": "Never",
            "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [
                {
                    "name": "slogate",
                    "image": image.reference,
                    "imagePullPolicy": "Never",
                    "args": args,
                    "securityContext": {
                        "readOnlyRootFilesystem": True,
                        "allowPrivilegeEscalation": False,
                        "capabilities": {"drop": ["ALL"]},
                    },
                }
            ],
        },
    }


def container_log_of(namespace: str, pod: dict[str, Any], container: str) -> str:
    metadata = pod["metadata"]
    logs = sorted(POD_LOGS.glob(f"{namespace}_{metadata['name']}_{metadata['uid']}/{container}/*.log"))
    return "".join(path.read_text() for path in logs)


def test_the_node_is_registered_beside_the_kwok_nodes_and_tainted(real_node: Image, cluster: Cluster) -> None:
    node = json.loads(cluster.kubectl("get", "node", NODE, "-o", "json").stdout)
    assert node["status"]["nodeInfo"]["kubeletVersion"] == "v1.36.3"
    assert node["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("containerd://1.6")
    assert {"key": TAINT, "value": "true", "effect": "NoSchedule"} in node["spec"]["taints"]
    names = json.loads(cluster.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert {"kwok-node-1", "kwok-node-2", NODE} <= {item["metadata"]["name"] for item in names}


def test_the_node_runs_the_imported_image_as_its_non_root_user(
    real_node: Image, cluster: Cluster, namespace: str
) -> None:
    apply(cluster, pod_on_the_node("version", real_node, ["--version"]), namespace)
    wait_until(
        lambda: get(cluster, "pod", "version", namespace)["status"].get("phase") in ("Succeeded", "Failed"),
        60,
        "the pod on the real node to finish",
    )
    pod = get(cluster, "pod", "version", namespace)
    status = pod["status"]["containerStatuses"][0]
    assert pod["status"]["phase"] == "Succeeded", status
    assert pod["spec"]["nodeName"] == NODE
    # The image the kubelet ran is the archive's (its id is the config's digest): nothing was pulled.
    assert status["imageID"].endswith(real_node.manifest()["config"]["digest"]), status["imageID"]
    assert "slogate 0.1.0" in container_log_of(namespace, pod, "slogate")


def test_pods_that_do_not_tolerate_the_taint_stay_on_the_kwok_nodes(
    real_node: Image, cluster: Cluster, namespace: str
) -> None:
    apply(cluster, deployment("web", "registry.example/web:1", replicas=4), namespace)

    def scheduled() -> list[str] | None:
        pods = json.loads(cluster.kubectl("get", "pods", "-n", namespace, "-o", "json").stdout)["items"]
        nodes = [pod["spec"].get("nodeName") for pod in pods]
        return nodes if len(nodes) == 4 and all(nodes) else None

    nodes = wait_until(scheduled, 30, "the four pods scheduled")
    assert NODE not in nodes, nodes


@pytest.mark.prometheus
def test_helm_install_runs_the_real_operator_on_the_node(
    real_node: Image, slogate_crds: Cluster, namespace: str, prometheus: Prometheus, tmp_path: Path
) -> None:
    """The chart's Deployment as deployed: the image's entrypoint, the chart's ServiceAccount token
    and RBAC, its read-only root and probes, the leader Lease. One replica in the node's network:
    the node has no pod network, and two replicas would share its ports."""
    cluster = slogate_crds
    release = f"slogate-{namespace}"
    server = cluster.kubectl(
        "config", "view", "--minify", "-o", "jsonpath={.clusters[0].cluster.server}"
    ).stdout
    host, port = server.removeprefix("https://").rsplit(":", 1)
    values = {
        "replicaCount": 1,
        "hostNetwork": True,
        "image": {"repository": real_node.reference.rsplit(":", 1)[0], "pullPolicy": "Never"},
        "nodeSelector": {"kubernetes.io/hostname": NODE},
        "tolerations": [{"key": TAINT, "operator": "Exists", "effect": "NoSchedule"}],
        "ports": {"metrics": free_port(), "health": free_port()},
        "admission": {"installPolicy": False},
        # No Service routing here (no kube-proxy): the API server as the pod's host sees it.
        "extraEnv": [
            {"name": "KUBERNETES_SERVICE_HOST", "value": host},
            {"name": "KUBERNETES_SERVICE_PORT", "value": port},
        ],
    }
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    with extra_namespaces(cluster, 1) as (team,):
        scope = ("--set", f"watchNamespaces={{{team}}}", "--set", f"prometheus.url={prometheus.url}")
        apply(cluster, deployment("api", "registry.example/api:1", replicas=1), team)
        with installed(cluster, release, namespace, "-f", str(values_file), *scope):
            wait_until(
                lambda: get(cluster, "deployment", release, namespace)["status"].get("readyReplicas") == 1,
                120,
                "the operator pod Ready on the real node (its readiness probe answered)",
            )
            pods = json.loads(
                cluster.kubectl(
                    "get", "pods", "-n", namespace, "-l", "app.kubernetes.io/component=operator", "-o", "json"
                ).stdout
            )["items"]
            (pod,) = pods
            assert pod["spec"]["nodeName"] == NODE
            lease = get(cluster, "lease", release, namespace)
            assert lease["spec"].get("holderIdentity") == pod["metadata"]["name"]
            apply(cluster, freeze("release-freeze", duration="1h"), team)
            wait_until(
                lambda: spec_paused(cluster, "deployment", "api", team), 30, "the pod's operator to hold api"
            )
            output = container_log_of(namespace, pod, "operator")
            (tmp_path / "operator.log").write_text(output)
        assert "deploys during a hold are held by" in output, f"no operator log read: {output[-2000:]!r}"
        for refusal in ("Forbidden", "forbidden", "Traceback", "Read-only file system"):
            assert refusal not in output, f"{refusal!r} in the operator pod's log:\n{output[-3000:]}"
    wait_until(
        lambda: cluster.kubectl("get", "pods", "-n", namespace, "-o", "name").stdout.strip() == "",
        60,
        "the release's pod gone from the node after helm uninstall",
    )


def test_node_down_leaves_no_container_running(real_node: Image, cluster: Cluster) -> None:
    socket = ROOT / ".cluster" / "node" / "containerd" / "containerd.sock"
    listed = subprocess.run(
        ["ctr", "--address", str(socket), "--namespace", "k8s.io", "images", "ls", "-q"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert real_node.reference in listed.stdout.split()
    down = subprocess.run([NODE_SH, "down"], capture_output=True, text=True, timeout=180)
    assert down.returncode == 0, down.stderr
    # Each container's shim names the containerd it belongs to.
    leftovers = subprocess.run(["pgrep", "-f", f"containerd-shim.*-address {socket}"], capture_output=True)
    assert leftovers.stdout == b"", leftovers.stdout
    assert str(ROOT / ".cluster" / "node") not in Path("/proc/self/mounts").read_text()
    wait_until(lambda: not cluster_has_node(cluster), 30, "the node object deleted")


def cluster_has_node(cluster: Cluster) -> bool:
    return cluster.kubectl("get", "node", NODE, "--ignore-not-found", "-o", "name").stdout.strip() != ""
