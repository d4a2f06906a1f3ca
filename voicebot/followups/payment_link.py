"""Payment-link tokens: the debt and amount a link pays, sealed so only the creditor reads them.

The token is a Fernet token (https://github.com/fernet/spec: AES-128-CBC then HMAC-SHA256,
URL-safe base64) over a small JSON document. Fernet because a creditor's payment page can
verify it in any language with a stock library, and because the URL must name nothing about
the debt in clear: a base64 JSON body would be readable by anyone the link is forwarded to.
The key is derived from the campaign's secret, so rotating one campaign's secret revokes only
its links. Pure functions: the clock is a parameter.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from string import Formatter

from cryptography.fernet import Fernet, InvalidToken

TOKEN_VERSION = 1
KEY_CONTEXT = b"voicebot-payment-link-v1:"
TOKEN_FIELD = "token"


class LinkError(ValueError):
    """A link that must not be trusted (tampered, expired, wrong campaign, malformed)."""


@dataclass(frozen=True, slots=True)
class PaymentClaim:
    """What a payment link asks the debtor to pay."""

    debt_ref: str  # the creditor's reference of the debt
    amount: Decimal
    currency: str
    expires_at: datetime
    promise_id: int | None = None


def fernet_key(secret: str) -> bytes:
    """The Fernet key of a campaign secret: base64url(SHA-256(context ‖ secret))."""
    if len(secret) < 16:
        raise LinkError("the campaign's link secret must be at least 16 characters")
    return base64.urlsafe_b64encode(hashlib.sha256(KEY_CONTEXT + secret.encode()).digest())


def issue_token(claim: PaymentClaim, secret: str, *, now: datetime) -> str:
    """A sealed token for ``claim``; ``now`` is the Fernet timestamp (when it was issued)."""
    if claim.expires_at <= now:
        raise LinkError("a payment link must expire after it is issued")
    document = {
        "v": TOKEN_VERSION,
        "debt": claim.debt_ref,
        "amount": format(claim.amount.quantize(Decimal("0.01")), "f"),
        "currency": claim.currency,
        "exp": int(claim.expires_at.timestamp()),
    }
    if claim.promise_id is not None:
        document["promise"] = claim.promise_id
    body = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    return Fernet(fernet_key(secret)).encrypt_at_time(body, int(now.timestamp())).decode()


def verify_token(token: str, secret: str, *, now: datetime) -> PaymentClaim:
    """The claim a token carries, or LinkError when it was altered, forged or has expired."""
    try:
        # No Fernet ttl: the expiry is the document's own ``exp``, chosen per link.
        body = Fernet(fernet_key(secret)).decrypt(token.encode())
    except (InvalidToken, ValueError) as exc:
        raise LinkError("the link was altered or was not issued with this secret") from exc
    try:
        document = json.loads(body)
        if document.get("v") != TOKEN_VERSION:
            raise LinkError(f"unknown link version {document.get('v')!r}")
        expires_at = datetime.fromtimestamp(int(document["exp"]), UTC)
        claim = PaymentClaim(
            debt_ref=str(document["debt"]),
            amount=Decimal(str(document["amount"])),
            currency=str(document["currency"]),
            expires_at=expires_at,
            promise_id=int(document["promise"]) if "promise" in document else None,
        )
    except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
        raise LinkError(f"malformed link document: {exc}") from exc
    if now >= claim.expires_at:
        raise LinkError(f"the link expired at {claim.expires_at.isoformat()}")
    return claim


def check_template(template: str) -> None:
    """A campaign's URL template must be https and name ``{token}`` exactly once, nothing else."""
    try:
        names = [name for _, name, _, _ in Formatter().parse(template) if name is not None]
    except ValueError as exc:  # a lone "{" or "}": not a template at all
        raise LinkError(f"the link template is not a valid template ({exc}): {template!r}") from exc
    if names != [TOKEN_FIELD]:
        raise LinkError(
            f"the link template must contain {{token}} once and no other field: {template!r}"
        )
    if not template.startswith("https://"):
        raise LinkError(f"the link template must be an https URL: {template!r}")


def payment_url(template: str, claim: PaymentClaim, secret: str, *, now: datetime) -> str:
    """The campaign's payment URL with a fresh token in place of ``{token}``."""
    check_template(template)
    return template.replace("{token}", issue_token(claim, secret, now=now))
