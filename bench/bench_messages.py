"""Text sender benchmark: texts judged by compliance and sent per second, through real HTTP.

    .venv/bin/python bench/bench_messages.py [--texts 300] [--db sqlite|postgresql]

Builds promised debtors (Peru, a lawful hour) with the real storage and follow-up code, so
each has a payment-link text queued, then runs the sender against the loopback Twilio
stand-in until the queue is empty. Every text is a full round: the compliance facts and
contact history read from the store, the decision, the claim committed, the HTTP POST
(form checked by the stand-in), the result committed with its audit entries.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import _repo  # noqa: F401
import httpx

from testbeds.postgres import start_postgres
from testbeds.twilio_messaging import ACCOUNT_SID, AUTH_TOKEN, FROM, TwilioStandIn
from voicebot.domain.outcome import CallOutcome, Disposition, Promise
from voicebot.engine.follow_ups import schedule_follow_ups
from voicebot.engine.message_sender import send_due
from voicebot.messaging.twilio_messages import TwilioMessaging
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, transaction, upgrade
from voicebot.storage.repositories import record_outcome

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # Tuesday 15:00 in Lima


def populate(url: str, texts: int) -> None:
    sessions = session_factory(make_engine(url))
    with transaction(sessions) as s:
        campaign = m.Campaign(
            name="bench",
            dialplan="cobranza_es",
            jurisdiction="PE",
            default_region="PE",
            status="running",
            company="Cobranzas Andinas",
            messaging={
                "channel": "sms",
                "link_template": "https://pagos.example.com/p/{token}",
                "link_secret": "bench-link-secret-0001",
            },
        )
        s.add(campaign)
        s.flush()
        for i in range(texts):
            debtor = m.Debtor(external_id=f"B{i}", full_name="Ana Quispe", timezone="America/Lima")
            s.add(debtor)
            s.flush()
            phone = m.Phone(debtor_id=debtor.id, e164=f"+5198{i:07d}", kind="mobile")
            s.add(phone)
            s.add(
                m.Debt(
                    debtor_id=debtor.id,
                    external_ref=f"R{i}",
                    creditor="Banco",
                    amount=Decimal(900000),
                    currency="PEN",
                )
            )
            s.flush()
            attempt = m.CallAttempt(
                campaign_id=campaign.id, debtor_id=debtor.id, phone_id=phone.id, status="in_call"
            )
            s.add(attempt)
            s.flush()
            outcome = CallOutcome(
                Disposition.PTP,
                NOW,
                NOW,
                promise=Promise(Decimal(150000), "PEN", date(2026, 11, 27), link_requested="sms"),
                right_party_contacted=True,
                disclosure_made=True,
            )
            record_outcome(s, attempt_id=attempt.id, outcome=outcome, actor="bench", at=NOW)
            s.flush()
            schedule_follow_ups(s, attempt_id=attempt.id, now=NOW)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    server = start_postgres() if args.db == "postgresql" else None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            url = (
                server.create_database("bench_messages")
                if server is not None
                else f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            )
            run(url, args.texts)
    finally:
        if server is not None:
            server.stop()


def run(url: str, texts: int) -> None:
    upgrade(url)
    populate(url, texts)
    sessions = session_factory(make_engine(url))
    standin = TwilioStandIn().start()
    try:
        with httpx.Client(timeout=10.0) as client:
            channel = TwilioMessaging(
                ACCOUNT_SID, AUTH_TOKEN, FROM, client, base_url=standin.base_url
            )
            sent = 0
            started = time.perf_counter()
            while True:
                report = send_due(sessions, channel, now=NOW)
                if not report.sent:
                    break
                sent += len(report.sent)
            elapsed = time.perf_counter() - started
    finally:
        standin.stop()
    assert sent == texts == len(standin.accepted), (sent, len(standin.accepted))
    assert not standin.refusals
    print(f"backend: {url.split(':')[0].split('+')[0]}; texts: {sent}")
    print(
        f"sent in {elapsed:.2f} s: {sent / elapsed:.0f} texts/s, {elapsed / sent * 1000:.1f} ms per text"
    )
    print("(compliance check, claim, HTTP POST to the loopback stand-in, result and audit)")


if __name__ == "__main__":
    main()
