"""Claims heard in every post-verification state, settled as made, and held across the gate.

The cases are generated from the plan: every member of every group, every shared
transition, reached by routes the test discovers by playing the machine. A new
state added to a group is covered without editing this file.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path

import pytest
from dialog_calls import BOGOTA, play

from voicebot.dialog.claims import settle
from voicebot.dialog.machine import CallState, start, step
from voicebot.dialog.nlu import understand
from voicebot.dialog.plan import Dialplan, Transition
from voicebot.domain.context import CallContext, context_from_json
from voicebot.domain.outcome import CallOutcome, Disposition
from voicebot.events import Dtmf, Event, Hangup, Utterance

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 23, 10, 0, tzinfo=BOGOTA)
THURSDAY = date(2026, 11, 26)

# One sentence per intent a shared transition listens for (checked against the NLU below).
SAYS = {
    "already_paid": "yo ya pagué eso la semana pasada",
    "dispute": "esa deuda no es mía",
    "callback_request": "llámeme el jueves y le confirmo",
    "cannot_pay": "ahorita no tengo con qué pagar",
    "payment_plan_request": "¿me lo puede dividir en cuotas?",
    "wrong_number": "yo no soy esa persona",
    "third_party": "soy la esposa, él no está",
    "agent_request": "páseme con un asesor",
    "stop_calling": "no me llamen más",
    "ask_info": "¿desde cuándo estoy en mora?",
}
# Turns the route finder may use to reach a state.
POOL: tuple[Event | str, ...] = (
    "sí, con él habla",
    "#1234",
    "le pago cien mil el jueves",
    "le pago todo el viernes",
    "le pago quinientos mil",
    "no puedo pagar",
    "el viernes",
    "sí",
    "ya pagué",
    "esa deuda no es mía",
)


def _event(turn: Event | str) -> Event:
    if isinstance(turn, str):
        return Dtmf(AT, turn[1:]) if turn.startswith("#") else Utterance(AT, turn)
    return turn


def _routes(plan: Dialplan, ctx: CallContext) -> dict[str, tuple[str, ...]]:
    """The shortest turn sequence from the start to every listening state reachable with POOL."""
    first, _ = start(plan, ctx, AT)
    routes: dict[str, tuple[str, ...]] = {first.node: ()}
    queue: deque[tuple[CallState, tuple[str, ...]]] = deque([(first, ())])
    while queue:
        state, path = queue.popleft()
        if len(path) >= 5:
            continue
        for turn in POOL:
            assert isinstance(turn, str)
            after, _ = step(plan, state, _event(turn))
            if after.ended or after.node in routes:
                continue
            routes[after.node] = (*path, turn)
            queue.append((after, (*path, turn)))
    return routes


def _through(plan: Dialplan, name: str) -> set[str]:
    """The state a transition enters and every state its `next` branches can pass on to."""
    seen = {name}
    queue = deque([name])
    while queue:
        for branch in plan.states[queue.popleft()].next:
            if branch.goto not in seen:
                seen.add(branch.goto)
                queue.append(branch.goto)
    return seen


def _shared_cases(plan: Dialplan) -> list[tuple[str, str, Transition]]:
    """(member state, intent, shared transition) for every transition of every group.

    A member's own transition for the same intent wins (own → group → defaults), so
    that pair is the member's own business and left out here.
    """
    cases = []
    for group in plan.groups.values():
        for member in group.states:
            own = {i for t in plan.states[member].on for i in t.intents}
            for t in group.on:
                for intent in t.intents:
                    if intent != "any" and intent not in own and not t.when:
                        cases.append((member, intent, t))
    return cases


def _at(plan: Dialplan, ctx: CallContext, member: str, routes: dict[str, tuple[str, ...]]):
    state, _ = start(plan, ctx, AT)
    for turn in routes[member]:
        state, _ = step(plan, state, _event(turn))
    assert state.node == member
    return state


@pytest.fixture(scope="module")
def ctx() -> CallContext:
    """The README's example debtor, built once for the many route searches of this module."""
    data = json.loads((ROOT / "examples" / "debtor.json").read_text(encoding="utf-8"))
    ctx = context_from_json(data, today=date(2026, 11, 23))
    # A campaign that texts: the payment-link offer after a promise is reachable too.
    return replace(ctx, settings={**ctx.settings, "payment_link_channel": "sms"})


