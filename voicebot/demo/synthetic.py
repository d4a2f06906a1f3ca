"""Synthetic debtors for the demo campaign and benchmarks: varied profiles, varied Spanish.

Each debtor comes with the turns a person of that profile would say, drawn from
several phrasings per situation (Colombian, Chilean, Mexican, Peruvian and US
Latino speech), so a demo run exercises every branch of the default dialplan.
Seeded: the same seed gives the same portfolio.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import phonenumbers

from voicebot.domain.context import CallContext, Debt, Debtor, NegotiationLimits
from voicebot.language.spanish import number_words


@dataclass(frozen=True, slots=True)
class Market:
    country: str
    timezone: str
    currency: str
    phone_prefix: str
    phone_digits: int  # digits after the prefix
    creditor: str
    balance_range: tuple[int, int]
    step: int


MARKETS = (
    Market(
        "CO", "America/Bogota", "COP", "+57310", 7, "Banco Andino", (300_000, 4_000_000), 10_000
    ),
    Market("CL", "America/Santiago", "CLP", "+569", 8, "Retail Austral", (80_000, 900_000), 5_000),
    Market(
        "MX",
        "America/Mexico_City",
        "MXN",
        "+5255",
        8,
        "Financiera Azteca Norte",
        (2_000, 40_000),
        500,
    ),
    Market("PE", "America/Lima", "PEN", "+519", 8, "Caja Pacífico", (500, 9_000), 50),
    Market("US", "America/New_York", "USD", "+1212", 7, "Liberty Card Services", (300, 6_000), 10),
)

FIRST_NAMES = (
    ("María", "f"),
    ("José", "m"),
    ("Luz Marina", "f"),
    ("Juan Carlos", "m"),
    ("Ana", "f"),
    ("Luis", "m"),
    ("Carolina", "f"),
    ("Jorge", "m"),
    ("Paola", "f"),
    ("Andrés", "m"),
    ("Gabriela", "f"),
    ("Héctor", "m"),
    ("Daniela", "f"),
    ("Camilo", "m"),
    ("Rosa", "f"),
    ("Fernando", "m"),
    ("Valentina", "f"),
    ("Sebastián", "m"),
    ("Lucía", "f"),
    ("Diego", "m"),
)
SURNAMES = (
    "García",
    "Rodríguez",
    "Martínez",
    "Hernández",
    "López",
    "González",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Flores",
    "Rivera",
    "Gómez",
    "Díaz",
    "Morales",
    "Castillo",
    "Rojas",
    "Vargas",
    "Muñoz",
    "Quispe",
)
PRODUCTS = (
    "tarjeta de crédito",
    "crédito de libre inversión",
    "crédito de consumo",
    "préstamo personal",
)

# Scenario → how the debtor's side of the call goes. "{digits}" is replaced by the
# last four digits of the debtor's document, "{amount}" by a spoken amount.
YES = (
    "sí, con él habla",
    "sí señor, soy yo",
    "sí, con ella",
    "sí, dígame",
    "si soy yo",
    "aló sí, él habla",
)
SCENARIOS: dict[str, tuple[tuple[str, ...], ...]] = {
    "promise_full": (
        YES,
        ("{digits}", "#{digits_dtmf}"),
        (
            "pago todo el viernes",
            "le pago el saldo completo el treinta",
            "mañana pago todo",
            "el lunes cancelo el total",
        ),
        ("sí, correcto", "sí señor", "exacto"),
        # The payment-link offer (campaigns that text): most want it.
        ("sí, por favor", "claro, mándemelo", "sí", "no, gracias"),
    ),
    "promise_partial_counter": (
        YES,
        ("{digits}",),
        ("puedo pagar {small} el viernes", "le abono {small} pasado mañana"),
        ("sí, está bien, en cuotas", "bueno, acepto las cuotas"),
        ("el viernes", "pasado mañana"),
        ("sí", "correcto"),
        ("sí, por favor", "no, gracias"),
    ),
    "cannot_pay_plan": (
        YES,
        ("{digits}",),
        (
            "ahorita no tengo plata",
            "estoy sin trabajo, no puedo pagar",
            "no me alcanza, ando corto",
        ),
        ("sí, me sirve", "bueno, dale"),
        ("el quince", "a fin de mes"),
        ("sí", "así es"),
    ),
    "refuses": (
        YES,
        ("{digits}",),
        ("no tengo con qué pagar", "no puedo pagar nada"),
        ("no, tampoco puedo", "no, no me sirve"),
    ),
    "already_paid": (
        YES,
        ("{digits}",),
        ("eso ya lo pagué", "ya cancelé esa deuda", "ya hice la transferencia"),
        ("la semana pasada por transferencia", "el lunes en el banco", "el cinco por la app"),
    ),
    "dispute": (
        YES,
        ("{digits}",),
        ("esa deuda no es mía", "yo no debo eso", "ese cobro está mal, ya reclamé"),
        ("nunca tuve esa tarjeta", "el monto no corresponde"),
    ),
    "wrong_number": (
        ("número equivocado", "aquí no vive nadie con ese nombre", "no conozco a esa persona"),
    ),
    "third_party": (
        ("no está, salió a trabajar", "soy la esposa, él no se encuentra", "es mi hijo, no está"),
        ("llega como a las seis de la tarde", "mañana en la mañana", "en la noche"),
    ),
    "callback": (
        YES,
        ("{digits}",),
        ("ahora no puedo, llámeme mañana en la tarde", "estoy manejando, llámeme en una hora"),
    ),
    "agent_request": (
        ("quiero hablar con una persona", "páseme con un asesor por favor"),
        ("<agente>", "<sin agente>"),
    ),
    "opt_out": (("no me vuelvan a llamar", "bórrenme de su lista", "dejen de llamarme"),),
    "silence": (("",), ("",), ("",)),
    "hangs_up": (YES, ("<colgar>",)),
}
SCENARIO_WEIGHTS = {
    "promise_full": 5,
    "promise_partial_counter": 3,
    "cannot_pay_plan": 3,
    "refuses": 2,
    "already_paid": 2,
    "dispute": 2,
    "wrong_number": 2,
    "third_party": 2,
    "callback": 2,
    "agent_request": 2,
    "opt_out": 2,
    "silence": 1,
    "hangs_up": 1,
}


@dataclass(frozen=True, slots=True)
class SyntheticDebtor:
    external_id: str
    phone: str
    country: str
    scenario: str
    context: CallContext
    turns: tuple[str, ...]


def _valid_phone(rng: random.Random, market: Market) -> str:
    """A random number in the market's mobile range that ``phonenumbers`` accepts as valid."""
    while True:
        low = 2 * 10 ** (market.phone_digits - 1)
        number = market.phone_prefix + str(rng.randrange(low, 10**market.phone_digits))
        if phonenumbers.is_valid_number(phonenumbers.parse(number)):
            return number


