"""Twilio's incoming-call webhook and the inbound Media Streams leg, against the loopback stand-in.

The webhook is checked against ``X-Twilio-Signature`` like every other; a valid one is answered
with ``<Connect><Stream>`` back to ``/twilio/media``, and the stream Twilio then opens becomes a
leg handed to the inbound handler (not to a pending dial).
"""

from __future__ import annotations

import asyncio
from xml.etree import ElementTree

import aiohttp
import numpy as np
from test_twilio_carrier import ACCOUNT, FROM, Callee, Harness, espeak, run

from voicebot.audio.codec import pcm_to_ulaw, ulaw_to_pcm
from voicebot.telephony.carrier import DigitIn, FarEndHangup, IncomingCall, LineInput
from voicebot.telephony.twilio import TwilioCallLeg

CALLER = "+573104445566"


def incoming_form(sid: str) -> dict[str, str]:
    """The documented body of Twilio's voice webhook for a call to our number."""
    return {
        "AccountSid": ACCOUNT,
        "ApiVersion": "2010-04-01",
        "CallSid": sid,
        "CallStatus": "ringing",
        "Called": FROM,
        "Caller": CALLER,
        "Direction": "inbound",
        "From": CALLER,
        "FromCountry": "CO",
        "To": FROM,
        "ToCountry": "CO",
    }


async def post_incoming(h: Harness, form: dict[str, str], *, sign: bool = True) -> tuple[int, str]:
    url = f"{h.base_url}/twilio/incoming"
    signature = h.twilio.validator.compute_signature(url, form) if sign else "forged"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=form, headers={"X-Twilio-Signature": signature}) as resp,
    ):
        return resp.status, await resp.text()


def test_a_forged_incoming_call_is_refused() -> None:
    async def body(h: Harness) -> None:
        h.carrier.answer_incoming(lambda call: asyncio.sleep(0))
        status, text = await post_incoming(h, incoming_form("CA" + "1" * 32), sign=False)
        assert status == 403 and "Signature" in text
        assert h.carrier.rejected_webhooks == 1

    run(body)


def test_without_a_listener_the_call_is_rejected_as_busy() -> None:
    async def body(h: Harness) -> None:
        status, text = await post_incoming(h, incoming_form("CA" + "2" * 32))
        assert status == 200
        assert ElementTree.fromstring(text).find("./Reject").get("reason") == "busy"  # type: ignore[union-attr]

    run(body)


def test_an_incoming_call_is_answered_onto_a_media_stream_handed_to_the_listener() -> None:
    greeting = espeak("Gracias por comunicarse.")
    handled: list[IncomingCall] = []
    heard: list[LineInput] = []

    async def listener(call: IncomingCall) -> None:
        handled.append(call)
        await call.leg.send_audio(greeting)
        assert isinstance(call.leg, TwilioCallLeg)
        assert await call.leg.wait_played(10.0)
        while True:
            item = await call.leg.receive()
            if isinstance(item, DigitIn | FarEndHangup):
                heard.append(item)
            if isinstance(item, FarEndHangup) or len(heard) == 3:
                break
        await call.leg.hangup()  # through REST: the stand-in then stops the stream

    async def body(h: Harness) -> None:
        h.carrier.answer_incoming(listener)
        sid = "CA" + "3" * 32
        status, text = await post_incoming(h, incoming_form(sid))
        assert status == 200
        stream = ElementTree.fromstring(text).find("./Connect/Stream")
        assert stream is not None
        url = stream.get("url", "")
        assert url == h.base_url.replace("http://", "ws://") + "/twilio/media"
        params = {p.get("name", ""): p.get("value", "") for p in stream.findall("Parameter")}
        assert set(params) == {"inbound"}  # an opaque key: no caller data in the TwiML
        stop = h.twilio._stop_stream.setdefault(sid, asyncio.Event())
        await h.twilio._stream(sid, url, params, Callee(presses="79#"), stop)
        peer = h.twilio.peers[sid]
        assert np.array_equal(peer.audio(), ulaw_to_pcm(pcm_to_ulaw(greeting)))
        updates = [r for r in h.twilio.requests if r[1].endswith(f"/Calls/{sid}.json")]
        assert updates and updates[-1][2]["Status"] == ["completed"]

    run(body)
    assert [(c.caller_id, c.called, c.leg.call_id) for c in handled] == [
        (CALLER, FROM, "CA" + "3" * 32)
    ]
    assert heard == [DigitIn("7"), DigitIn("9"), DigitIn("#")]


def test_a_stream_whose_key_was_never_issued_is_closed() -> None:
    handled: list[IncomingCall] = []

    async def listener(call: IncomingCall) -> None:
        handled.append(call)

    async def body(h: Harness) -> None:
        h.carrier.answer_incoming(listener)
        sid = "CA" + "4" * 32
        url = h.base_url.replace("http://", "ws://") + "/twilio/media"
        stop = asyncio.Event()
        stop.set()
        await h.twilio._stream(sid, url, {"inbound": "not-issued"}, Callee(), stop)

    run(body)
    assert handled == []
