"""The Argo CD health scripts, run in Lua 5.1 (the dialect of Argo CD's gopher-lua) against sample
objects of each kind and state. Every sample status is first parsed by the api models, so a field
name the operator does not write fails here instead of silently falling through a script."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from lupa import lua51
from pydantic import BaseModel

from slogate.api.freeze import ChangeFreezeStatus
from slogate.api.gate import ReleaseGateStatus
from slogate.api.incident import IncidentStatus
from slogate.api.slo import ServiceLevelObjectiveStatus

HEALTH = Path(__file__).resolve().parents[2] / "charts" / "slogate" / "files" / "argocd" / "health"
STATUS_MODELS: dict[str, type[BaseModel]] = {
    "ServiceLevelObjective": ServiceLevelObjectiveStatus,
    "ReleaseGate": ReleaseGateStatus,
    "ChangeFreeze": ChangeFreezeStatus,
    "Incident": IncidentStatus,
}
NOW = "2026-11-22T10:00:00Z"
# Argo CD's Lua VM loads only the base, package and table libraries and a safe os subset.
UNLOADED_LIBRARIES = ("string", "math", "io", "debug", "coroutine")


def health(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    """What Argo CD shows for ``obj``: the script's status and message."""
    if obj.get("status"):
        STATUS_MODELS[kind].model_validate(obj["status"])
    runtime = lua51.LuaRuntime()
    for library in UNLOADED_LIBRARIES:
        runtime.globals()[library] = None
    runtime.globals().obj = runtime.table_from(obj, recursive=True)
    result = runtime.execute((HEALTH / f"{kind}.lua").read_text())
    return str(result["status"]), str(result["message"] or "")


def condition(kind: str, status: str, reason: str = "Evaluated", message: str = "") -> dict[str, Any]:
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": NOW,
        "observedGeneration": 1,
    }


VALID = [condition("Valid", "True", "Valid"), condition("Ready", "True")]
INVALID = [
    condition("Valid", "False", "InvalidSpec", "spec.window: '30x' is not a duration. Fix the spec"),
    condition("Ready", "False", "InvalidSpec", "not in force: the spec is invalid"),
]


