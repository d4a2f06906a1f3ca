"""Bulk writes behave like the ORM would: defaults filled, onupdate refreshed, other rows untouched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.storage import models as m
from voicebot.storage.bulk import bulk_insert, bulk_update_by_id

DEBTORS = m.Base.metadata.tables["debtors"]


def test_bulk_insert_fills_defaults_and_update_touches_only_its_rows(
    sessions: sessionmaker[Session],
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    with sessions.begin() as s:
        bulk_insert(
            s,
            table=DEBTORS,
            rows=[
                {"external_id": f"B{i}", "full_name": f"Deudor {i}", "timezone": None}
                for i in range(3)
            ],
        )
        bulk_insert(s, table=DEBTORS, rows=[])
    with sessions() as s:
        debtors = s.scalars(select(m.Debtor).order_by(m.Debtor.external_id)).all()
        assert [d.full_name for d in debtors] == ["Deudor 0", "Deudor 1", "Deudor 2"]
        assert all(d.segment == "" and d.tcpa_consent is False for d in debtors)
        assert all(d.created_at >= before and d.created_at.tzinfo is not None for d in debtors)
        ids = {d.external_id: d.id for d in debtors}
        stamped = {d.external_id: d.updated_at for d in debtors}

    with sessions.begin() as s:
        bulk_update_by_id(
            s,
            table=DEBTORS,
            rows=[
                (ids["B0"], {"full_name": "Ana", "segment": "A"}),
                (ids["B2"], {"full_name": "Eva", "segment": "C"}),
            ],
        )
    with sessions() as s:
        after = {d.external_id: d for d in s.scalars(select(m.Debtor))}
    assert {k: (d.full_name, d.segment) for k, d in after.items()} == {
        "B0": ("Ana", "A"),
        "B1": ("Deudor 1", ""),
        "B2": ("Eva", "C"),
    }
    assert after["B0"].updated_at > stamped["B0"]
    assert after["B1"].updated_at == stamped["B1"]