def test_the_sentences_carry_their_intents() -> None:
    for intent, text in SAYS.items():
        assert understand(text, today=date(2026, 11, 23)).intent.value == intent, text


def _reachable(plan: Dialplan, starts: set[str], *, stop_at_verification: bool) -> set[str]:
    """States reachable from ``starts`` through transitions and branches."""

    def verifies(name: str) -> bool:
        return any(s.op == "flag" for s in plan.states[name].do)

    seen = set(starts)
    queue = deque(starts)
    while queue:
        state = plan.states[queue.popleft()]
        targets = [t.goto for t in plan.transitions(state) if t.goto]
        targets += [b.goto for b in state.next]
        for target in targets:
            if target in seen or (stop_at_verification and verifies(target)):
                continue
            seen.add(target)
            queue.append(target)
    return seen


def test_every_listening_state_only_reachable_after_verification_is_in_the_group(
    plan: Dialplan,
) -> None:
    verified_at = {n for n, s in plan.states.items() if any(x.op == "flag" for x in s.do)}
    before = _reachable(plan, {plan.start}, stop_at_verification=True)
    after = _reachable(plan, verified_at, stop_at_verification=False)
    members = set(plan.groups["verified"].states)
    only_after = {n for n in after - before if plan.states[n].listen is not None}
    assert only_after == members


@pytest.mark.parametrize("verify_document", [True, False])
def test_every_shared_transition_in_every_member_state(
    plan: Dialplan, ctx: CallContext, verify_document: bool
) -> None:
    ctx = replace(ctx, settings={**ctx.settings, "verify_document": verify_document})
    routes = _routes(plan, ctx)
    cases = _shared_cases(plan)
    assert len(cases) >= 40  # 8 states × 5 shared transitions, less the ones states override
    for member, intent, transition in cases:
        state = _at(plan, ctx, member, routes)
        assert state.right_party  # members of `verified` are all after the identity check
        after, _ = step(plan, state, Utterance(AT, SAYS[intent]))
        assert after.node in _through(plan, transition.goto or member), (member, intent, after.node)


# Each claim: the disposition it settles, and the detail the outcome must keep.
CLAIMS = {
    "already_paid": (Disposition.PAID, lambda o: o.paid_info),
    "dispute": (Disposition.DISP, lambda o: o.dispute_reason),
    "callback_request": (
        Disposition.CB,
        lambda o: o.callback_at and o.callback_at.date() == THURSDAY,
    ),
    "stop_calling": (Disposition.DNC, lambda o: o.opt_out),
    "wrong_number": (Disposition.WPC, lambda o: o.phone_invalid),
}


@pytest.mark.parametrize("claim", sorted(CLAIMS))
def test_a_hang_up_right_after_a_claim_keeps_it_in_every_state(
    plan: Dialplan, ctx: CallContext, claim: str
) -> None:
    code, detail = CLAIMS[claim]
    routes = _routes(plan, ctx)
    for member in plan.groups["verified"].states:
        state = _at(plan, ctx, member, routes)
        before = state.disposition
        state, _ = step(plan, state, Utterance(AT, SAYS[claim]))
        if not state.ended:
            state, _ = step(plan, state, Hangup(AT))
        outcome = state.outcome
        assert isinstance(outcome, CallOutcome)
        assert detail(outcome), (member, claim)
        # An earlier claim of higher rank (a dispute, in the dispute state) keeps its code.
        assert outcome.disposition is settle(before, code), (member, claim, outcome.disposition)


