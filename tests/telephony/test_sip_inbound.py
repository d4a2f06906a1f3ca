"""SIP answering (UAS) on the loopback bed: baresip phones call the bot through kamailio.

The bot registers as ``bot``; a phone dials ``sip:bot@proxy``; the fix layer answers the
INVITE (200 with one G.711 codec, retransmitted until ACKed) and the carrier hands the call to
the inbound handler as a ``CallLeg``. Then the whole inbound dialog on it, stored in SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from testbeds.sip import PeerSpec, TestBed, free_port_block, running, write_wav
from voicebot.data import INBOUND_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.pcm import Pcm
from voicebot.engine.ivr import InboundAnswering
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory, upgrade
from voicebot.telephony.carrier import (
    CallLeg,
    DigitIn,
    FarEndHangup,
    IncomingCall,
    LineInput,
)
from voicebot.telephony.sip import SipCarrier, SipSettings

KNOWN = "573104445566"  # Ana's phone, as a SIP user (the caller ID the bot sees)
STRANGER = "573009998877"
CALLERS = 10


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[TestBed]:
    workdir = tmp_path_factory.mktemp("inbound-bed")
    quiet = write_wav(workdir / "quiet.wav", np.zeros(8000 * 120, dtype=np.int16).tobytes())
    peers = [PeerSpec(KNOWN, quiet), PeerSpec(STRANGER, quiet)]
    peers += [PeerSpec(f"5731000000{i:02d}", quiet) for i in range(CALLERS)]
    with running(workdir, peers) as started:
        yield started  # type: ignore[misc]


def bot_settings(bed: TestBed) -> SipSettings:
    base = free_port_block(101)
    return SipSettings(
        server="127.0.0.1",
        port=bed.proxy_port,
        user="bot",
        local_ip="127.0.0.1",
        local_port=base,
        rtp_port_low=base + 1,
        rtp_port_high=base + 100,
    )


class Watched:
    """A leg that reports each input the dialog takes, so the test acts when the bot has it."""

    def __init__(self, leg: CallLeg, seen: Callable[[LineInput], None]) -> None:
        self.inner = leg
        self.seen = seen

    @property
    def call_id(self) -> str:
        return self.inner.call_id

    async def send_audio(self, pcm: Pcm) -> None:
        await self.inner.send_audio(pcm)

    def clear_audio(self) -> None:
        self.inner.clear_audio()

    async def receive(self) -> LineInput:
        item = await self.inner.receive()
        self.seen(item)
        return item

    async def hangup(self) -> None:
        await self.inner.hangup()


async def with_bot(
    bed: TestBed,
    handler: Callable[[IncomingCall], Awaitable[None]],
    body: Callable[[], Awaitable[None]],
) -> None:
    async with SipCarrier(bot_settings(bed)) as carrier:
        carrier.answer_incoming(handler)
        await asyncio.wait_for(body(), 60)


async def dial_bot(bed: TestBed, caller: str) -> None:
    await asyncio.to_thread(bed.peer(caller).command, "dial", bed.uri("bot"))


def test_a_phone_calls_the_bot_which_answers_hears_keys_and_sees_the_hangup(bed: TestBed) -> None:
    got: list[IncomingCall] = []
    heard: list[LineInput] = []
    done = asyncio.Event()

    async def handler(call: IncomingCall) -> None:
        got.append(call)
        await call.leg.send_audio(np.zeros(8000, dtype=np.int16))
        while not isinstance(item := await call.leg.receive(), FarEndHangup):
            if isinstance(item, DigitIn):
                heard.append(item)
                if len(heard) == 3:
                    await asyncio.to_thread(bed.peer(STRANGER).hangup)
        heard.append(item)
        done.set()

    async def body() -> None:
        await dial_bot(bed, STRANGER)
        while not got:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(bed.peer(STRANGER).send_digits, "52#")
        await done.wait()

    asyncio.run(with_bot(bed, handler, body))
    assert got[0].caller_id.startswith(f"sip:{STRANGER}@")
    assert got[0].called.startswith("sip:bot@")
    assert heard == [DigitIn("5"), DigitIn("2"), DigitIn("#"), FarEndHangup()]


def test_the_bot_ends_the_call_and_the_phone_hears_the_bye(bed: TestBed) -> None:
    got: list[IncomingCall] = []

    async def handler(call: IncomingCall) -> None:
        got.append(call)
        while await call.leg.receive() != DigitIn("9"):  # the phone is heard, then we end
            pass
        await call.leg.hangup()

    def active_calls() -> str:
        return str(bed.peer(KNOWN).command("listcalls")["data"])

    async def body() -> None:
        await dial_bot(bed, KNOWN)
        while not got:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(bed.peer(KNOWN).send_digits, "9")
        # Our BYE went through kamailio's route set to the phone's Contact: its call is gone.
        while "Active calls (0)" not in await asyncio.to_thread(active_calls):
            await asyncio.sleep(0.1)

    asyncio.run(with_bot(bed, handler, body))
    assert got[0].caller_id.startswith(f"sip:{KNOWN}@")


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
        s.add(m.Phone(debtor_id=debtor.id, e164=f"+{KNOWN}", kind="mobile"))
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


def answering_for(
    sessions: sessionmaker[Session], model: VoskSpeechModel, voice: TtsCache
) -> InboundAnswering:
    return InboundAnswering(
        load_dialplan(INBOUND_DIALPLAN),
        model,
        voice,
        sessions,
        company="Gestión Integral de Cartera",
        callback_number="6015550100",
    )


def serve_watched(
    answering: InboundAnswering, on_digits: Callable[[str, str], None]
) -> Callable[[IncomingCall], Awaitable[None]]:
    """The inbound handler, telling the test which caller's keys the dialog has taken."""

    async def handler(call: IncomingCall) -> None:
        keys: list[str] = []

        def seen(item: LineInput) -> None:
            if isinstance(item, DigitIn):
                keys.append(item.digit)
                on_digits(call.caller_id, "".join(keys))

        watched = Watched(call.leg, seen)
        await answering.handle(IncomingCall(watched, call.caller_id, call.called))

    return handler


