"""Replay a campaign's dials and texts against the rules as they stand today: a regulator's audit.

Every dial the audit log allowed (and every dial the store shows without such an entry)
is judged again with ``compliance.check`` on the facts as they stood at that instant
(``dial_facts.gather(as_of=…)``): an opt-out recorded later does not taint an earlier
dial, but a contact an agent made earlier and reported later does count. The report
lists each dial with the laws that allowed it, and every dial that breaks a rule.

Texts are replayed the same way: every text that left (it has a send time) is judged at
that instant on the facts its ``message_allowed`` entry recorded, with the channel as a
fact, so a text that should have been refused (no consent, a channel cap) shows up.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from voicebot.campaigns.compliance import (
    CAMPAIGN,
    RULES_FILE,
    Jurisdiction,
    RulesError,
    campaign_rules,
    check,
    default_rules,
    facts_as_recorded,
)
from voicebot.campaigns.compliance_facts import gather, text_facts
from voicebot.storage import models as m

UNAUDITED = "unaudited_dial"
UNAUDITED_TEXT = "unaudited_text"


@dataclass(frozen=True, slots=True)
class AuditedDial:
    attempt_id: int
    debtor: str  # the creditor's external id
    phone: str
    at: datetime
    timezone: str
    jurisdictions: tuple[str, ...]
    allowed_by: str  # the laws whose tables the dial was judged under
    lawful: bool
    rule: str = ""
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        local = self.at.astimezone(ZoneInfo(self.timezone)) if self.timezone else self.at
        return {
            "attempt_id": self.attempt_id,
            "debtor": self.debtor,
            "phone": self.phone,
            "at": self.at.isoformat(),
            "local_time": local.isoformat(),
            "timezone": self.timezone,
            "jurisdictions": list(self.jurisdictions),
            "allowed_by": self.allowed_by,
            "lawful": self.lawful,
            "rule": self.rule,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class AuditedText:
    message_id: int
    debtor: str  # the creditor's external id
    phone: str
    channel: str
    kind: str  # payment_link | reminder | broken_promise | …
    at: datetime  # when it left
    timezone: str
    jurisdictions: tuple[str, ...]
    allowed_by: str
    lawful: bool
    rule: str = ""
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        local = self.at.astimezone(ZoneInfo(self.timezone)) if self.timezone else self.at
        return {
            "message_id": self.message_id,
            "debtor": self.debtor,
            "phone": self.phone,
            "channel": self.channel,
            "kind": self.kind,
            "at": self.at.isoformat(),
            "local_time": local.isoformat(),
            "timezone": self.timezone,
            "jurisdictions": list(self.jurisdictions),
            "allowed_by": self.allowed_by,
            "lawful": self.lawful,
            "rule": self.rule,
            "reason": self.reason,
        }


@dataclass
class AuditReport:
    campaign_id: int
    campaign: str
    since: datetime | None
    rules_sha256: str
    dials: list[AuditedDial] = field(default_factory=list)
    texts: list[AuditedText] = field(default_factory=list)

    @property
    def violations(self) -> list[AuditedDial]:
        return [d for d in self.dials if not d.lawful]

    @property
    def text_violations(self) -> list[AuditedText]:
        return [t for t in self.texts if not t.lawful]

    def by_rule(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for dial in self.violations:
            totals[dial.rule] = totals.get(dial.rule, 0) + 1
        return dict(sorted(totals.items()))

    def texts_by_rule(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for text in self.text_violations:
            totals[text.rule] = totals.get(text.rule, 0) + 1
        return dict(sorted(totals.items()))

    def to_json(self) -> dict[str, Any]:
        return {
            "campaign_id": self.campaign_id,
            "campaign": self.campaign,
            "since": self.since.isoformat() if self.since else None,
            "rules_sha256": self.rules_sha256,
            "dials": len(self.dials),
            "violation_count": len(self.violations),
            "violations_by_rule": self.by_rule(),
            "violations": [d.to_json() for d in self.violations],
            "texts": len(self.texts),
            "text_violation_count": len(self.text_violations),
            "text_violations_by_rule": self.texts_by_rule(),
            "text_violations": [t.to_json() for t in self.text_violations],
        }

    def to_csv(self) -> str:
        """Every dial, lawful or not: the record a regulator asks for."""
        out = io.StringIO()
        rows = [d.to_json() for d in self.dials]
        fields = list(rows[0]) if rows else list(AuditedDial.__slots__)
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "jurisdictions": " ".join(row["jurisdictions"])})
        return out.getvalue()

    def texts_csv(self) -> str:
        """Every text that left, lawful or not."""
        out = io.StringIO()
        rows = [t.to_json() for t in self.texts]
        fields = list(rows[0]) if rows else list(AuditedText.__slots__)
        writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "jurisdictions": " ".join(row["jurisdictions"])})
        return out.getvalue()


def rules_fingerprint() -> str:
    return hashlib.sha256(RULES_FILE.read_bytes()).hexdigest()


def audit_campaign(
    s: Session,
    campaign_id: int,
    *,
    since: datetime | None = None,
    rules: dict[str, Jurisdiction] | None = None,
) -> AuditReport:
    """Judge every dial of the campaign (since ``since``) by today's rules."""
    campaign = s.get_one(m.Campaign, campaign_id)
    table = dict(rules if rules is not None else default_rules())
    own: Jurisdiction | None = None
    try:
        own = campaign_rules(campaign.schedule or {}, campaign.name)
    except RulesError:
        own = None  # the dialer refused every dial while the schedule was broken
    if own is not None:
        table[CAMPAIGN] = own
    report = AuditReport(campaign_id, campaign.name, since, rules_fingerprint())
    allowed = select(m.AuditEntry.attempt_id, m.AuditEntry.at, m.AuditEntry.details).where(
        m.AuditEntry.campaign_id == campaign_id, m.AuditEntry.action == "dial_allowed"
    )
    if since is not None:
        allowed = allowed.where(m.AuditEntry.at >= since)
    dials: list[tuple[int, datetime, dict[str, Any] | None]] = [
        (attempt_id, at, dict((details or {}).get("facts") or {}))
        for attempt_id, at, details in s.execute(allowed)
        if attempt_id is not None
    ]
    audited = {attempt_id for attempt_id, _, _ in dials}
    started = select(m.CallAttempt.id, m.CallAttempt.started_at).where(
        m.CallAttempt.campaign_id == campaign_id, m.CallAttempt.started_at.is_not(None)
    )
    if since is not None:
        started = started.where(m.CallAttempt.started_at >= since)
    dials += [
        (attempt_id, at, None)
        for attempt_id, at in s.execute(started)
        if attempt_id not in audited and at is not None
    ]
    for attempt_id, at, recorded in sorted(dials, key=lambda d: (d[1], d[0])):
        report.dials.append(
            _judge(s, campaign.jurisdiction, attempt_id, at, recorded, table, own is not None)
        )
    report.texts = _replay_texts(s, campaign, since, table, own is not None)
    return report


