"""The Twilio carrier against a Twilio stand-in on loopback that speaks the documented wire formats.

``FakeTwilio`` is an HTTP server on 127.0.0.1 that receives the REST requests
the official client sends (checked: method, path, Basic auth, form fields) and
answers with the documented JSON; then it behaves like Twilio's cloud: signed
status callbacks to our server, and a real websocket client speaking Media
Streams (connected/start/media/dtmf/stop, echoing marks) to our ``/twilio/media``.
Only Twilio's unreachable cloud is stood in for; our server, the official
``twilio`` client and the websockets are all real.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import shutil
import subprocess
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import aiohttp
import numpy as np
import pytest
import websockets
from aiohttp import web
from multidict import MultiDict
from twilio.request_validator import RequestValidator
from yarl import URL

from voicebot.actions import Transfer, TransferContext
from voicebot.audio.codec import pcm_to_ulaw, ulaw_to_pcm
from voicebot.audio.wav import decode_wav, read_wav
from voicebot.domain.outcome import Disposition
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm
from voicebot.events import Hangup, TransferCompleted, TransferFailed
from voicebot.telephony.amd import MachineAction, late_verdict_disposition
from voicebot.telephony.carrier import AudioIn, DialFailure, DigitIn, FarEndHangup
from voicebot.telephony.twilio import TwilioCallLeg, TwilioCarrier, TwilioSettings

ACCOUNT = "AC25e16e9a716a4a1786a7c83f58e30482"
TOKEN = "12345678901234567890123456789012"
FROM = "+573001112233"
AGENT = "+573009998877"
SOUNDS = Path("/usr/share/asterisk/sounds/es")
CALLBACK_BODY = {
    k: v
    for k, v in json.loads(
        (Path(__file__).parent / "fixtures" / "twilio_callbacks.json").read_text()
    )["status_completed"].items()
    if k not in {"SipResponseCode", "CallDuration", "Duration"}
}
FIXTURE_START = json.loads(
    (Path(__file__).parent / "fixtures" / "twilio_media_streams.json").read_text()
)["messages"]["start"]

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")


def espeak(text: str) -> Pcm:
    wav = subprocess.run(
        ["espeak-ng", "-v", "es-419", "--stdout", text], capture_output=True, check=True
    ).stdout
    return decode_wav(wav, LINE_RATE)[0]


def silence(seconds: float) -> Pcm:
    return np.zeros(int(LINE_RATE * seconds), dtype=np.int16)


# --- the Twilio stand-in -----------------------------------------------------------------


@dataclass
class Callee:
    """How the dialed party behaves."""

    status: str = "in-progress"  # or busy / no-answer / failed: never answers
    sip_code: str = ""
    answered_by: str = "human"  # posted to the async AMD callback ("" = never)
    says: Pcm = field(default_factory=lambda: np.zeros(0, dtype=np.int16))
    presses: str = ""
    hang_up_after_s: float | None = None  # the far end sends stop after this long
    forge_busy_first: bool = False  # an unsigned "busy" webhook before the real events
    no_stream: bool = False  # answers, but Twilio never reaches our websocket
    garbage: bool = False  # malformed messages in the middle of the media
    chunk_bytes: int = FRAME_SAMPLES  # μ-law bytes per media message


@dataclass
class Peer:
    """What the far end heard on the media stream."""

    stream_sid: str
    received: list[dict[str, Any]] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)

    def audio(self) -> Pcm:
        chunks = [
            ulaw_to_pcm(base64.b64decode(m["media"]["payload"]))
            for m in self.received
            if m["event"] == "media"
        ]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    def events(self) -> list[str]:
        return [m["event"] for m in self.received]


class FakeTwilio:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, list[str]], str | None]] = []
        self.callees: dict[str, Callee] = {}
        self.agent: Callee = Callee()
        self.peers: dict[str, Peer] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.validator = RequestValidator(TOKEN)
        self._calls = 0
        self._stop_stream: dict[str, asyncio.Event] = {}
        self.app = web.Application()
        base = f"/2010-04-01/Accounts/{ACCOUNT}"
        self.app.add_routes(
            [
                web.post(base + "/Calls.json", self._create_call),
                web.post(base + "/Calls/{sid}.json", self._update_call),
                web.post(base + "/Conferences/{name}/Participants.json", self._participant),
            ]
        )

    async def _record(self, request: web.Request) -> dict[str, list[str]]:
        form: dict[str, list[str]] = {}
        for key, value in (await request.post()).items():
            form.setdefault(key, []).append(str(value))
        auth = request.headers.get("Authorization")
        self.requests.append((request.method, request.path, form, auth))
        return form

    def _authorized(self, auth: str | None) -> bool:
        expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
        return auth == f"Basic {expected}"

    def _call_json(self, sid: str, to: str, status: str) -> dict[str, Any]:
        # The documented Call resource, trimmed to the fields that matter here.
        return {
            "account_sid": ACCOUNT,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": "Tue, 31 Aug 2010 20:36:28 +0000",
            "date_updated": "Tue, 31 Aug 2010 20:36:44 +0000",
            "direction": "outbound-api",
            "duration": "0",
            "from": FROM,
            "from_formatted": FROM,
            "parent_call_sid": None,
            "price": None,
            "sid": sid,
            "status": status,
            "to": to,
            "to_formatted": to,
            "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{sid}.json",
        }

    async def _create_call(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        if not self._authorized(self.requests[-1][3]):
            return web.json_response({"code": 20003, "message": "Authenticate"}, status=401)
        to = form["To"][0]
        if to not in self.callees:
            error = {
                "code": 21211,
                "message": f"The 'To' number {to} is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": 400,
            }
            return web.json_response(error, status=400)
        self._calls += 1
        sid = f"CA{self._calls:032x}"
        callee = self.callees[to]
        self.tasks.append(asyncio.create_task(self._run_call(sid, form, callee)))
        return web.json_response(self._call_json(sid, to, "queued"), status=201)

    async def _update_call(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        sid = request.match_info["sid"]
        # Updating a call (new TwiML or an end status) ends its <Connect><Stream>.
        if sid in self._stop_stream:
            self._stop_stream[sid].set()
        return web.json_response(self._call_json(sid, "", form.get("Status", ["in-progress"])[0]))

    async def _participant(self, request: web.Request) -> web.Response:
        form = await self._record(request)
        self._calls += 1
        sid = f"CA{self._calls:032x}"
        self.tasks.append(asyncio.create_task(self._run_agent(sid, form)))
        body = {
            "account_sid": ACCOUNT,
            "call_sid": sid,
            "label": form.get("Label", [None])[0],
            "coaching": False,
            "conference_sid": "CFbbe46ff1274e283f7e3ac1df0072ab39",
            "end_conference_on_exit": form["EndConferenceOnExit"][0] == "true",
            "muted": False,
            "hold": False,
            "start_conference_on_enter": form["StartConferenceOnEnter"][0] == "true",
            "status": "queued",
            "uri": f"/2010-04-01/Accounts/{ACCOUNT}/Conferences/"
            f"{request.match_info['name']}/Participants/{sid}.json",
        }
        return web.json_response(body, status=201)

    async def post_signed(self, url: str, params: dict[str, str], *, sign: bool = True) -> int:
        signature = self.validator.compute_signature(url, params) if sign else "forged"
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=params, headers={"X-Twilio-Signature": signature}) as resp,
        ):
            return resp.status

    async def _callbacks(
        self, url: str, sid: str, statuses: list[str], extra: dict[str, str]
    ) -> None:
        for status in statuses:
            # The full documented body, so signatures are checked over every field Twilio sends.
            params = {**CALLBACK_BODY, "CallSid": sid, "CallStatus": status, **extra}
            await self.post_signed(url, params)

    async def _run_call(self, sid: str, form: dict[str, list[str]], callee: Callee) -> None:
        status_url = form["StatusCallback"][0]
        if callee.forge_busy_first:
            forged = {"CallSid": sid, "AccountSid": ACCOUNT, "CallStatus": "busy"}
            assert await self.post_signed(status_url, forged, sign=False) == 403
        await self._callbacks(status_url, sid, ["initiated", "ringing"], {})
        if callee.status == "ringing forever":
            return
        if callee.status != "in-progress":
            extra = {"SipResponseCode": callee.sip_code} if callee.sip_code else {}
            await self._callbacks(status_url, sid, [callee.status], extra)
            return
        await self._callbacks(status_url, sid, ["in-progress"], {})
        if callee.no_stream:
            return
        stream = ElementTree.fromstring(form["Twiml"][0]).find("./Connect/Stream")
        assert stream is not None
        params = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
        stop = self._stop_stream.setdefault(sid, asyncio.Event())
        await self._stream(sid, stream.get("url", ""), params, callee, stop)
        await self._callbacks(status_url, sid, ["completed"], {})

    async def _stream(
        self, sid: str, url: str, params: dict[str, str], callee: Callee, stop: asyncio.Event
    ) -> None:
        stream_sid = f"MZ{sid[2:]}"
        peer = self.peers[sid] = Peer(stream_sid)
        headers = {"X-Twilio-Signature": self.validator.compute_signature(url, {})}
        async with websockets.connect(url, additional_headers=headers) as ws:
            send = ws.send
            await send(json.dumps({"event": "connected", "protocol": "Call", "version": "1.0.0"}))
            start = {
                "accountSid": ACCOUNT,
                "streamSid": stream_sid,
                "callSid": sid,
                "tracks": ["inbound"],
                "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
                "customParameters": params,
            }
            seq = 1
            await send(json.dumps({"event": "start", "sequenceNumber": str(seq), "start": start}))
            reader = asyncio.create_task(self._read(ws, peer))
            if callee.answered_by and "AsyncAmdStatusCallback" in self._form_of(sid):
                amd = {"CallSid": sid, "AccountSid": ACCOUNT, "AnsweredBy": callee.answered_by}
                amd_url = self._form_of(sid)["AsyncAmdStatusCallback"][0]
                self.tasks.append(asyncio.create_task(self._post_quietly(amd_url, amd)))
            codes = pcm_to_ulaw(callee.says).tobytes()
            size = callee.chunk_bytes
            for chunk, offset in enumerate(range(0, len(codes), size), start=1):
                seq += 1
                media = {
                    "track": "inbound",
                    "chunk": str(chunk),
                    "timestamp": str(offset // 8),
                    "payload": base64.b64encode(codes[offset : offset + size]).decode(),
                }
                await send(
                    json.dumps(
                        {
                            "event": "media",
                            "sequenceNumber": str(seq),
                            "media": media,
                            "streamSid": stream_sid,
                        }
                    )
                )
                if chunk % 10 == 0:
                    await asyncio.sleep(0.005)
                if callee.garbage and chunk == 5:
                    await send("{not json")
                    await send(json.dumps({"event": "media", "media": {"payload": "%%"}}))
                    await send(
                        json.dumps({"event": "brand-new-event"})
                    )  # a little pacing: Twilio sends every 20 ms
            for digit in callee.presses:
                seq += 1
                dtmf = {"track": "inbound_track", "digit": digit}
                await send(
                    json.dumps(
                        {
                            "event": "dtmf",
                            "streamSid": stream_sid,
                            "sequenceNumber": str(seq),
                            "dtmf": dtmf,
                        }
                    )
                )
            wait = callee.hang_up_after_s
            if wait is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), wait)
            else:
                await stop.wait()
            seq += 1
            stopped = {"accountSid": ACCOUNT, "callSid": sid}
            await send(
                json.dumps(
                    {
                        "event": "stop",
                        "sequenceNumber": str(seq),
                        "streamSid": stream_sid,
                        "stop": stopped,
                    }
                )
            )
            await ws.close()
            await reader
        peer.closed.set()

    async def _post_quietly(self, url: str, params: dict[str, str]) -> None:
        await self.post_signed(url, params)

    def _form_of(self, sid: str) -> dict[str, list[str]]:
        number = int(sid[2:], 16)
        creates = [r for r in self.requests if r[1].endswith("/Calls.json")]
        return creates[number - 1][2] if number <= len(creates) else {}

    async def _read(self, ws: Any, peer: Peer) -> None:
        pending_marks: list[str] = []
        try:
            async for raw in ws:
                message = json.loads(raw)
                peer.received.append(message)
                if message["event"] == "mark":
                    pending_marks.append(message["mark"]["name"])
                if message["event"] in {"mark", "clear"}:
                    # Played (or cleared): Twilio echoes each pending mark back.
                    for name in pending_marks:
                        echo = {
                            "event": "mark",
                            "sequenceNumber": "0",
                            "streamSid": peer.stream_sid,
                            "mark": {"name": name},
                        }
                        await ws.send(json.dumps(echo))
                    pending_marks.clear()
        except websockets.ConnectionClosed:
            pass

    async def _run_agent(self, sid: str, form: dict[str, list[str]]) -> None:
        url = form["StatusCallback"][0]
        await self._callbacks(url, sid, ["initiated", "ringing"], {})
        if self.agent.status == "ringing forever":
            return
        await self._callbacks(url, sid, [self.agent.status], {})


@dataclass
class Harness:
    twilio: FakeTwilio
    carrier: TwilioCarrier
    base_url: str


async def _with_harness(
    body: Callable[[Harness], Awaitable[None]],
    fake: FakeTwilio | None = None,
    timeout_s: float = 30.0,
    voicemail: Callable[[], Awaitable[Pcm]] | None = None,
    **settings: Any,
) -> None:
    fake = fake or FakeTwilio()
    fake_runner = web.AppRunner(fake.app)
    await fake_runner.setup()
    fake_site = web.TCPSite(fake_runner, "127.0.0.1", 0)
    await fake_site.start()
    fake_port = fake_runner.addresses[0][1]

    # Our server must know its public URL before it listens: bind first, then build.
    probe = web.AppRunner(web.Application())
    await probe.setup()
    site = web.TCPSite(probe, "127.0.0.1", 0)
    await site.start()
    port = probe.addresses[0][1]
    await probe.cleanup()

    config = {"machine_detection": True, "local_amd": False, "amd_wait_s": 2.0} | settings
    carrier = TwilioCarrier(
        TwilioSettings(
            account_sid=ACCOUNT,
            auth_token=TOKEN,
            from_number=FROM,
            public_base_url=f"http://127.0.0.1:{port}",
            agent_number=AGENT,
            api_base_url=f"http://127.0.0.1:{fake_port}",
            **config,
        ),
        voicemail=voicemail,
    )
    runner = await carrier.start("127.0.0.1", port)
    try:
        harness = Harness(fake, carrier, f"http://127.0.0.1:{port}")
        await asyncio.wait_for(body(harness), timeout_s)
        for task in fake.tasks:
            error = task.exception() if task.done() and not task.cancelled() else None
            if error is not None:
                raise error
    finally:
        for task in fake.tasks:
            task.cancel()
        await asyncio.gather(*fake.tasks, return_exceptions=True)
        await carrier.close()
        await runner.cleanup()
        await fake_runner.cleanup()


def run(
    body: Callable[[Harness], Awaitable[None]],
    fake: FakeTwilio | None = None,
    timeout_s: float = 30.0,
    voicemail: Callable[[], Awaitable[Pcm]] | None = None,
    **settings: Any,
) -> None:
    asyncio.run(_with_harness(body, fake, timeout_s, voicemail, **settings))


async def _collect_audio(leg: TwilioCallLeg, samples: int) -> tuple[Pcm, list[object]]:
    frames: list[Pcm] = []
    others: list[object] = []
    while sum(f.size for f in frames) < samples:
        item = await leg.receive()
        if isinstance(item, AudioIn):
            assert item.frame.size == FRAME_SAMPLES
            frames.append(item.frame)
        else:
            others.append(item)
            if isinstance(item, FarEndHangup):
                break
    return np.concatenate(frames), others


# --- tests -----------------------------------------------------------------------------------


def test_twilio_dial_sends_the_documented_create_call_request() -> None:
    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee(status="busy")
        result = await h.carrier.dial("+573001234567", ring_timeout_s=25)
        assert result == DialFailure(Disposition.BUSY, None, "busy")
        method, path, form, auth = h.twilio.requests[0]
        assert (method, path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json")
        assert h.twilio._authorized(auth)
        assert form["To"] == ["+573001234567"] and form["From"] == [FROM]
        assert form["Timeout"] == ["25"]
        assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]
        assert form["StatusCallbackMethod"] == ["POST"]
        assert form["StatusCallback"][0].startswith(h.base_url + "/twilio/status/")
        assert form["MachineDetection"] == ["Enable"] and form["AsyncAmd"] == ["true"]
        assert form["AsyncAmdStatusCallback"][0].startswith(h.base_url + "/twilio/amd/")
        stream = ElementTree.fromstring(form["Twiml"][0]).find("./Connect/Stream")
        assert stream is not None
        assert stream.get("url") == h.base_url.replace("http", "ws") + "/twilio/media"

    run(body)


@pytest.mark.parametrize(
    ("callee", "expected"),
    [
        (Callee(status="no-answer"), DialFailure(Disposition.NA, None, "no-answer")),
        (Callee(status="failed", sip_code="404"), DialFailure(Disposition.FAIL, 404, "failed")),
        (Callee(status="failed", sip_code="503"), DialFailure(Disposition.NA, 503, "failed")),
        (Callee(status="canceled"), DialFailure(Disposition.NA, None, "canceled")),
    ],
)
def test_twilio_dial_failures_come_from_status_callbacks(
    callee: Callee, expected: DialFailure
) -> None:
    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = callee
        assert await h.carrier.dial("+573001234567") == expected

    run(body)


def test_twilio_rejected_number_is_a_fail_with_twilio_error_code() -> None:
    async def body(h: Harness) -> None:
        result = await h.carrier.dial("+5730")
        assert isinstance(result, DialFailure)
        assert (result.disposition, result.status) == (Disposition.FAIL, 21211)
        assert "not a valid phone number" in result.reason

    run(body)


def test_twilio_forged_webhook_is_refused_and_changes_nothing() -> None:
    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee(forge_busy_first=True, hang_up_after_s=0.2)
        leg = await h.carrier.dial("+573001234567")
        assert isinstance(leg, TwilioCallLeg), leg  # the forged "busy" did not fail the dial
        assert h.carrier.rejected_webhooks == 1
        await leg.hangup()

    run(body)


def test_twilio_media_stream_round_trips_audio_dtmf_clear_and_stop() -> None:
    debtor = np.concatenate([espeak("Aló, sí, con ella habla."), silence(0.5)])
    bot = espeak("Buenos días, le habla el asistente virtual.")

    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee(
            says=debtor, presses="5#", hang_up_after_s=3, garbage=True, chunk_bytes=100
        )
        leg = await h.carrier.dial("+573001234567")
        assert isinstance(leg, TwilioCallLeg), leg
        assert leg.answered_by == "human" and leg.call_id.startswith("CA")
        usable = debtor.size - debtor.size % FRAME_SAMPLES
        heard, others = await _collect_audio(leg, usable)
        assert others == []  # audio first, in order, nothing lost
        # What the debtor said reaches the bot as line PCM, exactly what G.711 carries.
        assert np.array_equal(heard[:usable], ulaw_to_pcm(pcm_to_ulaw(debtor[:usable])))
        assert [await leg.receive(), await leg.receive()] == [DigitIn("5"), DigitIn("#")]

        await leg.send_audio(bot)
        await asyncio.sleep(0.3)
        peer = h.twilio.peers[leg.call_id]
        played = peer.audio()
        assert np.array_equal(played, ulaw_to_pcm(pcm_to_ulaw(bot)))
        media = [m for m in peer.received if m["event"] == "media"]
        assert all(m["streamSid"] == leg.stream_sid for m in media)
        assert peer.events()[-1] == "mark"
        assert leg.marks_played == ["audio-1"]  # Twilio said it was played

        await leg.send_audio(bot)
        leg.clear_audio()  # barge-in before our writer flushed: nothing more is sent
        await asyncio.sleep(0.3)
        assert peer.events()[-1] == "clear"
        assert np.array_equal(peer.audio(), played)  # the queued second prompt never left

        assert await leg.receive() == FarEndHangup()  # the far end stopped the stream
        assert await leg.receive() == FarEndHangup()

    run(body)


def test_twilio_hangup_ends_the_call_through_rest() -> None:
    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee()
        leg = await h.carrier.dial("+573001234567")
        assert isinstance(leg, TwilioCallLeg)
        await leg.hangup()
        await asyncio.wait_for(h.twilio.peers[leg.call_id].closed.wait(), 5)
        method, path, form, _ = h.twilio.requests[-1]
        assert (method, path) == (
            "POST",
            f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{leg.call_id}.json",
        )
        assert form == {"Status": ["completed"]}

    run(body)


def test_twilio_amd_machine_is_voicemail_and_hung_up() -> None:
    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee(answered_by="machine_end_beep")
        result = await h.carrier.dial("+573001234567")
        assert result == DialFailure(Disposition.VM, None, "machine_end_beep")
        assert h.twilio.requests[-1][2] == {"Status": ["completed"]}

    run(body)


@pytest.mark.skipif(not (SOUNDS / "vm-intro.wav").exists(), reason="needs Spanish sounds")
def test_twilio_local_amd_hears_a_voicemail_greeting() -> None:
    greeting = np.concatenate([silence(0.3), read_wav(SOUNDS / "vm-intro.wav", LINE_RATE)])

    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee(says=greeting, answered_by="")
        result = await h.carrier.dial("+573001234567")
        assert result == DialFailure(Disposition.VM, None, "local_amd:long_greeting")
        assert "MachineDetection" not in h.twilio.requests[0][2]

    run(body, machine_detection=False, local_amd=True, amd_wait_s=5.0)


def test_twilio_local_amd_lets_a_person_through() -> None:
    hello = np.concatenate([silence(0.3), espeak("¿Aló?"), silence(2.0)])

    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee(says=hello, answered_by="")
        leg = await h.carrier.dial("+573001234567")
        assert isinstance(leg, TwilioCallLeg), leg
        assert leg.amd is not None and leg.amd.result is not None
        assert leg.amd.result.verdict == "human"
        await leg.hangup()

    run(body, machine_detection=False, local_amd=True, amd_wait_s=5.0)


CONTEXT = TransferContext(
    reason="debtor_asked_for_agent",
    debtor_name="Ana Pérez",
    summary="Promesa parcial rechazada; pide hablar con un asesor.",
    transcript=("bot: ...", "deudora: quiero hablar con una persona"),
)


def test_twilio_warm_transfer_rings_agent_then_moves_debtor_to_conference() -> None:
    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee()
        leg = await h.carrier.dial("+573001234567")
        assert isinstance(leg, TwilioCallLeg)
        transfer = h.carrier.transferrer_for(leg)
        assert transfer is not None
        result = await transfer(Transfer(reason="agent", context=CONTEXT, timeout_s=10))
        assert isinstance(result, TransferCompleted) and result.agent == AGENT

        conference = f"xfer-{leg.call_id}"
        add = next(r for r in h.twilio.requests if r[1].endswith("/Participants.json"))
        assert (
            add[1] == f"/2010-04-01/Accounts/{ACCOUNT}/Conferences/{conference}/Participants.json"
        )
        form = add[2]
        assert (form["From"], form["To"], form["Label"]) == ([FROM], [AGENT], ["agent"])
        assert form["StartConferenceOnEnter"] == ["false"]
        assert form["EndConferenceOnExit"] == ["true"]
        assert form["Timeout"] == ["10"]
        assert form["StatusCallback"] == [f"{h.base_url}/twilio/agent/{conference}"]

        # The agent hears the context while waiting (Twilio fetches the wait URL, signed).
        whisper_url = form["WaitUrl"][0]
        signature = h.twilio.validator.compute_signature(whisper_url, {"CallSid": "CA1"})
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                whisper_url, data={"CallSid": "CA1"}, headers={"X-Twilio-Signature": signature}
            ) as resp,
        ):
            say = ElementTree.fromstring(await resp.text()).find("Say")
        assert say is not None and say.text is not None
        assert "Ana Pérez" in say.text and "asesor" in say.text
        assert h.carrier.transfer_desk[conference] == CONTEXT

        # Only after the agent answered is the debtor's call moved into the conference.
        update = h.twilio.requests[-1]
        assert update[1] == f"/2010-04-01/Accounts/{ACCOUNT}/Calls/{leg.call_id}.json"
        dial = ElementTree.fromstring(update[2]["Twiml"][0]).find("./Dial/Conference")
        assert dial is not None and dial.text == conference
        # Updating the call ended our media stream: the bot has left.
        while not isinstance(await leg.receive(), FarEndHangup):
            pass

    run(body)


@pytest.mark.parametrize(
    ("agent_status", "reason"),
    [
        ("ringing forever", "no_agent_answered"),
        ("busy", "agent_busy"),
        ("no-answer", "agent_no-answer"),
    ],
)
def test_twilio_warm_transfer_failure_keeps_the_debtor_with_the_bot(
    agent_status: str, reason: str
) -> None:
    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee()
        h.twilio.agent = Callee(status=agent_status)
        leg = await h.carrier.dial("+573001234567")
        assert isinstance(leg, TwilioCallLeg)
        result = await h.carrier.transfer(
            leg, Transfer(reason="agent", context=CONTEXT, timeout_s=1.0)
        )
        assert isinstance(result, TransferFailed) and result.reason == reason
        debtor_updates = [r for r in h.twilio.requests if r[1].endswith(f"{leg.call_id}.json")]
        assert debtor_updates == []  # never moved: still talking to the bot
        if agent_status == "ringing forever":
            assert h.twilio.requests[-1][2] == {"Status": ["canceled"]}  # stop ringing the agent
        await leg.send_audio(silence(0.1))  # the stream is still up
        await leg.hangup()

    run(body)


def test_twilio_debtor_hanging_up_while_the_agent_rings_ends_the_transfer() -> None:
    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee(hang_up_after_s=0.5)
        h.twilio.agent = Callee(status="ringing forever")
        leg = await h.carrier.dial("+573001234567")
        assert isinstance(leg, TwilioCallLeg)
        started = asyncio.get_running_loop().time()
        result = await h.carrier.transfer(
            leg, Transfer(reason="agent", context=CONTEXT, timeout_s=20.0)
        )
        assert isinstance(result, Hangup)
        assert asyncio.get_running_loop().time() - started < 5  # did not wait for the timeout
        assert h.twilio.requests[-1][2] == {"Status": ["canceled"]}  # agent stops ringing

    run(body)


def test_twilio_unreachable_api_is_a_fail_not_a_crash() -> None:
    async def body(h: Harness) -> None:
        carrier = TwilioCarrier(
            TwilioSettings(
                account_sid=ACCOUNT,
                auth_token=TOKEN,
                from_number=FROM,
                public_base_url=h.base_url,
                api_base_url="http://127.0.0.1:9",  # discard port: nothing listens
            )
        )
        result = await carrier.dial("+573001234567")
        await carrier.close()
        assert isinstance(result, DialFailure) and result.disposition is Disposition.FAIL
        assert "twilio api" in result.reason

    run(body)


@pytest.mark.parametrize(
    ("callee", "expected", "ended_with"),
    [
        (
            Callee(status="ringing forever"),
            DialFailure(Disposition.NA, None, "no media stream before the ring timeout"),
            "canceled",
        ),
        (
            Callee(no_stream=True),
            DialFailure(Disposition.FAIL, None, "answered but no media stream"),
            "completed",
        ),
    ],
)
def test_twilio_dial_gives_up_and_ends_the_call_it_placed(
    callee: Callee, expected: DialFailure, ended_with: str
) -> None:
    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = callee
        assert await h.carrier.dial("+573001234567", ring_timeout_s=0.5) == expected
        _method, path, form, _auth = h.twilio.requests[-1]
        assert path.endswith(f"/Calls/CA{1:032x}.json")
        assert form == {"Status": [ended_with]}

    run(body, answer_grace_s=0.5)


def test_twilio_media_socket_refuses_unsigned_and_unknown_streams() -> None:
    async def body(h: Harness) -> None:
        url = h.base_url.replace("http", "ws") + "/twilio/media"
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url, additional_headers={"X-Twilio-Signature": "x"}):
                pass
        assert refused.value.response.status_code == 403
        signed = {"X-Twilio-Signature": h.twilio.validator.compute_signature(url, {})}
        async with websockets.connect(url, additional_headers=signed) as ws:
            start = json.loads(json.dumps(FIXTURE_START))
            start["start"]["customParameters"] = {"attempt": "nobody-dialed-this"}
            await ws.send(json.dumps(start))
            await asyncio.wait_for(ws.wait_closed(), 5)  # a stream no dial waits for is closed
        assert h.carrier.rejected_webhooks == 1

    run(body)


# A limited-content message: a name, a company name that does not reveal collection, a number.
MESSAGE_TEXT = "Hola, le llama Laura de Servicios Andinos. Por favor llámenos al 601 555 0100."


@pytest.mark.skipif(not (SOUNDS / "vm-intro.wav").exists(), reason="needs Spanish sounds")
def test_twilio_leaves_the_message_after_the_beep_then_hangs_up() -> None:
    tone = (8000 * np.sin(2 * np.pi * 1000 * np.arange(4000) / LINE_RATE)).astype(np.int16)
    greeting = np.concatenate(
        [silence(0.3), read_wav(SOUNDS / "vm-intro.wav", LINE_RATE), tone, silence(1.0)]
    )
    message = espeak(MESSAGE_TEXT)

    async def render() -> Pcm:
        return message

    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee(says=greeting, answered_by="")
        result = await h.carrier.dial("+573001234567")
        assert result == DialFailure(Disposition.VM, None, "local_amd:long_greeting;message_left")
        sid = f"CA{1:032x}"
        assert np.array_equal(h.twilio.peers[sid].audio(), ulaw_to_pcm(pcm_to_ulaw(message)))
        assert h.twilio.requests[-1][2] == {"Status": ["completed"]}  # hung up once played

    run(
        body,
        voicemail=render,
        machine_detection=False,
        local_amd=True,
        amd_wait_s=5.0,
        on_machine=MachineAction.LEAVE_MESSAGE,
    )


def test_twilio_machine_end_verdict_leaves_the_message_at_once() -> None:
    message = espeak(MESSAGE_TEXT)

    async def render() -> Pcm:
        return message

    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee(answered_by="machine_end_silence")
        result = await h.carrier.dial("+573001234567")
        assert result == DialFailure(Disposition.VM, None, "machine_end_silence;message_left")
        played = h.twilio.peers[f"CA{1:032x}"].audio()
        assert played.size == message.size

    run(body, voicemail=render, on_machine=MachineAction.LEAVE_MESSAGE)


def test_twilio_leave_message_policy_without_a_renderer_hands_the_leg_to_the_dialog() -> None:
    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee(answered_by="machine_start")
        leg = await h.carrier.dial("+573001234567")
        assert isinstance(leg, TwilioCallLeg) and leg.answered_by == "machine_start"
        await leg.hangup()

    run(body, on_machine=MachineAction.LEAVE_MESSAGE)


async def _post_raw(url: str, body: Any, signature: str, content_type: str | None = None) -> int:
    """POST exactly this URL (``encoded=True``: no re-quoting) and body, as Twilio would."""
    headers = {"X-Twilio-Signature": signature}
    if content_type:
        headers["Content-Type"] = content_type
    async with (
        aiohttp.ClientSession() as session,
        session.post(URL(url, encoded=True), data=body, headers=headers) as resp,
    ):
        return resp.status


def test_twilio_signature_covers_the_url_as_requested_and_repeated_keys() -> None:
    async def body(h: Harness) -> None:
        # Twilio signs the URL it requested: an encoded %2F must not be decoded first.
        url = f"{h.base_url}/twilio/amd/nobody?next=%2Fcall%2F1&x=a%20b"
        params = MultiDict([("CallSid", "CA1"), ("Tag", "b"), ("Tag", "a")])
        signature = h.twilio.validator.compute_signature(url, params)
        assert await _post_raw(url, params, signature) == 204
        # Every value of a repeated key is signed; dropping one breaks the signature.
        assert await _post_raw(url, MultiDict([("CallSid", "CA1"), ("Tag", "b")]), signature) == 403
        assert h.carrier.rejected_webhooks == 1

    run(body)


def test_twilio_json_webhook_is_checked_against_its_raw_body() -> None:
    async def body(h: Harness) -> None:
        genuine = json.dumps({"CallSid": "CA1", "AnsweredBy": "human"})
        digest = hashlib.sha256(genuine.encode()).hexdigest()
        url = f"{h.base_url}/twilio/amd/nobody?bodySHA256={digest}"
        signature = h.twilio.validator.compute_signature(url, {})
        assert await _post_raw(url, genuine, signature, "application/json") == 204
        tampered = json.dumps({"CallSid": "CA1", "AnsweredBy": "machine_end_beep"})
        assert await _post_raw(url, tampered, signature, "application/json") == 403
        assert h.carrier.rejected_webhooks == 1

    run(body)


def test_twilio_fax_is_a_failure_not_a_person() -> None:
    async def body(h: Harness) -> None:
        h.twilio.callees["+573001234567"] = Callee(answered_by="fax")
        result = await h.carrier.dial("+573001234567")
        assert result == DialFailure(Disposition.FAIL, None, "fax")
        assert h.twilio.requests[-1][2] == {"Status": ["completed"]}

    run(body)


async def _late_verdict(h: Harness, verdict: str) -> TwilioCallLeg:
    """Dial a callee whose AMD verdict comes only after the leg went to the dialog, then post it."""
    h.twilio.callees["+573001234567"] = Callee(answered_by="", hang_up_after_s=30.0)
    leg = await h.carrier.dial("+573001234567")
    assert isinstance(leg, TwilioCallLeg) and leg.screened, leg
    sid = leg.call_id
    amd_url = h.twilio._form_of(sid)["AsyncAmdStatusCallback"][0]
    late = {"CallSid": sid, "AccountSid": ACCOUNT, "AnsweredBy": verdict}
    assert await h.twilio.post_signed(amd_url, late) == 204
    while not isinstance(await leg.receive(), FarEndHangup):
        pass  # what the dialog would read until the carrier ends the call
    return leg


def test_twilio_late_machine_verdict_still_hangs_up() -> None:
    """A machine found after the AMD wait was stored and never read: the dialog went on."""

    async def body(h: Harness) -> None:
        leg = await _late_verdict(h, "machine_start")
        assert leg.late_verdict == "machine_start"
        assert h.twilio.requests[-1][2] == {"Status": ["completed"]}
        assert late_verdict_disposition(leg.late_verdict) is Disposition.VM

    run(body, local_amd=False)


def test_twilio_late_machine_end_gets_the_message_and_the_dialog_is_silenced() -> None:
    message = espeak(MESSAGE_TEXT)

    async def render() -> Pcm:
        return message

    async def body(h: Harness) -> None:
        leg = await _late_verdict(h, "machine_end_beep")
        assert leg.late_verdict == "machine_end_beep;message_left"
        await leg.send_audio(message[:800])  # the dialog talking on: dropped
        assert h.twilio.peers[leg.call_id].audio().size == message.size
        assert h.twilio.requests[-1][2] == {"Status": ["completed"]}
        create = next(r for r in h.twilio.requests if r[1].endswith("/Calls.json"))
        assert create[2]["MachineDetection"] == ["DetectMessageEnd"]

    run(body, voicemail=render, local_amd=False, on_machine=MachineAction.LEAVE_MESSAGE)


def test_twilio_late_fax_is_a_failure() -> None:
    assert late_verdict_disposition("fax") is Disposition.FAIL
    assert late_verdict_disposition("") is None
