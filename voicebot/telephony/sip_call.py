"""One outbound call's dialog (RFC 3261 12, 3264, 4028) on top of pyVoIP's ``VoIPCall``.

The dialog keeps what pyVoIP forgot: the route set, our CSeq, the remote
target, the stream direction after a hold, the session timer and early media.
Requests we send inside the dialog (ACK, BYE, UPDATE, a refreshing re-INVITE)
are built here; requests the far end sends are answered by ``FixedVoIPPhone``
through ``answer_offer`` and ``refreshed``.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from voicebot.telephony.pyvoip_import import RTP, SIP, CallState, VoIPCall, pyVoIP
from voicebot.telephony.rtp_stream import FRAME_BYTES, FixedRTPClient
from voicebot.telephony.sip_messages import (
    SUPPORTED,
    Direction,
    SessionTimer,
    answer_direction,
    sdp_body,
    sdp_direction,
    session_timer,
    split_message,
)

if TYPE_CHECKING:
    from voicebot.telephony.pyvoip_fixes import FixedVoIPPhone

MIN_SESSION_S = 2.0  # we accept any interval a peer asks for, but never refresh faster
T1_S, T2_S = 0.5, 4.0  # RFC 3261 timers: a 2xx to INVITE is resent at T1, doubling up to T2
_2XX_GIVE_UP_S = 64 * T1_S


class FixedVoIPCall(VoIPCall):
    """An outbound call that knows its INVITE transaction, its dialog and its final status."""

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
        self.dialog_headers: list[str] = []  # From, To (with both tags), Call-ID
        self.route_set: list[str] = []
        self.local_cseq = 0
        self.direction: Direction = "sendrecv"  # our side, as last answered
        self.direction_since = time.monotonic()
        self.sdp_version = 0
        self.timer: SessionTimer | None = None
        self.we_refresh = False
        self.refreshed_at = time.monotonic()
        self.refresh_pending = False
        self.refresh_by_invite = False  # the peer refused UPDATE (405/501)
        self.refresh_invite_cseq: int | None = None
        self.refresh_invite_text = ""
        self.end_reason = ""  # why the call ended when it was not a plain BYE
        # our 2xx to a re-INVITE until its ACK: (CSeq number, text, where, next send, interval)
        self._unacked: tuple[str, str, tuple[str, int], float, float] | None = None
        self._unacked_since = 0.0
        self.early_media = False  # streams opened on a 183/180 with SDP (receive only)
        self.sit_cause: str | None = None  # what the special information tones said
        self._released = False
        self.digits: list[str] = []
        self.hold_changes: list[bool] = []  # every hold (True) / resume (False), in order
        self.on_change: Callable[[], None] = lambda: None
        self._lock = threading.Lock()
        super().__init__(phone, *args, **kwargs)

    @property
    def streams(self) -> list[FixedRTPClient]:
        return [c for c in self.RTPClients if isinstance(c, FixedRTPClient)]

    @property
    def expects_rtp(self) -> bool:
        """The far end is meant to send us audio now (not on hold, not recvonly or inactive)."""
        return self.direction == "sendrecv"

    @property
    def held(self) -> bool:
        """The far end put the call on hold: we answered recvonly or inactive."""
        return self.direction in ("recvonly", "inactive")

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
            client.symmetric = self.fixed_phone.symmetric_rtp
            self.RTPClients.append(client)

    def dtmf_callback(self, code: str) -> None:
        with self._lock:
            self.digits.append(code)
        self.on_change()

    def take_digits(self) -> list[str]:
        with self._lock:
            digits, self.digits = self.digits, []
        return digits

    def take_hold_changes(self) -> list[bool]:
        with self._lock:
            changes, self.hold_changes = self.hold_changes, []
        return changes

    def __del__(self) -> None:
        self.release()

    def release(self) -> None:
        """Give the RTP port back exactly once (pyVoIP's ``__del__`` could do it twice)."""
        if not self._released and hasattr(self, "phone"):
            self._released = True
            self.phone.release_ports(call=self)

    # --- requests we send inside the dialog ------------------------------------------

    def take_dialog(self, response_text: str, remote_target: str, route_set: list[str]) -> None:
        """Adopt the dialog a 2xx established (RFC 3261 12.1.2)."""
        headers = split_message(response_text)[1]
        labels = {"from": "From", "to": "To", "call-id": "Call-ID"}
        self.dialog_headers = [f"{labels[n]}: {v}" for n, v in headers if n in labels]
        self.remote_target = remote_target
        self.route_set = route_set
        self.local_cseq = max(self.local_cseq, self.invite_cseq)
        self.timer = session_timer(response_text)
        self.we_refresh = self.timer is not None and self.timer.refresher == "uac"
        self.refreshed_at = time.monotonic()
        self.ack_text = self.dialog_request("ACK", cseq=self.invite_cseq)

    def next_cseq(self) -> int:
        with self._lock:
            self.local_cseq += 1
            return self.local_cseq

    def dialog_request(
        self, method: str, *, cseq: int | None = None, extra: tuple[str, ...] = (), body: str = ""
    ) -> str:
        """An in-dialog request: to the remote target, through the route set (loose routing)."""
        if cseq is None:
            cseq = self.next_cseq()
        if body:
            extra = (*extra, "Content-Type: application/sdp")
        phone = self.fixed_phone
        lines = [
            f"{method} {self.remote_target} SIP/2.0",
            f"Via: SIP/2.0/UDP {phone.myIP}:{phone.sip.myPort};branch="
            f"z9hG4bK{secrets.token_hex(12)};rport",
            "Max-Forwards: 70",
            *(f"Route: {route}" for route in self.route_set),
            *self.dialog_headers,
            f"CSeq: {cseq} {method}",
            *extra,
            f"Content-Length: {len(body.encode('utf8'))}",
        ]
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def send(self, text: str) -> None:
        self.fixed_phone.send_in_dialog(text, self.route_set)

    def send_bye(self) -> None:
        self.send(self.dialog_request("BYE"))

    def hangup(self, reason: str = "") -> None:
        """BYE in its own transaction, through the route set, with the next CSeq."""
        if self.state != CallState.ANSWERED:
            raise pyVoIP.VoIP.InvalidStateError("Call is not answered")
        for client in self.RTPClients:
            client.stop()
        self.state = CallState.ENDED
        self.end_reason = self.end_reason or reason
        self.fixed_phone.forget(self)
        self.send_bye()
        self.release()
        self.on_change()

    def bye(self) -> None:
        """The far end hung up (its BYE has been answered)."""
        super().bye()
        self.fixed_phone.forget(self)
        self.release()
        self.on_change()

    def await_ack(self, cseq: str, response: str, to: tuple[str, int]) -> None:
        now = time.monotonic()
        with self._lock:
            self._unacked = (cseq, response, to, now + T1_S, T1_S)
            self._unacked_since = now

    def acked(self, cseq: str) -> None:
        with self._lock:
            if self._unacked is not None and self._unacked[0] == cseq:
                self._unacked = None

    def retransmit_2xx(self, now: float) -> None:
        """Resend our 2xx to a re-INVITE at T1, 2·T1, … up to T2 until the ACK (13.3.1.4)."""
        with self._lock:
            pending = self._unacked
            if pending is None or now < pending[3]:
                return
            cseq, response, to, _, interval = pending
            if now - self._unacked_since > _2XX_GIVE_UP_S:
                self._unacked = None
                return
            interval = min(2 * interval, T2_S)
            self._unacked = (cseq, response, to, now + interval, interval)
        self.fixed_phone.fixed_sip.send(response, to)

    def send_refresh(self) -> None:
        """RFC 4028: refresh the session (we are the refresher) with an UPDATE without SDP,
        or with a re-INVITE offering our current SDP once the peer refused UPDATE."""
        assert self.timer is not None
        self.refresh_pending = True
        interval = f"Session-Expires: {int(self.timer.interval_s)};refresher=uac"
        contact = f"Contact: <sip:{self.fixed_phone.username}@{self.myIP}:{self.sip.myPort}>"
        extra = (interval, f"Supported: {SUPPORTED}", contact)
        if not self.refresh_by_invite:
            self.send(self.dialog_request("UPDATE", extra=extra))
            return
        self.refresh_invite_cseq = self.next_cseq()
        self.refresh_invite_text = self.dialog_request(
            "INVITE", cseq=self.refresh_invite_cseq, extra=extra, body=self.our_sdp()
        )
        self.send(self.refresh_invite_text)

    def session_due(self, now: float) -> str:
        """What the session timer asks for now: 'refresh', 'expired' or ''.

        RFC 4028 10: the refresher refreshes at half the interval (and the session is
        over if even that got no answer by the end); the other side ends the call
        when no refresh came shortly before expiry.
        """
        timer = self.timer
        if timer is None or self.state != CallState.ANSWERED:
            return ""
        interval = max(timer.interval_s, MIN_SESSION_S)
        elapsed = now - self.refreshed_at
        if self.we_refresh:
            if not self.refresh_pending and elapsed >= interval / 2:
                return "refresh"
            return "expired" if elapsed >= interval else ""
        return "expired" if elapsed >= interval - min(32.0, interval / 3) else ""

    def refreshed(self, text: str, *, by_peer: bool) -> None:
        """A refresh succeeded: a 2xx to our UPDATE, or a re-INVITE/UPDATE from the far end."""
        timer = session_timer(text)
        if timer is not None:
            self.timer = timer
            if by_peer:  # the far end is the UAC of this transaction
                self.we_refresh = timer.refresher == "uas"
            else:
                self.we_refresh = timer.refresher != "uas"
        self.refreshed_at = time.monotonic()
        self.refresh_pending = False

    # --- offers from the far end ----------------------------------------------------

    def answer_offer(self, sdp: str) -> str:
        """Apply a re-INVITE/UPDATE offer on the running streams; our SDP answer.

        pyVoIP restarted every RTP client (binding its port a second time) and
        always answered sendrecv; a sendonly hold must be answered recvonly.
        """
        self.reinvites += 1
        direction = answer_direction(sdp_direction(sdp))
        was_held = self.held
        if direction != self.direction:
            self.sdp_version += 1
            self.direction_since = time.monotonic()
        self.direction = direction
        if self.held != was_held:
            with self._lock:
                self.hold_changes.append(self.held)
        address = re.search(r"^c=IN IP4 (\S+)", sdp, re.MULTILINE)
        port = re.search(r"^m=audio (\d+)", sdp, re.MULTILINE)
        for stream in self.streams:
            stream.sending = not self.held
            if address and port and address.group(1) != "0.0.0.0":
                stream.outIP, stream.outPort = address.group(1), int(port.group(1))
        self.on_change()
        return self.our_sdp()

    def our_sdp(self) -> str:
        """Our side of the session as it stands (for an answer or a refresh offer)."""
        main = self.streams[0] if self.streams else None
        payloads = {pt: f"{p}/{p.rate}" for pt, p in main.assoc.items()} if main else {}
        return sdp_body(
            session_id=int(self.session_id),
            version=int(self.session_id) + 2 + self.sdp_version,
            ip=self.myIP,
            port=main.inPort if main is not None else 0,
            payloads=payloads,
            direction=self.direction,
        )

    def open_early_media(self, response: SIP.SIPMessage) -> None:
        """Receive the far end's early media (ringback, announcements, SIT); send nothing."""
        try:
            self.answered(response)  # pyVoIP's SDP handling: builds and starts the streams
        except (RTP.RTPParseError, KeyError, ValueError, OSError):
            self.close_early_media()  # unusable early SDP: wait for the answer without it
            self.state = CallState.DIALING
            return
        self.state = CallState.DIALING
        self.early_media = True
        for stream in self.streams:
            stream.sending = False

    def close_early_media(self) -> None:
        """Free the RTP port before the 200's streams bind it."""
        for client in self.RTPClients:
            client.stop()
        self.RTPClients = []
        self.early_media = False

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
