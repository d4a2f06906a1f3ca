"""In-dialog SIP against an independent peer: sipp scenarios on the loopback bed.

Each test runs a scenario written from the RFCs (fixtures/sipp) as the far end
and asserts what that peer received from the bot (CSeq, tags, Route, SDP), read
from sipp's message trace: never arrival order or timing.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np
import pytest
from sipp_peer import SippPeer, sipp_available, start_uas

from testbeds.sip import sip_options
from voicebot.audio.codec import pcm_to_ulaw
from voicebot.domain.outcome import Disposition
from voicebot.telephony.carrier import (
    AudioIn,
    DialFailure,
    DigitIn,
    FarEndHangup,
    HoldChanged,
    LineInput,
)
from voicebot.telephony.sip import SipCallLeg, SipCarrier, SipSettings
from voicebot.telephony.sip_messages import first, header_values, sdp_direction, tag_of, uri_of
from voicebot.telephony.sit import SitCause, sit_sequence

if TYPE_CHECKING:
    from conftest import SipLab

pytestmark = pytest.mark.skipif(not sipp_available(), reason="sipp (sip-tester) is not installed")


@pytest.fixture
def sipp(sip_lab: SipLab) -> Iterator[list[SippPeer]]:
    started: list[SippPeer] = []
    yield started
    for peer in started:
        peer.stop()


def run_uas(
    sip_lab: SipLab,
    started: list[SippPeer],
    user: str,
    scenario: str,
    files: dict[str, bytes] | None = None,
    **keys: str,
) -> SippPeer:
    peer = start_uas(sip_lab.bed, sip_lab.workdir, user, scenario, keys, files)
    started.append(peer)
    return peer


async def until_hangup(leg: SipCallLeg) -> list[LineInput]:
    """Everything the leg delivered except audio, up to and including the hangup."""
    seen: list[LineInput] = []
    while True:
        item = await leg.receive()
        if not isinstance(item, AudioIn):
            seen.append(item)
        if isinstance(item, FarEndHangup):
            return seen


def stray_request(method: str, to: tuple[str, int]) -> int | None:
    """A request for a dialog that does not exist; the final status the bot answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(3.0)
        port = sock.getsockname()[1]
        request = (
            f"{method} sip:bot@{to[0]}:{to[1]} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:peer@127.0.0.1>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <sip:bot@{to[0]}>;tag=nosuchdialog\r\n"
            f"Call-ID: {uuid.uuid4().hex}\r\n"
            f"CSeq: 7 {method}\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        sock.sendto(request.encode(), to)
        try:
            answer = sock.recv(65535).decode()
        except TimeoutError:
            return None
    assert first(answer, "CSeq") == f"7 {method}"
    return int(answer.split(" ", 2)[1])


async def until_digit(leg: SipCallLeg, digit: str) -> list[LineInput]:
    """Everything but audio, up to and including ``digit``."""
    seen: list[LineInput] = []
    while DigitIn(digit) not in seen:
        item = await leg.receive()
        if not isinstance(item, AudioIn):
            seen.append(item)
    return seen


def sent_ok(peer: SippPeer) -> str:
    """The peer's 200 to the bot's INVITE (the dialog's To-tag and Contact)."""
    return next(r for r in peer.responses_to("INVITE", sent=True) if r.startswith("SIP/2.0 200"))


def cseq(text: str) -> tuple[int, str]:
    number, method = first(text, "CSeq").split()
    return int(number), method


def test_in_dialog_requests_are_answered_in_the_dialog(
    sip_lab: SipLab, sipp: list[SippPeer]
) -> None:
    peer = run_uas(sip_lab, sipp, "sipp-dialog", "uas_in_dialog.xml")

    async def call() -> list[LineInput]:
        async with SipCarrier(sip_lab.settings(rtp_timeout_s=60)) as carrier:
            leg = await carrier.dial("sipp-dialog", ring_timeout_s=10)
            assert isinstance(leg, SipCallLeg), leg
            return await asyncio.wait_for(until_hangup(leg), 30)

    seen = asyncio.run(call())
    assert peer.wait() == 0, peer.failure()

    invite = peer.requests("INVITE")[0]
    bot_tag = tag_of(first(invite, "From"))
    sent_200 = sent_ok(peer)
    peer_tag = tag_of(first(sent_200, "To"))
    # Every answer to the peer's requests stays in the dialog: both tags as established.
    for method in ("OPTIONS", "INFO", "UPDATE", "INVITE", "BYE"):
        answers = peer.responses_to(method)
        assert answers, f"no answer to {method}"
        for answer in answers:
            assert answer.startswith("SIP/2.0 200"), answer
            assert tag_of(first(answer, "To")) == bot_tag, (method, answer)
            assert tag_of(first(answer, "From")) == peer_tag, (method, answer)
    assert "UPDATE" in header_values(peer.responses_to("OPTIONS")[0], "Allow")
    # RFC 4028 9: a refresh with Session-Expires is answered with it.
    assert "1800" in first(peer.responses_to("UPDATE")[0], "Session-Expires")
    # RFC 3264 6.1: sendonly hold answered recvonly, resume answered sendrecv.
    reinvite_answers = {cseq(a)[0]: a for a in peer.responses_to("INVITE") if cseq(a)[0] > 1}
    assert sdp_direction(reinvite_answers[4].partition("\r\n\r\n")[2]) == "recvonly"
    assert sdp_direction(reinvite_answers[5].partition("\r\n\r\n")[2]) == "sendrecv"
    # The call engine heard the key sent by INFO and was told about hold and resume.
    assert DigitIn("7") in seen
    holds = [item.held for item in seen if isinstance(item, HoldChanged)]
    assert holds == [True, False]
    # The ACK for the 200 followed the route set through the second hop.
    ack = peer.requests("ACK")[0]
    assert any("sbc=sipp" in route for route in header_values(ack, "Route")), ack
    assert cseq(ack) == (cseq(invite)[0], "ACK")


def test_dead_peer_is_dropped_after_rtp_timeout(sip_lab: SipLab, sipp: list[SippPeer]) -> None:
    peer = run_uas(sip_lab, sipp, "sipp-silent", "uas_silent.xml", session_expires="X-Timer: none")

    async def call() -> SipCallLeg:
        async with SipCarrier(sip_lab.settings(rtp_timeout_s=1.0)) as carrier:
            leg = await carrier.dial("sipp-silent", ring_timeout_s=10)
            assert isinstance(leg, SipCallLeg), leg
            await asyncio.wait_for(until_hangup(leg), 30)
            return leg

    leg = asyncio.run(call())
    assert peer.wait() == 0, peer.failure()
    assert leg.end_reason == "rtp_timeout"
    assert leg.hung_up_by == "remote"
    invite = peer.requests("INVITE")[0]
    bye = peer.requests("BYE")[0]
    # The BYE is in the dialog: next CSeq, the dialog's tags, through the route set.
    assert cseq(bye) == (cseq(invite)[0] + 1, "BYE")
    assert tag_of(first(bye, "From")) == tag_of(first(invite, "From"))
    sent_200 = sent_ok(peer)
    assert tag_of(first(bye, "To")) == tag_of(first(sent_200, "To"))
    assert any("sbc=sipp" in route for route in header_values(bye, "Route")), bye
    assert uri_of(bye.split(" ")[1]) == uri_of(first(sent_200, "Contact"))


def test_bot_refreshes_the_session_when_asked(sip_lab: SipLab, sipp: list[SippPeer]) -> None:
    peer = run_uas(sip_lab, sipp, "sipp-refresh", "uas_refresh.xml")

    async def call() -> SipCallLeg:
        async with SipCarrier(sip_lab.settings(rtp_timeout_s=60)) as carrier:
            leg = await carrier.dial("sipp-refresh", ring_timeout_s=10)
            assert isinstance(leg, SipCallLeg), leg
            await asyncio.wait_for(until_hangup(leg), 30)
            return leg

    leg = asyncio.run(call())
    assert peer.wait() == 0, peer.failure()  # the UPDATE came before the session expired
    invite = peer.requests("INVITE")[0]
    update = peer.requests("UPDATE")[0]
    assert cseq(update) == (cseq(invite)[0] + 1, "UPDATE")
    assert first(update, "Session-Expires").startswith("6")
    assert tag_of(first(update, "From")) == tag_of(first(invite, "From"))
    assert leg.end_reason == ""  # the peer's BYE ended it


def test_session_that_is_not_refreshed_is_dropped_with_trunk_identity(
    sip_lab: SipLab, sipp: list[SippPeer]
) -> None:
    peer = run_uas(
        sip_lab,
        sipp,
        "sipp-expiring",
        "uas_silent.xml",
        session_expires="Session-Expires: 3;refresher=uas",
    )
    settings = sip_lab.settings(rtp_timeout_s=60, caller_number="+5716001234", assert_identity=True)

    async def call() -> SipCallLeg:
        async with SipCarrier(settings) as carrier:
            leg = await carrier.dial("sipp-expiring", ring_timeout_s=10)
            assert isinstance(leg, SipCallLeg), leg
            await asyncio.wait_for(until_hangup(leg), 30)
            return leg

    leg = asyncio.run(call())
    assert peer.wait() == 0, peer.failure()
    assert leg.end_reason == "session_expired"
    invite = peer.requests("INVITE")[0]
    assert cseq(peer.requests("BYE")[0]) == (cseq(invite)[0] + 1, "BYE")
    # Identity toward a trunk: the caller number is the From user, asserted with PAI.
    assert uri_of(first(invite, "From")) == "sip:+5716001234@127.0.0.1"
    assert first(invite, "From").startswith('"Cobranza Demo" <')
    assert header_values(invite, "P-Asserted-Identity") == ["<sip:+5716001234@127.0.0.1>"]
    bot_via = [v for v in header_values(invite, "Via") if f":{settings.local_port};" in v]
    # RFC 3581: the proxy filled in our rport because we asked for it.
    assert f"rport={settings.local_port}" in bot_via[0].split(";"), bot_via
    assert "timer" in header_values(invite, "Supported")


def test_out_of_dialog_requests_get_an_answer(sip_lab: SipLab) -> None:
    settings = sip_lab.settings()

    async def probe() -> tuple[int | None, int | None]:
        async with SipCarrier(settings):
            me = (settings.local_ip, settings.local_port)
            options = await asyncio.to_thread(sip_options, f"sip:bot@{me[0]}:{me[1]}", me, 3.0)
            stray_bye = await asyncio.to_thread(stray_request, "BYE", me)
            return options, stray_bye

    assert asyncio.run(probe()) == (200, 481)


@pytest.mark.parametrize(
    ("cause", "disposition"), [("number", Disposition.FAIL), ("congestion", Disposition.NA)]
)
def test_sit_in_early_media_ends_the_dial_with_its_cause(
    sip_lab: SipLab, sipp: list[SippPeer], cause: SitCause, disposition: Disposition
) -> None:
    """A dead number announced with tones in a 183 used to ring out as no answer."""
    tones = np.concatenate(
        [np.zeros(4000, np.int16), sit_sequence(cause), np.zeros(8000, np.int16)]
    )
    user = f"sipp-sit-{cause}"
    files = {"sit.ulaw": pcm_to_ulaw(tones).tobytes()}  # raw 8 kHz mu-law, as rtp_stream plays
    peer = run_uas(sip_lab, sipp, user, "uas_sit.xml", files)

    async def call() -> object:
        async with SipCarrier(sip_lab.settings()) as carrier:
            return await carrier.dial(user, ring_timeout_s=20)

    result = asyncio.run(call())
    assert peer.wait() == 0, peer.failure()  # the bot sent CANCEL and ACKed the 487
    assert isinstance(result, DialFailure), result
    assert (result.disposition, result.reason) == (disposition, f"sit:{cause}")
    invite, cancel = peer.requests("INVITE")[0], peer.requests("CANCEL")[0]
    assert cseq(cancel) == (cseq(invite)[0], "CANCEL")


def test_bot_refreshes_with_reinvite_when_update_is_refused(
    sip_lab: SipLab, sipp: list[SippPeer]
) -> None:
    peer = run_uas(sip_lab, sipp, "sipp-no-update", "uas_refresh_no_update.xml")

    async def call() -> SipCallLeg:
        async with SipCarrier(sip_lab.settings(rtp_timeout_s=60)) as carrier:
            leg = await carrier.dial("sipp-no-update", ring_timeout_s=10)
            assert isinstance(leg, SipCallLeg), leg
            await asyncio.wait_for(until_hangup(leg), 30)
            return leg

    leg = asyncio.run(call())
    assert peer.wait() == 0, peer.failure()  # UPDATE, then re-INVITE, then its ACK
    first_invite = peer.requests("INVITE")[0]
    # by CSeq: the proxy may have retransmitted the first INVITE on a loaded machine
    reinvite = next(r for r in peer.requests("INVITE") if cseq(r) != cseq(first_invite))
    update = peer.requests("UPDATE")[0]
    assert cseq(update) == (cseq(first_invite)[0] + 1, "UPDATE")
    assert cseq(reinvite) == (cseq(update)[0] + 1, "INVITE")
    assert sdp_direction(reinvite.partition("\r\n\r\n")[2]) == "sendrecv"
    assert first(reinvite, "Session-Expires").startswith("6")
    # Each 200 ACKed (a retransmitted 200 is ACKed again, so compare the set).
    acks = {cseq(ack) for ack in peer.requests("ACK")}
    assert acks == {(cseq(first_invite)[0], "ACK"), (cseq(reinvite)[0], "ACK")}
    assert leg.end_reason == ""


def test_a_retransmitted_request_is_answered_again_not_replayed(sip_lab: SipLab) -> None:
    """Our 200 to an INFO lost on the way: the peer sends the same INFO again. It must get
    the same answer, and the key must not reach the dialog twice."""
    settings = sip_lab.settings(rtp_timeout_s=60)

    async def call() -> tuple[list[str], list[LineInput]]:
        async with SipCarrier(settings) as carrier:
            leg = await carrier.dial("listener", ring_timeout_s=10)
            assert isinstance(leg, SipCallLeg), leg
            info = in_dialog_request(
                "INFO", leg._call.dialog_headers, settings, cseq=900, body=DTMF_RELAY_5
            )
            answers = await asyncio.to_thread(send_twice, info, settings)
            seen = await asyncio.wait_for(until_digit(leg, "5"), 10)
            await leg.hangup()
            return answers, seen + await until_hangup(leg)

    answers, seen = asyncio.run(call())
    assert len(answers) == 2 and answers[0] == answers[1] and answers[0].startswith("SIP/2.0 200")
    assert seen.count(DigitIn("5")) == 1


DTMF_RELAY_5 = "Signal=5\r\nDuration=160\r\n"


def send_twice(template: str, settings: SipSettings) -> list[str]:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5.0)
        request = template.replace("{port}", str(sock.getsockname()[1]))
        answers = []
        for _ in range(2):
            sock.sendto(request.encode(), (settings.local_ip, settings.local_port))
            answers.append(sock.recv(65535).decode())
    return answers


