"""Warm transfer on SIP: context first, whisper, bridge both ways; and the ways it fails."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from testbeds.sip import NOANSWER_USER
from voicebot.actions import TransferContext
from voicebot.domain.outcome import Disposition
from voicebot.events import Hangup, TransferCompleted, TransferFailed
from voicebot.telephony.sip import SipCallLeg, SipCarrier
from voicebot.telephony.sip_transfer import Handoff, TransferOutcome, to_event, warm_transfer

if TYPE_CHECKING:
    from conftest import SipLab

CONTEXT = TransferContext(
    reason="debtor_requested_agent",
    debtor_name="María Pérez",
    summary="Identidad verificada; pide hablar con un asesor sobre la cuota de marzo.",
    transcript=("bot: ¿Habla con María Pérez?", "deudor: sí, soy yo", "deudor: un asesor"),
    promise_attempts=("2026-12-01 COP 150000",),
)


def test_agent_gets_context_then_whisper_then_both_hear_each_other(sip_lab: SipLab) -> None:
    seen: list[Handoff] = []

    async def scenario() -> TransferOutcome:
        async with SipCarrier(sip_lab.settings()) as sip:
            sip.desk.subscribe(seen.append)
            carrier = sip_lab.DiallingCarrier(sip)
            debtor = await sip.dial("xfer-debtor")
            assert isinstance(debtor, SipCallLeg)
            at_bridge = sip_lab.line_times_at_bridge(debtor, carrier)
            # The debtor hangs up after the bridge has carried both sentences.
            hangup = asyncio.create_task(sip_lab.hang_up_once_both_have_spoken(debtor, carrier))
            outcome = await warm_transfer(
                carrier,  # type: ignore[arg-type]
                debtor,
                "agent",
                CONTEXT,
                timeout_s=5,
                desk=sip.desk,
                whisper=sip_lab.whisper,
            )
            await hangup
            sip_lab.assert_bridged_before_either_spoke(at_bridge)
            assert sip.desk.get(debtor.call_id) == seen[-1]
            return outcome

    outcome = asyncio.run(scenario())
    assert outcome.connected and outcome.agent == "agent"
    assert outcome.ended_by == "debtor"
    # Both sentences crossed the bridge whole (in line time).
    agent_said_s = sip_lab.agent_speech.size / sip_lab.RATE
    debtor_said_s = sip_lab.debtor_speech.size / sip_lab.RATE
    assert outcome.frames_to_debtor / sip_lab.FRAMES_PER_S > agent_said_s
    assert outcome.frames_to_agent / sip_lab.FRAMES_PER_S > debtor_said_s
    assert outcome.bridged_s > agent_said_s
    # The desk had the whole context while the agent's phone rang, before the bridge.
    assert [h.state for h in seen] == ["ringing", "connected", "ended"]
    assert seen[0].context == CONTEXT and seen[0].connected_at is None
    assert seen[1].connected_at is not None and seen[1].offered_at <= seen[1].connected_at

    # Correlation of unrelated speech stays below ~0.1; played audio scores ~1.0. Relayed
    # voices are checked piece by piece (the bridge primes 80 ms of playout so late frames do
    # not open gaps, but a machine starving the event loop for longer still cuts one piece).
    agent_heard = sip_lab.last_recording("agent", "dec")
    whisper_score, whisper_at = sip_lab.best_match(sip_lab.whisper, agent_heard)
    debtor_carried, debtor_at = sip_lab.relayed(sip_lab.debtor_speech, agent_heard)
    assert whisper_score > 0.9 and debtor_carried >= 0.75, (whisper_score, debtor_carried)
    assert whisper_at < debtor_at  # whispered first, then the debtor's voice
    debtor_heard = sip_lab.last_recording("xfer-debtor", "dec")
    agent_carried, _ = sip_lab.relayed(sip_lab.agent_speech, debtor_heard)
    assert agent_carried >= 0.75, agent_carried
    # The debtor never hears the whisper.
    assert sip_lab.best_match(sip_lab.whisper, debtor_heard)[0] < 0.4


def test_no_agent_within_the_timeout_leaves_the_debtor_with_the_bot(sip_lab: SipLab) -> None:
    async def scenario() -> tuple[TransferOutcome, float, Handoff | None, bool]:
        async with SipCarrier(sip_lab.settings()) as carrier:
            debtor = await carrier.dial("keypad")
            assert isinstance(debtor, SipCallLeg)
            started = time.monotonic()
            outcome = await carrier.warm_transfer(debtor, NOANSWER_USER, CONTEXT, timeout_s=1.5)
            elapsed = time.monotonic() - started
            still_up = debtor.is_up
            await debtor.send_audio(np.zeros(800, dtype=np.int16))  # the bot talks on
            await debtor.hangup()
            return outcome, elapsed, carrier.desk.get(debtor.call_id), still_up

    outcome, elapsed, handoff, still_up = asyncio.run(scenario())
    assert not outcome.connected and outcome.reason == "no_agent_available"
    assert outcome.failure is not None and outcome.failure.disposition is Disposition.NA
    assert 1.5 <= elapsed < 3.0
    assert still_up
    assert handoff is not None and handoff.state == "failed"
    event = to_event(outcome, datetime.now(UTC))
    assert isinstance(event, TransferFailed) and event.reason == "no_agent_available"


def test_debtor_hanging_up_while_the_agent_rings_cancels_the_agent(sip_lab: SipLab) -> None:
    async def scenario() -> tuple[TransferOutcome, float]:
        async with SipCarrier(sip_lab.settings()) as carrier:
            debtor = await carrier.dial("xfer-quitter")
            assert isinstance(debtor, SipCallLeg)
            started = time.monotonic()
            outcome = await carrier.warm_transfer(debtor, NOANSWER_USER, CONTEXT, timeout_s=20)
            elapsed = time.monotonic() - started
            await asyncio.sleep(0.2)
            assert carrier.active_calls == 0
            return outcome, elapsed

    outcome, elapsed = asyncio.run(scenario())
    assert not outcome.connected and outcome.reason == "debtor_hung_up"
    assert elapsed < 3.0  # the quitter leaves after 1.5 s, long before the 20 s timeout
    assert isinstance(to_event(outcome, datetime.now(UTC)), Hangup)


def test_connected_outcome_is_a_completed_transfer() -> None:
    event = to_event(TransferOutcome(True, "agent", ended_by="agent"), datetime.now(UTC))
    assert isinstance(event, TransferCompleted) and event.agent == "agent"