def test_an_unknown_caller_keys_the_document_and_is_stored_under_the_debtor(
    bed: TestBed, sessions: sessionmaker[Session], ko_model: VoskSpeechModel, bot_voice: TtsCache
) -> None:
    answering = answering_for(sessions, ko_model, bot_voice)
    keyed = asyncio.Event()

    def on_digits(caller: str, keys: str) -> None:
        if keys == "52111234#":
            keyed.set()

    async def body() -> None:
        await dial_bot(bed, STRANGER)
        await asyncio.to_thread(bed.peer(STRANGER).send_digits, "52111234#", 0.15)
        await keyed.wait()  # the dialog has the whole document
        await asyncio.to_thread(bed.peer(STRANGER).hangup)
        while not answering.served:
            await asyncio.sleep(0.05)

    asyncio.run(with_bot(bed, serve_watched(answering, on_digits), body))
    (served,) = answering.served
    assert served.outcome.disposition.value == "RPC"
    assert served.outcome.right_party_contacted
    with sessions() as s:
        attempt = s.get_one(m.CallAttempt, served.attempt_id)
        assert (attempt.direction, attempt.caller_id) == ("inbound", f"+{STRANGER}")
        record = s.scalars(select(m.CallRecord)).one()
        assert record.direction == "inbound"
        prompts = [t.get("prompt") for t in record.transcript if t["speaker"] == "bot"]
        assert prompts[:2] == ["ask_document", "menu"]


def test_a_known_caller_hanging_up_mid_prompt_is_a_drop_under_the_debtor(
    bed: TestBed, sessions: sessionmaker[Session], ko_model: VoskSpeechModel, bot_voice: TtsCache
) -> None:
    answering = answering_for(sessions, ko_model, bot_voice)
    got: list[IncomingCall] = []
    inner = serve_watched(answering, lambda caller, keys: None)

    async def handler(call: IncomingCall) -> None:
        got.append(call)
        await inner(call)

    async def body() -> None:
        await dial_bot(bed, KNOWN)
        while not got:
            await asyncio.sleep(0.05)
        await asyncio.to_thread(bed.peer(KNOWN).hangup)  # during the greeting
        while not answering.served:
            await asyncio.sleep(0.05)

    asyncio.run(with_bot(bed, handler, body))
    (served,) = answering.served
    assert served.outcome.disposition.value == "DROP"
    assert not served.outcome.disclosure_made
    with sessions() as s:
        attempt = s.get_one(m.CallAttempt, served.attempt_id)
        assert attempt.caller_id == f"+{KNOWN}"
        assert s.get_one(m.Debtor, attempt.debtor_id).full_name == "Ana Pérez Gómez"


