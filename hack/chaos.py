#!/usr/bin/env python3
"""`make chaos`: slogate under faults on the local cluster, with invariants checked as it runs.

Workloads (half Deployments, half canary Rollouts under the real Argo Rollouts controller) release
new images continuously while burns (a real Prometheus scraping the test exporter), a ChangeFreeze
and P1 Incidents toggle at random, and the operator is SIGKILLed at random moments and restarted.
The gate rolls back on a burn during a rollout. Prints ``name: value unit`` lines and exits 1 when
an invariant is broken:

- chaos_leaked_pods (target 0): pods that became ready, while the freeze was in force, of an image
  released 2 s or more after the freeze was applied (the documented moment a new HoldSet takes to
  reach the API server's admission, docs/admission.md, is left out).
- chaos_repeated_rollbacks (target 0): a RolledBack or Aborted Event for a workload and release
  that already had one: no rollback or abort is done twice, across restarts included.
- chaos_stuck_holds (target 0): a workload whose reason still names the freeze or an incident one
  interval plus 2 s after it ended (checked when the operator was up throughout), or that is still
  held by slogate once every cause has ended.
- chaos_max_writes_per_workload_min (target 2): after every cause has ended and a settling time,
  the most writes (metadata.generation) slogate made to one workload in the next minute: a decision
  that changes nothing writes nothing.

``CHAOS=quick`` (CI) runs 10 workloads, 5 kills and 2 minutes; the default 50, 20 and 10 minutes.
``CHAOS_SEED`` repeats a run's choices; ``CHAOS_OPERATOR_ARGS`` adds operator flags, e.g.
``--admission=off`` to see chaos_leaked_pods catch deploys that only the reconcile holds.
"""

from __future__ import annotations

import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from kubernetes import client, config  # noqa: E402

from harness.cluster import Cluster, local_cluster  # noqa: E402
from harness.kube import apply, merge_patch  # noqa: E402
from harness.manifests import canary_rollout, deployment, image_patch  # noqa: E402
from harness.operator import OperatorProcess, install_crds, start_operator  # noqa: E402
from harness.prometheus import PrometheusServer, prometheus_server  # noqa: E402
from harness.slogate import freeze, gate, incident, slo  # noqa: E402

QUICK = os.environ.get("CHAOS") == "quick"
WORKLOADS = 10 if QUICK else 50
KILLS = 5 if QUICK else 20
DURATION_SECONDS = 120 if QUICK else 600
TICK_SECONDS = 1.0
BAD_RELEASES = 0.35
"""The share of releases whose service starts burning as they go out."""
INTERVAL_SECONDS = 1.0
"""The operator's evaluation interval in this suite (its default)."""
RELEASE_GRACE_SECONDS = 2.0
STUCK_GRACE_SECONDS = INTERVAL_SECONDS + 2.0
SETTLE_SECONDS = 20.0
QUIET_SECONDS = 60.0
FREEZE = "chaos-freeze"
LOGS = ROOT / ".cluster" / "logs"
HELD_ANNOTATION = "slogate.dev/held"
REASON_ANNOTATION = "slogate.dev/reason"


def report(name: str, value: float, unit: str) -> None:
    print(f"{name}: {value:g} {unit}", flush=True)


@dataclass
class Workload:
    name: str
    kind: str
    service: str
    image_version: int = 1
    releases: list[tuple[float, str]] = field(default_factory=list)
    """(time, image) of every release the suite made, the first included."""
    burning: bool = False
    incident: bool = False

    @property
    def image(self) -> str:
        return f"registry.example/{self.name}:{self.image_version}"

    def image_at(self, moment: float) -> str | None:
        before = [image for when, image in self.releases if when <= moment]
        return before[-1] if before else None


