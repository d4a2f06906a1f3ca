"""The one place where pyVoIP 1.6.8 is corrected; the SIP carrier uses only these classes.

Each fix is a subclass override with a regression test on the loopback bed; the
list (letters a-j, in-dialog requests, identity) and why each matters is in SIP.md.
"""

from __future__ import annotations

import secrets
import socket
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from voicebot.telephony.pyvoip_import import (
    RTP,
    SIP,
    CallState,
    NoPortsAvailableError,
    VoIPPhone,
    pyVoIP,
)
from voicebot.telephony.rtp_stream import FRAME_BYTES, ULAW_SILENCE, FixedRTPClient
from voicebot.telephony.sip_call import FixedVoIPCall
from voicebot.telephony.sip_digest import digest_authorization
from voicebot.telephony.sip_messages import (
    ALLOW,
    SUPPORTED,
    answer_direction,
    dtmf_relay_digit,
    first,
    header_values,
    host_port,
    response_target,
    route_set,
    sdp_direction,
    split_message,
    tag_of,
    uri_of,
)
from voicebot.telephony.sip_messages import (
    response as sip_response,
)

__all__ = [
    "FRAME_BYTES",
    "ULAW_SILENCE",
    "CallState",
    "FixedRTPClient",
    "FixedSIPClient",
    "FixedVoIPCall",
    "FixedVoIPPhone",
    "NoPortsAvailableError",
    "TrunkIdentity",
]

_RECENT_CALLS = 256  # ended calls still matched to late responses (re-ACK, ACK+BYE)
_ANSWERED_REQUESTS = 1024  # far-end requests whose answer is kept for retransmissions


@dataclass(frozen=True, slots=True)
class TrunkIdentity:
    """Who we say we are toward a trunk: the From user and host, and optionally PAI (RFC 3325)."""

    user: str
    domain: str
    display_name: str | None = None
    assert_identity: bool = False