def test_several_phones_call_the_bot_at_once(
    bed: TestBed, sessions: sessionmaker[Session], ko_model: VoskSpeechModel, bot_voice: TtsCache
) -> None:
    answering = answering_for(sessions, ko_model, bot_voice)
    callers = [f"5731000000{i:02d}" for i in range(CALLERS)]
    keyed = {f"sip:{c}": asyncio.Event() for c in callers}

    def on_digits(caller: str, keys: str) -> None:
        if keys == "52111234#":
            keyed[caller.split("@", 1)[0]].set()

    async def one(caller: str) -> None:
        await dial_bot(bed, caller)
        await asyncio.to_thread(bed.peer(caller).send_digits, "52111234#", 0.15)
        await keyed[f"sip:{caller}"].wait()
        await asyncio.to_thread(bed.peer(caller).hangup)

    async def body() -> None:
        await asyncio.gather(*(one(c) for c in callers))
        while len(answering.served) < CALLERS:
            await asyncio.sleep(0.05)

    asyncio.run(with_bot(bed, serve_watched(answering, on_digits), body))
    assert sorted(s.outcome.caller_id for s in answering.served) == sorted(f"+{c}" for c in callers)
    assert all(s.outcome.disposition.value == "RPC" for s in answering.served)
    with sessions() as s:
        assert len(s.scalars(select(m.CallRecord)).all()) == CALLERS


def test_a_dialing_worker_with_inbound_also_answers_the_callback_number(
    bed: TestBed, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """``voicebot worker --inbound``: the worker's one registration dials and answers."""
    from voicebot.cli.worker_cmd import _work
    from voicebot.config import DialerConfig, Settings, SipConfig, SpeechConfig

    bot = bot_settings(bed)
    with sessions() as s:
        campaign = s.scalars(select(m.Campaign)).one()  # nothing due: the dialer just waits
        url = str(s.get_bind().url)
    settings = Settings(
        database_url=url,
        sip=SipConfig(
            server=bot.server,
            port=bot.port,
            user=bot.user,
            local_ip=bot.local_ip,
            local_port=bot.local_port,
            rtp_port_low=bot.rtp_port_low,
            rtp_port_high=bot.rtp_port_high,
        ),
        speech=SpeechConfig(language="ko", prewarm_recognizers=0, tts_cache_dir=tmp_path / "tts"),
        dialer=DialerConfig(journal_dir=tmp_path / "journal", poll_seconds=0.2),
    )
    plan = load_dialplan(INBOUND_DIALPLAN)

    def stored() -> int:
        with sessions() as s:
            return len(s.scalars(select(m.CallRecord)).all())

    async def body() -> None:
        worker = asyncio.create_task(_work(settings, plan, "sip", campaign.id, False, plan))
        try:
            # Registered once the phone's call is answered: dial until it is.
            while True:
                await dial_bot(bed, KNOWN)
                await asyncio.sleep(0.5)
                calls = await asyncio.to_thread(bed.peer(KNOWN).command, "listcalls")
                if "ESTABLISHED" in str(calls["data"]):
                    break
                await asyncio.to_thread(bed.peer(KNOWN).hangup)
            await asyncio.to_thread(bed.peer(KNOWN).hangup)
            while await asyncio.to_thread(stored) == 0:
                await asyncio.sleep(0.1)
        finally:
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker

    asyncio.run(asyncio.wait_for(body(), 90))
    with sessions() as s:
        inbound = s.scalars(select(m.CallAttempt).where(m.CallAttempt.direction == "inbound"))
        attempts = inbound.all()
        assert attempts and {a.caller_id for a in attempts} == {f"+{KNOWN}"}
        assert {a.debtor_id for a in attempts} == {s.scalars(select(m.Debtor.id)).one()}
