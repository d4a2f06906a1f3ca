"""One regression test per pyVoIP 1.6.8 fix in ``pyvoip_fixes`` (letters as in SIP.md).

Each test fails if its bug comes back; most run on the real loopback bed, where a
compliant far end (kamailio's transaction layer, baresip) shows the symptom.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pytest

from testbeds.sip import BUSY_USER, DECLINE_USER, UNAVAILABLE_USER
from voicebot.audio.codec import alaw_to_pcm, ulaw_to_pcm
from voicebot.telephony.pyvoip_fixes import (
    CallState,
    FixedSIPClient,
    FixedVoIPCall,
    FixedVoIPPhone,
)
from voicebot.telephony.rtp_stream import ULAW_SILENCE, JitterBuffer, alaw_to_ulaw, ulaw_to_alaw
from voicebot.telephony.sip import SipCallLeg, SipCarrier
from voicebot.telephony.sip_digest import digest_authorization

if TYPE_CHECKING:
    from conftest import SipLab

SETTLE_S = 4.0  # a far end retransmits an unacknowledged final at 0.5, 1.5 and 3.5 s


def make_phone(sip_lab: SipLab) -> FixedVoIPPhone:
    s = sip_lab.settings()
    return FixedVoIPPhone(
        s.server,
        s.port,
        s.user,
        s.password,
        myIP=s.local_ip,
        sipPort=s.local_port,
        rtpPortLow=s.rtp_port_low,
        rtpPortHigh=s.rtp_port_high,
    )


@pytest.fixture(scope="module")
def settled_calls(sip_lab: SipLab) -> Iterator[tuple[FixedVoIPPhone, dict[str, FixedVoIPCall]]]:
    """Calls to a phone and to each failing user, observed for long enough to see retransmits."""
    phone = make_phone(sip_lab)
    phone.start()
    users = ("keypad", "nobody-here", BUSY_USER, DECLINE_USER, UNAVAILABLE_USER)
    calls = {user: phone.call(user) for user in users}
    time.sleep(SETTLE_S)
    try:
        yield phone, calls
    finally:
        phone.stop()


def test_a_200_ok_is_acked_with_its_own_to_tag(
    sip_lab: SipLab, settled_calls: tuple[FixedVoIPPhone, dict[str, FixedVoIPCall]]
) -> None:
    """With pyVoIP's ACK baresip retransmits the 200 (4 copies in 4 s) and drops the call at 32 s."""
    _, calls = settled_calls
    call = calls["keypad"]
    assert call.state == CallState.ANSWERED
    assert call.responses.count(200) == 1
    assert "(1)" in sip_lab.bed.peer("keypad").command("listcalls")["data"]


def test_b_a_call_right_after_start_is_answered_at_once(sip_lab: SipLab) -> None:
    phone = make_phone(sip_lab)
    phone.start()
    try:
        started = time.monotonic()
        call = phone.call("listener")
        while call.state == CallState.DIALING and time.monotonic() - started < 3:
            time.sleep(0.002)
        elapsed = time.monotonic() - started
        assert call.state == CallState.ANSWERED
        assert elapsed < 0.9  # pyVoIP's receive loop only started after 1 s
        call.hangup()
    finally:
        phone.stop()


def test_c_a_404_ends_the_call_instead_of_raising(
    settled_calls: tuple[FixedVoIPPhone, dict[str, FixedVoIPCall]],
) -> None:
    phone, calls = settled_calls
    call = calls["nobody-here"]
    assert (call.state, call.final_status) == (CallState.ENDED, 404)
    assert call.call_id not in phone.calls


@pytest.mark.parametrize("user", [BUSY_USER, DECLINE_USER, UNAVAILABLE_USER])
def test_d_final_failures_without_100_are_acked_and_end_the_call(
    settled_calls: tuple[FixedVoIPPhone, dict[str, FixedVoIPCall]], user: str
) -> None:
    """The proxy sends the final with no 100 first and retransmits it until ACKed."""
    phone, calls = settled_calls
    call = calls[user]
    assert call.state == CallState.ENDED
    assert call.responses == [call.final_status]  # exactly one copy: our ACK stopped the rest
    assert call.call_id not in phone.calls


