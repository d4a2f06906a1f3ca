"""Dialplan validation never opens a path an upload names (findings 1 and 2 of issue 9)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from api_world import World

from voicebot.data import DEFAULT_DIALPLAN, DIALPLANS_DIR, PROMPTS_DIR

GOOD = DEFAULT_DIALPLAN.read_text()
PROMPTS = (PROMPTS_DIR / "es" / "cobranza.yaml").read_bytes()


def _plan(prompts_line: str) -> bytes:
    return GOOD.replace("prompts: ../prompts/es/cobranza.yaml", f"prompts: {prompts_line}").encode()


def _validate(world: World, plan: bytes, **extra: object) -> tuple[int, dict[str, object], str]:
    files: dict[str, object] = {"file": ("plan.yaml", plan)}
    if "prompts" in extra:
        files["prompts"] = ("prompts.yaml", extra.pop("prompts"))
    response = world.client.post(
        "/dialplans/validate", files=files, data=extra, headers=world.auth("manager")
    )
    return response.status_code, response.json(), response.text


def test_a_prompts_path_in_an_upload_is_never_read(empty: World, tmp_path: Path) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("clave_secreta: contraseña-del-servidor\n")
    existing = _validate(empty, _plan(str(secret)))
    missing = _validate(empty, _plan(str(tmp_path / "missing.yaml")))
    climbing = _validate(empty, _plan("../../../../../../" + str(secret).lstrip("/")))
    for status, body, text in (existing, missing, climbing):
        assert status == 422
        assert body["error"]["code"] == "prompts_required"  # type: ignore[index]
        assert "contraseña-del-servidor" not in text and "clave_secreta" not in text
    # Whether the path exists cannot be told from the answer.
    assert existing[1] == missing[1] == climbing[1]


def test_prompts_come_with_the_plan_or_by_server_set_name(empty: World) -> None:
    plan = _plan("/somewhere/else.yaml")
    uploaded = _validate(empty, plan, prompts=PROMPTS)
    assert uploaded[0] == 200 and uploaded[1]["valid"] is True
    named = _validate(empty, plan, prompt_set="es/cobranza")
    assert named[0] == 200 and named[1]["prompts"] == uploaded[1]["prompts"]
    unknown = _validate(empty, plan, prompt_set="../../etc/passwd")
    assert unknown[0] == 422 and unknown[1]["error"]["code"] == "unknown_prompt_set"  # type: ignore[index]
    # The shipped plan's own line names the server set and still validates as is.
    assert _validate(empty, GOOD.encode())[0] == 200
    # Problems in uploaded prompts are reported like the CLI's.
    broken = _validate(empty, plan, prompts=b"saludo: [a, b\n")
    assert broken[0] == 422 and broken[1]["error"]["code"] == "invalid_dialplan"  # type: ignore[index]


def _cli(url: str, *args: str) -> str:
    env = {**os.environ, "VOICEBOT_DATABASE_URL": url}
    done = subprocess.run(
        [sys.executable, "-m", "voicebot.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


def test_pointing_prompts_at_the_live_database_keeps_processes_in_sync(empty: World) -> None:
    """Opening and closing the SQLite file in the API process dropped its locks; the next
    process then deleted the WAL and the API stopped seeing other processes' writes."""
    database = empty.url.removeprefix("sqlite:///")
    for line in (database, os.path.relpath(database, DIALPLANS_DIR)):
        status, _, _ = _validate(empty, _plan(line))
        assert status == 422
    # Another process opens and closes the database (as a CLI command or a worker does) ...
    subprocess.run(
        [
            sys.executable,
            "-c",
            f"import sqlite3; c = sqlite3.connect({database!r}); "
            "c.execute('select count(*) from api_keys').fetchall(); c.close()",
        ],
        check=True,
        timeout=60,
    )
    # ... and a key created by the CLI afterwards is seen by the API.
    output = _cli(empty.url, "apikey", "create", "cli-key", "--role", "auditor")
    key = next(word for word in output.split() if word.startswith("vbk_"))
    seen = empty.client.get("/promises", headers={"X-API-Key": key})
    assert seen.status_code == 200, seen.text


def _bomb(levels: int) -> bytes:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    return ("\n".join(lines) + "\nstates: {}\n").encode()


@pytest.mark.parametrize(
    "plan",
    [
        _bomb(9),  # 10**10 nodes once expanded, in a few hundred bytes
        b"states: " + b"[" * 5000 + b"]" * 5000 + b"\n",
        b"states: " + b"{a: " * 300 + b"1" + b"}" * 300 + b"\n",
        b"states: !!python/object:os.system {}\n",
        b"states: !custom {}\n",
        b"states: !!binary aGVsbG8=\n",
        b"states: !!set {a, b}\n",
        b"? [a, b]\n: unhashable\n",
        b"start: 2026-02-30\nstates: {}\n",
    ],
)
def test_hostile_yaml_is_a_clear_422(empty: World, plan: bytes) -> None:
    status, body, _ = _validate(empty, plan, prompt_set="es/cobranza")
    assert status == 422, body
    assert body["error"]["code"] == "invalid_dialplan"  # type: ignore[index]


_OPENED: list[str] | None = None


def _record_opens(event: str, args: tuple[object, ...]) -> None:
    if _OPENED is not None and event == "open" and args and isinstance(args[0], str | Path):
        _OPENED.append(os.fspath(args[0]))


sys.addaudithook(_record_opens)  # inert unless a test sets _OPENED


def test_validation_opens_nothing_outside_the_servers_prompt_sets(
    empty: World, tmp_path: Path
) -> None:
    global _OPENED
    target = tmp_path / "target.yaml"
    target.write_text("saludo: hola\n")
    database = empty.url.removeprefix("sqlite:///")
    _OPENED = []
    try:
        for line in (str(target), database, "../../../../../../etc/hostname"):
            assert _validate(empty, _plan(line))[0] == 422
        assert _validate(empty, GOOD.encode())[0] == 200
    finally:
        opened, _OPENED = _OPENED, None
    named = {os.path.realpath(p) for p in (target, database, "/etc/hostname")}
    assert not named & {os.path.realpath(p) for p in opened}, opened
    assert os.fspath(empty.settings.prompts_dir / "es" / "cobranza.yaml") in opened
