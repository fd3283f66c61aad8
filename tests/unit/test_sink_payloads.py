"""A decision marker as the sinks send it: the Grafana annotation and the webhook JSON."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from slogate.adapters.sinks import grafana_annotation, webhook_payload
from slogate.api.base import WorkloadKind
from slogate.reconcile.ports import DecisionMarker, WorkloadRef

HOLD = DecisionMarker(
    workload=WorkloadRef(WorkloadKind.DEPLOYMENT, "shop", "checkout"),
    decision="Hold",
    action="Pause",
    event_reason="Held",
    reason="ChangeFreeze/holidays: active until 2026-12-27T00:00:00Z",
    gates=("checkout-gate", "platform-gate"),
    revision="7",
    time=datetime(2026, 12, 24, 9, 0, tzinfo=UTC),
)
PROCEED = replace(
    HOLD,
    workload=WorkloadRef(WorkloadKind.ROLLOUT, "web", "frontend"),
    decision="Proceed",
    action="None",
    event_reason="DecisionProceed",
    reason="all checks pass",
    gates=(),
    revision=None,
    time=datetime(2026, 12, 24, 10, 0, 0, 250000, tzinfo=timezone(timedelta(hours=1))),
)


@pytest.mark.parametrize(
    ("marker", "dashboard_uid", "expected"),
    [
        pytest.param(
            HOLD,
            "slo-overview",
            {
                "time": 1798102800000,
                "tags": [
                    "slogate",
                    "Hold",
                    "namespace:shop",
                    "workload:deployment/checkout",
                    "gate:checkout-gate",
                    "gate:platform-gate",
                ],
                "text": "slogate Held: Deployment shop/checkout revision 7: "
                "ChangeFreeze/holidays: active until 2026-12-27T00:00:00Z",
                "dashboardUID": "slo-overview",
            },
            id="hold-on-a-dashboard",
        ),
        pytest.param(
            PROCEED,
            None,
            {
                "time": 1798102800250,
                "tags": ["slogate", "Proceed", "namespace:web", "workload:rollout/frontend"],
                "text": "slogate DecisionProceed: Rollout web/frontend: all checks pass",
            },
            id="proceed-organisation-wide-no-revision-offset-time",
        ),
        pytest.param(
            replace(HOLD, gates=()),
            "",
            {
                "time": 1798102800000,
                "tags": ["slogate", "Hold", "namespace:shop", "workload:deployment/checkout"],
                "text": "slogate Held: Deployment shop/checkout revision 7: "
                "ChangeFreeze/holidays: active until 2026-12-27T00:00:00Z",
            },
            id="no-gate-and-an-empty-dashboard-uid",
        ),
    ],
)
def test_grafana_annotation(marker: DecisionMarker, dashboard_uid: str | None, expected: Any) -> None:
    assert grafana_annotation(marker, dashboard_uid) == expected


@pytest.mark.parametrize(
    ("marker", "expected"),
    [
        pytest.param(
            HOLD,
            {
                "source": "slogate",
                "workload": {"kind": "Deployment", "namespace": "shop", "name": "checkout"},
                "decision": "Hold",
                "action": "Pause",
                "eventReason": "Held",
                "reason": "ChangeFreeze/holidays: active until 2026-12-27T00:00:00Z",
                "gates": ["checkout-gate", "platform-gate"],
                "revision": "7",
                "time": "2026-12-24T09:00:00Z",
                "timeMillis": 1798102800000,
            },
            id="hold",
        ),
        pytest.param(
            PROCEED,
            {
                "source": "slogate",
                "workload": {"kind": "Rollout", "namespace": "web", "name": "frontend"},
                "decision": "Proceed",
                "action": "None",
                "eventReason": "DecisionProceed",
                "reason": "all checks pass",
                "gates": [],
                "revision": None,
                "time": "2026-12-24T10:00:00+01:00",
                "timeMillis": 1798102800250,
            },
            id="proceed-offset-time",
        ),
    ],
)
def test_webhook_payload(marker: DecisionMarker, expected: Any) -> None:
    assert webhook_payload(marker) == expected
