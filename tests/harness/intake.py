"""Webhooks as the providers send them, for the intake's tests: bodies shaped after the providers'
documented examples, and signatures made the way each provider documents (computed here with
``hmac`` directly, not with slogate's own code, so a test checks slogate against the scheme).

- Alertmanager: the webhook_config body, version 4 (the sample in its docs: receiver, status,
  alerts, groupLabels, commonLabels, commonAnnotations, externalURL, version, groupKey,
  truncatedAlerts).
- PagerDuty v3: ``{"event": {id, event_type, resource_type, occurred_at, agent, client, data}}`` with
  the incident in ``data``; ``X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body>``.
- incident.io: ``{"event_type": ..., "<event_type>": {incident}}``, signed by Svix:
  ``webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`` keyed by the base64
  after ``whsec_``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

# A Svix-style secret: whsec_ and base64 of random bytes (this one is only for tests).
INCIDENTIO_SECRET = "whsec_" + base64.b64encode(b"slogate-test-incidentio-key-0001").decode()
PAGERDUTY_SECRET = "pd-test-secret-0001"
ALERTMANAGER_TOKEN = "am-test-token-0001"


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def alertmanager_body(
    *,
    status: str = "firing",
    service: str = "checkout",
    namespace: str | None = "shop",
    severity: str = "critical",
    alertname: str = "HighErrorRate",
    starts_at: datetime = datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
    ends_at: datetime | None = None,
    group_key: str = '{}/{severity="critical"}:{alertname="HighErrorRate"}',
) -> dict[str, Any]:
    labels = {"alertname": alertname, "service": service, "severity": severity, "job": "checkout"}
    if namespace is not None:
        labels["namespace"] = namespace
    annotations = {
        "summary": f"{service} is failing more than 5% of requests",
        "description": f"The 5m error ratio of {service} is above 5%.",
    }
    alert = {
        "status": status,
        "labels": labels,
        "annotations": annotations,
        "startsAt": rfc3339(starts_at),
        "endsAt": rfc3339(ends_at) if ends_at is not None else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=up",
        "fingerprint": "1a30ba71cca2921f",
    }
    return {
        "receiver": "slogate",
        "status": status,
        "alerts": [alert],
        "groupLabels": {"alertname": alertname},
        "commonLabels": labels,
        "commonAnnotations": annotations,
        "externalURL": "http://alertmanager.example.org:9093",
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
    }


def pagerduty_body(
    *,
    event_type: str = "incident.triggered",
    status: str = "triggered",
    incident_id: str = "PGR0VU2",
    service: str = "Checkout API",
    priority: str | None = "P1",
    urgency: str = "high",
    occurred_at: datetime = datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
    title: str = "The server is on fire.",
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": incident_id,
        "type": "incident",
        "self": f"https://api.pagerduty.com/incidents/{incident_id}",
        "html_url": f"https://acme.pagerduty.com/incidents/{incident_id}",
        "number": 2,
        "status": status,
        "incident_key": "d3640fbd41094207a1c11e58e46b1662",
        "created_at": "2026-12-04T11:59:00Z",
        "title": title,
        "service": {
            "html_url": "https://acme.pagerduty.com/services/PF9KMXH",
            "id": "PF9KMXH",
            "self": "https://api.pagerduty.com/services/PF9KMXH",
            "summary": service,
            "type": "service_reference",
        },
        "assignees": [
            {
                "html_url": "https://acme.pagerduty.com/users/PTUXL6G",
                "id": "PTUXL6G",
                "self": "https://api.pagerduty.com/users/PTUXL6G",
                "summary": "User 123",
                "type": "user_reference",
            }
        ],
        "escalation_policy": {"id": "PUS0KTE", "summary": "Default", "type": "escalation_policy_reference"},
        "teams": [{"id": "PFCVPS0", "summary": "Engineering", "type": "team_reference"}],
        "priority": {"id": "PSO75BM", "summary": priority, "type": "priority_reference"}
        if priority
        else None,
        "urgency": urgency,
        "conference_bridge": None,
        "resolve_reason": None,
    }
    return {
        "event": {
            "id": "5ac64822-4adc-4fda-ade0-410becf0de4f",
            "event_type": event_type,
            "resource_type": "incident",
            "occurred_at": rfc3339(occurred_at),
            "agent": {"id": "PLH1HKV", "summary": "Tenex Engineer", "type": "user_reference"},
            "client": {"name": "PagerDuty"},
            "data": data,
        }
    }


def incidentio_body(
    *,
    event_type: str = "public_incident.incident_created_v2",
    incident_id: str = "01FDAG4SAP5TYPT98WGR2N7W91",
    services: tuple[str, ...] = ("checkout",),
    severity: str = "Critical",
    status: str = "Investigating",
    category: str = "live",
    updated_at: datetime = datetime(2026, 12, 4, 12, 0, tzinfo=UTC),
) -> dict[str, Any]:
    incident = {
        "id": incident_id,
        "reference": "INC-123",
        "name": "Our database is sad",
        "summary": "Our database is really really sad, and we don't know why yet.",
        "permalink": "https://app.incident.io/incidents/123",
        "mode": "standard",
        "visibility": "public",
        "severity": {"id": "01FH5TZRWMNAFB0DZ23FD1TV96", "name": severity, "rank": 1},
        "incident_status": {
            "id": "01FCNDV6P870EA6S7TK1DSYD5H",
            "name": status,
            "category": category,
            "rank": 4,
        },
        "incident_type": {"id": "01FH5TZRWMNAFB0DZ23FD1TV96", "name": "Production Outage"},
        "custom_field_entries": [
            {
                "custom_field": {
                    "id": "01FCNDV6P870EA6S7TK1DSYDG0",
                    "name": "Affected services",
                    "field_type": "multi_select",
                },
                "values": [
                    {
                        "value_catalog_entry": {
                            "id": f"01FCNDV6P870EA6S7TK1DSYD{index:02d}",
                            "name": service,
                            "external_id": service,
                        }
                    }
                    for index, service in enumerate(services)
                ],
            }
        ],
        "incident_role_assignments": [
            {
                "role": {"id": "01FH5TZRWMNAFB0DZ23FD1TV96", "name": "Incident Lead", "role_type": "lead"},
                "assignee": {"id": "01G0J1EXE7AXZ2C93K61WBPYEH", "name": "Lisa Karlin Curtis"},
            }
        ],
        "created_at": "2026-12-04T11:58:00Z",
        "updated_at": rfc3339(updated_at),
    }
    return {"event_type": event_type, event_type: incident}


def encode(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def pagerduty_headers(body: bytes, *secrets: str) -> dict[str, str]:
    signatures = ",".join("v1=" + hmac.new(s.encode(), body, hashlib.sha256).hexdigest() for s in secrets)
    return {"X-PagerDuty-Signature": signatures, "Content-Type": "application/json"}


def svix_headers(body: bytes, message_id: str, timestamp: int, *secrets: str) -> dict[str, str]:
    signed = f"{message_id}.{timestamp}.".encode() + body
    entries = []
    for secret in secrets:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        entries.append("v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode())
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(entries),
        "Content-Type": "application/json",
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}


def basic(username: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}", "Content-Type": "application/json"}
