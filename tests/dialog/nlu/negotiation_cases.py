"""What debtors say in the middle of a negotiation, written before running the NLU on them.

Families: regional yes/no, Spanglish from US Hispanic debtors, corrections at a
read-back, claims mixed with answers, payments already made with their details,
disputes, callbacks, instalments and shares of the balance. Call date: Monday
2026-11-23, 10:00 in Bogotá. Each case: (text, intent, expected entities).
"""

from __future__ import annotations

from typing import Any

Case = tuple[str, str, dict[str, Any]]

CASES: dict[str, list[Case]] = {
    "regional_yes": [
        ("de una", "affirm", {}),
        ("de una, hágale", "affirm", {}),
        ("al toque", "affirm", {}),
        ("sí po", "affirm", {}),
        ("ya po, dale", "affirm", {}),
        ("listo", "affirm", {}),
        ("listo, perfecto", "affirm", {}),
        ("dale pues", "affirm", {}),
        ("órale, sí", "affirm", {}),
        ("va, está bien", "affirm", {}),
        ("sale", "affirm", {}),
        ("bacano, sí señor", "affirm", {}),
        ("okey, listo", "affirm", {}),
        ("sí, me parece bien", "affirm", {}),
        ("de acuerdo, así quedamos", "affirm", {}),
    ],
    "spanglish": [
        ("ok, le pago el friday", "promise_to_pay", {"date": "2026-11-27"}),
        ("no tengo el money ahorita", "cannot_pay", {}),
        ("yes, soy yo", "affirm", {}),
        ("ok, sounds good", "affirm", {}),
        ("ya hice el payment la semana pasada", "already_paid", {}),
        ("call me back mañana", "callback_request", {"date": "2026-11-24"}),
        ("no, that's not my debt", "dispute", {}),
        ("I want to talk to a person", "agent_request", {}),
        ("le puedo hacer un payment de cien mil", "promise_to_pay", {"amount": 100000}),
        ("estoy sin trabajo right now", "cannot_pay", {}),
    ],
    "corrections": [
        ("no, mejor el lunes", "promise_to_pay", {"date": "2026-11-30"}),
        ("no, perdón, el sábado mejor", "promise_to_pay", {"date": "2026-11-28"}),
        ("espere, mejor el quince", "promise_to_pay", {"date": "2026-12-15"}),
        ("no, mejor pago todo", "promise_to_pay", {"full_balance": True}),
        ("mejor en cuotas", "payment_plan_request", {}),
        ("no, mejor quinientos mil", "promise_to_pay", {"amount": 500000}),
        ("cámbielo para el viernes", "promise_to_pay", {"date": "2026-11-27"}),
        ("mejor dividido en tres cuotas", "payment_plan_request", {"instalments": 3}),
    ],
    "amount_answers": [
        ("todo", "promise_to_pay", {"full_balance": True}),
        ("todo completo", "promise_to_pay", {"full_balance": True}),
        ("el total", "promise_to_pay", {"full_balance": True}),
        ("la totalidad de la deuda", "promise_to_pay", {"full_balance": True}),
    ],
    "paid_with_details": [
        ("ya pagué, lo hice el sábado en la sucursal", "already_paid", {"channel": "sucursal"}),
        (
            "ayer hice el pago en el banco",
            "already_paid",
            {"date": "2026-11-22", "channel": "banco"},
        ),
        ("eso lo pagué por la app hace tres días", "already_paid", {"channel": "app"}),
        ("le transferí la plata el viernes", "already_paid", {"channel": "transferencia"}),
        ("consigné en un corresponsal el jueves", "already_paid", {"channel": "corresponsal"}),
        ("ya cancelé la totalidad por PSE", "already_paid", {"channel": "pse"}),
        (
            "pagué en efectivo en la oficina la semana pasada",
            "already_paid",
            {"channel": "efectivo"},
        ),
        ("mi mamá ya pagó eso por Nequi", "already_paid", {"channel": "nequi"}),
        ("eso ya está pago desde el mes pasado", "already_paid", {}),
        ("ya quedé a paz y salvo", "already_paid", {}),
    ],
    "dispute": [
        ("yo no tengo ningún crédito con ese banco", "dispute", {}),
        ("nunca saqué esa tarjeta", "dispute", {}),
        ("eso es un fraude, yo no firmé nada", "dispute", {}),
        ("me suplantaron la identidad", "dispute", {}),
        ("ese cobro no me corresponde", "dispute", {}),
        ("el valor está mal, yo debo mucho menos", "dispute", {}),
        ("esa cuenta la cerré hace años", "dispute", {}),
    ],
    "callback": [
        ("comuníquese conmigo en una hora", "callback_request", {}),
        ("llámeme más tarde que estoy manejando", "callback_request", {}),
        ("ahorita no puedo hablar, llámeme en la tarde", "callback_request", {}),
        ("márqueme el jueves a las tres", "callback_request", {"date": "2026-11-26"}),
        ("estoy en el trabajo, hablamos después", "callback_request", {}),
        ("vuelva a llamar mañana temprano", "callback_request", {"date": "2026-11-24"}),
    ],
    "ask_info": [
        ("¿desde cuándo estoy en mora?", "ask_info", {}),
        ("¿cuánto es lo que debo?", "ask_info", {}),
        ("¿de qué es esa deuda?", "ask_info", {}),
        ("¿y cuántos intereses tiene?", "ask_info", {}),
    ],
    "instalments": [
        (
            "¿cuánto sería la cuota si lo divido en cuatro?",
            "payment_plan_request",
            {"instalments": 4},
        ),
        ("¿lo puedo pagar en tres partes?", "payment_plan_request", {"instalments": 3}),
        ("quiero pagarlo en cuotas", "payment_plan_request", {}),
        ("¿me lo puede financiar?", "payment_plan_request", {}),
        ("le pago en cinco cuotas desde el primero", "promise_to_pay", {"instalments": 5}),
    ],
    "cannot_pay": [
        ("ahorita no tengo con qué", "cannot_pay", {}),
        ("estoy desempleado, no puedo", "cannot_pay", {}),
        ("la situación está muy dura, no me alcanza", "cannot_pay", {}),
        ("no tengo plata este mes", "cannot_pay", {}),
    ],
}
