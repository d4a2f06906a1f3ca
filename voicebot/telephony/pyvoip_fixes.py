"""The one place where pyVoIP 1.6.8 is corrected; the SIP carrier uses only these classes.

Each fix is a subclass override (nothing in pyVoIP is modified in place except
the ``audioop`` stand-in below) and has a regression test on the loopback test
bed in ``tests/telephony/test_sip_fixes.py``. Letters match ``SIP.md``:

(a) the ACK for a 200 OK reused a *new random* To-tag (upstream #312/#313), so a
    compliant far end never matched it, kept retransmitting the 200 and dropped
    the call after ~32 s. We ACK with the response's To-tag, to its Contact,
    in a new transaction, and re-ACK retransmitted 200s.
(b) the SIP receive thread started 1 s after ``start()``: an immediate call lost
    its first second. It starts at once and waits on ``select`` instead of a
    10 ms sleep loop. A failed first REGISTER now raises from ``start()``
    (pyVoIP returned as if started and kept retrying in the background).
(c) a 404 (any final failure) during ``call()`` raised ``KeyError`` and
(d) 486/603 were never ACKed, a 486 with no prior 100 blocked ``call()`` forever
    and there was no ring timeout. ``call()`` now registers the call *before*
    sending the INVITE and returns at once; every INVITE response is handled
    by the receive thread (ACK for non-2xx finals, the final status is kept),
    and ``cancel()`` sends a real CANCEL so the carrier can enforce a ring timeout.
    Ended calls stay recognisable for a while, so a late 200 (after CANCEL or
    after we gave up) is ACKed and ended with BYE, and a repeated final re-ACKed.
    A 401/407 challenge to the INVITE is answered once with digest credentials
    (pyVoIP answered 401 only, without qop, inside the blocking ``invite()``).
(e) Call-IDs came from a counter hashed with SHA-256, identical in every process;
    they are random now.
(f) PCMA was encoded as μ-law. Audio is now carried as G.711 bytes end to end
    (no 8-bit linear step at all, which also keeps G.711's full 13-14 bit
    resolution instead of 8 bits), transcoded only when the far end chose PCMA;
    conversions are ``voicebot.audio.codec`` (bit-exact G.711, no audioop).
(g) ``from pyVoIP import SIP`` before ``import pyVoIP.VoIP`` is a circular
    import; this module imports in the working order, so import pyVoIP only here.
(h) pyVoIP imports ``audioop`` (removed in Python 3.13). No code path used by
    these classes calls it; when it is missing a stand-in module that raises on
    use lets pyVoIP import.

Also tightened (not bugs, but they break real-time with many calls): the RTP
sender paces on an absolute 20 ms clock, a re-INVITE is answered on the
running streams (pyVoIP re-bound its RTP ports and answered to the registrar), (pyVoIP's relative sleeps drift late),
the RTP receiver blocks on its socket instead of polling every 10 ms, the receive
buffer fills timestamp gaps with silence (pyVoIP's left 0x00 bytes: a full-scale
pop on every lost packet and hold/resume), the send
queue can be cleared at once (barge-in), RFC 4733 digits are deduplicated by
event timestamp rather than trusting the marker bit, and the threads are daemons.
"""

from __future__ import annotations

import hashlib
import importlib
import re
import secrets
import socket
import sys
import threading
import time
import types
import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from voicebot.audio.codec import alaw_to_pcm, pcm_to_alaw, pcm_to_ulaw, ulaw_to_pcm