def test_a_third_party_who_got_the_message_and_hangs_up_is_a_third_party_contact(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, ["no, él salió, yo soy la esposa", "<colgar>"])
    assert call.prompts == ["greeting", "third_party_message"]
    assert call.json["disposition"] == "TPC"
    assert call.json["flags"]["disclosure_made"] is False


@pytest.mark.parametrize("verify_document", [True, False])
@pytest.mark.parametrize(
    ("greeting", "expect"),
    [
        (
            "sí soy yo, y si es por la deuda ya la pagué",
            lambda o: o["disposition"] == "PAID" and "ya la pagué" in o["paid_info"],
        ),
        (
            "sí, soy yo, pero esa deuda no es mía",
            lambda o: o["disposition"] == "DISP" and "no es mía" in o["dispute_reason"],
        ),
        (
            "con él, le pago todo el viernes",
            lambda o: o["promise"] is not None and o["promise"]["date"] == "2026-11-27",
        ),
    ],
)
def test_a_claim_before_verification_is_acted_on_after_it(
    plan: Dialplan, context: CallContext, verify_document: bool, greeting: str, expect
) -> None:
    digits = ["#1234"] if verify_document else []
    # After the claim only the digits and a "sí" to a read-back: nothing is said twice.
    call = play(plan, context, [greeting, *digits, "sí"], verify_document=verify_document)
    out = call.json
    assert expect(out), out
    assert out["flags"]["right_party_contacted"] and out["flags"]["disclosure_made"]
    assert "disclosure" not in call.prompts  # its question would ask for what was said
    assert call.prompts[: 2 if verify_document else 1] == (
        ["greeting", "verify_document"] if verify_document else ["greeting"]
    )


def test_a_held_claim_is_dropped_when_verification_fails(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, ["sí, ya pagué eso", "#9999", "#8888"])
    out = call.json
    assert out["disposition"] == "CB"
    assert out["flags"]["disclosure_made"] is False
    assert out["paid_info"] is None


@pytest.mark.parametrize(
    "turns",
    [
        ["sí", "ya pagué eso, para qué quiere mis datos", "#1234"],  # claim instead of digits
        ["sí", "uno dos tres cuatro, y eso ya lo pagué"],  # digits and claim together
    ],
)
def test_a_claim_at_the_identity_check_is_acted_on_once_verified(
    plan: Dialplan, context: CallContext, turns: list[str]
) -> None:
    call = play(plan, context, [*turns, "<colgar>"])
    out = call.json
    assert out["disposition"] == "PAID" and "pagué" in out["paid_info"]
    assert call.prompts.count("disclosure_statement") == 1
    assert "disclosure" not in call.prompts


def test_a_callback_asked_at_the_identity_check_needs_no_verification(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, ["sí", "llámeme mañana en la tarde"])
    out = call.json
    assert out["disposition"] == "CB"
    assert out["callback_at"] == "2026-11-24T15:00:00-05:00"
    assert out["flags"]["disclosure_made"] is False


@pytest.mark.parametrize(
    ("amend", "amount", "day"),
    [
        ("no, mejor el lunes", 500000, "2026-11-30"),
        ("no, perdón, el sábado mejor", 500000, "2026-11-28"),
        ("no, mejor seiscientos mil", 600000, "2026-11-27"),
        ("mejor todo", 1200000, "2026-11-27"),
        ("mejor la mitad", 600000, "2026-11-27"),
    ],
)
def test_an_amendment_at_the_read_back_is_read_back_again(
    plan: Dialplan, context: CallContext, amend: str, amount: int, day: str
) -> None:
    call = play(plan, context, ["sí", "#1234", "le pago quinientos mil el viernes", amend, "sí"])
    assert call.prompts.count("confirm_promise") == 2
    promise = call.json["promise"]
    assert (promise["amount"], promise["date"]) == (amount, day)


