"""Groups of states sharing transitions, and held claims: the language, its checks, its order."""

from __future__ import annotations

import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from dialog_calls import BOGOTA
from typer.testing import CliRunner

from voicebot.actions import EndCall, Say
from voicebot.cli import app
from voicebot.dialog.machine import start, step
from voicebot.dialog.plan import DialplanError
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.context import CallContext
from voicebot.domain.outcome import Disposition
from voicebot.events import Utterance

AT = datetime(2026, 11, 23, 10, 0, tzinfo=BOGOTA)

PROMPTS = """
hello: "Hola, ¿hablo con {debtor.full_name}?"
debt: "Su saldo con {creditor} es de {debt.amount}. ¿Cuánto puede pagar?"
statement: "Su saldo con {creditor} es de {debt.amount}."
when: "¿Y cuándo?"
paid: "Gracias por informarnos."
own: "Respuesta propia."
bye: "Hasta luego."
"""

PLAN = """
name: grouped
prompts: prompts.yaml
start: hello
settings:
  verify_document: false
defaults:
  on:
    - intent: stop_calling
      goto: bye
    - event: max_no_input
      goto: bye
    - event: max_no_match
      goto: bye
groups:
  negotiating:
    states: [debt, when]
    on:
      - intent: already_paid
        do: [record_paid]
        goto: paid
      - intent: stop_calling
        goto: paid
states:
  hello:
    say: [hello]
    listen: {mode: speech}
    on:
      - intent: affirm
        do: [{flag: right_party}]
        goto: debt
      - intent: already_paid
        do: [hold_claim, {flag: right_party}]
        goto: debt
  debt:
    say:
      - {prompt: debt, when: [{absent: slot.held_intent}]}
      - {prompt: statement, when: [{present: slot.held_intent}]}
    resume_held: true
    listen: {mode: speech}
    on:
      - intent: any
        when: [{present: entity.amount}]
        goto: when
  when:
    say: [when]
    listen: {mode: speech}
    on:
      - intent: already_paid
        say: [own]
        goto: bye
  paid:
    say: [paid]
    end: {disposition: PAID}
  bye:
    say: [bye]
    end: {}
"""


def write_plan(tmp_path: Path, body: str = PLAN) -> Path:
    (tmp_path / "prompts.yaml").write_text(textwrap.dedent(PROMPTS), encoding="utf-8")
    path = tmp_path / "plan.yaml"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(DialplanError) as info:
        load_dialplan(path)
    return [f"{p.path}: {p.message}" for p in info.value.problems]


def said(actions: list[object]) -> list[str]:
    return [a.prompt for a in actions if isinstance(a, Say)]


def test_a_group_shares_its_transitions_with_every_member(
    tmp_path: Path, context: CallContext
) -> None:
    plan = load_dialplan(write_plan(tmp_path))
    assert plan.groups["negotiating"].states == ("debt", "when")
    assert plan.states["debt"].group == "negotiating"
    assert plan.states["hello"].group is None
    state, _ = start(plan, context, AT)
    state, _ = step(plan, state, Utterance(AT, "sí, soy yo"))
    assert state.node == "debt"
    state, actions = step(plan, state, Utterance(AT, "eso ya lo pagué"))
    assert said(actions) == ["paid"]
    assert state.outcome is not None and state.outcome.disposition is Disposition.PAID


def test_order_is_own_then_group_then_defaults(tmp_path: Path, context: CallContext) -> None:
    plan = load_dialplan(write_plan(tmp_path))
    # Own before group: `when` answers "ya pagué" itself.
    state, _ = start(plan, context, AT)
    for text in ("sí, soy yo", "le pago cien mil"):
        state, _ = step(plan, state, Utterance(AT, text))
    assert state.node == "when"
    _, actions = step(plan, state, Utterance(AT, "ya lo pagué"))
    assert said(actions) == ["own", "bye"]
    # Group before defaults: stop_calling goes where the group says, not to defaults' `bye`.
    state, _ = start(plan, context, AT)
    state, _ = step(plan, state, Utterance(AT, "sí, soy yo"))
    _, actions = step(plan, state, Utterance(AT, "no me llamen más"))
    assert said(actions) == ["paid"]
    # A state outside the group follows the defaults.
    state, _ = start(plan, context, AT)
    _, actions = step(plan, state, Utterance(AT, "no me llamen más"))
    assert said(actions) == ["bye"]


