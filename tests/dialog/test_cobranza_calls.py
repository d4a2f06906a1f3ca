"""Every branch of dialplans/cobranza_es.yaml, played as whole scripted calls on the text line."""

from __future__ import annotations

from datetime import date, datetime

from dialog_calls import BOGOTA, TODAY, play

from voicebot.dialog.plan import Dialplan
from voicebot.domain.context import CallContext

VERIFIED = ["sí, con él habla", "uno dos tres cuatro"]


def test_happy_promise_is_read_back_and_recorded(plan: Dialplan, context: CallContext) -> None:
    call = play(
        plan, context, [*VERIFIED, "le pago un millón doscientos mil el viernes", "sí, correcto"]
    )
    out = call.json
    assert out["disposition"] == "PTP"
    assert out["promise"] == {
        "amount": 1_200_000,
        "currency": "COP",
        "date": "2026-11-27",
        "instalments": 1,
        "partial": False,
    }
    assert out["flags"] == {
        "right_party_contacted": True,
        "disclosure_made": True,
        "opt_out": False,
        "phone_invalid": False,
    }
    assert call.prompts == [
        "greeting",
        "verify_document",
        "disclosure",
        "confirm_promise",
        "promise_recorded",
    ]
    readback = call.line.said[3].text
    assert "un millón doscientos mil pesos el viernes veintisiete de noviembre" in readback
    disclosure = call.line.said[2].text
    assert "Banco Andino" in disclosure and "cuarenta y cinco días de mora" in disclosure
    assert out["final_state"] == "promise_recorded"


def test_transcript_has_every_turn_with_timestamps(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, [*VERIFIED, "pago todo el viernes", "sí"])
    turns = call.json["transcript"]
    speakers = [t["speaker"] for t in turns]
    assert speakers == ["bot", "debtor", "bot", "debtor", "bot", "debtor", "bot", "debtor", "bot"]
    stamps = [datetime.fromisoformat(t["at"]) for t in turns]
    assert stamps == sorted(stamps) and stamps[0] < stamps[-1]
    assert turns[1]["intent"] == "affirm"
    assert turns[5]["intent"] == "promise_to_pay"
    assert call.outcome.promise is not None and call.outcome.promise.amount == 1_200_000


