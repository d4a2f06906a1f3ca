"""A caller who types their document on a large portfolio: found by index, off the event loop.

30 000 debtors; a caller from an unknown number keys Ana's document (as digits, whatever the
punctuation it was imported with). The lookup is the indexed expression (the database's own
plan names the index) and it runs in a worker thread, never on the loop that carries the
other calls' audio.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

from inbound_crash_world import line_context, seed
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from voicebot.data import INBOUND_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.engine.inbound import answer_inbound
from voicebot.storage import models as m
from voicebot.storage.bulk import bulk_insert
from voicebot.telephony.text_line import SimulatedClock, TextLine

PORTFOLIO = 30_000
STRANGER = "+573009998877"
INDEX = "ix_debtors_document_digits"


def fill(sessions: sessionmaker[Session]) -> None:
    """Many other debtors, their documents punctuated every way an import may leave them."""
    now = datetime.now(UTC)
    rows = [
        {
            "external_id": f"x{i}",
            "full_name": f"Deudor {i}",
            "document_id": (f"{i:,}".replace(",", "."), f"{i}-7", f"1 {i}")[i % 3],
            "created_at": now,
            "updated_at": now,
        }
        for i in range(1, PORTFOLIO + 1)
    ]
    with sessions.begin() as s:
        bulk_insert(s, table=m.Debtor.__table__, rows=rows)  # type: ignore[arg-type]
    with sessions.begin() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("ANALYZE debtors"))
        else:
            s.execute(text("ANALYZE"))


def test_a_typed_document_is_found_by_index_off_the_event_loop(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        ids = seed(s)  # Ana, document 52.111.234
    fill(sessions)
    engine: Engine = sessions.kw["bind"]
    lookups: list[tuple[int, str, Any]] = []

    def watch(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "replace(replace(replace(document_id" in statement:
            lookups.append((threading.get_ident(), statement, params))

    event.listen(engine, "before_cursor_execute", watch)
    loop_thread = threading.get_ident()
    clock = SimulatedClock(datetime(2026, 11, 23, 15, tzinfo=UTC))
    try:
        call = asyncio.run(
            answer_inbound(
                load_dialplan(INBOUND_DIALPLAN),
                TextLine.scripted(["#52111234", "no"], clock=clock),
                caller=STRANGER,
                sessions=sessions,
                line=line_context(),
                clock=clock,
                actor="ivr-test",
            )
        )
    finally:
        event.remove(engine, "before_cursor_execute", watch)
    assert call.debtor_ref == str(ids["ana"])
    ((thread, statement, params),) = lookups
    assert thread != loop_thread  # the loop thread never waited on the database for it
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            plan = conn.exec_driver_sql(f"EXPLAIN {statement}", params).scalars().all()
        else:
            plan = [
                row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            ]
    assert any(INDEX in line for line in plan), plan
