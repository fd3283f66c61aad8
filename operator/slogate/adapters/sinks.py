"""Decision sinks outside the cluster: Grafana annotations and a generic JSON webhook.

Teams read releases on dashboards and in chat, not in ``kubectl describe``; these sinks put every
decision there too. Each is optional, and each is best effort: one POST per decision with a
bounded timeout and no retries (the next decision sends its own marker, and a backlog of retries
to a dead endpoint would only pile up threads), and a failure is logged, never raised. The
annotations on the workload stay the durable record.

Bearer tokens are read from a file on every call, so a rotated Secret mounted as a file takes
effect without a restart. Nothing here logs a token, a header value, or a URL's path or query,
which for many webhooks carries a secret of its own; a log names only the scheme and host.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from slogate.api.wire import format_time
from slogate.reconcile.ports import DecisionMarker

DEFAULT_TIMEOUT_SECONDS = 5.0
MAX_LOGGED_BODY = 200

log = logging.getLogger(__name__)


def epoch_millis(marker: DecisionMarker) -> int:
    return int(marker.time.timestamp() * 1000)


def grafana_tags(marker: DecisionMarker) -> list[str]:
    """Tags a dashboard's annotation query can filter on: every slogate marker, a decision, a
    namespace, a workload or a gate."""
    workload = marker.workload
    return [
        "slogate",
        marker.decision,
        f"namespace:{workload.namespace}",
        f"workload:{workload.kind.value.lower()}/{workload.name}",
        *(f"gate:{gate}" for gate in marker.gates),
    ]


def grafana_text(marker: DecisionMarker) -> str:
    workload = marker.workload
    revision = f" revision {marker.revision}" if marker.revision else ""
    return (
        f"slogate {marker.event_reason}: {workload.kind.value} {workload.namespace}/{workload.name}"
        f"{revision}: {marker.reason}"
    )


def grafana_annotation(marker: DecisionMarker, dashboard_uid: str | None) -> dict[str, Any]:
    """The body of Grafana's ``POST /api/annotations``; without a dashboard it is an organisation
    annotation, shown on every dashboard whose annotation query matches its tags."""
    body: dict[str, Any] = {
        "time": epoch_millis(marker),
        "tags": grafana_tags(marker),
        "text": grafana_text(marker),
    }
    if dashboard_uid:
        body["dashboardUID"] = dashboard_uid
    return body


def webhook_payload(marker: DecisionMarker) -> dict[str, Any]:
    """The marker as JSON: every field, the time in RFC 3339 UTC and in epoch milliseconds."""
    workload = marker.workload
    return {
        "source": "slogate",
        "workload": {"kind": workload.kind.value, "namespace": workload.namespace, "name": workload.name},
        "decision": marker.decision,
        "action": marker.action,
        "eventReason": marker.event_reason,
        "reason": marker.reason,
        "gates": list(marker.gates),
        "revision": marker.revision,
        "time": format_time(marker.time),
        "timeMillis": epoch_millis(marker),
    }


def _origin(url: str) -> str:
    """Scheme and host of a URL, the only part of it that is safe to log."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def _why(error: requests.RequestException) -> str:
    """The failure without the URL: the exception type and urllib3's underlying cause (which
    names host and port only). A message that is a plain string, such as requests' invalid-URL
    errors, quotes the URL whole, so then only the type is given."""
    cause = error.args[0] if error.args else None
    cause = getattr(cause, "reason", cause)
    return f"{type(error).__name__}: {cause}" if isinstance(cause, BaseException) else type(error).__name__


def _post(
    what: str, url: str, payload: Mapping[str, Any], headers: Mapping[str, str], timeout: float
) -> None:
    """One POST; any failure is logged with what was sent where (scheme and host only) and why."""
    try:
        response = requests.post(
            url, json=payload, headers=dict(headers), timeout=timeout, allow_redirects=False
        )
    except requests.RequestException as error:
        log.warning("%s: could not reach %s: %s", what, _origin(url), _why(error))
        return
    if not 200 <= response.status_code < 300:
        log.warning(
            "%s: %s answered HTTP %d: %s",
            what,
            _origin(url),
            response.status_code,
            response.text[:MAX_LOGGED_BODY],
        )


def _bearer(token_file: Path | None, what: str) -> dict[str, str] | None:
    """The Authorization header from the token file; None (logged) when the file cannot be read."""
    if token_file is None:
        return {}
    try:
        token = token_file.read_text().strip()
    except OSError as error:
        log.warning("%s: could not read the token file %s: %s", what, token_file, error.strerror)
        return None
    return {"Authorization": f"Bearer {token}"}


class GrafanaAnnotations:
    """Posts every decision as a Grafana annotation (``POST {url}/api/annotations``)."""

    def __init__(
        self,
        url: str,
        token_file: Path | None = None,
        dashboard_uid: str | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._endpoint = url.rstrip("/") + "/api/annotations"
        self._token_file = token_file
        self._dashboard_uid = dashboard_uid
        self._timeout = timeout_seconds

    def __str__(self) -> str:
        return f"Grafana annotations at {_origin(self._endpoint)}"

    def record(self, marker: DecisionMarker) -> None:
        what = f"Grafana annotation for {marker.workload}"
        auth = _bearer(self._token_file, what)
        if auth is None:
            return
        body = grafana_annotation(marker, self._dashboard_uid)
        _post(what, self._endpoint, body, auth, self._timeout)


class WebhookSink:
    """POSTs every decision as JSON (``webhook_payload``) to one URL."""

    def __init__(
        self,
        url: str,
        token_file: Path | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        self._url = url
        self._token_file = token_file
        self._headers = dict(headers or {})
        self._timeout = timeout_seconds

    def __str__(self) -> str:
        return f"webhook at {_origin(self._url)}"

    def record(self, marker: DecisionMarker) -> None:
        what = f"webhook for {marker.workload}"
        auth = _bearer(self._token_file, what)
        if auth is None:
            return
        _post(what, self._url, webhook_payload(marker), {**self._headers, **auth}, self._timeout)
