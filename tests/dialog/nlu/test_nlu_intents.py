"""Intents of realistic answers, with precedence where two readings compete."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from nlu_intents_cases import CASES

from voicebot.dialog.nlu import understand
from voicebot.dialog.nlu.normalize import fold
from voicebot.dialog.understanding import Intent

TODAY = date(2026, 11, 23)


def _asr(text: str) -> str:
    """What a recognizer writes for the same words: lowercase, no accents, no punctuation."""
    return " ".join("".join(c if c.isalnum() else " " for c in fold(text)).split())


ALL = [(intent, text) for intent, texts in CASES.items() for text in texts]


@pytest.mark.parametrize(("intent", "text"), ALL)
def test_intent(intent: str, text: str) -> None:
    assert understand(text, today=TODAY).intent is Intent(intent)


@pytest.mark.parametrize(("intent", "text"), ALL)
def test_intent_from_recognizer_output(intent: str, text: str) -> None:
    assert understand(_asr(text), today=TODAY).intent is Intent(intent)


def test_every_intent_is_covered() -> None:
    assert set(CASES) == {i.value for i in Intent}
    assert all(len(texts) >= 6 for texts in CASES.values())


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("no, ya pagué", Intent.ALREADY_PAID),
        ("no puedo pagar", Intent.CANNOT_PAY),
        ("no es mía", Intent.DISPUTE),
        ("no, no me llamen más", Intent.STOP_CALLING),
        ("sí, le pago el viernes", Intent.PROMISE_TO_PAY),
        ("pago mañana", Intent.PROMISE_TO_PAY),
        ("llámeme mañana", Intent.CALLBACK_REQUEST),
        ("no está, llame más tarde", Intent.THIRD_PARTY),
        ("no me llame ahora, llame más tarde", Intent.CALLBACK_REQUEST),
        ("no puedo pagar el viernes", Intent.CANNOT_PAY),
        ("ya no debo nada", Intent.ALREADY_PAID),
        ("de acuerdo, le pago el lunes", Intent.PROMISE_TO_PAY),
        ("el monto está equivocado", Intent.DISPUTE),
        ("¿dónde hago el pago?", Intent.ASK_INFO),
        ("no conozco esa deuda", Intent.DISPUTE),
        ("no conozco a ese señor", Intent.WRONG_NUMBER),
    ],
)
def test_precedence(text: str, intent: Intent) -> None:
    assert understand(text, today=TODAY).intent is intent


def test_promise_carries_amount_and_date() -> None:
    said = understand("el viernes le consigno cincuenta mil pesos", today=TODAY)
    assert said.intent is Intent.PROMISE_TO_PAY
    assert said.amount == Decimal(50_000)
    assert said.date == date(2026, 11, 27)


def test_entities_are_extracted_for_any_intent() -> None:
    paid = understand("ya pagué cien mil ayer", today=TODAY)
    assert paid.intent is Intent.ALREADY_PAID
    assert (paid.amount, paid.date) == (Decimal(100_000), date(2026, 11, 22))
    plan = understand("¿puedo pagar en tres cuotas de doscientos mil?", today=TODAY)
    assert plan.intent is Intent.PAYMENT_PLAN_REQUEST
    assert (plan.instalments, plan.amount) == (3, Decimal(200_000))


def test_bare_answers_to_how_much_and_when_are_promises() -> None:
    assert understand("cien mil", today=TODAY).intent is Intent.PROMISE_TO_PAY
    assert understand("el viernes", today=TODAY).intent is Intent.PROMISE_TO_PAY
    assert understand("mañana en la tarde", today=TODAY).intent is Intent.CALLBACK_REQUEST


def test_negated_bare_answers_are_not_promises() -> None:
    assert understand("no, hoy no", today=TODAY).intent is Intent.DENY
    thanks = understand("mil gracias", today=TODAY)
    assert (thanks.intent, thanks.amount) == (Intent.UNKNOWN, None)


def test_a_telling_word_decides_a_long_answer_no_phrase_matched() -> None:
    said = understand("mire, yo tengo un abogado viendo ese tema", today=TODAY)
    assert said.intent is Intent.DISPUTE
    assert said.confidence < understand("esa deuda no es mía", today=TODAY).confidence


def test_negation_reaches_only_a_few_words() -> None:
    far = understand("no se preocupe que el quince le pago", today=TODAY)
    assert far.intent is Intent.PROMISE_TO_PAY
    near = understand("no creo que le pueda pagar", today=TODAY)
    assert near.intent is Intent.CANNOT_PAY


@pytest.mark.parametrize("text", ["no sé", "no lo sé", "pues no sé"])
def test_not_knowing_is_neither_yes_nor_no(text: str) -> None:
    assert understand(text, today=TODAY).intent is Intent.UNKNOWN


def test_confidence_is_lower_when_the_intent_is_inferred() -> None:
    stated = understand("le pago cien mil el viernes", today=TODAY)
    inferred = understand("cien mil", today=TODAY)
    unknown = understand("hace mucho calor", today=TODAY)
    assert 0 <= unknown.confidence < inferred.confidence < stated.confidence <= 1


@pytest.mark.parametrize("text", ["", "   ", "¿?¡!", "...", "12:99", "99/99"])
def test_empty_and_odd_input_is_unknown_not_an_error(text: str) -> None:
    said = understand(text, today=TODAY)
    assert said.intent is Intent.UNKNOWN
    assert said.amount is None