@dataclass
class Run:
    cluster: Cluster
    namespace: str
    server: PrometheusServer
    workloads: list[Workload]
    apps: client.AppsV1Api
    core: client.CoreV1Api
    custom: client.CustomObjectsApi
    operator: OperatorProcess | None = None
    operator_up_since: float = 0.0
    freeze_since: float | None = None
    """When the freeze was applied, while it is in force."""
    frozen_images: set[str] = field(default_factory=set)
    leaked: set[str] = field(default_factory=set)
    stuck: list[str] = field(default_factory=list)
    kills: int = 0
    freezes: int = 0

    def start_operator(self) -> None:
        self.operator = start_operator(
            self.cluster,
            self.server.url,
            LOGS / f"chaos-operator-{self.namespace}.log",
            f"--namespace={self.namespace}",
            *os.environ.get("CHAOS_OPERATOR_ARGS", "").split(),
            interval=None,
        )
        self.operator_up_since = time.monotonic()

    def kill_operator(self) -> None:
        if self.operator is not None:
            self.operator.kill()
            self.operator = None
            self.kills += 1

    def workload_body(self, workload: Workload) -> dict[str, Any]:
        if workload.kind == "Deployment":
            found: dict[str, Any] = self.apps.read_namespaced_deployment(
                workload.name, self.namespace
            ).to_dict()
            return found
        rollout: dict[str, Any] = self.custom.get_namespaced_custom_object(
            "argoproj.io", "v1alpha1", self.namespace, "rollouts", workload.name
        )
        return rollout

    def freeze_published(self) -> bool:
        """The freeze is in the namespace's HoldSet: admission holds deploys from now on."""
        try:
            holdset = self.custom.get_namespaced_custom_object(
                "slogate.dev", "v1alpha1", self.namespace, "holdsets", "slogate"
            )
        except client.ApiException:
            return False
        sources = [hold["source"] for hold in holdset.get("spec", {}).get("holds", [])]
        return f"ChangeFreeze/{FREEZE}" in sources

    def annotations(self, workload: Workload) -> dict[str, str]:
        return dict(self.workload_body(workload)["metadata"].get("annotations") or {})

    def generation(self, workload: Workload) -> int:
        return int(self.workload_body(workload)["metadata"]["generation"])


def kube_clients(cluster: Cluster) -> tuple[client.AppsV1Api, client.CoreV1Api, client.CustomObjectsApi]:
    api = config.new_client_from_config(str(cluster.kubeconfig))
    return client.AppsV1Api(api), client.CoreV1Api(api), client.CustomObjectsApi(api)


def set_up(run: Run) -> None:
    rollback_gate = gate("chaos", app="chaos", during_rollout="Rollback", maxBudgetConsumedPerRelease=100)
    rollback_gate["spec"]["selector"] = {"matchLabels": {"chaos": "true"}}
    apply(run.cluster, rollback_gate, run.namespace)
    for workload in run.workloads:
        run.server.handle.exporter.set_traffic(workload.service, requests_per_second=20, error_ratio=0.0)
        objective = slo(f"{workload.name}-availability", workload.service, app=workload.name)
        # A 30-day budget: minutes of burn never use up what one release may consume, so the holds
        # left once every cause has ended are stuck ones, not a release's budget held on purpose.
        objective["spec"]["window"] = "30d"
        apply(run.cluster, objective, run.namespace)
        manifest = (deployment if workload.kind == "Deployment" else canary_rollout)(
            workload.name, workload.image
        )
        manifest["metadata"]["labels"]["chaos"] = "true"
        apply(run.cluster, manifest, run.namespace)
        workload.releases.append((time.monotonic(), workload.image))


def release(run: Run, workload: Workload) -> None:
    workload.image_version += 1
    kind = "deployment" if workload.kind == "Deployment" else "rollout"
    merge_patch(run.cluster, kind, workload.name, run.namespace, image_patch(workload.image))
    now = time.monotonic()
    workload.releases.append((now, workload.image))
    admission_in_force = run.freeze_since is not None and now - run.freeze_since >= RELEASE_GRACE_SECONDS
    if admission_in_force:
        run.frozen_images.add(workload.image)


def toggle_burn(run: Run, workload: Workload) -> None:
    workload.burning = not workload.burning
    ratio = 0.2 if workload.burning else 0.0
    run.server.handle.exporter.set_traffic(workload.service, requests_per_second=20, error_ratio=ratio)


