"""HMAC-SHA256 signatures over ``timestamp + "." + body`` (the scheme Stripe popularised).

Signing the timestamp with the body lets a receiver refuse replays older than a
tolerance; the ``v1=`` prefix leaves room to rotate the scheme without breaking
receivers. Pure functions: no clock, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

SIGNATURE_HEADER = "X-Voicebot-Signature"
EVENT_ID_HEADER = "X-Voicebot-Event-Id"
EVENT_TYPE_HEADER = "X-Voicebot-Event-Type"
DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(ValueError):
    """A webhook that must not be trusted (bad format, wrong signature, too old)."""


def event_body(
    *, idempotency_key: str, event_type: str, created_at: str, payload: dict[str, Any]
) -> bytes:
    """The exact bytes posted: canonical JSON so a replay signs the same body."""
    document = {
        "id": idempotency_key,
        "type": event_type,
        "created_at": created_at,
        "data": payload,
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={compute_signature(secret, timestamp, body)}"


def verify_signature(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: int,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> int:
    """Check ``header`` against ``body``; returns the signed timestamp or raises SignatureError."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, sep, value = item.strip().partition("=")
        if not sep:
            raise SignatureError(f"malformed signature header item {item!r}")
        parts.setdefault(key, []).append(value)
    if "t" not in parts or "v1" not in parts:
        raise SignatureError("signature header needs t= and v1=")
    try:
        timestamp = int(parts["t"][0])
    except ValueError as exc:
        raise SignatureError("timestamp is not an integer") from exc
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"timestamp outside the {tolerance}s tolerance")
    expected = compute_signature(secret, timestamp, body)
    if not any(hmac.compare_digest(expected, candidate) for candidate in parts["v1"]):
        raise SignatureError("signature does not match the body")
    return timestamp
