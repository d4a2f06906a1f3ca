"""RTP stream behaviours that need only real UDP sockets on loopback (no SIP)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from voicebot.telephony.pyvoip_import import RTP
from voicebot.telephony.rtp_stream import FRAME_BYTES, ULAW_SILENCE, FixedRTPClient


@pytest.fixture
def udp() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def bound(opened: list[socket.socket]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5.0)
    opened.append(sock)
    return sock


def rtp_packet(sequence: int) -> bytes:
    header = bytes([0x80, 0x00]) + sequence.to_bytes(2, "big")
    header += (sequence * FRAME_BYTES).to_bytes(4, "big") + (0x1234).to_bytes(4, "big")
    return header + bytes([ULAW_SILENCE]) * FRAME_BYTES


def test_symmetric_rtp_sends_to_where_the_far_end_sends_from(udp: list[socket.socket]) -> None:
    """Behind NAT the SDP address is wrong: the stream latches onto the real source."""
    sdp_address = bound(udp)  # what the far end's SDP said; nothing listens behind NAT
    far_end = bound(udp)  # where its RTP really comes from
    port_probe = bound(udp)
    our_port = port_probe.getsockname()[1]
    port_probe.close()
    client = FixedRTPClient(
        {0: RTP.PayloadType.PCMU},
        "127.0.0.1",
        our_port,
        "127.0.0.1",
        sdp_address.getsockname()[1],
        RTP.TransmitType.SENDRECV,
    )
    client.symmetric = True
    client.start()
    try:
        far_end.sendto(rtp_packet(1), ("127.0.0.1", our_port))
        packet, source = far_end.recvfrom(2048)
    finally:
        client.stop()
    assert source == ("127.0.0.1", our_port)  # sent from the port we receive on
    assert packet[0] == 0x80 and len(packet) == 12 + FRAME_BYTES
    assert client.packets_received == 1


def test_comfort_noise_keeps_the_far_end_alive(udp: list[socket.socket]) -> None:
    """A trunk with silence suppression sends only comfort noise (PT 13) while the debtor is
    quiet: not audio we decode, but proof of life for the RTP inactivity timeout."""
    far_end = bound(udp)
    port_probe = bound(udp)
    our_port = port_probe.getsockname()[1]
    port_probe.close()
    client = FixedRTPClient(
        {0: RTP.PayloadType.PCMU},
        "127.0.0.1",
        our_port,
        "127.0.0.1",
        far_end.getsockname()[1],
        RTP.TransmitType.SENDRECV,
    )
    client.start()
    before = client.last_received
    try:
        comfort_noise = bytes([0x80, 13]) + rtp_packet(2)[2:12] + bytes([40])
        far_end.sendto(comfort_noise, ("127.0.0.1", our_port))
        deadline = time.monotonic() + 5  # waits for the receive thread, asserts no timing
        while client.last_received == before and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        client.stop()
    assert client.last_received > before
    assert client.packets_received == 0  # proof of life, not audio
