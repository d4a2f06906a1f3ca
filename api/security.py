"""API keys and roles.

A key is 32 random bytes, so a single SHA-256 is enough at rest (slow hashes
protect low-entropy passwords, not random keys); it is shown once at creation.
The short public prefix finds the row, the hash is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit

ADMIN, MANAGER, AGENT, AUDITOR = "admin", "manager", "agent", "auditor"
ROLES = (ADMIN, MANAGER, AGENT, AUDITOR)
KEY_PREFIX = "vbk"


class ApiKeyError(ValueError):
    """A key that cannot be created (unknown role, duplicate name)."""


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's name and role, and the agent it belongs to, if any."""

    key_id: int
    name: str
    role: str
    agent_name: str | None = None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> tuple[str, str]:
    """A fresh key and its public prefix."""
    prefix = secrets.token_hex(4)
    return f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix


def create_api_key(
    session: Session, *, name: str, role: str, actor: str, now: datetime
) -> tuple[m.ApiKey, str]:
    """Store a new key's hash; returns the row and the only copy of the key."""
    if role not in ROLES:
        raise ApiKeyError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if session.scalar(select(m.ApiKey.id).where(m.ApiKey.name == name)) is not None:
        raise ApiKeyError(f"an API key named {name!r} already exists")
    key, prefix = new_key()
    row = m.ApiKey(name=name, role=role, prefix=prefix, key_hash=hash_key(key), created_at=now)
    session.add(row)
    session.flush()
    append_audit(session, actor=actor, action="api_key_created", reason=f"{name} ({role})", at=now)
    return row, key


def authenticate(session: Session, key: str) -> Principal | None:
    """The principal a presented key stands for, or None (unknown, malformed or revoked)."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX:
        return None
    digest = hash_key(key)
    candidates = session.scalars(
        select(m.ApiKey).where(m.ApiKey.prefix == parts[1], m.ApiKey.revoked_at.is_(None))
    )
    for row in candidates:
        if hmac.compare_digest(row.key_hash, digest):
            agent = session.scalar(select(m.Agent.name).where(m.Agent.api_key_id == row.id))
            return Principal(
                row.id, row.name, row.role, agent or (row.name if row.role == AGENT else None)
            )
    return None


def principal_by_id(session: Session, key_id: int) -> Principal | None:
    """The principal of a key already proven (a console session): None once it is revoked."""
    row = session.get(m.ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        return None
    agent = session.scalar(select(m.Agent.name).where(m.Agent.api_key_id == row.id))
    return Principal(row.id, row.name, row.role, agent or (row.name if row.role == AGENT else None))
