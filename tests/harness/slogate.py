"""slogate resources for tests, over the test exporter's request counters.

Windows are seconds long so a burn shows within a few scrapes; everything else is what a user
would write.
"""

from __future__ import annotations

from typing import Any

REQUESTS = "slogate_test_http_requests_total"


def slo(name: str, service: str, app: str, objective: float = 99.0) -> dict[str, Any]:
    return {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": "ServiceLevelObjective",
        "metadata": {"name": name},
        "spec": {
            "objective": objective,
            "window": "1h",
            "selector": {"matchLabels": {"app": app}},
            "indicator": {
                "ratio": {
                    "errors": f'sum(rate({REQUESTS}{{service="{service}",code=~"5.."}}[$window]))',
                    "total": f'sum(rate({REQUESTS}{{service="{service}"}}[$window]))',
                }
            },
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


def gate(
    name: str, app: str, during_rollout: str = "Hold", max_burn_rate: float = 4, **extra: Any
) -> dict[str, Any]:
    return {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": "ReleaseGate",
        "metadata": {"name": name},
        "spec": {
            "selector": {"matchLabels": {"app": app}},
            "maxBurnRate": max_burn_rate,
            "burnRateWindow": "10s",
            "onViolation": {"beforeRollout": "Hold", "duringRollout": during_rollout},
            **extra,
        },
    }


def freeze(name: str, reason: str = "Database migration", **window: Any) -> dict[str, Any]:
    return {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": "ChangeFreeze",
        "metadata": {"name": name},
        "spec": {"reason": reason, **(window or {"duration": "2h"})},
    }


def incident(name: str, app: str, severity: str = "P1", state: str = "Detected") -> dict[str, Any]:
    return {
        "apiVersion": "slogate.dev/v1alpha1",
        "kind": "Incident",
        "metadata": {"name": name},
        "spec": {
            "severity": severity,
            "title": f"{app} returns errors",
            "state": state,
            "commander": "oncall@example.com",
            "affectedSelector": {"matchLabels": {"app": app}},
        },
    }
