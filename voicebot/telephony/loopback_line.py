"""A tiny voice line over a local socket: the simulated debtors in one process, the bot in another.

Why it exists: a capacity figure measured with the debtors' line, noise and audio in the
bot's own process charges their CPU to the bot. Here the debtors run ``SimulatedLeg``s in
real time in a process of their own (``serve_debtors``) and time what they hear on their
own clock; the bot dials them through ``LoopbackCarrier``, a ``Carrier`` like SIP's.

One TCP connection per call. A message is one kind byte, a 4-byte big-endian length and
the payload:

  ``D`` number (utf-8)      bot → line: dial; answered with ``A`` call id or ``F`` failure
  ``F`` JSON                line → bot: {"disposition", "status", "reason"}
  ``P`` int16 LE samples    both ways: debtor audio (20 ms frames) / bot audio to play
  ``K`` digit               line → bot: DTMF
  ``H`` ``1``/``0``         line → bot: the debtor put the call on hold / took it off
  ``C``                     bot → line: clear queued playback (barge-in)
  ``X``                     both ways: hang up

The debtor's side plays the bot's audio at 20 ms a frame as the simulated line does, so
what the debtor hears carries every delay the bot adds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import struct
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voicebot.domain.outcome import Disposition
from voicebot.domain.pcm import Pcm
from voicebot.telephony.carrier import (
    AudioIn,
    DialFailure,
    DigitIn,
    FarEndHangup,
    HoldChanged,
    LineInput,
)
from voicebot.telephony.simulated import DebtorScript, SimulatedCarrier, SimulatedLeg

DIAL, ANSWERED, FAILED, AUDIO, DIGIT, HOLD, CLEAR, HANGUP = (
    b"D",
    b"A",
    b"F",
    b"P",
    b"K",
    b"H",
    b"C",
    b"X",
)
KINDS = frozenset({DIAL, ANSWERED, FAILED, AUDIO, DIGIT, HOLD, CLEAR, HANGUP})
MAX_PAYLOAD = 8_000 * 2 * 120  # two minutes of 8 kHz int16 audio in one message
_HEADER = struct.Struct(">cI")


class LineProtocolError(RuntimeError):
    """The peer sent something that is not a line message."""


@dataclass(frozen=True, slots=True)
class Message:
    kind: bytes
    payload: bytes = b""


def encode(message: Message) -> bytes:
    if message.kind not in KINDS:
        raise LineProtocolError(f"unknown message kind {message.kind!r}")
    if len(message.payload) > MAX_PAYLOAD:
        raise LineProtocolError(f"payload of {len(message.payload)} bytes is over {MAX_PAYLOAD}")
    return _HEADER.pack(message.kind, len(message.payload)) + message.payload


def decode_header(header: bytes) -> tuple[bytes, int]:
    """Kind and payload length of a 5-byte header; refuses unknown kinds and oversized payloads."""
    kind, length = _HEADER.unpack(header)
    if kind not in KINDS:
        raise LineProtocolError(f"unknown message kind {kind!r}")
    if length > MAX_PAYLOAD:
        raise LineProtocolError(f"payload of {length} bytes is over {MAX_PAYLOAD}")
    return kind, length


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """The next message, or None at a clean end of stream."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError as exc:
        if exc.partial:
            raise LineProtocolError("stream ended inside a message header") from exc
        return None
    kind, length = decode_header(header)
    try:
        payload = await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError as exc:
        raise LineProtocolError("stream ended inside a message") from exc
    return Message(kind, payload)


def audio_message(pcm: Pcm) -> Message:
    samples = np.asarray(pcm)
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise TypeError(f"expected 1-D int16 audio at 8 kHz, got {samples.dtype} {samples.shape}")
    return Message(AUDIO, samples.astype("<i2").tobytes())


def audio_of(message: Message) -> Pcm:
    if len(message.payload) % 2:
        raise LineProtocolError("audio payload is not whole 16-bit samples")
    return np.frombuffer(message.payload, dtype="<i2").astype(np.int16)


def input_of(message: Message | None) -> LineInput:
    """What the bot's leg makes of a message from the line."""
    if message is None or message.kind == HANGUP:
        return FarEndHangup()
    if message.kind == AUDIO:
        return AudioIn(audio_of(message))
    if message.kind == DIGIT:
        return DigitIn(message.payload.decode())
    if message.kind == HOLD:
        return HoldChanged(message.payload == b"1")
    raise LineProtocolError(f"unexpected {message.kind!r} during a call")


def message_of(item: LineInput) -> Message:
    """What the debtor's side sends for one input of its simulated line."""
    match item:
        case AudioIn(frame=frame):
            return audio_message(frame)
        case DigitIn(digit=digit):
            return Message(DIGIT, digit.encode())
        case HoldChanged(held=held):
            return Message(HOLD, b"1" if held else b"0")
        case _:
            return Message(HANGUP)


# --------------------------------------------------------------------- the bot's side


