"""A loopback stand-in for Twilio's Messages API that holds requests to the documented format.

It answers like Twilio (201 with a message resource, 4xx/5xx with Twilio's error JSON) and
refuses whatever Twilio would: a wrong path or API version, missing basic auth, an unknown
or missing form field, a number not in E.164, a WhatsApp sender for an SMS recipient. It
signs the webhooks it would send (status callbacks, inbound texts) as Twilio does, with its
own implementation of the scheme so the service's verifier is checked against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlparse

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "standin-auth-token-5e1f"
FROM = "+15005550006"  # our number at Twilio
FIELDS = {"To", "From", "Body", "StatusCallback", "ContentSid", "ContentVariables"}
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def twilio_signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """https://www.twilio.com/docs/usage/security: URL + each POST key and value, sorted by key."""
    payload = url + "".join(key + form[key] for key in sorted(form))
    digest = hmac.new(auth_token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


@dataclass
class TwilioStandIn:
    """``script`` answers the n-th send: "201" (default), "429", "500", "400", "drop"."""

    script: list[str] = field(default_factory=list)
    accepted: list[dict[str, str]] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    _sids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def base_url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def _refuse(self, status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
        self.refusals.append(message)
        return status, {"code": code, "message": message, "status": status}

    def handle(self, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, Any]:
        with self.lock:
            n = self.requests
            self.requests += 1
        action = self.script[n] if n < len(self.script) else "201"
        if path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
            return self._refuse(404, 20404, f"The requested resource {path} was not found")
        expected = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        if headers.get("authorization", "") != f"Basic {expected}":
            return self._refuse(401, 20003, "Authentication Error - invalid username")
        if headers.get("content-type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return self._refuse(400, 21000, "expected a form-encoded body")
        form = dict(parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True))
        unknown = set(form) - FIELDS
        if unknown:
            return self._refuse(400, 21000, f"unknown parameters {sorted(unknown)}")
        to, sender = form.get("To", ""), form.get("From", "")
        whatsapp = to.startswith("whatsapp:")
        if whatsapp != sender.startswith("whatsapp:"):
            return self._refuse(400, 63007, "To and From must be on the same channel")
        for number in (to.removeprefix("whatsapp:"), sender.removeprefix("whatsapp:")):
            if not E164.match(number):
                return self._refuse(400, 21211, f"The 'To' number {number} is not valid")
        if not form.get("Body") and not form.get("ContentSid"):
            return self._refuse(400, 21602, "Message body is required")
        callback = form.get("StatusCallback")
        if callback is not None and not callback.startswith(("http://", "https://")):
            return self._refuse(400, 21609, "Invalid StatusCallback")
        if action == "429":
            return 429, {"code": 20429, "message": "Too Many Requests", "status": 429}
        if action == "500":
            return 500, {"code": 20500, "message": "Internal Server Error", "status": 500}
        if action == "400":
            return self._refuse(400, 21610, "Attempt to send to unsubscribed recipient")
        sid = f"SM{next(self._sids):032x}"
        with self.lock:
            self.accepted.append({**form, "sid": sid})
        if action == "drop":
            return -1, None  # accepted, but the answer never reaches the client
        return 201, {
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": to,
            "from": sender,
            "body": form.get("Body", ""),
            "status": "queued",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/{sid}.json",
        }

    def status_callback(
        self, sent: Mapping[str, str], status: str, error: str = ""
    ) -> tuple[str, dict[str, str], str]:
        """(url, form, X-Twilio-Signature) of the status callback Twilio would post."""
        form = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "From": sent["From"],
            "To": sent["To"],
            "MessageSid": sent["sid"],
            "SmsSid": sent["sid"],
            "MessageStatus": status,
            "SmsStatus": status,
        }
        if error:
            form["ErrorCode"] = error
        url = sent["StatusCallback"]
        return url, form, twilio_signature(AUTH_TOKEN, url, form)

    def inbound(
        self, url: str, sender: str, to: str, body: str, sid: str
    ) -> tuple[dict[str, str], str]:
        form = {
            "AccountSid": ACCOUNT_SID,
            "ApiVersion": "2010-04-01",
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "From": sender,
            "To": to,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
        }
        return form, twilio_signature(AUTH_TOKEN, url, form)

    def start(self) -> TwilioStandIn:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, document = standin.handle(urlparse(self.path).path, headers, body)
                if status < 0:
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                raw = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
