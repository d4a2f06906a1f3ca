"""Fixtures for dialog tests: the default plan and a Colombian debtor."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from dialog_calls import TODAY

from voicebot.dialog.context import CallContext, Debt, Debtor, NegotiationLimits
from voicebot.dialog.plan import Dialplan, load_dialplan

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def plan() -> Dialplan:
    return load_dialplan(ROOT / "dialplans" / "cobranza_es.yaml")


@pytest.fixture
def context() -> CallContext:
    return CallContext(
        debtor=Debtor(
            full_name="Carlos Andrés Pérez Gómez",
            document_id="79.851.234",
            timezone="America/Bogota",
            debts=(
                Debt(
                    creditor="Banco Andino",
                    amount=Decimal(1_200_000),
                    currency="COP",
                    days_past_due=45,
                    product="tarjeta de crédito",
                ),
            ),
            gender="m",
        ),
        today=TODAY,
        company="Gestión Integral de Cartera",
        callback_number="6015550100",
        limits=NegotiationLimits(
            min_payment=Decimal(400_000),
            max_days_ahead=20,
            max_instalments=6,
            min_instalment=Decimal(100_000),
        ),
    )
