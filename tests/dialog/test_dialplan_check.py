"""`voicebot dialplan check` and the loader reject broken dialplans with their YAML paths."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from voicebot.cli import app
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan import DialplanError
from voicebot.dialog.plan_loader import load_dialplan

PROMPTS = """
hello: "Hola, ¿hablo con {debtor.full_name}?"
bye: "Hasta luego."
debt: "Su saldo con {creditor} es de {debt.amount}."
sneaky: "Le llamamos por una deuda pendiente."
transfer: "Lo comunico."
"""

GOOD = """
name: tiny
prompts: prompts.yaml
start: hello
defaults:
  on:
    - event: max_no_input
      goto: bye
    - event: max_no_match
      goto: bye
states:
  hello:
    say: [hello]
    listen: {mode: speech}
    on:
      - intent: affirm
        do: [{flag: right_party}]
        goto: debt
      - intent: deny
        goto: bye
  debt:
    say: [debt]
    next:
      - goto: bye
  bye:
    say: [bye]
    end: {disposition: RPC}
"""


def write_plan(tmp_path: Path, body: str, prompts: str = PROMPTS) -> Path:
    (tmp_path / "prompts.yaml").write_text(textwrap.dedent(prompts), encoding="utf-8")
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DialplanError) as info:
        load_dialplan(path)
    return [f"{p.path}: {p.message}" for p in info.value.problems]


def test_default_dialplan_is_valid() -> None:
    plan = load_dialplan(DEFAULT_DIALPLAN)
    assert plan.start == "greeting"
    assert plan.prompts["disclosure"].discloses
    assert not plan.prompts["greeting"].discloses


def test_a_valid_small_plan_loads(tmp_path: Path) -> None:
    plan = load_dialplan(write_plan(tmp_path, GOOD))
    assert set(plan.states) == {"hello", "debt", "bye"}


def test_unknown_state_is_reported_with_its_path_and_line(tmp_path: Path) -> None:
    path = write_plan(tmp_path, GOOD.replace("goto: bye\n  debt:", "goto: byebye\n  debt:"))
    with pytest.raises(DialplanError) as info:
        load_dialplan(path)
    [problem] = [p for p in info.value.problems if "byebye" in p.message]
    assert problem.path == "states.hello.on[1].goto"
    assert problem.line == 20
    assert f"{path}:20: states.hello.on[1].goto: unknown state 'byebye'" in str(info.value)


def test_unreachable_state(tmp_path: Path) -> None:
    body = GOOD + "  orphan:\n    say: [bye]\n    end: {}\n"
    assert "states.orphan: unreachable from start state 'hello'" in problems_of(
        write_plan(tmp_path, body)
    )


def test_missing_prompt(tmp_path: Path) -> None:
    problems = problems_of(write_plan(tmp_path, GOOD.replace("say: [bye]", "say: [adios]")))
    assert "states.bye.say[0]: missing prompt 'adios' (not in the prompts file)" in problems


def test_unknown_intent(tmp_path: Path) -> None:
    problems = problems_of(write_plan(tmp_path, GOOD.replace("intent: deny", "intent: maybe")))
    assert any(p.startswith("states.hello.on[1].intent: unknown intent 'maybe'") for p in problems)


def test_dead_end_without_hangup(tmp_path: Path) -> None:
    problems = problems_of(write_plan(tmp_path, GOOD.replace("    end: {disposition: RPC}\n", "")))
    assert any(p.startswith("states.bye: dead end") for p in problems)


def test_disclosure_before_right_party_verification(tmp_path: Path) -> None:
    body = GOOD.replace("do: [{flag: right_party}]\n        ", "")
    problems = problems_of(write_plan(tmp_path, body))
    assert any(
        p.startswith("states.debt.say[0]: prompt 'debt' discloses the debt") and "hello → debt" in p
        for p in problems
    )


def test_collection_words_count_as_disclosure_without_variables(tmp_path: Path) -> None:
    body = GOOD.replace(
        "      - intent: deny\n        goto: bye",
        "      - intent: deny\n        say: [sneaky]\n        goto: bye",
    )
    problems = problems_of(write_plan(tmp_path, body))
    assert any(p.startswith("states.hello.on[1].say: prompt 'sneaky' discloses") for p in problems)


def test_transfer_without_failure_path(tmp_path: Path) -> None:
    body = GOOD.replace(
        "  bye:\n", "  agent:\n    say: [transfer]\n    transfer: {reason: agent_request}\n  bye:\n"
    ).replace(
        "      - intent: deny\n",
        "      - intent: agent_request\n        goto: agent\n      - intent: deny\n",
    )
    problems = problems_of(write_plan(tmp_path, body))
    assert any(
        p.startswith("states.agent.on: a transfer state needs an `event: transfer_failed`")
        for p in problems
    )


def test_listening_state_needs_a_way_out_of_repeated_failures(tmp_path: Path) -> None:
    body = GOOD.replace(
        "defaults:\n  on:\n    - event: max_no_input\n      goto: bye\n    - event: max_no_match\n      goto: bye\n",
        "",
    )
    problems = problems_of(write_plan(tmp_path, body))
    assert any(p.startswith("states.hello.on: no `event: max_no_input`") for p in problems)
    assert any(p.startswith("states.hello.on: no `event: max_no_match`") for p in problems)


def test_unknown_condition_reference_and_disposition(tmp_path: Path) -> None:
    body = GOOD.replace(
        "      - intent: deny\n        goto: bye",
        "      - intent: deny\n        when: [{present: entity.color}, {maybe: x}]\n        do: [{disposition: LOL}]\n        goto: bye",
    )
    problems = problems_of(write_plan(tmp_path, body))
    assert any(
        p.startswith("states.hello.on[1].when[0].present: unknown entity field 'color'")
        for p in problems
    )
    assert any(
        p.startswith("states.hello.on[1].when[1].maybe: unknown condition") for p in problems
    )
    assert any(
        p.startswith("states.hello.on[1].do[0].disposition: unknown disposition 'LOL'")
        for p in problems
    )


def test_last_branch_must_be_unconditional(tmp_path: Path) -> None:
    body = GOOD.replace(
        "    next:\n      - goto: bye",
        "    next:\n      - when: [{is: call.right_party}]\n        goto: bye",
    )
    assert any(
        p.startswith("states.debt.next[0]: the last branch")
        for p in problems_of(write_plan(tmp_path, body))
    )


def test_slot_read_but_never_written(tmp_path: Path) -> None:
    body = GOOD.replace(
        "      - intent: deny\n", "      - intent: deny\n        when: [{present: slot.mystery}]\n"
    )
    assert (
        "states.hello.on[1].when[0].present: slot.mystery is read but never set (no `set`/`increment` of it)"
        in problems_of(write_plan(tmp_path, body))
    )


def test_unknown_prompt_variable(tmp_path: Path) -> None:
    problems = problems_of(write_plan(tmp_path, GOOD, PROMPTS + 'oops: "Hola {debtor.nickname}"\n'))
    assert any(
        p.startswith("<prompts>.oops:") and "unknown variable {debtor.nickname}" in p
        for p in problems
    )


def test_yaml_syntax_error_gives_the_line(tmp_path: Path) -> None:
    with pytest.raises(DialplanError) as info:
        load_dialplan(write_plan(tmp_path, GOOD + "  broken: [unclosed\n"))
    assert info.value.problems[0].path == "<yaml>"
    assert info.value.problems[0].line is not None


def test_every_mistake_is_reported_at_once(tmp_path: Path) -> None:
    body = GOOD.replace("intent: deny", "intent: maybe").replace("say: [bye]", "say: [adios]")
    assert len(problems_of(write_plan(tmp_path, body))) >= 2


def test_cli_check_exit_codes_and_messages(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(app, ["dialplan", "check", str(DEFAULT_DIALPLAN)])
    assert ok.exit_code == 0, ok.output
    assert "ok" in ok.output
    bad = write_plan(tmp_path, GOOD.replace("goto: bye\n  debt:", "goto: nowhere\n  debt:"))
    result = runner.invoke(app, ["dialplan", "check", str(bad)])
    assert result.exit_code == 1
    assert "states.hello.on[1].goto: unknown state 'nowhere'" in result.output


def test_campaign_settings_must_exist_in_the_plan() -> None:
    plan = load_dialplan(DEFAULT_DIALPLAN)
    assert plan.with_settings({"verify_document": False}).settings["verify_document"] is False
    with pytest.raises(DialplanError, match=r"settings\.verify_dni: unknown setting"):
        plan.with_settings({"verify_dni": False})
