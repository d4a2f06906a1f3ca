"""Bulk writes behave like the ORM would: defaults filled, JSON null read back, staging per transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.storage import models as m
from voicebot.storage.bulk import (
    bulk_insert,
    column_defaults,
    drop_staged,
    stage,
)

DEBTORS = m.Base.metadata.tables["debtors"]


def test_bulk_insert_fills_defaults(
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


def test_one_batch_shares_its_timestamps_and_reads_back_json_null_as_none(
    sessions: sessionmaker[Session],
) -> None:
    """Shared defaults are converted once per batch; every row still reads back as the ORM's."""
    with sessions.begin() as s:
        bulk_insert(
            s,
            table=DEBTORS,
            rows=[
                {"external_id": "J0", "full_name": "Ana", "authorized_channels": None},
                {"external_id": "J1", "full_name": "Eva", "authorized_channels": ["sms"]},
            ],
        )
        s.add(m.Debtor(external_id="J2", full_name="Orm", authorized_channels=None))
    with sessions() as s:
        debtors = {d.external_id: d for d in s.scalars(select(m.Debtor))}
    assert debtors["J0"].created_at == debtors["J1"].created_at
    assert debtors["J0"].updated_at == debtors["J1"].updated_at
    assert debtors["J0"].created_at.tzinfo is not None
    assert [debtors[k].authorized_channels for k in ("J0", "J1", "J2")] == [None, ["sms"], None]


def test_a_staged_table_takes_the_store_types_and_lives_only_in_its_transaction(
    sessions: sessionmaker[Session],
) -> None:
    """Staged rows come back as the real columns would hold them; a rolled-back stage is gone."""
    shape = "SELECT t.external_id, t.tcpa_consent, t.authorized_channels FROM debtors AS t"
    with sessions.begin() as s:
        stage(s, name="_staged", shape=shape, rows=[("S1", True, '["sms"]'), ("S2", False, None)])
        rows = s.connection().exec_driver_sql("SELECT * FROM _staged ORDER BY 1").all()
        assert [(r[0], bool(r[1])) for r in rows] == [("S1", True), ("S2", False)]
        assert rows[1][2] is None
        drop_staged(s, "_staged")
    for _ in range(2):  # a batch that fails leaves nothing behind for the next one
        with sessions() as s, s.begin():
            stage(s, name="_staged", shape=shape, rows=[("S3", False, None)])
            s.rollback()
    defaults = column_defaults(DEBTORS)
    assert defaults["preferred_channel"] == "" and defaults["tcpa_consent"] is False
    assert defaults["created_at"].tzinfo is not None  # utc_now, evaluated
    assert "external_id" not in defaults and "id" not in defaults