def test_our_answer_to_a_reinvite_is_resent_until_acked(sip_lab: SipLab) -> None:
    """RFC 3261 13.3.1.4: the 2xx to an INVITE is retransmitted until its ACK arrives (a lost
    200 used to leave the far end retrying, and UDP loses packets)."""
    settings = sip_lab.settings(rtp_timeout_s=60)

    async def call() -> tuple[list[str], list[LineInput]]:
        async with SipCarrier(settings) as carrier:
            leg = await carrier.dial("listener", ring_timeout_s=10)
            assert isinstance(leg, SipCallLeg), leg
            hold = in_dialog_request(
                "INVITE", leg._call.dialog_headers, settings, cseq=901, body=HOLD_OFFER
            )
            answers = await asyncio.to_thread(unacked_invite, hold, settings)
            seen = await asyncio.wait_for(until_hold(leg), 10)
            await leg.hangup()
            return answers, seen

    answers, seen = asyncio.run(call())
    assert len(answers) == 2 and answers[0] == answers[1]  # the same 200, sent again
    assert answers[0].startswith("SIP/2.0 200") and "a=recvonly" in answers[0]
    assert [item for item in seen if isinstance(item, HoldChanged)] == [HoldChanged(True)]


HOLD_OFFER = (
    "v=0\r\no=peer 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendonly\r\n"
)


