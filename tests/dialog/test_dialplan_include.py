"""``include:``: a dialplan built on another's states, prompts and groups, checked like one file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voicebot.cli import app
from voicebot.data import DEFAULT_DIALPLAN, INBOUND_DIALPLAN
from voicebot.dialog.plan import DialplanError
from voicebot.dialog.plan_loader import load_dialplan

BASE_PROMPTS = """
hello: "Hola, ¿hablo con {debtor.full_name}?"
debt: "Su saldo con {creditor} es de {debt.amount}."
bye: "Hasta luego."
other: "Otra cosa."
"""

BASE = """
name: base
prompts: base_prompts.yaml
start: hello
settings:
  tone: formal
defaults:
  on:
    - event: max_no_input
      goto: bye
    - event: max_no_match
      goto: bye
groups:
  verified:
    states: [debt]
    on:
      - intent: stop_calling
        goto: bye
states:
  hello:
    say: [hello]
    listen: {mode: speech}
    on:
      - intent: affirm
        goto: verified
      - intent: deny
        goto: other
  other:
    say: [other]
    end: {disposition: WPC}
  verified:
    do: [{flag: right_party}]
    next:
      - goto: debt
  debt:
    say: [debt]
    listen: {mode: speech}
    on:
      - intent: any
        goto: bye
  bye:
    say: [bye]
    end: {}
"""

OWN_PROMPTS = """
welcome: "Gracias por llamar."
bye: "Gracias por llamar, hasta luego."
"""

OWN = """
include: base.yaml
name: own
prompts: own_prompts.yaml
start: welcome
settings:
  extra: 2
states:
  welcome:
    say: [welcome]
    listen: {mode: speech}
    on:
      - intent: affirm
        goto: verified
"""


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write(
        tmp_path,
        {
            "base.yaml": BASE,
            "base_prompts.yaml": BASE_PROMPTS,
            "own.yaml": OWN,
            "own_prompts.yaml": OWN_PROMPTS,
        },
    )
    return tmp_path


def test_included_states_reached_are_kept_and_the_rest_left_out(folder: Path) -> None:
    plan = load_dialplan(folder / "own.yaml")
    assert set(plan.states) == {"welcome", "verified", "debt", "bye"}  # hello, other: unreached
    assert plan.start == "welcome"
    assert plan.groups["verified"].states == ("debt",)
    assert plan.states["debt"].group == "verified"


def test_own_prompts_and_settings_replace_and_extend_the_included_ones(folder: Path) -> None:
    plan = load_dialplan(folder / "own.yaml")
    assert plan.prompts["bye"].text == "Gracias por llamar, hasta luego."
    assert plan.prompts["debt"].discloses
    assert plan.settings == {"tone": "formal", "extra": 2}


def test_an_own_state_replaces_the_included_one(folder: Path) -> None:
    write(
        folder,
        {"own.yaml": OWN + "  bye:\n    say: [welcome]\n    end: {disposition: RPC}\n"},
    )
    plan = load_dialplan(folder / "own.yaml")
    assert plan.states["bye"].say[0].prompt == "welcome"


def test_own_states_are_checked_like_any_plan(folder: Path) -> None:
    # A disclosing prompt reachable before verification, in the including plan.
    write(
        folder,
        {
            "own.yaml": OWN.replace(
                "        goto: verified\n",
                "        goto: verified\n      - intent: deny\n        goto: debt\n",
            )
        },
    )
    with pytest.raises(DialplanError, match="discloses the debt"):
        load_dialplan(folder / "own.yaml")


@pytest.mark.parametrize(
    ("include", "message"),
    [
        ("missing.yaml", "include: cannot read"),
        ("[1, 2]", "include: expected the path of a dialplan file"),
        ("own_prompts.yaml", "not a dialplan"),
        ("nested.yaml", "only one level of include"),
    ],
)
def test_a_bad_include_is_reported_with_its_path(folder: Path, include: str, message: str) -> None:
    write(folder, {"nested.yaml": "include: base.yaml\nstates: {a: {end: {}}}\n"})
    write(folder, {"own.yaml": OWN.replace("include: base.yaml", f"include: {include}")})
    with pytest.raises(DialplanError, match=message):
        load_dialplan(folder / "own.yaml")


def test_the_shipped_inbound_plan_reuses_the_outbound_negotiation(tmp_path: Path) -> None:
    inbound = load_dialplan(INBOUND_DIALPLAN)
    outbound = load_dialplan(DEFAULT_DIALPLAN)
    for name in ("disclosure", "capture_promise", "offer_plan", "confirm_promise", "dispute"):
        assert inbound.states[name] == outbound.states[name]
    assert inbound.groups["verified"] == outbound.groups["verified"]
    assert "ask_knows_debtor" not in inbound.states  # an outbound-only state, never reached


def test_dialplan_check_accepts_the_inbound_plan() -> None:
    result = CliRunner().invoke(app, ["dialplan", "check", str(INBOUND_DIALPLAN)])
    assert result.exit_code == 0, result.output
    assert "all behind right-party verification" in result.output
