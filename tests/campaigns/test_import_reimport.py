"""Re-importing a portfolio on SQLite and PostgreSQL: every field kept or updated, nothing duplicated.

The import merges each batch inside the database (staging tables and set-based SQL); these
tests read back every stored column, so a field the merge forgot, or a row it touched
without cause, shows.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.portfolio import import_csv
from voicebot.storage import models as m

HEADER = (
    "id_cliente;nombre;documento;celular;telefono2;saldo;moneda;dias_mora;acreedor;obligacion;"
    "producto;segmento;zona_horaria;genero;horario;consentimiento;estado;tipo_linea;canales\n"
)
FIRST = HEADER + (
    "K1;Ana Pérez;52.111.234;3101234567;6015550123;1.200.000;COP;45;Banco Andino;T-1;"
    "tarjeta;A;America/Bogota;F;18:00-20:00;si;ANT;fijo;voz, sms\n"
    "K1;Ana Pérez;52.111.234;3101234567;;350.000,50;COP;12;Banco Andino;T-2;"
    "libranza;A;America/Bogota;F;18:00-20:00;si;ANT;fijo;voz, sms\n"
    "K2;Luis Gómez;79123456;3111234567;;500.000;COP;30;Banco Andino;T-3;"
    "tarjeta;B;;M;;no;;;\n"
)


def snapshot(s: Session) -> dict[str, Any]:
    """Every stored column of debtors, phones and debts, by their import keys."""

    def columns(row: Any, skip: set[str]) -> dict[str, Any]:
        return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key not in skip}

    debtors = {d.id: d for d in s.scalars(select(m.Debtor))}
    return {
        "debtors": {d.external_id: columns(d, {"id"}) for d in debtors.values()},
        "phones": {
            (debtors[p.debtor_id].external_id, p.e164): columns(p, {"id", "debtor_id", "e164"})
            for p in s.scalars(select(m.Phone))
        },
        "debts": {
            (debtors[d.debtor_id].external_id, d.external_ref): columns(
                d, {"id", "debtor_id", "external_ref"}
            )
            for d in s.scalars(select(m.Debt))
        },
    }


def test_every_field_lands_and_an_unchanged_reimport_writes_nothing(
    sessions: sessionmaker[Session],
) -> None:
    first = import_csv(sessions, FIRST, default_region="CO")
    assert first.errors == []
    assert (first.debtors_created, first.debts_created, first.phones_created) == (2, 3, 3)
    with sessions() as s:
        stored = snapshot(s)
    ana = stored["debtors"]["K1"]
    assert {k: ana[k] for k in ana if k not in ("created_at", "updated_at")} == {
        "external_id": "K1",
        "full_name": "Ana Pérez",
        "document_id": "52.111.234",
        "gender": "f",
        "timezone": "America/Bogota",
        "region": "CO",
        "segment": "A",  # the last row of a debtor gives its own fields
        "preferred_hours": "18:00-20:00",
        "preferred_channel": "",
        "tcpa_consent": True,
        "subdivision": "ANT",
        "authorized_channels": ["voice", "sms"],
    }
    assert ana["created_at"] == ana["updated_at"]
    assert stored["debtors"]["K2"]["timezone"] is None
    assert stored["debtors"]["K2"]["authorized_channels"] is None
    assert stored["phones"] == {
        ("K1", "+573101234567"): {
            "kind": "mobile",  # libphonenumber knows it is mobile: the stricter fact wins
            "status": "valid",
            "invalid_reason": "",
            "priority": 0,
        },
        ("K1", "+576015550123"): {
            "kind": "landline",
            "status": "valid",
            "invalid_reason": "",
            "priority": 1,
        },
        ("K2", "+573111234567"): {
            "kind": "mobile",
            "status": "valid",
            "invalid_reason": "",
            "priority": 0,
        },
    }
    assert stored["debts"][("K1", "T-2")] == {
        "creditor": "Banco Andino",
        "amount": Decimal("350000.50"),
        "currency": "COP",
        "days_past_due": 12,
        "product": "libranza",
        "status": "active",
    }
    assert stored["debts"][("K1", "T-1")]["amount"] == Decimal("1200000.00")

    again = import_csv(sessions, FIRST, default_region="CO")
    assert (again.debtors_created, again.debts_created, again.phones_created) == (0, 0, 0)
    assert (again.debtors_updated, again.debts_updated, again.errors) == (2, 3, [])
    with sessions() as s:
        assert snapshot(s) == stored  # updated_at included: nothing changed, nothing written


def test_a_changed_reimport_updates_what_the_file_says_and_keeps_what_it_omits(
    sessions: sessionmaker[Session],
) -> None:
    import_csv(sessions, FIRST, default_region="CO")
    with sessions() as s:
        before = snapshot(s)
    header = "id_cliente;nombre;documento;celular;saldo;acreedor;obligacion;segmento;tipo_linea\n"
    changed = header + (
        "K1;Ana María Pérez;52.111.234;3209876543;90.000;Banco Andino;T-2;C;\n"
        "K2;Luis Gómez;79123456;3111234567;500.000;Banco Andino;T-3;B;\n"  # as stored
        "K3;Rosa Díaz;4040404;3151112233;70.000;Banco Andino;T-9;A;\n"
    )
    report = import_csv(sessions, changed, default_region="CO")
    assert report.errors == []
    assert (report.debtors_created, report.debtors_updated) == (1, 2)
    assert (report.debts_created, report.debts_updated, report.phones_created) == (1, 2, 2)
    with sessions() as s:
        after = snapshot(s)
    ana, was = after["debtors"]["K1"], before["debtors"]["K1"]
    assert (ana["full_name"], ana["segment"]) == ("Ana María Pérez", "C")
    # Columns this file does not have: the state and the channels are kept.
    assert (ana["subdivision"], ana["authorized_channels"]) == ("ANT", ["voice", "sms"])
    assert ana["created_at"] == was["created_at"] and ana["updated_at"] > was["updated_at"]
    assert after["debtors"]["K2"]["segment"] == "B"
    assert after["debts"][("K1", "T-2")]["amount"] == Decimal("90000.00")
    assert after["debts"][("K1", "T-1")] == before["debts"][("K1", "T-1")]  # not in the file
    assert after["phones"][("K1", "+573209876543")]["priority"] == 0  # a new number, added
    assert ("K1", "+573101234567") in after["phones"]  # the old ones stay
    assert len(after["phones"]) == 5 and len(after["debts"]) == 4 and len(after["debtors"]) == 3