def test_d_digest_credentials_follow_rfc_2617() -> None:
    challenge = (
        'Digest realm="testrealm@host.com", qop="auth,auth-int", '
        'nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"'
    )
    credentials = digest_authorization(
        challenge,
        method="GET",
        uri="/dir/index.html",
        user="Mufasa",
        password="Circle Of Life",
        cnonce="0a4f113b",
    )
    assert 'response="6629fae49393a05397450978507c4ef1"' in credentials  # RFC 2617 3.5
    assert 'opaque="5ccc069c403ebaf9f0171e9517f40e41"' in credentials
    with pytest.raises(ValueError, match="algorithm"):
        digest_authorization(
            'Digest realm="r", nonce="n", algorithm=SHA-256',
            method="INVITE",
            uri="sip:x",
            user="u",
            password="p",
        )


def test_e_call_ids_are_unpredictable() -> None:
    def client() -> FixedSIPClient:
        return FixedSIPClient("127.0.0.1", 5060, "bot", "", phone=None, myIP="127.0.0.1")  # type: ignore[arg-type]

    first, second = client(), client()
    # pyVoIP hashed a per-client counter: every process started with the same Call-ID.
    assert first.gen_call_id() != second.gen_call_id()
    ids = {first.gen_call_id().split("@")[0] for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 32 for i in ids)


def test_f_pcma_calls_carry_a_law_both_ways(sip_lab: SipLab) -> None:
    async def scenario() -> np.ndarray:
        async with SipCarrier(sip_lab.settings(codecs=("PCMA",))) as carrier:
            heard = await carrier.dial("debtor-pcma")
            assert isinstance(heard, SipCallLeg)
            assert heard.codec == "PCMA"
            frames = []
            deadline = time.monotonic() + sip_lab.DEBTOR_SPEECH_AT_S + 3.6
            while time.monotonic() < deadline:
                item = await heard.receive()
                frames.append(getattr(item, "frame", np.zeros(0, dtype=np.int16)))
            await heard.hangup()
            speaker = await carrier.dial("listener-pcma")
            assert isinstance(speaker, SipCallLeg)
            await speaker.send_audio(sip_lab.prompt)
            while speaker.queued_audio_s > 0:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            await speaker.hangup()
            return np.concatenate(frames)

    received = asyncio.run(scenario())
    score, _ = sip_lab.best_match(sip_lab.debtor_speech, received)
    assert score > 0.95  # decoded as A-law (μ-law decoding would scramble it)
    recorded = sip_lab.last_recording("listener-pcma", "dec")
    score, _ = sip_lab.best_match(sip_lab.prompt, recorded)
    assert score > 0.95  # pyVoIP sent μ-law bytes labeled PCMA


def test_f_transcoding_between_a_law_and_u_law_keeps_each_value() -> None:
    codes = bytes(range(256))
    ulaw = ulaw_to_pcm(codes).astype(np.int64)
    alaw = alaw_to_pcm(codes).astype(np.int64)
    # Within one quantisation step of the value the other law encoded.
    via_ulaw = ulaw_to_pcm(alaw_to_ulaw(codes)).astype(np.int64)
    assert np.all(np.abs(via_ulaw - alaw) <= np.maximum(16, np.abs(alaw) / 16))
    via_alaw = alaw_to_pcm(ulaw_to_alaw(codes)).astype(np.int64)
    assert np.all(np.abs(via_alaw - ulaw) <= np.maximum(16, np.abs(ulaw) / 16))
    # Silence stays silence: μ-law 0xFF (0) and A-law 0xD5 (+8) map to each other's nearest.
    assert ulaw_to_alaw(b"\xff") == b"\xd5"
    assert abs(int(ulaw_to_pcm(alaw_to_ulaw(b"\xd5"))[0])) <= 8


