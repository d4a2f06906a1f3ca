"""Twilio as a carrier: REST to place and steer calls, one aiohttp server for media and webhooks.

A dial creates the call with inline ``<Connect><Stream>`` TwiML; Twilio opens a
websocket back to ``/twilio/media`` when the debtor answers, and that socket
becomes the ``CallLeg``. Failures before answer arrive as signed status
callbacks; every webhook (and the websocket handshake) is checked against
``X-Twilio-Signature`` before anything is believed. The message formats live in
``twilio_wire`` (pure); this module only moves them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import numpy as np
from aiohttp import WSMsgType, web
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from voicebot.actions import Transfer, TransferContext
from voicebot.audio.vad import frame_dbfs
from voicebot.domain.outcome import Disposition
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm
from voicebot.events import Hangup, TransferCompleted, TransferFailed
from voicebot.telephony.amd import (
    AmdResult,
    AmdSettings,
    AnsweringMachineDetector,
    BeepDetector,
    MachineAction,
)
from voicebot.telephony.carrier import (
    AudioIn,
    DialFailure,
    DigitIn,
    FarEndHangup,
    IncomingCall,
    IncomingHandler,
    LineInput,
)
from voicebot.telephony.twilio_wire import (
    CallStatus,
    DtmfReceived,
    MarkPlayed,
    MediaReceived,
    StreamStarted,
    StreamStopped,
    WireError,
    clear_message,
    conference_twiml,
    connect_stream_twiml,
    mark_message,
    media_message,
    parse_message,
    parse_status_callback,
    reject_twiml,
    whisper_twiml,
)

log = logging.getLogger(__name__)

TwilioTransferrer = Callable[[Transfer], Awaitable[TransferCompleted | TransferFailed | Hangup]]

CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
_ANSWERED = frozenset({"in-progress", "answered"})
_UNANSWERED = frozenset({"busy", "no-answer", "failed", "canceled", "completed"})


@dataclass(frozen=True, slots=True)
class TwilioSettings:
    account_sid: str
    auth_token: str
    from_number: str
    public_base_url: str  # https URL where Twilio reaches this server (webhooks and wss)
    agent_number: str = ""  # where warm transfers ring (E.164 or sip:)
    api_base_url: str | None = None  # another REST origin (a region, a proxy, a test server)
    machine_detection: bool = True  # Twilio's async AMD
    local_amd: bool = True  # also run voicebot.telephony.amd on the first seconds
    on_machine: MachineAction = MachineAction.HANG_UP
    amd_wait_s: float = 4.0  # how long a fresh leg waits for an AMD verdict
    answer_grace_s: float = 15.0  # setup time beyond the ring timeout before giving up
    voicemail_wait_s: float = 10.0  # longest wait for the beep before leaving a message


class _PooledHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]  # untyped base
    """Twilio's aiohttp transport with its session opened inside the event loop, on first use.

    The stock client either opens the session at construction (outside any loop
    when the composition root builds carriers) or opens one per request and
    leaks it when the request fails.
    """

    def __init__(self) -> None:
        super().__init__(pool_connections=False)

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        if self.session is None:  # type: ignore[has-type]
            self.session = aiohttp.ClientSession()
        return await super().request(*args, **kwargs)


class TwilioRest:
    """The few REST calls the bot makes, through the official client (async transport)."""

    def __init__(self, settings: TwilioSettings) -> None:
        self._http = _PooledHttpClient()
        self.client = Client(settings.account_sid, settings.auth_token, http_client=self._http)
        if settings.api_base_url:
            self.client.api.base_url = settings.api_base_url

    async def close(self) -> None:
        await self._http.close()

    async def create_call(self, **params: Any) -> str:
        call = await self.client.calls.create_async(**params)
        return str(call.sid)

    async def update_call(self, call_sid: str, **params: Any) -> None:
        await self.client.calls(call_sid).update_async(**params)

    async def add_participant(self, conference: str, **params: Any) -> str:
        participant = await self.client.conferences(conference).participants.create_async(**params)
        return str(participant.call_sid)


class TwilioCallLeg:
    """One answered call, carried over a Media Streams websocket."""

    def __init__(
        self,
        started: StreamStarted,
        ws: web.WebSocketResponse,
        rest: TwilioRest,
        amd: AnsweringMachineDetector | None,
    ) -> None:
        self.started = started
        self.answered_by = ""  # Twilio's AMD verdict once known
        self.amd = amd
        self.screened = False  # handed to the dialog (no machine verdict within the wait)
        self.late_verdict = ""  # a machine/fax verdict that came after that, and what we did
        self._taken_over = (
            False  # the carrier speaks now (voicemail): the dialog's audio is dropped
        )
        self.marks_played: list[str] = []
        self._mark_echo = asyncio.Event()
        self._ws = ws
        self._rest = rest
        self._inbound: asyncio.Queue[LineInput] = asyncio.Queue()
        self._carry: Pcm = np.zeros(0, dtype=np.int16)
        self._outbound: deque[str] = deque()
        self._wake = asyncio.Event()
        self._verdict = asyncio.Event()
        self._marks = 0
        self._closed = False
        self.gone = asyncio.Event()  # the far end (or we) ended the stream
        self._writer = asyncio.create_task(self._write())

    @property
    def call_id(self) -> str:
        return self.started.call_sid

    @property
    def stream_sid(self) -> str:
        return self.started.stream_sid

    async def send_audio(self, pcm: Pcm) -> None:
        if not self._taken_over:
            self.play(pcm)

    def take_over(self) -> None:
        """Stop the dialog's audio: the carrier leaves a message on a late-detected machine."""
        self._taken_over = True
        self.clear_audio()

    def play(self, pcm: Pcm) -> None:
        samples = np.asarray(pcm, dtype=np.int16)
        for start in range(0, samples.size, FRAME_SAMPLES):
            self._outbound.append(
                media_message(self.stream_sid, samples[start : start + FRAME_SAMPLES])
            )
        self._marks += 1
        self._outbound.append(mark_message(self.stream_sid, f"audio-{self._marks}"))
        self._wake.set()

    def clear_audio(self) -> None:
        # Audio not yet written never reaches Twilio; ``clear`` empties Twilio's own buffer.
        self._outbound.clear()
        self._outbound.append(clear_message(self.stream_sid))
        self._wake.set()

    async def receive(self) -> LineInput:
        if self._closed and self._inbound.empty():
            return FarEndHangup()
        return await self._inbound.get()

    async def hangup(self) -> None:
        if not self._closed:
            with contextlib.suppress(TwilioRestException):
                await self._rest.update_call(self.call_id, status="completed")
        await self.close()

    async def close(self) -> None:
        self.far_end_gone()
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        await self._ws.close()

    async def wait_played(self, timeout_s: float) -> bool:
        """Until Twilio echoes the mark after the last audio sent: it has been played out."""
        last = f"audio-{self._marks}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while last not in self.marks_played and not self._closed:
            self._mark_echo.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._mark_echo.wait(), max(0.0, deadline - loop.time()))
            if loop.time() >= deadline:
                break
        return last in self.marks_played

    async def wait_verdict(self, timeout_s: float) -> str | AmdResult | None:
        """Twilio's ``AnsweredBy`` or the local detector's result, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._verdict.wait(), timeout_s)
        if self.answered_by:
            return self.answered_by
        return self.amd.result if self.amd is not None else None

    def machine_verdict(self, answered_by: str) -> None:
        self.answered_by = answered_by
        self._verdict.set()

    def deliver(self, event: MediaReceived | DtmfReceived | MarkPlayed) -> None:
        match event:
            case MediaReceived(pcm=pcm):
                # Twilio usually sends 20 ms per message, but nothing promises it: re-frame.
                if self._carry.size:
                    pcm = np.concatenate([self._carry, pcm])
                usable = pcm.size - pcm.size % FRAME_SAMPLES
                self._carry = pcm[usable:]
                for start in range(0, usable, FRAME_SAMPLES):
                    frame = pcm[start : start + FRAME_SAMPLES]
                    self._inbound.put_nowait(AudioIn(frame))
                    amd = self.amd
                    if amd is not None and amd.result is None and amd.feed(frame) is not None:
                        self._verdict.set()
            case DtmfReceived(digit=digit):
                self._inbound.put_nowait(DigitIn(digit))
            case MarkPlayed(name=name):
                self.marks_played.append(name)
                self._mark_echo.set()

    def far_end_gone(self) -> None:
        if not self._closed:
            self._closed = True
            self.gone.set()
            self._inbound.put_nowait(FarEndHangup())

    async def _write(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._outbound:
                try:
                    await self._ws.send_str(self._outbound.popleft())
                except (ConnectionError, RuntimeError):  # socket gone under us
                    self._outbound.clear()
                    self.far_end_gone()
                    return


@dataclass(slots=True)
class _PendingDial:
    answered: asyncio.Future[TwilioCallLeg | DialFailure]
    call_sid: str = ""
    answered_by: str = ""
    last_status: str = ""


@dataclass(slots=True)
class _PendingTransfer:
    agent: str
    context: TransferContext
    answered: asyncio.Future[CallStatus] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


def _now() -> datetime:
    return datetime.now(UTC)


class TwilioCarrier:
    """``Carrier`` over Twilio; ``app`` is the aiohttp application Twilio must reach."""

    def __init__(
        self,
        settings: TwilioSettings,
        rest: TwilioRest | None = None,
        *,
        voicemail: Callable[[], Awaitable[Pcm]] | None = None,
    ) -> None:
        """``voicemail`` renders the limited-content message (from ``prompts/``) when the
        policy is to leave one; without it a machine's leg goes to the dialog as is."""
        self.settings = settings
        self.voicemail = voicemail
        self.rest = rest or TwilioRest(settings)
        self.validator = RequestValidator(settings.auth_token)
        self.transfer_desk: dict[str, TransferContext] = {}  # conference → what the agent sees
        self.rejected_webhooks = 0
        self._dials: dict[str, _PendingDial] = {}  # by attempt key
        self._legs: dict[str, TwilioCallLeg] = {}  # by call sid
        self._transfers: dict[str, _PendingTransfer] = {}  # by conference name
        self._late_tasks: set[asyncio.Task[None]] = set()
        self._incoming_handler: IncomingHandler | None = None
        self._callers: dict[str, tuple[str, str]] = {}  # inbound stream key → (From, To)
        self.app = web.Application()
        self.app.add_routes(
            [
                web.get("/twilio/media", self._media),
                web.post("/twilio/status/{attempt}", self._status),
                web.post("/twilio/amd/{attempt}", self._amd),
                web.post("/twilio/agent/{conference}", self._agent_status),
                web.post("/twilio/whisper/{conference}", self._whisper),
                web.post("/twilio/incoming", self._incoming),
            ]
        )

    async def start(self, host: str, port: int) -> web.AppRunner:
        """Serve webhooks and media on ``host:port`` (behind the TLS proxy of ``public_base_url``)."""
        runner = web.AppRunner(self.app)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        return runner

    async def close(self) -> None:
        """End live streams and release the REST connection pool."""
        for leg in list(self._legs.values()):
            await leg.close()
        await self.rest.close()

    def _url(self, path: str, *, websocket: bool = False) -> str:
        base = self.settings.public_base_url.rstrip("/")
        if websocket:
            base = base.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        return base + path

    # --- Carrier ---------------------------------------------------------------

    async def dial(
        self, number: str, *, caller_id: str | None = None, ring_timeout_s: float = 30.0
    ) -> TwilioCallLeg | DialFailure:
        attempt = uuid.uuid4().hex
        pending = _PendingDial(asyncio.get_running_loop().create_future())
        self._dials[attempt] = pending
        params: dict[str, Any] = {
            "to": number,
            "from_": caller_id or self.settings.from_number,
            "twiml": connect_stream_twiml(
                self._url("/twilio/media", websocket=True), {"attempt": attempt}
            ),
            "status_callback": self._url(f"/twilio/status/{attempt}"),
            "status_callback_event": CALL_EVENTS,
            "status_callback_method": "POST",
            "timeout": max(5, min(600, round(ring_timeout_s))),
        }
        if self.settings.machine_detection:
            leave = self.settings.on_machine is MachineAction.LEAVE_MESSAGE
            params |= {
                # DetectMessageEnd: the machine verdict comes when the greeting (and beep)
                # is over, which is when a message must start.
                "machine_detection": "DetectMessageEnd" if leave else "Enable",
                "async_amd": "true",
                "async_amd_status_callback": self._url(f"/twilio/amd/{attempt}"),
                "async_amd_status_callback_method": "POST",
            }
        try:
            pending.call_sid = await self.rest.create_call(**params)
            outcome = await asyncio.wait_for(
                asyncio.shield(pending.answered), ring_timeout_s + self.settings.answer_grace_s
            )
        except TwilioRestException as exc:
            return DialFailure(Disposition.FAIL, exc.code, exc.msg)
        except TimeoutError:
            if not pending.call_sid:  # the REST request itself timed out
                return DialFailure(Disposition.FAIL, None, "twilio api: timeout")
            # Twilio cancels only calls still ringing; an answered call must be completed.
            answered = pending.last_status in _ANSWERED
            with contextlib.suppress(TwilioRestException):
                await self.rest.update_call(
                    pending.call_sid, status="completed" if answered else "canceled"
                )
            if answered:  # picked up, but Twilio never reached our websocket
                return DialFailure(Disposition.FAIL, None, "answered but no media stream")
            return DialFailure(Disposition.NA, None, "no media stream before the ring timeout")
        except (aiohttp.ClientError, OSError) as exc:  # Twilio's API unreachable
            return DialFailure(Disposition.FAIL, None, f"twilio api: {exc!r}")
        finally:
            self._dials.pop(attempt, None)
        if isinstance(outcome, DialFailure):
            return outcome
        return await self._screen(outcome, pending.answered_by)

    async def _screen(self, leg: TwilioCallLeg, answered_by: str) -> TwilioCallLeg | DialFailure:
        """Hang up on a machine when the policy says so; otherwise hand the leg to the dialog."""
        if answered_by:
            leg.machine_verdict(answered_by)
        if not (self.settings.machine_detection or self.settings.local_amd):
            return leg
        verdict = await leg.wait_verdict(self.settings.amd_wait_s)
        if verdict == "fax":  # nobody to talk to, and not a voicemail either
            await leg.hangup()
            return DialFailure(Disposition.FAIL, None, "fax")
        match verdict:
            case str() if verdict.startswith("machine"):
                reason = verdict
            case AmdResult(verdict="machine"):
                reason = f"local_amd:{verdict.reason}"
            case _:
                leg.screened = True
                return leg
        if self.settings.on_machine is MachineAction.LEAVE_MESSAGE:
            if self.voicemail is None:
                return leg  # the engine leaves the message (leg.answered_by / leg.amd)
            # Twilio's machine_end_* verdicts come after the greeting (and beep) ended.
            if await self._leave_message(leg, ended=reason.startswith("machine_end")):
                reason += ";message_left"
        await leg.hangup()
        return DialFailure(Disposition.VM, None, reason)

    async def _late_machine(self, leg: TwilioCallLeg, verdict: str) -> None:
        """A machine (or fax) found after the leg went to the dialog still gets the policy:
        the message is left (Twilio's machine_end_* verdicts come when the greeting is over)
        or the call is hung up; the runner records the attempt as VM (fax: FAIL)."""
        leave = self.settings.on_machine is MachineAction.LEAVE_MESSAGE and verdict != "fax"
        if leave and self.voicemail is not None:
            leg.take_over()
            if await self._leave_message(leg, ended=True):
                leg.late_verdict += ";message_left"
        await leg.hangup()

    async def _leave_message(self, leg: TwilioCallLeg, *, ended: bool) -> bool:
        """Speak after the beep (or once the greeting has gone quiet), then wait until played."""
        assert self.voicemail is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.voicemail_wait_s
        beep = BeepDetector()
        spoke, quiet = False, 0
        while not ended and not beep.beep_over and loop.time() < deadline:
            try:
                item = await asyncio.wait_for(leg.receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                break
            match item:
                case FarEndHangup():
                    return False
                case AudioIn(frame=frame):
                    beep.feed(frame)
                    loud = frame_dbfs(frame) > AmdSettings().speech_floor_dbfs
                    spoke, quiet = spoke or loud, 0 if loud else quiet + 1
                    if spoke and quiet * FRAME_SAMPLES >= 1.5 * LINE_RATE:
                        break  # greeting over and no beep: the recorder is listening
        message = await self.voicemail()
        leg.play(message)
        return await leg.wait_played(message.size / LINE_RATE + 5.0)

    # --- warm transfer -----------------------------------------------------------

    def transferrer_for(self, leg: object) -> TwilioTransferrer | None:
        """The ``Transferrer`` for a Twilio leg (``CarrierCallRunner(transferrer_for=...)``)."""
        if not isinstance(leg, TwilioCallLeg) or not self.settings.agent_number:
            return None

        async def transfer(action: Transfer) -> TransferCompleted | TransferFailed | Hangup:
            return await self.transfer(leg, action)

        return transfer

    async def transfer(
        self, leg: TwilioCallLeg, action: Transfer
    ) -> TransferCompleted | TransferFailed | Hangup:
        """Ring the agent into a conference; only once they answer does the debtor leave the bot.

        The agent waits alone in the conference hearing the whisper (the context
        read aloud); moving the debtor with ``calls(sid).update(twiml=<Dial><Conference>)``
        ends our media stream, which is how the bot leaves the call.
        """
        conference = f"xfer-{leg.call_id}"
        agent = self.settings.agent_number
        self.transfer_desk[conference] = action.context
        pending = _PendingTransfer(agent, action.context)
        self._transfers[conference] = pending
        try:
            agent_sid = await self.rest.add_participant(
                conference,
                from_=self.settings.from_number,
                to=agent,
                label="agent",
                timeout=max(5, round(action.timeout_s)),
                status_callback=self._url(f"/twilio/agent/{conference}"),
                status_callback_event=CALL_EVENTS,
                status_callback_method="POST",
                start_conference_on_enter=False,
                end_conference_on_exit=True,
                beep="false",
                wait_url=self._url(f"/twilio/whisper/{conference}"),
                wait_method="POST",
            )
        except TwilioRestException as exc:
            self._transfers.pop(conference, None)
            return TransferFailed(_now(), f"agent_dial_failed:{exc.code}")
        gone = asyncio.ensure_future(leg.gone.wait())
        waiting: list[asyncio.Future[Any]] = [pending.answered, gone]
        try:
            await asyncio.wait(
                waiting,
                timeout=action.timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            gone.cancel()
            self._transfers.pop(conference, None)
        if not pending.answered.done():
            with contextlib.suppress(TwilioRestException):
                await self.rest.update_call(agent_sid, status="canceled")
            if leg.gone.is_set():
                return Hangup(_now())  # the debtor hung up while the agent rang
            return TransferFailed(_now(), "no_agent_answered")
        status = pending.answered.result()
        if status.status not in _ANSWERED:
            return TransferFailed(_now(), f"agent_{status.status}")
        try:
            await self.rest.update_call(leg.call_id, twiml=conference_twiml(conference))
        except TwilioRestException:
            with contextlib.suppress(TwilioRestException):
                await self.rest.update_call(agent_sid, status="completed")
            return Hangup(_now())  # the debtor's call is gone
        return TransferCompleted(_now(), agent=agent)

    # --- inbound -------------------------------------------------------------------

    def answer_incoming(self, handler: IncomingHandler) -> None:
        """Answer calls to the number whose voice webhook is ``/twilio/incoming``."""
        self._incoming_handler = handler

    async def _incoming(self, request: web.Request) -> web.Response:
        """Twilio's incoming-call webhook: the call is answered onto a Media Stream.

        Without a handler (this process answers nothing) the call is rejected as busy, so the
        caller hears a busy tone instead of silence.
        """
        form = await self._signed_form(request)
        if form is None:
            return web.Response(status=403, text="bad X-Twilio-Signature")
        if self._incoming_handler is None:
            return web.Response(text=reject_twiml(), content_type="text/xml")
        key = uuid.uuid4().hex
        self._callers[key] = (form.get("From", ""), form.get("To", ""))
        twiml = connect_stream_twiml(self._url("/twilio/media", websocket=True), {"inbound": key})
        return web.Response(text=twiml, content_type="text/xml")

    def _answer_incoming(
        self, started: StreamStarted, ws: web.WebSocketResponse
    ) -> TwilioCallLeg | None:
        caller = self._callers.pop(started.custom_parameters.get("inbound", ""), None)
        handler = self._incoming_handler
        if caller is None or handler is None:
            log.warning("media stream for no incoming call: call %s", started.call_sid)
            return None
        leg = TwilioCallLeg(started, ws, self.rest, None)
        leg.screened = True  # a person called us: no machine to screen for
        self._legs[leg.call_id] = leg
        task = asyncio.create_task(handler(IncomingCall(leg, caller[0], caller[1])))
        self._late_tasks.add(task)
        task.add_done_callback(self._late_tasks.discard)
        return leg

    # --- webhooks ------------------------------------------------------------------

    async def _signed_form(self, request: web.Request) -> dict[str, str] | None:
        """The webhook's fields if ``X-Twilio-Signature`` holds, else None.

        Checked exactly as Twilio signs: over the URL as requested (``%2F`` stays
        encoded), every value of a repeated key, and for a JSON body (``bodySHA256``
        in the query) the SHA-256 of the raw body.
        """
        signature = request.headers.get("X-Twilio-Signature", "")
        url = self._url(request.raw_path)
        form: dict[str, str] = {}
        if "bodySHA256" in request.query:
            raw = await request.text()
            valid = self.validator.validate(url, raw, signature)
            with contextlib.suppress(ValueError):
                parsed = json.loads(raw) if valid else {}
                if isinstance(parsed, dict):
                    form = {str(k): str(v) for k, v in parsed.items()}
        else:
            params = await request.post()
            valid = self.validator.validate(url, params, signature)
            for key, value in params.items():
                form.setdefault(key, str(value))  # the first of repeated keys
        if not valid:
            self.rejected_webhooks += 1
            log.warning("rejected unsigned Twilio webhook %s", request.path)
            return None
        return form

    async def _status(self, request: web.Request) -> web.Response:
        form = await self._signed_form(request)
        if form is None:
            return web.Response(status=403, text="bad X-Twilio-Signature")
        try:
            status = parse_status_callback(form)
        except WireError as exc:
            return web.Response(status=400, text=str(exc))
        pending = self._dials.get(request.match_info["attempt"])
        failure = status.failure
        if pending is not None:
            pending.last_status = status.status
        if pending is not None and not pending.answered.done():
            if failure is not None:
                pending.answered.set_result(DialFailure(failure, status.sip_code, status.status))
            elif status.status == "completed":  # ended without ever streaming
                pending.answered.set_result(DialFailure(Disposition.DROP, None, "completed"))
        return web.Response(status=204)

    async def _amd(self, request: web.Request) -> web.Response:
        form = await self._signed_form(request)
        if form is None:
            return web.Response(status=403, text="bad X-Twilio-Signature")
        answered_by = form.get("AnsweredBy", "")
        leg = self._legs.get(form.get("CallSid", ""))
        pending = self._dials.get(request.match_info["attempt"])
        if leg is not None:
            leg.machine_verdict(answered_by)
            late = answered_by.startswith("machine") or answered_by == "fax"
            if late and leg.screened and not leg.late_verdict and not leg.gone.is_set():
                leg.late_verdict = answered_by
                task = asyncio.create_task(self._late_machine(leg, answered_by))
                self._late_tasks.add(task)
                task.add_done_callback(self._late_tasks.discard)
        elif pending is not None:
            pending.answered_by = answered_by
        return web.Response(status=204)

    async def _agent_status(self, request: web.Request) -> web.Response:
        form = await self._signed_form(request)
        if form is None:
            return web.Response(status=403, text="bad X-Twilio-Signature")
        pending = self._transfers.get(request.match_info["conference"])
        try:
            status = parse_status_callback(form)
        except WireError as exc:
            return web.Response(status=400, text=str(exc))
        settled = status.status in _ANSWERED or status.status in _UNANSWERED
        if pending is not None and not pending.answered.done() and settled:
            pending.answered.set_result(status)
        return web.Response(status=204)

    async def _whisper(self, request: web.Request) -> web.Response:
        if await self._signed_form(request) is None:
            return web.Response(status=403, text="bad X-Twilio-Signature")
        context = self.transfer_desk.get(request.match_info["conference"])
        if context is None:
            return web.Response(status=404, text="no such transfer")
        text = ". ".join(p for p in (context.reason, context.debtor_name, context.summary) if p)
        return web.Response(text=whisper_twiml(text), content_type="text/xml")

    async def _media(self, request: web.Request) -> web.StreamResponse:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not self.validator.validate(self._url(request.raw_path, websocket=True), {}, signature):
            self.rejected_webhooks += 1
            return web.Response(status=403, text="bad X-Twilio-Signature")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        answered: list[TwilioCallLeg] = []
        try:
            await self._pump(ws, answered)
        finally:
            # However the socket ended, the dialog hears a hangup instead of waiting forever.
            for leg in answered:
                self._legs.pop(leg.call_id, None)
                leg.far_end_gone()
        return ws

    async def _pump(self, ws: web.WebSocketResponse, answered: list[TwilioCallLeg]) -> None:
        leg: TwilioCallLeg | None = None
        async for message in ws:
            if message.type is not WSMsgType.TEXT:
                continue
            try:
                event = parse_message(message.data)
            except WireError as exc:
                log.warning("skipped a Media Streams message: %s", exc)
                continue
            match event:
                case StreamStarted() if leg is None:
                    leg = self._answer(event, ws)
                    if leg is None:
                        await ws.close()
                        break
                    answered.append(leg)
                case MediaReceived() | DtmfReceived() | MarkPlayed() if leg is not None:
                    leg.deliver(event)
                case StreamStopped():
                    break

    def _answer(self, started: StreamStarted, ws: web.WebSocketResponse) -> TwilioCallLeg | None:
        if "inbound" in started.custom_parameters:
            return self._answer_incoming(started, ws)
        pending = self._dials.get(started.custom_parameters.get("attempt", ""))
        if pending is None or pending.answered.done():
            log.warning("media stream for no pending dial: call %s", started.call_sid)
            return None
        amd = AnsweringMachineDetector() if self.settings.local_amd else None
        leg = TwilioCallLeg(started, ws, self.rest, amd)
        self._legs[leg.call_id] = leg
        pending.answered.set_result(leg)
        return leg
