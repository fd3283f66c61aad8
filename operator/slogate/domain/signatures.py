"""Who sent an intake request: the providers' documented authentication schemes, checked on the
raw body. Pure: the time a Svix timestamp is checked against is an argument.

- Alertmanager's ``http_config`` sends ``Authorization: Bearer <token>`` (``authorization``) or
  ``Authorization: Basic base64(user:password)`` (``basic_auth``).
- PagerDuty v3 webhooks send ``X-PagerDuty-Signature: v1=<hex HMAC-SHA256 of the body>``, one
  ``v1=`` entry per signing secret of the subscription (comma-separated while a secret rotates).
- incident.io signs through Svix: ``webhook-signature: v1,<base64 HMAC-SHA256 of
  "{webhook-id}.{webhook-timestamp}.{body}">``, space-separated entries, keyed by the base64 after the
  ``whsec_`` prefix of the signing secret; ``webhook-timestamp`` is Unix seconds and must be within
  the replay window of now, in either direction.

Every comparison is constant-time (``hmac.compare_digest``); a failure raises ``Refused``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SVIX_SECRET_PREFIX = "whsec_"  # noqa: S105  (the prefix of every Svix secret, not one)


class Refused(Exception):  # noqa: N818  (a refusal is an outcome the caller answers, not a fault)
    """A request the intake refuses: an HTTP status, a short reason (the metric's label) and a
    message for the sender."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message


def unauthorized(message: str) -> Refused:
    return Refused(401, "unauthorized", message)


def bad_signature(message: str) -> Refused:
    return Refused(401, "bad-signature", message)


@dataclass(frozen=True)
class BasicCredentials:
    username: str
    password: str


def check_authorization(header: str | None, tokens: Sequence[str], basic: Sequence[BasicCredentials]) -> None:
    """The ``Authorization`` header matches one of the bearer tokens or basic credentials."""
    if not header:
        raise unauthorized("no Authorization header; configure authorization or basic_auth in http_config")
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer" and any(_same(value, token) for token in tokens):
        return
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise unauthorized("the Basic credentials are not base64 of user:password") from None
        username, _, password = decoded.partition(":")
        if any(_same(username, each.username) & _same(password, each.password) for each in basic):
            return
    raise unauthorized(f"the {scheme or 'Authorization'} credentials are not accepted")


def pagerduty_signature(body: bytes, secret: str) -> str:
    """The ``v1=`` entry PagerDuty sends for ``body`` under one signing secret."""
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_pagerduty_signature(body: bytes, header: str | None, secrets: Sequence[str]) -> None:
    """At least one ``v1=`` entry of ``X-PagerDuty-Signature`` is the body's HMAC under a secret."""
    if not header:
        raise bad_signature("no X-PagerDuty-Signature header")
    sent = [entry.strip() for entry in header.split(",") if entry.strip().startswith("v1=")]
    if not sent:
        raise bad_signature("X-PagerDuty-Signature has no v1= signature")
    expected = [pagerduty_signature(body, secret) for secret in secrets]
    if not any(_same(one, other) for one in sent for other in expected):
        raise bad_signature("no X-PagerDuty-Signature entry matches a configured signing secret")


def svix_key(secret: str) -> bytes:
    """The HMAC key of a Svix signing secret (``whsec_<base64>``). Raises ValueError."""
    encoded = secret.removeprefix(SVIX_SECRET_PREFIX)
    try:
        return base64.b64decode(encoded, validate=True)
    except binascii.Error:
        raise ValueError("a Svix signing secret is whsec_ followed by base64") from None


def svix_signature(body: bytes, message_id: str, timestamp: str, key: bytes) -> str:
    """The ``v1,`` entry Svix sends for this message under one key."""
    signed = message_id.encode() + b"." + timestamp.encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


@dataclass(frozen=True)
class SvixHeaders:
    message_id: str | None
    timestamp: str | None
    signature: str | None


def check_svix_signature(
    body: bytes, headers: SvixHeaders, keys: Sequence[bytes], now: datetime, window: timedelta
) -> None:
    """The Svix headers are present, the timestamp is within ``window`` of ``now`` and one ``v1,``
    entry is the HMAC of id, timestamp and body under one of ``keys``."""
    if not (headers.message_id and headers.timestamp and headers.signature):
        raise bad_signature("webhook-id, webhook-timestamp and webhook-signature are all required")
    if not headers.timestamp.isdigit():
        raise Refused(401, "bad-timestamp", "webhook-timestamp is not Unix seconds")
    sent_at = datetime.fromtimestamp(int(headers.timestamp), UTC)
    if abs(now - sent_at) > window:
        raise Refused(
            401,
            "bad-timestamp",
            f"webhook-timestamp {sent_at.isoformat()} is more than {window.total_seconds():g} s from now "
            "(the replay window)",
        )
    sent = [entry for entry in headers.signature.split() if entry.startswith("v1,")]
    expected = [svix_signature(body, headers.message_id, headers.timestamp, key) for key in keys]
    if not any(_same(one, other) for one in sent for other in expected):
        raise bad_signature("no webhook-signature entry matches a configured signing secret")


def _same(one: str, other: str) -> bool:
    return hmac.compare_digest(one.encode(), other.encode())
