"""Signatures a receiver can verify with the documented recipe, and the backoff schedule."""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from voicebot.webhooks.delivery import Backoff
from voicebot.webhooks.signing import (
    SignatureError,
    event_body,
    signature_header,
    verify_signature,
)

SECRET = "whsec_unit"
BODY = event_body(
    idempotency_key="call:7",
    event_type="call.completed",
    created_at="2026-11-23T15:00:00+00:00",
    payload={"attempt_id": 7, "disposition": "PTP", "nombre": "Ana Pérez"},
)


def test_header_matches_the_documented_recipe() -> None:
    header = signature_header(SECRET, 1795446000, BODY)
    # WEBHOOKS.md: hex HMAC-SHA256 of "<t>.<raw body>" with the shared secret.
    expected = hmac.new(SECRET.encode(), b"1795446000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1795446000,v1={expected}"
    assert verify_signature(SECRET, BODY, header, now=1795446010) == 1795446000


def test_body_is_canonical_utf8_json() -> None:
    assert BODY.startswith(b'{"created_at":"2026-11-23T15:00:00+00:00","data":{')
    assert "Pérez".encode() in BODY


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h, b: (h, b.replace(b"PTP", b"RTP")), "does not match"),
        (lambda h, b: (h.replace("v1=", "v1=0"), b), "does not match"),
        (lambda h, b: ("v1=abc", b), "needs t= and v1="),
        (lambda h, b: ("t=abc,v1=abc", b), "not an integer"),
        (lambda h, b: ("garbage", b), "malformed"),
    ],
)
def test_tampering_is_refused(mutate, message) -> None:  # type: ignore[no-untyped-def]
    header, body = mutate(signature_header(SECRET, 1000, BODY), BODY)
    with pytest.raises(SignatureError, match=message):
        verify_signature(SECRET, body, header, now=1000)


def test_wrong_secret_and_stale_timestamp_are_refused() -> None:
    header = signature_header(SECRET, 1000, BODY)
    with pytest.raises(SignatureError, match="does not match"):
        verify_signature("another", BODY, header, now=1000)
    with pytest.raises(SignatureError, match="tolerance"):
        verify_signature(SECRET, BODY, header, now=1000 + 301)


def test_rotated_secret_may_send_two_signatures() -> None:
    old = signature_header("old", 1000, BODY).split(",")[1]
    header = signature_header(SECRET, 1000, BODY) + "," + old
    assert verify_signature("old", BODY, header, now=1000) == 1000


def test_backoff_doubles_up_to_the_cap() -> None:
    backoff = Backoff(base_seconds=5, max_seconds=60)
    delays = [backoff.delay(n) for n in range(1, 7)]
    assert delays == [timedelta(seconds=s) for s in (5, 10, 20, 40, 60, 60)]


def test_the_documented_verification_snippet_works() -> None:
    doc = (Path(__file__).resolve().parents[2] / "voicebot/webhooks/WEBHOOKS.md").read_text()
    snippet = re.search(r"```python\n(.*?)```", doc, re.S)
    assert snippet is not None
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)
    verify = namespace["verify"]
    header = signature_header(SECRET, int(time.time()), BODY)
    assert verify(SECRET, BODY, header) is True
    assert verify("wrong", BODY, header) is False
    assert verify(SECRET, BODY + b" ", header) is False
    stale = signature_header(SECRET, int(time.time()) - 3600, BODY)
    assert verify(SECRET, BODY, stale) is False