class LoopbackLeg:
    """A ``CallLeg`` whose far end is a debtor in another process."""

    def __init__(
        self, call_id: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._call_id = call_id
        self._reader = reader
        self._writer = writer
        self._ended = False

    @property
    def call_id(self) -> str:
        return self._call_id

    async def send_audio(self, pcm: Pcm) -> None:
        if not self._ended:
            self._writer.write(encode(audio_message(pcm)))
            await self._writer.drain()

    def clear_audio(self) -> None:
        if not self._ended:
            self._writer.write(encode(Message(CLEAR)))

    async def receive(self) -> LineInput:
        if self._ended:
            return FarEndHangup()
        try:
            item = input_of(await read_message(self._reader))
        except (ConnectionError, LineProtocolError):
            item = FarEndHangup()
        if isinstance(item, FarEndHangup):
            self._close()
        return item

    async def hangup(self) -> None:
        if not self._ended:
            with contextlib.suppress(ConnectionError):
                self._writer.write(encode(Message(HANGUP)))
                await self._writer.drain()
            self._close()

    def _close(self) -> None:
        self._ended = True
        self._writer.close()


class LoopbackCarrier:
    """Dials the debtors' process at ``host:port``."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port

    async def dial(
        self, number: str, *, caller_id: str | None = None, ring_timeout_s: float = 30.0
    ) -> LoopbackLeg | DialFailure:
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            return DialFailure(Disposition.FAIL, None, f"line unreachable: {exc}")
        writer.write(encode(Message(DIAL, number.encode())))
        await writer.drain()
        try:
            reply = await asyncio.wait_for(read_message(reader), ring_timeout_s)
        except (TimeoutError, LineProtocolError, ConnectionError) as exc:
            writer.close()
            return DialFailure(Disposition.FAIL, None, f"no answer from the line: {exc!r}")
        if reply is not None and reply.kind == ANSWERED:
            return LoopbackLeg(reply.payload.decode(), reader, writer)
        writer.close()
        if reply is not None and reply.kind == FAILED:
            fields = json.loads(reply.payload)
            return DialFailure(
                Disposition(fields["disposition"]), fields["status"], fields["reason"]
            )
        return DialFailure(Disposition.FAIL, None, "the line closed during the dial")


# --------------------------------------------------------------------- the debtors' side


ScriptFor = Callable[[str], DebtorScript | None]
LegDone = Callable[[str, SimulatedLeg], None]


async def serve_debtors(
    script_for: ScriptFor, on_done: LegDone, host: str = "127.0.0.1", port: int = 0
) -> asyncio.Server:
    """Answer dials with real-time simulated debtors; ``on_done(number, leg)`` when a call ends.

    Debtor turns should carry pre-rendered audio: rendering here would stall every other
    debtor's line on this event loop.
    """

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _answer(reader, writer, script_for, on_done)
        except (ConnectionError, LineProtocolError):
            pass  # the bot went away: its call is over
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)


async def _answer(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    script_for: ScriptFor,
    on_done: LegDone,
) -> None:
    dial = await read_message(reader)
    if dial is None or dial.kind != DIAL:
        raise LineProtocolError("a call must start with a dial")
    number = dial.payload.decode()
    script = script_for(number)
    if script is None:
        script = DebtorScript(failure=DialFailure(Disposition.FAIL, 404, f"{number} unknown"))
    result = await SimulatedCarrier({number: script}, realtime=True).dial(number)
    if isinstance(result, DialFailure):
        failure = {
            "disposition": result.disposition.value,
            "status": result.status,
            "reason": result.reason,
        }
        writer.write(encode(Message(FAILED, json.dumps(failure).encode())))
        await writer.drain()
        return
    leg = result
    writer.write(encode(Message(ANSWERED, leg.call_id.encode())))
    listening = asyncio.create_task(_bot_to_debtor(reader, leg))
    speaking = asyncio.create_task(_debtor_to_bot(writer, leg))
    try:
        # Whoever hangs up first ends the call: the debtor (its line sends X) or the bot.
        await asyncio.wait({listening, speaking}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (listening, speaking):
            task.cancel()
        await asyncio.gather(listening, speaking, return_exceptions=True)
        await leg.hangup()
        on_done(number, leg)


async def _debtor_to_bot(writer: asyncio.StreamWriter, leg: SimulatedLeg) -> None:
    """The debtor's line, frame by frame in real time, until the debtor hangs up."""
    while True:
        item = await leg.receive()
        writer.write(encode(message_of(item)))
        await writer.drain()
        if isinstance(item, FarEndHangup):
            return


async def _bot_to_debtor(reader: asyncio.StreamReader, leg: SimulatedLeg) -> None:
    """What the bot sends: audio to play, a clear, or its hangup (which ends the line)."""
    while True:
        message = await read_message(reader)
        if message is None or message.kind == HANGUP:
            await leg.hangup()
            return
        if message.kind == AUDIO:
            await leg.send_audio(audio_of(message))
        elif message.kind == CLEAR:
            leg.clear_audio()
        else:
            raise LineProtocolError(f"unexpected {message.kind!r} from the bot")