def test_a_held_claim_is_answered_after_the_gate_without_being_said_again(
    tmp_path: Path, context: CallContext
) -> None:
    plan = load_dialplan(write_plan(tmp_path))
    state, _ = start(plan, context, AT)
    state, actions = step(plan, state, Utterance(AT, "sí, y eso ya lo pagué"))
    # The statement (not the question) is said, then the held claim is acted on at once.
    assert said(actions) == ["statement", "paid"]
    end = [a for a in actions if isinstance(a, EndCall)]
    assert end and end[0].outcome.disposition is Disposition.PAID
    assert end[0].outcome.paid_info is not None and "pagué" in end[0].outcome.paid_info


def test_unknown_member_duplicate_member_and_silent_member_are_reported(tmp_path: Path) -> None:
    body = PLAN.replace(
        "states: [debt, when]\n",
        "states: [debt, when, nowhere, bye]\n"
        "    on:\n      - intent: deny\n        goto: bye\n  other:\n"
        "    states: [debt]\n",
    )
    problems = problems_of(write_plan(tmp_path, body))
    assert "groups.negotiating.states[2]: unknown state 'nowhere'" in problems
    assert (
        "groups.negotiating.states[3]: state 'bye' does not listen, "
        "so shared transitions would never apply"
    ) in problems
    assert any(
        p.startswith("groups.other.states[0]: state 'debt' is already in group 'negotiating'")
        for p in problems
    )


def test_group_transitions_are_validated_with_their_yaml_paths(tmp_path: Path) -> None:
    body = PLAN.replace("        do: [record_paid]\n        goto: paid", "        goto: paied")
    path = write_plan(tmp_path, body)
    with pytest.raises(DialplanError) as info:
        load_dialplan(path)
    [problem] = [p for p in info.value.problems if "paied" in p.message]
    assert problem.path == "groups.negotiating.on[0].goto"
    assert problem.line == 20
    result = CliRunner().invoke(app, ["dialplan", "check", str(path)])
    assert result.exit_code != 0
    assert "groups.negotiating.on[0].goto: unknown state 'paied'" in result.output


def test_group_shape_mistakes(tmp_path: Path) -> None:
    body = PLAN.replace("    states: [debt, when]\n", "    states: []\n    share: yes\n")
    problems = problems_of(write_plan(tmp_path, body))
    assert "groups.negotiating.states: expected a non-empty list of state names" in problems
    assert "groups.negotiating.share: unknown key (states, on)" in problems
    body = PLAN.replace("groups:\n  negotiating:", "groups: 3\nunused:\n  negotiating:")
    problems = problems_of(write_plan(tmp_path, body))
    assert "groups: expected a mapping of group name → {states, on}" in problems


def test_resume_held_only_on_a_listening_state(tmp_path: Path) -> None:
    body = PLAN.replace(
        "  paid:\n    say: [paid]\n", "  paid:\n    say: [paid]\n    resume_held: true\n"
    )
    problems = problems_of(write_plan(tmp_path, body))
    assert "states.paid.resume_held: only a listening state can answer a held utterance" in problems


def test_a_group_transition_that_discloses_before_verification_is_caught(
    tmp_path: Path,
) -> None:
    # `hello` (before verification) joins a group whose transition says a disclosing prompt.
    body = PLAN.replace("states: [debt, when]", "states: [hello, when]").replace(
        "      - intent: stop_calling\n        goto: paid\n",
        "      - intent: stop_calling\n        say: [statement]\n        goto: bye\n",
    )
    problems = problems_of(write_plan(tmp_path, body))
    assert any(
        p.startswith("groups.negotiating.on[1].say: prompt 'statement' discloses the debt")
        for p in problems
    )


def test_a_held_claim_needs_a_state_that_resumes_it(tmp_path: Path) -> None:
    problems = problems_of(write_plan(tmp_path, PLAN.replace("    resume_held: true\n", "")))
    assert (
        "states.hello.on[1].do[0]: hold_claim keeps the utterance for a state with "
        "`resume_held: true`, but no state has one"
    ) in problems


def test_check_lists_each_group_with_its_states_and_shared_triggers(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["dialplan", "check", str(write_plan(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "group negotiating: debt, when; shared: already_paid, stop_calling" in result.output
