"""The admission decision table, shared by the unit test of ``slogate.domain.admission`` and the
test of the real MutatingAdmissionPolicy on the API server."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from slogate.api.holdset import HoldSetSpec

HOLDSET_SPEC: dict[str, Any] = {
    "holds": [
        {
            "source": "ChangeFreeze/holidays",
            "message": "ChangeFreeze/holidays: change freeze in force until 2026-12-27T00:00:00Z: holidays",
            "since": "2026-11-22T10:00:00Z",
            "match": [{"matchLabels": {"app": "web"}}],
            "unless": [{"matchExpressions": [{"key": "tier", "operator": "In", "values": ["infra"]}]}],
            "exemptChangeTypes": ["emergency"],
        },
        {
            "source": "ServiceLevelObjective/api-availability",
            "gate": "api",
            "message": "ServiceLevelObjective/api-availability: burn rate is 14.4, above maxBurnRate 2",
            "since": "2026-11-22T11:00:00Z",
            "match": [
                {"matchExpressions": [{"key": "app", "operator": "In", "values": ["api", "web"]}]},
                {"matchExpressions": [{"key": "team", "operator": "Exists"}]},
            ],
            "exemptChangeTypes": ["reliability", "emergency"],
        },
    ]
}
HOLDS = HoldSetSpec.model_validate(HOLDSET_SPEC).holds


def workload(
    labels: dict[str, str],
    image: str = "registry.example/app:1",
    change_type: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    template: dict[str, Any] = {
        "metadata": {"labels": {"pod": "app"}},
        "spec": {"containers": [{"name": "app", "image": image}]},
    }
    if change_type is not None:
        template["metadata"]["annotations"] = {"slogate.dev/change-type": change_type}
    body: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "labels": labels, "annotations": extra.pop("annotations", {})},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"pod": "app"}}, "template": template, **extra},
    }
    return body


def changed(body: dict[str, Any], **changes: Any) -> dict[str, Any]:
    updated = copy.deepcopy(body)
    if "image" in changes:
        updated["spec"]["template"]["spec"]["containers"][0]["image"] = changes["image"]
    if "replicas" in changes:
        updated["spec"]["replicas"] = changes["replicas"]
    if "annotations" in changes:
        updated["metadata"]["annotations"].update(changes["annotations"])
    if "paused" in changes:
        updated["spec"]["paused"] = changes["paused"]
    return updated


@dataclass(frozen=True)
class AdmissionCase:
    name: str
    operation: str
    new: dict[str, Any]
    held: bool
    old: dict[str, Any] | None = None
    sources: list[str] = field(default_factory=list)


WEB = workload({"app": "web"})
TEAM_API = workload({"app": "api", "team": "payments"})
FREEZE, BURN = "ChangeFreeze/holidays", "ServiceLevelObjective/api-availability"

HELD_WEB = changed(WEB, paused=True, annotations={"slogate.dev/held": "true"})
PERSONS_PAUSE = changed(WEB, paused=True)
HELD_BATCH = changed(workload({"app": "batch"}), paused=True, annotations={"slogate.dev/held": "true"})

CASES = [
    AdmissionCase("new workload in scope", "CREATE", WEB, True, sources=[FREEZE]),
    AdmissionCase("new workload out of scope", "CREATE", workload({"app": "batch"}), False),
    AdmissionCase(
        "template change", "UPDATE", changed(WEB, image="registry.example/app:2"), True, WEB, [FREEZE]
    ),
    AdmissionCase("scale only", "UPDATE", changed(WEB, replicas=5), False, WEB),
    AdmissionCase("annotation only", "UPDATE", changed(WEB, annotations={"note": "x"}), False, WEB),
    AdmissionCase("exempt by selector", "CREATE", workload({"app": "web", "tier": "infra"}), False),
    AdmissionCase(
        "emergency passes the freeze", "CREATE", workload({"app": "web"}, change_type="emergency"), False
    ),
    AdmissionCase(
        "feature does not pass",
        "CREATE",
        workload({"app": "web"}, change_type="feature"),
        True,
        sources=[FREEZE],
    ),
    AdmissionCase(
        "two holds", "CREATE", workload({"app": "web", "team": "search"}), True, sources=[FREEZE, BURN]
    ),
    AdmissionCase("all match selectors needed", "CREATE", workload({"app": "api"}), False),
    AdmissionCase("matchExpressions In and Exists", "CREATE", TEAM_API, True, sources=[BURN]),
    AdmissionCase(
        "reliability passes the burn",
        "CREATE",
        workload({"app": "api", "team": "x"}, change_type="reliability"),
        False,
    ),
    AdmissionCase("already paused by a person", "CREATE", workload({"app": "web"}, paused=True), False),
    AdmissionCase(
        "slogate's own rollback",
        "UPDATE",
        changed(WEB, image="registry.example/app:0", annotations={"slogate.dev/rolled-back-to": "abc"}),
        False,
        WEB,
    ),
    AdmissionCase(
        "a later change after a rollback",
        "UPDATE",
        changed(
            changed(WEB, annotations={"slogate.dev/rolled-back-to": "abc"}), image="registry.example/app:3"
        ),
        True,
        changed(WEB, annotations={"slogate.dev/rolled-back-to": "abc"}),
        [FREEZE],
    ),
    AdmissionCase(
        "resuming slogate's hold keeps it",
        "UPDATE",
        changed(HELD_WEB, paused=False),
        True,
        HELD_WEB,
        [FREEZE],
    ),
    AdmissionCase(
        "slogate's release removes held and passes",
        "UPDATE",
        {**changed(HELD_WEB, paused=False), "metadata": {**WEB["metadata"], "annotations": {}}},
        False,
        HELD_WEB,
    ),
    AdmissionCase(
        "resuming a person's pause passes",
        "UPDATE",
        changed(PERSONS_PAUSE, paused=False),
        False,
        PERSONS_PAUSE,
    ),
    AdmissionCase(
        "resuming slogate's hold of a workload no hold catches any more passes",
        "UPDATE",
        changed(HELD_BATCH, paused=False),
        False,
        HELD_BATCH,
    ),
]
