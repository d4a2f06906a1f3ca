"""The SIP carrier against real phones: audio both ways, hangups, and every way a dial fails."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import TYPE_CHECKING

import numpy as np
import pytest

from testbeds.sip import (
    AUTH_PASSWORD,
    BUSY_USER,
    DECLINE_USER,
    NOANSWER_USER,
    PROXY_AUTH_CALLER,
    UNAVAILABLE_USER,
    WWW_AUTH_CALLER,
    free_port_block,
)
from voicebot.domain.outcome import Disposition
from voicebot.telephony.carrier import AudioIn, DialFailure, FarEndHangup
from voicebot.telephony.pyvoip_fixes import NoPortsAvailableError
from voicebot.telephony.sip import (
    SipCallLeg,
    SipCarrier,
    SipRegistrationError,
    SipSettings,
    disposition_for_status,
)

if TYPE_CHECKING:
    from conftest import SipLab


async def record(leg: SipCallLeg, seconds: float) -> tuple[np.ndarray, list[object]]:
    """Everything the leg receives for ``seconds``: the audio, and the non-audio inputs."""
    frames: list[np.ndarray] = []
    others: list[object] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            item = await asyncio.wait_for(leg.receive(), deadline - time.monotonic())
        except TimeoutError:
            break
        if isinstance(item, AudioIn):
            frames.append(item.frame)
        else:
            others.append(item)
            if isinstance(item, FarEndHangup):
                break
    audio = np.concatenate(frames) if frames else np.zeros(0, dtype=np.int16)
    return audio, others


def test_bot_hears_the_debtor_speak_in_the_right_turn(sip_lab: SipLab) -> None:
    at_s = sip_lab.DEBTOR_SPEECH_AT_S

    async def scenario() -> tuple[np.ndarray, str]:
        async with SipCarrier(sip_lab.settings()) as carrier:
            leg = await carrier.dial("debtor")
            assert isinstance(leg, SipCallLeg)
            audio, others = await record(leg, at_s + 4.0)
            await leg.hangup()
            assert others == []
            return audio, leg.codec

    audio, codec = asyncio.run(scenario())
    assert codec == "PCMU"
    # Real time: 5 s of call gives ~250 frames of 20 ms.
    assert abs(len(audio) / sip_lab.RATE - (at_s + 4.0)) < 0.15
    # Silent while the debtor waits, then exactly their recorded sentence.
    voiced = sip_lab.speech_frames(audio)
    assert not voiced[: int(0.8 * 50)].any()
    score, offset = sip_lab.best_match(sip_lab.debtor_speech, audio)
    assert score > 0.95
    assert abs(offset - at_s) < 0.1


def test_debtor_phone_records_the_bots_prompt(sip_lab: SipLab) -> None:
    async def scenario() -> None:
        async with SipCarrier(sip_lab.settings()) as carrier:
            leg = await carrier.dial("listener")
            assert isinstance(leg, SipCallLeg)
            await leg.send_audio(np.concatenate([sip_lab.silence(0.5), sip_lab.prompt]))
            assert leg.queued_audio_s > 1.0
            while leg.queued_audio_s > 0:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            await leg.hangup()

    asyncio.run(scenario())
    heard = sip_lab.last_recording("listener", "dec")
    score, offset = sip_lab.best_match(sip_lab.prompt, heard)
    assert score > 0.95
    assert 0.4 < offset < 1.0


def test_clear_audio_cuts_the_prompt_at_once(sip_lab: SipLab) -> None:
    """Barge-in: after ``clear_audio`` the debtor hears nothing more of the prompt."""

    async def scenario() -> None:
        async with SipCarrier(sip_lab.settings()) as carrier:
            leg = await carrier.dial("bargein")
            assert isinstance(leg, SipCallLeg)
            long_prompt = np.concatenate([sip_lab.prompt] * 3)
            await leg.send_audio(long_prompt)
            await asyncio.sleep(1.0)
            leg.clear_audio()
            assert leg.queued_audio_s == 0
            await asyncio.sleep(1.5)
            await leg.hangup()

    asyncio.run(scenario())
    heard = sip_lab.speech_frames(sip_lab.last_recording("bargein", "dec"))
    voiced_s = heard.sum() * 0.02
    assert 0.4 < voiced_s < 1.2  # about the 1 s played before the cut, not ~7 s
    assert not heard[-50:].any()  # the last second of the call is silent


def test_debtor_hanging_up_mid_prompt_ends_the_leg(sip_lab: SipLab) -> None:
    async def scenario() -> tuple[float, SipCallLeg]:
        async with SipCarrier(sip_lab.settings()) as carrier:
            leg = await carrier.dial("quitter")
            assert isinstance(leg, SipCallLeg)
            await leg.send_audio(np.concatenate([sip_lab.prompt] * 3))
            started = time.monotonic()
            _, others = await record(leg, 10.0)
            elapsed = time.monotonic() - started
            assert others == [FarEndHangup()]
            assert leg.queued_audio_s > 1.0  # it happened mid-prompt
            await leg.send_audio(sip_lab.prompt)  # harmless after the hangup
            await leg.hangup()
            assert carrier.active_calls == 0
            return elapsed, leg

    elapsed, leg = asyncio.run(scenario())
    assert 1.0 < elapsed < 2.5  # the quitter's WAV lasts 1.5 s
    assert leg.hung_up_by == "remote"
    assert not leg.is_up


@pytest.mark.parametrize(
    ("user", "disposition", "status"),
    [
        ("nobody-here", Disposition.FAIL, 404),
        (BUSY_USER, Disposition.BUSY, 486),
        (DECLINE_USER, Disposition.NA, 603),
        (UNAVAILABLE_USER, Disposition.NA, 503),  # congestion: retry the same number
    ],
)
def test_failed_dials_carry_status_and_disposition(
    sip_lab: SipLab, user: str, disposition: Disposition, status: int
) -> None:
    async def scenario() -> tuple[object, float]:
        async with SipCarrier(sip_lab.settings()) as carrier:
            started = time.monotonic()
            result = await carrier.dial(user, ring_timeout_s=10)
            return result, time.monotonic() - started

    result, elapsed = asyncio.run(scenario())
    assert isinstance(result, DialFailure)
    assert (result.disposition, result.status) == (disposition, status)
    assert result.reason
    assert elapsed < 2.0  # an immediate answer (generous for a loaded CI machine)


def test_unanswered_call_is_cancelled_at_the_ring_timeout(sip_lab: SipLab) -> None:
    async def scenario() -> tuple[object, float]:
        async with SipCarrier(sip_lab.settings()) as carrier:
            started = time.monotonic()
            result = await carrier.dial(NOANSWER_USER, ring_timeout_s=1.5)
            return result, time.monotonic() - started

    result, elapsed = asyncio.run(scenario())
    assert isinstance(result, DialFailure)
    assert result.disposition is Disposition.NA
    assert result.status == 487  # the proxy confirmed our CANCEL
    assert 1.5 <= elapsed < 3.0


def test_local_hangup_frees_the_far_end(sip_lab: SipLab) -> None:
    async def scenario() -> None:
        async with SipCarrier(sip_lab.settings()) as carrier:
            leg = await carrier.dial("keypad")
            assert isinstance(leg, SipCallLeg)
            assert "(1)" in sip_lab.bed.peer("keypad").command("listcalls")["data"]
            await leg.hangup()
            assert await leg.receive() == FarEndHangup()
            assert await leg.receive() == FarEndHangup()  # and again: never blocks once over
            assert leg.hung_up_by == "local"
            await asyncio.sleep(0.3)

    asyncio.run(scenario())
    assert "(1)" not in sip_lab.bed.peer("keypad").command("listcalls")["data"]


def test_status_mapping_covers_the_usual_finals() -> None:
    assert disposition_for_status(600) is Disposition.BUSY
    assert disposition_for_status(480) is Disposition.NA
    assert disposition_for_status(408) is Disposition.NA
    for status in (400, 403, 404, 410, 484, 604):
        assert disposition_for_status(status) is Disposition.FAIL
    for status in (500, 502, 503, 504):  # a congested trunk is not a dead number
        assert disposition_for_status(status) is Disposition.NA


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"server": ""}, "server"),
        ({"codecs": ("G729",)}, "codecs"),
        ({"codecs": ()}, "codecs"),
        ({"rtp_port_low": 20000, "rtp_port_high": 10000}, "RTP port"),
    ],
)
def test_bad_settings_are_rejected_clearly(overrides: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"server": "pbx.example", "user": "bot", **overrides}
    with pytest.raises(ValueError, match=message):
        SipSettings(**values)  # type: ignore[arg-type]


def test_rtp_ports_in_use_are_skipped_and_exhaustion_is_a_clear_error(sip_lab: SipLab) -> None:
    base = free_port_block(3)
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    squatter.bind(("127.0.0.1", base + 1))  # another program holds one of the two RTP ports

    async def scenario() -> None:
        settings = sip_lab.settings(local_port=base, rtp_port_low=base + 1, rtp_port_high=base + 2)
        async with SipCarrier(settings) as carrier:
            leg = await carrier.dial("keypad")
            assert isinstance(leg, SipCallLeg)
            with pytest.raises(NoPortsAvailableError, match=f"{base + 1}-{base + 2}"):
                await carrier.dial("keypad")
            audio, _ = await record(leg, 0.5)  # the first call is unaffected
            assert len(audio) > 0
            await leg.hangup()

    try:
        asyncio.run(scenario())
    finally:
        squatter.close()


def test_invite_carries_caller_id_and_codecs_and_silence_is_no_answer(sip_lab: SipLab) -> None:
    """A registered phone that stays silent: we read the INVITE off the wire ourselves."""
    phone = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    phone.bind(("127.0.0.1", 0))
    phone.settimeout(2.0)
    port = phone.getsockname()[1]
    register = (
        f"REGISTER sip:127.0.0.1:{sip_lab.bed.proxy_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bKmute1\r\n"
        "Max-Forwards: 70\r\n"
        "From: <sip:mute@127.0.0.1>;tag=m1\r\nTo: <sip:mute@127.0.0.1>\r\n"
        "Call-ID: mute-registration\r\nCSeq: 1 REGISTER\r\n"
        f"Contact: <sip:mute@127.0.0.1:{port}>\r\nExpires: 60\r\nContent-Length: 0\r\n\r\n"
    )
    phone.sendto(register.encode(), sip_lab.bed.proxy)
    assert phone.recv(65535).startswith(b"SIP/2.0 200")

    def answer_late(invite: str) -> list[str]:
        """Answer 200 OK after the bot gave up; return the requests the bot then sends.

        Through a proxy over UDP the ACK and the BYE may arrive in either order; each carries
        its own CSeq, which is what a phone orders them by.
        """
        head = invite.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
        keep = [h for h in head if h.split(":", 1)[0] in ("Via", "From", "Call-ID", "CSeq")]
        to = next(h for h in head if h.startswith("To:"))
        sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        sdp += "m=audio 9 RTP/AVP 0\r\n"
        ok = "\r\n".join(
            [
                "SIP/2.0 200 OK",
                *keep,
                f"{to};tag=late1",
                f"Contact: <sip:mute@127.0.0.1:{port}>",
                "Content-Type: application/sdp",
                f"Content-Length: {len(sdp)}",
            ]
        )
        phone.sendto((ok + "\r\n\r\n" + sdp).encode(), sip_lab.bed.proxy)
        requests = []
        while len(requests) < 2:
            message = phone.recv(65535).decode()
            method = message.split(" ", 1)[0]
            if method != "INVITE":  # the proxy retransmits the INVITE until answered
                cseq = next(h for h in message.split("\r\n") if h.startswith("CSeq:"))
                requests.append(cseq.removeprefix("CSeq:").strip())
        return sorted(requests, key=lambda cseq: int(cseq.split()[0]))

    async def scenario() -> tuple[object, float, str, list[str]]:
        settings = sip_lab.settings(codecs=("PCMA", "PCMU"), caller_id="Servicios Andinos")
        async with SipCarrier(settings) as carrier:
            started = time.monotonic()
            result = await carrier.dial("mute", ring_timeout_s=1.0)
            elapsed = time.monotonic() - started
            invite = await asyncio.to_thread(lambda: phone.recv(65535).decode())
            after = await asyncio.to_thread(answer_late, invite)
            return result, elapsed, invite, after

    try:
        result, elapsed, invite, after = asyncio.run(scenario())
    finally:
        phone.close()
    assert invite.startswith("INVITE sip:mute@")
    assert 'From: "Servicios Andinos" <sip:bot@127.0.0.1>' in invite
    assert "m=audio" in invite and " RTP/AVP 8 0 101\r\n" in invite
    assert isinstance(result, DialFailure)
    assert (result.disposition, result.status) == (Disposition.NA, 408)
    assert 1.0 <= elapsed < 2.0
    # A 200 that arrives after we gave up is acknowledged (ACK with the INVITE's CSeq number)
    # and the call ended at once (BYE with a higher number), whatever order the proxy kept.
    invite_cseq = next(h for h in invite.split("\r\n") if h.startswith("CSeq:"))
    number = int(invite_cseq.removeprefix("CSeq:").split()[0])
    (ack, bye) = after
    assert ack == f"{number} ACK"
    assert bye.endswith(" BYE") and int(bye.split()[0]) > number


def test_registration_failures_are_clear_errors(sip_lab: SipLab) -> None:
    closed = free_port_block(1)  # nothing listens: the kernel refuses at once
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))  # something listens and never answers

    async def start(port: int) -> float:
        carrier = SipCarrier(sip_lab.settings(port=port, register_timeout_s=0.5))
        started = time.monotonic()
        with pytest.raises(SipRegistrationError, match=f"bot@127.0.0.1:{port}"):
            await carrier.start()
        return time.monotonic() - started

    try:
        assert asyncio.run(start(closed)) < 2.0
        assert asyncio.run(start(silent.getsockname()[1])) < 3.0
    finally:
        silent.close()


@pytest.mark.parametrize(
    ("caller", "challenge"), [(PROXY_AUTH_CALLER, 407), (WWW_AUTH_CALLER, 401)]
)
def test_challenged_invites_are_answered_with_credentials(
    sip_lab: SipLab, caller: str, challenge: int
) -> None:
    async def scenario(password: str) -> object:
        settings = sip_lab.settings(user=caller, password=password)
        async with SipCarrier(settings) as carrier:
            result = await carrier.dial("listener", ring_timeout_s=5)
            if isinstance(result, SipCallLeg):
                audio, _ = await record(result, 0.3)
                assert len(audio) > 0
                await result.hangup()
            return result

    assert isinstance(asyncio.run(scenario(AUTH_PASSWORD)), SipCallLeg)
    refused = asyncio.run(scenario("not-the-password"))
    assert isinstance(refused, DialFailure)
    assert (refused.disposition, refused.status) == (Disposition.FAIL, challenge)
