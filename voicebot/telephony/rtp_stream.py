"""RTP for one call: μ-law both ways, a jitter buffer, a clearable playout queue.

Replaces pyVoIP's packet managers and threads (see SIP.md: fixes f and j, pacing).
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

from voicebot.audio.codec import alaw_to_pcm, pcm_to_alaw, pcm_to_ulaw, ulaw_to_pcm
from voicebot.telephony.pyvoip_import import RTP

ULAW_SILENCE = 0xFF
FRAME_BYTES = 160  # 20 ms of G.711 at 8 kHz
LINE_RATE_BYTES = 8000  # one second of G.711
_FRAME_S = 0.020
_DTMF_KEYS = "0123456789*#ABCD"


# --- G.711 transcoding between μ-law and A-law (only when the far end picks PCMA) ---


def ulaw_to_alaw(data: bytes) -> bytes:
    return pcm_to_alaw(ulaw_to_pcm(data)).tobytes()


def alaw_to_ulaw(data: bytes) -> bytes:
    return pcm_to_ulaw(alaw_to_pcm(data)).tobytes()


# --- RTP ---


class JitterBuffer:
    """The receive side: μ-law placed by RTP timestamp, read in order, gaps filled with silence.

    Replaces pyVoIP's ``RTPPacketManager``, which left timestamp gaps as 0x00
    bytes (a full-scale pop in 8-bit linear and in μ-law alike: lost packets and
    every hold/resume clicked) and, after a long timestamp jump, made the reader
    wade through the whole gap. A jump of more than ``MAX_GAP`` samples starts a
    new talk spurt right after what was already received; a late packet for
    audio already read is dropped; timestamps wrap at 2**32.
    """

    MAX_GAP = LINE_RATE_BYTES  # 1 s

    def __init__(self) -> None:
        self._data = bytearray()
        self._read = 0  # bytes of _data already read
        self._base: int | None = None  # RTP timestamp of _data[0]
        self._lock = threading.Lock()

    def write(self, timestamp: int, payload: bytes) -> None:
        with self._lock:
            if self._base is None:
                self._base = timestamp
            at = (timestamp - self._base) % 2**32
            if at >= 2**31:
                at -= 2**32  # earlier than the buffer start
            end = len(self._data)
            if at > end + self.MAX_GAP or at < self._read - self.MAX_GAP:
                self._base = (timestamp - end) % 2**32  # a new talk spurt: append
                at = end
            if at + len(payload) <= self._read:
                return  # too late: that moment has been played out
            if at < self._read:
                payload, at = payload[self._read - at :], self._read
            if at > end:
                self._data += bytes([ULAW_SILENCE]) * (at - end)
            self._data[at : at + len(payload)] = payload

    def read(self, length: int = FRAME_BYTES) -> bytes:
        with self._lock:
            chunk = bytes(self._data[self._read : self._read + length])
            self._read += len(chunk)
            if self._read >= 4 * LINE_RATE_BYTES and self._base is not None:
                del self._data[: self._read]
                self._base = (self._base + self._read) % 2**32
                self._read = 0
        return chunk + bytes([ULAW_SILENCE]) * (length - len(chunk))

    def available(self) -> int:
        """Bytes received and not yet read (what a poller may take without inventing silence)."""
        with self._lock:
            return len(self._data) - self._read


class PlayoutQueue:
    """The send side: a FIFO of μ-law bytes the RTP clock drains, clearable at once."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._lock = threading.Lock()

    def write(self, _offset: int, data: bytes) -> None:
        with self._lock:
            self._data += data

    def read(self, length: int = FRAME_BYTES) -> bytes:
        with self._lock:
            chunk = bytes(self._data[:length])
            del self._data[:length]
        return chunk + bytes([ULAW_SILENCE]) * (length - len(chunk))

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


class FixedRTPClient(RTP.RTPClient):
    """One RTP stream carrying μ-law bytes both ways (see (f) and the pacing note)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.jitter = JitterBuffer()
        self.playout = PlayoutQueue()
        self.pmin = self.jitter  # type: ignore[assignment]  # same read/write shape
        self.pmout = self.playout  # type: ignore[assignment]  # same read/write shape
        self._last_event_timestamp: int | None = None
        self.packets_sent = 0
        self.packets_received = 0
        self.last_received = time.monotonic()  # when RTP last arrived (the inactivity timer)
        self.sending = True  # False while we answered a hold recvonly/inactive (RFC 3264 6.1)
        self.symmetric = False  # send to where the far end's RTP comes from (NAT, RFC 4961)

    def start(self) -> None:
        self.sin = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sout = self.sin
        self.sin.bind((self.inIP, self.inPort))
        self.sin.settimeout(0.1)
        for name, target in (("RTP receiver", self.recv), ("RTP sender", self.trans)):
            threading.Thread(target=target, name=f"{name} {self.inPort}", daemon=True).start()

    def stop(self) -> None:
        self.NSD = False
        self.sin.close()

    def recv(self) -> None:
        while self.NSD:
            try:
                packet, source = self.sin.recvfrom(8192)
            except TimeoutError:
                continue
            except OSError:
                return
            # Any packet proves the far end alive: comfort noise (PT 13) during its silence
            # suppression is not audio we decode, but it must hold off the RTP timeout.
            self.last_received = time.monotonic()
            try:
                self.parse_packet(packet)
            except (RTP.RTPParseError, IndexError, ValueError, KeyError):
                continue  # a stray or unsupported packet must not kill the stream
            self.packets_received += 1
            if self.symmetric and source != (self.outIP, self.outPort):
                self.outIP, self.outPort = source  # latch: behind NAT the SDP address is wrong

    def trans(self) -> None:
        deadline = time.monotonic()
        while self.NSD:
            if not self.sending:  # on hold: keep the clock, keep the queue for the resume
                deadline += _FRAME_S
                time.sleep(max(0.0, deadline - time.monotonic()))
                continue
            payload = self.encode_packet(self.pmout.read(FRAME_BYTES))
            header = bytes([0x80, int(self.preference) & 0x7F])
            header += (self.outSequence & 0xFFFF).to_bytes(2, "big")
            header += (self.outTimestamp & 0xFFFFFFFF).to_bytes(4, "big")
            header += self.outSSRC.to_bytes(4, "big")
            try:
                self.sout.sendto(header + payload, (self.outIP, self.outPort))
                self.packets_sent += 1
            except OSError:
                if not self.NSD:
                    return
            self.outSequence += 1
            self.outTimestamp += len(payload)
            deadline += _FRAME_S
            delay = deadline - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.2:
                deadline = time.monotonic()  # stalled for long: resync, don't burst

    def encode_packet(self, payload: bytes) -> bytes:
        if self.preference == RTP.PayloadType.PCMA:
            return ulaw_to_alaw(payload)
        return payload

    def parse_pcmu(self, packet: RTP.RTPMessage) -> None:
        self.pmin.write(packet.timestamp, packet.payload)

    def parse_pcma(self, packet: RTP.RTPMessage) -> None:
        self.pmin.write(packet.timestamp, alaw_to_ulaw(packet.payload))

    def parse_telephone_event(self, packet: RTP.RTPMessage) -> None:
        # RFC 4733: every packet of one key press shares its timestamp; the marker
        # bit is only on the first, which may be lost, and the end is sent 3 times.
        if not packet.payload or packet.timestamp == self._last_event_timestamp:
            return
        self._last_event_timestamp = packet.timestamp
        event = packet.payload[0]
        if event < len(_DTMF_KEYS) and self.dtmf is not None:
            self.dtmf(_DTMF_KEYS[event])
