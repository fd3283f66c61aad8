"""The incident intake end to end: the running operator's intake port takes signed webhooks, the
Incident appears in the cluster and holds the workload, replays change nothing, bad requests are
refused and counted; and a real Alertmanager, fed by the test Prometheus' alert rule, drives the
same flow."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import yaml

from harness.alertmanager import running_alertmanager
from harness.chart import (
    can_i,
    extra_namespaces,
    installed,
    namespaced,
    operator_args,
    service_account_kubeconfig,
)
from harness.cluster import ROOT, Cluster
from harness.intake import (
    ALERTMANAGER_TOKEN,
    INCIDENTIO_SECRET,
    PAGERDUTY_SECRET,
    encode,
    incidentio_body,
    pagerduty_body,
    pagerduty_headers,
    svix_headers,
)
from harness.kube import get, list_items
from harness.observe import ready_deployment, spec_paused
from harness.operator import OperatorProcess, running_operator, start_operator
from harness.processes import free_port
from harness.prometheus import Prometheus, prometheus_server
from harness.waiting import wait_until
from slogate.api.incident import Incident

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

LOGS = ROOT / ".cluster" / "logs"


@dataclass
class Intake:
    url: str
    operator: OperatorProcess

    def post(self, provider: str, body: bytes, headers: dict[str, str]) -> requests.Response:
        return requests.post(f"{self.url}/webhooks/{provider}", data=body, headers=headers, timeout=15)


def start_intake_operator(
    cluster: Cluster,
    prometheus_url: str,
    namespace: str,
    directory: Path,
    *,
    services: dict[str, str],
    port: int,
) -> Intake:
    """The operator with its intake on ``port``, its secret and mapping files written to
    ``directory``; ``services`` maps the providers' service names to Deployments (label ``app``)."""
    (directory / "am-token").write_text(ALERTMANAGER_TOKEN + "\n")
    (directory / "pd-secrets").write_text(f"a-retired-secret\n{PAGERDUTY_SECRET}\n")
    (directory / "io-secrets").write_text(INCIDENTIO_SECRET + "\n")
    mapping = {
        "workloadLabel": "app",
        "services": {
            name: {"namespace": namespace, "workload": workload} for name, workload in services.items()
        },
    }
    (directory / "mapping.yaml").write_text(yaml.safe_dump(mapping))
    operator = start_operator(
        cluster,
        prometheus_url,
        LOGS / f"operator-{namespace}.log",
        f"--namespace={namespace}",
        f"--intake-port={port}",
        "--intake-address=127.0.0.1",
        f"--intake-alertmanager-token-file={directory / 'am-token'}",
        f"--intake-pagerduty-secret-file={directory / 'pd-secrets'}",
        f"--intake-incidentio-secret-file={directory / 'io-secrets'}",
        f"--intake-mapping-file={directory / 'mapping.yaml'}",
    )
    return Intake(url=f"http://127.0.0.1:{port}", operator=operator)


@pytest.fixture
def intake(slogate_crds: Cluster, prometheus: Prometheus, namespace: str, tmp_path: Path) -> Iterator[Intake]:
    services = {"Checkout API": "checkout", "checkout": "checkout"}
    running = start_intake_operator(
        slogate_crds, prometheus.url, namespace, tmp_path, services=services, port=free_port()
    )
    try:
        yield running
    finally:
        running.operator.stop()


def incidents(cluster: Cluster, namespace: str) -> list[dict[str, object]]:
    return list_items(cluster, "sginc", namespace)


def refused_count(operator: OperatorProcess, provider: str, reason: str) -> float:
    prefix = f'slogate_intake_requests_total{{provider="{provider}",reason="{reason}",result="refused"}} '
    lines = [line for line in operator.metrics().splitlines() if line.startswith(prefix)]
    return float(lines[0].removeprefix(prefix)) if lines else 0.0


