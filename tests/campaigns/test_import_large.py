"""A 5,000-row portfolio on SQLite and PostgreSQL: batches, several debts per debtor, bad rows in between."""

from __future__ import annotations

import random
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.portfolio import import_csv
from voicebot.storage import models as m

ROWS = 5000


def portfolio(seed: int = 11) -> tuple[str, dict[int, str], dict[tuple[str, str], Decimal]]:
    """The CSV, the line → column of every deliberately bad row, and the debts that must land."""
    rng = random.Random(seed)
    lines = ["id_cliente,nombre,documento,telefonos,saldo,moneda,dias_mora,acreedor,obligacion"]
    bad: dict[int, str] = {}
    debts: dict[tuple[str, str], Decimal] = {}
    for i in range(ROWS):
        line = i + 2
        debtor = f"D{i // 2:05d}"  # two debts per debtor, often in different batches' neighbors
        ref = f"R{i:05d}"
        pesos = rng.randrange(50, 9000) * 1000
        phones = f"310{1000000 + i // 2:07d}"
        if i % 4 == 0:
            phones += f"; 601{2000000 + i:07d}"
        amount = f'"{pesos:,}.50"'
        kind = i % 97
        if kind == 13:
            phones, bad[line] = "123", "telefonos"
        elif kind == 29:
            amount, bad[line] = "cero", "saldo"
        elif kind == 41:
            amount, bad[line] = "-1.000", "saldo"
        else:
            debts[(debtor, ref)] = Decimal(pesos) + Decimal("0.50")
        lines.append(
            f"{debtor},Deudor {i // 2},{10**7 + i // 2},{phones},{amount},COP,{rng.randrange(1, 300)},Banco Andino,{ref}"
        )
    return "\n".join(lines) + "\n", bad, debts


def test_five_thousand_rows_import_with_their_errors_and_reimport_cleanly(
    sessions: sessionmaker[Session],
) -> None:
    text, bad, debts = portfolio()
    seen: list[int] = []
    report = import_csv(sessions, text, default_region="CO", progress=seen.append)

    assert {e.line: e.column for e in report.errors} == bad
    assert report.rows == ROWS and report.imported == len(debts)
    assert seen == sorted(seen) and seen[-1] == ROWS and len(seen) > 1
    debtors = {debtor for debtor, _ in debts}
    assert report.debtors_created == len(debtors)
    assert report.debts_created == len(debts)
    with sessions() as s:
        stored = {
            (debtor, ref): amount
            for debtor, ref, amount in s.execute(
                select(m.Debtor.external_id, m.Debt.external_ref, m.Debt.amount).join(m.Debt)
            )
        }
        assert stored == debts
        assert s.scalar(select(func.count()).select_from(m.Debtor)) == len(debtors)
        phones_of_first = s.scalars(
            select(m.Phone.e164)
            .join(m.Debtor)
            .where(m.Debtor.external_id == "D00000")
            .order_by(m.Phone.priority, m.Phone.e164)
        ).all()
        assert phones_of_first == ["+573101000000", "+576012000000"]

    again = import_csv(sessions, text, default_region="CO")
    assert again.debtors_created == 0 and again.debts_created == 0 and again.phones_created == 0
    assert again.debts_updated == len(debts)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Debt)) == len(debts)
        assert s.scalar(select(func.count()).select_from(m.Phone)) == report.phones_created


def test_validation_in_worker_processes_reports_and_stores_exactly_what_one_process_does(
    sessions: sessionmaker[Session],
) -> None:
    """A large file is validated by one process per core: same errors, same lines, same data."""
    text, bad, debts = portfolio(seed=12)
    seen: list[int] = []
    report = import_csv(sessions, text, default_region="CO", progress=seen.append, workers=2)

    assert [(e.line, e.column) for e in report.errors] == sorted(bad.items())
    assert report.rows == ROWS and report.imported == len(debts)
    assert seen == sorted(seen) and seen[-1] == ROWS
    with sessions() as s:
        stored = {
            (debtor, ref): amount
            for debtor, ref, amount in s.execute(
                select(m.Debtor.external_id, m.Debt.external_ref, m.Debt.amount).join(m.Debt)
            )
        }
    assert stored == debts
    serial = import_csv(sessions, text, default_region="CO", workers=1)
    assert serial.errors == report.errors
    assert serial.debts_updated == len(debts) and serial.debts_created == 0
