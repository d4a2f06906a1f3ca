"""The demo's days after the calls: texts go out, the creditor pays, promises keep or break.

The campaign clock walks from the calls to two days past the last promise date; at each
step the real sender judges and sends due texts (on the log-only channel), and on each
promise date the creditor's payments arrive as a CSV through the real importer: most
promises are paid in full, every third is paid only in part and breaks, putting its
debtor back in the hopper. Deterministic: which promises are paid follows their ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.engine.message_sender import send_due
from voicebot.followups.payments import break_overdue, import_payments, parse_payments
from voicebot.messaging.log_channel import LogChannel
from voicebot.storage import models as m
from voicebot.storage.db import transaction

DEMO_MESSAGING = {
    "channel": "sms",
    "link_template": "https://pagos.example.com/p/{token}",
    "link_secret": "demo-link-secret-not-for-production",
    "reminder": "message",
}
STEP = timedelta(hours=1)
PARTIAL_EVERY = 3  # every third promise is paid only in half, and breaks


@dataclass
class FollowUpReport:
    texts: LogChannel = field(default_factory=LogChannel)
    payments: int = 0
    kept: int = 0
    broken: int = 0


def _payments_csv(s: Session, day: datetime) -> str:
    lines = ["payment_id,debt_ref,amount,currency,paid_on,debtor_id"]
    due = s.execute(
        select(m.PromiseToPay, m.Debt.external_ref, m.Debtor.external_id)
        .join(m.Debt, m.Debt.debtor_id == m.PromiseToPay.debtor_id)
        .join(m.Debtor, m.Debtor.id == m.PromiseToPay.debtor_id)
        .where(m.PromiseToPay.status == "pending", m.PromiseToPay.due_date == day.date())
    ).all()
    for promise, ref, debtor in due:
        amount = promise.amount if promise.id % PARTIAL_EVERY else promise.amount / 2
        lines.append(
            f"demo-{promise.id},{ref},{amount:.2f},{promise.currency},{day.date()},{debtor}"
        )
    return "\n".join(lines) + "\n"


def run_follow_ups(
    sessions: sessionmaker[Session], *, start: datetime, until: datetime
) -> FollowUpReport:
    """Walk the clock from ``start`` to ``until``: send, import payments, break promises."""
    report = FollowUpReport()
    now = start
    while now <= until:
        send_due(sessions, report.texts, now=now, actor="demo")
        if now.astimezone(UTC).hour == 22:  # the creditor's end-of-day payments file
            with transaction(sessions) as s:
                rows = parse_payments(_payments_csv(s, now))
                done = import_payments(s, rows, source="demo", actor="demo", now=now)
                report.payments += done.imported
                report.kept += len(done.kept)
                report.broken += len(break_overdue(s, now=now, actor="demo"))
        now += STEP
    return report


def last_promise_date(sessions: sessionmaker[Session]) -> datetime | None:
    with sessions() as s:
        day = s.scalar(select(m.PromiseToPay.due_date).order_by(m.PromiseToPay.due_date.desc()))
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC) if day else None
