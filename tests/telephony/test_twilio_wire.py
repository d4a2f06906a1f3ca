"""The pure Twilio wire module against recorded Media Streams messages, TwiML and status callbacks."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import numpy as np
import pytest

from voicebot.audio.codec import pcm_to_ulaw, ulaw_to_pcm
from voicebot.domain.outcome import Disposition
from voicebot.telephony.twilio_wire import (
    DtmfReceived,
    MarkPlayed,
    MediaReceived,
    StreamConnected,
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
    whisper_twiml,
)

FIXTURES = Path(__file__).parent / "fixtures"
MESSAGES: dict[str, dict[str, Any]] = json.loads(
    (FIXTURES / "twilio_media_streams.json").read_text()
)["messages"]
STREAM = "MZ18ad3ab5a668481ce02b83e7395059f0"
CALL = "CA8a9ff7a4c9db8c2b4b7b6b07f8a6a3e1"


def _wire(name: str, **changes: Any) -> str:
    return json.dumps({**MESSAGES[name], **changes})


def test_twilio_wire_parses_each_recorded_message() -> None:
    assert parse_message(_wire("connected")) == StreamConnected("Call", "1.0.0")
    start = parse_message(_wire("start"))
    assert start == StreamStarted(
        stream_sid=STREAM,
        call_sid=CALL,
        account_sid="AC25e16e9a716a4a1786a7c83f58e30482",
        tracks=("inbound",),
        custom_parameters={"attempt": "att-42", "campaign": "demo"},
    )
    assert parse_message(_wire("dtmf")) == DtmfReceived(STREAM, "1")
    assert parse_message(_wire("mark")) == MarkPlayed(STREAM, "prompt-7")
    assert parse_message(_wire("stop")) == StreamStopped(STREAM, CALL)


def test_twilio_wire_media_decodes_mulaw_to_line_pcm() -> None:
    media = parse_message(_wire("media").encode())
    assert isinstance(media, MediaReceived)
    assert (media.stream_sid, media.track, media.chunk, media.timestamp_ms) == (
        STREAM,
        "inbound",
        1,
        5,
    )
    assert media.pcm.dtype == np.int16 and media.pcm.size == 160
    # The recorded payload is a 440 Hz tone: its spectrum peaks there (50 Hz bins).
    spectrum = np.abs(np.fft.rfft(media.pcm.astype(np.float64)))
    assert int(np.argmax(spectrum)) * 50 == pytest.approx(440, abs=50)


def test_twilio_wire_outbound_messages_follow_the_documented_shape() -> None:
    pcm = (np.sin(np.arange(320) / 5) * 9000).astype(np.int16)
    media = json.loads(media_message(STREAM, pcm))
    assert set(media) == {"event", "streamSid", "media"}
    assert (media["event"], media["streamSid"], set(media["media"])) == (
        "media",
        STREAM,
        {"payload"},
    )
    codes = base64.b64decode(media["media"]["payload"])
    assert codes == pcm_to_ulaw(pcm).tobytes()
    assert np.array_equal(ulaw_to_pcm(codes), ulaw_to_pcm(pcm_to_ulaw(pcm)))
    assert json.loads(mark_message(STREAM, "p1")) == {
        "event": "mark",
        "streamSid": STREAM,
        "mark": {"name": "p1"},
    }
    assert json.loads(clear_message(STREAM)) == {"event": "clear", "streamSid": STREAM}


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"event": "hello"}', "unknown event 'hello'"),
        (_wire("media", media={"payload": "@@@", "chunk": "1", "timestamp": "0"}), "base64"),
        (_wire("media", media={"payload": "", "chunk": "x", "timestamp": "0"}), "media.chunk"),
        (_wire("dtmf", dtmf={"digit": "A"}), "not a telephone key"),
        (_wire("stop", stop={}), "missing 'callSid'"),
        (
            _wire(
                "start",
                start={
                    **MESSAGES["start"]["start"],
                    "mediaFormat": {"encoding": "audio/l16", "sampleRate": 16000, "channels": 1},
                },
            ),
            "audio/l16",
        ),
    ],
)
def test_twilio_wire_rejects_bad_messages_by_name(text: str, complaint: str) -> None:
    with pytest.raises(WireError, match=complaint):
        parse_message(text)


def test_twilio_wire_connect_stream_twiml() -> None:
    xml = connect_stream_twiml("wss://bot.example/twilio/media", {"attempt": "a&1"})
    root = ElementTree.fromstring(xml)
    stream = root.find("./Connect/Stream")
    assert root.tag == "Response" and stream is not None
    assert stream.get("url") == "wss://bot.example/twilio/media"
    param = stream.find("Parameter")
    assert param is not None and (param.get("name"), param.get("value")) == ("attempt", "a&1")


def test_twilio_wire_conference_and_whisper_twiml() -> None:
    root = ElementTree.fromstring(conference_twiml("xfer-CA1"))
    conference = root.find("./Dial/Conference")
    assert conference is not None and conference.text == "xfer-CA1"
    assert conference.get("endConferenceOnExit") == "true"
    assert conference.get("startConferenceOnEnter") == "true"
    assert conference.get("beep") == "false"
    say = ElementTree.fromstring(whisper_twiml("Deudora <Ana>: promesa")).find("Say")
    assert say is not None and say.text == "Deudora <Ana>: promesa"
    assert say.get("language") == "es-MX"


@pytest.mark.parametrize(
    ("form", "failure"),
    [
        ({"CallStatus": "completed"}, None),
        ({"CallStatus": "in-progress"}, None),
        ({"CallStatus": "busy"}, Disposition.BUSY),
        ({"CallStatus": "no-answer"}, Disposition.NA),
        ({"CallStatus": "failed", "SipResponseCode": "404"}, Disposition.FAIL),
        ({"CallStatus": "canceled"}, Disposition.NA),
        ({"CallStatus": "in-progress", "AnsweredBy": "machine_end_beep"}, Disposition.VM),
        ({"CallStatus": "in-progress", "AnsweredBy": "machine_start"}, Disposition.VM),
        ({"CallStatus": "in-progress", "AnsweredBy": "fax"}, Disposition.FAIL),
        ({"CallStatus": "in-progress", "AnsweredBy": "human"}, None),
        ({"CallStatus": "in-progress", "AnsweredBy": "unknown"}, None),
    ],
)
def test_twilio_wire_status_callback_dispositions(
    form: dict[str, str], failure: Disposition | None
) -> None:
    status = parse_status_callback({"CallSid": CALL, "AccountSid": "AC1", **form})
    assert status.call_sid == CALL
    assert status.failure is failure
    assert status.sip_code == (404 if "SipResponseCode" in form else None)


def test_twilio_wire_status_callback_needs_a_call_sid() -> None:
    with pytest.raises(WireError, match="CallSid"):
        parse_status_callback({"CallStatus": "busy"})


CALLBACKS: dict[str, dict[str, str]] = json.loads((FIXTURES / "twilio_callbacks.json").read_text())


@pytest.mark.parametrize(
    ("name", "status", "answered_by", "sip", "failure"),
    [
        ("status_busy", "busy", "", 486, Disposition.BUSY),
        ("status_completed", "completed", "", 200, None),
        ("amd_machine", "", "machine_end_beep", None, Disposition.VM),
        ("amd_human", "", "human", None, None),
    ],
)
def test_twilio_wire_full_callback_bodies(
    name: str, status: str, answered_by: str, sip: int | None, failure: Disposition | None
) -> None:
    parsed = parse_status_callback(CALLBACKS[name])
    assert (parsed.call_sid, parsed.status, parsed.answered_by, parsed.sip_code) == (
        CALL,
        status,
        answered_by,
        sip,
    )
    assert parsed.failure is failure