def test_an_amendment_at_the_counter_offer(plan: Dialplan, context: CallContext) -> None:
    # Below the minimum (400 000): the counter-offer; a new day keeps the amount, "todo" fixes it.
    call = play(
        plan,
        context,
        ["sí", "#1234", "le doy cien mil el jueves", "no, mejor el sábado", "todo", "sí"],
    )
    assert call.prompts.count("counter_offer") == 2
    promise = call.json["promise"]
    assert (promise["amount"], promise["date"], call.json["disposition"]) == (
        1200000,
        "2026-11-28",
        "PTP",
    )


@pytest.mark.parametrize("turns", [["llámeme más tarde"], ["sí", "ahora no puedo, llámeme luego"]])
def test_a_callback_asked_before_verification_survives_a_hang_up(
    plan: Dialplan, context: CallContext, turns: list[str]
) -> None:
    call = play(plan, context, [*turns, "<colgar>"])
    assert call.prompts[-1] == "callback_ask"  # the bot was asking when
    assert call.json["disposition"] == "CB"
    assert call.json["callback_at"] is not None
    assert call.json["flags"]["disclosure_made"] is False


def test_a_callback_day_without_a_time_asks_only_the_time(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, ["sí", "#1234", "llámeme el jueves", "a las cuatro"])
    assert call.prompts[-2:] == ["callback_ask_time", "callback_confirm"]
    assert call.json["callback_at"] == "2026-11-26T16:00:00-05:00"
    # Hanging up instead of answering keeps the day, at the campaign's default hour.
    call = play(plan, context, ["sí", "#1234", "llámeme el jueves", "<colgar>"])
    assert call.json["disposition"] == "CB"
    assert call.json["callback_at"] == "2026-11-26T10:00:00-05:00"


def test_a_plan_spelled_out_is_read_back_as_said(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, ["sí", "#1234", "le pago en tres cuotas desde el viernes", "sí"])
    assert "offer_plan" not in call.prompts
    assert call.prompts[-2:] == ["confirm_plan", "promise_recorded"]
    promise = call.json["promise"]
    assert (promise["instalments"], promise["amount"], promise["date"]) == (3, 400000, "2026-11-27")


@pytest.mark.parametrize(
    "ask",
    [
        "¿lo puedo pagar en tres partes?",  # a question: the bot offers, with the amount
        "le pago en tres cuotas de cien mil desde el viernes",  # below what covers the balance
        "le pago en doce cuotas desde el viernes",  # beyond the creditor's maximum (6)
    ],
)
def test_a_plan_that_is_asked_or_does_not_fit_is_offered(
    plan: Dialplan, context: CallContext, ask: str
) -> None:
    call = play(plan, context, ["sí", "#1234", ask])
    assert call.prompts[-1] == "offer_plan"


@pytest.mark.parametrize(
    ("turns", "asked_again"),
    [
        (["sí", "#1234", "sí", "el viernes", "quinientos mil", "sí"], "ask_amount"),
        (
            [
                "sí",
                "#1234",
                "le pago cuatrocientos mil",
                "no, mejor quinientos mil",
                "el viernes",
                "sí",
            ],
            "ask_date",
        ),
    ],
)
def test_an_answer_to_the_other_question_is_kept(
    plan: Dialplan, context: CallContext, turns: list[str], asked_again: str
) -> None:
    call = play(plan, context, turns)
    assert call.prompts.count(asked_again) == 2
    assert "no_match" not in call.prompts
    promise = call.json["promise"]
    assert (promise["amount"], promise["date"]) == (500000, "2026-11-27")


def test_a_yes_repeating_the_day_read_back_records_the_promise(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(
        plan, context, ["sí", "#1234", "le pago quinientos mil el viernes", "sí, el viernes"]
    )
    assert call.prompts.count("confirm_promise") == 1
    assert call.json["disposition"] == "PPTP"
