"""A real SIP network on loopback: one kamailio proxy plus one baresip phone per peer.

Used by the SIP tests and ``bench/bench_sip.py`` (and handy for trying the bot by
hand). Everything binds 127.0.0.1 on ports chosen free at start, runs in its own
process group and is killed on ``stop()``, so nothing outlives the session.

The proxy is deliberately small: REGISTER saves a location, INVITEs are
record-routed and in-dialog requests loose-routed (a route set to honour), a few reserved users answer with fixed failures so the negative
paths (busy, decline, unavailable, ringing forever) are real SIP, and any other
user is looked up or answered 404. Reserved users answer statefully and without
a 100 Trying, like a trunk that rejects at once: the final response is
retransmitted until it is ACKed, which is how the tests see a missing ACK.
INVITEs from two reserved callers are digest-challenged like a PBX or trunk does.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import uuid
import wave
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HOST = "127.0.0.1"
_PR_SET_PDEATHSIG = 1
KAMAILIO_MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
BARESIP_MODULES = Path("/usr/lib/baresip/modules")

# Reserved users the proxy answers itself, with the final status they get.
BUSY_USER = "busy"  # 486 Busy Here
DECLINE_USER = "decline"  # 603 Decline
UNAVAILABLE_USER = "unavailable"  # 503 Service Unavailable
NOANSWER_USER = "noanswer"  # 180 Ringing, then nothing until CANCEL
# Callers whose INVITEs are challenged (digest, password AUTH_PASSWORD, realm = From host).
PROXY_AUTH_CALLER = "authbot"  # 407 Proxy-Authenticate with qop=auth
WWW_AUTH_CALLER = "wwwbot"  # 401 WWW-Authenticate without qop
AUTH_PASSWORD = "s3cret-loopback"


class TestBedError(RuntimeError):
    """The loopback network could not be brought up; the message says which part."""


@dataclass(frozen=True, slots=True)
class PeerSpec:
    """One phone on the bed: who it is and what it says when it answers.

    ``wav`` must be 8 kHz mono 16-bit; baresip hangs up when it ends, so pad it
    with silence to keep the peer on the line as long as a test needs.
    """

    user: str
    wav: Path
    answer: bool = True


def kamailio_config(*, port: int, ctl_socket: Path) -> str:
    """The proxy's whole routing logic (no database, no authentication)."""
    return f"""#!KAMAILIO
debug=1
log_stderror=yes
memdbg=5
memlog=5
children=2
disable_tcp=yes
auto_aliases=no
listen=udp:{HOST}:{port}
alias="{HOST}:{port}"
mpath="{KAMAILIO_MODULES}/"

loadmodule "kex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "textops.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "ctl.so"
loadmodule "auth.so"
loadmodule "rr.so"

modparam("ctl", "binrpc", "unix:{ctl_socket}")
modparam("usrloc", "db_mode", 0)
modparam("tm", "fr_inv_timer", 120000)
modparam("tm", "auto_inv_100", 0)

request_route {{
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (is_method("REGISTER")) {{
        if (!save("location")) {{
            sl_reply_error();
        }}
        exit;
    }}
    if (is_method("CANCEL")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (has_totag()) {{
        loose_route();
        t_relay();
        exit;
    }}
    if (is_method("ACK")) {{
        t_check_trans();
        exit;
    }}
    if (is_method("OPTIONS") && $rU == $null) {{
        sl_send_reply("200", "OK");
        exit;
    }}
    if (is_method("INVITE") && $fU == "{PROXY_AUTH_CALLER}") {{
        if (!pv_proxy_authenticate("$fd", "{AUTH_PASSWORD}", "0")) {{
            proxy_challenge("$fd", "1");
            exit;
        }}
        consume_credentials();
    }}
    if (is_method("INVITE") && $fU == "{WWW_AUTH_CALLER}") {{
        if (!pv_www_authenticate("$fd", "{AUTH_PASSWORD}", "0")) {{
            www_challenge("$fd", "0");
            exit;
        }}
        consume_credentials();
    }}
    if ($rU == "{BUSY_USER}") {{
        t_newtran();
        t_reply("486", "Busy Here");
        exit;
    }}
    if ($rU == "{DECLINE_USER}") {{
        t_newtran();
        t_reply("603", "Decline");
        exit;
    }}
    if ($rU == "{UNAVAILABLE_USER}") {{
        t_newtran();
        t_reply("503", "Service Unavailable");
        exit;
    }}
    if ($rU == "{NOANSWER_USER}") {{
        t_newtran();
        t_reply("180", "Ringing");
        exit;
    }}
    if (!lookup("location")) {{
        sl_send_reply("404", "Not Found");
        exit;
    }}
    if (is_method("INVITE")) {{
        record_route();
    }}
    t_relay();
}}
"""


