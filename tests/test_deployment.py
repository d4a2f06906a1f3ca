"""docker-compose.yml as written: real settings, real commands, and the services really run.

No container engine runs here, so the second test does what compose would: it starts each
service's command with that service's environment (interpolated like compose does) as a
local process. The throwaway PostgreSQL stands in for the ``db`` service; only what a
shared test machine forces is overridden: the database address, free ports, the SIP trunk
(a loopback kamailio), the webhook receiver, and the recognizer language (the only real
model installed here is Korean; a worker without one refuses to start, tested too).
"""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import select
from typer.testing import CliRunner

from testbeds.postgres import PostgresServer
from testbeds.sip import TestBed, free_port_block
from voicebot.cli import app
from voicebot.config import variable_names
from voicebot.storage import models as m
from voicebot.storage.db import make_engine, session_factory
from voicebot.storage.repositories import enqueue_event
from voicebot.webhooks.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, verify_signature

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = ROOT / "docker-compose.yml"
VOICEBOT = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "voicebot"
# What an operator puts in .env next to docker-compose.yml.
OPERATOR_ENV = {
    "POSTGRES_PASSWORD": "secret",
    "VOICEBOT_CAMPAIGN": "compose-co",
    "VOICEBOT_SIP__SERVER": "pbx.example.internal",
    "VOICEBOT_SIP__USER": "voicebot",
    "VOICEBOT_SIP__PASSWORD": "trunk-password",
    "VOICEBOT_IVR_SIP_USER": "callback",
    "VOICEBOT_WEBHOOKS__URL": "https://crm.example/hooks",
    "VOICEBOT_WEBHOOKS__SECRET": "hook-secret",
}
PORTFOLIO = (
    "id_cliente,nombre,documento,celular,saldo,moneda,dias_mora,acreedor\n"
    "C1,Ana Pérez,52111234,3101234567,1.200.000,COP,45,Banco Andino\n"
)
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:-|:\?)([^}]*))?\}")


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` (error when unset)."""

    def one(match: re.Match[str]) -> str:
        name, kind, arg = match.groups()
        if env.get(name):
            return env[name]
        if kind == ":?":
            raise AssertionError(f"compose would stop: {name}: {arg}")
        return arg if kind == ":-" else ""

    return _VARIABLE.sub(one, value)


def services() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return dict(data["services"])


def ours(all_services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services that run this image (the ``db`` service is PostgreSQL's)."""
    return {name: s for name, s in all_services.items() if "build" in s}


def environment(service: dict[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    return {k: interpolate(str(v), env) for k, v in (service.get("environment") or {}).items()}


def command(service: dict[str, Any], env: Mapping[str, str]) -> list[str]:
    return [interpolate(str(part), env) for part in service["command"]]


def health_command(service: dict[str, Any]) -> list[str]:
    kind, *rest = service["healthcheck"]["test"]
    assert kind == "CMD", kind
    return [str(part) for part in rest]


def test_every_variable_is_a_setting_and_every_command_a_real_command() -> None:
    found = services()
    known = variable_names()
    runner = CliRunner()
    for name, service in found.items():
        assert service.get("restart"), f"{name} has no restart policy"
        if name != "migrate":  # a one-shot job: its health is completing (see the file)
            assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name, service in ours(found).items():
        unknown = set(environment(service, OPERATOR_ENV)) - known
        assert not unknown, f"{name} sets variables no setting reads: {sorted(unknown)}"
        args = command(service, OPERATOR_ENV)
        checked = runner.invoke(app, [*args, "--help"])
        assert checked.exit_code == 0, f"{name}: `voicebot {' '.join(args)}`: {checked.output}"
        if "healthcheck" in service and health_command(service)[0] == "voicebot":
            probe = health_command(service)[1:]
            assert runner.invoke(app, [*probe, "--help"]).exit_code == 0, (name, probe)
    assert set(ours(found)) == {"migrate", "api", "webhooks", "messages", "worker", "ivr"}


def test_the_image_copies_what_exists_and_installs_the_package() -> None:
    lines = (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines()
    copied = [part for line in lines if line.startswith("COPY ") for part in line.split()[1:-1]]
    assert copied and all((ROOT / part).exists() for part in copied), copied
    assert {"voicebot", "api", "pyproject.toml"} <= set(copied)
    assert any("pip install" in line and "/src" in line for line in lines)
    assert 'ENTRYPOINT ["voicebot"]' in lines


class Receiver(http.server.ThreadingHTTPServer):
    """The creditor's webhook endpoint on loopback: keeps every body it is sent."""

    def __init__(self) -> None:
        self.events: dict[str, tuple[bytes, str]] = {}  # event id → (body, signature header)
        self.arrived = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                event = self.headers[EVENT_ID_HEADER]
                receiver.events[event] = (body, self.headers[SIGNATURE_HEADER])
                receiver.arrived.set()
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class Services:
    """The compose services as local processes; all stopped at the end, whatever happens."""

    def __init__(self, workdir: Path, database_url: str) -> None:
        self.workdir = workdir
        self.database_url = database_url
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        base = {k: v for k, v in os.environ.items() if not k.startswith("VOICEBOT_")}
        self.base = base

    def env(self, service: dict[str, Any], **overrides: str) -> dict[str, str]:
        env = {**self.base, **environment(service, OPERATOR_ENV)}
        env["VOICEBOT_DATABASE_URL"] = self.database_url  # the `db` service
        env.update(overrides)
        return env

    def run(
        self, name: str, args: list[str], env: dict[str, str]
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(VOICEBOT), *args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def spawn(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
        """A one-shot command running alongside the services (its output kept)."""
        return subprocess.Popen(
            [str(VOICEBOT), *args],
            cwd=self.workdir,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )

    def start(self, name: str, args: list[str], env: dict[str, str]) -> None:
        log = (self.workdir / f"{name}.log").open("wb")
        self.processes[name] = subprocess.Popen(
            [str(VOICEBOT), *args], cwd=self.workdir, env=env, stdout=log, stderr=log
        )

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")[-3000:]

    def wait_for(self, what: str, condition: Callable[[], bool], names: list[str]) -> None:
        """Until ``condition`` holds; a service that exits first fails the test with its log."""
        deadline = time.monotonic() + 120
        while not condition():
            for name in names:
                if self.processes[name].poll() is not None:
                    raise AssertionError(f"{name} exited: {self.log(name)}")
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out waiting for {what}: " + " ".join(self.log(n) for n in names)
                )
            time.sleep(0.1)

    def stop(self) -> list[str]:
        """SIGTERM, as ``docker stop`` sends; the services that needed a SIGKILL 10 s later."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        killed = []
        for name, process in self.processes.items():
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                killed.append(name)
        return killed


@pytest.fixture
def compose(tmp_path: Path, postgres: PostgresServer) -> Iterator[Services]:
    running = Services(tmp_path, postgres.create_database("compose"))
    try:
        yield running
    finally:
        running.stop()


def _audit_by(sessions: Any, actor: str) -> list[str]:
    with sessions() as s:
        return list(s.scalars(select(m.AuditEntry.action).where(m.AuditEntry.actor == actor)))


@pytest.mark.slow
def test_compose_services_run_as_local_processes(compose: Services, tmp_path: Path) -> None:
    found = services()
    # db → migrate
    migrate = found["migrate"]
    done = compose.run("migrate", command(migrate, OPERATOR_ENV), compose.env(migrate))
    assert done.returncode == 0, done.stderr
    # The campaign the workers dial, set up as a campaign manager would.
    cli_env = {"VOICEBOT_DATABASE_URL": compose.database_url}
    portfolio = tmp_path / "cartera.csv"
    portfolio.write_text(PORTFOLIO, encoding="utf-8")
    runner = CliRunner()
    for args in (
        ["campaign", "create", OPERATOR_ENV["VOICEBOT_CAMPAIGN"], "--jurisdiction", "CO"],
        ["campaign", "import", str(portfolio), "--campaign", OPERATOR_ENV["VOICEBOT_CAMPAIGN"]],
        ["campaign", "launch", OPERATOR_ENV["VOICEBOT_CAMPAIGN"]],
    ):
        result = runner.invoke(app, args, env=cli_env)
        assert result.exit_code == 0, result.output

    # api + webhooks + worker
    api = found["api"]
    port = str(free_port_block(1))
    api_args = [port if a == "8000" else a for a in command(api, OPERATOR_ENV)]
    api_args = ["127.0.0.1" if a == "0.0.0.0" else a for a in api_args]
    compose.start("api", api_args, compose.env(api))

    receiver = Receiver()
    webhooks = found["webhooks"]
    hook_url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
    compose.start(
        "webhooks",
        command(webhooks, OPERATOR_ENV),
        compose.env(
            webhooks, VOICEBOT_WEBHOOKS__URL=hook_url, VOICEBOT_WEBHOOKS__POLL_SECONDS="0.2"
        ),
    )

    messages = found["messages"]
    compose.start(
        "messages",
        command(messages, OPERATOR_ENV),
        compose.env(messages, VOICEBOT_MESSAGING__POLL_SECONDS="0.2"),
    )

    bed = TestBed(tmp_path / "sip", peers=[])
    bed.start()
    try:
        worker = found["worker"]
        sip_port = free_port_block(101)
        worker_env = compose.env(
            worker,
            VOICEBOT_SIP__SERVER=bed.proxy[0],
            VOICEBOT_SIP__PORT=str(bed.proxy_port),
            VOICEBOT_SIP__LOCAL_PORT=str(sip_port),
            VOICEBOT_SIP__RTP_PORT_LOW=str(sip_port + 1),
            VOICEBOT_SIP__RTP_PORT_HIGH=str(sip_port + 100),
            VOICEBOT_SPEECH__LANGUAGE="ko",
            VOICEBOT_SPEECH__PREWARM_RECOGNIZERS="0",  # a minute of CPU this test does not need
            VOICEBOT_DIALER__WORKER_ID="compose-worker-1",
            VOICEBOT_DIALER__POLL_SECONDS="0.2",
        )
        # The same worker on a Spanish campaign without a Spanish model must not start.
        without_model = compose.spawn(
            command(worker, OPERATOR_ENV), {**worker_env, "VOICEBOT_SPEECH__LANGUAGE": "es"}
        )
        compose.start("worker", command(worker, OPERATOR_ENV), worker_env)

        health = f"http://127.0.0.1:{port}/health"

        def api_answers() -> bool:
            try:
                return httpx.get(health, timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        compose.wait_for("the API", api_answers, ["api"])
        probe = [a.replace(":8000/", f":{port}/") for a in health_command(api)]
        assert subprocess.run(probe, capture_output=True, timeout=30).returncode == 0

        sessions = session_factory(make_engine(compose.database_url))
        with sessions.begin() as s:
            enqueue_event(
                s,
                event_type="test.ping",
                idempotency_key="compose-ping",
                payload={"at": datetime.now(UTC).isoformat()},
            )
        compose.wait_for("a webhook delivery", receiver.arrived.is_set, ["webhooks"])
        body, signature = receiver.events["compose-ping"]
        verify_signature(
            OPERATOR_ENV["VOICEBOT_WEBHOOKS__SECRET"], body, signature, now=int(time.time())
        )
        assert json.loads(body)["type"] == "test.ping"

        # The worker claimed the hopper's attempt: its compliance decision is audited under
        # its id, allowed or refused depending on the hour in Bogotá when the test runs.
        compose.wait_for(
            "the worker's claim",
            lambda: bool(
                {"dial_allowed", "dial_refused"} & set(_audit_by(sessions, "compose-worker-1"))
            ),
            ["worker"],
        )
        probes = {
            name: compose.spawn(health_command(found[name])[1:], compose.env(found[name]))
            for name in ("webhooks", "messages", "worker")
        }
        for name, probe in probes.items():
            _, err = probe.communicate(timeout=120)
            assert probe.returncode == 0, (name, err)
        _, refusal = without_model.communicate(timeout=120)
        assert without_model.returncode == 2, refusal
        assert refusal.startswith("error: refusing to dial on sip without a speech recognizer")
        assert len(refusal.strip().splitlines()) == 1
        assert compose.stop() == []  # each stops on SIGTERM within docker's 10 s grace
    finally:
        compose.stop()
        bed.stop()
        receiver.shutdown()
