"""The incident intake: an authenticated provider webhook in, the Incident it describes written.

The HTTP server (an adapter) hands each request here on a thread of its own and answers what this
returns; nothing here runs on kopf's event loop. Verification and parsing are the domain's
(``slogate.domain.signatures``, ``slogate.domain.intake``); this reads the Incident, asks the domain
what to write, writes it, and reads again when a concurrent write got there first.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from slogate.domain.intake import (
    Create,
    Ignored,
    IncidentReport,
    IntakeMapping,
    Provider,
    Unchanged,
    Update,
    alertmanager_report,
    incident_name,
    incidentio_report,
    pagerduty_report,
    plan_write,
)
from slogate.domain.signatures import (
    Refused,
    SvixHeaders,
    check_authorization,
    check_pagerduty_signature,
    check_svix_signature,
)
from slogate.reconcile.ports import (
    IncidentConflictError,
    IncidentStore,
    IntakeAnswer,
    IntakeCredentials,
    IntakeRequest,
    IntakeTelemetry,
)

log = logging.getLogger(__name__)

ATTEMPTS = 3


@dataclass
class Intake:
    store: IncidentStore
    mapping: IntakeMapping
    credentials: Callable[[], IntakeCredentials]
    clock: Callable[[], datetime]
    telemetry: IntakeTelemetry
    namespaces: tuple[str, ...] = ()
    """The namespaces the operator governs; every one when empty."""
    replay_window: timedelta = timedelta(minutes=5)
    _parsers: dict[Provider, Callable[[bytes, IntakeMapping], IncidentReport | Ignored]] = field(init=False)

    def __post_init__(self) -> None:
        self._parsers = {
            Provider.ALERTMANAGER: alertmanager_report,
            Provider.PAGERDUTY: pagerduty_report,
            Provider.INCIDENTIO: incidentio_report,
        }

    def handle(self, request: IntakeRequest) -> IntakeAnswer:
        try:
            answer = self._handle(request)
        except Refused as refused:
            log.warning("refused a webhook from %s: %s", request.provider.value, refused.message)
            answer = IntakeAnswer(refused.status, "refused", refused.reason, refused.message)
        self.telemetry.intake_request(request.provider.value, answer.result, answer.reason)
        return answer

    def _handle(self, request: IntakeRequest) -> IntakeAnswer:
        self._authenticate(request)
        report = self._parsers[request.provider](request.body, self.mapping)
        if isinstance(report, Ignored):
            return IntakeAnswer(200, "ignored", "event-type", report.reason)
        if self.namespaces and report.namespace not in self.namespaces:
            raise Refused(
                422, "unknown-service", f"namespace {report.namespace} is not one this operator governs"
            )
        return self._write(report)

    def _authenticate(self, request: IntakeRequest) -> None:
        credentials = self.credentials()
        if not credentials.enabled(request.provider):
            raise Refused(
                404, "not-enabled", f"the {request.provider.value} intake has no credentials configured"
            )
        headers = request.headers
        if request.provider is Provider.ALERTMANAGER:
            check_authorization(
                headers.get("authorization"), credentials.alertmanager_tokens, credentials.alertmanager_basic
            )
        elif request.provider is Provider.PAGERDUTY:
            check_pagerduty_signature(
                request.body, headers.get("x-pagerduty-signature"), credentials.pagerduty_secrets
            )
        else:
            svix = SvixHeaders(
                message_id=headers.get("webhook-id") or headers.get("svix-id"),
                timestamp=headers.get("webhook-timestamp") or headers.get("svix-timestamp"),
                signature=headers.get("webhook-signature") or headers.get("svix-signature"),
            )
            check_svix_signature(
                request.body, svix, credentials.incidentio_keys, self.clock(), self.replay_window
            )

    def _write(self, report: IncidentReport) -> IntakeAnswer:
        for _ in range(ATTEMPTS):
            write = plan_write(
                report, self.store.read_incident(report.namespace, _name(report)), self.mapping.workload_label
            )
            try:
                if isinstance(write, Create):
                    self.store.create_incident(write.body)
                    log.info(
                        "created Incident %s/%s from %s",
                        report.namespace,
                        _name(report),
                        report.provider.value,
                    )
                    return IntakeAnswer(
                        201, "created", "new", f"Incident {_name(report)} created", _name(report)
                    )
                if isinstance(write, Update):
                    self.store.patch_incident(report.namespace, write.name, write.patch)
                    log.info(
                        "updated Incident %s/%s from %s", report.namespace, write.name, report.provider.value
                    )
                    return IntakeAnswer(
                        200, "updated", "changed", f"Incident {write.name} updated", write.name
                    )
            except IncidentConflictError:
                continue
            assert isinstance(write, Unchanged)
            return IntakeAnswer(200, "unchanged", write.why, write.reason, write.name)
        return IntakeAnswer(503, "conflict", "conflict", "the Incident kept changing; retry", _name(report))


def _name(report: IncidentReport) -> str:
    return incident_name(report.provider, report.key)