async def until_hold(leg: SipCallLeg) -> list[LineInput]:
    seen: list[LineInput] = []
    while HoldChanged(True) not in seen:
        item = await leg.receive()
        if not isinstance(item, AudioIn):
            seen.append(item)
    return seen


def in_dialog_request(
    method: str, dialog: list[str], settings: SipSettings, *, cseq: int, body: str = ""
) -> str:
    """A request from the phone's side of the dialog (its From is our To, and back); the Via
    port is filled in by the sender."""
    ours = next(h for h in dialog if h.startswith("From: "))[6:]
    theirs = next(h for h in dialog if h.startswith("To: "))[4:]
    call_id = next(h for h in dialog if h.startswith("Call-ID: "))
    kind = "application/sdp" if body.startswith("v=0") else "application/dtmf-relay"
    return (
        f"{method} sip:bot@{settings.local_ip}:{settings.local_port} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{{port}};branch=z9hG4bK{uuid.uuid4().hex}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: {theirs}\r\nTo: {ours}\r\n{call_id}\r\nCSeq: {cseq} {method}\r\n"
        f"Contact: <sip:peer@127.0.0.1:{{port}}>\r\n"
        + (f"Content-Type: {kind}\r\n" if body else "")
        + f"Content-Length: {len(body)}\r\n\r\n{body}"
    )


