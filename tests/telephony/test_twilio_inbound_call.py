"""Whole inbound calls over Twilio: the debtor calls, the bot answers, identifies, serves, stores.

Twilio's side is the loopback stand-in (``test_twilio_carrier``) streaming in real time and
reacting to the bot's prompts (``test_twilio_call.ConversingTwilio``); the bot is the real one:
inbound dialplan, audio port, espeak-ng, Vosk (the Korean test model: the caller answers "네"
or with the keypad), SQLite.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from test_twilio_call import ConversingTwilio, Turn
from test_twilio_carrier import Harness, run
from test_twilio_incoming import incoming_form, post_incoming

from voicebot.data import INBOUND_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.ivr import InboundAnswering
from voicebot.speech.tts_espeak import EspeakSynthesizer
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, upgrade
from voicebot.telephony.carrier import IncomingCall

pytestmark = pytest.mark.slow
ANA = "+573104445566"  # the caller ID incoming_form presents
STRANGER = "+573009998877"


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    url = f"sqlite:///{tmp_path / 'ivr.sqlite3'}"
    upgrade(url)
    factory = session_factory(make_engine(url))
    with factory.begin() as s:
        campaign = m.Campaign(
            name="cartera",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            company="Gestión Integral de Cartera",
            callback_number="6015550100",
        )
        debtor = m.Debtor(external_id="ana", full_name="Ana Pérez Gómez", document_id="52.111.234")
        s.add_all([campaign, debtor])
        s.flush()
        s.add(m.Phone(debtor_id=debtor.id, e164=ANA, kind="mobile"))
        s.add(
            m.Debt(
                debtor_id=debtor.id,
                external_ref="a-1",
                creditor="Banco Andino",
                amount=Decimal(900000),
                currency="COP",
                days_past_due=40,
            )
        )
        s.add(m.CampaignDebtor(campaign_id=campaign.id, debtor_id=debtor.id))
    return factory


async def call_in(
    h: Harness, answering: InboundAnswering, streams: list[ConversingTwilio], callers: list[str]
) -> None:
    """Each stand-in places one call to the callback number at once; wait for every call stored."""
    done: dict[str, asyncio.Event] = {}

    async def listener(call: IncomingCall) -> None:
        try:
            await answering.handle(call)
        finally:
            done[call.leg.call_id].set()

    h.carrier.answer_incoming(listener)

    async def one(i: int, fake: ConversingTwilio, caller: str) -> None:
        sid = f"CA{i:032d}"
        done[sid] = asyncio.Event()
        form = {**incoming_form(sid), "From": caller, "Caller": caller}
        status, text = await post_incoming(h, form)
        assert status == 200, text
        stream = ElementTree.fromstring(text).find("./Connect/Stream")
        assert stream is not None
        params = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
        stop = h.twilio._stop_stream.setdefault(sid, asyncio.Event())
        await fake._stream(sid, stream.get("url", ""), params, None, stop)  # type: ignore[arg-type]
        await done[sid].wait()

    await asyncio.gather(
        *(one(i, f, c) for i, (f, c) in enumerate(zip(streams, callers, strict=True)))
    )


def test_an_unknown_caller_keys_the_document_and_the_balance_then_hangs_up(
    sessions: sessionmaker[Session], ko_model: VoskSpeechModel, bot_voice: EspeakSynthesizer
) -> None:
    fake = ConversingTwilio(
        (Turn(0, 0.3, press="52111234#"), Turn(1, 0.3, press="3"), Turn(3, 0.5, hang_up=True))
    )
    answering = InboundAnswering(
        load_dialplan(INBOUND_DIALPLAN),
        ko_model,
        bot_voice,
        sessions,
        company="Gestión Integral de Cartera",
        callback_number="6015550100",
    )
    run(lambda h: call_in(h, answering, [fake], [STRANGER]), timeout_s=120)
    (served,) = answering.served
    prompts = [t.prompt for t in served.outcome.transcript if t.speaker == "bot"]
    assert prompts == ["ask_document", "menu", "info_amount", "menu"]
    assert served.outcome.disposition.value == "RPC"
    with sessions() as s:
        attempt = s.get_one(m.CallAttempt, served.attempt_id)
        assert (attempt.direction, attempt.caller_id, attempt.disposition) == (
            "inbound",
            STRANGER,
            "RPC",
        )
        record = s.scalars(select(m.CallRecord)).one()
        assert record.direction == "inbound" and record.disclosure
        assert "#52111234" in [t["text"] for t in record.transcript]


def test_a_known_caller_hanging_up_mid_greeting_is_stored_as_a_drop(
    sessions: sessionmaker[Session], ko_model: VoskSpeechModel, bot_voice: EspeakSynthesizer
) -> None:
    fake = ConversingTwilio((Turn(0, -1.5, hang_up=True),))  # before the greeting has ended
    answering = InboundAnswering(
        load_dialplan(INBOUND_DIALPLAN),
        ko_model,
        bot_voice,
        sessions,
        company="Gestión Integral de Cartera",
        callback_number="6015550100",
    )
    run(lambda h: call_in(h, answering, [fake], [ANA]), timeout_s=120)
    (served,) = answering.served
    assert served.outcome.disposition.value == "DROP"
    assert not served.outcome.disclosure_made
    with sessions() as s:
        attempt = s.get_one(m.CallAttempt, served.attempt_id)
        assert attempt.caller_id == ANA and attempt.disposition == "DROP"
        assert s.get_one(m.Debtor, attempt.debtor_id).full_name == "Ana Pérez Gómez"


def test_several_inbound_calls_at_once_on_one_process(
    sessions: sessionmaker[Session],
    ko_model: VoskSpeechModel,
    bot_voice: EspeakSynthesizer,
    korean_debtor: EspeakSynthesizer,
) -> None:
    calls = 4
    yes = korean_debtor.synthesize("네")
    fakes = [
        ConversingTwilio(
            (Turn(0, 0.4, speak=yes), Turn(1, 0.5, press="1234"), Turn(2, 0.5, hang_up=True))
        )
        for _ in range(calls)
    ]
    answering = InboundAnswering(
        load_dialplan(INBOUND_DIALPLAN),
        ko_model,
        bot_voice,
        sessions,
        company="Gestión Integral de Cartera",
        callback_number="6015550100",
    )
    run(lambda h: call_in(h, answering, fakes, [ANA] * calls), timeout_s=180)
    assert len(answering.served) == calls
    for served in answering.served:
        prompts = [t.prompt for t in served.outcome.transcript if t.speaker == "bot"]
        assert prompts[:3] == ["inbound_greeting", "verify_document", "menu"], prompts
        assert served.outcome.right_party_contacted
    with sessions() as s:
        records = s.scalars(select(m.CallRecord)).all()
        assert len(records) == calls
        assert {r.direction for r in records} == {"inbound"}
        assert len({r.attempt_id for r in records}) == calls
