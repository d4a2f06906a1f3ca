"""sipp (Debian ``sip-tester``) as the independent far end for behaviours baresip cannot produce.

A scenario in ``fixtures/sipp`` runs as a UAS registered on the bed's kamailio
(registration itself is a sipp UAC scenario). Every message sipp sent or received
is kept in its message trace, so a test asserts what the peer saw (methods,
CSeq, tags, headers), never when it arrived.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from testbeds.sip import HOST, TestBed, free_port_block, port_is_free
from voicebot.telephony.sip_messages import first, split_message

SCENARIOS = Path(__file__).parent / "fixtures" / "sipp"
_SEPARATOR = re.compile(r"^-{20,}.*$", re.MULTILINE)


def sipp_available() -> bool:
    return shutil.which("sipp") is not None


@dataclass
class SippPeer:
    """One running sipp UAS scenario and its message trace."""

    user: str
    process: subprocess.Popen[bytes]
    trace: Path
    log: Path

    def wait(self, timeout_s: float = 30.0) -> int:
        """sipp's exit code: 0 when the whole scenario ran (every expected message came)."""
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=5)

    def failure(self) -> str:
        texts = [p.read_text(errors="replace")[-3000:] for p in (self.log,) if p.exists()]
        errors = self.trace.parent.glob("*errors.log")
        texts += [p.read_text(errors="replace")[-3000:] for p in errors]
        return "\n".join(texts)

    def messages(self, direction: str = "received") -> list[str]:
        """SIP messages sipp ``received`` or ``sent``, in its own order, as CRLF text."""
        if not self.trace.exists():
            return []
        found: list[str] = []
        chunks = _SEPARATOR.split(self.trace.read_text(errors="replace"))
        for chunk in chunks:
            head, _, rest = chunk.strip("\n").partition("\n")
            if direction not in head.lower():
                continue
            lines = [line.strip() for line in rest.strip("\n").split("\n")]
            text = "\r\n".join(lines).strip("\r\n")
            if text:
                found.append(text)
        return found

    def requests(self, method: str) -> list[str]:
        return [m for m in self.messages("received") if m.startswith(method + " ")]

    def responses_to(self, method: str, *, sent: bool = False) -> list[str]:
        direction = "sent" if sent else "received"
        return [
            m
            for m in self.messages(direction)
            if m.startswith("SIP/2.0") and first(m, "CSeq").endswith(" " + method)
        ]


def start_uas(
    bed: TestBed,
    workdir: Path,
    user: str,
    scenario: str,
    keys: dict[str, str] | None = None,
    files: dict[str, bytes] | None = None,
) -> SippPeer:
    """Run ``scenario`` as the UAS for ``user`` and register it; returns once registered.

    ``files`` are written to sipp's working directory first (an ``rtp_stream`` file is
    read when the scenario loads, by a name relative to it).
    """
    home = workdir / f"sipp-{user}"
    home.mkdir(parents=True, exist_ok=True)
    for name, data in (files or {}).items():
        (home / name).write_bytes(data)
    base = free_port_block(3)
    trace, log = home / "messages.log", home / "sipp.log"
    argv = ["sipp", "-sf", str(SCENARIOS / scenario), "-i", HOST, "-p", str(base)]
    argv += ["-mp", str(base + 1), "-m", "1", "-nd", "-nostdin", "-timeout", "60s"]
    argv += ["-timeout_error", "-trace_msg", "-message_file", str(trace), "-trace_err"]
    argv += ["-error_file", str(home / "errors.log"), "-s", user]
    for name, value in (keys or {}).items():
        argv += ["-key", name, value]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=home, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    peer = SippPeer(user, process, trace, log)
    deadline = time.monotonic() + 10
    while port_is_free(base):  # readiness: sipp has bound its SIP port
        if process.poll() is not None or time.monotonic() > deadline:
            peer.stop()
            raise RuntimeError(f"sipp {scenario} did not start: {peer.failure()}")
        time.sleep(0.01)
    register(bed, home, user, base)
    return peer


def register(bed: TestBed, home: Path, user: str, contact_port: int) -> None:
    """The sipp UAC scenario ``register.xml``: bind ``user`` to the UAS at ``contact_port``."""
    port = free_port_block(1)
    argv = ["sipp", f"{HOST}:{bed.proxy_port}", "-sf", str(SCENARIOS / "register.xml")]
    argv += ["-i", HOST, "-p", str(port), "-m", "1", "-nostdin", "-timeout", "10s"]
    argv += ["-timeout_error", "-key", "user", user, "-key", "contact_port", str(contact_port)]
    done = subprocess.run(argv, cwd=home, capture_output=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"sipp could not register {user}: {done.stdout[-2000:]!r}")


def header_lines(text: str, name: str) -> list[str]:
    return [value for header, value in split_message(text)[1] if header == name.lower()]
