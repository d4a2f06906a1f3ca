"""Pure SIP/SDP text helpers for in-dialog work (RFC 3261, 3264, 4028); no sockets, no pyVoIP.

pyVoIP's parser drops what a dialog needs (the raw Via lines, Record-Route,
Session-Expires), so the dialog layer reads the raw message with these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Direction = Literal["sendrecv", "sendonly", "recvonly", "inactive"]

# RFC 3261 7.3.3 compact forms, and RFC 4028's.
_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
    "c": "content-type",
    "k": "supported",
    "x": "session-expires",
}
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, INFO"
SUPPORTED = "timer"


def _name(raw: str) -> str:
    name = raw.strip().lower()
    return _COMPACT.get(name, name)


def split_message(text: str) -> tuple[str, list[tuple[str, str]], str]:
    """(start line, [(lower-case full header name, value)], body); folded lines joined."""
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and headers:
            name, value = headers[-1]
            headers[-1] = (name, value + " " + line.strip())
        elif ":" in line:
            name, value = line.split(":", 1)
            headers.append((_name(name), value.strip()))
    return lines[0], headers, body


def header_values(text: str, name: str) -> list[str]:
    """Every value of header ``name``, comma-separated lists split (outside ``<>`` and quotes)."""
    wanted = _name(name)
    values: list[str] = []
    for header, value in split_message(text)[1]:
        if header == wanted:
            values += _split_list(value) if wanted in _LIST_HEADERS else [value]
    return values


_LIST_HEADERS = {"via", "record-route", "route", "supported", "require", "allow"}


def _split_list(value: str) -> list[str]:
    items, depth, quoted, start = [], 0, False, 0
    for index, char in enumerate(value):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "<":
            depth += 1
        elif not quoted and char == ">":
            depth -= 1
        elif not quoted and depth == 0 and char == ",":
            items.append(value[start:index].strip())
            start = index + 1
    items.append(value[start:].strip())
    return [item for item in items if item]


def first(text: str, name: str) -> str:
    values = header_values(text, name)
    return values[0] if values else ""


def tag_of(name_addr: str) -> str:
    """The ``tag`` parameter of a From/To value ('' when absent)."""
    after = name_addr.rsplit(">", 1)[-1] if ">" in name_addr else name_addr
    match = re.search(r";\s*tag=([^;\s]+)", after)
    return match.group(1) if match else ""


def uri_of(name_addr: str) -> str:
    """The URI inside ``<>`` (or the bare URI up to its header parameters)."""
    match = re.search(r"<([^>]*)>", name_addr)
    return match.group(1) if match else name_addr.split(";", 1)[0].strip()


def host_port(uri: str, default_port: int = 5060) -> tuple[str, int]:
    """Where a SIP URI points: ``sip:user@host:port;params`` → (host, port)."""
    rest = uri.split(":", 1)[1] if uri.lower().startswith(("sip:", "sips:")) else uri
    rest = rest.split("@", 1)[-1].split(";", 1)[0].split("?", 1)[0]
    host, _, port = rest.partition(":")
    return host, int(port) if port.isdigit() else default_port


def route_set(response_text: str) -> list[str]:
    """A UAC's route set from the 2xx (RFC 3261 12.1.2): Record-Route in reverse order."""
    return list(reversed(header_values(response_text, "Record-Route")))


def response_target(request_text: str) -> tuple[str, int]:
    """Where a response goes (RFC 3261 18.2.2, RFC 3581): the top Via's received/rport."""
    via = first(request_text, "Via")
    sent_by = via.split(None, 1)[1] if " " in via else via
    host, _, port = sent_by.split(";", 1)[0].strip().partition(":")
    params: dict[str, str] = {}
    for param in via.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        params[name.lower()] = value
    port_number = int(port) if port.isdigit() else 5060
    if params.get("rport", "").isdigit():
        port_number = int(params["rport"])
    return params.get("received") or host, port_number


def response(
    request_text: str,
    status: int,
    reason: str,
    *,
    to_tag: str,
    extra: tuple[str, ...] = (),
    body: str = "",
    content_type: str = "application/sdp",
) -> str:
    """A response to ``request_text`` (RFC 3261 8.2.6): Via, From, Call-ID, CSeq copied as
    received, the To copied with our tag added only when it has none."""
    headers = split_message(request_text)[1]
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {value}" for name, value in headers if name == "via"]
    for name, label in (("from", "From"), ("to", "To"), ("call-id", "Call-ID"), ("cseq", "CSeq")):
        value = next((v for n, v in headers if n == name), "")
        if name == "to" and not tag_of(value) and status > 100:
            value = f"{value};tag={to_tag}"
        lines.append(f"{label}: {value}")
    lines += list(extra)
    if body:
        lines.append(f"Content-Type: {content_type}")
    lines.append(f"Content-Length: {len(body.encode('utf8'))}")
    return "\r\n".join(lines) + "\r\n\r\n" + body


def sdp_direction(body: str) -> Direction:
    """The offerer's stream direction (RFC 3264 6.1); ``c=0.0.0.0`` is RFC 2543 hold."""
    direction: Direction = "sendrecv"
    for line in body.replace("\r\n", "\n").split("\n"):
        value = line.strip()
        if value in ("a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"):
            direction = value[2:]  # type: ignore[assignment]  # one of the four literals
        elif value.startswith("c=") and value.endswith(" 0.0.0.0") and direction == "sendrecv":
            direction = "sendonly"
    return direction


_ANSWER: dict[Direction, Direction] = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}


def answer_direction(offer: Direction) -> Direction:
    """RFC 3264 6.1: a sendonly offer is answered recvonly (we then must not send), and so on."""
    return _ANSWER[offer]


@dataclass(frozen=True, slots=True)
class SessionTimer:
    """RFC 4028 Session-Expires: the interval and who refreshes ('uac' or 'uas')."""

    interval_s: float
    refresher: str


def session_timer(text: str) -> SessionTimer | None:
    value = first(text, "Session-Expires")
    match = re.match(r"\s*(\d+)", value)
    if not match:
        return None
    refresher = re.search(r"refresher\s*=\s*(uac|uas)", value, re.IGNORECASE)
    return SessionTimer(float(match.group(1)), refresher.group(1).lower() if refresher else "")


def dtmf_relay_digit(content_type: str, body: str) -> str | None:
    """The key of a SIP INFO ``application/dtmf-relay`` body (``Signal=5``), if any."""
    if "dtmf-relay" not in content_type.lower():
        return None
    match = re.search(r"Signal\s*=\s*([0-9*#A-Da-d])", body)
    return match.group(1).upper() if match else None


def sdp_body(
    *,
    session_id: int,
    version: int,
    ip: str,
    port: int,
    payloads: dict[int, str],
    direction: Direction,
) -> str:
    """Our SDP for one audio stream; ``payloads`` maps payload type → ``rtpmap`` encoding."""
    lines = [
        "v=0",
        f"o=voicebot {session_id} {version} IN IP4 {ip}",
        "s=voicebot",
        f"c=IN IP4 {ip}",
        "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(pt) for pt in payloads)}",
    ]
    for pt, encoding in payloads.items():
        lines.append(f"a=rtpmap:{pt} {encoding}")
        if encoding.startswith("telephone-event"):
            lines.append(f"a=fmtp:{pt} 0-15")
    lines += ["a=ptime:20", f"a={direction}"]
    return "\r\n".join(lines) + "\r\n"
