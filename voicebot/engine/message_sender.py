"""The messages outbox sender: judge each due text, claim it, send it, record what came back.

At most once, unlike the webhooks' at-least-once: a debtor texted twice is a harm (and a
second contact the caps count), a text lost to a crash is only a delay an agent sees. So a
text is marked ``claimed`` and committed *before* the provider is asked; if the sender dies
before recording the answer, the next run finds the claim's lease expired and marks it
``unknown`` (a contact, for the caps) rather than sending it again. Only a failure that
certainly accepted nothing (a refused connection, a 429/5xx) puts it back in the queue.
Compliance is asked immediately before the claim, exactly as before a dial; a refusal is
audited and the text is never sent (deferred to the next lawful instant while that is
before its ``send_by``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.compliance import facts_record
from voicebot.followups.message_compliance import may_send
from voicebot.messaging.channel import Failure, MessageChannel, OutgoingMessage, SendError
from voicebot.storage import models as m
from voicebot.storage.db import transaction
from voicebot.storage.repositories import append_audit
from voicebot.webhooks.delivery import Backoff

CLAIM_BATCH = 20
MAX_ATTEMPTS = 6
LEASE = timedelta(minutes=10)


@dataclass
class SendReport:
    sent: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    unknown: list[int] = field(default_factory=list)


def _audit(
    s: Session,
    message: m.Message,
    action: str,
    now: datetime,
    *,
    actor: str,
    rule: str = "",
    reason: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    append_audit(
        s,
        actor=actor,
        action=action,
        debtor_id=message.debtor_id,
        campaign_id=message.campaign_id,
        rule=rule,
        reason=reason,
        details={
            "message_id": message.id,
            "kind": message.kind,
            "channel": message.channel,
            **(details or {}),
        },
        at=now,
    )


def recover_claims(sessions: sessionmaker[Session], *, now: datetime, actor: str) -> list[int]:
    """Claims whose sender died mid-send: their fate is unknown, and they are not resent."""
    with transaction(sessions) as s:
        stuck = list(
            s.scalars(
                select(m.Message).where(
                    m.Message.status == "claimed", m.Message.lease_expires_at < now
                )
            )
        )
        for message in stuck:
            message.status = "unknown"
            message.status_at = now
            message.last_error = "the sender stopped between claiming and recording the send"
            _audit(s, message, "message_unknown", now, actor=actor, reason=message.last_error)
        return [message.id for message in stuck]


def _judge_and_claim(
    sessions: sessionmaker[Session], *, now: datetime, actor: str, limit: int, report: SendReport
) -> list[m.Message]:
    """Compliance for every due text; the lawful ones are claimed in the same transaction."""
    with transaction(sessions) as s:
        # Only running campaigns text, as only running campaigns dial: a paused campaign's
        # texts wait; a stopped campaign's are dropped below.
        due = list(
            s.scalars(
                select(m.Message)
                .join(m.Campaign, m.Campaign.id == m.Message.campaign_id)
                .where(
                    m.Message.status == "pending",
                    m.Message.next_attempt_at <= now,
                    m.Campaign.status.in_(("running", "stopped")),
                )
                .order_by(m.Message.next_attempt_at, m.Message.id)
                .limit(limit)
            )
        )
        claimed: list[m.Message] = []
        for message in due:
            if s.get_one(m.Campaign, message.campaign_id).status == "stopped":
                message.status, message.status_at = "canceled", now
                _audit(s, message, "message_canceled", now, actor=actor, reason="campaign stopped")
                continue
            if message.send_by is not None and now >= message.send_by:
                message.status, message.status_at = "expired", now
                _audit(s, message, "message_expired", now, actor=actor, reason="past its send-by")
                report.expired.append(message.id)
                continue
            decision, facts = may_send(s, message, now)
            if not decision.allowed:
                later = decision.next_allowed_at
                keep = later is not None and (message.send_by is None or later < message.send_by)
                if keep and later is not None:
                    message.next_attempt_at = later
                    report.deferred.append(message.id)
                else:
                    message.status, message.status_at = "refused", now
                    report.refused.append(message.id)
                _audit(
                    s,
                    message,
                    "message_deferred" if keep else "message_refused",
                    now,
                    actor=actor,
                    rule=decision.rule,
                    reason=decision.reason,
                    details={"next_allowed_at": later.isoformat() if later else None},
                )
                continue
            # Conditional: a second sender that read the same row claims nothing.
            won = s.execute(  # type: ignore[attr-defined]  # a DML result: CursorResult
                update(m.Message)
                .where(m.Message.id == message.id, m.Message.status == "pending")
                .values(
                    status="claimed",
                    sent_at=now,
                    lease_expires_at=now + LEASE,
                    attempts=m.Message.attempts + 1,
                )
                .execution_options(synchronize_session=False)
            ).rowcount
            if won != 1:
                continue
            s.refresh(message)
            region = s.get_one(m.Debtor, message.debtor_id).region
            _audit(
                s,
                message,
                "message_allowed",
                now,
                actor=actor,
                details=facts_record(facts, region),  # what the audit replay judges it on
            )
            claimed.append(message)
        s.flush()
        s.expunge_all()
        return claimed


def _record(
    sessions: sessionmaker[Session],
    message: m.Message,
    *,
    provider: str,
    outcome: tuple[str, str] | SendError,
    now: datetime,
    backoff: Backoff,
    actor: str,
    report: SendReport,
) -> None:
    with transaction(sessions) as s:
        row = s.get_one(m.Message, message.id)
        row.provider, row.status_at, row.lease_expires_at = provider, now, None
        if isinstance(outcome, tuple):
            row.provider_id, row.status = outcome
            row.last_error = ""
            report.sent.append(row.id)
            _audit(s, row, "message_sent", now, actor=actor, details={"provider_id": outcome[0]})
            return
        row.last_error = f"{outcome.failure}: {outcome.reason}"[:500]
        if outcome.failure is Failure.TRANSIENT and row.attempts < MAX_ATTEMPTS:
            row.status, row.sent_at = "pending", None
            row.next_attempt_at = now + backoff.delay(row.attempts)
            report.retrying.append(row.id)
            return
        row.status = "unknown" if outcome.failure is Failure.AMBIGUOUS else "failed"
        (report.unknown if row.status == "unknown" else report.failed).append(row.id)
        _audit(
            s,
            row,
            f"message_{row.status}",
            now,
            actor=actor,
            reason=row.last_error,
            details={"error_code": outcome.code},
        )


def send_due(
    sessions: sessionmaker[Session],
    channel: MessageChannel,
    *,
    now: datetime,
    status_callback_url: str = "",
    backoff: Backoff | None = None,
    limit: int = CLAIM_BATCH,
    actor: str = "messenger",
) -> SendReport:
    """Send every lawful text due at ``now`` once; see the module docstring for the guarantees."""
    backoff = backoff or Backoff(base_seconds=60, max_seconds=3600)
    report = SendReport()
    report.unknown.extend(recover_claims(sessions, now=now, actor=actor))
    for message in _judge_and_claim(sessions, now=now, actor=actor, limit=limit, report=report):
        callback = f"{status_callback_url}?message={message.id}" if status_callback_url else ""
        outgoing = OutgoingMessage(
            message.channel,
            message.to,
            message.body,
            callback,
            template_sid=message.template_sid,
            template_variables=message.template_variables,
        )
        outcome: tuple[str, str] | SendError
        try:
            accepted = channel.send(outgoing)
            outcome = (accepted.provider_id, accepted.status)
        except SendError as exc:
            outcome = exc
        _record(
            sessions,
            message,
            provider=channel.name,
            outcome=outcome,
            now=now,
            backoff=backoff,
            actor=actor,
            report=report,
        )
    return report
