"""The status of ReleaseGates, ChangeFreezes and Incidents, built from the World and the decisions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from slogate.api.base import WorkloadKind
from slogate.api.freeze import ChangeFreeze
from slogate.api.gate import CheckKind, ReleaseGate, Verdict
from slogate.api.incident import Incident, RecentDeployment
from slogate.domain.checks import Reason
from slogate.domain.verdict import Decision
from slogate.reconcile.statuses import freeze_status, gate_status, incident_status
from slogate.reconcile.world import WorkloadState, track

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
D, R = WorkloadKind.DEPLOYMENT, WorkloadKind.ROLLOUT


def body(
    kind: str, name: str, spec: dict[str, Any], status: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    made: dict[str, Any] = {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": kind,
        "metadata": {
            "name": name,
            "namespace": "shop",
            "generation": 3,
            "creationTimestamp": "2026-05-01T11:00:00Z",
        },
        "spec": spec,
    }
    if status is not None:
        made["status"] = {key: value for key, value in status.items() if value is not None}
    return made


def workload(kind: WorkloadKind, name: str, namespace: str = "shop") -> WorkloadState:
    return WorkloadState(kind, namespace, name, f"uid-{name}", {}, {}, False, "h", "7", False, False, None)


CHECKOUT, PAYMENTS, OTHER = workload(D, "checkout"), workload(R, "payments"), workload(D, "web", "blog")


def reason(check: CheckKind, source: str, *, passed: bool = False, gate: str | None = "checkout") -> Reason:
    return Reason(check, gate, source, passed=passed, message=f"{source} says {'yes' if passed else 'no'}")


def decision(action: Verdict, *reasons: Reason, enforced: Verdict | None = None) -> Decision:
    return Decision(
        action=action,
        enforced_action=enforced or action,
        reasons=reasons,
        expected_clear_at=None,
        evaluated_at=NOW,
        rollout_in_progress=False,
        change_type=None,
    )


# ---------------------------------------------------------------------------------------------------
# ReleaseGate


def gate(status: Mapping[str, Any] | None = None, **spec: Any) -> Any:
    return track(ReleaseGate, body("ReleaseGate", "checkout", {"selector": {}, **spec}, status))


def test_gate_status_lists_every_decision() -> None:
    decisions = {
        CHECKOUT.key: decision(Verdict.HOLD, reason(CheckKind.FREEZE, "ChangeFreeze/db-migration")),
        PAYMENTS.key: decision(
            Verdict.PROCEED, reason(CheckKind.FREEZE, "ChangeFreeze/db-migration", passed=True)
        ),
    }
    status = gate_status(gate(), [CHECKOUT, PAYMENTS], decisions, NOW)
    assert status["verdict"] == "Hold"
    assert status["heldCount"] == 1
    assert status["mode"] == "Enforce"
    assert status["overrideActive"] is False
    assert status["observedGeneration"] == 3
    entries = {entry["workload"]["name"]: entry for entry in status["workloads"]}
    assert entries["checkout"]["verdict"] == "Hold"
    assert entries["checkout"]["reasons"][0]["source"] == "ChangeFreeze/db-migration"
    assert entries["checkout"]["lastTransitionTime"] == "2026-05-01T12:00:00Z"
    assert entries["payments"]["workload"] == {"kind": "Rollout", "name": "payments"}
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert ready["message"] == "governs 2 workload(s)"


@pytest.mark.parametrize(
    ("verdicts", "overall", "held"),
    [
        ([], "Proceed", 0),
        ([Verdict.PROCEED, Verdict.RESUME], "Proceed", 0),
        ([Verdict.PROCEED, Verdict.HOLD], "Hold", 1),
        ([Verdict.HOLD, Verdict.ROLLBACK, Verdict.PROCEED], "Rollback", 2),
    ],
)
def test_gate_verdict_is_the_most_severe(verdicts: list[Verdict], overall: str, held: int) -> None:
    governed = [workload(D, f"w{index}") for index in range(len(verdicts))]
    decisions = {state.key: decision(verdict) for state, verdict in zip(governed, verdicts, strict=True)}
    status = gate_status(gate(), governed, decisions, NOW)
    assert status["verdict"] == overall
    assert status["heldCount"] == held


def test_dry_run_gate_counts_nothing_as_held() -> None:
    decisions = {CHECKOUT.key: decision(Verdict.HOLD, enforced=Verdict.PROCEED)}
    status = gate_status(gate(mode="DryRun"), [CHECKOUT], decisions, NOW)
    assert (status["mode"], status["verdict"], status["heldCount"]) == ("DryRun", "Hold", 0)
    assert status["workloads"][0]["enforced"] is False


def test_gate_keeps_the_transition_time_of_an_unchanged_verdict() -> None:
    held = {CHECKOUT.key: decision(Verdict.HOLD)}
    first = gate_status(gate(), [CHECKOUT], held, NOW)
    later = NOW + timedelta(minutes=10)
    second = gate_status(gate(first), [CHECKOUT], held, later)
    assert second["workloads"][0]["lastTransitionTime"] == "2026-05-01T12:00:00Z"
    third = gate_status(gate(second), [CHECKOUT], {CHECKOUT.key: decision(Verdict.PROCEED)}, later)
    assert third["workloads"][0]["lastTransitionTime"] == "2026-05-01T12:10:00Z"


def test_gate_skips_workloads_not_decided_yet() -> None:
    status = gate_status(gate(), [CHECKOUT, PAYMENTS], {CHECKOUT.key: decision(Verdict.PROCEED)}, NOW)
    assert [entry["workload"]["name"] for entry in status["workloads"]] == ["checkout"]


def test_gate_override_is_active_until_it_expires() -> None:
    override = {"by": "alice@example.com", "reason": "hotfix", "expires": "2026-05-01T13:00:00Z"}
    assert gate_status(gate(override=override), [], {}, NOW)["overrideActive"] is True
    assert gate_status(gate(override=override), [], {}, NOW + timedelta(hours=1))["overrideActive"] is False


def test_invalid_gate_status() -> None:
    status = gate_status(gate(maxBurnRate=-1), [CHECKOUT], {CHECKOUT.key: decision(Verdict.HOLD)}, NOW)
    assert "workloads" not in status
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Valid"]["status"] == "False"
    assert "spec.maxBurnRate" in conditions["Valid"]["message"]
    assert conditions["Ready"]["reason"] == "InvalidSpec"


# ---------------------------------------------------------------------------------------------------
# ChangeFreeze


def freeze(status: Mapping[str, Any] | None = None, **spec: Any) -> Any:
    return track(
        ChangeFreeze,
        body("ChangeFreeze", "db-migration", {"reason": "migration", "duration": "2h", **spec}, status),
    )


FROZEN = reason(CheckKind.FREEZE, "ChangeFreeze/db-migration", gate=None)


def test_an_active_freeze_lists_what_it_holds() -> None:
    decisions = {
        CHECKOUT.key: decision(Verdict.HOLD, FROZEN),
        PAYMENTS.key: decision(Verdict.HOLD, reason(CheckKind.FREEZE, "ChangeFreeze/another")),
        OTHER.key: decision(Verdict.HOLD, FROZEN),
    }
    status = freeze_status(freeze(), [CHECKOUT, PAYMENTS, OTHER], decisions, NOW)
    assert status["active"] is True
    assert status["currentWindow"] == {"start": "2026-05-01T11:00:00Z", "end": "2026-05-01T13:00:00Z"}
    assert status["nextChange"] == "2026-05-01T13:00:00Z"
    assert status["heldWorkloads"] == [
        {"kind": "Deployment", "name": "checkout"},
        {"kind": "Deployment", "namespace": "blog", "name": "web"},
    ]
    assert {c["type"]: c for c in status["conditions"]}["Ready"]["message"] == "in force"


def test_a_waived_freeze_holds_nothing() -> None:
    waived = Reason(
        CheckKind.FREEZE, None, "ChangeFreeze/db-migration", passed=False, waived=True, message="w"
    )
    status = freeze_status(freeze(), [CHECKOUT], {CHECKOUT.key: decision(Verdict.PROCEED, waived)}, NOW)
    assert status["heldWorkloads"] == []


def test_an_ended_freeze_is_inactive_and_forgets_its_window() -> None:
    first = freeze_status(freeze(), [CHECKOUT], {CHECKOUT.key: decision(Verdict.HOLD, FROZEN)}, NOW)
    ended = NOW + timedelta(hours=2)
    status = freeze_status(freeze(first), [CHECKOUT], {CHECKOUT.key: decision(Verdict.RESUME)}, ended)
    assert status["active"] is False
    assert status["heldWorkloads"] == []
    # Written as a merge patch: the window that ended must be removed, not left behind.
    assert "currentWindow" in status
    assert status["currentWindow"] is None
    assert status.get("nextChange") is None


def test_a_future_freeze_announces_its_window() -> None:
    status = freeze_status(
        freeze(duration=None, start="2026-05-02T00:00:00Z", end="2026-05-03T00:00:00Z"), [], {}, NOW
    )
    assert status["active"] is False
    assert status["nextWindow"] == {"start": "2026-05-02T00:00:00Z", "end": "2026-05-03T00:00:00Z"}
    assert status["nextChange"] == "2026-05-02T00:00:00Z"


def test_invalid_freeze_status() -> None:
    status = freeze_status(freeze(timeZone="Europe/Atlantis"), [CHECKOUT], {}, NOW)
    assert "active" not in status
    assert "spec.timeZone" in {c["type"]: c for c in status["conditions"]}["Valid"]["message"]


# ---------------------------------------------------------------------------------------------------
# Incident


def incident(status: Mapping[str, Any] | None = None, **spec: Any) -> Any:
    return track(
        Incident,
        body(
            "Incident",
            "checkout-5xx",
            {
                "severity": "P1",
                "title": "Checkout returns 5xx",
                "state": "Detected",
                "affectedSelector": {},
                **spec,
            },
            status,
        ),
    )


def deployed(name: str, revision: str, at: datetime) -> RecentDeployment:
    return RecentDeployment.model_validate(
        {"workload": {"kind": "Deployment", "name": name}, "revision": revision, "time": at}
    )


def test_incident_timeline_grows_only_on_a_state_change() -> None:
    first = incident_status(incident(), [CHECKOUT], {}, {}, NOW)
    assert [entry["state"] for entry in first["timeline"]] == ["Detected"]
    assert first["timeline"][0]["message"] == "P1: Checkout returns 5xx"
    assert first["openedAt"] == "2026-05-01T12:00:00Z"

    same = incident_status(incident(first), [CHECKOUT], {}, {}, NOW + timedelta(minutes=5))
    assert same["timeline"] == first["timeline"]
    assert same["openedAt"] == first["openedAt"]
    assert same["duration"] == "5m"

    triaged = incident_status(incident(same, state="Triaged"), [CHECKOUT], {}, {}, NOW + timedelta(minutes=9))
    assert [entry["state"] for entry in triaged["timeline"]] == ["Detected", "Triaged"]
    assert triaged["timeline"][1]["time"] == "2026-05-01T12:09:00Z"

    again = incident_status(
        incident(triaged, state="Triaged"), [CHECKOUT], {}, {}, NOW + timedelta(minutes=20)
    )
    assert again["timeline"] == triaged["timeline"]


def test_incident_resolution_time_and_duration() -> None:
    opened = incident_status(incident(startedAt="2026-05-01T11:30:00Z"), [], {}, {}, NOW)
    assert opened["openedAt"] == "2026-05-01T11:30:00Z"
    assert opened["duration"] == "30m"
    assert opened.get("resolvedAt") is None

    resolved_at = NOW + timedelta(hours=1, minutes=15)
    resolved = incident_status(
        incident(opened, startedAt="2026-05-01T11:30:00Z", state="Resolved"), [], {}, {}, resolved_at
    )
    assert resolved["resolvedAt"] == "2026-05-01T13:15:00Z"
    assert resolved["duration"] == "1h45m"

    # Later cycles keep the resolution time; the duration stops growing.
    closed = incident_status(
        incident(resolved, startedAt="2026-05-01T11:30:00Z", state="Closed"),
        [],
        {},
        {},
        resolved_at + timedelta(days=1),
    )
    assert closed["resolvedAt"] == "2026-05-01T13:15:00Z"
    assert closed["duration"] == "1h45m"
    assert [entry["state"] for entry in closed["timeline"]] == ["Detected", "Resolved", "Closed"]

    # Reopened: no longer resolved, and the patch removes the old resolution time.
    reopened = incident_status(
        incident(closed, startedAt="2026-05-01T11:30:00Z", state="Mitigating"),
        [],
        {},
        {},
        resolved_at + timedelta(days=2),
    )
    assert "resolvedAt" in reopened
    assert reopened["resolvedAt"] is None
    assert [entry["state"] for entry in reopened["timeline"]][-1] == "Mitigating"


def test_incident_holding_and_recent_deployments() -> None:
    held = decision(Verdict.HOLD, reason(CheckKind.INCIDENT, "Incident/checkout-5xx", gate=None))
    recent = {
        CHECKOUT.key: [
            deployed("checkout", "7", NOW - timedelta(hours=2)),
            deployed("checkout", "6", NOW - timedelta(days=1)),
        ],
        PAYMENTS.key: [deployed("payments", "4", NOW - timedelta(hours=1))],
    }
    status = incident_status(incident(), [CHECKOUT, PAYMENTS], {CHECKOUT.key: held}, recent, NOW)
    assert status["holdingPromotions"] is True
    assert [(d["workload"]["name"], d["revision"]) for d in status["recentDeployments"]] == [
        ("payments", "4"),
        ("checkout", "7"),
        ("checkout", "6"),
    ]
    assert status["affectedWorkloads"] == [
        {"kind": "Deployment", "name": "checkout"},
        {"kind": "Rollout", "name": "payments"},
    ]
    other = decision(Verdict.HOLD, reason(CheckKind.INCIDENT, "Incident/another", gate=None))
    assert (
        incident_status(incident(), [CHECKOUT], {CHECKOUT.key: other}, {}, NOW)["holdingPromotions"] is False
    )


def test_invalid_incident_status() -> None:
    status = incident_status(incident(severity="P0"), [CHECKOUT], {}, {}, NOW)
    assert "timeline" not in status
    assert "spec.severity" in {c["type"]: c for c in status["conditions"]}["Valid"]["message"]