def baresip_config(
    *, sip_port: int, ctrl_port: int, rtp_ports: tuple[int, int], record_dir: Path
) -> str:
    """A headless phone: WAV in, recordings out, commands over TCP."""
    modules = ("g711", "aufile", "aubridge", "sndfile", "ctrl_tcp")
    apps = ("account", "contact", "menu")
    lines = [
        "poll_method epoll",
        f"sip_listen {HOST}:{sip_port}",
        "call_local_timeout 120",
        "call_max_calls 64",
        "audio_player aubridge,nil",
        "audio_alert aubridge,nil",
        "audio_level no",
        "ausrc_format s16",
        "auplay_format s16",
        "auenc_format s16",
        "audec_format s16",
        "audio_buffer 20-160",
        "jitter_buffer_delay 1-5",
        f"rtp_ports {rtp_ports[0]}-{rtp_ports[1]}",
        "rtcp_mux no",
        f"net_interface {HOST}",
        f"module_path {BARESIP_MODULES}",
        *(f"module {m}.so" for m in modules),
        *(f"module_app {m}.so" for m in apps),
        f"ctrl_tcp_listen {HOST}:{ctrl_port}",
        f"snd_path {record_dir}",
    ]
    return "\n".join(lines) + "\n"


def baresip_account(spec: PeerSpec, *, proxy_port: int) -> str:
    mode = "auto" if spec.answer else "manual"
    return (
        f"<sip:{spec.user}@{HOST}:{proxy_port};transport=udp>"
        f";regint=3600;answermode={mode};audio_source=aufile,{spec.wav}\n"
    )


def netstring(payload: bytes) -> bytes:
    return str(len(payload)).encode() + b":" + payload + b","


def split_netstrings(buffer: bytes) -> tuple[list[bytes], bytes]:
    """Complete netstrings in ``buffer`` and the unparsed rest."""
    items: list[bytes] = []
    while True:
        colon = buffer.find(b":")
        if colon <= 0:
            return items, buffer
        length = int(buffer[:colon])
        end = colon + 1 + length
        if len(buffer) < end + 1:
            return items, buffer
        items.append(buffer[colon + 1 : end])
        buffer = buffer[end + 1 :]


def write_wav(path: Path, pcm: bytes, rate: int = 8000) -> Path:
    """Write 16-bit mono PCM bytes as a WAV file (the only format the peers play)."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm)
    return path


def voiced_frames(
    pcm: npt.NDArray[np.int16], frame: int = 160, threshold: float = 300.0
) -> npt.NDArray[np.bool_]:
    """Per ``frame`` samples (20 ms at 8 kHz): is there voice energy (mean absolute amplitude
    above ``threshold``)? How tests and benches read what a phone of the bed heard or said."""
    usable = len(pcm) // frame * frame
    frames = np.abs(pcm[:usable].astype(np.float64)).reshape(-1, frame)
    return np.asarray(frames.mean(axis=1) > threshold)


def port_is_free(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as probe:
            try:
                probe.bind((HOST, port))
            except OSError:
                return False
    return True


def free_port_block(size: int, *, low: int = 21000, high: int = 60000) -> int:
    """The first port of ``size`` consecutive ports that are free right now."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(low, high - size)
        if all(port_is_free(base + i) for i in range(size)):
            return base
    raise TestBedError(f"no block of {size} free ports between {low} and {high}")