def synthetic_portfolio(count: int, *, today: date, seed: int = 7) -> list[SyntheticDebtor]:
    """``count`` debtors across five countries, each with a scenario and its turns."""
    rng = random.Random(seed)
    scenarios = list(SCENARIO_WEIGHTS)
    weights = [SCENARIO_WEIGHTS[s] for s in scenarios]
    debtors: list[SyntheticDebtor] = []
    for i in range(count):
        # Cover every scenario first, then draw by weight.
        scenario = scenarios[i] if i < len(scenarios) else rng.choices(scenarios, weights)[0]
        market = MARKETS[i % len(MARKETS)]
        first, gender = rng.choice(FIRST_NAMES)
        name = f"{first} {rng.choice(SURNAMES)} {rng.choice(SURNAMES)}"
        document = str(rng.randrange(10_000_000, 99_999_999))
        low, high = market.balance_range
        balance = Decimal(rng.randrange(low // market.step, high // market.step) * market.step)
        min_payment = (balance * Decimal("0.4")).quantize(Decimal(market.step))
        small = (min_payment / 2).quantize(Decimal(market.step))
        ctx = CallContext(
            debtor=Debtor(
                full_name=name,
                document_id=document,
                timezone=market.timezone,
                debts=(
                    Debt(
                        creditor=market.creditor,
                        amount=balance,
                        currency=market.currency,
                        days_past_due=rng.choice((12, 35, 48, 75, 120, 200)),
                        product=rng.choice(PRODUCTS),
                    ),
                ),
                gender=gender,
            ),
            today=today,
            company="Gestión Integral de Cartera",
            callback_number="6015550100",
            limits=NegotiationLimits(
                min_payment=min_payment,
                max_days_ahead=30,
                max_instalments=6,
                min_instalment=(balance / 10).quantize(Decimal(market.step)),
            ),
            settings={"mini_miranda": market.country == "US"},
        )
        digits = document[-4:]
        turns = tuple(
            rng.choice(options)
            .replace("{digits_dtmf}", digits)
            .replace("{digits}", " ".join(number_words(int(d)) for d in digits))
            .replace("{small}", number_words(int(small)))
            for options in SCENARIOS[scenario]
        )
        debtors.append(
            SyntheticDebtor(
                external_id=f"DEMO-{i + 1:05d}",
                phone=_valid_phone(rng, market),
                country=market.country,
                scenario=scenario,
                context=ctx,
                turns=turns,
            )
        )
    return debtors