def test_pagerduty_and_incidentio_webhooks_open_hold_and_resolve_and_replays_change_nothing(
    slogate_crds: Cluster, namespace: str, intake: Intake
) -> None:
    cluster = slogate_crds
    ready_deployment(cluster, namespace, "checkout")
    ready_deployment(cluster, namespace, "search")

    triggered = encode(pagerduty_body(priority="P1"))
    sent = time.monotonic()
    answer = intake.post("pagerduty", triggered, pagerduty_headers(triggered, PAGERDUTY_SECRET))
    assert (answer.status_code, answer.json()["incident"]) == (201, "pagerduty-pgr0vu2"), answer.text
    wait_until(
        lambda: spec_paused(cluster, "deployment", "checkout", namespace), 10, "the P1 to hold checkout"
    )
    print(f"pagerduty webhook to hold: {time.monotonic() - sent:.2f} s")
    assert not spec_paused(cluster, "deployment", "search", namespace)
    created = get(cluster, "sginc", "pagerduty-pgr0vu2", namespace)
    assert created["spec"]["severity"] == "P1"
    assert created["spec"]["affectedSelector"] == {"matchLabels": {"app": "checkout"}}

    # PagerDuty's retries and replays: nothing is written again.
    version = created["metadata"]["resourceVersion"]
    for _ in range(3):
        again = intake.post("pagerduty", triggered, pagerduty_headers(triggered, PAGERDUTY_SECRET))
        assert (again.status_code, again.json()["result"]) == (200, "unchanged")
    assert get(cluster, "sginc", "pagerduty-pgr0vu2", namespace)["metadata"]["resourceVersion"] == version

    # Refused: a signature under another secret, a tampered body, a body not PagerDuty's.
    forged = intake.post("pagerduty", triggered, pagerduty_headers(triggered, "guessed"))
    tampered = encode(pagerduty_body(incident_id="PNEW001"))
    changed = intake.post("pagerduty", tampered, pagerduty_headers(triggered, PAGERDUTY_SECRET))
    junk = b'{"hello": "world"}'
    malformed = intake.post("pagerduty", junk, pagerduty_headers(junk, PAGERDUTY_SECRET))
    assert [r.status_code for r in (forged, changed, malformed)] == [401, 401, 400]
    assert refused_count(intake.operator, "pagerduty", "bad-signature") == 2
    assert refused_count(intake.operator, "pagerduty", "malformed") == 1

    # incident.io: Svix-signed now is taken; the same message signed 10 minutes ago is not.
    body = encode(incidentio_body(services=("checkout",), severity="Major"))
    stamp = int(datetime.now(UTC).timestamp())
    created_io = intake.post("incidentio", body, svix_headers(body, "msg_e2e_1", stamp, INCIDENTIO_SECRET))
    assert created_io.status_code == 201, created_io.text
    old = intake.post("incidentio", body, svix_headers(body, "msg_e2e_1", stamp - 600, INCIDENTIO_SECRET))
    assert (old.status_code, old.json()["reason"]) == (401, "bad-timestamp")
    assert refused_count(intake.operator, "incidentio", "bad-timestamp") == 1
    assert {item["metadata"]["name"] for item in incidents(cluster, namespace)} == {  # type: ignore[index]
        "pagerduty-pgr0vu2",
        "incidentio-01fdag4sap5typt98wgr2n7w91",
    }

    # Both resolve; the hold is released once neither is open.
    later = datetime.now(UTC) + timedelta(seconds=1)
    resolved = encode(pagerduty_body(event_type="incident.resolved", status="resolved", occurred_at=later))
    assert (
        intake.post("pagerduty", resolved, pagerduty_headers(resolved, PAGERDUTY_SECRET)).json()["result"]
        == "updated"
    )
    closed = encode(incidentio_body(status="Closed", category="closed", updated_at=later))
    stamp = int(datetime.now(UTC).timestamp())
    assert (
        intake.post(
            "incidentio", closed, svix_headers(closed, "msg_e2e_2", stamp, INCIDENTIO_SECRET)
        ).status_code
        == 200
    )
    wait_until(
        lambda: not spec_paused(cluster, "deployment", "checkout", namespace),
        15,
        "resolving to release checkout",
    )
    # A late retry of the old trigger reopens nothing.
    stale = intake.post("pagerduty", triggered, pagerduty_headers(triggered, PAGERDUTY_SECRET))
    assert (stale.status_code, stale.json()["reason"]) == (200, "stale")
    assert get(cluster, "sginc", "pagerduty-pgr0vu2", namespace)["spec"]["state"] == "Resolved"


