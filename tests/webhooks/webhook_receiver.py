"""A creditor's webhook receiver on loopback: verifies signatures, deduplicates, misbehaves on cue."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from voicebot.webhooks.signing import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    SignatureError,
    verify_signature,
)


@dataclass
class Receiver:
    """``script`` says how to answer the n-th request: "500", "hang" (sleep past the
    sender's timeout, having processed the event first), or anything else for 200."""

    secret: str
    script: list[str] = field(default_factory=list)
    hang_seconds: float = 1.5
    requests: int = 0
    received: Counter[str] = field(default_factory=Counter)  # every arrival per key
    processed: Counter[str] = field(default_factory=Counter)  # business effects per key
    bodies: dict[str, dict[str, Any]] = field(default_factory=dict)
    bad_signatures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/hooks/voicebot"

    def handle(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            n = self.requests
            self.requests += 1
            action = self.script[n] if n < len(self.script) else "ok"
        if action == "500":
            return 500
        try:
            verify_signature(
                self.secret, body, headers.get(SIGNATURE_HEADER, ""), now=int(time.time())
            )
        except SignatureError as exc:
            self.bad_signatures.append(str(exc))
            return 400
        document = json.loads(body)
        key = headers.get(EVENT_ID_HEADER, "")
        assert key == document["id"]
        with self.lock:
            self.received[key] += 1
            if key not in self.processed:  # the receiver's own idempotency check
                self.processed[key] += 1
                self.bodies[key] = document
        if action == "hang":
            time.sleep(self.hang_seconds)
        return 200

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                status = receiver.handle(dict(self.headers.items()), body)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
