"""Two operator replicas on one leader Lease: exactly one acts, and the other takes over when it dies
or stops.

Both replicas watch the test namespace and keep their view current; only the Lease holder holds,
releases and posts Events. SIGKILL (a node lost) leaves the Lease to expire: the standby takes it
within the Lease duration plus one renew interval (15 s + 5 s). A clean stop releases the Lease, so
the standby takes it at its next try (one renew interval, 5 s).
"""

from __future__ import annotations

import re
import time

import pytest

from harness.cluster import ROOT, Cluster
from harness.kube import apply, get
from harness.observe import ready_deployment, slogate_events, spec_paused
from harness.operator import OperatorProcess, start_operator
from harness.prometheus import Prometheus
from harness.slogate import freeze
from harness.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

LOGS = ROOT / ".cluster" / "logs"
LEASE = "slogate"
LEASE_DURATION, RENEW_INTERVAL = 15.0, 5.0


def acting(operator: OperatorProcess) -> bool:
    match = re.search(r"^slogate_leader (\S+)$", operator.metrics(), re.MULTILINE)
    assert match, f"no slogate_leader in the metrics of {operator.log}"
    return float(match.group(1)) == 1.0


def holder(cluster: Cluster, namespace: str) -> str | None:
    found: str | None = get(cluster, "lease", LEASE, namespace)["spec"].get("holderIdentity")
    return found


def held_events(cluster: Cluster, namespace: str, name: str) -> int:
    return sum(
        event.get("count") or 1
        for event in slogate_events(cluster, namespace, name)
        if event["reason"] == "Held"
    )


def replica(cluster: Cluster, prometheus: Prometheus, namespace: str, identity: str) -> OperatorProcess:
    return start_operator(
        cluster,
        prometheus.url,
        LOGS / f"operator-{namespace}-{identity}.log",
        f"--namespace={namespace}",
        f"--leader-election-lease={namespace}/{LEASE}",
        env={"POD_ID": identity},
    )


def takeover_seconds(
    cluster: Cluster, namespace: str, standby: OperatorProcess, identity: str, limit: float
) -> float:
    started = time.monotonic()
    wait_until(
        lambda: acting(standby) and holder(cluster, namespace) == identity,
        limit,
        f"{identity} to take the Lease and act",
        interval=0.2,
    )
    return time.monotonic() - started


def test_one_of_two_replicas_acts_and_the_other_takes_over(
    slogate_crds: Cluster, prometheus: Prometheus, namespace: str
) -> None:
    cluster = slogate_crds
    replicas = {name: replica(cluster, prometheus, namespace, name) for name in ("first", "second")}
    try:
        wait_until(lambda: holder(cluster, namespace) in replicas, 10, "a replica to take the Lease")
        leader_name = holder(cluster, namespace)
        assert leader_name is not None
        standby_name = next(name for name in replicas if name != leader_name)
        leader, standby = replicas[leader_name], replicas[standby_name]
        wait_until(lambda: acting(leader), 10, f"{leader_name} to act")
        assert not acting(standby)

        ready_deployment(cluster, namespace, "api")
        apply(cluster, freeze("migration", duration="2h"), namespace)
        wait_until(lambda: spec_paused(cluster, "deployment", "api", namespace), 10, "the freeze to hold api")
        time.sleep(3)
        assert held_events(cluster, namespace, "api") == 1, "one replica acted, once"

        leader.kill()
        killed = takeover_seconds(
            cluster, namespace, standby, standby_name, LEASE_DURATION + RENEW_INTERVAL + 5
        )
        print(f"takeover after SIGKILL: {killed:.1f} s")
        cluster.kubectl("delete", "sgfreeze", "migration", "-n", namespace)
        wait_until(
            lambda: not spec_paused(cluster, "deployment", "api", namespace),
            15,
            "the new leader to release api when the freeze is deleted",
        )
        ready_deployment(cluster, namespace, "web")
        apply(cluster, freeze("second", duration="2h"), namespace)
        wait_until(
            lambda: spec_paused(cluster, "deployment", "web", namespace), 10, "the new leader to hold web"
        )

        restarted = replicas["restarted"] = replica(cluster, prometheus, namespace, "restarted")
        time.sleep(2)
        assert not acting(restarted), "a replica started while the Lease is held stands by"
        standby.stop()
        stopped = takeover_seconds(cluster, namespace, restarted, "restarted", RENEW_INTERVAL + 3)
        print(f"takeover after a clean stop: {stopped:.1f} s")
        cluster.kubectl("delete", "sgfreeze", "second", "-n", namespace)
        wait_until(
            lambda: not spec_paused(cluster, "deployment", "web", namespace),
            15,
            "the replica that took over to release web",
        )
    finally:
        for running in replicas.values():
            running.stop()