def sip_options(uri: str, proxy: tuple[str, int], timeout_s: float = 0.5) -> int | None:
    """Send one OPTIONS through the proxy and return the final status (None on silence)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.settimeout(timeout_s)
        local_port = sock.getsockname()[1]
        call_id = uuid.uuid4().hex
        branch = "z9hG4bK" + uuid.uuid4().hex[:16]
        request = (
            f"OPTIONS {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {HOST}:{local_port};branch={branch}\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@{HOST}>;tag={uuid.uuid4().hex[:8]}\r\n"
            f"To: <{uri}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        sock.sendto(request.encode(), proxy)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                data = sock.recv(65535)
            except TimeoutError:
                return None
            parts = data.split(b" ", 2)
            if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) >= 200:
                return int(parts[1])
    return None


@dataclass
class _Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=3)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=3)


def _die_with_parent(sig: signal.Signals) -> Callable[[], None]:
    """In the child: get ``sig`` when the thread that started us dies, even by SIGKILL.

    ``stop()`` is the normal path; this keeps a killed test run from leaving
    phones and a proxy behind. (So start the bed from a thread that outlives it.)
    kamailio gets SIGTERM so it takes its children down; baresip gets SIGKILL
    because on SIGTERM it first waits to un-register from the dead proxy.
    """

    def arm() -> None:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig)

    return arm


def _spawn(
    name: str, argv: Sequence[str], log: Path, cwd: Path, on_orphan: signal.Signals
) -> _Process:
    with log.open("wb") as out:
        popen = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=_die_with_parent(on_orphan),
        )
    return _Process(name, popen, log)


@dataclass
class BaresipPeer:
    """One running phone: send it keys, hang it up, read what it heard."""

    spec: PeerSpec
    sip_port: int
    ctrl_port: int
    home: Path
    record_dir: Path
    process: _Process | None = None

    @property
    def user(self) -> str:
        return self.spec.user

    def command(self, command: str, params: str = "", timeout_s: float = 3.0) -> dict[str, Any]:
        """Run one menu command over ctrl_tcp and return baresip's JSON response."""
        token = uuid.uuid4().hex[:8]
        body = json.dumps({"command": command, "params": params, "token": token}).encode()
        with socket.create_connection((HOST, self.ctrl_port), timeout=timeout_s) as conn:
            conn.sendall(netstring(body))
            buffer = b""
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                items, buffer = split_netstrings(buffer + chunk)
                for item in items:
                    message: dict[str, Any] = json.loads(item)
                    if message.get("response") and message.get("token") == token:
                        return message
        raise TestBedError(f"baresip {self.user}: no response to {command!r}")

    def send_digits(self, digits: str, gap_s: float = 0.25) -> None:
        """Key digits into the current call as RFC 4733 events."""
        for digit in digits:
            self.command("sndcode", digit)
            time.sleep(gap_s)

    def hangup(self) -> None:
        self.command("hangup")

    def recordings(self, direction: str) -> list[Path]:
        """sndfile dumps, oldest first: ``dec`` is what the peer heard, ``enc`` what it sent."""
        found = self.record_dir.glob(f"*-{direction}.wav")
        return sorted(found, key=lambda p: p.stat().st_mtime)

    def clear_recordings(self) -> None:
        for path in self.record_dir.glob("*.wav"):
            path.unlink()


