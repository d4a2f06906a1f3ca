"""An inbound listener killed mid-call: the world of ``test_inbound_durability.py``.

Run as a script it is the listener's process: ``python inbound_crash_world.py URL JOURNAL_DIR
MARKS_DIR``. Ana calls from her own phone, is verified, promises to pay on Friday and
confirms; the line then freezes (the process is about to be killed by the test). Before her
confirmation the line touches ``MARKS_DIR/ready`` and waits for ``MARKS_DIR/go`` (so the test
can take the database down first); once the promise is decided it touches ``promised``.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy.orm import Session

from voicebot.actions import Listen, Say, Transfer
from voicebot.data import INBOUND_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.context import CallContext, Debtor
from voicebot.engine.inbound import answer_inbound
from voicebot.engine.journal import Journal
from voicebot.events import Dtmf, Hangup, NoInput, TransferCompleted, TransferFailed, Utterance
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory
from voicebot.telephony.text_line import SimulatedClock, TextLine

ANA = "+573101234567"
TODAY = date(2026, 11, 23)
CALLED_AT = datetime(2026, 11, 23, 15, tzinfo=UTC)
FRIDAY = date(2026, 11, 27)
TURNS = ("sí", "#1234", "#1", "pago todo el viernes", "sí")
WORKER = "ivr:doomed"
LEASE_S = 15.0


def seed(s: Session) -> dict[str, int]:
    """Ana, her phone and debt, in a running Colombian campaign."""
    campaign = m.Campaign(
        name="cartera-noviembre",
        dialplan="cobranza_es",
        jurisdiction="CO",
        default_region="CO",
        company="Gestión Integral de Cartera",
        callback_number="6015550100",
        limits={"min_payment": 400000, "max_days_ahead": 20},
        status="running",
    )
    s.add(campaign)
    debtor = m.Debtor(
        external_id="ana",
        full_name="Ana Pérez Gómez",
        document_id="52.111.234",
        timezone="America/Bogota",
    )
    s.add(debtor)
    s.flush()
    phone = m.Phone(debtor_id=debtor.id, e164=ANA, kind="mobile")
    s.add(phone)
    s.add(
        m.Debt(
            debtor_id=debtor.id,
            external_ref="ana-1",
            creditor="Banco Andino",
            amount=Decimal(900000),
            currency="COP",
            days_past_due=40,
        )
    )
    s.add(m.CampaignDebtor(campaign_id=campaign.id, debtor_id=debtor.id))
    s.flush()
    return {"campaign": campaign.id, "ana": debtor.id, "phone": phone.id}


def line_context() -> CallContext:
    return CallContext(
        debtor=Debtor(full_name=""),
        today=TODAY,
        company="Gestión Integral de Cartera",
        callback_number="6015550100",
    )


class FreezingLine:
    """The scripted caller; waits for the test's go before confirming, freezes once done."""

    def __init__(self, marks: Path, clock: SimulatedClock) -> None:
        self.inner = TextLine.scripted(list(TURNS), clock=clock)
        self.marks = marks
        self.heard = 0

    async def say(self, say: Say) -> None:
        if self.heard == len(TURNS):
            (self.marks / "promised").touch()
            await asyncio.Event().wait()  # frozen: the test kills the process here
        await self.inner.say(say)

    async def listen(self, listen: Listen) -> Utterance | Dtmf | NoInput | Hangup:
        if self.heard == len(TURNS) - 1:
            (self.marks / "ready").touch()
            while not (self.marks / "go").exists():
                await asyncio.sleep(0.02)
        self.heard += 1
        return await self.inner.listen(listen)

    async def transfer(self, transfer: Transfer) -> TransferCompleted | TransferFailed | Hangup:
        return await self.inner.transfer(transfer)

    async def hangup(self) -> None:
        await self.inner.hangup()


def main() -> None:
    url, journal_dir, marks = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    sessions = session_factory(make_engine(url))
    clock = SimulatedClock(CALLED_AT)
    asyncio.run(
        answer_inbound(
            load_dialplan(INBOUND_DIALPLAN),
            FreezingLine(marks, clock),
            caller=ANA,
            sessions=sessions,
            line=line_context(),
            clock=clock,
            actor=WORKER,
            journal=Journal(journal_dir, WORKER),
            lease_seconds=LEASE_S,
        )
    )
    raise SystemExit("the call ended: it was meant to be killed mid-call")


if __name__ == "__main__":
    main()
