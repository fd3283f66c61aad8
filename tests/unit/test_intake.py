"""Providers' webhooks to Incidents: severity, state and service mapping from the providers'
documented payloads, and the intake's writes (idempotent, order-proof, nothing on bad input)
against a fake IncidentStore (reconcile's port)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.fakes import IncidentStore, IntakeCounts
from harness.intake import (
    ALERTMANAGER_TOKEN,
    INCIDENTIO_SECRET,
    PAGERDUTY_SECRET,
    alertmanager_body,
    bearer,
    encode,
    incidentio_body,
    pagerduty_body,
    pagerduty_headers,
    svix_headers,
)
from slogate.api.incident import IncidentState, Severity
from slogate.domain.intake import (
    Ignored,
    IncidentReport,
    IntakeMapping,
    Provider,
    alertmanager_report,
    desired_spec,
    incident_name,
    incidentio_report,
    mapping_from_document,
    pagerduty_report,
)
from slogate.domain.signatures import Refused, svix_key
from slogate.reconcile.intake import Intake
from slogate.reconcile.ports import IntakeCredentials, IntakeRequest

NOW = datetime(2026, 12, 4, 12, 0, 30, tzinfo=UTC)
MAPPING = mapping_from_document(
    {
        "services": {
            "Checkout API": {"namespace": "shop", "workload": "checkout"},
            "checkout": {"namespace": "shop"},
            "payments": {"namespace": "shop"},
            "ledger": {"namespace": "finance"},
        }
    }
)


def report(provider: Provider, document: dict[str, Any], mapping: IntakeMapping = MAPPING) -> IncidentReport:
    parse = {
        Provider.ALERTMANAGER: alertmanager_report,
        Provider.PAGERDUTY: pagerduty_report,
        Provider.INCIDENTIO: incidentio_report,
    }[provider]
    parsed = parse(encode(document), mapping)
    assert isinstance(parsed, IncidentReport)
    return parsed


def refused(provider: Provider, body: bytes, mapping: IntakeMapping = MAPPING) -> str:
    parse = {
        Provider.ALERTMANAGER: alertmanager_report,
        Provider.PAGERDUTY: pagerduty_report,
        Provider.INCIDENTIO: incidentio_report,
    }[provider]
    with pytest.raises(Refused) as refusal:
        parse(body, mapping)
    return refusal.value.reason


# Alertmanager


@pytest.mark.parametrize(
    ("labels", "status", "severity", "state"),
    [
        ({"severity": "critical"}, "firing", Severity.P1, IncidentState.DETECTED),
        ({"severity": "warning"}, "firing", Severity.P3, IncidentState.DETECTED),
        ({"severity": "info"}, "resolved", Severity.P4, IncidentState.RESOLVED),
        ({"severity": "unheard-of"}, "firing", Severity.P3, IncidentState.DETECTED),
    ],
)
def test_an_alert_group_is_one_incident(
    labels: dict[str, str], status: str, severity: Severity, state: IncidentState
) -> None:
    document = alertmanager_body(status=status, severity=labels["severity"], service="cart")
    parsed = report(Provider.ALERTMANAGER, document)
    assert (parsed.severity, parsed.state) == (severity, state)
    assert parsed.key == document["groupKey"]
    assert parsed.namespace == "shop"  # from the alerts' namespace label: cart is not in services
    assert parsed.workloads == ("cart",)
    assert parsed.title == "HighErrorRate: cart is failing more than 5% of requests"


def test_the_most_severe_alert_of_a_group_sets_its_severity_and_the_latest_change_its_time() -> None:
    document = alertmanager_body(severity="warning")
    second = json.loads(json.dumps(document["alerts"][0]))
    second["labels"]["severity"] = "critical"
    second["startsAt"] = "2026-12-04T12:03:00Z"
    document["alerts"].append(second)
    parsed = report(Provider.ALERTMANAGER, document)
    assert parsed.severity is Severity.P1
    assert parsed.updated_at == datetime(2026, 12, 4, 12, 3, tzinfo=UTC)
    assert parsed.started_at == datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def test_alertmanager_labels_and_severities_are_configurable() -> None:
    mapping = mapping_from_document(
        {
            "workloadLabel": "app",
            "alertmanager": {
                "serviceLabel": "job",
                "severityLabel": "priority",
                "severities": {"high": "P2"},
            },
        }
    )
    document = alertmanager_body()
    document["commonLabels"]["priority"] = "high"
    document["alerts"][0]["labels"]["priority"] = "high"
    parsed = report(Provider.ALERTMANAGER, document, mapping)
    assert (parsed.severity, parsed.workloads) == (Severity.P2, ("checkout",))
    assert desired_spec(parsed, mapping.workload_label)["affectedSelector"] == {
        "matchLabels": {"app": "checkout"}
    }


def test_the_services_mapping_places_an_alert_without_a_namespace_label() -> None:
    parsed = report(Provider.ALERTMANAGER, alertmanager_body(service="ledger", namespace=None))
    assert parsed.namespace == "finance"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "malformed"),
        (b"[]", "malformed"),
        (encode({**alertmanager_body(), "version": "3"}), "malformed"),
        (encode({**alertmanager_body(), "alerts": []}), "malformed"),
        (encode({**alertmanager_body(), "status": "pending"}), "malformed"),
        (encode({k: v for k, v in alertmanager_body().items() if k != "groupKey"}), "malformed"),
        (encode(alertmanager_body(service="nobody-knows", namespace=None)), "unknown-service"),
        (encode({**alertmanager_body(), "commonLabels": {"alertname": "X"}}), "unknown-service"),
        (encode(alertmanager_body(service="not a label value")), "unknown-service"),
        (encode(alertmanager_body(service="cart", namespace="Not_A_Namespace")), "unknown-service"),
    ],
)
def test_bad_alertmanager_bodies_are_refused(body: bytes, reason: str) -> None:
    assert refused(Provider.ALERTMANAGER, body) == reason


# PagerDuty


@pytest.mark.parametrize(
    ("event_type", "status", "priority", "urgency", "expected"),
    [
        ("incident.triggered", "triggered", "P1", "high", (Severity.P1, IncidentState.DETECTED)),
        ("incident.acknowledged", "acknowledged", "P2", "high", (Severity.P2, IncidentState.TRIAGED)),
        ("incident.resolved", "resolved", "P3", "low", (Severity.P3, IncidentState.RESOLVED)),
        ("incident.priority_updated", "acknowledged", "P5", "high", (Severity.P4, IncidentState.TRIAGED)),
        ("incident.triggered", "triggered", None, "high", (Severity.P2, IncidentState.DETECTED)),
        ("incident.triggered", "triggered", None, "low", (Severity.P4, IncidentState.DETECTED)),
    ],
)
def test_pagerduty_incidents(
    event_type: str, status: str, priority: str | None, urgency: str, expected: tuple[Severity, IncidentState]
) -> None:
    document = pagerduty_body(event_type=event_type, status=status, priority=priority, urgency=urgency)
    parsed = report(Provider.PAGERDUTY, document)
    assert (parsed.severity, parsed.state, parsed.key) == (*expected, "PGR0VU2")
    assert (parsed.namespace, parsed.workloads, parsed.commander) == ("shop", ("checkout",), "User 123")
    assert parsed.url == "https://acme.pagerduty.com/incidents/PGR0VU2"


def test_a_pagerduty_service_is_known_by_name_or_id() -> None:
    mapping = mapping_from_document({"services": {"PF9KMXH": {"namespace": "shop", "workload": "checkout"}}})
    assert report(Provider.PAGERDUTY, pagerduty_body(service="Renamed"), mapping).namespace == "shop"


def test_other_pagerduty_events_are_ignored() -> None:
    parsed = pagerduty_report(encode(pagerduty_body(event_type="incident.annotated")), MAPPING)
    assert isinstance(parsed, Ignored)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (encode({"messages": []}), "malformed"),
        (encode({"event": {**pagerduty_body()["event"], "occurred_at": "yesterday"}}), "malformed"),
        (
            encode({"event": {**pagerduty_body()["event"], "data": {"id": "X", "type": "incident"}}}),
            "malformed",
        ),
        (encode(pagerduty_body(status="snoozed")), "malformed"),
        (encode(pagerduty_body(service="Some Other Service")), "unknown-service"),
    ],
)
def test_bad_pagerduty_bodies_are_refused(body: bytes, reason: str) -> None:
    assert refused(Provider.PAGERDUTY, body) == reason


# incident.io


@pytest.mark.parametrize(
    ("status", "category", "severity", "expected_state", "expected_severity"),
    [
        ("Triage", "triage", "Critical", IncidentState.DETECTED, Severity.P1),
        ("Investigating", "live", "Major", IncidentState.TRIAGED, Severity.P2),
        ("Fixing", "live", "Minor", IncidentState.MITIGATING, Severity.P3),
        ("Monitoring", "live", "Minor", IncidentState.MITIGATING, Severity.P3),
        ("Documenting", "learning", "Critical", IncidentState.RESOLVED, Severity.P1),
        ("Closed", "closed", "Critical", IncidentState.CLOSED, Severity.P1),
        ("Declined", "declined", "Unknown", IncidentState.CLOSED, Severity.P3),
    ],
)
def test_incidentio_incidents(
    status: str, category: str, severity: str, expected_state: IncidentState, expected_severity: Severity
) -> None:
    parsed = report(Provider.INCIDENTIO, incidentio_body(status=status, category=category, severity=severity))
    assert (parsed.state, parsed.severity) == (expected_state, expected_severity)
    assert (parsed.key, parsed.title) == ("01FDAG4SAP5TYPT98WGR2N7W91", "INC-123: Our database is sad")
    assert parsed.commander == "Lisa Karlin Curtis"


def test_an_incidentio_incident_of_several_services_of_one_namespace_selects_them_all() -> None:
    parsed = report(Provider.INCIDENTIO, incidentio_body(services=("payments", "checkout")))
    assert desired_spec(parsed, MAPPING.workload_label)["affectedSelector"] == {
        "matchExpressions": [
            {"key": "app.kubernetes.io/name", "operator": "In", "values": ["checkout", "payments"]}
        ]
    }


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (encode({"event_type": "public_incident.incident_created_v2"}), "malformed"),
        (encode(incidentio_body(category="exploded")), "malformed"),
        (encode(incidentio_body(services=())), "unknown-service"),
        (encode(incidentio_body(services=("nobody-knows",))), "unknown-service"),
        (encode(incidentio_body(services=("checkout", "ledger"))), "unknown-service"),
    ],
)
def test_bad_incidentio_bodies_are_refused(body: bytes, reason: str) -> None:
    assert refused(Provider.INCIDENTIO, body) == reason


def test_other_incidentio_events_are_ignored() -> None:
    body = encode(
        {"event_type": "public_incident.follow_up_created_v1", "public_incident.follow_up_created_v1": {}}
    )
    assert isinstance(incidentio_report(body, MAPPING), Ignored)


def test_a_mapping_with_an_unknown_key_or_severity_is_refused() -> None:
    with pytest.raises(ValueError, match="servces"):
        mapping_from_document({"servces": {}})
    with pytest.raises(ValueError, match="P9"):
        mapping_from_document({"pagerduty": {"priorities": {"SEV1": "P9"}}})
    with pytest.raises(ValueError, match="Checkout API: the name is not a label value"):
        mapping_from_document({"services": {"Checkout API": {"namespace": "shop"}}})
    with pytest.raises(ValueError, match="namespace"):
        mapping_from_document({"services": {"checkout": {"namespace": "Shop"}}})


@pytest.mark.parametrize(
    ("provider", "key", "name"),
    [
        (Provider.PAGERDUTY, "PGR0VU2", "pagerduty-pgr0vu2"),
        (Provider.INCIDENTIO, "01FDAG4SAP5TYPT98WGR2N7W91", "incidentio-01fdag4sap5typt98wgr2n7w91"),
        (Provider.ALERTMANAGER, '{}:{alertname="X"}', "alertmanager-"),
    ],
)
def test_incident_names_come_from_the_provider_id(provider: Provider, key: str, name: str) -> None:
    assert incident_name(provider, key).startswith(name)
    assert incident_name(provider, key) == incident_name(provider, key)


# The intake: authentication, then the write.

CREDENTIALS = IntakeCredentials(
    alertmanager_tokens=(ALERTMANAGER_TOKEN,),
    pagerduty_secrets=(PAGERDUTY_SECRET,),
    incidentio_keys=(svix_key(INCIDENTIO_SECRET),),
)


def intake(store: IncidentStore, counts: IntakeCounts, namespaces: tuple[str, ...] = ()) -> Intake:
    return Intake(
        store=store,
        mapping=MAPPING,
        credentials=lambda: CREDENTIALS,
        clock=lambda: NOW,
        telemetry=counts,
        namespaces=namespaces,
    )


def lowered(headers: dict[str, str]) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def pagerduty(document: dict[str, Any], *secrets: str) -> IntakeRequest:
    body = encode(document)
    return IntakeRequest(
        Provider.PAGERDUTY, lowered(pagerduty_headers(body, *(secrets or (PAGERDUTY_SECRET,)))), body
    )


def spec_of(store: IncidentStore, name: str = "pagerduty-pgr0vu2") -> dict[str, Any]:
    return dict(store.incidents[("shop", name)]["spec"])


def test_a_pagerduty_incident_is_created_replays_change_nothing_and_resolve_updates_it() -> None:
    store, counts = IncidentStore(), IntakeCounts()
    service = intake(store, counts)
    triggered = pagerduty(pagerduty_body())
    assert service.handle(triggered).status == 201
    created = store.incidents[("shop", "pagerduty-pgr0vu2")]
    assert created["metadata"]["labels"] == {"slogate.dev/source": "pagerduty"}
    assert created["spec"]["state"] == "Detected"
    assert created["spec"]["affectedSelector"] == {"matchLabels": {"app.kubernetes.io/name": "checkout"}}
    for _ in range(3):
        assert service.handle(triggered).result == "unchanged"
    assert store.writes == 1
    resolved = pagerduty(
        pagerduty_body(
            event_type="incident.resolved",
            status="resolved",
            occurred_at=datetime(2026, 12, 4, 12, 9, tzinfo=UTC),
        )
    )
    assert service.handle(resolved).result == "updated"
    assert spec_of(store)["state"] == "Resolved"
    # PagerDuty retries the old triggered after the resolve: it is older, and reopens nothing.
    assert service.handle(triggered).reason == "stale"
    assert spec_of(store)["state"] == "Resolved"
    assert store.writes == 2
    assert [result for _, result, _ in counts.requests] == ["created"] + ["unchanged"] * 3 + [
        "updated",
        "unchanged",
    ]


def test_a_resolve_that_arrives_first_keeps_a_late_trigger_from_opening_the_incident() -> None:
    store = IncidentStore()
    service = intake(store, IntakeCounts())
    later = datetime(2026, 12, 4, 12, 9, tzinfo=UTC)
    service.handle(
        pagerduty(pagerduty_body(event_type="incident.resolved", status="resolved", occurred_at=later))
    )
    service.handle(pagerduty(pagerduty_body()))
    assert spec_of(store)["state"] == "Resolved"


def test_an_update_keeps_what_a_person_set_that_the_provider_does_not_say() -> None:
    store = IncidentStore()
    service = intake(store, IntakeCounts())
    firing = alertmanager_body()
    body = encode(firing)
    name = incident_name(Provider.ALERTMANAGER, firing["groupKey"])
    service.handle(IntakeRequest(Provider.ALERTMANAGER, lowered(bearer(ALERTMANAGER_TOKEN)), body))
    store.incidents[("shop", name)]["spec"]["commander"] = "alice"
    resolved = alertmanager_body(status="resolved", ends_at=datetime(2026, 12, 4, 12, 5, tzinfo=UTC))
    answer = service.handle(
        IntakeRequest(Provider.ALERTMANAGER, lowered(bearer(ALERTMANAGER_TOKEN)), encode(resolved))
    )
    assert answer.result == "updated"
    assert spec_of(store, name)["state"] == "Resolved"
    assert spec_of(store, name)["commander"] == "alice"


def test_an_incidentio_webhook_is_verified_against_now_and_written() -> None:
    store = IncidentStore()
    service = intake(store, IntakeCounts())
    body = encode(incidentio_body())
    headers = svix_headers(body, "msg_2fKv1", int(NOW.timestamp()), INCIDENTIO_SECRET)
    answer = service.handle(IntakeRequest(Provider.INCIDENTIO, lowered(headers), body))
    assert (answer.status, answer.incident) == (201, "incidentio-01fdag4sap5typt98wgr2n7w91")
    spec = spec_of(store, "incidentio-01fdag4sap5typt98wgr2n7w91")
    assert (spec["severity"], spec["state"], spec["commander"]) == ("P1", "Triaged", "Lisa Karlin Curtis")


def test_a_concurrent_write_is_read_again() -> None:
    store = IncidentStore()
    service = intake(store, IntakeCounts())
    service.handle(pagerduty(pagerduty_body()))
    original = store.read_incident

    def racing(namespace: str, name: str) -> Any:
        seen = original(namespace, name)
        store.incidents[(namespace, name)] = {
            **seen,
            "metadata": {**seen["metadata"], "resourceVersion": "99"},
        }  # type: ignore[dict-item]
        store.read_incident = original  # type: ignore[method-assign]
        return seen

    store.read_incident = racing  # type: ignore[method-assign]
    later = datetime(2026, 12, 4, 12, 5, tzinfo=UTC)
    acknowledged = pagerduty_body(
        event_type="incident.acknowledged", status="acknowledged", occurred_at=later
    )
    assert service.handle(pagerduty(acknowledged)).result == "updated"
    assert spec_of(store)["state"] == "Triaged"


BAD_REQUESTS = [
    ("wrong PagerDuty secret", pagerduty(pagerduty_body(), "not-the-secret"), 401, "bad-signature"),
    (
        "tampered PagerDuty body",
        IntakeRequest(
            Provider.PAGERDUTY,
            lowered(pagerduty_headers(encode(pagerduty_body()), PAGERDUTY_SECRET)),
            encode(pagerduty_body(priority="P4")),
        ),
        401,
        "bad-signature",
    ),
    (
        "PagerDuty without signature",
        IntakeRequest(Provider.PAGERDUTY, {}, encode(pagerduty_body())),
        401,
        "bad-signature",
    ),
    ("PagerDuty unknown service", pagerduty(pagerduty_body(service="Nope")), 422, "unknown-service"),
    ("PagerDuty not its schema", pagerduty({"event": {"id": "1"}}), 400, "malformed"),
    (
        "PagerDuty not JSON",
        IntakeRequest(Provider.PAGERDUTY, lowered(pagerduty_headers(b"{", PAGERDUTY_SECRET)), b"{"),
        400,
        "malformed",
    ),
    (
        "Alertmanager without credentials",
        IntakeRequest(Provider.ALERTMANAGER, {}, encode(alertmanager_body())),
        401,
        "unauthorized",
    ),
    (
        "Alertmanager wrong token",
        IntakeRequest(Provider.ALERTMANAGER, lowered(bearer("guess")), encode(alertmanager_body())),
        401,
        "unauthorized",
    ),
    (
        "Alertmanager not its schema",
        IntakeRequest(Provider.ALERTMANAGER, lowered(bearer(ALERTMANAGER_TOKEN)), b'{"version": "4"}'),
        400,
        "malformed",
    ),
    (
        "Alertmanager unknown service",
        IntakeRequest(
            Provider.ALERTMANAGER,
            lowered(bearer(ALERTMANAGER_TOKEN)),
            encode(alertmanager_body(service="x", namespace=None)),
        ),
        422,
        "unknown-service",
    ),
]


def _incidentio(
    body: bytes, *, stamp: int, secret: str = INCIDENTIO_SECRET, sent: bytes | None = None
) -> IntakeRequest:
    return IntakeRequest(
        Provider.INCIDENTIO, lowered(svix_headers(body, "msg_1", stamp, secret)), sent or body
    )


_NOW_STAMP = int(NOW.timestamp())
_IO_BODY = encode(incidentio_body())
BAD_REQUESTS += [
    ("incident.io old timestamp", _incidentio(_IO_BODY, stamp=_NOW_STAMP - 600), 401, "bad-timestamp"),
    ("incident.io future timestamp", _incidentio(_IO_BODY, stamp=_NOW_STAMP + 600), 401, "bad-timestamp"),
    (
        "incident.io wrong secret",
        _incidentio(_IO_BODY, stamp=_NOW_STAMP, secret="whsec_b3RoZXI="),
        401,
        "bad-signature",
    ),
    (
        "incident.io tampered",
        _incidentio(_IO_BODY, stamp=_NOW_STAMP, sent=encode(incidentio_body(severity="Minor"))),
        401,
        "bad-signature",
    ),
    ("incident.io no headers", IntakeRequest(Provider.INCIDENTIO, {}, _IO_BODY), 401, "bad-signature"),
    (
        "incident.io services in two namespaces",
        _incidentio(encode(incidentio_body(services=("checkout", "ledger"))), stamp=_NOW_STAMP),
        422,
        "unknown-service",
    ),
]


@pytest.mark.parametrize(
    ("case", "request_", "status", "reason"), BAD_REQUESTS, ids=[case[0] for case in BAD_REQUESTS]
)
def test_bad_requests_are_refused_with_a_reason_counted_and_create_nothing(
    case: str, request_: IntakeRequest, status: int, reason: str
) -> None:
    store, counts = IncidentStore(), IntakeCounts()
    answer = intake(store, counts).handle(request_)
    assert (answer.status, answer.reason) == (status, reason)
    assert 400 <= answer.status < 500
    assert answer.message
    assert store.incidents == {}
    assert counts.requests == [(request_.provider.value, "refused", reason)]


def test_at_least_fifteen_bad_requests_are_tabled() -> None:
    assert len(BAD_REQUESTS) >= 15


def test_a_namespace_the_operator_does_not_govern_is_refused() -> None:
    store = IncidentStore()
    answer = intake(store, IntakeCounts(), namespaces=("other",)).handle(pagerduty(pagerduty_body()))
    assert (answer.status, answer.reason) == (422, "unknown-service")
    assert store.incidents == {}


def test_a_provider_without_credentials_is_not_enabled() -> None:
    store, counts = IncidentStore(), IntakeCounts()
    service = Intake(store, MAPPING, IntakeCredentials, lambda: NOW, counts)
    answer = service.handle(pagerduty(pagerduty_body()))
    assert (answer.status, answer.reason) == (404, "not-enabled")


# Properties: any order of delivery, any number of retries, ends where the latest event says.

EVENTS = [
    ("incident.triggered", "triggered", "P2"),
    ("incident.acknowledged", "acknowledged", "P2"),
    ("incident.priority_updated", "acknowledged", "P1"),
    ("incident.resolved", "resolved", "P1"),
]


@settings(max_examples=200)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=4, unique=True),
    order=st.randoms(use_true_random=False),
    retries=st.lists(st.integers(min_value=0, max_value=3), min_size=4, max_size=4),
)
def test_deliveries_in_any_order_with_retries_end_as_the_latest_event_says(
    offsets: list[int], order: Any, retries: list[int]
) -> None:
    start = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    events = [
        pagerduty_body(
            event_type=kind, status=status, priority=priority, occurred_at=start + timedelta(seconds=offset)
        )
        for (kind, status, priority), offset in zip(EVENTS, offsets, strict=False)
    ]
    deliveries = [event for event, extra in zip(events, retries, strict=False) for _ in range(1 + extra)]
    order.shuffle(deliveries)
    store = IncidentStore()
    service = intake(store, IntakeCounts())
    for document in deliveries:
        assert service.handle(pagerduty(document)).status in (200, 201)
    latest = max(events, key=lambda document: document["event"]["occurred_at"])
    expected = desired_spec(report(Provider.PAGERDUTY, latest), MAPPING.workload_label)
    assert spec_of(store) == expected
    assert store.writes <= len(events)
    writes = store.writes
    for document in events:
        service.handle(pagerduty(document))
    assert store.writes == writes


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
DOCUMENTED = {
    Provider.ALERTMANAGER: alertmanager_body(),
    Provider.PAGERDUTY: pagerduty_body(),
    Provider.INCIDENTIO: incidentio_body(),
}


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@settings(max_examples=300)
@given(
    provider=st.sampled_from(list(Provider)),
    choice=st.integers(min_value=0),
    replacement=json_values | st.sampled_from(["2026-12-04T12:00:00", "0001-01-01T00:00:00Z", "P9", ""]),
)
def test_any_change_to_a_documented_payload_is_a_report_ignored_or_refused(
    provider: Provider, choice: int, replacement: Any
) -> None:
    """A sender's mistake is a 4xx with a reason, never a failure of the intake (a 5xx)."""
    document = json.loads(json.dumps(DOCUMENTED[provider]))
    paths = _paths(document)
    path = paths[choice % len(paths)]
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = replacement
    body = encode(document)
    headers = {
        Provider.ALERTMANAGER: bearer(ALERTMANAGER_TOKEN),
        Provider.PAGERDUTY: pagerduty_headers(body, PAGERDUTY_SECRET),
        Provider.INCIDENTIO: svix_headers(body, "msg_1", int(NOW.timestamp()), INCIDENTIO_SECRET),
    }[provider]
    request = IntakeRequest(provider, lowered(headers), body)
    store = IncidentStore()
    service = intake(store, IntakeCounts())
    first = service.handle(request)
    assert first.result in ("created", "ignored", "refused")
    assert first.status in (200, 201) or 400 <= first.status < 500
    assert (store.writes == 1) == (first.result == "created")
    assert service.handle(request).result == ("unchanged" if first.result == "created" else first.result)
