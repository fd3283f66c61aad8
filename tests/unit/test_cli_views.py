"""The CLI's pure parts: argument parsing, freeze manifests and patches, views and their rendering."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from slogate.api.base import WorkloadKind
from slogate.cli import build_parser
from slogate.cli.environment import resolve_environment
from slogate.cli.explain import explain_view, headline, parse_target
from slogate.cli.explain import human as explain_text
from slogate.cli.freeze import created_summary, freeze_manifest, parse_freeze_duration, parse_selector
from slogate.cli.output import CliError, OutputFormat, relative, render, table
from slogate.cli.postmortem import markdown, postmortem_view
from slogate.cli.status import human as status_text
from slogate.cli.status import status_view
from slogate.cli.unfreeze import chosen, end_patch

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_table_pads_columns_and_shows_missing_cells_as_none() -> None:
    assert table(["name", "state"], [["checkout", "Healthy"], ["api", None]]) == (
        "NAME       STATE\ncheckout   Healthy\napi        <none>"
    )


@pytest.mark.parametrize(
    ("when", "shown"),
    [
        ("2026-11-22T14:03:30Z", "2026-11-22T14:03:30Z (in 2h3m)"),
        ("2026-11-22T11:59:55Z", "2026-11-22T11:59:55Z (5s ago)"),
        ("2026-11-22T12:00:00+00:00", "2026-11-22T12:00:00Z (0s ago)"),
        (None, None),
        ("not a time", None),
    ],
)
def test_relative_times_read_like_kubectl_ages(when: str | None, shown: str | None) -> None:
    assert relative(when, NOW) == shown


def test_output_formats_render_the_same_data() -> None:
    data = {"name": "x", "items": [1, 2]}
    assert json.loads(render(data, OutputFormat.JSON, str)) == data
    assert yaml.safe_load(render(data, OutputFormat.YAML, str)) == data
    assert render(data, OutputFormat.TABLE, lambda d: f"table of {d['name']}") == "table of x"


def test_selectors_and_durations_are_checked_with_a_hint() -> None:
    assert parse_selector("app=web, tier=api") == {"app": "web", "tier": "api"}
    assert parse_selector(None) is None
    with pytest.raises(CliError, match="key=value pairs"):
        parse_selector("app")
    with pytest.raises(CliError, match=r"invalid duration '2x'.*slogate freeze 2h"):
        parse_freeze_duration("2x")
    assert parse_freeze_duration("90m") == timedelta(minutes=90)


def test_a_cli_freeze_starts_now_is_labelled_and_names_who_asked() -> None:
    manifest = freeze_manifest(
        "freeze-1", reason="db migration", duration="2h", selector={"app": "web"}, requested_by="ana", now=NOW
    )
    assert manifest["spec"] == {
        "reason": "db migration",
        "start": "2026-11-22T12:00:00Z",
        "duration": "2h",
        "selector": {"matchLabels": {"app": "web"}},
    }
    assert manifest["metadata"]["labels"] == {"slogate.dev/created-by": "slogate-cli"}
    assert manifest["metadata"]["annotations"] == {"slogate.dev/requested-by": "ana"}
    summary = created_summary(manifest, "shop", NOW)
    assert summary["end"] == "2026-11-22T14:00:00Z"
    assert summary["scope"] == "app=web"
    with pytest.raises(CliError, match="--reason"):
        freeze_manifest("f", reason=" ", duration="2h", selector=None, requested_by=None, now=NOW)


def freeze_body(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "creationTimestamp": "2026-11-22T11:00:00Z",
            "labels": {"slogate.dev/created-by": "slogate-cli"},
        },
        "spec": {"reason": "r", **spec},
        "status": {"active": True, "currentWindow": {"start": "x", "end": "2026-11-22T13:00:00Z"}},
    }


def test_unfreeze_sets_the_end_to_now_and_drops_the_duration() -> None:
    patch = end_patch(freeze_body("f", start="2026-11-22T11:00:00Z", duration="2h"), "ana", NOW)
    assert patch == {
        "metadata": {
            "annotations": {"slogate.dev/ended-at": "2026-11-22T12:00:00Z", "slogate.dev/ended-by": "ana"}
        },
        "spec": {"end": "2026-11-22T12:00:00Z", "duration": None},
    }
    just_made = end_patch(freeze_body("f", start="2026-11-22T12:00:00Z", duration="2h"), None, NOW)
    assert just_made["spec"]["end"] == "2026-11-22T12:00:01Z", "the CRD requires end after start"


def test_unfreeze_refuses_recurring_and_future_freezes_saying_what_to_do() -> None:
    with pytest.raises(CliError, match=r"recurring.*kubectl delete sgfreeze weekly"):
        end_patch(freeze_body("weekly", recurrence={"cron": "@daily", "duration": "1h"}), None, NOW)
    with pytest.raises(CliError, match="already over"):
        end_patch(freeze_body("done", start="2026-11-22T09:00:00Z", end="2026-11-22T11:00:00Z"), None, NOW)
    with pytest.raises(CliError, match="has not started yet"):
        end_patch(freeze_body("later", start="2026-11-23T00:00:00Z", duration="1h"), None, NOW)


def test_unfreeze_without_names_ends_only_the_clis_freezes_in_force() -> None:
    mine = freeze_body("mine", duration="2h")
    over = freeze_body("over", duration="2h")
    over["status"]["active"] = False
    theirs = freeze_body("theirs", duration="2h")
    theirs["metadata"]["labels"] = {}
    assert [f["metadata"]["name"] for f in chosen([mine, over, theirs], [], "ns", NOW)] == ["mine"]
    assert chosen([mine, theirs], ["theirs"], "ns", NOW) == [theirs]
    with pytest.raises(CliError, match="no ChangeFreeze named ghost in namespace 'ns'"):
        chosen([mine], ["ghost"], "ns", NOW)


def test_explain_targets_read_like_kubectl() -> None:
    assert parse_target("deployment/web") == (WorkloadKind.DEPLOYMENT, "web")
    assert parse_target("deploy/web") == (WorkloadKind.DEPLOYMENT, "web")
    assert parse_target("rollout/canary") == (WorkloadKind.ROLLOUT, "canary")
    with pytest.raises(CliError, match="deployment/NAME or rollout/NAME"):
        parse_target("pod/web")


WORKLOAD = {
    "metadata": {
        "name": "web",
        "namespace": "shop",
        "annotations": {
            "slogate.dev/held": "true",
            "slogate.dev/held-since": "2026-11-22T11:58:00Z",
            "slogate.dev/decision": "Hold",
            "slogate.dev/reason": "ServiceLevelObjective/web: burn rate over 10s is 9, above maxBurnRate 4",
            "slogate.dev/decided-at": "2026-11-22T11:59:58Z",
            "slogate.dev/gate": "web",
            "slogate.dev/revision": "3",
        },
    },
    "spec": {"paused": True},
}
GATE = {
    "metadata": {"name": "web", "namespace": "shop"},
    "status": {
        "workloads": [
            {
                "workload": {"kind": "Deployment", "name": "web"},
                "verdict": "Hold",
                "enforcedVerdict": "Hold",
                "reasons": [
                    {
                        "check": "BurnRate",
                        "gate": "web",
                        "source": "ServiceLevelObjective/web",
                        "passed": False,
                        "message": "burn rate over 10s is 9, above maxBurnRate 4",
                        "observed": "9",
                        "limit": "4",
                    },
                    {"check": "Freeze", "gate": "web", "passed": True, "message": "no freeze"},
                ],
            },
            {"workload": {"kind": "Deployment", "name": "other"}, "verdict": "Proceed", "reasons": []},
        ]
    },
}
SLO = {
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {"objective": 99.9, "window": "30d"},
    "status": {
        "state": "Burning",
        "sli": 99.1,
        "errorBudgetRemainingPercent": 62.5,
        "burnRate": 9.0,
        "burnRates": [{"window": "10s", "burnRate": 9.0}, {"window": "30s", "burnRate": None}],
        "alerts": [{"name": "page-fast", "firing": True}],
        "selectedWorkloads": [{"kind": "Deployment", "name": "web"}],
    },
}
INCIDENT = {
    "metadata": {"name": "web-5xx", "namespace": "shop"},
    "spec": {"severity": "P1", "title": "web returns 500s", "state": "Resolved", "commander": "ana"},
    "status": {
        "openedAt": "2026-11-22T11:00:00Z",
        "resolvedAt": "2026-11-22T11:40:00Z",
        "duration": "40m",
        "affectedWorkloads": [{"kind": "Deployment", "name": "web"}],
        "timeline": [
            {"time": "2026-11-22T11:00:00Z", "state": "Detected", "message": "P1: web returns 500s"},
            {"time": "2026-11-22T11:40:00Z", "state": "Resolved", "message": "P1: web returns 500s"},
        ],
        "recentDeployments": [
            {
                "workload": {"kind": "Deployment", "name": "web"},
                "revision": "3",
                "time": "2026-11-22T10:55:00Z",
                "images": [{"container": "app", "previous": "web:1", "current": "web:2"}],
                "owner": "ci-bot",
            }
        ],
    },
}
HELD_EVENT = {
    "source": {"component": "slogate"},
    "reason": "Held",
    "type": "Normal",
    "message": "burn rate above 4",
    "lastTimestamp": "2026-11-22T11:01:00Z",
}
OTHER_EVENT = {"source": {"component": "deployment-controller"}, "reason": "ScalingReplicaSet"}


def test_explain_gathers_every_input_of_the_decision() -> None:
    view = explain_view(
        WorkloadKind.DEPLOYMENT,
        workload=WORKLOAD,
        gates=[GATE],
        slos=[SLO],
        freezes=[],
        incidents=[INCIDENT],
        events=[HELD_EVENT, OTHER_EVENT],
    )
    assert view["decision"] == "Hold"
    assert view["pausedBy"] == "slogate"
    assert [(c["check"], c["result"], c["observed"], c["limit"]) for c in view["checks"]] == [
        ("BurnRate", "FAIL", "9", "4"),
        ("Freeze", "pass", None, None),
    ]
    assert view["slos"][0]["burnRates"] == {"10s": 9.0, "30s": None}
    assert view["slos"][0]["alertsFiring"] == ["page-fast"]
    assert [i["name"] for i in view["incidents"]] == ["web-5xx"]
    assert [e["reason"] for e in view["events"]] == ["Held"]
    text = explain_text(view, NOW)
    assert text.startswith("Deployment shop/web: HELD (decision Hold)")
    assert "Held since:      2026-11-22T11:58:00Z (2m ago)" in text
    assert "Expected clear:  not known" in text
    assert "10s=9.00 30s=no-data" in text


def test_explain_falls_back_to_the_gate_verdict_of_a_workload_never_annotated() -> None:
    bare = {"metadata": {"name": "other", "namespace": "shop"}, "spec": {}}
    view = explain_view(
        WorkloadKind.DEPLOYMENT, workload=bare, gates=[GATE], slos=[], freezes=[], incidents=[], events=[]
    )
    assert view["decision"] == "Proceed"
    assert view["reason"] == "all checks pass"
    assert headline(view).startswith("ALLOWED")


def test_status_lists_held_workloads_open_incidents_and_active_freezes() -> None:
    active = freeze_body("now", duration="2h")
    over = freeze_body("over", duration="2h")
    over["status"]["active"] = False
    open_incident = {**INCIDENT, "spec": {**INCIDENT["spec"], "state": "Mitigating"}}
    view = status_view(
        [SLO],
        [active, over],
        [INCIDENT, open_incident],
        [(WorkloadKind.DEPLOYMENT, WORKLOAD), (WorkloadKind.DEPLOYMENT, {"metadata": {"name": "calm"}})],
        [
            {
                "metadata": {"name": "slogate", "namespace": "shop"},
                "spec": {"holds": [{"source": "ChangeFreeze/now"}]},
                "status": {"enforcedBy": "MutatingAdmissionPolicy"},
            }
        ],
    )
    assert view["admission"] == [{"namespace": "shop", "holds": 1, "enforcedBy": "MutatingAdmissionPolicy"}]
    assert [f["name"] for f in view["activeFreezes"]] == ["now"]
    assert [i["state"] for i in view["openIncidents"]] == ["Mitigating"]
    assert [w["name"] for w in view["heldWorkloads"]] == ["web"]
    text = status_text(view, NOW, all_namespaces=True)
    assert "shop/web" in text
    assert "deployment/shop/web" in text
    assert "62.50%" in text
    assert "MutatingAdmissionPolicy" in text


def test_postmortem_tells_the_story_in_markdown() -> None:
    view = postmortem_view(INCIDENT, [SLO], [GATE], {"deployment/web": [HELD_EVENT, OTHER_EVENT]}, NOW)
    assert [item["time"] for item in view["timeline"]] == sorted(item["time"] for item in view["timeline"])
    draft = markdown(view)
    assert draft.startswith("# Postmortem (draft): web returns 500s\n")
    for expected in (
        "| Severity | P1 |",
        "| Duration | 40m |",
        "| web | 99.9% over 30d | Burning | 99.100% | 62.50% | 9.00 | page-fast |",
        "- 2026-11-22T11:00:00Z: Incident Detected: P1: web returns 500s",
        "- 2026-11-22T11:01:00Z: slogate Held deployment/web: burn rate above 4",
        "| 2026-11-22T10:55:00Z | deployment/web | 3 | app: web:1 -> web:2 | ci-bot |",
        "| web | deployment/web | Hold | BurnRate: burn rate over 10s is 9, above maxBurnRate 4 |",
    ):
        assert expected in draft, f"{expected!r} missing from:\n{draft}"


def test_the_run_command_keeps_its_flags() -> None:
    args = resolve_environment(
        build_parser().parse_args(["run", "--prometheus-url", "http://p:9090", "-n", "a", "-n", "b"])
    )
    assert args.namespace == ["a", "b"]
    assert args.prometheus_url == "http://p:9090"
