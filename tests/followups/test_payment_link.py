"""Payment-link tokens: what the creditor's page reads back, and what it must refuse."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet

from voicebot.followups.payment_link import (
    LinkError,
    PaymentClaim,
    check_template,
    fernet_key,
    issue_token,
    payment_url,
    verify_token,
)

SECRET = "campaign-secret-0123456789"
NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
CLAIM = PaymentClaim("CR-7781", Decimal("150000"), "COP", NOW + timedelta(days=8), promise_id=41)


def test_a_token_round_trips_the_debt_amount_and_promise() -> None:
    token = issue_token(CLAIM, SECRET, now=NOW)
    claim = verify_token(token, SECRET, now=NOW + timedelta(days=1))
    assert claim == PaymentClaim(
        "CR-7781", Decimal("150000.00"), "COP", CLAIM.expires_at.replace(microsecond=0), 41
    )


def test_nothing_about_the_debt_is_readable_in_the_url() -> None:
    url = payment_url("https://pagos.example.com/p/{token}", CLAIM, SECRET, now=NOW)
    token = url.removeprefix("https://pagos.example.com/p/")
    decoded = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for clear in (b"CR-7781", b"150000", b"COP", b"debt", b"amount"):
        assert clear not in decoded and clear.decode() not in url


def test_any_altered_byte_is_refused() -> None:
    token = issue_token(CLAIM, SECRET, now=NOW)
    raw = bytearray(base64.urlsafe_b64decode(token))
    for index in (0, 9, 30, len(raw) - 1):  # version, timestamp, ciphertext, signature
        forged = bytearray(raw)
        forged[index] ^= 0x01
        with pytest.raises(LinkError):
            verify_token(base64.urlsafe_b64encode(bytes(forged)).decode(), SECRET, now=NOW)


def test_another_campaigns_secret_cannot_read_or_forge_a_link() -> None:
    token = issue_token(CLAIM, SECRET, now=NOW)
    with pytest.raises(LinkError, match="altered or was not issued"):
        verify_token(token, "another-campaign-secret-xyz", now=NOW)


def test_an_expired_link_is_refused_at_its_expiry_instant() -> None:
    token = issue_token(CLAIM, SECRET, now=NOW)
    assert verify_token(token, SECRET, now=CLAIM.expires_at - timedelta(seconds=1))
    with pytest.raises(LinkError, match="expired"):
        verify_token(token, SECRET, now=CLAIM.expires_at)


def test_a_stock_fernet_library_reads_the_documented_format() -> None:
    """What the README tells a creditor: key = base64url(SHA-256(context + secret))."""
    token = issue_token(CLAIM, SECRET, now=NOW)
    import hashlib

    key = base64.urlsafe_b64encode(
        hashlib.sha256(b"voicebot-payment-link-v1:" + SECRET.encode()).digest()
    )
    assert key == fernet_key(SECRET)
    body = Fernet(key).decrypt(token.encode())
    assert body == (
        b'{"amount":"150000.00","currency":"COP","debt":"CR-7781","exp":'
        + str(int(CLAIM.expires_at.timestamp())).encode()
        + b',"promise":41,"v":1}'
    )


def test_a_sealed_document_of_another_shape_is_malformed() -> None:
    token = Fernet(fernet_key(SECRET)).encrypt(b'{"v":1,"debt":"X"}').decode()
    with pytest.raises(LinkError, match="malformed"):
        verify_token(token, SECRET, now=NOW)
    token = Fernet(fernet_key(SECRET)).encrypt(b'{"v":2}').decode()
    with pytest.raises(LinkError, match="unknown link version"):
        verify_token(token, SECRET, now=NOW)


@pytest.mark.parametrize(
    "template",
    [
        "http://pagos.example.com/{token}",
        "https://pagos.example.com/pay",
        "https://pagos.example.com/{token}/{debt}",
        "https://pagos.example.com/{token}?again={token}",
    ],
)
def test_a_bad_template_is_refused(template: str) -> None:
    with pytest.raises(LinkError, match="template"):
        check_template(template)


def test_short_secrets_and_links_born_expired_are_refused() -> None:
    with pytest.raises(LinkError, match="at least 16"):
        issue_token(CLAIM, "short", now=NOW)
    with pytest.raises(LinkError, match="expire after"):
        issue_token(CLAIM, SECRET, now=CLAIM.expires_at)