def test_g_the_fix_module_imports_pyvoip_in_a_working_order() -> None:
    code = "import voicebot.telephony.pyvoip_fixes; from pyVoIP import SIP, RTP; print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_h_calls_work_without_audioop(sip_lab: SipLab) -> None:
    """Python 3.13 has no audioop: block it and place a real call from a fresh interpreter."""
    s = sip_lab.settings()
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["audioop"] = None  # as on Python 3.13: importing it fails
        import asyncio
        import numpy as np
        from voicebot.telephony.carrier import AudioIn
        from voicebot.telephony.sip import SipCarrier, SipSettings

        async def main():
            settings = SipSettings(server="127.0.0.1", port={s.port}, user="bot",
                local_port={s.local_port}, rtp_port_low={s.rtp_port_low},
                rtp_port_high={s.rtp_port_high})
            async with SipCarrier(settings) as carrier:
                leg = await carrier.dial("debtor")
                await leg.send_audio(np.zeros(8000, dtype=np.int16))
                peak, frames = 0, 0
                while frames < 150:
                    item = await leg.receive()
                    if isinstance(item, AudioIn):
                        frames += 1
                        peak = max(peak, int(np.abs(item.frame.astype(int)).max()))
                await leg.hangup()
                print(frames, peak, type(sys.modules["audioop"]).__name__)

        asyncio.run(main())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    frames, peak, audioop_kind = done.stdout.split()
    assert int(frames) == 150
    assert int(peak) > 3000  # the debtor's speech (starting at 1 s) came through
    assert audioop_kind == "module"  # the stand-in, which raises if anything calls it


def test_reinvites_are_answered_on_the_running_streams_without_pops(sip_lab: SipLab) -> None:
    """Hold and resume: pyVoIP re-bound its RTP port (failing) and answered to the registrar;
    its receive buffer also turned the timestamp jump into a full-scale pop."""
    phone = make_phone(sip_lab)
    phone.start()
    try:
        call = phone.call("debtor")
        started = time.monotonic()
        while call.state == CallState.DIALING and time.monotonic() - started < 3:
            time.sleep(0.002)
        peer = sip_lab.bed.peer("debtor")
        peer.command("hold")
        time.sleep(0.3)
        peer.command("resume")
        frames: list[bytes] = []
        while time.monotonic() - started < sip_lab.DEBTOR_SPEECH_AT_S + 3.0:
            jitter = call.streams[0].jitter
            while jitter.available() >= 160:
                frames.append(jitter.read(160))
            time.sleep(0.02)
        assert call.reinvites == 2
        assert call.state == CallState.ANSWERED
        call.hangup()
    finally:
        phone.stop()
    audio = ulaw_to_pcm(b"".join(frames))
    score, onset_s = sip_lab.best_match(sip_lab.debtor_speech[: sip_lab.RATE * 2], audio)
    assert score > 0.95
    before_speech = audio[: int(onset_s * sip_lab.RATE)]
    assert len(before_speech) > 0.3 * sip_lab.RATE
    assert np.abs(before_speech.astype(np.int64)).max() < 500  # silence through hold, no pop


def test_jitter_buffer_orders_fills_and_resynchronises() -> None:
    def frame(value: int) -> bytes:
        return bytes([value]) * 160

    buffer = JitterBuffer()
    buffer.write(1000, frame(1))
    buffer.write(1320, frame(3))  # arrives before the one it follows
    buffer.write(1160, frame(2))
    assert [buffer.read(160) for _ in range(3)] == [frame(1), frame(2), frame(3)]
    buffer.write(1640, frame(5))  # the packet at 1480 is lost
    assert buffer.read(160) == frame(ULAW_SILENCE)  # silence, not 0x00 (a full-scale pop)
    assert buffer.read(160) == frame(5)
    buffer.write(1160, frame(9))  # far too late: already played out, dropped
    assert buffer.available() == 0
    buffer.write(1800 + 8000 * 30, frame(6))  # 30 s jump (hold): a new spurt, no 30 s gap
    assert buffer.available() == 160 and buffer.read(160) == frame(6)
    wrap = JitterBuffer()
    wrap.write(2**32 - 160, frame(7))
    wrap.write(0, frame(8))  # the timestamp wrapped
    assert wrap.read(320) == frame(7) + frame(8)
    assert wrap.read(160) == frame(ULAW_SILENCE)  # nothing more: padded, never blocks
