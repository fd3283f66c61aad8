"""The generated CRDs on a real API server: examples apply, malformed objects are rejected by the
server itself with a message naming the field, and kubectl shows descriptions, columns and the
category."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.cluster import Cluster
from slogate.api.kinds import RESOURCE_TYPES

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.fixture(scope="module")
def crds(cluster: Cluster) -> Cluster:
    cluster.kubectl("apply", "--server-side", "--force-conflicts", "-f", str(ROOT / "crds"))
    for model in RESOURCE_TYPES:
        cluster.kubectl("wait", "--for=condition=Established", "--timeout=60s", f"crd/{model.names.crd_name}")
    return cluster


@pytest.fixture(scope="module")
def crd_namespace(crds: Cluster) -> Iterator[str]:
    name = f"crds-{uuid.uuid4().hex[:8]}"
    crds.kubectl("create", "namespace", name)
    yield name
    crds.kubectl("delete", "namespace", name, "--wait=false", check=False)


def apply(
    cluster: Cluster, namespace: str, manifest: str, *extra: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return cluster.kubectl(
        "apply",
        "--server-side",
        "--field-manager=slogate-tests",
        "-n",
        namespace,
        *extra,
        "-f",
        "-",
        input=manifest,
        check=check,
    )


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_applies_with_server_side_validation(crds: Cluster, crd_namespace: str, path: Path) -> None:
    manifest = path.read_text()
    apply(crds, crd_namespace, manifest, "--dry-run=server")
    apply(crds, crd_namespace, manifest)
    for document in yaml.safe_load_all(manifest):
        crds.kubectl(
            "get",
            "-n",
            crd_namespace,
            f"{document['kind'].lower()}.slogate.dev",
            document["metadata"]["name"],
        )


def test_server_defaults_are_the_intended_ones(crds: Cluster, crd_namespace: str) -> None:
    apply(crds, crd_namespace, (ROOT / "examples" / "freeze-2h.yaml").read_text())
    stored = yaml.safe_load(
        crds.kubectl("get", "-n", crd_namespace, "changefreeze", "db-migration", "-o", "yaml").stdout
    )
    assert stored["spec"]["timeZone"] == "UTC"
    assert "exemptions" not in stored["spec"], "only intended defaults are applied by the server"


SLO = {
    "apiVersion": "slogate.dev/v1alpha1",
    "kind": "ServiceLevelObjective",
    "metadata": {"name": "bad-slo"},
    "spec": {
        "objective": 99.9,
        "window": "30d",
        "selector": {},
        "indicator": {"errorRatio": {"query": "sum(rate(errors[$window]))"}},
    },
}
FREEZE = {
    "apiVersion": "slogate.dev/v1alpha1",
    "kind": "ChangeFreeze",
    "metadata": {"name": "bad-freeze"},
    "spec": {"reason": "test", "duration": "2h"},
}
INCIDENT = {
    "apiVersion": "slogate.dev/v1alpha1",
    "kind": "Incident",
    "metadata": {"name": "bad-incident"},
    "spec": {"severity": "P1", "title": "down", "affectedSelector": {}},
}
GATE = {
    "apiVersion": "slogate.dev/v1alpha1",
    "kind": "ReleaseGate",
    "metadata": {"name": "bad-gate"},
    "spec": {"selector": {}},
}
POLICY = {"name": "fast", "severity": "page", "burnRate": 14.4}


def changed(body: dict[str, Any], **spec: Any) -> str:
    document = yaml.safe_load(yaml.safe_dump(body))
    for key, value in spec.items():
        if value is None:
            document["spec"].pop(key)
        else:
            document["spec"][key] = value
    return yaml.safe_dump(document)


@pytest.mark.parametrize(
    ("manifest", "field", "fragment"),
    [
        (changed(SLO, objective=100), "spec.objective", "less than 100"),
        (changed(SLO, objective=0), "spec.objective", "greater than 0"),
        (changed(SLO, window="30days"), "spec.window", "should match"),
        (changed(SLO, window="0s"), "spec.window", "greater than zero"),
        (
            changed(
                SLO,
                indicator={
                    "errorRatio": {"query": "x[$window]"},
                    "latency": {"metric": "h", "threshold": "0.3"},
                },
            ),
            "spec.indicator",
            "exactly one indicator kind",
        ),
        (changed(SLO, indicator={}), "spec.indicator", "exactly one indicator kind"),
        (
            changed(
                SLO,
                indicator={"ratio": {"good": "g[$window]", "errors": "e[$window]", "total": "t[$window]"}},
            ),
            "spec.indicator.ratio",
            "exactly one of good or errors",
        ),
        (
            changed(SLO, policies=[{**POLICY, "longWindow": "5m", "shortWindow": "1h"}]),
            "spec.policies[0].shortWindow",
            "shortWindow must be shorter than longWindow",
        ),
        (
            changed(SLO, policies=[{**POLICY, "longWindow": "1h", "shortWindow": "1h"}]),
            "spec.policies[0].shortWindow",
            "shortWindow must be shorter than longWindow",
        ),
        (
            changed(SLO, window="1h", policies=[{**POLICY, "longWindow": "2h", "shortWindow": "5m"}]),
            "spec.policies",
            "no longer than window",
        ),
        (
            changed(SLO, indicator={"errorRatio": {"query": "x[5m]"}}),
            "spec.indicator.errorRatio.query",
            "$window",
        ),
        (changed(SLO, objective=None), "spec.objective", "Required value"),
        (changed(SLO, selector=None), "spec.selector", "Required value"),
        (
            changed(SLO, selector={"matchExpressions": [{"key": "app", "operator": "In"}]}),
            "spec.selector.matchExpressions[0].values",
            "non-empty for In",
        ),
        (
            changed(SLO, selector={"matchLabels": {"bad key!": "x"}}),
            "spec.selector.matchLabels",
            "label keys",
        ),
        (changed(INCIDENT, severity="P5"), "spec.severity", "supported values"),
        (changed(INCIDENT, state="Open"), "spec.state", "supported values"),
        (changed(INCIDENT, title=None), "spec.title", "Required value"),
        (changed(GATE, mode="Audit"), "spec.mode", "supported values"),
        (
            changed(GATE, exemptions={"changeTypes": ["feature"]}),
            "spec.exemptions.changeTypes[0]",
            "supported values",
        ),
        (
            changed(GATE, override={"by": " ", "reason": "x", "expires": "2026-01-01T00:00:00Z"}),
            "spec.override.reason",
            "must not be blank",
        ),
        (changed(FREEZE, timeZone="Not a zone"), "spec.timeZone", "should match"),
        (changed(FREEZE, duration=None), "spec", "needs end or duration"),
        (changed(FREEZE, duration="2 hours"), "spec.duration", "should match"),
        (
            changed(FREEZE, duration=None, start="2026-01-02T00:00:00Z", end="2026-01-01T00:00:00Z"),
            "spec.end",
            "end must be after start",
        ),
        (changed(FREEZE, end="2026-01-01T00:00:00Z"), "spec.duration", "end or duration, not both"),
        (
            changed(FREEZE, duration=None, recurrence={"rrule": "every friday", "duration": "2h"}),
            "spec.recurrence.rrule",
            "must be an RRULE",
        ),
        (
            changed(FREEZE, duration=None, recurrence={"rrule": "FREQ=MINUTELY", "duration": "2h"}),
            "spec.recurrence.rrule",
            "FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY",
        ),
        (
            changed(
                FREEZE,
                duration=None,
                recurrence={
                    "rrule": "DTSTART;TZID=Europe/Berlin:20241220T000000\nRRULE:FREQ=YEARLY",
                    "duration": "2h",
                },
            ),
            "spec.recurrence.rrule",
            "no TZID",
        ),
        (
            changed(FREEZE, duration=None, recurrence={"cron": "0 16 * *", "duration": "2h"}),
            "spec.recurrence.cron",
            "five cron fields",
        ),
        (
            changed(
                FREEZE, duration=None, recurrence={"cron": "@daily", "rrule": "FREQ=DAILY", "duration": "2h"}
            ),
            "spec.recurrence",
            "exactly one of rrule or cron",
        ),
        (
            changed(FREEZE, recurrence={"cron": "@daily", "duration": "2h"}),
            "spec",
            "either recurrence or a one-shot window",
        ),
    ],
)
def test_malformed_resources_are_rejected_naming_the_field(
    crds: Cluster, crd_namespace: str, manifest: str, field: str, fragment: str
) -> None:
    result = apply(crds, crd_namespace, manifest, "--dry-run=server", check=False)
    assert result.returncode != 0, f"accepted:\n{manifest}"
    assert f"{field}:" in result.stderr, result.stderr
    assert fragment in result.stderr, result.stderr


def test_well_shaped_but_unknown_zone_is_left_to_the_operator(crds: Cluster, crd_namespace: str) -> None:
    """CEL cannot know the IANA database: the server admits the shape and slogate marks it Invalid."""
    apply(crds, crd_namespace, changed(FREEZE, timeZone="Mars/Olympus_Mons"), "--dry-run=server")


@pytest.mark.parametrize(
    ("resource", "field", "text"),
    [
        ("servicelevelobjectives.spec.objective", "objective", "strictly between 0 and 100"),
        ("releasegates.spec.maxBudgetConsumedPerRelease", "maxBudgetConsumedPerRelease", "Defaults to 20"),
        ("changefreezes.spec.timeZone", "timeZone", "IANA time zone"),
        ("incidents.spec.severity", "severity", "P1 (most severe)"),
    ],
)
def test_explain_shows_descriptions(crds: Cluster, resource: str, field: str, text: str) -> None:
    explained = crds.kubectl("explain", resource, "--api-version=slogate.dev/v1alpha1")
    assert field in explained.stdout
    assert text in " ".join(explained.stdout.split())


def test_category_and_columns(crds: Cluster, crd_namespace: str) -> None:
    for path in EXAMPLES:
        apply(crds, crd_namespace, path.read_text())
    listed = crds.kubectl("get", "slogate", "-n", crd_namespace).stdout
    for kind in (
        "servicelevelobjective.slogate.dev/",
        "releasegate.slogate.dev/",
        "changefreeze.slogate.dev/",
    ):
        assert kind in listed
    assert "incident.slogate.dev/checkout-5xx" in listed
    headers = {
        "sgslo": ("OBJECTIVE", "WINDOW", "BUDGET LEFT", "BURN RATE", "STATE"),
        "sggate": ("VERDICT", "MODE", "HELD"),
        "sgfreeze": ("ACTIVE", "NEXT CHANGE", "REASON"),
        "sginc": ("SEVERITY", "STATE", "HOLDING", "AGE"),
    }
    for short_name, columns in headers.items():
        header = crds.kubectl("get", short_name, "-n", crd_namespace).stdout.splitlines()[0]
        for column in columns:
            assert column in header, (short_name, header)
    assert "Enforce" in crds.kubectl("get", "sggate", "-n", crd_namespace).stdout
