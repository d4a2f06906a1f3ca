"""The pure machine: events in, state and actions out — no sockets, no sleeps."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from dialog_calls import BOGOTA, play

from voicebot.actions import EndCall, Listen, ListenMode, RecordDisposition, Say, Transfer
from voicebot.dialog.machine import CallEnded, DisclosureViolation, start, step
from voicebot.dialog.plan import Dialplan, SayItem
from voicebot.domain.context import CallContext
from voicebot.domain.outcome import Disposition
from voicebot.events import Dtmf, Hangup, NoInput, TransferFailed, Utterance

T0 = datetime(2026, 11, 23, 10, 0, tzinfo=BOGOTA)


def test_start_greets_and_listens_with_the_states_hints(
    plan: Dialplan, context: CallContext
) -> None:
    state, actions = start(plan, context, T0)
    say, listen = actions
    assert isinstance(say, Say) and say.prompt == "greeting"
    assert say.text == (
        "Buenos días, le habla el asistente virtual de Gestión Integral de Cartera. "
        "¿Hablo con Carlos Andrés Pérez Gómez?"
    )
    assert isinstance(listen, Listen)
    assert listen.mode is ListenMode.SPEECH
    assert ("네", "affirm") in listen.hints.keywords
    assert "yes_no" in listen.hints.expect
    assert state.node == "greeting" and not state.ended


def test_recognizer_keyword_intent_is_trusted(plan: Dialplan, context: CallContext) -> None:
    state, _ = start(plan, context, T0)
    state, actions = step(plan, state, Utterance(T0, "네", confidence=0.9, intent="affirm"))
    assert state.node == "verify_document"
    assert [a.prompt for a in actions if isinstance(a, Say)] == ["verify_document"]
    listen = actions[-1]
    assert isinstance(listen, Listen) and listen.mode is ListenMode.BOTH and listen.max_digits == 4
    assert state.transcript[-2].confidence == 0.9


def test_dtmf_digits_verify_and_disclose(plan: Dialplan, context: CallContext) -> None:
    state, _ = start(plan, context, T0)
    state, _ = step(plan, state, Utterance(T0, "sí"))
    state, actions = step(plan, state, Dtmf(T0, "1234"))
    assert state.right_party
    assert RecordDisposition(Disposition.RPC) in actions
    disclosure = next(a for a in actions if isinstance(a, Say) and a.prompt == "disclosure")
    assert disclosure.discloses_debt
    assert "un millón doscientos mil pesos" in disclosure.text


def test_events_after_the_end_are_refused(plan: Dialplan, context: CallContext) -> None:
    state, _ = start(plan, context, T0)
    state, actions = step(plan, state, Hangup(T0))
    assert isinstance(actions[-1], EndCall) and state.ended
    with pytest.raises(CallEnded):
        step(plan, state, NoInput(T0))


def test_transfer_failure_leads_to_callback(plan: Dialplan, context: CallContext) -> None:
    state, _ = start(plan, context, T0)
    state, actions = step(plan, state, Utterance(T0, "quiero hablar con un asesor"))
    transfer = actions[-1]
    assert isinstance(transfer, Transfer) and transfer.reason == "agent_request"
    state, actions = step(plan, state, TransferFailed(T0 + timedelta(seconds=45)))
    end = actions[-1]
    assert isinstance(end, EndCall) and end.outcome.disposition is Disposition.CB
    assert end.outcome.callback_at == datetime(2026, 11, 24, 10, 0, tzinfo=BOGOTA)


def test_runtime_guard_refuses_disclosure_before_verification(
    plan: Dialplan, context: CallContext
) -> None:
    """Even a plan that slipped past validation cannot reveal the debt to an unverified person."""
    greeting = replace(plan.states["greeting"], say=(SayItem("disclosure"),))
    broken = replace(plan, states={**plan.states, "greeting": greeting})
    with pytest.raises(DisclosureViolation):
        start(broken, context, T0)


def test_the_machine_does_not_mutate_earlier_states(plan: Dialplan, context: CallContext) -> None:
    first, _ = start(plan, context, T0)
    second, _ = step(plan, first, Utterance(T0, "sí"))
    assert first.node == "greeting" and first.transcript != second.transcript
    again, _ = step(plan, first, Utterance(T0, "sí"))
    assert again.node == second.node and again.slots == second.slots


POOL = [
    "sí",
    "no",
    "sí, soy yo",
    "uno dos tres cuatro",
    "#1234",
    "#0000",
    "",
    "pago todo el viernes",
    "le pago cien mil mañana",
    "doscientas lucas el quince",
    "no tengo plata",
    "ya pagué",
    "esa deuda no es mía",
    "llámeme mañana en la tarde",
    "¿cuánto debo?",
    "repita",
    "hace calor",
    "quiero un acuerdo de pago",
    "no está",
    "número equivocado",
    "quiero hablar con un asesor",
    "<agente>",
    "<sin agente>",
    "no me llamen más",
    "<colgar>",
]


@pytest.mark.parametrize("seed", range(60))
def test_random_debtors_always_reach_an_outcome_without_disclosure_leaks(
    plan: Dialplan, context: CallContext, seed: int
) -> None:
    rng = random.Random(seed)
    turns = [rng.choice(POOL) for _ in range(40)]
    call = play(plan, context, turns)  # play() checks the disclosure invariant
    out = call.outcome
    assert out.disposition in set(Disposition)
    assert out.transcript[0].speaker == "bot"
    if out.disposition in {Disposition.PTP, Disposition.PPTP}:
        assert out.promise is not None and out.promise.amount > 0
        assert context.today <= out.promise.due <= context.today + timedelta(days=20)
    if out.disposition is Disposition.DNC:
        assert out.opt_out
