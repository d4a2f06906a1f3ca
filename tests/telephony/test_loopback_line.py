"""The loopback line: a bot in one process dialing simulated debtors served by another.

Both ends run here on one event loop over a real TCP socket on loopback; the line is the
real-time simulated line, so each call lasts a fraction of a second of wall time. Nothing
asserts on durations: only on what crossed the line and in which order it had to.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import numpy as np
import pytest

from voicebot.domain.outcome import Disposition
from voicebot.telephony.carrier import AudioIn, DialFailure, DigitIn, FarEndHangup, LineInput
from voicebot.telephony.loopback_line import (
    AUDIO,
    DIAL,
    LineProtocolError,
    LoopbackCarrier,
    LoopbackLeg,
    Message,
    audio_message,
    audio_of,
    decode_header,
    encode,
    input_of,
    message_of,
    serve_debtors,
)
from voicebot.telephony.simulated import DebtorScript, HangUp, Press, SimulatedLeg, Speak

TONE = np.round(8000 * np.sin(2 * np.pi * 440 * np.arange(800) / 8000)).astype(np.int16)  # 100 ms
VOICE = np.round(6000 * np.sin(2 * np.pi * 300 * np.arange(1600) / 8000)).astype(np.int16)
GUARD_S = 30  # a hung test fails instead of hanging CI; never reached when the line works

Scenario = Callable[[LoopbackCarrier], Awaitable[None]]


def test_messages_round_trip_and_bad_ones_are_refused() -> None:
    wire = encode(audio_message(TONE))
    kind, length = decode_header(wire[:5])
    assert (kind, length) == (AUDIO, TONE.size * 2)
    assert np.array_equal(audio_of(Message(kind, wire[5:])), TONE)
    assert input_of(message_of(DigitIn("7"))) == DigitIn("7")
    assert isinstance(input_of(None), FarEndHangup)
    with pytest.raises(LineProtocolError):
        decode_header(b"Z\x00\x00\x00\x00")
    with pytest.raises(LineProtocolError):
        decode_header(DIAL + (10**9).to_bytes(4, "big"))
    with pytest.raises(LineProtocolError):
        audio_of(Message(AUDIO, b"\x00\x01\x02"))
    with pytest.raises(TypeError):
        audio_message(TONE.astype(np.float32))


def _serve(scripts: dict[str, DebtorScript], scenario: Scenario) -> list[tuple[str, SimulatedLeg]]:
    done: list[tuple[str, SimulatedLeg]] = []

    async def main() -> None:
        server = await serve_debtors(scripts.get, lambda number, leg: done.append((number, leg)))
        port = server.sockets[0].getsockname()[1]
        try:
            await asyncio.wait_for(scenario(LoopbackCarrier("127.0.0.1", port)), GUARD_S)
            while len(done) < sum(1 for s in scripts.values() if s.failure is None):
                await asyncio.sleep(0.01)  # the server side settles right after the bot's side
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())
    return done


async def _until(leg: LoopbackLeg, wanted: type[LineInput]) -> list[LineInput]:
    seen: list[LineInput] = []
    while True:
        item = await leg.receive()
        seen.append(item)
        if isinstance(item, (wanted, FarEndHangup)):
            return seen


def test_a_call_carries_the_lines_frames_and_keys_and_the_bots_prompts() -> None:
    script = DebtorScript((Press("7", delay_ms=0), HangUp(delay_ms=0)))
    received: list[LineInput] = []

    async def bot(carrier: LoopbackCarrier) -> None:
        leg = await carrier.dial("+573001")
        assert isinstance(leg, LoopbackLeg)
        for wanted in (DigitIn, FarEndHangup):  # each prompt lets the debtor take a turn
            await leg.send_audio(TONE)
            received.extend(await _until(leg, wanted))
        assert isinstance(await leg.receive(), FarEndHangup)  # and stays hung up

    done = _serve({"+573001": script}, bot)
    frames = [i.frame for i in received if isinstance(i, AudioIn)]
    assert frames and all(f.size == 160 for f in frames)  # 20 ms frames of line audio
    assert [i for i in received if isinstance(i, DigitIn)] == [DigitIn("7")]
    assert isinstance(received[-1], FarEndHangup)
    [(number, leg)] = done
    assert number == "+573001"
    assert leg.debtor_hung_up_ms is not None
    heard = leg.heard_audio()
    assert heard.size >= 2 * TONE.size  # two prompts were played to the debtor...
    assert np.abs(heard).max() > 6000  # ...as audio, through the line's μ-law


def test_the_bots_hangup_and_barge_in_reach_the_debtor() -> None:
    script = DebtorScript((Speak(VOICE, barge_in_after_ms=0), HangUp()))

    async def bot(carrier: LoopbackCarrier) -> None:
        leg = await carrier.dial("+573002")
        assert isinstance(leg, LoopbackLeg)
        await leg.send_audio(np.tile(TONE, 100))  # ten seconds of prompt
        while True:  # the debtor talks over it: the bot stops the prompt
            item = await leg.receive()
            if isinstance(item, AudioIn) and np.abs(item.frame).max() > 3000:
                break
        leg.clear_audio()
        await leg.hangup()

    [(_, leg)] = _serve({"+573002": script}, bot)
    assert leg.clears_ms  # the prompt was cut on the debtor's side
    assert leg.bot_hung_up_ms is not None and leg.debtor_hung_up_ms is None
    assert leg.heard_audio().size < 100 * TONE.size


def test_unanswered_and_unknown_numbers_fail_as_the_script_says() -> None:
    busy = DebtorScript(failure=DialFailure(Disposition.BUSY, 486, "Busy Here"))
    results: list[object] = []

    async def bot(carrier: LoopbackCarrier) -> None:
        results.append(await carrier.dial("+573003"))
        results.append(await carrier.dial("+573999"))

    _serve({"+573003": busy}, bot)
    assert results[0] == DialFailure(Disposition.BUSY, 486, "Busy Here")
    assert isinstance(results[1], DialFailure)
    assert (results[1].disposition, results[1].status) == (Disposition.FAIL, 404)


def test_a_line_nobody_serves_is_a_failed_dial() -> None:
    async def dial_closed_port() -> DialFailure | LoopbackLeg:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        return await LoopbackCarrier("127.0.0.1", port).dial("+573004")

    result = asyncio.run(dial_closed_port())
    assert isinstance(result, DialFailure) and result.disposition is Disposition.FAIL