def resource(spec: dict[str, Any] | None = None, status: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": "sample", "namespace": "shop", "generation": 1}}
    body["spec"] = spec or {}
    if status is not None:
        body["status"] = {"observedGeneration": 1, "lastEvaluationTime": NOW, **status}
    return body


def alert(name: str, severity: str, firing: bool, threshold: float) -> dict[str, Any]:
    return {
        "name": name,
        "severity": severity,
        "firing": firing,
        "burnRateThreshold": threshold,
        "longWindow": "1h",
        "shortWindow": "5m",
    }


SLO_CASES = {
    "healthy": (
        {"state": "Healthy", "sli": 99.95, "errorBudgetRemainingPercent": 50, "conditions": VALID},
        "Healthy",
        "SLI 99.95%, error budget remaining 50%",
    ),
    "exhausted": (
        {"state": "Exhausted", "errorBudgetRemainingPercent": 0, "conditions": VALID},
        "Degraded",
        "error budget exhausted (error budget remaining 0%)",
    ),
    "burning at page severity": (
        {
            "state": "Burning",
            "errorBudgetRemainingPercent": 80.5,
            "alerts": [alert("page-1h", "page", True, 14.4), alert("ticket-3d", "ticket", False, 1)],
            "conditions": VALID,
        },
        "Degraded",
        "burning error budget: page-1h (page, burn rate > 14.4); error budget remaining 80.5%",
    ),
    "burning at ticket severity only": (
        {"state": "Burning", "alerts": [alert("ticket-3d", "ticket", True, 1)], "conditions": VALID},
        "Progressing",
        "burning error budget: ticket-3d (ticket, burn rate > 1)",
    ),
    "no data": (
        {
            "state": "Unknown",
            "conditions": [
                condition("Valid", "True", "Valid"),
                condition("Ready", "False", "PrometheusUnavailable", "connection refused"),
            ],
        },
        "Progressing",
        "no data: connection refused",
    ),
    "invalid": (
        {"state": "Invalid", "conditions": INVALID},
        "Degraded",
        "invalid: spec.window: '30x' is not a duration. Fix the spec",
    ),
}


@pytest.mark.parametrize("case", SLO_CASES, ids=list(SLO_CASES))
def test_slo_health(case: str) -> None:
    status, expected, message = SLO_CASES[case]
    assert health("ServiceLevelObjective", resource(status=status)) == (expected, message)


def verdict(name: str, decided: str, enforced: str, reason: str = "") -> dict[str, Any]:
    reasons = [
        {"check": "BurnRate", "gate": "sample", "passed": not reason, "message": reason or "burn rate 1.0"},
    ]
    return {
        "workload": {"kind": "Deployment", "name": name},
        "verdict": decided,
        "enforced": decided == enforced,
        "enforcedVerdict": enforced,
        "reasons": reasons,
    }


GATE_CASES = {
    "all proceed": (
        {"mode": "Enforce", "verdict": "Proceed", "workloads": [verdict("web", "Proceed", "Proceed")]},
        "Healthy",
        "1 workload(s) may proceed",
    ),
    "holding": (
        {
            "mode": "Enforce",
            "verdict": "Hold",
            "heldCount": 1,
            "workloads": [
                verdict("web", "Hold", "Hold", "burn rate 20 is above 4"),
                verdict("api", "Proceed", "Proceed"),
            ],
        },
        "Suspended",
        "holding Deployment/web: burn rate 20 is above 4",
    ),
    "rolling back": (
        {
            "mode": "Enforce",
            "verdict": "Rollback",
            "workloads": [verdict("web", "Rollback", "Rollback", "burn rate 20 is above 4")],
        },
        "Degraded",
        "rolling back Deployment/web: burn rate 20 is above 4",
    ),
    "dry run": (
        {"mode": "DryRun", "verdict": "Hold", "workloads": [verdict("web", "Hold", "Proceed", "frozen")]},
        "Healthy",
        "1 workload(s) may proceed; DryRun would Hold Deployment/web: frozen",
    ),
    "break-glass override": (
        {"mode": "Enforce", "verdict": "Proceed", "overrideActive": True, "workloads": []},
        "Healthy",
        "0 workload(s) may proceed; break-glass override active",
    ),
    "invalid": (
        {"conditions": INVALID},
        "Degraded",
        "invalid: spec.window: '30x' is not a duration. Fix the spec",
    ),
}


@pytest.mark.parametrize("case", GATE_CASES, ids=list(GATE_CASES))
def test_gate_health(case: str) -> None:
    status, expected, message = GATE_CASES[case]
    body = resource(status={"conditions": VALID, **status})
    assert health("ReleaseGate", body) == (expected, message)


FREEZE_SPEC = {"reason": "Black Friday", "timeZone": "UTC", "duration": "2h"}
FREEZE_CASES = {
    "active": (
        {
            "active": True,
            "currentWindow": {"start": "2026-11-22T09:00:00Z", "end": "2026-11-22T11:00:00Z"},
            "heldWorkloads": [{"kind": "Deployment", "name": "web"}, {"kind": "Rollout", "name": "api"}],
            "conditions": VALID,
        },
        "Suspended",
        "change freeze in force: Black Friday (until 2026-11-22T11:00:00Z); "
        "holding Deployment/web, Rollout/api",
    ),
    "inactive with a next window": (
        {
            "active": False,
            "nextWindow": {"start": "2026-11-29T09:00:00Z", "end": "2026-11-29T11:00:00Z"},
            "conditions": VALID,
        },
        "Healthy",
        "not in force; next window starts 2026-11-29T09:00:00Z",
    ),
    "over": ({"active": False, "conditions": VALID}, "Healthy", "not in force"),
    "invalid": (
        {"conditions": INVALID},
        "Degraded",
        "invalid: spec.window: '30x' is not a duration. Fix the spec",
    ),
}


@pytest.mark.parametrize("case", FREEZE_CASES, ids=list(FREEZE_CASES))
def test_freeze_health(case: str) -> None:
    status, expected, message = FREEZE_CASES[case]
    assert health("ChangeFreeze", resource(FREEZE_SPEC, status)) == (expected, message)


INCIDENT_CASES = {
    "open and holding": (
        {"severity": "P1", "state": "Mitigating", "title": "checkout down"},
        {"holdingPromotions": True},
        "Degraded",
        "P1 Mitigating: checkout down; holding promotions of the affected workloads",
    ),
    "open below the threshold": (
        {"severity": "P4", "state": "Detected", "title": "typo"},
        {"holdingPromotions": False},
        "Progressing",
        "P4 Detected: typo; not holding promotions",
    ),
    "resolved": (
        {"severity": "P1", "state": "Resolved", "title": "checkout down"},
        {"holdingPromotions": False, "duration": "42m"},
        "Healthy",
        "P1 Resolved: checkout down (lasted 42m)",
    ),
    "invalid": (
        {"severity": "P9", "title": "x"},
        {"conditions": INVALID},
        "Degraded",
        "invalid: spec.window: '30x' is not a duration. Fix the spec",
    ),
}


@pytest.mark.parametrize("case", INCIDENT_CASES, ids=list(INCIDENT_CASES))
def test_incident_health(case: str) -> None:
    spec, status, expected, message = INCIDENT_CASES[case]
    body = resource(spec, {"conditions": VALID, **status})
    assert health("Incident", body) == (expected, message)


@pytest.mark.parametrize("kind", list(STATUS_MODELS))
def test_not_evaluated_yet_is_progressing(kind: str) -> None:
    expected = ("Progressing", "waiting for slogate to evaluate this generation")
    assert health(kind, resource()) == expected
    stale = resource(FREEZE_SPEC, {"conditions": VALID})
    stale["metadata"]["generation"] = 2
    assert health(kind, stale) == expected