def unacked_invite(template: str, settings: SipSettings) -> list[str]:
    """Send the INVITE, wait for the 200 and its retransmission, then ACK it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5.0)
        request = template.replace("{port}", str(sock.getsockname()[1]))
        bot = (settings.local_ip, settings.local_port)
        sock.sendto(request.encode(), bot)
        answers = [sock.recv(65535).decode() for _ in range(2)]
        head = request.split("\r\n\r\n", 1)[0].split("\r\n")
        to = next(line for line in answers[0].split("\r\n") if line.startswith("To: "))
        ack = [
            head[0].replace("INVITE", "ACK", 1),
            f"Via: SIP/2.0/UDP 127.0.0.1:{sock.getsockname()[1]};branch=z9hG4bK{uuid.uuid4().hex}",
            *(h for h in head[1:] if h.startswith(("From:", "Call-ID:", "Max-Forwards:"))),
            to,
            next(h for h in head if h.startswith("CSeq:")).replace("INVITE", "ACK"),
            "Content-Length: 0",
        ]
        sock.sendto(("\r\n".join(ack) + "\r\n\r\n").encode(), bot)
    return answers


def test_a_peer_that_only_receives_is_not_dropped_for_silence(
    sip_lab: SipLab, sipp: list[SippPeer]
) -> None:
    """After a=recvonly the far end sends no RTP by design; the inactivity timeout (1.5 s
    here, for a 3 s silence) must not take that for a dead peer."""
    peer = run_uas(sip_lab, sipp, "sipp-recvonly", "uas_recvonly.xml")

    async def call() -> SipCallLeg:
        async with SipCarrier(sip_lab.settings(rtp_timeout_s=1.5)) as carrier:
            leg = await carrier.dial("sipp-recvonly", ring_timeout_s=10)
            assert isinstance(leg, SipCallLeg), leg
            await asyncio.wait_for(until_hangup(leg), 30)
            return leg

    leg = asyncio.run(call())
    assert peer.wait() == 0, peer.failure()  # its BYE came first: the bot sent none
    assert peer.requests("BYE") == []
    assert leg.end_reason == ""
    answer = next(a for a in peer.responses_to("INVITE") if cseq(a)[0] == 1)
    assert sdp_direction(answer.partition("\r\n\r\n")[2]) == "sendonly"
