"""Contacts made outside this service (agents, SMS, e-mail, visits, other systems).

Every frequency cap counts them: a debtor an agent reached this morning must not get a
bot call this afternoon in Colombia. They come one at a time (``POST
/debtors/{id}/contacts``) or as a CSV file (``voicebot contacts import``); a bad row is
reported with its line and loses nothing else, and re-importing a file adds nothing new.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.compliance import CHANNELS, RESULTS, past_contact
from voicebot.campaigns.portfolio_csv import read_csv
from voicebot.campaigns.portfolio_rows import PortfolioError, RowError, decode, header_key
from voicebot.storage import models as m
from voicebot.storage.repositories import append_audit

COLUMNS: dict[str, tuple[str, ...]] = {
    "debtor": ("debtor", "external_id", "id_cliente", "cliente_id", "codigo_cliente"),
    "at": ("at", "fecha_hora", "fecha", "timestamp", "when"),
    "channel": ("channel", "canal"),
    "result": ("result", "resultado"),
    "source": ("source", "fuente", "origen"),
    "phone": ("phone", "telefono", "numero"),
    "artificial_voice": ("artificial_voice", "voz_artificial"),
}
REQUIRED = ("debtor", "at", "channel", "result", "source")


@dataclass(frozen=True, slots=True)
class OutsideContactIn:
    """One contact as reported; ``validate`` has checked every field."""

    at: datetime
    channel: str
    result: str
    source: str
    phone: str | None = None
    artificial_voice: bool = False


@dataclass
class ContactImportReport:
    rows: int = 0
    recorded: int = 0
    already_known: int = 0
    errors: list[RowError] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "recorded": self.recorded,
            "already_known": self.already_known,
            "errors": [e.to_json() for e in self.errors],
        }


def validate(
    at: str | datetime, channel: str, result: str, source: str, phone: str | None = None
) -> OutsideContactIn:
    """Raises ``ValueError`` naming the bad field; times need a UTC offset."""
    if isinstance(at, str):
        try:
            at = datetime.fromisoformat(at.strip())
        except ValueError as exc:
            raise ValueError(f"at: not an ISO 8601 time: {at!r}") from exc
    if at.tzinfo is None:
        raise ValueError(f"at: {at.isoformat()} has no UTC offset (e.g. -05:00)")
    channel, result = channel.strip().lower(), result.strip().lower()
    if channel not in CHANNELS:
        raise ValueError(f"channel: one of {', '.join(CHANNELS)}, got {channel!r}")
    if result not in RESULTS:
        raise ValueError(f"result: one of {', '.join(RESULTS)}, got {result!r}")
    if not source.strip():
        raise ValueError("source: say who reports the contact (crm, agency, agent)")
    past_contact(at, channel, result)  # the same checks the caps make
    return OutsideContactIn(at, channel, result, source.strip()[:80], (phone or "").strip() or None)


def record(
    s: Session, *, debtor_id: int, contact: OutsideContactIn, actor: str
) -> tuple[m.OutsideContact, bool]:
    """Store one contact (idempotent on debtor, time, channel, source); True when new."""
    same = s.scalar(
        select(m.OutsideContact).where(
            m.OutsideContact.debtor_id == debtor_id,
            m.OutsideContact.at == contact.at,
            m.OutsideContact.channel == contact.channel,
            m.OutsideContact.source == contact.source,
        )
    )
    if same is not None:
        return same, False
    row = m.OutsideContact(
        debtor_id=debtor_id,
        at=contact.at,
        channel=contact.channel,
        result=contact.result,
        source=contact.source,
        phone=contact.phone,
        artificial_voice=contact.artificial_voice,
    )
    s.add(row)
    append_audit(
        s,
        actor=actor,
        action="outside_contact",
        debtor_id=debtor_id,
        reason=f"{contact.channel} {contact.result} at {contact.at.isoformat()} ({contact.source})",
    )
    s.flush()
    return row, True


def _columns(headers: list[str]) -> dict[str, str]:
    by_key = {header_key(h): h for h in headers}
    found = {
        name: next(by_key[a] for a in aliases if a in by_key)
        for name, aliases in COLUMNS.items()
        if any(a in by_key for a in aliases)
    }
    missing = [r for r in REQUIRED if r not in found]
    if missing:
        raise PortfolioError(
            f"missing column(s) {', '.join(missing)}; headers are {', '.join(headers)}"
        )
    return found


def import_csv(
    sessions: sessionmaker[Session], data: bytes | str, *, actor: str
) -> ContactImportReport:
    """Each good row recorded against the debtor with that external id; bad rows reported."""
    text = decode(data) if isinstance(data, bytes) else data
    headers, rows = read_csv(text)
    columns = _columns(headers)
    report = ContactImportReport()
    with sessions.begin() as s:
        debtors = dict(s.execute(select(m.Debtor.external_id, m.Debtor.id)).all())
        for line, raw in rows:
            report.rows += 1
            if isinstance(raw, RowError):
                report.errors.append(raw)
                continue
            error = _store_row(s, line, raw, columns, debtors, actor, report)
            if error is not None:
                report.errors.append(error)
    return report


def _store_row(
    s: Session,
    line: int,
    raw: Mapping[str, str],
    columns: Mapping[str, str],
    debtors: Mapping[str, int],
    actor: str,
    report: ContactImportReport,
) -> RowError | None:
    def cell(name: str) -> str:
        return raw.get(columns[name], "").strip() if name in columns else ""

    debtor_id = debtors.get(cell("debtor"))
    if debtor_id is None:
        return RowError(line, columns["debtor"], f"no debtor with external id {cell('debtor')!r}")
    try:
        contact = validate(
            cell("at"), cell("channel"), cell("result"), cell("source"), cell("phone")
        )
    except ValueError as exc:
        field_name = str(exc).split(":", 1)[0]
        return RowError(line, columns.get(field_name, field_name), str(exc))
    artificial = cell("artificial_voice").lower() in {"1", "true", "yes", "si", "sí", "y", "s"}
    contact = OutsideContactIn(
        contact.at, contact.channel, contact.result, contact.source, contact.phone, artificial
    )
    _, new = record(s, debtor_id=debtor_id, contact=contact, actor=actor)
    if new:
        report.recorded += 1
    else:
        report.already_known += 1
    return None