def _udp_port_free(ip: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((ip, port))
        except OSError:
            return False
    return True


def cseq_of(message: SIP.SIPMessage) -> int:
    return int(message.headers.get("CSeq", {}).get("check", 0))


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

    def recv(self) -> None:
        """Requests are answered from their raw text (pyVoIP's parser drops Via params,
        Record-Route and Session-Expires, and rejects methods it does not know)."""
        raw = self.s.recv(65535)
        text = raw.decode("utf8", "replace")
        if not text.strip():
            return  # keep-alive
        if not text.startswith("SIP/2.0"):
            self.phone.on_request(text)
            return
        try:
            message = SIP.SIPMessage(raw)
        except Exception:  # pyVoIP's parser raises anything on odd input
            return
        self.parse_message(message)

    def parse_message(self, message: SIP.SIPMessage) -> None:
        if message.type != SIP.SIPMessageType.RESPONSE:
            return  # requests went through on_request
        method = message.headers.get("CSeq", {}).get("method")
        call_id = message.headers.get("Call-ID", "")
        call = self.phone.calls.get(call_id) or self.phone.recent.get(call_id)
        if not isinstance(call, FixedVoIPCall):
            return
        if method == "INVITE" and cseq_of(message) == call.refresh_invite_cseq:
            self.phone.on_refresh_response(call, message)
        elif method == "INVITE":
            self.phone.on_invite_response(call, message)
        elif method == "UPDATE":
            self.phone.on_refresh_response(call, message)

    def send(self, text: str, to: tuple[str, int] | None = None) -> None:
        self.out.sendto(text.encode("utf8"), to or (self.server, self.port))


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
        self.symmetric_rtp = False
        self.local_tag = secrets.token_hex(8)  # To-tag of out-of-dialog responses
        # (Call-ID, CSeq) → our answer: a retransmitted request gets it again, not re-applied
        self._answered: OrderedDict[tuple[str, str], str] = OrderedDict()
        # UAS: an INVITE from the far end is answered and handed here (None: we only dial out).
        self.on_incoming: Callable[[FixedVoIPCall, str, str], None] | None = None
        self.answer_codecs: tuple[str, ...] = ("PCMU", "PCMA")  # our preference, G.711 only

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
        identity: TrunkIdentity | None = None,
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
        invite = self._with_identity(invite, identity)
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

    def _with_identity(self, invite: str, identity: TrunkIdentity | None) -> str:
        """Our From (display name, caller number, trunk domain), PAI, rport and timer support.

        pyVoIP sent ``From: <sip:{sip user}@{local ip}>`` whatever the caller ID.
        """
        head, _, body = invite.partition("\r\n\r\n")
        lines = head.split("\r\n")
        for index, line in enumerate(lines):
            if line.startswith("Via: ") and ";rport" not in line:
                lines[index] = line + ";rport"  # RFC 3581: answer us where we really are (NAT)
            elif line.startswith("From: "):
                tag = tag_of(line[6:])
                user = identity.user if identity else self.username
                domain = identity.domain if identity else self.myIP
                name = identity.display_name if identity else None
                quoted = f'"{name.replace(chr(92), "").replace(chr(34), "")}" ' if name else ""
                lines[index] = f"From: {quoted}<sip:{user}@{domain}>;tag={tag}"
        extra = [f"Supported: {SUPPORTED}"]
        if identity is not None and identity.assert_identity:
            extra.append(f"P-Asserted-Identity: <sip:{identity.user}@{identity.domain}>")
        at = next(i for i, line in enumerate(lines) if line.startswith("Content-Type"))
        lines[at:at] = extra
        return "\r\n".join(lines) + "\r\n\r\n" + body

    def on_invite_response(self, call: FixedVoIPCall, response: SIP.SIPMessage) -> None:
        status = int(response.status)
        if int(response.headers["CSeq"]["check"]) != call.invite_cseq:
            return  # a late copy answering the INVITE we replaced with an authenticated one
        call.responses.append(status)
        if status < 200:
            call.provisional_status = status
            has_sdp = "m=audio" in response.raw.decode("utf8", "replace")
            if has_sdp and not call.early_media and call.state == CallState.DIALING:
                call.open_early_media(response)
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
                call.send(call.ack_text)  # a retransmitted 200: the ACK was lost
            else:  # answered after we gave up on it: take the dialog and end it at once
                self._take_dialog(call, response)
                call.send(call.ack_text)
                call.send_bye()
            return
        if call.early_media:
            call.close_early_media()
        call.answered(response)
        self._take_dialog(call, response)
        call.send(call.ack_text)
        call.on_change()
        if call.cancel_requested:  # the 200 crossed our CANCEL: end it properly
            call.hangup()

    def _take_dialog(self, call: FixedVoIPCall, response: SIP.SIPMessage) -> None:
        text = response.raw.decode("utf8", "replace")
        call.take_dialog(text, uri_of(first(text, "Contact")), route_set(text))

    def forget(self, call: FixedVoIPCall) -> None:
        """Move an ended call aside, still recognisable for late or retransmitted responses."""
        self.calls.pop(call.call_id, None)
        self.recent[call.call_id] = call
        while len(self.recent) > _RECENT_CALLS:
            self.recent.popitem(last=False)

    def send_in_dialog(self, text: str, routes: list[str]) -> None:
        """To the first hop of the route set; with none, to the registrar as outbound proxy."""
        self.fixed_sip.send(text, host_port(uri_of(routes[0])) if routes else None)

    # --- requests from the far end ---------------------------------------------------

    def on_request(self, text: str) -> None:
        """Answer one request; in-dialog ones keep the dialog's tags (RFC 3261 12.2.2)."""
        start, headers, body = split_message(text)
        method = start.split(" ", 1)[0]
        values = dict(headers)
        call = self.calls.get(values.get("call-id", ""))
        in_dialog = isinstance(call, FixedVoIPCall) and call.state == CallState.ANSWERED
        if method == "ACK":  # for our 2xx to a re-INVITE: stop retransmitting it
            if isinstance(call, FixedVoIPCall):
                call.acked(values.get("cseq", "").split(" ", 1)[0])
            return
        answered = self._answered.get((values.get("call-id", ""), values.get("cseq", "")))
        if answered is not None:  # a retransmission (our answer was lost): same answer, once
            self.fixed_sip.send(answered, response_target(text))
            return
        if not in_dialog or call is None:
            self._out_of_dialog(method, text, bool(tag_of(values.get("to", ""))))
            return
        assert isinstance(call, FixedVoIPCall)
        if method == "BYE":
            self._reply(text, 200, "OK")
            call.bye()
        elif method in ("INVITE", "UPDATE"):
            self._answer_refresh(call, text, body)
        elif method == "INFO":
            self._reply(text, 200, "OK")
            digit = dtmf_relay_digit(values.get("content-type", ""), body)
            if digit is not None:
                call.dtmf_callback(digit)
        elif method == "OPTIONS":
            self._reply(text, 200, "OK", extra=self._capabilities())
        elif method == "CANCEL":
            self._reply(text, 200, "OK")  # nothing pending to cancel in an answered call
        else:
            self._reply(text, 405, "Method Not Allowed", extra=(f"Allow: {ALLOW}",))

    def _out_of_dialog(self, method: str, text: str, has_to_tag: bool) -> None:
        if method == "OPTIONS":
            self._reply(text, 200, "OK", extra=self._capabilities())
        elif method == "INVITE" and not has_to_tag and self.on_incoming is not None:
            self._answer_invite(text)
        elif method == "INVITE" and not has_to_tag:
            self._reply(text, 486, "Busy Here")  # this endpoint only dials out
        elif method in ("BYE", "CANCEL", "UPDATE", "INFO", "INVITE"):
            self._reply(text, 481, "Call/Transaction Does Not Exist")
        else:
            self._reply(text, 405, "Method Not Allowed", extra=(f"Allow: {ALLOW}",))

    # --- UAS: a call to us ------------------------------------------------------------

    def _answer_invite(self, text: str) -> None:
        """Answer a new INVITE at once (RFC 3261 13.3): 200 with our SDP answer (RFC 3264).

        pyVoIP answered to the registrar with every offered codec and no Record-Route; here
        the 200 goes to the Via, copies Record-Route (12.1.1), answers one G.711 codec (our
        preference among the offered) plus telephone-event, and is retransmitted until ACKed.
        """
        try:
            # pyVoIP's parser fails on an empty header ("Supported:", as baresip sends).
            head, sep, sdp = text.partition("\r\n\r\n")
            kept = [line for line in head.split("\r\n") if line.split(":", 1)[-1].strip()]
            message = SIP.SIPMessage(("\r\n".join(kept) + sep + sdp).encode("utf8"))
            chosen = self._answer_payloads(message)
        except Exception:  # pyVoIP's parser raises anything on odd SDP
            chosen = None
        if chosen is None or not message.body.get("c"):
            self._reply(text, 488, "Not Acceptable Here")
            return
        try:
            port = self.request_port()
        except NoPortsAvailableError:
            self._reply(text, 503, "Service Unavailable")
            return
        session_id = self.sip.sessID.next()
        call = FixedVoIPCall(
            self,
            CallState.DIALING,  # pyVoIP's RINGING path would pick codecs and ports itself
            message,
            session_id,
            self.myIP,
            ms={port: chosen},
            sendmode=self.sendmode,
        )
        remote_port = next(int(m["port"]) for m in message.body["m"] if m["type"] == "audio")
        call.create_rtp_clients(chosen, self.myIP, port, message, remote_port)
        local_tag = secrets.token_hex(8)
        _, headers, body = split_message(text)
        values = dict(headers)
        call.dialog_headers = [
            f"From: {values.get('to', '')};tag={local_tag}",
            f"To: {values.get('from', '')}",
            f"Call-ID: {values.get('call-id', '')}",
        ]
        call.remote_target = uri_of(first(text, "Contact"))
        call.route_set = header_values(text, "Record-Route")  # UAS: as received (12.1.1)
        call.invite_cseq = int(values.get("cseq", "0").split(" ", 1)[0] or 0)
        call.direction = answer_direction(sdp_direction(body))
        for client in call.streams:
            client.sending = not call.held
            client.start()
        call.state = CallState.ANSWERED
        self.calls[call.call_id] = call
        answer = sip_response(
            text,
            200,
            "OK",
            to_tag=local_tag,
            extra=(
                *(f"Record-Route: {route}" for route in call.route_set),
                self._contact(),
                *self._capabilities()[:1],
                f"Supported: {SUPPORTED}",
            ),
            body=call.our_sdp(),
        )
        target = response_target(text)
        self.fixed_sip.send(answer, target)
        self._answered[(values.get("call-id", ""), values.get("cseq", ""))] = answer
        call.await_ack(str(call.invite_cseq), answer, target)
        caller = uri_of(first(text, "P-Asserted-Identity") or values.get("from", ""))
        called = uri_of(values.get("to", ""))
        assert self.on_incoming is not None
        self.on_incoming(call, caller, called)

    def _answer_payloads(self, message: SIP.SIPMessage) -> dict[int, RTP.PayloadType] | None:
        """Our preferred G.711 codec among the offered, with telephone-event if offered."""
        audio = next((m for m in message.body.get("m", []) if m["type"] == "audio"), None)
        if audio is None:
            return None
        offered: dict[str, int] = {}
        for method in audio["methods"]:
            rtpmap = audio["attributes"].get(method, {}).get("rtpmap", {})
            name = str(rtpmap.get("name", "")) or {"0": "PCMU", "8": "PCMA"}.get(str(method), "")
            offered.setdefault(name.upper(), int(method))
        codec = next((c for c in self.answer_codecs if c in offered), None)
        if codec is None:
            return None
        chosen = {offered[codec]: RTP.PayloadType[codec]}
        if "TELEPHONE-EVENT" in offered:
            chosen[offered["TELEPHONE-EVENT"]] = RTP.PayloadType.EVENT
        return chosen

    def _answer_refresh(self, call: FixedVoIPCall, text: str, body: str) -> None:
        """A re-INVITE or UPDATE: hold/resume/media change and a session refresh (RFC 4028 9)."""
        answer = call.answer_offer(body) if "m=audio" in body else ""
        call.refreshed(text, by_peer=True)
        extra = [*self._capabilities(), self._contact()]
        timer = call.timer
        if first(text, "Session-Expires") and timer is not None:
            refresher = "uas" if call.we_refresh else "uac"
            extra.append(f"Session-Expires: {int(timer.interval_s)};refresher={refresher}")
            extra.append("Require: timer")
        sent = self._reply(text, 200, "OK", extra=tuple(extra), body=answer)
        if split_message(text)[0].startswith("INVITE"):  # RFC 3261 13.3.1.4: until ACKed
            call.await_ack(first(text, "CSeq").split(" ", 1)[0], sent, response_target(text))

    def on_refresh_response(self, call: FixedVoIPCall, response: SIP.SIPMessage) -> None:
        """The answer to our UPDATE or refreshing re-INVITE (which must be ACKed)."""
        status = int(response.status)
        text = response.raw.decode("utf8", "replace")
        if cseq_of(response) == call.refresh_invite_cseq and status >= 200:
            self._ack_refresh_invite(call, text, status)
        if 200 <= status < 300:
            call.refreshed(text, by_peer=False)
        elif status in (405, 501) and not call.refresh_by_invite and call.we_refresh:
            call.refresh_by_invite = True  # RFC 4028 7.4: refresh with re-INVITE instead
            if call.state == CallState.ANSWERED:
                call.send_refresh()
        elif status in (408, 481) and call.state == CallState.ANSWERED:
            call.hangup("session_refresh_failed")  # RFC 4028 10: the dialog is gone

    def _ack_refresh_invite(self, call: FixedVoIPCall, response: str, status: int) -> None:
        cseq = call.refresh_invite_cseq
        assert cseq is not None
        if status < 300:  # RFC 3261 13.2.2.4: a new transaction, through the route set
            call.send(call.dialog_request("ACK", cseq=cseq))
            return
        # 17.1.1.3: a non-2xx is ACKed in its transaction: the INVITE's Via and Route.
        lines = [
            f"ACK {call.remote_target} SIP/2.0",
            *_header_lines(call.refresh_invite_text, ("Via",)),
            "Max-Forwards: 70",
            *(f"Route: {route}" for route in call.route_set),
            *_header_lines(response, ("From", "To", "Call-ID")),
            f"CSeq: {cseq} ACK",
            "Content-Length: 0",
        ]
        call.send("\r\n".join(lines) + "\r\n\r\n")

    def _reply(
        self, request: str, status: int, reason: str, *, extra: tuple[str, ...] = (), body: str = ""
    ) -> str:
        text = sip_response(request, status, reason, to_tag=self.local_tag, extra=extra, body=body)
        self.fixed_sip.send(text, response_target(request))
        values = dict(split_message(request)[1])
        self._answered[(values.get("call-id", ""), values.get("cseq", ""))] = text
        while len(self._answered) > _ANSWERED_REQUESTS:
            self._answered.popitem(last=False)
        return text

    def _capabilities(self) -> tuple[str, ...]:
        return (f"Allow: {ALLOW}", "Accept: application/sdp", f"Supported: {SUPPORTED}")

    def _contact(self) -> str:
        return f"Contact: <sip:{self.username}@{self.myIP}:{self.sip.myPort}>"

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
