#!/usr/bin/env python3
"""`make demo`: a scripted walk-through of slogate on the local cluster with a real Prometheus.

A demo service (the Deployment ``shop`` in namespace ``slogate-demo``) gets an SLO and a
ReleaseGate. A small exporter (hack/demo_traffic.py) plays its traffic and Prometheus scrapes it;
the operator runs in the background with a 2 s evaluation interval. The script then shows, printing
each step as it happens: a healthy release that proceeds; errors that burn the SLO so the next
release is held and explained; a freeze and a P1 incident that hold it too; and the recovery, one
reason at a time, until the release completes. It leaves everything running for you to poke at.

    hack/demo.py        run the walk-through (again: it starts over from a clean namespace)
    hack/demo.py down   stop the demo's exporter, Prometheus and operator (make demo-down)

The processes' pids are in .cluster/pids/demo-*.pid, so `make cluster-down` stops them too.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import requests  # noqa: E402

from harness.cluster import Cluster, binary  # noqa: E402
from harness.kube import apply, get, merge_patch  # noqa: E402
from harness.manifests import deployment, image_patch  # noqa: E402
from harness.observe import annotations_of, deployment_rolled_out, pods_with_image, spec_paused  # noqa: E402
from harness.operator import install_crds  # noqa: E402
from harness.processes import PidFile, free_port  # noqa: E402
from harness.waiting import wait_until  # noqa: E402

CLUSTER_DIR = ROOT / ".cluster"
DEMO_DIR = CLUSTER_DIR / "demo"
PIDS = CLUSTER_DIR / "pids"
LOGS = CLUSTER_DIR / "logs"
KUBECONFIG = CLUSTER_DIR / "kubeconfig"
CONTROL = DEMO_DIR / "traffic.json"
NAMESPACE = "slogate-demo"
SERVICE = "shop"
IMAGE = "registry.example/shop"
PROCESSES = ("demo-operator", "demo-prometheus", "demo-traffic")
PAUSE = float(os.environ.get("SLOGATE_DEMO_PAUSE", "3"))
"""Seconds to let the reader catch up between steps."""

REQUESTS = "demo_http_requests_total"
SLO = {
    "apiVersion": "slogate.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "shop-availability"},
    "spec": {
        "description": "shop requests succeed (no 5xx)",
        "objective": 99.0,
        "window": "1d",
        "selector": {"matchLabels": {"app": SERVICE}},
        "indicator": {
            "ratio": {
                "errors": f'sum(rate({REQUESTS}{{service="{SERVICE}",code=~"5.."}}[$window]))',
                "total": f'sum(rate({REQUESTS}{{service="{SERVICE}"}}[$window]))',
            }
        },
        # Seconds-long windows so a burn shows within a few scrapes; production uses the SRE
        # Workbook's 1h/5m and 6h/30m (the default when policies are left out).
        "policies": [
            {
                "name": "page-fast",
                "severity": "page",
                "burnRate": 4,
                "longWindow": "30s",
                "shortWindow": "10s",
            }
        ],
    },
}
GATE = {
    "apiVersion": "slogate.dev/v1alpha1",
    "kind": "ReleaseGate",
    "metadata": {"name": SERVICE},
    "spec": {
        "selector": {"matchLabels": {"app": SERVICE}},
        "maxBurnRate": 4,
        "burnRateWindow": "10s",
        "maxBudgetConsumedPerRelease": 20,
        "incidentSeverityThreshold": "P2",
        "onViolation": {"beforeRollout": "Hold", "duringRollout": "Hold"},
    },
}
INCIDENT = {
    "apiVersion": "slogate.dev/v1alpha1",
    "kind": "Incident",
    "metadata": {"name": "shop-checkout-errors"},
    "spec": {
        "severity": "P1",
        "title": "shop checkout returns 500s",
        "state": "Detected",
        "commander": "oncall@example.com",
        "description": "Payments provider timeouts make checkout fail for a tenth of requests.",
        "affectedSelector": {"matchLabels": {"app": SERVICE}},
    },
}

CLUSTER = Cluster(kubeconfig=KUBECONFIG, source="local")
STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"\033[1m[{datetime.now():%H:%M:%S} +{time.monotonic() - STARTED:5.1f}s]\033[0m {text}", flush=True)


def step(title: str, why: str) -> None:
    time.sleep(PAUSE)
    print(flush=True)
    say(f"\033[1;36m== {title}\033[0m")
    print(f"   {why}", flush=True)


def show(*args: str) -> None:
    """Run a slogate CLI command as a user would, printing the command and its output."""
    command = ["slogate", *args, "-n", NAMESPACE]
    print(f"\n   $ {shlex.join(command)}", flush=True)
    result = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "slogate"), *args, "-n", NAMESPACE],
        capture_output=True,
        text=True,
        env={**os.environ, "KUBECONFIG": str(KUBECONFIG)},
    )
    for line in (result.stdout + result.stderr).rstrip().splitlines():
        print(f"   {line}", flush=True)
    print(flush=True)


def set_traffic(requests_per_second: float, error_ratio: float) -> None:
    CONTROL.write_text(json.dumps({"requests_per_second": requests_per_second, "error_ratio": error_ratio}))


def start(name: str, command: list[str], env: dict[str, str] | None = None) -> None:
    """Start a background process that outlives this script, in its own session, logging to LOGS."""
    log = LOGS / f"{name}.log"
    pid = PidFile(PIDS / f"{name}.pid").start(command, log, env)
    say(f"started {name} (pid {pid}, log {log.relative_to(ROOT)})")


def down() -> None:
    for name in PROCESSES:
        done = PidFile(PIDS / f"{name}.pid").stop(timeout=30)
        if done is not None:
            say(f"{name}: {done}")


def answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def start_infrastructure() -> str:
    """The cluster, the CRDs, the exporter, Prometheus and the operator; returns Prometheus' URL."""
    say("starting the local cluster (hack/cluster.sh up; built binaries are cached)")
    up = subprocess.run([str(ROOT / "hack" / "cluster.sh"), "up"], capture_output=True, text=True)
    if up.returncode != 0:
        sys.exit(f"demo: hack/cluster.sh up failed:\n{up.stderr}")
    install_crds(CLUSTER)
    say("slogate's CRDs installed")
    down()
    # Before the operator starts, so it never sees the objects an earlier run left.
    fresh_namespace()
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    for directory in (PIDS, LOGS):
        directory.mkdir(parents=True, exist_ok=True)
    set_traffic(20, 0.0)
    exporter_port, prometheus_port = free_port(), free_port()
    start(
        "demo-traffic",
        [
            sys.executable,
            str(ROOT / "hack" / "demo_traffic.py"),
            f"--port={exporter_port}",
            f"--service={SERVICE}",
            f"--control={CONTROL}",
        ],
    )
    data = DEMO_DIR / "prometheus-data"
    subprocess.run(["rm", "-rf", str(data)], check=True)
    (DEMO_DIR / "prometheus.yml").write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: shop\n    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n"
    )
    start(
        "demo-prometheus",
        [
            "prometheus",
            f"--config.file={DEMO_DIR / 'prometheus.yml'}",
            f"--storage.tsdb.path={data}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ],
    )
    prometheus = f"http://127.0.0.1:{prometheus_port}"
    (DEMO_DIR / "prometheus.url").write_text(prometheus + "\n")
    wait_until(lambda: answers(f"{prometheus}/-/ready"), 60, f"Prometheus at {prometheus}", interval=0.5)
    health_port = free_port()
    start(
        "demo-operator",
        [
            str(ROOT / ".venv" / "bin" / "slogate"),
            "run",
            f"--prometheus-url={prometheus}",
            "--evaluation-interval=2s",
            f"--namespace={NAMESPACE}",
            f"--metrics-port={free_port()}",
            f"--health-port={health_port}",
        ],
        env={"KUBECONFIG": str(KUBECONFIG)},
    )
    wait_until(
        lambda: answers(f"http://127.0.0.1:{health_port}/healthz"),
        60,
        "the operator to report healthy",
        interval=0.5,
    )
    return prometheus


def fresh_namespace() -> None:
    if CLUSTER.kubectl("get", "namespace", NAMESPACE, check=False).returncode == 0:
        say(f"deleting the namespace {NAMESPACE} left by an earlier run")
        CLUSTER.kubectl("delete", "namespace", NAMESPACE, "--timeout=120s")
    CLUSTER.kubectl("create", "namespace", NAMESPACE)


def slo_state() -> str | None:
    state: str | None = (get(CLUSTER, "sgslo", "shop-availability", NAMESPACE).get("status") or {}).get(
        "state"
    )
    return state


def decision() -> str | None:
    return annotations_of(CLUSTER, "deployment", SERVICE, NAMESPACE).get("slogate.dev/decision")


def reason() -> str:
    return annotations_of(CLUSTER, "deployment", SERVICE, NAMESPACE).get("slogate.dev/reason", "-")


def rolled_out(version: str) -> Callable[[], bool]:
    return lambda: deployment_rolled_out(CLUSTER, NAMESPACE, SERVICE, f"{IMAGE}:{version}")


def release(version: str) -> None:
    say(f"kubectl set image deployment/{SERVICE} app={IMAGE}:{version}   (a new release)")
    merge_patch(CLUSTER, "deployment", SERVICE, NAMESPACE, image_patch(f"{IMAGE}:{version}"))


def walk_through() -> None:
    step(
        "1. A service, its SLO and its release gate",
        "shop runs 3 replicas. Its SLO: 99% of requests succeed over 1 day. Its ReleaseGate: a release "
        "may start only while the burn rate over 10 s is under 4x, no freeze is in force and no P1/P2 "
        "incident is open. (This Prometheus is minutes old, so the 1-day budget is measured over those "
        "minutes: it runs out fast; the gate does not check it, production gates do with "
        "minBudgetRemaining.)",
    )
    apply(CLUSTER, deployment(SERVICE, f"{IMAGE}:1.0"), NAMESPACE)
    apply(CLUSTER, SLO, NAMESPACE)
    apply(CLUSTER, GATE, NAMESPACE)
    wait_until(rolled_out("1.0"), 60, "shop 1.0 to be ready")
    say("shop 1.0 is running; traffic: 20 requests/s, no errors")
    wait_until(lambda: slo_state() == "Healthy", 60, "the SLO to be measured", interval=0.5)
    say("slogate measured the SLO from Prometheus: Healthy")
    show("status")

    step("2. A healthy release proceeds", "The SLO is healthy, so the gate lets the rollout through.")
    release("1.1")
    wait_until(rolled_out("1.1"), 60, "shop 1.1 to roll out")
    say("shop 1.1 rolled out to every replica")
    show("explain", f"deployment/{SERVICE}")

    step(
        "3. Errors burn the error budget; the next release is held",
        "One request in ten now fails: a 10x burn rate (the budget is 1% errors). slogate pauses the "
        "Deployment, so a release that arrives now is queued instead of rolled out.",
    )
    set_traffic(20, 0.10)
    say("traffic: 20 requests/s, 10% errors")
    wait_until(lambda: spec_paused(CLUSTER, "deployment", SERVICE, NAMESPACE), 60, "the burn to hold shop")
    say(f"slogate held shop: {reason()}")
    release("1.2")
    time.sleep(3)
    queued = not pods_with_image(CLUSTER, NAMESPACE, SERVICE, f"{IMAGE}:1.2")
    say(f"pods running 1.2: {'none, the release is queued' if queued else 'some (unexpected)'}")
    show("explain", f"deployment/{SERVICE}")

    step(
        "4. A change freeze",
        "The ChatOps '/deploy freeze 2h': a ChangeFreeze that starts now. It holds the release too.",
    )
    show("freeze", "2h", "--reason", "Black Friday traffic", "--name", "black-friday")
    wait_until(lambda: "ChangeFreeze/black-friday" in reason(), 30, "the freeze to show in the reason")
    say(f"reason now: {reason()}")

    step(
        "5. An incident", "A P1 is opened for shop; open P1/P2 incidents hold promotions of what they affect."
    )
    apply(CLUSTER, INCIDENT, NAMESPACE)
    wait_until(lambda: "Incident/shop-checkout-errors" in reason(), 30, "the incident to show in the reason")
    say(f"reason now: {reason()}")
    show("status")

    step(
        "6. Recovery: the errors stop",
        "The fix is in; errors stop and the burn rate falls below 4x. The freeze and the incident "
        "still hold the release.",
    )
    set_traffic(20, 0.0)
    say("traffic: 20 requests/s, no errors")
    wait_until(lambda: "burn rate" not in reason(), 90, "the burn to clear", interval=0.5)
    say(f"reason now: {reason()}")

    step("7. Recovery: the freeze is lifted", "Ending it early keeps it on record (its end is set to now).")
    show("unfreeze", "black-friday")
    wait_until(lambda: "ChangeFreeze" not in reason(), 30, "the freeze to clear")
    say(f"reason now: {reason()}")

    step(
        "8. Recovery: the incident is resolved",
        "With nothing left holding it, the queued release 1.2 rolls out.",
    )
    merge_patch(CLUSTER, "sginc", "shop-checkout-errors", NAMESPACE, {"spec": {"state": "Resolved"}})
    say("kubectl patch incident shop-checkout-errors: state Resolved")
    wait_until(rolled_out("1.2"), 90, "the queued release 1.2 to complete")
    say(f"shop 1.2 rolled out; decision {decision()}: {reason()}")
    show("explain", f"deployment/{SERVICE}")
    show("postmortem", "shop-checkout-errors")


def epilogue(prometheus: str) -> None:
    kubectl_dir = Path(binary("kubectl")).parent
    print(
        f"""
\033[1mThe demo is still running.\033[0m Try (the traffic exporter, Prometheus and the operator keep going):

  export KUBECONFIG=$PWD/{KUBECONFIG.relative_to(ROOT)} PATH={kubectl_dir}:$PWD/.venv/bin:$PATH
  slogate status -n {NAMESPACE}
  slogate explain deployment/{SERVICE} -n {NAMESPACE} -o yaml
  slogate freeze 10m --reason "try it" -n {NAMESPACE}
  slogate unfreeze -n {NAMESPACE}
  echo '{{"requests_per_second": 20, "error_ratio": 0.2}}' > {CONTROL.relative_to(ROOT)}   (errors; 0 to stop)
  kubectl set image deployment/{SERVICE} app={IMAGE}:1.3 -n {NAMESPACE}
  kubectl get slogate,deploy -n {NAMESPACE}
  kubectl get events -n {NAMESPACE} --field-selector involvedObject.name={SERVICE}

  Prometheus: {prometheus}   (try: sum(rate({REQUESTS}[1m])) by (code))
  Logs: .cluster/logs/demo-operator.log, demo-prometheus.log, demo-traffic.log

Stop the demo's processes with 'make demo-down', or everything with 'make cluster-down'.
""",
        flush=True,
    )


def main() -> int:
    if sys.argv[1:] == ["down"]:
        down()
        return 0
    if sys.argv[1:]:
        sys.exit("usage: hack/demo.py [down]")
    prometheus = start_infrastructure()
    try:
        walk_through()
    except AssertionError as error:
        print(f"\ndemo: {error}\nThe operator's log is .cluster/logs/demo-operator.log.", file=sys.stderr)
        return 1
    epilogue(prometheus)
    say(f"demo finished in {time.monotonic() - STARTED:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
