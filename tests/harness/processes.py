"""Background processes tracked by pid files, and free loopback ports for them.

The local cluster (hack/cluster.sh), ``make run`` (hack/run.sh) and the demo (hack/demo.py) all start
processes that outlive the command that started them, each in its own session with its pid in
``.cluster/pids/NAME.pid``, so ``make cluster-down`` can stop every one of them. A pid file outlives
a reboot and its pid can then belong to anything: before it is signalled, a process must still run
the command the pid file recorded (``/proc/PID/cmdline``).

Standard library only, because the shell scripts run it with the system ``python3``::

    python3 tests/harness/processes.py free-port
    python3 tests/harness/processes.py start PIDFILE LOG COMMAND...
    python3 tests/harness/processes.py running PIDFILE     # prints the pid, exits 1 when not running
    python3 tests/harness/processes.py stop PIDFILE [SECONDS]
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

STOP_TIMEOUT = 20.0
"""Seconds between SIGTERM and SIGKILL."""


def free_port() -> int:
    """A TCP port nothing listens on at 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _program_and_arguments(command: Sequence[str]) -> list[str]:
    """The command as the kernel will show it: ``env VAR=value ... program`` runs ``program``."""
    words = list(command)
    if words and Path(words[0]).name == "env":
        words = words[1:]
        while words and "=" in words[0] and not words[0].startswith("-"):
            words = words[1:]
    return words


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [word.decode(errors="replace") for word in raw.split(b"\0")[:-1]]


def runs(pid: int, recorded: Sequence[str]) -> bool:
    """Whether process ``pid`` runs ``recorded``: its command line ends with the recorded arguments
    and names the recorded program before them (an interpreter may come first, for a script). A
    zombie's command line is empty: it runs nothing."""
    actual = _program_and_arguments(_cmdline(pid) or [])
    if not actual or not recorded:
        return False
    program, arguments = Path(recorded[0]).name, list(recorded[1:])
    split = len(actual) - len(arguments)
    if split < 1 or actual[split:] != arguments:
        return False
    return program in {Path(word).name for word in actual[:split]}


class PidFile:
    """``PID`` on the first line, the command it was started with (JSON) on the second."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> tuple[int, list[str]] | None:
        try:
            lines = self.path.read_text().splitlines()
            pid = int(lines[0])
            recorded = json.loads(lines[1]) if len(lines) > 1 else []
        except (OSError, ValueError, IndexError):
            return None
        return pid, [str(word) for word in recorded]

    def running(self) -> int | None:
        """The pid, while that process still runs the command this file recorded."""
        read = self._read()
        if read is None:
            return None
        pid, recorded = read
        return pid if runs(pid, recorded) else None

    def start(self, command: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> int:
        """Start ``command`` in a session of its own (so stopping it stops its children), appending
        its output to ``log``, and record it here."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as sink:
            process = subprocess.Popen(
                list(command),
                stdout=sink,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        recorded = _program_and_arguments(command)
        self.path.write_text(f"{process.pid}\n{json.dumps(recorded)}\n")
        # The child may not have finished its exec yet (an empty command line, or still ``env``):
        # wait for it briefly, so that ``running`` right after ``start`` sees it.
        deadline = time.monotonic() + 2
        while not runs(process.pid, recorded) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        return process.pid

    def stop(self, timeout: float = STOP_TIMEOUT) -> str | None:
        """Stop the recorded process and its session: SIGTERM, then SIGKILL after ``timeout``
        seconds. Returns what was done, for a message, or None when nothing ran. A pid file whose
        process runs something else is removed without signalling anyone."""
        read = self._read()
        if read is None:
            self.path.unlink(missing_ok=True)
            return None
        pid, recorded = read
        if not runs(pid, recorded):
            running = " ".join(_cmdline(pid) or [])
            if not running:
                self.path.unlink(missing_ok=True)
                return None
            if not recorded:
                # Written before pid files recorded their command: whose pid it is, only a person can say.
                return f"not signalled: {self.path} records no command; pid {pid} runs {running}"
            self.path.unlink(missing_ok=True)
            return f"not signalled: pid {pid} now runs {running}, not {' '.join(recorded)}"
        _signal(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        # An exiting process shows an empty command line before it is gone: wait for it to be gone
        # (reaped), so that whatever is started next finds its ports free.
        while (runs(pid, recorded) or not _gone(pid)) and time.monotonic() < deadline:
            time.sleep(0.1)
        done = "stopped"
        if runs(pid, recorded):
            _signal(pid, signal.SIGKILL)
            deadline = time.monotonic() + timeout
            while (runs(pid, recorded) or not _gone(pid)) and time.monotonic() < deadline:
                time.sleep(0.1)
            done = f"killed (still running {timeout:g} s after SIGTERM)"
        self.path.unlink(missing_ok=True)
        return done


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _signal(pid: int, number: signal.Signals) -> None:
    try:
        os.killpg(pid, number)
    except OSError:
        try:
            os.kill(pid, number)
        except ProcessLookupError:
            return


def main(argv: Sequence[str]) -> int:
    match list(argv):
        case ["free-port"]:
            print(free_port())
        case ["start", pidfile, log, *command] if command:
            print(PidFile(Path(pidfile)).start(command, Path(log)))
        case ["running", pidfile]:
            pid = PidFile(Path(pidfile)).running()
            if pid is None:
                return 1
            print(pid)
        case ["stop", pidfile, *timeout] if len(timeout) <= 1:
            done = PidFile(Path(pidfile)).stop(float(timeout[0]) if timeout else STOP_TIMEOUT)
            if done is not None:
                print(done)
        case _:
            print(__doc__, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
