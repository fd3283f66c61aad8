"""The providers' authentication schemes, checked against signatures the tests make per the
providers' documents (harness.intake), plus properties over any body and any secrets."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.intake import INCIDENTIO_SECRET, PAGERDUTY_SECRET, basic, bearer, pagerduty_headers, svix_headers
from slogate.domain.signatures import (
    BasicCredentials,
    Refused,
    SvixHeaders,
    check_authorization,
    check_pagerduty_signature,
    check_svix_signature,
    svix_key,
)

BODY = b'{"event": {"id": "1"}}'
NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
WINDOW = timedelta(minutes=5)
KEY = svix_key(INCIDENTIO_SECRET)


def svix(headers: dict[str, str]) -> SvixHeaders:
    return SvixHeaders(
        headers.get("webhook-id"), headers.get("webhook-timestamp"), headers.get("webhook-signature")
    )


def refusal(call: object) -> str:
    with pytest.raises(Refused) as refused:
        call()  # type: ignore[operator]
    return refused.value.reason


@pytest.mark.parametrize(
    ("header", "secrets", "reason"),
    [
        (pagerduty_headers(BODY, PAGERDUTY_SECRET)["X-PagerDuty-Signature"], [PAGERDUTY_SECRET], None),
        # Rotation: PagerDuty signs with the old and the new secret; slogate holds either.
        (pagerduty_headers(BODY, "old", PAGERDUTY_SECRET)["X-PagerDuty-Signature"], [PAGERDUTY_SECRET], None),
        (pagerduty_headers(BODY, PAGERDUTY_SECRET)["X-PagerDuty-Signature"], ["new", PAGERDUTY_SECRET], None),
        (
            pagerduty_headers(BODY, "someone-else")["X-PagerDuty-Signature"],
            [PAGERDUTY_SECRET],
            "bad-signature",
        ),
        (
            pagerduty_headers(BODY + b" ", PAGERDUTY_SECRET)["X-PagerDuty-Signature"],
            [PAGERDUTY_SECRET],
            "bad-signature",
        ),
        (None, [PAGERDUTY_SECRET], "bad-signature"),
        ("sha256=abc", [PAGERDUTY_SECRET], "bad-signature"),
        ("v1=", [PAGERDUTY_SECRET], "bad-signature"),
    ],
)
def test_pagerduty_signatures(header: str | None, secrets: list[str], reason: str | None) -> None:
    if reason is None:
        check_pagerduty_signature(BODY, header, secrets)
    else:
        assert refusal(lambda: check_pagerduty_signature(BODY, header, secrets)) == reason


STAMP = int(NOW.timestamp())


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        (svix_headers(BODY, "msg_1", STAMP, INCIDENTIO_SECRET), BODY, None),
        (svix_headers(BODY, "msg_1", STAMP - 299, INCIDENTIO_SECRET), BODY, None),
        (
            svix_headers(BODY, "msg_1", STAMP, "whsec_" + base64.b64encode(b"x").decode(), INCIDENTIO_SECRET),
            BODY,
            None,
        ),
        (svix_headers(BODY, "msg_1", STAMP - 301, INCIDENTIO_SECRET), BODY, "bad-timestamp"),
        (svix_headers(BODY, "msg_1", STAMP + 301, INCIDENTIO_SECRET), BODY, "bad-timestamp"),
        (svix_headers(BODY, "msg_1", STAMP, INCIDENTIO_SECRET), BODY + b"\n", "bad-signature"),
        (
            {**svix_headers(BODY, "msg_1", STAMP, INCIDENTIO_SECRET), "webhook-id": "msg_2"},
            BODY,
            "bad-signature",
        ),
        (
            {**svix_headers(BODY, "msg_1", STAMP, INCIDENTIO_SECRET), "webhook-timestamp": "soon"},
            BODY,
            "bad-timestamp",
        ),
        ({"webhook-id": "msg_1", "webhook-timestamp": str(STAMP)}, BODY, "bad-signature"),
        (
            svix_headers(BODY, "msg_1", STAMP, "whsec_" + base64.b64encode(b"other").decode()),
            BODY,
            "bad-signature",
        ),
    ],
)
def test_svix_signatures(headers: dict[str, str], body: bytes, reason: str | None) -> None:
    if reason is None:
        check_svix_signature(body, svix(headers), [KEY], NOW, WINDOW)
    else:
        assert refusal(lambda: check_svix_signature(body, svix(headers), [KEY], NOW, WINDOW)) == reason


def test_a_svix_secret_must_be_base64() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        svix_key("whsec_not base64!")


CREDENTIALS = BasicCredentials("alertmanager", "s3cret")


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        (bearer("token-a")["Authorization"], True),
        (bearer("token-b")["Authorization"], True),
        (bearer("token-c")["Authorization"], False),
        (basic("alertmanager", "s3cret")["Authorization"], True),
        (basic("alertmanager", "wrong")["Authorization"], False),
        (basic("someone", "s3cret")["Authorization"], False),
        ("Basic ***", False),
        ("token-a", False),
        (None, False),
    ],
)
def test_alertmanager_authorization(header: str | None, accepted: bool) -> None:
    def check() -> None:
        check_authorization(header, ["token-a", "token-b"], [CREDENTIALS])

    if accepted:
        check()
    else:
        assert refusal(check) == "unauthorized"


secrets = st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=4, unique=True)


@given(body=st.binary(max_size=2048), held=secrets, index=st.integers(min_value=0, max_value=3))
def test_a_pagerduty_body_signed_with_any_held_secret_verifies_and_any_change_fails(
    body: bytes, held: list[str], index: int
) -> None:
    header = pagerduty_headers(body, held[index % len(held)])["X-PagerDuty-Signature"]
    check_pagerduty_signature(body, header, held)
    assert refusal(lambda: check_pagerduty_signature(body + b"x", header, held)) == "bad-signature"


@given(
    body=st.binary(max_size=2048),
    message_id=st.from_regex(r"msg_[A-Za-z0-9]{1,24}", fullmatch=True),
    skew=st.integers(min_value=-3600, max_value=3600),
)
def test_a_svix_message_verifies_exactly_within_the_replay_window(
    body: bytes, message_id: str, skew: int
) -> None:
    headers = svix(svix_headers(body, message_id, STAMP + skew, INCIDENTIO_SECRET))
    if abs(skew) <= WINDOW.total_seconds():
        check_svix_signature(body, headers, [KEY], NOW, WINDOW)
        flipped = bytes([body[0] ^ 1]) + body[1:] if body else b"x"
        assert refusal(lambda: check_svix_signature(flipped, headers, [KEY], NOW, WINDOW)) == "bad-signature"
    else:
        assert refusal(lambda: check_svix_signature(body, headers, [KEY], NOW, WINDOW)) == "bad-timestamp"
