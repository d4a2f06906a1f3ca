"""After a confirmed promise the bot offers the payment link by text; the answer is recorded."""

from __future__ import annotations

import pytest
from dialog_calls import play

from voicebot.dialog.plan import Dialplan
from voicebot.domain.context import CallContext

PROMISE = ["sí, con él habla", "uno dos tres cuatro", "le pago un millón doscientos mil el viernes"]


@pytest.mark.parametrize(
    ("channel", "answer", "wanted", "prompts"),
    [
        (
            "sms",
            "sí, por favor",
            "sms",
            ["offer_link_sms", "link_will_be_sent", "promise_recorded"],
        ),
        (
            "whatsapp",
            "claro",
            "whatsapp",
            ["offer_link_whatsapp", "link_will_be_sent", "promise_recorded"],
        ),
        ("sms", "no, gracias", "none", ["offer_link_sms", "promise_recorded"]),
    ],
)
def test_the_offer_follows_the_confirmed_promise_and_records_the_answer(
    plan: Dialplan,
    context: CallContext,
    channel: str,
    answer: str,
    wanted: str,
    prompts: list[str],
) -> None:
    call = play(plan, context, [*PROMISE, "sí, correcto", answer], payment_link_channel=channel)
    assert call.prompts[-len(prompts) - 1 :] == ["confirm_promise", *prompts]
    assert call.outcome.promise is not None
    assert call.outcome.promise.link_requested == wanted
    assert call.json["disposition"] == "PTP" and call.json["final_state"] == "promise_recorded"
    assert call.json["promise"]["link_requested"] == wanted
    offer = call.line.said[-len(prompts)].text
    assert offer.startswith("¿Le envío el enlace de pago por")


def test_a_hang_up_during_the_offer_keeps_the_promise_without_a_link(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, [*PROMISE, "sí, correcto"], payment_link_channel="sms")
    assert call.outcome.promise is not None and call.json["disposition"] == "PTP"
    assert call.outcome.promise.link_requested is None  # not asked: no link goes out


def test_without_a_messaging_channel_there_is_no_offer(
    plan: Dialplan, context: CallContext
) -> None:
    call = play(plan, context, [*PROMISE, "sí, correcto"])
    assert "offer_link_sms" not in call.prompts and call.prompts[-1] == "promise_recorded"
    assert call.outcome.promise is not None and call.outcome.promise.link_requested is None
