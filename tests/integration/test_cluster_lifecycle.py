"""hack/cluster.sh itself: idempotent start, clear failures, nothing left running after stop.

Each test runs its own cluster in a temporary directory with its own ports, beside
the session cluster the other tests share.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from harness.cluster import HACK

pytestmark = pytest.mark.cluster


def cluster_script(state: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SLOGATE_CLUSTER_DIR": str(state), "SLOGATE_READY_TIMEOUT": "60", **extra_env}
    return subprocess.run(
        [str(HACK / "cluster.sh"), *args], env=env, capture_output=True, text=True, timeout=300
    )


def recorded_pids(state: Path) -> dict[str, int]:
    """The pid on each pid file's first line (the second records the command it runs)."""
    return {
        pidfile.stem: int(pidfile.read_text().splitlines()[0]) for pidfile in (state / "pids").glob("*.pid")
    }


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_up_is_idempotent_and_down_leaves_no_process(tmp_path: Path) -> None:
    state = tmp_path / "cluster"
    try:
        first = cluster_script(state, "up")
        assert first.returncode == 0, first.stderr
        assert "cluster ready" in first.stderr
        pids = recorded_pids(state)
        assert set(pids) == {
            "etcd",
            "kube-apiserver",
            "kube-controller-manager",
            "kube-scheduler",
            "kwok",
            "argo-rollouts",
            "redis",
            "argocd-repo-server",
            "argocd-application-controller",
        }

        second = cluster_script(state, "up")
        assert second.returncode == 0, second.stderr
        assert "starting" not in second.stderr, "a running cluster must not start anything again"
        assert recorded_pids(state) == pids
    finally:
        down = cluster_script(state, "down")
    assert down.returncode == 0, down.stderr
    assert [name for name, pid in pids.items() if alive(pid)] == []
    assert cluster_script(state, "status").returncode != 0


def test_up_names_the_component_that_fails_and_its_log(tmp_path: Path) -> None:
    state = tmp_path / "cluster"
    try:
        broken = cluster_script(state, "up", SLOGATE_APISERVER_EXTRA_ARGS="--no-such-flag")
    finally:
        cluster_script(state, "down")
    assert broken.returncode != 0
    assert "kube-apiserver exited before it was serving authorized requests" in broken.stderr
    assert str(state / "logs" / "kube-apiserver.log") in broken.stderr
    assert "unknown flag: --no-such-flag" in broken.stderr
