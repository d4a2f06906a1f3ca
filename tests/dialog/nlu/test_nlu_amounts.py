"""Amounts as debtors say and write them; numbers that are dates, times or IDs are not money."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from voicebot.dialog.nlu import understand

TODAY = date(2026, 11, 23)  # a Monday

AMOUNTS = [
    ("doscientos cincuenta mil", 250_000),
    ("le pago doscientos cincuenta mil pesos", 250_000),
    ("1.200.000", 1_200_000),
    ("le consigno 1,200,000", 1_200_000),
    ("$350.000", 350_000),
    ("pago $ 350.000 el viernes", 350_000),
    ("un millón y medio", 1_500_000),
    ("un millon y medio", 1_500_000),
    ("millón doscientos", 1_200_000),
    ("un millón doscientos", 1_200_000),
    ("un millón doscientos mil", 1_200_000),
    ("dos millones trescientos mil", 2_300_000),
    ("dos millones quinientos", 2_500_000),
    ("tres millones", 3_000_000),
    ("un millón de pesos", 1_000_000),
    ("cien mil", 100_000),
    ("ciento veinte mil", 120_000),
    ("mil quinientos", 1_500),
    ("mil pesos", 1_000),
    ("quinientos dólares", 500),
    ("quinientos dolares", 500),
    ("doscientas lucas", 200_000),
    ("le pago doscientas lucas el quince", 200_000),
    ("cinco lucas", 5_000),
    ("una luca", 1_000),
    ("medio palo", 500_000),
    ("un palo", 1_000_000),
    ("un palo y medio", 1_500_000),
    ("dos palos", 2_000_000),
    ("treinta y cinco mil", 35_000),
    ("trescientos cuarenta y cinco mil seiscientos", 345_600),
    ("veintiún mil", 21_000),
    ("veinte y dos mil", 22_000),
    ("50 mil", 50_000),
    ("1.5 millones", 1_500_000),
    ("2,5 millones", 2_500_000),
    ("le puedo dar 80 lucas", 80_000),
    ("450000 pesos", 450_000),
    ("pago 450000", 450_000),
    ("medio millón", 500_000),
    ("seiscientos mil el miércoles", 600_000),
    ("le deposito novecientos noventa y nueve mil", 999_000),
    ("quinientos soles", 500),
    ("le mando mil doscientos dólares", 1_200),
    ("cincuenta k", 50_000),
    ("puedo pagar cien", 100),
    ("$350.50", Decimal("350.50")),
    ("sí, cien mil el lunes", 100_000),
    ("le abono quinientas lucas el quince", 500_000),
    ("te pago 2 palos", 2_000_000),
    ("son cuatro millones doscientos cincuenta mil", 4_250_000),
    ("le pago tres cientos mil", 300_000),  # a recognizer splits "trescientos"
    ("le pago 1 millón 200 mil", 1_200_000),
    ("pago dos millones y medio", 2_500_000),
    ("le pago 85.500", 85_500),
    ("pago ochenta y cinco mil quinientos", 85_500),
    ("le pago dos mil quinientos pesos", 2_500),
    ("pago $ 1.200.000 el 15/12", 1_200_000),
]


@pytest.mark.parametrize(("text", "amount"), AMOUNTS)
def test_amounts_are_read(text: str, amount: int | Decimal) -> None:
    assert understand(text, today=TODAY).amount == Decimal(amount)


NOT_AMOUNTS = [
    "el quince",
    "le pago el 15",
    "el 5 de diciembre",
    "el cinco de diciembre de 2026",
    "a las tres",
    "llámeme a las 4 de la tarde",
    "en ocho días",
    "en dos semanas",
    "tengo dos hijos",
    "la mitad",
    "puedo pagar la mitad",
    "en tres cuotas",
    "uno dos tres cuatro",
    "mi cédula es 1234567",
    "5/12",
    "el treinta y uno",
    "el primero de diciembre",
]


@pytest.mark.parametrize("text", NOT_AMOUNTS)
def test_dates_times_counts_and_ids_are_not_money(text: str) -> None:
    assert understand(text, today=TODAY).amount is None


def test_dates_and_amounts_in_one_answer_do_not_mix() -> None:
    said = understand("le pago quince mil el quince", today=TODAY)
    assert said.amount == Decimal(15_000)
    assert said.date == date(2026, 12, 15)


@pytest.mark.parametrize(
    ("text", "instalments"),
    [
        ("en tres cuotas", 3),
        ("puedo pagar en seis cuotas de cien mil", 6),
        ("a doce meses", 12),
        ("en 4 pagos", 4),
        ("lo divido en dos partes", 2),
        ("¿puedo pagar en cuotas?", None),
    ],
)
def test_instalments(text: str, instalments: int | None) -> None:
    assert understand(text, today=TODAY).instalments == instalments


def test_instalment_amount_is_still_the_amount() -> None:
    said = understand("puedo pagar en seis cuotas de cien mil", today=TODAY)
    assert (said.instalments, said.amount) == (6, Decimal(100_000))


@pytest.mark.parametrize(
    "text",
    [
        "pago el saldo completo el treinta",
        "le pago todo lo que debo",
        "le cancelo el total el viernes",
        "quiero pagar toda la deuda",
        "pago todo de una",
        "le pago la deuda completa",
        "lo pago de contado",
    ],
)
def test_full_balance(text: str) -> None:
    assert understand(text, today=TODAY).full_balance is True


@pytest.mark.parametrize("text", ["le pago cien mil", "ya pagué", "puedo pagar la mitad"])
def test_not_full_balance(text: str) -> None:
    assert understand(text, today=TODAY).full_balance is False


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("uno dos tres cuatro", "1234"),
        ("mi cédula es uno cero cinco dos ocho", "10528"),
        ("1234", "1234"),
        ("mi documento es 79851234", "79851234"),
        ("cero tres nueve", "039"),
    ],
)
def test_digits_read_out_are_an_id(text: str, digits: str) -> None:
    said = understand(text, today=TODAY)
    assert said.digits == digits
    assert said.amount is None