def test_partial_promise_below_minimum_gets_an_instalment_counter_offer(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(
        plan,
        context,
        [*VERIFIED, "puedo pagar cien mil el viernes", "sí, acepto las cuotas", "sí"],
    )
    assert call.prompts[3] == "counter_offer"
    offer = call.line.said[3].text
    assert "cuatrocientos mil pesos" in offer  # the creditor's minimum, in words
    assert "seis cuotas de doscientos mil pesos" in offer
    out = call.json
    assert out["disposition"] == "PTP"
    assert out["promise"]["amount"] == 200_000
    assert out["promise"]["instalments"] == 6
    assert out["promise"]["date"] == "2026-11-27"
    assert "confirm_plan" in call.prompts


def test_partial_promise_above_minimum_is_a_partial_promise(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, [*VERIFIED, "le abono quinientas lucas el diez", "sí"])
    out = call.json
    assert out["disposition"] == "PPTP"
    assert out["promise"]["amount"] == 500_000
    assert out["promise"]["partial"] is True
    assert out["promise"]["date"] == "2026-12-10"


def test_counter_offer_refused_is_a_refusal(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, [*VERIFIED, "solo puedo cincuenta mil mañana", "no, no puedo"])
    assert call.json["disposition"] == "RTP"
    assert call.prompts[-1] == "refusal_close"


def test_cannot_pay_gets_a_plan_then_first_instalment_date(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, [*VERIFIED, "no tengo plata", "sí, me sirve", "el diez", "sí"])
    assert call.prompts[3] == "offer_plan"
    assert "ask_date" not in call.prompts
    out = call.json
    assert out["disposition"] == "PTP"
    assert out["promise"]["instalments"] == 6
    assert out["promise"]["date"] == "2026-12-10"


def test_promise_too_far_ahead_is_asked_again_within_limits(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(
        plan,
        context,
        [*VERIFIED, "pago todo el 30 de enero", "bueno, el cinco de diciembre", "sí"],
    )
    assert "date_too_far" in call.prompts
    too_far = call.line.said[call.prompts.index("date_too_far")].text
    assert "domingo trece de diciembre" in too_far  # today + 20 days
    assert call.json["promise"]["date"] == "2026-12-05"
    assert call.json["disposition"] == "PTP"


def test_promise_without_amount_and_date_asks_for_both(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(
        plan, context, [*VERIFIED, "sí puedo pagar", "seiscientos mil", "el miércoles", "sí"]
    )
    assert call.prompts[3:5] == ["ask_amount", "ask_date"]
    assert call.json["promise"]["amount"] == 600_000
    assert call.json["promise"]["date"] == "2026-11-25"


def test_debtor_corrects_the_readback(plan: Dialplan, context: CallContext) -> None:
    call = play(
        plan,
        context,
        [*VERIFIED, "pago todo mañana", "no", "quinientos mil el viernes", "sí"],
    )
    assert "promise_corrected" in call.prompts
    assert call.json["promise"]["amount"] == 500_000
    assert call.json["promise"]["date"] == "2026-11-27"


def test_already_paid(plan: Dialplan, context: CallContext) -> None:
    call = play(
        plan, context, [*VERIFIED, "eso ya lo pagué", "el viernes pasado por transferencia"]
    )
    out = call.json
    assert out["disposition"] == "PAID"
    assert "transferencia" in out["paid_info"]
    assert out["promise"] is None


def test_wrong_number_marks_the_phone_and_discloses_nothing(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, ["número equivocado"])
    out = call.json
    assert out["disposition"] == "WPC"
    assert out["flags"]["phone_invalid"] is True
    assert out["flags"]["disclosure_made"] is False
    assert call.prompts == ["greeting", "wrong_number_close"]


def test_someone_who_does_not_know_the_debtor(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, ["no", "no, no lo conozco"])
    assert call.json["disposition"] == "WPC"
    assert call.prompts == ["greeting", "ask_knows_debtor", "wrong_number_close"]


def test_third_party_takes_a_message_and_a_callback_without_disclosure(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, ["no está, salió a trabajar", "mañana en la tarde"])
    out = call.json
    assert out["disposition"] == "TPC"
    assert out["flags"]["disclosure_made"] is False
    assert out["flags"]["right_party_contacted"] is False
    assert datetime.fromisoformat(out["callback_at"]) == datetime(
        2026, 11, 24, 15, 0, tzinfo=BOGOTA
    )
    for say in call.line.said:
        assert "Banco" not in say.text and "pesos" not in say.text and "deuda" not in say.text


def test_dispute_is_recorded_and_collection_stops(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, [*VERIFIED, "esa deuda no es mía", "nunca tuve esa tarjeta"])
    out = call.json
    assert out["disposition"] == "DISP"
    # The claim is recorded when made; the reason asked for after it is added to it.
    assert out["dispute_reason"] == "esa deuda no es mía; nunca tuve esa tarjeta"
    assert call.prompts[-1] == "dispute_close"


def test_dispute_routed_to_an_agent_when_the_policy_says_so(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(
        plan,
        context,
        [*VERIFIED, "yo no debo eso", "el monto está mal", "<agente>"],
        dispute_policy="transfer",
    )
    assert call.json["disposition"] == "XFER"
    assert call.json["transfer_reason"] == "dispute"
    assert call.json["dispute_reason"] == "yo no debo eso; el monto está mal"


def test_callback_request_with_a_time(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, [*VERIFIED, "ahora no puedo, llámeme mañana en la tarde"])
    out = call.json
    assert out["disposition"] == "CB"
    assert datetime.fromisoformat(out["callback_at"]) == datetime(
        2026, 11, 24, 15, 0, tzinfo=BOGOTA
    )
    assert "mañana a las tres de la tarde" in call.line.said[-1].text


def test_callback_request_without_a_time_asks_when(plan: Dialplan, context: CallContext) -> None:
    call = play(
        plan, context, ["estoy ocupado, llámeme luego", "el jueves a las cuatro de la tarde"]
    )
    out = call.json
    assert out["disposition"] == "CB"
    assert call.prompts == ["greeting", "callback_ask", "callback_confirm"]
    assert datetime.fromisoformat(out["callback_at"]) == datetime(
        2026, 11, 26, 16, 0, tzinfo=BOGOTA
    )
    assert out["flags"]["disclosure_made"] is False


def test_agent_request_warm_transfer_answered(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, [*VERIFIED, "quiero hablar con un asesor", "<agente>"])
    out = call.json
    assert out["disposition"] == "XFER"
    assert out["transfer_reason"] == "agent_request"
    [transfer] = call.line.transfers
    assert transfer.context.debtor_name == "Carlos Andrés Pérez Gómez"
    assert "verificado" in transfer.context.summary
    assert any("quiero hablar con un asesor" in line for line in transfer.context.transcript)


def test_agent_request_no_agent_schedules_a_callback(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, ["páseme con una persona", "<sin agente>"])
    out = call.json
    assert out["disposition"] == "CB"
    assert out["transfer_reason"] == "agent_request"
    assert datetime.fromisoformat(out["callback_at"]) == datetime(
        2026, 11, 24, 10, 0, tzinfo=BOGOTA
    )
    assert call.prompts[-1] == "transfer_failed"


def test_opt_out_at_the_greeting(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, ["no me vuelvan a llamar"])
    out = call.json
    assert out["disposition"] == "DNC"
    assert out["flags"]["opt_out"] is True
    assert call.prompts == ["greeting", "opt_out_close"]


def test_opt_out_after_disclosure_is_honored_too(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, [*VERIFIED, "no me llamen más, bórrenme de la lista"])
    assert call.json["disposition"] == "DNC"
    assert call.json["flags"]["opt_out"] is True


def test_silence_three_times_closes_politely(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, ["", "", ""])
    assert call.json["disposition"] == "DROP"
    assert call.prompts == [
        "greeting",
        "no_input",
        "greeting_reprompt",
        "no_input",
        "greeting_reprompt",
        "silence_close",
    ]


def test_no_match_three_times_transfers_to_an_agent(plan: Dialplan, context: CallContext) -> None:
    call = play(
        plan,
        context,
        ["hace mucho calor", "el perro ladra", "la luna es de queso", "<agente>"],
    )
    out = call.json
    assert out["disposition"] == "XFER"
    assert out["transfer_reason"] == "no_match"
    assert call.prompts.count("no_match") == 2


def test_repeat_request_says_the_question_again(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, ["¿cómo? repita por favor", "número equivocado"])
    assert call.prompts == ["greeting", "greeting_reprompt", "wrong_number_close"]


def test_who_is_calling_before_verification_reveals_only_the_company(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, ["¿de dónde me llaman?", "sí, soy yo", "1 2 3 4", "<colgar>"])
    assert call.prompts[:3] == ["greeting", "who_is_calling", "greeting_reprompt"]
    assert "Gestión Integral de Cartera" in call.line.said[1].text


def test_dtmf_verification(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, ["sí", "#1234", "<colgar>"])
    assert "disclosure" in call.prompts
    assert call.json["flags"]["right_party_contacted"] is True
    assert call.json["disposition"] == "RPC"


def test_wrong_document_digits_twice_never_discloses(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, ["sí", "#9999", "cinco cinco cinco cinco"])
    out = call.json
    assert out["disposition"] == "CB"
    assert out["flags"] == {
        "right_party_contacted": False,
        "disclosure_made": False,
        "opt_out": False,
        "phone_invalid": False,
    }
    assert call.prompts == ["greeting", "verify_document", "verify_retry", "verify_failed"]


def test_verification_can_be_turned_off_per_campaign(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, ["sí, soy yo", "<colgar>"], verify_document=False)
    assert call.prompts == ["greeting", "disclosure"]


def test_mini_miranda_before_disclosure_when_configured(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, [*VERIFIED, "<colgar>"], mini_miranda=True)
    assert call.prompts == ["greeting", "verify_document", "mini_miranda", "disclosure"]


def test_hangup_mid_call_keeps_what_was_settled(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, [*VERIFIED, "<colgar>"])
    out = call.json
    assert out["disposition"] == "RPC"
    assert out["flags"]["right_party_contacted"] is True
    assert out["final_state"] == "disclosure"


def test_hangup_before_anything_is_a_drop(plan: Dialplan, context: CallContext) -> None:
    assert play(plan, context, ["<colgar>"]).json["disposition"] == "DROP"


def test_debtor_asks_how_much_after_verification(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, [*VERIFIED, "¿cuánto es lo que debo?", "<colgar>"])
    assert call.prompts[3:5] == ["info_amount", "disclosure_reprompt"]


def test_promise_date_in_the_debtors_own_calendar(plan: Dialplan, context: CallContext) -> None:
    call = play(plan, context, [*VERIFIED, "pago todo hoy mismo", "sí"])
    assert call.outcome.promise is not None
    assert call.outcome.promise.due == TODAY
    assert date.fromisoformat(call.json["promise"]["date"]) == TODAY
