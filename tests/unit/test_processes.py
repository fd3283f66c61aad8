"""The pid files of background processes: a process is signalled only while it runs the command its
pid file recorded, so a pid reused after a reboot is never stopped by ``make cluster-down``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.processes import PidFile, runs
from harness.waiting import wait_until

SLEEP = [sys.executable, "-c", "import time; time.sleep(60)"]


def test_a_started_process_runs_until_it_is_stopped(tmp_path: Path) -> None:
    pid_file = PidFile(tmp_path / "sleeper.pid")
    pid = pid_file.start(["env", "SLOGATE_TEST=1", *SLEEP], tmp_path / "sleeper.log")
    assert pid_file.running() == pid
    assert pid_file.stop(timeout=5) == "stopped"
    assert pid_file.running() is None
    assert not (tmp_path / "sleeper.pid").exists()


def test_a_pid_that_runs_another_command_is_not_signalled(tmp_path: Path) -> None:
    other = subprocess.Popen(SLEEP)
    try:
        wait_until(lambda: runs(other.pid, SLEEP), 5, "the other process to start", interval=0.01)
        (tmp_path / "etcd.pid").write_text(f'{other.pid}\n["etcd", "--name", "slogate"]\n')
        assert PidFile(tmp_path / "etcd.pid").running() is None
        assert "not signalled" in (PidFile(tmp_path / "etcd.pid").stop(timeout=5) or "")
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_script_runs_under_its_interpreter(tmp_path: Path) -> None:
    script = tmp_path / "serve"
    script.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(60)\n")
    script.chmod(0o755)
    process = subprocess.Popen([str(script), "--port=1"])
    try:
        # The kernel shows the interpreter first: [python, .../serve, --port=1].
        wait_until(
            lambda: runs(process.pid, [str(script), "--port=1"]), 5, "the script to start", interval=0.01
        )
        assert not runs(process.pid, [str(script), "--port=2"])
        assert not runs(process.pid, ["etcd", "--port=1"])
    finally:
        process.kill()
        process.wait()
