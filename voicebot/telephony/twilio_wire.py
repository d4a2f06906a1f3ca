"""Twilio's wire formats, without sockets: Media Streams JSON ⇄ events, TwiML, status callbacks.

Kept pure (like pipecat's Twilio serializer) so every message shape is tested
from recorded examples; ``twilio.py`` only moves these strings over the network.
Audio leaves this module as 8 kHz int16 PCM: μ-law never crosses the carrier edge.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from twilio.twiml.voice_response import Connect, Dial, VoiceResponse

from voicebot.audio.codec import pcm_to_ulaw, ulaw_to_pcm
from voicebot.domain.outcome import Disposition
from voicebot.domain.pcm import LINE_RATE, Pcm

MULAW = "audio/x-mulaw"


class WireError(ValueError):
    """A Media Streams message we cannot understand; names what was wrong."""


# --- messages from Twilio ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StreamConnected:
    protocol: str
    version: str


@dataclass(frozen=True, slots=True)
class StreamStarted:
    stream_sid: str
    call_sid: str
    account_sid: str
    tracks: tuple[str, ...]
    custom_parameters: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MediaReceived:
    stream_sid: str
    track: str
    chunk: int
    timestamp_ms: int
    pcm: Pcm


@dataclass(frozen=True, slots=True)
class DtmfReceived:
    stream_sid: str
    digit: str


@dataclass(frozen=True, slots=True)
class MarkPlayed:
    """Twilio finished playing (or cleared) the audio sent before this mark."""

    stream_sid: str
    name: str


@dataclass(frozen=True, slots=True)
class StreamStopped:
    stream_sid: str
    call_sid: str


StreamEvent = (
    StreamConnected | StreamStarted | MediaReceived | DtmfReceived | MarkPlayed | StreamStopped
)

_DIGITS = frozenset("0123456789*#")


def _field(obj: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in obj:
        raise WireError(f"{where}: missing {key!r}")
    return obj[key]


def _text(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _field(obj, key, where)
    if not isinstance(value, str):
        raise WireError(f"{where}.{key}: expected a string, got {type(value).__name__}")
    return value


def _section(obj: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = _field(obj, key, where)
    if not isinstance(value, dict):
        raise WireError(f"{where}.{key}: expected an object")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str) -> int:
    value = _field(obj, key, where)
    try:
        return int(value)  # Twilio sends chunk/timestamp as numeric strings
    except (TypeError, ValueError):
        raise WireError(f"{where}.{key}: expected an integer, got {value!r}") from None


def _start(msg: Mapping[str, Any]) -> StreamStarted:
    start = _section(msg, "start", "start")
    fmt = _section(start, "mediaFormat", "start")
    encoding, rate, channels = fmt.get("encoding"), fmt.get("sampleRate"), fmt.get("channels")
    if (encoding, rate, channels) != (MULAW, LINE_RATE, 1):
        raise WireError(
            f"start.mediaFormat: expected {MULAW} {LINE_RATE} Hz mono, "
            f"got {encoding} {rate} Hz x{channels}"
        )
    params = start.get("customParameters") or {}
    if not isinstance(params, dict):
        raise WireError("start.customParameters: expected an object")
    tracks = start.get("tracks") or []
    return StreamStarted(
        stream_sid=_text(start, "streamSid", "start"),
        call_sid=_text(start, "callSid", "start"),
        account_sid=_text(start, "accountSid", "start"),
        tracks=tuple(str(t) for t in tracks),
        custom_parameters={str(k): str(v) for k, v in params.items()},
    )


def _media(msg: Mapping[str, Any]) -> MediaReceived:
    media = _section(msg, "media", "media")
    try:
        codes = base64.b64decode(_text(media, "payload", "media"), validate=True)
    except binascii.Error as exc:
        raise WireError(f"media.payload: not base64 ({exc})") from None
    return MediaReceived(
        stream_sid=_text(msg, "streamSid", "media"),
        track=str(media.get("track", "inbound")),
        chunk=_int(media, "chunk", "media"),
        timestamp_ms=_int(media, "timestamp", "media"),
        pcm=ulaw_to_pcm(codes),
    )


def _dtmf(msg: Mapping[str, Any]) -> DtmfReceived:
    digit = _text(_section(msg, "dtmf", "dtmf"), "digit", "dtmf")
    if digit not in _DIGITS:
        raise WireError(f"dtmf.digit: {digit!r} is not a telephone key")
    return DtmfReceived(stream_sid=_text(msg, "streamSid", "dtmf"), digit=digit)


def parse_message(text: str | bytes) -> StreamEvent:
    """One websocket text frame from Twilio → one event; anything malformed raises WireError."""
    try:
        msg = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WireError(f"not JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise WireError("expected a JSON object")
    event = msg.get("event")
    match event:
        case "connected":
            return StreamConnected(
                protocol=_text(msg, "protocol", "connected"),
                version=_text(msg, "version", "connected"),
            )
        case "start":
            return _start(msg)
        case "media":
            return _media(msg)
        case "dtmf":
            return _dtmf(msg)
        case "mark":
            mark = _section(msg, "mark", "mark")
            return MarkPlayed(_text(msg, "streamSid", "mark"), _text(mark, "name", "mark"))
        case "stop":
            stop = _section(msg, "stop", "stop")
            return StreamStopped(_text(msg, "streamSid", "stop"), _text(stop, "callSid", "stop"))
        case _:
            raise WireError(f"unknown event {event!r}")


# --- messages to Twilio ----------------------------------------------------------


def media_message(stream_sid: str, pcm: Pcm) -> str:
    """Audio for Twilio to play to the debtor (8 kHz int16 → base64 μ-law)."""
    payload = base64.b64encode(pcm_to_ulaw(np.asarray(pcm, dtype=np.int16)).tobytes())
    return json.dumps(
        {"event": "media", "streamSid": stream_sid, "media": {"payload": payload.decode("ascii")}}
    )


def mark_message(stream_sid: str, name: str) -> str:
    """Ask Twilio to echo ``name`` back once the audio queued before it has played."""
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def clear_message(stream_sid: str) -> str:
    """Barge-in: Twilio drops its buffered playback and returns pending marks."""
    return json.dumps({"event": "clear", "streamSid": stream_sid})


# --- TwiML ------------------------------------------------------------------------


def connect_stream_twiml(url: str, parameters: Mapping[str, str] | None = None) -> str:
    """A bidirectional stream: the call stays on this TwiML until the websocket closes."""
    response = VoiceResponse()
    connect = Connect()
    stream = connect.stream(url=url)
    for name, value in (parameters or {}).items():
        stream.parameter(name=name, value=value)
    response.append(connect)
    return str(response)


def reject_twiml(reason: str = "busy") -> str:
    """Refuse an incoming call before it is answered (the caller hears busy or a message)."""
    response = VoiceResponse()
    response.reject(reason=reason)
    return str(response)


def conference_twiml(name: str, *, end_on_exit: bool = True) -> str:
    """Move the debtor into the transfer conference (ends the bot's media stream)."""
    response = VoiceResponse()
    dial = Dial()
    dial.conference(
        name,
        start_conference_on_enter=True,
        end_conference_on_exit=end_on_exit,
        beep=False,
    )
    response.append(dial)
    return str(response)


def whisper_twiml(text: str, *, language: str = "es-MX") -> str:
    """What the agent hears while waiting for the debtor: the transfer context, read aloud."""
    response = VoiceResponse()
    response.say(text, language=language)
    return str(response)


# --- status callbacks ---------------------------------------------------------------

_STATUS_DISPOSITIONS: dict[str, Disposition] = {
    "busy": Disposition.BUSY,
    "no-answer": Disposition.NA,
    "failed": Disposition.FAIL,
    "canceled": Disposition.NA,  # we gave up ringing before anyone answered
}
_HUMAN_ANSWERS = frozenset({"human", "unknown"})


@dataclass(frozen=True, slots=True)
class CallStatus:
    """One status or AMD callback, reduced to what the dialer needs."""

    call_sid: str
    status: str  # queued initiated ringing in-progress completed busy no-answer failed canceled
    answered_by: str = ""  # human machine_start machine_end_beep ... fax unknown
    sip_code: int | None = None

    @property
    def failure(self) -> Disposition | None:
        """The disposition when the call never reached a conversation with a person."""
        if self.answered_by and self.answered_by not in _HUMAN_ANSWERS:
            return Disposition.FAIL if self.answered_by == "fax" else Disposition.VM
        if self.status == "failed" and self.sip_code in (500, 502, 503, 504):
            return Disposition.NA  # congestion: says nothing about the number, retry it
        return _STATUS_DISPOSITIONS.get(self.status)


def parse_status_callback(form: Mapping[str, str]) -> CallStatus:
    """Twilio posts form fields (CallSid, CallStatus, AnsweredBy, SipResponseCode)."""
    call_sid = form.get("CallSid", "")
    if not call_sid:
        raise WireError("status callback without CallSid")
    sip = form.get("SipResponseCode", "")
    return CallStatus(
        call_sid=call_sid,
        status=form.get("CallStatus", ""),
        answered_by=form.get("AnsweredBy", ""),
        sip_code=int(sip) if sip.isdigit() else None,
    )
