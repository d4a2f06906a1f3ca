"""Every branch of dialplans/cobranza_entrante_es.yaml, played as whole inbound calls in text.

The line is examples/inbound_line.json: Carlos (+573001112233, document 79.851.234), and Lucía
(pending promise, document 52.123.987) and Jorge (document 1.020.304.050) sharing +573104445566.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from dialog_calls import BOGOTA, TODAY

from voicebot.actions import Action, CallerIdentified
from voicebot.data import INBOUND_DIALPLAN
from voicebot.dialog.callers import CallerIdError, normalize_caller_id
from voicebot.dialog.inbound_line import InboundLine, line_from_json
from voicebot.dialog.plan import Dialplan
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.context import CallContext
from voicebot.domain.outcome import CallOutcome
from voicebot.engine.call_loop import run_call
from voicebot.telephony.text_line import SimulatedClock, TextLine

ROOT = Path(__file__).resolve().parents[2]
CARLOS = "+573001112233"
SHARED = "+573104445566"  # Lucía's and Jorge's
STRANGER = "+573009998877"
SECRETS = ("Banco Andino", "Cooperativa", "mora", "millón", "saldo de", "compromiso de pago")


@pytest.fixture(scope="module")
def inbound_plan() -> Dialplan:
    return load_dialplan(INBOUND_DIALPLAN)


@pytest.fixture(scope="module")
def line() -> InboundLine:
    data = json.loads((ROOT / "examples" / "inbound_line.json").read_text(encoding="utf-8"))
    return line_from_json(data, today=TODAY)


@dataclass
class Inbound:
    outcome: CallOutcome
    line: TextLine
    identified: list[str]

    @property
    def prompts(self) -> list[str]:
        return [s.prompt for s in self.line.said]

    @property
    def json(self) -> dict[str, Any]:
        return self.outcome.to_json()


def call(plan: Dialplan, ctx: CallContext, turns: list[str], **settings: Any) -> Inbound:
    """An inbound call on the text line; nothing about a debt is said before verification."""
    if settings:
        ctx = replace(ctx, settings={**ctx.settings, **settings})
    clock = SimulatedClock(datetime(2026, 11, 23, 10, 0, tzinfo=BOGOTA))
    line = TextLine.scripted(turns, clock=clock)
    identified: list[str] = []

    async def note(action: Action) -> None:
        if isinstance(action, CallerIdentified):
            identified.append(action.debtor_ref)

    outcome = asyncio.run(run_call(plan, ctx, line, clock=clock, on_action=note))
    first = next((i for i, s in enumerate(line.said) if s.discloses_debt), len(line.said))
    for say in line.said[:first]:
        assert not any(secret in say.text for secret in SECRETS), say
    if first < len(line.said):
        assert outcome.right_party_contacted and outcome.disclosure_made
    assert outcome.direction == "inbound"
    return Inbound(outcome, line, identified)


def test_a_known_caller_is_greeted_by_name_verified_then_served_from_the_menu(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    ctx = line.context_for(CARLOS)
    got = call(inbound_plan, ctx, ["sí, soy yo", "#1234", "#1", "pago todo el viernes", "sí"])
    assert got.prompts == [
        "inbound_greeting",
        "verify_document",
        "menu",
        "disclosure",
        "confirm_promise",
        "promise_recorded",
    ]
    assert "Carlos Andrés Pérez Gómez" in got.line.said[0].text
    assert got.json["disposition"] == "PTP"
    assert got.json["promise"]["date"] == "2026-11-27"
    assert got.json["caller_id"] == CARLOS and got.json["direction"] == "inbound"
    assert got.identified == ["D-1001"]


def test_the_keypad_menu_reads_the_balance_then_offers_the_menu_again(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    got = call(inbound_plan, line.context_for(CARLOS), ["sí", "#1234", "#3", "no gracias"])
    assert got.prompts == [
        "inbound_greeting",
        "verify_document",
        "menu",
        "info_amount",
        "menu",
        "goodbye",
    ]
    assert "un millón doscientos mil pesos" in got.line.said[3].text
    assert got.json["disposition"] == "RPC"


def test_a_claim_said_before_verification_is_answered_after_it(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    got = call(
        inbound_plan,
        line.context_for(CARLOS),
        ["llamo porque ya pagué", "#1234", "el viernes pasado por transferencia"],
    )
    assert got.prompts[:3] == ["inbound_greeting", "verify_document", "disclosure_statement"]
    assert got.json["disposition"] == "PAID"


def test_an_unknown_caller_is_identified_by_the_whole_document(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    ctx = line.context_for(STRANGER)
    assert ctx.caller_match == "unknown" and ctx.debtor.full_name == ""
    got = call(inbound_plan, ctx, ["#79851234", "#1", "pago todo el viernes", "sí"])
    assert got.prompts[:3] == ["ask_document", "menu", "disclosure"]
    assert "Carlos" in got.line.said[2].text
    assert got.json["disposition"] == "PTP"
    assert got.identified == ["D-1001"]


def test_a_document_may_be_spoken(inbound_plan: Dialplan, line: InboundLine) -> None:
    got = call(
        inbound_plan,
        line.context_for(STRANGER),
        ["mi cédula es siete nueve ocho cinco uno dos tres cuatro", "no gracias"],
    )
    assert got.prompts == ["ask_document", "menu", "goodbye"]
    assert got.identified == ["D-1001"]


def test_an_unknown_document_twice_offers_an_agent_and_discloses_nothing(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    got = call(inbound_plan, line.context_for(STRANGER), ["#11111111", "#22222222", "no"])
    assert got.prompts == ["ask_document", "ask_document_retry", "not_identified", "goodbye"]
    assert not got.outcome.right_party_contacted and not got.outcome.disclosure_made
    assert got.identified == []


def test_several_debtors_on_one_number_are_told_apart_by_document(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    ctx = line.context_for(SHARED)
    assert ctx.caller_match == "several"
    got = call(inbound_plan, ctx, ["#1020304050", "#3", "no"])
    assert got.prompts == ["ask_document", "menu", "info_amount", "menu", "goodbye"]
    assert "cuatrocientos cincuenta mil pesos" in got.line.said[2].text  # Jorge's, not Lucía's
    assert got.identified == ["D-1003"]


def test_a_pending_promise_is_resumed_and_kept(inbound_plan: Dialplan, line: InboundLine) -> None:
    got = call(inbound_plan, line.context_for(SHARED), ["#52123987", "sí, lo mantengo"])
    assert got.prompts == ["ask_document", "pending_promise", "pending_kept"]
    assert "trescientos mil pesos" in got.line.said[1].text
    assert "viernes veintisiete de noviembre" in got.line.said[1].text
    assert got.json["disposition"] == "RPC" and got.outcome.promise is None


def test_a_pending_promise_can_be_moved_to_another_day(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    got = call(
        inbound_plan,
        line.context_for(SHARED),
        ["#52123987", "no, mejor le pago trescientos mil el lunes", "sí"],
    )
    assert got.prompts[-2:] == ["confirm_promise", "promise_recorded"]
    assert got.json["promise"]["date"] == "2026-11-30"
    assert got.json["disposition"] == "PPTP"


def test_a_pending_callback_is_acknowledged_before_the_menu(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    ctx = replace(
        line.context_for(CARLOS), pending_callback=datetime(2026, 11, 24, 10, tzinfo=BOGOTA)
    )
    got = call(inbound_plan, ctx, ["sí", "#1234", "no"])
    assert got.prompts == [
        "inbound_greeting",
        "verify_document",
        "pending_callback",
        "menu",
        "goodbye",
    ]
    assert "mañana" in got.line.said[2].text


def test_failed_verification_offers_an_agent(inbound_plan: Dialplan, line: InboundLine) -> None:
    got = call(inbound_plan, line.context_for(CARLOS), ["sí", "#0000", "#9999", "#2", "<agente>"])
    assert got.prompts == [
        "inbound_greeting",
        "verify_document",
        "verify_retry",
        "inbound_verify_failed",
        "transfer_agent",
    ]
    assert got.json["disposition"] == "XFER"
    assert not got.outcome.disclosure_made
    assert "NO verificado" in got.line.transfers[0].context.summary


def test_failed_verification_offers_a_callback(inbound_plan: Dialplan, line: InboundLine) -> None:
    got = call(
        inbound_plan,
        line.context_for(CARLOS),
        ["sí", "#0000", "#9999", "llámeme mañana a las tres"],
    )
    assert got.prompts[-2:] == ["inbound_verify_failed", "callback_confirm"]
    assert got.json["disposition"] == "CB"
    assert got.json["callback_at"] == "2026-11-24T15:00:00-05:00"
    assert not got.outcome.disclosure_made


def test_an_agent_takes_the_call_with_its_context(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    got = call(inbound_plan, line.context_for(CARLOS), ["sí", "#1234", "#2", "<agente>"])
    assert got.prompts[-1] == "transfer_agent"
    assert got.json["disposition"] == "XFER"
    transfer = got.line.transfers[0]
    assert transfer.reason == "agent_request"
    assert "(verificado)" in transfer.context.summary


def test_no_agent_holds_with_a_message_then_offers_a_callback(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    turns = ["sí", "#1234", "#2", "<sin agente>", "", "<sin agente>", "", "sí", "mañana a las diez"]
    got = call(inbound_plan, line.context_for(CARLOS), turns, queue_hold_rounds=2)
    assert got.prompts[3:] == [
        "transfer_agent",
        "queue_hold",
        "transfer_agent",
        "queue_hold",
        "queue_callback_offer",
        "callback_ask",
        "callback_confirm",
    ]
    assert len(got.line.transfers) == 2
    assert got.json["disposition"] == "CB"
    assert got.json["callback_at"] == "2026-11-24T10:00:00-05:00"


def test_the_hold_lasts_the_configured_number_of_rounds(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    rounds = 4
    turns = ["sí", "#1234", "#2", *(["<sin agente>", ""] * rounds), "no"]
    got = call(inbound_plan, line.context_for(CARLOS), turns, queue_hold_rounds=rounds)
    assert got.prompts.count("queue_hold") == rounds
    assert got.prompts[-2:] == ["queue_callback_offer", "goodbye"]


def test_a_caller_on_hold_may_ask_for_the_callback_at_once(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    turns = ["sí", "#1234", "#2", "<sin agente>", "#1", "#1", "el jueves a las cuatro"]
    got = call(inbound_plan, line.context_for(CARLOS), turns)
    assert got.prompts[-4:] == [
        "queue_hold",
        "queue_callback_offer",
        "callback_ask",
        "callback_confirm",
    ]
    assert got.json["callback_at"] == "2026-11-26T16:00:00-05:00"


def test_an_unknown_caller_with_no_agent_is_asked_to_call_again(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    turns = ["#11111111", "#22222222", "sí", "<sin agente>", "", "<sin agente>", ""]
    got = call(inbound_plan, line.context_for(STRANGER), turns, queue_hold_rounds=2)
    assert got.prompts[-1] == "queue_call_again"
    assert got.outcome.callback_at is None  # no one to call back
    assert not got.outcome.disclosure_made


def test_the_caller_hangs_up_mid_prompt(inbound_plan: Dialplan, line: InboundLine) -> None:
    got = call(inbound_plan, line.context_for(CARLOS), ["sí", "<colgar>"])
    assert got.prompts == ["inbound_greeting", "verify_document"]
    assert got.json["disposition"] == "DROP"
    assert got.json["final_state"] == "verify_document"


def test_someone_calling_for_the_debtor_hears_nothing_about_the_matter(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    got = call(inbound_plan, line.context_for(CARLOS), ["no, soy la esposa, llamo por él"])
    assert got.json["disposition"] == "TPC"
    assert got.prompts[-1] == "inbound_third_party"


def test_a_stop_request_is_an_opt_out_inbound_too(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    got = call(inbound_plan, line.context_for(CARLOS), ["sí", "#1234", "no me vuelvan a llamar"])
    assert got.json["disposition"] == "DNC" and got.outcome.opt_out


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+57 300 111 2233", "+573001112233"),
        ("tel:+573001112233", "+573001112233"),
        ("sip:+573001112233@pbx.local;user=phone", "+573001112233"),
    ],
)
def test_caller_ids_are_read_in_the_forms_carriers_send(raw: str, e164: str) -> None:
    assert normalize_caller_id(raw) == e164


@pytest.mark.parametrize("raw", ["anonymous", "", "sip:bot@pbx.local", "+12"])
def test_a_caller_id_that_is_no_number_is_refused(raw: str) -> None:
    with pytest.raises(CallerIdError, match="not a phone number"):
        normalize_caller_id(raw)


def test_a_withheld_caller_id_is_an_unknown_caller(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    ctx = line.context_for("anonymous")
    assert ctx.caller_match == "unknown" and ctx.caller_id == ""
    got = call(inbound_plan, ctx, ["#1020304050", "no"])
    assert got.prompts == ["ask_document", "menu", "goodbye"]
    assert got.identified == ["D-1003"]


def test_campaign_settings_the_inbound_plan_lacks_do_not_break_the_call(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    # A campaign written for a custom outbound plan: its own setting names do not apply here.
    got = call(inbound_plan, line.context_for(CARLOS), ["sí", "#1234", "no"], my_custom_flag=True)
    assert got.prompts == ["inbound_greeting", "verify_document", "menu", "goodbye"]


def test_the_debt_collector_notice_comes_first_where_the_law_requires_it(
    inbound_plan: Dialplan, line: InboundLine
) -> None:
    got = call(
        inbound_plan, line.context_for(CARLOS), ["sí", "#1234", "#3", "no"], mini_miranda=True
    )
    assert got.prompts[:4] == ["inbound_greeting", "verify_document", "mini_miranda", "menu"]
