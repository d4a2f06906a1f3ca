"""``voicebot demo --serve``: the CLI starts, the console answers, the campaign progresses, and
SIGINT or SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

VOICEBOT = Path(sys.executable).parent / "voicebot"
WAIT = 180  # seconds: a generous bound for a loaded CI machine, never a measured speed


def _attempts(client: httpx.Client) -> int:
    """Every demo campaign's attempts so far, through the API with the printed key."""
    campaigns = client.get("/campaigns")
    assert campaigns.status_code == 200, campaigns.text
    total = 0
    for campaign in campaigns.json()["items"]:
        status = client.get(f"/campaigns/{campaign['id']}/status")
        assert status.status_code == 200, status.text
        total += status.json()["kpis"]["attempts"]
    return total


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_demo_serve_runs_the_campaign_under_the_console_and_stops_on_a_signal(
    tmp_path: Path, stop: signal.Signals
) -> None:
    env = {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "VOICEBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    process = subprocess.Popen(
        [
            str(VOICEBOT),
            "demo",
            "--serve",
            "--text",
            "--port",
            "0",
            "--debtors",
            "40",
            "--call-seconds",
            "1.5",
            "--database",
            str(tmp_path / "demo.sqlite3"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    lines: queue.Queue[str] = queue.Queue()
    output: list[str] = []

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        url = key = ""
        while not key:
            line = lines.get(timeout=WAIT)
            if found := re.search(r"Console: (http://\S+)", line):
                url = found.group(1)
            if found := re.search(r"Manager key \(shown once, sign in with it\): (\S+)", line):
                key = found.group(1)
        assert url.startswith("http://127.0.0.1:") and url.endswith("/console/"), url
        base = url.removesuffix("/console/")
        with httpx.Client(base_url=base, timeout=30) as browser:
            login = browser.get("/console/login")
            assert login.status_code == 200
            csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
            assert csrf is not None
            signed = browser.post(
                "/console/login",
                data={"csrf": csrf.group(1), "api_key": key},
                follow_redirects=True,
            )
            assert signed.status_code == 200
            assert "demo-co" in browser.get("/console/campaigns").text
        with httpx.Client(base_url=base, timeout=30, headers={"X-API-Key": key}) as api:
            # The campaign progresses while the console serves: attempts grow under our eyes.
            seen = [_attempts(api)]
            while len(set(seen)) < 3:
                line = lines.get(timeout=WAIT)  # the next finished call
                seen.append(_attempts(api))
                if "campaign finished" in line:
                    break
            assert len(set(seen)) >= 2 and seen == sorted(seen), seen
        process.send_signal(stop)
        assert process.wait(timeout=WAIT) == 0, "".join(output)
        reader.join(WAIT)
        assert "Stopped." in "".join(output)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
