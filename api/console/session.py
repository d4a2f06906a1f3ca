"""The console's session cookie and CSRF tokens: signed, expiring, no server-side table.

The cookie carries only the API key's id, a random nonce and the expiry (no debtor
data, no key); HMAC-SHA256 with the console secret makes it tamper-evident. The
role is re-read from the key row on every request, so revoking a key ends its
sessions at once. The CSRF token is an HMAC of the nonce: a form posted from
another site cannot know it, and logging in issues a new nonce (no fixation).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import datetime

COOKIE_NAME = "vb_console"
LANGUAGES = ("es-419", "en")
DEFAULT_LANGUAGE = "es-419"


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """What the cookie says: the key signed in (None before login), its nonce, the language."""

    key_id: int | None
    nonce: str
    expires: int  # Unix seconds
    language: str = DEFAULT_LANGUAGE
    offset_minutes: int = 0  # the browser's UTC offset at sign-in: "today" for the agent


MAX_OFFSET = 14 * 60


def new_session(
    *,
    key_id: int | None,
    now: datetime,
    lifetime_seconds: int,
    language: str,
    offset_minutes: int = 0,
) -> ConsoleSession:
    lang = language if language in LANGUAGES else DEFAULT_LANGUAGE
    expires = int(now.timestamp()) + lifetime_seconds
    offset = max(-MAX_OFFSET, min(MAX_OFFSET, offset_minutes))
    return ConsoleSession(key_id, secrets.token_urlsafe(16), expires, lang, offset)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: bytes, purpose: str, payload: str) -> str:
    return _b64(hmac.new(secret, f"{purpose}:{payload}".encode(), hashlib.sha256).digest())


def encode(secret: bytes, session: ConsoleSession) -> str:
    payload = _b64(
        json.dumps(
            {
                "k": session.key_id,
                "n": session.nonce,
                "e": session.expires,
                "l": session.language,
                "o": session.offset_minutes,
            },
            separators=(",", ":"),
        ).encode()
    )
    return f"{payload}.{_mac(secret, 'session', payload)}"


def decode(secret: bytes, cookie: str | None, *, now: datetime) -> ConsoleSession | None:
    """The session a cookie stands for, or None (absent, forged, malformed or expired)."""
    if not cookie or "." not in cookie or len(cookie) > 1024:
        return None
    payload, mac = cookie.rsplit(".", 1)
    if not hmac.compare_digest(mac, _mac(secret, "session", payload)):
        return None
    try:
        data = json.loads(_unb64(payload))
        session = ConsoleSession(
            key_id=None if data["k"] is None else int(data["k"]),
            nonce=str(data["n"]),
            expires=int(data["e"]),
            language=str(data["l"]) if data["l"] in LANGUAGES else DEFAULT_LANGUAGE,
            offset_minutes=max(-MAX_OFFSET, min(MAX_OFFSET, int(data.get("o", 0)))),
        )
    except (ValueError, KeyError, TypeError):
        return None
    if session.expires <= int(now.timestamp()):
        return None
    return session


def csrf_token(secret: bytes, session: ConsoleSession) -> str:
    return _mac(secret, "csrf", session.nonce)


def csrf_valid(secret: bytes, session: ConsoleSession, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(str(token), csrf_token(secret, session))
