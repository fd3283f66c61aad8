"""``--leader-election-lease`` and SLOGATE_LEADER_ELECTION_LEASE, and the replica's identity, as settings."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pytest

from slogate.cli import build_parser, settings_from
from slogate.settings import OperatorSettings


def settings(
    monkeypatch: pytest.MonkeyPatch, *argv: str, env: dict[str, str] | None = None
) -> OperatorSettings:
    monkeypatch.delenv("SLOGATE_LEADER_ELECTION_LEASE", raising=False)
    monkeypatch.delenv("POD_ID", raising=False)
    for name, value in (env or {}).items():
        monkeypatch.setenv(name, value)
    return settings_from(build_parser().parse_args(["run", "--prometheus-url", "http://prom:9090", *argv]))


def test_without_a_lease_the_operator_always_acts(monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings(monkeypatch).leader_election is None


def test_the_flag_names_the_lease_and_the_pod_names_the_replica(monkeypatch: pytest.MonkeyPatch) -> None:
    election = settings(
        monkeypatch, "--leader-election-lease=slogate-system/slogate", env={"POD_ID": "slogate-7d9f-abcde"}
    ).leader_election
    assert election is not None
    assert (election.namespace, election.name, election.identity) == (
        "slogate-system",
        "slogate",
        "slogate-7d9f-abcde",
    )
    assert election.lease_duration == timedelta(seconds=15)
    assert election.renew_interval == timedelta(seconds=5)


def test_the_variable_sets_the_lease_and_host_and_pid_name_a_replica_without_pod_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    election = settings(monkeypatch, env={"SLOGATE_LEADER_ELECTION_LEASE": "ops/slogate"}).leader_election
    assert election is not None
    assert (election.namespace, election.name) == ("ops", "slogate")
    assert election.identity == f"{socket.gethostname()}-{os.getpid()}"


@pytest.mark.parametrize("lease", ["slogate", "/slogate", "ops/", "ops/slogate/extra"])
def test_a_lease_that_is_not_namespace_slash_name_is_refused_with_an_example(
    monkeypatch: pytest.MonkeyPatch, lease: str
) -> None:
    with pytest.raises(
        SystemExit, match=r"--leader-election-lease must be NAMESPACE/NAME, e\.g\. slogate-system/slogate"
    ):
        settings(monkeypatch, f"--leader-election-lease={lease}")
