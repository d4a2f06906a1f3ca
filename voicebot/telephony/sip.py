"""The SIP carrier: outbound calls over pyVoIP (through ``pyvoip_fixes``), bridged to asyncio.

pyVoIP runs one SIP thread per phone and two RTP threads per call. Nothing here
blocks the event loop: SIP state changes wake the loop through
``call_soon_threadsafe``; one poller task per carrier drains every call's
jitter buffer on a 20 ms clock, so a worker with many calls wakes 50 times a
second in total, not 50 times per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Literal

from voicebot.actions import TransferContext
from voicebot.audio.codec import pcm_to_ulaw, ulaw_to_pcm
from voicebot.domain.outcome import Disposition
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm
from voicebot.telephony.carrier import (
    AudioIn,
    DialFailure,
    DigitIn,
    FarEndHangup,
    HoldChanged,
    IncomingCall,
    IncomingHandler,
    LineInput,
)
from voicebot.telephony.dtmf import InbandDtmfDetector
from voicebot.telephony.pyvoip_fixes import (
    FRAME_BYTES,
    CallState,
    FixedVoIPCall,
    FixedVoIPPhone,
    TrunkIdentity,
)
from voicebot.telephony.sip_transfer import AgentDesk, TransferOutcome, warm_transfer
from voicebot.telephony.sit import SitDetector

Codec = Literal["PCMU", "PCMA"]
_TICK_S = FRAME_SAMPLES / LINE_RATE
_JITTER_ALLOWANCE_FRAMES = 10  # fill silence only when RTP is this late (200 ms)
_MAX_BUFFERED_FRAMES = 3000  # 60 s of unread audio; older frames are dropped first
_CANCEL_GRACE_S = 4.0  # how long to wait for 487 after CANCEL


_EARLY_MEDIA_POLL_S = 0.1


def _hear_sit(call: FixedVoIPCall, sit: SitDetector) -> bool:
    """Feed the early audio received so far to ``sit``; True once it heard the three tones."""
    streams = call.streams
    if not streams:
        return False
    buffer = streams[0].jitter
    for _ in range(buffer.available() // FRAME_BYTES):
        cause = sit.feed(ulaw_to_pcm(buffer.read(FRAME_BYTES)))
        if cause is not None:
            call.sit_cause = cause
            return True
    return False


class SipRegistrationError(RuntimeError):
    """The server did not accept our REGISTER (unreachable, silent, or refused credentials)."""


@dataclass(frozen=True, slots=True)
class SipSettings:
    """Where to register and how to call. ``local_ip`` goes into SDP, so it must be routable."""

    server: str
    user: str
    password: str = ""
    port: int = 5060
    local_ip: str = "127.0.0.1"
    local_port: int = 5060
    rtp_port_low: int = 10000
    rtp_port_high: int = 20000
    caller_id: str | None = None  # the From display name
    # The From user toward the trunk (the number the debtor sees); None: the SIP user.
    caller_number: str | None = None
    from_domain: str | None = None  # the From host; None: ``server``
    assert_identity: bool = False  # also send P-Asserted-Identity (RFC 3325) with that number
    symmetric_rtp: bool = True  # send RTP to where the far end's RTP comes from (NAT)
    rtp_timeout_s: float = 10.0  # no RTP for this long (not on hold): the call is dropped
    register_timeout_s: float = 5.0
    codecs: tuple[Codec, ...] = ("PCMU",)
    # None: detect in-band tones only when the far end did not negotiate telephone-event.
    inband_dtmf: bool | None = None

    def __post_init__(self) -> None:
        if not self.server or not self.user:
            raise ValueError("SIP settings need a server and a user")
        if not self.codecs or any(c not in ("PCMU", "PCMA") for c in self.codecs):
            raise ValueError(f"codecs must be PCMU and/or PCMA, got {self.codecs!r}")
        if not 0 < self.rtp_port_low <= self.rtp_port_high < 65536:
            raise ValueError("RTP port range is empty or out of bounds")
        if self.rtp_timeout_s <= 0:
            raise ValueError("rtp_timeout_s must be positive")

    def identity(self, caller_id: str | None) -> TrunkIdentity:
        """Who a call says it is. A per-call ``caller_id`` that is a number is the From user
        (as on Twilio); any other text is the display name."""
        number = self.caller_number or self.user
        name = self.caller_id
        if caller_id and _NUMBER.fullmatch(caller_id):
            number = caller_id
        elif caller_id:
            name = caller_id
        return TrunkIdentity(number, self.from_domain or self.server, name, self.assert_identity)


_NUMBER = re.compile(r"\+?[0-9]{3,20}")


_BUSY = frozenset({486, 600})
_NO_ANSWER = frozenset({408, 480, 487, 603})
# The trunk or the far network is overloaded or down: nothing is known about the number.
CONGESTION = frozenset({500, 502, 503, 504})


def disposition_for_status(status: int) -> Disposition:
    """A failed INVITE's final status as the attempt's disposition.

    603 Decline counts as no answer: the person saw the call and let it go, which
    says nothing about the number (not FAIL) and calls for a normal retry (not BUSY).
    Congestion (500/502/503/504) is retried like no answer on the same number; FAIL
    (404, 410, 484, 604, ...) says the number itself failed, so the next phone is tried.
    """
    if status in _BUSY:
        return Disposition.BUSY
    if status in _NO_ANSWER or status in CONGESTION:
        return Disposition.NA
    return Disposition.FAIL


@dataclass
class _Inbox:
    """What a leg has received and not yet handed out; touched only on the event loop."""

    items: deque[LineInput] = field(default_factory=deque)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    def put(self, item: LineInput) -> None:
        self.items.append(item)
        if len(self.items) > _MAX_BUFFERED_FRAMES:
            for index, old in enumerate(self.items):
                if isinstance(old, AudioIn):
                    del self.items[index]
                    break
        self.ready.set()


class SipCallLeg:
    """One answered SIP call seen as 8 kHz int16 frames, digits and a hangup."""

    def __init__(
        self, call: FixedVoIPCall, *, inband_dtmf: bool, rtp_timeout_s: float = 10.0
    ) -> None:
        self._call = call
        self._inbox = _Inbox()
        self._ended = False
        self.hung_up_by: Literal["local", "remote"] | None = None
        self._detector = InbandDtmfDetector() if inband_dtmf else None
        self._started = time.monotonic()
        self._frames_out = 0
        self._held = False
        self._rtp_timeout_s = rtp_timeout_s
        self._rtp_expected_since = self._started  # the inactivity timer's start (reset on resume)

    @property
    def end_reason(self) -> str:
        """Why a call that ended without a BYE ended: 'rtp_timeout', 'session_expired', ..."""
        return self._call.end_reason

    @property
    def held(self) -> bool:
        return self._held

    @property
    def call_id(self) -> str:
        return str(self._call.call_id)

    @property
    def codec(self) -> str:
        client = self._call.RTPClients[0] if self._call.RTPClients else None
        return str(client.preference) if client is not None else ""

    @property
    def queued_audio_s(self) -> float:
        """Playback still waiting to be sent (0 when the prompt has finished)."""
        streams = self._call.streams
        return len(streams[0].playout) / LINE_RATE if streams else 0.0

    @property
    def rtp_packets(self) -> tuple[int, int]:
        """(sent, received) RTP packets so far: the sender's clock and the far end's, observable."""
        streams = self._call.streams
        return (streams[0].packets_sent, streams[0].packets_received) if streams else (0, 0)

    @property
    def is_up(self) -> bool:
        return not self._ended

    @property
    def frames_received(self) -> int:
        """20 ms frames the line has produced so far, read or not (the recorder's clock)."""
        return self._frames_out

    async def send_audio(self, pcm: Pcm) -> None:
        if self._ended or not self._call.RTPClients:
            return
        self._call.write_audio(pcm_to_ulaw(pcm).tobytes())

    def clear_audio(self) -> None:
        for stream in self._call.streams:
            stream.playout.clear()

    async def receive(self) -> LineInput:
        """Inputs in order; once the call is over and drained, FarEndHangup every time."""
        while not self._inbox.items:
            if self._ended:
                return FarEndHangup()
            self._inbox.ready.clear()
            await self._inbox.ready.wait()
        return self._inbox.items.popleft()

    async def hangup(self) -> None:
        if self._ended:
            return
        if self._call.state == CallState.ANSWERED:
            self._call.hangup()
        self._end("local")

    def _end(self, by: Literal["local", "remote"]) -> None:
        if not self._ended:
            self._ended = True
            self.hung_up_by = by
            self._inbox.put(FarEndHangup())

    def _pump(self, now: float) -> None:
        """Move whatever pyVoIP received into the inbox (runs on the loop, never blocks)."""
        if self._ended:
            return
        for digit in self._call.take_digits():
            self._inbox.put(DigitIn(digit))
        for held in self._call.take_hold_changes():
            self._held = held
            self._rtp_expected_since = now
            self._inbox.put(HoldChanged(held))
        streams = self._call.streams
        if streams:
            buffer = streams[0].jitter
            whole = buffer.available() // FRAME_BYTES
            due = int((now - self._started) / _TICK_S)
            if whole == 0 and due - self._frames_out > _JITTER_ALLOWANCE_FRAMES:
                whole = due - self._frames_out - _JITTER_ALLOWANCE_FRAMES  # late RTP: keep time
            for _ in range(whole):
                self._deliver(ulaw_to_pcm(buffer.read(FRAME_BYTES)))
        if self._call.state == CallState.ENDED:
            self._end("remote")
        else:
            self._watch(now)

    def _watch(self, now: float) -> None:
        """A far end that died without BYE: no RTP while it should send, or no session refresh."""
        call = self._call
        call.retransmit_2xx(now)
        due = call.session_due(now)
        if due == "refresh":
            call.send_refresh()
        elif due == "expired":
            self._drop("session_expired")
            return
        streams = call.streams
        if streams and call.expects_rtp and not self._held:
            since = max(self._rtp_expected_since, call.direction_since)
            silent_since = max(streams[0].last_received, since)
            if now - silent_since > self._rtp_timeout_s:
                self._drop("rtp_timeout")

    def _drop(self, reason: str) -> None:
        if self._call.state == CallState.ANSWERED:
            self._call.hangup(reason)
        self._end("remote")

    def _deliver(self, frame: Pcm) -> None:
        self._frames_out += 1
        if self._detector is not None:
            for digit in self._detector.feed(frame):
                self._inbox.put(DigitIn(digit))
        self._inbox.put(AudioIn(frame))


class SipCarrier:
    """Registers once, then dials any number of concurrent calls from one event loop."""

    def __init__(self, settings: SipSettings, desk: AgentDesk | None = None) -> None:
        self.settings = settings
        self._phone = FixedVoIPPhone(
            settings.server,
            settings.port,
            settings.user,
            settings.password,
            myIP=settings.local_ip,
            sipPort=settings.local_port,
            rtpPortLow=settings.rtp_port_low,
            rtpPortHigh=settings.rtp_port_high,
        )
        self._phone.symmetric_rtp = settings.symmetric_rtp
        self._legs: set[SipCallLeg] = set()
        self._poller: asyncio.Task[None] | None = None
        # INVITE sent → 200 OK of the latest answered calls (for benchmarks and metrics).
        self.setup_times_s: deque[float] = deque(maxlen=10_000)
        self.desk = desk if desk is not None else AgentDesk()
        self._incoming_tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Register with the server (pyVoIP requires a 200 to REGISTER before calling)."""
        s = self.settings
        # pyVoIP annotates int but only hands it to select(), which takes float seconds.
        self._phone.sip.register_timeout = s.register_timeout_s  # type: ignore[assignment]
        try:
            await asyncio.to_thread(self._phone.start)
        except Exception as error:  # pyVoIP raises TimeoutError, OSError, its own errors
            where = f"{s.user}@{s.server}:{s.port}"
            raise SipRegistrationError(f"could not register {where}: {error}") from error
        self._poller = asyncio.create_task(self._poll(), name="sip-audio-poller")

    def answer_incoming(self, handler: IncomingHandler) -> None:
        """Answer INVITEs to our registered user; each call goes to ``handler`` in its own task.

        Call from the event loop that runs the carrier: the SIP receive thread hands each
        answered call over to it.
        """
        loop = asyncio.get_running_loop()

        def take(call: FixedVoIPCall, caller: str, called: str) -> None:
            loop.call_soon_threadsafe(self._take_incoming, handler, call, caller, called)

        self._phone.on_incoming = take

    def _take_incoming(
        self, handler: IncomingHandler, call: FixedVoIPCall, caller: str, called: str
    ) -> None:
        leg = self._adopt(call)
        task = asyncio.create_task(handler(IncomingCall(leg, caller, called)))
        self._incoming_tasks.add(task)
        task.add_done_callback(self._incoming_tasks.discard)

    async def stop(self) -> None:
        for leg in list(self._legs):
            await leg.hangup()
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
        await asyncio.to_thread(self._phone.stop)

    async def __aenter__(self) -> SipCarrier:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def dial(
        self, number: str, *, caller_id: str | None = None, ring_timeout_s: float = 30.0
    ) -> SipCallLeg | DialFailure:
        loop = asyncio.get_running_loop()
        changed = asyncio.Event()

        def wake() -> None:
            loop.call_soon_threadsafe(changed.set)

        sent_at = time.monotonic()
        identity = self.settings.identity(caller_id)
        call = self._phone.call(
            number, codecs=self.settings.codecs, identity=identity, on_change=wake
        )
        try:
            await self._wait_for_answer(call, changed, ring_timeout_s)
        except asyncio.CancelledError:
            self._abort(call)
            raise
        if call.state == CallState.ANSWERED:
            self.setup_times_s.append(time.monotonic() - sent_at)
            return self._adopt(call)
        status = call.final_status or 408
        if call.sit_cause is not None:  # the carrier's tones said why, in early media
            disposition = Disposition.FAIL if call.sit_cause == "number" else Disposition.NA
            return DialFailure(disposition, status, f"sit:{call.sit_cause}")
        if call.cancel_requested:
            reason = f"no answer within {ring_timeout_s:g} s"
            return DialFailure(Disposition.NA, status, reason)
        return DialFailure(disposition_for_status(status), status, call.final_reason)

    async def _wait_for_answer(
        self, call: FixedVoIPCall, changed: asyncio.Event, ring_timeout_s: float
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ring_timeout_s
        sit = SitDetector()
        while call.state == CallState.DIALING:
            now = loop.time()
            if call.early_media and call.sit_cause is None and _hear_sit(call, sit):
                self._phone.cancel(call)  # a SIT: no point ringing on
                deadline = min(deadline, now)
            if now >= deadline:
                if call.provisional_status is None or now >= deadline + _CANCEL_GRACE_S:
                    # Nothing heard at all (a CANCEL would be invalid) or no 487: give up.
                    self._phone.abandon(call, 408, "no response")
                    break
                if not call.cancel_requested:
                    self._phone.cancel(call)
                timeout = deadline + _CANCEL_GRACE_S - now
            else:
                timeout = deadline - now
            changed.clear()
            if call.state != CallState.DIALING:
                break
            if call.early_media:
                timeout = min(timeout, _EARLY_MEDIA_POLL_S)  # early audio arrives without events
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), timeout)

    def _abort(self, call: FixedVoIPCall) -> None:
        if call.state == CallState.DIALING:
            if call.provisional_status is not None:
                self._phone.cancel(call)
            else:
                self._phone.abandon(call, 408, "abandoned")
        elif call.state == CallState.ANSWERED:
            call.hangup()

    def _adopt(self, call: FixedVoIPCall) -> SipCallLeg:
        inband = self.settings.inband_dtmf
        if inband is None:
            negotiated = call.RTPClients[0].assoc.values() if call.RTPClients else ()
            inband = not any(str(p) == "telephone-event" for p in negotiated)
        leg = SipCallLeg(call, inband_dtmf=inband, rtp_timeout_s=self.settings.rtp_timeout_s)
        self._legs.add(leg)
        call.on_change = lambda: None  # the poller notices BYE within one tick
        return leg

    async def warm_transfer(
        self,
        leg: SipCallLeg,
        agent: str,
        context: TransferContext,
        timeout_s: float,
        *,
        whisper: Pcm | None = None,
    ) -> TransferOutcome:
        """Ring ``agent``, publish ``context`` on ``self.desk``, whisper, then bridge."""
        return await warm_transfer(
            self, leg, agent, context, timeout_s=timeout_s, desk=self.desk, whisper=whisper
        )

    @property
    def active_calls(self) -> int:
        return len(self._legs)

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        while True:
            now = time.monotonic()
            for leg in list(self._legs):
                leg._pump(now)
                if not leg.is_up:
                    self._legs.discard(leg)
            next_tick += _TICK_S
            delay = next_tick - loop.time()
            if delay < -0.2:
                next_tick = loop.time()
            await asyncio.sleep(max(0.0, delay))