def alert_rule(path: Path, service: str, namespace: str) -> Path:
    """An error-ratio alert on the test exporter's counter, as an SRE would write one."""
    ratio = (
        f'sum(rate(slogate_test_http_requests_total{{service="{service}",code="500"}}[5s]))'
        f' / sum(rate(slogate_test_http_requests_total{{service="{service}"}}[5s]))'
    )
    rules = {
        "groups": [
            {
                "name": "slogate-intake-e2e",
                "interval": "1s",
                "rules": [
                    {
                        "alert": "HighErrorRate",
                        "expr": f"{ratio} > 0.2",
                        "labels": {"severity": "critical", "service": service, "namespace": namespace},
                        "annotations": {"summary": f"{service} fails more than 20% of requests"},
                    }
                ],
            }
        ]
    }
    path.write_text(yaml.safe_dump(rules))
    return path


def test_a_real_alertmanager_opens_and_resolves_an_incident_from_a_prometheus_alert(
    slogate_crds: Cluster, namespace: str, tmp_path: Path
) -> None:
    cluster = slogate_crds
    service = f"cart-{namespace}"
    ready_deployment(cluster, namespace, "cart")
    port = free_port()
    rules = alert_rule(tmp_path / "alerts.yml", service, namespace)
    webhook = f"http://127.0.0.1:{port}/webhooks/alertmanager"
    (tmp_path / "am-token").write_text(ALERTMANAGER_TOKEN + "\n")
    with (
        running_alertmanager(
            webhook, tmp_path / "am-token", LOGS / f"alertmanager-{namespace}.log"
        ) as alertmanager,
        prometheus_server(
            LOGS / f"prometheus-{namespace}.log", rule_files=(rules,), alertmanager=alertmanager.address
        ) as prometheus,
    ):
        am_log = LOGS / f"alertmanager-{namespace}.log"
        # The alert fires while the intake is down: Alertmanager's notification fails, and it retries.
        prometheus.handle.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.5)
        wait_until(
            lambda: "Notify for alerts failed" in am_log.read_text(),
            60,
            "Alertmanager to fail to notify the intake that is not listening yet",
        )
        operator = start_intake_operator(
            cluster, prometheus.url, namespace, tmp_path, services={service: "cart"}, port=port
        ).operator
        try:
            opened = wait_until(
                lambda: incidents(cluster, namespace), 60, "Alertmanager's webhook to open an Incident"
            )
            assert len(opened) == 1
            incident = opened[0]
            assert incident["metadata"]["labels"] == {"slogate.dev/source": "alertmanager"}  # type: ignore[index]
            assert incident["spec"]["severity"] == "P1"  # type: ignore[index]
            assert incident["spec"]["state"] == "Detected"  # type: ignore[index]
            wait_until(
                lambda: spec_paused(cluster, "deployment", "cart", namespace), 10, "the alert to hold cart"
            )

            prometheus.handle.exporter.set_traffic(service, requests_per_second=50, error_ratio=0.0)
            name = incident["metadata"]["name"]  # type: ignore[index]
            wait_until(
                lambda: get(cluster, "sginc", name, namespace)["spec"]["state"] == "Resolved",
                90,
                "Alertmanager's resolved notification to resolve the Incident",
            )
            wait_until(
                lambda: not spec_paused(cluster, "deployment", "cart", namespace), 15, "the release of cart"
            )
            # Alertmanager retried, then re-sent the group as it changed: still one Incident, no refusal.
            assert len(incidents(cluster, namespace)) == 1
            metrics = operator.metrics()
            assert 'provider="alertmanager",reason="new",result="created"} 1.0' in metrics
            assert 'provider="alertmanager",reason="unauthorized"' not in metrics
        finally:
            prometheus.handle.exporter.stop_traffic(service)
            operator.stop()