def _install_audioop_stand_in() -> None:
    """(h) Let pyVoIP import on Pythons without ``audioop``; the fixed classes never call it."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
            importlib.import_module("audioop")
        return
    except ImportError:
        pass
    stand_in = types.ModuleType("audioop")

    def _unsupported(*_args: object, **_kwargs: object) -> bytes:
        raise NotImplementedError("audioop is gone; use voicebot.telephony.pyvoip_fixes classes")

    for name in ("ulaw2lin", "lin2ulaw", "alaw2lin", "lin2alaw", "bias", "add"):
        setattr(stand_in, name, _unsupported)
    sys.modules["audioop"] = stand_in


_install_audioop_stand_in()

# (g) This order matters: pyVoIP.VoIP first, then SIP and RTP. Python 3.11/3.12
# warn that audioop is deprecated; we know, and (h) is why it no longer matters.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import pyVoIP.VoIP
from pyVoIP import RTP, SIP  # noqa: E402
from pyVoIP.VoIP import CallState, NoPortsAvailableError, VoIPCall, VoIPPhone  # noqa: E402

__all__ = [
    "ULAW_SILENCE",
    "CallState",
    "FixedRTPClient",
    "FixedSIPClient",
    "FixedVoIPCall",
    "FixedVoIPPhone",
    "NoPortsAvailableError",
]

ULAW_SILENCE = 0xFF
FRAME_BYTES = 160  # 20 ms of G.711 at 8 kHz
_RECENT_CALLS = 256  # ended calls still matched to late responses (re-ACK, ACK+BYE)
LINE_RATE_BYTES = 8000  # one second of G.711
_FRAME_S = 0.020
_DTMF_KEYS = "0123456789*#ABCD"


# --- G.711 transcoding between μ-law and A-law (only when the far end picks PCMA) ---


def ulaw_to_alaw(data: bytes) -> bytes:
    return pcm_to_alaw(ulaw_to_pcm(data)).tobytes()


def alaw_to_ulaw(data: bytes) -> bytes:
    return pcm_to_ulaw(alaw_to_pcm(data)).tobytes()


# --- digest authentication (RFC 2617 / RFC 3261 22.4) ---


def parse_challenge(header: str) -> dict[str, str]:
    """The parameters of a ``Digest ...`` challenge header value."""
    body = header.split(None, 1)[1] if header.lower().startswith("digest") else header
    return {
        match.group(1).lower(): match.group(2) if match.group(2) is not None else match.group(3)
        for match in re.finditer(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))', body)
    }


def digest_authorization(
    challenge: str, *, method: str, uri: str, user: str, password: str, cnonce: str = ""
) -> str:
    """The ``Digest ...`` credentials answering ``challenge`` (MD5, with or without qop=auth)."""
    params = parse_challenge(challenge)
    algorithm = params.get("algorithm", "MD5")
    if algorithm.upper() != "MD5":
        raise ValueError(f"unsupported digest algorithm {algorithm!r}")
    realm, nonce = params.get("realm", ""), params.get("nonce", "")

    def md5(text: str) -> str:
        return hashlib.md5(text.encode("utf8")).hexdigest()

    ha1 = md5(f"{user}:{realm}:{password}")
    ha2 = md5(f"{method}:{uri}")
    fields = [
        f'username="{user}"',
        f'realm="{realm}"',
        f'nonce="{nonce}"',
        f'uri="{uri}"',
    ]
    qops = [q.strip() for q in params.get("qop", "").split(",") if q.strip()]
    if "auth" in qops:
        cnonce = cnonce or secrets.token_hex(8)
        nc = "00000001"
        response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        fields += [f'response="{response}"', "qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
    else:
        fields.append(f'response="{md5(f"{ha1}:{nonce}:{ha2}")}"')
    fields.append("algorithm=MD5")
    if "opaque" in params:
        fields.append(f'opaque="{params["opaque"]}"')
    return "Digest " + ", ".join(fields)


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
                packet = self.sin.recv(8192)
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                self.parse_packet(packet)
                self.packets_received += 1
            except (RTP.RTPParseError, IndexError, ValueError):
                continue  # a stray or unsupported packet must not kill the stream

    def trans(self) -> None:
        deadline = time.monotonic()
        while self.NSD:
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


# --- calls and the phone ---


class FixedVoIPCall(VoIPCall):
    """An outbound call that knows its INVITE transaction and its final status."""

    def __init__(self, phone: FixedVoIPPhone, *args: Any, **kwargs: Any) -> None:
        self.fixed_phone = phone
        self.final_status: int | None = None
        self.final_reason = ""
        self.provisional_status: int | None = None
        self.responses: list[int] = []  # every INVITE response status, retransmissions too
        self.invite_branch = ""
        self.invite_cseq = 0
        self.invite_text = ""
        self.ack_text = ""
        self.cancel_requested = False
        self.auth_attempted = False
        self.reinvites = 0  # re-INVITEs answered (session refresh, hold, media change)
        self.remote_target = ""
        self.dialog_headers: list[str] = []
        self._released = False
        self.digits: list[str] = []
        self.on_change: Callable[[], None] = lambda: None
        self._digit_lock = threading.Lock()
        super().__init__(phone, *args, **kwargs)

    @property
    def streams(self) -> list[FixedRTPClient]:
        return [c for c in self.RTPClients if isinstance(c, FixedRTPClient)]

    def create_rtp_clients(
        self,
        codecs: dict[int, RTP.PayloadType],
        ip: str,
        port: int,
        request: SIP.SIPMessage,
        baseport: int,
    ) -> None:
        for index, connection in enumerate(request.body["c"]):
            client = FixedRTPClient(
                codecs,
                ip,
                port,
                connection["address"],
                baseport + index,
                self.sendmode,
                dtmf=self.dtmf_callback,
            )
            self.RTPClients.append(client)

    def dtmf_callback(self, code: str) -> None:
        with self._digit_lock:
            self.digits.append(code)
        self.on_change()

    def take_digits(self) -> list[str]:
        with self._digit_lock:
            digits, self.digits = self.digits, []
        return digits

    def __del__(self) -> None:
        self.release()

    def release(self) -> None:
        """Give the RTP port back exactly once (pyVoIP's ``__del__`` could do it twice)."""
        if not self._released and hasattr(self, "phone"):
            self._released = True
            self.phone.release_ports(call=self)

    def bye(self) -> None:
        super().bye()
        self.release()
        self.on_change()

    def hangup(self) -> None:
        """BYE in its own transaction (pyVoIP reused the INVITE's branch), to the far end's Contact."""
        if self.state != CallState.ANSWERED:
            raise pyVoIP.VoIP.InvalidStateError("Call is not answered")
        for client in self.RTPClients:
            client.stop()
        self.state = CallState.ENDED
        self.fixed_phone.forget(self)
        self.send_bye()
        self.release()
        self.on_change()

    def send_bye(self) -> None:
        lines = [
            f"BYE {self.remote_target} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.myIP}:{self.sip.myPort};branch=z9hG4bK{secrets.token_hex(12)}",
            "Max-Forwards: 70",
            *self.dialog_headers,
            f"CSeq: {self.invite_cseq + 1} BYE",
            "Content-Length: 0",
        ]
        self.fixed_phone.fixed_sip.send("\r\n".join(lines) + "\r\n\r\n")

    def renegotiate(self, request: SIP.SIPMessage) -> None:
        """Answer a re-INVITE (session refresh, hold, new media address) on the running streams.

        pyVoIP restarted every RTP client (binding its port a second time, which
        fails) and sent the 200 to the registrar, which has no transaction for it.
        """
        self.reinvites += 1
        media = {stream.inPort: stream.assoc for stream in self.streams}
        answer = self.sip.gen_answer(request, self.session_id, media, self.sendmode)
        via = request.headers["Via"][0]
        host = via.get("received") or via["address"][0]
        port = via.get("rport") or via["address"][1]
        self.sip.out.sendto(answer.encode("utf8"), (host, int(port)))
        body = request.body if isinstance(request.body, dict) else {}
        connections = body.get("c") or []
        audio = [m for m in body.get("m") or [] if m.get("type") == "audio"]
        if connections and audio:
            for stream in self.streams:
                stream.outIP = connections[0]["address"]
                stream.outPort = int(audio[0]["port"])

    def read_audio(self, length: int = FRAME_BYTES, blocking: bool = False) -> bytes:
        """μ-law from the first stream (pyVoIP mixed several with audioop; we never get several)."""
        return bytes(self.RTPClients[0].read(length, blocking)) if self.RTPClients else b""

    def finish(self, status: int, reason: str) -> None:
        for client in self.RTPClients:
            client.stop()
        self.final_status = status
        self.final_reason = reason
        self.state = CallState.ENDED
        self.release()
        self.on_change()


def _udp_port_free(ip: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True


def _header_lines(text: str, names: tuple[str, ...]) -> list[str]:
    wanted = {name.lower() for name in names}
    lines = text.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
    return [line for line in lines if line.split(":", 1)[0].strip().lower() in wanted]


class FixedSIPClient(SIP.SIPClient):
    """pyVoIP's SIP endpoint with random Call-IDs, an immediate receive loop and INVITE routing."""

    phone: FixedVoIPPhone

    def gen_call_id(self) -> str:  # (e)
        return f"{secrets.token_hex(16)}@{self.myIP}:{self.myPort}"

    def start(self) -> None:  # (b)
        if self.NSD:
            raise RuntimeError("Attempted to start already started SIPClient")
        self.NSD = True
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.bind((self.myIP, self.myPort))
        self.out = self.s
        # The first REGISTER must succeed or raise: pyVoIP swallowed the error and
        # retried in the background, so a wrong server looked like a started phone.
        with self.recvLock:
            self._SIPClient__register()  # type: ignore[attr-defined]
        self.phone._status = pyVoIP.VoIP.PhoneStatus.REGISTERED
        self._SIPClient__start_register_timer()  # type: ignore[attr-defined]
        threading.Thread(target=self.recv_loop, name="SIP receive", daemon=True).start()

    def recv_loop(self) -> None:
        import select

        while self.NSD:
            try:
                ready, _, _ = select.select([self.s], [], [], 0.2)
            except (OSError, ValueError):
                return
            if not ready:
                continue
            try:
                with pyVoIP.util.acquired_lock_and_unblocked_socket(self.recvLock, self.s):
                    self.recv()
            except (BlockingIOError, OSError):
                continue

    def parse_message(self, message: SIP.SIPMessage) -> None:
        if message.type == SIP.SIPMessageType.RESPONSE:
            cseq = message.headers.get("CSeq", {})
            if cseq.get("method") != "INVITE":
                return  # responses to our BYE/CANCEL need no action
            call_id = message.headers.get("Call-ID", "")
            call = self.phone.calls.get(call_id) or self.phone.recent.get(call_id)
            if isinstance(call, FixedVoIPCall):
                self.phone.on_invite_response(call, message)
            return
        super().parse_message(message)

    def send(self, text: str) -> None:
        self.out.sendto(text.encode("utf8"), (self.server, self.port))


class FixedVoIPPhone(VoIPPhone):
    """pyVoIP's phone for outbound calls that never blocks in ``call()``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fixed_sip = FixedSIPClient(
            self.server,
            self.port,
            self.username,
            self.password,
            phone=self,
            myIP=self.myIP,
            myPort=self.sip.myPort,
            callCallback=self.callback,
            fatalCallback=self.fatal,
        )
        self.sip = self.fixed_sip
        self.recent: OrderedDict[str, FixedVoIPCall] = OrderedDict()

    def request_port(self, blocking: bool = True) -> int:
        """A free RTP port, found by random probing (pyVoIP scanned the whole range per call,
        unlocked, and never checked that the port could actually be bound)."""
        del blocking  # never waits: a full range is an error the carrier reports
        with self.portsLock:
            span = self.rtpPortHigh - self.rtpPortLow + 1
            candidates = [secrets.randbelow(span) + self.rtpPortLow for _ in range(32)]
            if len(self.assignedPorts) > span // 2:
                candidates += range(self.rtpPortLow, self.rtpPortHigh + 1)
            for port in candidates:
                if port not in self.assignedPorts and _udp_port_free(self.myIP, port):
                    self.assignedPorts.append(port)
                    return int(port)
        raise NoPortsAvailableError(f"no free RTP port in {self.rtpPortLow}-{self.rtpPortHigh}")

    def call(
        self,
        number: str,
        *,
        codecs: tuple[str, ...] = ("PCMU",),
        display_name: str | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> FixedVoIPCall:  # (c), (d)
        """Send an INVITE and return at once; the receive thread reports what happens next.

        The call is registered (and ``on_change`` attached) before the INVITE leaves,
        so even an immediate 404 finds it.
        """
        port = self.request_port()
        offer: dict[Any, RTP.PayloadType] = {}
        for codec in codecs:
            payload = RTP.PayloadType[codec]
            offer[int(payload)] = payload
        offer[101] = RTP.PayloadType.EVENT
        medias = {port: offer}
        branch = "z9hG4bK" + secrets.token_hex(12)
        call_id = self.sip.gen_call_id()
        session_id = self.sip.sessID.next()
        invite = self.sip.gen_invite(
            number, str(session_id), medias, RTP.TransmitType.SENDRECV, branch, call_id
        )
        if display_name:
            quoted = display_name.replace("\\", "").replace('"', "")
            invite = invite.replace("\r\nFrom: <", f'\r\nFrom: "{quoted}" <', 1)
        call = FixedVoIPCall(
            self,
            CallState.DIALING,
            SIP.SIPMessage(invite.encode("utf8")),
            session_id,
            self.myIP,
            ms=medias,
            sendmode=self.sendmode,
        )
        if on_change is not None:
            call.on_change = on_change
        call.invite_branch = branch
        call.invite_cseq = int(call.request.headers["CSeq"]["check"])
        call.invite_text = invite
        self.calls[call_id] = call
        self.fixed_sip.send(invite)
        return call

    def on_invite_response(self, call: FixedVoIPCall, response: SIP.SIPMessage) -> None:
        status = int(response.status)
        if int(response.headers["CSeq"]["check"]) != call.invite_cseq:
            return  # a late copy answering the INVITE we replaced with an authenticated one
        call.responses.append(status)
        if status < 200:
            call.provisional_status = status
            call.on_change()
        elif status < 300:
            self._on_success(call, response)
        else:
            self._ack_failure(call, response)
            if status in (401, 407) and self._retry_with_credentials(call, response):
                return
            if call.state == CallState.DIALING:
                self.forget(call)
                call.finish(status, str(response.status.phrase))

    def _on_success(self, call: FixedVoIPCall, response: SIP.SIPMessage) -> None:  # (a)
        if call.state != CallState.DIALING:
            if call.ack_text:
                self.fixed_sip.send(call.ack_text)  # a retransmitted 200: the ACK was lost
            else:  # answered after we gave up on it: take the dialog and end it at once
                self._take_dialog(call, response)
                self.fixed_sip.send(call.ack_text)
                call.send_bye()
            return
        call.answered(response)
        self._take_dialog(call, response)
        self.fixed_sip.send(call.ack_text)
        call.on_change()
        if call.cancel_requested:  # the 200 crossed our CANCEL: end it properly
            call.hangup()

    def _take_dialog(self, call: FixedVoIPCall, response: SIP.SIPMessage) -> None:
        call.remote_target = response.headers["Contact"].strip("<>").split(">")[0]
        call.dialog_headers = _header_lines(
            response.raw.decode("utf8", "replace"), ("From", "To", "Call-ID")
        )
        call.ack_text = self._ack_for_success(call)

    def forget(self, call: FixedVoIPCall) -> None:
        """Move an ended call aside, still recognisable for late or retransmitted responses."""
        self.calls.pop(call.call_id, None)
        self.recent[call.call_id] = call
        while len(self.recent) > _RECENT_CALLS:
            self.recent.popitem(last=False)

    def _ack_for_success(self, call: FixedVoIPCall) -> str:
        lines = [
            f"ACK {call.remote_target} SIP/2.0",
            f"Via: SIP/2.0/UDP {self.myIP}:{self.sip.myPort};branch=z9hG4bK{secrets.token_hex(12)}",
            "Max-Forwards: 70",
            *call.dialog_headers,
            f"CSeq: {call.invite_cseq} ACK",
            "Content-Length: 0",
        ]
        return "\r\n".join(lines) + "\r\n\r\n"

    def _ack_failure(self, call: FixedVoIPCall, response: SIP.SIPMessage) -> None:
        # RFC 3261 17.1.1.3: same branch and R-URI as the INVITE, To from the response.
        request_line = call.invite_text.split("\r\n", 1)[0].replace("INVITE", "ACK", 1)
        lines = [
            request_line.rsplit(" ", 1)[0] + " SIP/2.0",
            *_header_lines(call.invite_text, ("Via",)),
            "Max-Forwards: 70",
            *_header_lines(response.raw.decode("utf8", "replace"), ("From", "To", "Call-ID")),
            f"CSeq: {call.invite_cseq} ACK",
            "Content-Length: 0",
        ]
        self.fixed_sip.send("\r\n".join(lines) + "\r\n\r\n")

    def _retry_with_credentials(self, call: FixedVoIPCall, challenge: SIP.SIPMessage) -> bool:
        """Answer one digest challenge to our INVITE (pyVoIP's own retry lived in the
        blocking ``invite()`` we replaced; it ignored 407 and qop)."""
        if call.auth_attempted or not self.password or call.state != CallState.DIALING:
            return False
        name = "WWW-Authenticate" if int(challenge.status) == 401 else "Proxy-Authenticate"
        header = next(
            (
                line.split(":", 1)[1].strip()
                for line in challenge.raw.decode("utf8", "replace").split("\r\n")
                if line.lower().startswith(name.lower() + ":")
            ),
            "",
        )
        if not header.lower().startswith("digest"):
            return False
        request_line = call.invite_text.split("\r\n", 1)[0]
        uri = request_line.split(" ")[1]
        credentials = digest_authorization(
            header, method="INVITE", uri=uri, user=self.username, password=self.password
        )
        authorization = "Authorization" if name == "WWW-Authenticate" else "Proxy-Authorization"
        branch = "z9hG4bK" + secrets.token_hex(12)
        cseq = call.invite_cseq + 1
        invite = call.invite_text.replace(call.invite_branch, branch, 1)
        invite = invite.replace(
            f"\r\nCSeq: {call.invite_cseq} INVITE\r\n", f"\r\nCSeq: {cseq} INVITE\r\n", 1
        )
        invite = invite.replace(
            "\r\nContent-Length", f"\r\n{authorization}: {credentials}\r\nContent-Length", 1
        )
        call.auth_attempted = True
        call.invite_text, call.invite_branch, call.invite_cseq = invite, branch, cseq
        call.provisional_status = None
        self.fixed_sip.send(invite)
        return True

    def cancel(self, call: FixedVoIPCall) -> None:
        """Abandon a ringing call (ring timeout). The far end answers 487, which ends it."""
        if call.state != CallState.DIALING:
            return
        call.cancel_requested = True
        request_line = call.invite_text.split("\r\n", 1)[0].replace("INVITE", "CANCEL", 1)
        lines = [
            request_line,
            *_header_lines(call.invite_text, ("Via", "From", "To", "Call-ID")),
            "Max-Forwards: 70",
            f"CSeq: {call.invite_cseq} CANCEL",
            "Content-Length: 0",
        ]
        self.fixed_sip.send("\r\n".join(lines) + "\r\n\r\n")

    def abandon(self, call: FixedVoIPCall, status: int, reason: str) -> None:
        """Forget a call the far end never answered at all (no response to CANCEL either)."""
        if call.state == CallState.DIALING:
            self.forget(call)
            call.finish(status, reason)