def _replay_texts(
    s: Session,
    campaign: m.Campaign,
    since: datetime | None,
    table: dict[str, Jurisdiction],
    with_campaign_table: bool,
) -> list[AuditedText]:
    """Every text that left, judged at its send time on the facts its allowance recorded."""
    sent = select(m.Message).where(
        m.Message.campaign_id == campaign.id, m.Message.sent_at.is_not(None)
    )
    if since is not None:
        sent = sent.where(m.Message.sent_at >= since)
    recorded: dict[int, dict[str, Any]] = {}
    for details in s.scalars(
        select(m.AuditEntry.details).where(
            m.AuditEntry.campaign_id == campaign.id, m.AuditEntry.action == "message_allowed"
        )
    ):
        if details and isinstance(details.get("message_id"), int):
            recorded[int(details["message_id"])] = dict(details)
    texts = []
    for message in s.scalars(sent.order_by(m.Message.sent_at, m.Message.id)):
        at = message.sent_at
        if at is None:
            continue
        facts, history = text_facts(s, message, as_of=at)
        record = recorded.get(message.id)
        facts = facts_as_recorded(facts, record or {}, campaign.jurisdiction)
        if with_campaign_table:
            facts = replace(facts, jurisdictions=(*facts.jurisdictions, CAMPAIGN))
        decision = check(facts, history, at, table)
        rule, reason, lawful = decision.rule, decision.reason, decision.allowed
        if lawful and record is None:
            rule, reason, lawful = (
                UNAUDITED_TEXT,
                "sent with no message_allowed entry in the audit log",
                False,
            )
        texts.append(
            AuditedText(
                message_id=message.id,
                debtor=s.get_one(m.Debtor, message.debtor_id).external_id,
                phone=message.to,
                channel=message.channel,
                kind=message.kind,
                at=at,
                timezone=decision.timezone or "",
                jurisdictions=facts.jurisdictions,
                allowed_by="; ".join(
                    f"{table[c].name}: {table[c].law}" for c in facts.jurisdictions if c in table
                ),
                lawful=lawful,
                rule=rule,
                reason=reason,
            )
        )
    return texts


def _judge(
    s: Session,
    code: str,
    attempt_id: int,
    at: datetime,
    recorded: dict[str, Any] | None,
    table: dict[str, Jurisdiction],
    with_campaign_table: bool,
) -> AuditedDial:
    """One dial judged; ``recorded`` is the facts its audit entry kept (None: no entry)."""
    logged = recorded is not None
    attempt = s.get_one(m.CallAttempt, attempt_id)
    facts, history = gather(s, attempt, as_of=at)
    facts = facts_as_recorded(facts, recorded or {}, code)
    if with_campaign_table:
        facts = replace(facts, jurisdictions=(*facts.jurisdictions, CAMPAIGN))
    decision = check(facts, history, at, table)
    debtor = s.get_one(m.Debtor, attempt.debtor_id).external_id
    laws = "; ".join(f"{table[c].name}: {table[c].law}" for c in facts.jurisdictions if c in table)
    rule, reason, lawful = decision.rule, decision.reason, decision.allowed
    if lawful and not logged:
        rule, reason, lawful = (
            UNAUDITED,
            "dialled with no dial_allowed entry in the audit log",
            False,
        )
    return AuditedDial(
        attempt_id=attempt_id,
        debtor=debtor,
        phone=facts.phone_e164,
        at=at,
        timezone=decision.timezone or "",
        jurisdictions=facts.jurisdictions,
        allowed_by=laws,
        lawful=lawful,
        rule=rule,
        reason=reason,
    )