def test_the_chart_enables_the_intake_and_its_rbac_is_enough(
    slogate_crds: Cluster, namespace: str, prometheus: Prometheus, tmp_path: Path
) -> None:
    """With intake.enabled, the chart's rendered flags parse, and the real operator authenticated as
    the chart's ServiceAccount (namespaced mode) creates and resolves an Incident from a webhook
    without one Forbidden; the Incident permissions stop at the watched namespace."""
    cluster = slogate_crds
    release = f"slogate-{namespace}"
    account = f"system:serviceaccount:{namespace}:{release}"
    with (
        extra_namespaces(cluster, 2) as (team, outsider),
        installed(
            cluster,
            release,
            namespace,
            *namespaced(team),
            "--set",
            "intake.enabled=true",
            "--set",
            "intake.credentials.existingSecret=intake-credentials",
            "--set",
            "intake.credentials.pagerdutySecretsKey=pagerduty",
            "--set",
            f"intake.mapping.services.checkout.namespace={team}",
        ),
    ):
        rendered = operator_args(cluster, release, namespace)
        assert "--intake-pagerduty-secret-file=/var/run/secrets/slogate/intake/pagerduty" in rendered
        service = get(cluster, "service", f"{release}-intake", namespace)
        assert service["spec"]["ports"][0]["port"] == 9095
        for verb in ("get", "create", "patch"):
            assert can_i(cluster, account, verb, Incident.names.crd_name, "-n", team), verb
            assert not can_i(cluster, account, verb, Incident.names.crd_name, "-n", outsider), verb
        assert not can_i(cluster, account, "delete", Incident.names.crd_name, "-n", team)

        as_operator = service_account_kubeconfig(cluster, namespace, release)
        scope = [arg for arg in rendered if arg.startswith(("--namespace=", "--leader-election-lease="))]
        port = free_port()
        (tmp_path / "pd").write_text(PAGERDUTY_SECRET + "\n")
        (tmp_path / "mapping.yaml").write_text(
            yaml.safe_dump(
                {
                    "workloadLabel": "app",
                    "services": {"Checkout API": {"namespace": team, "workload": "checkout"}},
                }
            )
        )
        log = LOGS / f"operator-chart-intake-{namespace}.log"
        with running_operator(
            as_operator,
            prometheus.url,
            log,
            *scope,
            f"--intake-port={port}",
            "--intake-address=127.0.0.1",
            f"--intake-pagerduty-secret-file={tmp_path / 'pd'}",
            f"--intake-mapping-file={tmp_path / 'mapping.yaml'}",
        ):
            url = f"http://127.0.0.1:{port}/webhooks/pagerduty"
            triggered = encode(pagerduty_body())
            answer = requests.post(
                url, data=triggered, headers=pagerduty_headers(triggered, PAGERDUTY_SECRET), timeout=15
            )
            assert answer.status_code == 201, answer.text
            later = datetime.now(UTC) + timedelta(seconds=1)
            resolved = encode(
                pagerduty_body(event_type="incident.resolved", status="resolved", occurred_at=later)
            )
            answer = requests.post(
                url, data=resolved, headers=pagerduty_headers(resolved, PAGERDUTY_SECRET), timeout=15
            )
            assert answer.status_code == 200, answer.text
            assert get(cluster, "sginc", "pagerduty-pgr0vu2", team)["spec"]["state"] == "Resolved"
        text = log.read_text()
        for refusal in ("Forbidden", "forbidden", "Not enough permissions"):
            assert refusal not in text, f"{refusal!r} in {log}"