def toggle_incident(run: Run, workload: Workload) -> None:
    name = f"chaos-{workload.name}"
    if workload.incident:
        run.cluster.kubectl("delete", "sginc", name, "-n", run.namespace, "--wait=false")
        workload.incident = False
        check_released(run, [workload], f"Incident/{name}")
    else:
        apply(run.cluster, incident(name, app=workload.name), run.namespace)
        workload.incident = True


def toggle_freeze(run: Run) -> None:
    if run.freeze_since is not None:
        run.freeze_since = None
        run.frozen_images.clear()
        run.cluster.kubectl("delete", "sgfreeze", FREEZE, "-n", run.namespace, "--wait=false")
        check_released(run, run.workloads, f"ChangeFreeze/{FREEZE}")
    else:
        apply(run.cluster, freeze(FREEZE, reason="chaos"), run.namespace)
        run.freezes += 1
        deadline = time.monotonic() + 10
        while not run.freeze_published() and time.monotonic() < deadline:
            time.sleep(0.1)
        # Leaks are counted from when admission knows the freeze (and the moment it takes to reach
        # the API server's informer after that); a HoldSet never written is a stuck hold of its own.
        if not run.freeze_published():
            run.stuck.append(f"ChangeFreeze/{FREEZE} not in the HoldSet 10 s after it was applied")
        run.freeze_since = time.monotonic()


def check_released(run: Run, workloads: list[Workload], cause: str) -> None:
    """Each of ``workloads`` no longer names ``cause`` one interval plus 2 s after it ended,
    when the operator stays up for that long (a restart's own listing time is not a stuck hold)."""
    ended = time.monotonic()
    time.sleep(STUCK_GRACE_SECONDS)
    if run.operator is None or run.operator_up_since > ended:
        return
    for workload in workloads:
        annotations = run.annotations(workload)
        if annotations.get(HELD_ANNOTATION) == "true" and cause in annotations.get(REASON_ANNOTATION, ""):
            run.stuck.append(f"{workload.name}: {cause} ended {STUCK_GRACE_SECONDS} s ago")


def pod_ready(pod: client.V1Pod) -> bool:
    return any(
        condition.type == "Ready" and condition.status == "True"
        for condition in (pod.status.conditions or [])
    )


def look_for_leaks(run: Run) -> None:
    if run.freeze_since is None or not run.frozen_images:
        return
    for pod in run.core.list_namespaced_pod(run.namespace).items:
        image = pod.spec.containers[0].image
        if image in run.frozen_images and pod_ready(pod):
            run.leaked.add(pod.metadata.name)


def decisions(run: Run) -> dict[str, int]:
    """How many of slogate's Events of each reason the run caused: the invariants mean something
    only when holds, releases and rollbacks happened."""
    counted: dict[str, int] = {}
    for event in run.core.list_namespaced_event(run.namespace).items:
        if event.reason in ("Held", "HeldAtAdmission", "Released", "RolledBack", "Aborted"):
            counted[event.reason] = counted.get(event.reason, 0) + (event.count or 1)
    return counted


def repeated_rollbacks(run: Run, started: float, started_wall: float) -> int:
    """RolledBack/Aborted Events counted per (workload, the release it undid); any second one is a
    repeat. An Event's time is mapped to the suite's clock to find the release in force then."""
    events = run.core.list_namespaced_event(run.namespace).items
    seen: dict[tuple[str, str | None], int] = {}
    by_name = {workload.name: workload for workload in run.workloads}
    for event in events:
        if event.reason not in ("RolledBack", "Aborted") or event.involved_object.name not in by_name:
            continue
        when = (event.event_time or event.first_timestamp or event.last_timestamp).timestamp()
        moment = started + (when - started_wall)
        key = (event.involved_object.name, by_name[event.involved_object.name].image_at(moment))
        seen[key] = seen.get(key, 0) + (event.count or 1)
    return sum(count - 1 for count in seen.values() if count > 1)


