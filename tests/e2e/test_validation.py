"""Refusal at apply time: what the CRD schema cannot check is refused by the operator's validating
webhook, naming the field; with the operator down the apply goes through and the status says Invalid.

Against the real API server and the operator started with ``--validation-webhook``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from harness.cluster import ROOT, Cluster
from harness.kube import get, merge_patch
from harness.operator import OperatorProcess, running_operator
from harness.processes import free_port
from harness.prometheus import Prometheus
from harness.slogate import freeze, gate, slo
from harness.waiting import wait_until

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

WEBHOOK_CONFIGURATION = "slogate-hold.slogate.dev"
VALIDATED_KINDS = 4


def with_spec(body: dict[str, Any], **spec: Any) -> dict[str, Any]:
    changed = copy.deepcopy(body)
    changed["spec"].update(spec)
    return changed


BROKEN_QUERY = 'sum(rate(slogate_test_http_requests_total{code=~"5.."}[$window])'

REFUSED = [
    (with_spec(freeze("mars"), timeZone="Mars/Olympus"), "spec.timeZone", "unknown time zone 'Mars/Olympus'"),
    (
        freeze("rrule", recurrence={"rrule": "FREQ=WEEKLY;BYDAY=FU", "duration": "2h"}),
        "spec.recurrence.rrule",
        "invalid 'BYDAY': FU",
    ),
    (
        freeze("cron", recurrence={"cron": "61 18 * * FRI", "duration": "2h"}),
        "spec.recurrence.cron",
        "'61' is outside 0-59",
    ),
    (
        with_spec(
            slo("broken", "checkout", "checkout"),
            indicator={"ratio": {"errors": BROKEN_QUERY, "total": "sum(rate(x[$window]))"}},
        ),
        "spec.indicator.ratio.errors",
        "not valid PromQL (unclosed left parenthesis)",
    ),
    (
        gate(
            "checks",
            "checkout",
            checks=[{"name": "queue", "query": "max(queue{", "comparison": "LessThan", "threshold": 1}],
        ),
        "spec.checks[0].query",
        "not valid PromQL",
    ),
]


def kubectl_apply(cluster: Cluster, namespace: str, body: dict[str, Any], *flags: str) -> tuple[int, str]:
    result = cluster.kubectl("apply", "-n", namespace, *flags, "-f", "-", input=json.dumps(body), check=False)
    return result.returncode, result.stderr


def validating_webhooks(cluster: Cluster) -> int:
    found = cluster.kubectl(
        "get", "validatingwebhookconfiguration", WEBHOOK_CONFIGURATION, "-o", "json", check=False
    )
    return len(json.loads(found.stdout).get("webhooks") or []) if found.returncode == 0 else 0


def validating(cluster: Cluster, prometheus: Prometheus, namespace: str, log: str) -> Any:
    """The operator with the validating webhook on, reached by the API server at 127.0.0.1."""
    return running_operator(
        cluster,
        prometheus.url,
        ROOT / ".cluster" / "logs" / f"operator-{log}-{namespace}.log",
        f"--namespace={namespace}",
        "--admission=off",
        "--validation-webhook",
        "--admission-webhook-host=127.0.0.1",
        f"--admission-webhook-port={free_port()}",
    )


@pytest.fixture
def validating_operator(
    slogate_crds: Cluster, prometheus: Prometheus, namespace: str
) -> Iterator[OperatorProcess]:
    with validating(slogate_crds, prometheus, namespace, "validation") as running:
        wait_until(
            lambda: validating_webhooks(slogate_crds) == VALIDATED_KINDS, 60, "the validating webhooks"
        )
        yield running


@pytest.mark.usefixtures("validating_operator")
@pytest.mark.parametrize(("body", "field", "message"), REFUSED, ids=lambda value: str(value)[:24])
def test_apply_refuses_what_the_schema_cannot_check_naming_the_field(
    cluster: Cluster, namespace: str, body: dict[str, Any], field: str, message: str
) -> None:
    for flags in (("--dry-run=server",), ()):
        code, stderr = kubectl_apply(cluster, namespace, body, *flags)
        assert code != 0, f"{body['metadata']['name']} was admitted"
        assert "denied the request" in stderr
        assert f"{field}: " in stderr
        assert message in stderr
    missing = cluster.kubectl("get", body["kind"], body["metadata"]["name"], "-n", namespace, check=False)
    assert missing.returncode != 0


@pytest.mark.usefixtures("validating_operator")
def test_valid_resources_and_spec_updates_are_judged_alike(cluster: Cluster, namespace: str) -> None:
    for body in (slo("checkout", "checkout", "checkout"), gate("checkout", "checkout"), freeze("valid")):
        code, stderr = kubectl_apply(cluster, namespace, body)
        assert code == 0, stderr
    merge_patch(cluster, "sgfreeze", "valid", namespace, {"spec": {"timeZone": "Europe/Berlin"}})
    code, stderr = kubectl_apply(cluster, namespace, with_spec(freeze("valid"), timeZone="Mars/Olympus"))
    assert code != 0
    assert "spec.timeZone: " in stderr
    assert get(cluster, "sgfreeze", "valid", namespace)["spec"]["timeZone"] == "Europe/Berlin"


def test_with_the_operator_down_an_apply_goes_through_and_the_status_says_invalid(
    cluster: Cluster, prometheus: Prometheus, namespace: str, validating_operator: OperatorProcess
) -> None:
    validating_operator.kill()
    assert validating_webhooks(cluster) == VALIDATED_KINDS  # still registered: it fails open
    body = with_spec(freeze("admitted-while-down"), timeZone="Mars/Olympus")
    code, stderr = kubectl_apply(cluster, namespace, body)
    assert code == 0, stderr
    with validating(cluster, prometheus, namespace, "validation-restarted"):
        wait_until(lambda: validating_webhooks(cluster) == VALIDATED_KINDS, 60, "the validating webhooks")
        # A metadata-only change to an object admitted while the webhook was away is not refused.
        labels = {"metadata": {"labels": {"team": "a"}}}
        merge_patch(cluster, "sgfreeze", "admitted-while-down", namespace, labels)

        def invalid_condition() -> dict[str, Any] | None:
            status = get(cluster, "sgfreeze", "admitted-while-down", namespace).get("status") or {}
            return next(
                (
                    condition
                    for condition in status.get("conditions", [])
                    if condition["type"] == "Valid" and condition["status"] == "False"
                ),
                None,
            )

        condition = wait_until(invalid_condition, 60, "the Valid=False condition")
        assert "spec.timeZone: unknown time zone 'Mars/Olympus'" in condition["message"]
