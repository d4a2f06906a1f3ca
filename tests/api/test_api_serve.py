"""`voicebot serve` on loopback: migrations, OpenAPI docs, a real request, logs without PII."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

VOICEBOT = Path(sys.executable).parent / "voicebot"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_served_api_documents_itself_and_masks_its_logs(tmp_path: Path) -> None:
    env = {**os.environ, "VOICEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'served.sqlite3'}"}
    key = subprocess.run(
        [str(VOICEBOT), "apikey", "create", "ops", "--role", "auditor"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    port = _free_port()
    server = subprocess.Popen(
        [str(VOICEBOT), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/health", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        docs = httpx.get(f"{base}/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        schema = httpx.get(f"{base}/openapi.json").json()
        assert schema["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
        listed = httpx.get(
            f"{base}/debtors",
            params={"external_id": "+573101234567"},
            headers={"X-API-Key": key},
        )
        assert listed.status_code == 200 and listed.json()["total"] == 0
        refused = httpx.get(f"{base}/calls")
        assert refused.status_code == 401
        assert "server" not in refused.headers
        assert refused.headers["x-content-type-options"] == "nosniff"
        assert refused.json()["error"]["code"] == "unauthorized"
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=15)
    assert "/debtors?external_id=" in output
    assert "573101234567" not in output
    assert "***67" in output