def chaos(run: Run, rng: random.Random) -> None:
    started = time.monotonic()
    kill_at = sorted(rng.uniform(5, DURATION_SECONDS - 5) for _ in range(KILLS))
    while (elapsed := time.monotonic() - started) < DURATION_SECONDS:
        if run.operator is None:
            run.start_operator()
        if kill_at and elapsed >= kill_at[0]:
            kill_at.pop(0)
            run.kill_operator()
            time.sleep(rng.uniform(0.2, 2.0))
            continue
        workload = rng.choice(run.workloads)
        pick = rng.random()
        if pick < 0.55:
            release(run, workload)
            # A bad release: its errors start with it, so a canary is aborted mid-rollout.
            if not workload.burning and rng.random() < BAD_RELEASES:
                toggle_burn(run, workload)
        elif pick < 0.80:
            burning = [each for each in run.workloads if each.burning]
            toggle_burn(run, rng.choice(burning) if burning and rng.random() < 0.7 else workload)
        elif pick < 0.92:
            toggle_incident(run, workload)
        else:
            toggle_freeze(run)
        look_for_leaks(run)
        time.sleep(TICK_SECONDS)
    if run.operator is None:
        run.start_operator()


def end_every_cause(run: Run) -> None:
    if run.freeze_since is not None:
        toggle_freeze(run)
    for workload in run.workloads:
        if workload.incident:
            toggle_incident(run, workload)
        if workload.burning:
            toggle_burn(run, workload)


def quiet_minute(run: Run) -> int:
    """The most writes slogate made to one workload in a minute when nothing changed."""
    time.sleep(SETTLE_SECONDS)
    before = {workload.name: run.generation(workload) for workload in run.workloads}
    time.sleep(QUIET_SECONDS)
    return max(run.generation(workload) - before[workload.name] for workload in run.workloads)


def still_held(run: Run) -> list[str]:
    return [
        f"{workload.name}: still held once every cause ended: {annotations.get(REASON_ANNOTATION)}"
        for workload in run.workloads
        if (annotations := run.annotations(workload)).get(HELD_ANNOTATION) == "true"
    ]


def main() -> None:
    seed = int(os.environ.get("CHAOS_SEED") or time.time())
    print(f"chaos: seed {seed} (CHAOS_SEED={seed} repeats this run's choices)", file=sys.stderr)
    rng = random.Random(seed)  # noqa: S311  (a reproducible schedule, not a secret)
    LOGS.mkdir(parents=True, exist_ok=True)
    with local_cluster() as cluster, prometheus_server(LOGS / "chaos-prometheus.log") as server:
        install_crds(cluster)
        namespace = f"chaos-{uuid.uuid4().hex[:8]}"
        cluster.kubectl("create", "namespace", namespace)
        apps, core, custom = kube_clients(cluster)
        workloads = [
            Workload(f"w{index}", "Deployment" if index % 2 == 0 else "Rollout", f"chaos-{namespace}-{index}")
            for index in range(WORKLOADS)
        ]
        run = Run(cluster, namespace, server, workloads, apps, core, custom)
        try:
            set_up(run)
            started, started_wall = time.monotonic(), time.time()
            chaos(run, rng)
            end_every_cause(run)
            writes = quiet_minute(run)
            run.stuck += still_held(run)
            repeats = repeated_rollbacks(run, started, started_wall)
            counted = decisions(run)
        finally:
            if run.operator is not None:
                run.operator.stop()
            cluster.kubectl("delete", "namespace", namespace, "--wait=false", check=False)
    report("chaos_workloads", WORKLOADS, "workloads")
    report("chaos_kills", run.kills, "kills")
    report("chaos_releases", sum(len(workload.releases) - 1 for workload in workloads), "releases")
    report("chaos_freezes", run.freezes, "freezes")
    for reason in ("Held", "HeldAtAdmission", "Released", "RolledBack", "Aborted"):
        report(f"chaos_events_{reason.lower()}", counted.get(reason, 0), "events")
    report("chaos_leaked_pods", len(run.leaked), "pods")
    report("chaos_repeated_rollbacks", repeats, "rollbacks")
    report("chaos_stuck_holds", len(run.stuck), "holds")
    report("chaos_max_writes_per_workload_min", writes, "writes")
    for problem in [*sorted(run.leaked), *run.stuck]:
        print(f"chaos: {problem}", file=sys.stderr)
    if run.leaked or run.stuck or repeats or writes > 2:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