@dataclass
class TestBed:
    """kamailio + baresip peers on loopback; a context manager that always cleans up."""

    workdir: Path
    peers: Sequence[PeerSpec]
    proxy_port: int = 0
    rtp_ports: tuple[int, int] = (0, 0)
    _processes: list[_Process] = field(default_factory=list)
    _peers: dict[str, BaresipPeer] = field(default_factory=dict)

    __test__ = False  # not a pytest test class despite the name

    def __enter__(self) -> TestBed:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def proxy(self) -> tuple[str, int]:
        return (HOST, self.proxy_port)

    def uri(self, user: str) -> str:
        return f"sip:{user}@{HOST}:{self.proxy_port}"

    def peer(self, user: str) -> BaresipPeer:
        return self._peers[user]

    def start(self, timeout_s: float = 20.0) -> None:
        for tool in ("kamailio", "baresip"):
            if shutil.which(tool) is None:
                raise TestBedError(f"{tool} is not installed (apt-get install {tool})")
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self._start_proxy(timeout_s)
            self._start_peers(timeout_s)
            # A free block for whoever dials in (the bot's RTP ports).
            base = free_port_block(400)
            self.rtp_ports = (base, base + 399)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for process in reversed(self._processes):
            process.stop()
        self._processes.clear()

    def _start_proxy(self, timeout_s: float) -> None:
        self.proxy_port = free_port_block(1)
        home = self.workdir / "kamailio"
        home.mkdir(exist_ok=True)
        cfg = home / "kamailio.cfg"
        cfg.write_text(kamailio_config(port=self.proxy_port, ctl_socket=home / "ctl.sock"))
        argv = ["kamailio", "-f", str(cfg), "-DD", "-E", "-m", "64", "-M", "8"]
        argv += ["-Y", str(home), "-P", str(home / "kamailio.pid"), "-w", str(home)]
        process = _spawn("kamailio", argv, home / "kamailio.log", home, signal.SIGTERM)
        self._processes.append(process)
        deadline = time.monotonic() + timeout_s
        while sip_options(f"sip:{HOST}:{self.proxy_port}", self.proxy, 0.2) != 200:
            if process.popen.poll() is not None or time.monotonic() > deadline:
                raise TestBedError(f"kamailio did not start: {process.log.read_text()[-2000:]}")

    def _start_peers(self, timeout_s: float) -> None:
        base = free_port_block(10 * len(self.peers) + 10)
        rtp_base = free_port_block(40 * len(self.peers) + 40)
        for index, spec in enumerate(self.peers):
            ports = (base + 10 * index, base + 10 * index + 5)
            rtp = (rtp_base + 40 * index, rtp_base + 40 * index + 39)
            self._launch_peer(spec, ports, rtp)
        deadline = time.monotonic() + timeout_s
        for user in list(self._peers):
            retries = 3  # a port checked free may be taken before baresip binds it
            while sip_options(self.uri(user), self.proxy, 0.2) != 200:
                peer = self._peers[user]
                assert peer.process is not None
                exited = peer.process.popen.poll() is not None
                log = peer.process.log.read_text(errors="replace")
                if exited and "Address already in use" in log and retries > 0:
                    retries -= 1
                    fresh = free_port_block(10)
                    rtp_fresh = free_port_block(40)
                    self._launch_peer(peer.spec, (fresh, fresh + 5), (rtp_fresh, rtp_fresh + 39))
                    continue
                if exited or time.monotonic() > deadline:
                    raise TestBedError(f"baresip {user} did not register: {log[-2000:]}")
                time.sleep(0.02)

    def _launch_peer(
        self, spec: PeerSpec, ports: tuple[int, int], rtp: tuple[int, int]
    ) -> BaresipPeer:
        home = self.workdir / f"peer-{spec.user}"
        record_dir = home / "recordings"
        record_dir.mkdir(parents=True, exist_ok=True)
        peer = BaresipPeer(spec, ports[0], ports[1], home, record_dir)
        config = baresip_config(
            sip_port=peer.sip_port, ctrl_port=peer.ctrl_port, rtp_ports=rtp, record_dir=record_dir
        )
        (home / "config").write_text(config)
        (home / "accounts").write_text(baresip_account(spec, proxy_port=self.proxy_port))
        (home / "contacts").write_text("")
        argv = ["baresip", "-f", str(home)]
        log = home / "baresip.log"
        peer.process = _spawn(f"baresip-{spec.user}", argv, log, home, signal.SIGKILL)
        self._processes.append(peer.process)
        self._peers[spec.user] = peer
        return peer


@contextlib.contextmanager
def running(workdir: Path, peers: Sequence[PeerSpec]) -> Iterator[TestBed]:
    bed = TestBed(workdir, peers)
    with bed:
        yield bed
