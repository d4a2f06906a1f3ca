"""The write-ahead journal: on disk before the database, locked while its worker lives, compacted."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from voicebot.domain.outcome import CallOutcome, Disposition, Promise, Turn
from voicebot.engine import journal
from voicebot.engine.journal import ACTION, Journal, orphans, read_pending
from voicebot.engine.settlement import outcome_data, outcome_from_data


def test_a_live_workers_journal_is_never_adopted_and_a_dead_ones_is(tmp_path: Path) -> None:
    live = Journal(tmp_path, "host:1")
    entry = live.append(
        ACTION,
        attempt_id=7,
        debtor_id=3,
        at="2026-11-24T15:00:00+00:00",
        data={"action": "opt_out"},
    )
    assert live.opted_out_debtors() == {3}
    assert orphans(tmp_path) == []  # its lock is held: not an orphan
    assert live.path is not None
    assert [e.data for e in read_pending(live.path.read_text())] == [{"action": "opt_out"}]
    live.close()  # the entry was never acknowledged: the file stays for a replay
    (found,) = orphans(tmp_path)
    assert [e.seq for e in found.entries] == [entry.seq]
    found.release()
    assert list(tmp_path.iterdir()) == []


def test_acknowledged_history_is_compacted_and_an_empty_journal_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal, "COMPACT_AT_BYTES", 200)
    book = Journal(tmp_path, "w")
    assert book.path is not None
    for i in range(5):
        entry = book.append(
            ACTION, attempt_id=i, debtor_id=i, at="2026-11-24T15:00:00+00:00", data={"n": "x" * 80}
        )
        book.acknowledge(entry)
    assert book.path.stat().st_size < 200 and read_pending(book.path.read_text()) == []
    kept = book.append(ACTION, attempt_id=9, debtor_id=9, at="2026-11-24T15:00:01+00:00", data={})
    assert [e.seq for e in read_pending(book.path.read_text())] == [kept.seq]
    book.acknowledge(kept)
    book.close()
    assert not book.path.exists()


def test_an_outcome_survives_the_journal_round_trip_whole() -> None:
    """What the database gets after a replay is the outcome the call ended with, to the cent."""
    at = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    outcome = CallOutcome(
        disposition=Disposition.PTP,
        started_at=at,
        ended_at=at.replace(minute=2),
        promise=Promise(Decimal("350000.10"), "COP", date(2026, 11, 27), 2, True),
        right_party_contacted=True,
        disclosure_made=True,
        final_state="closing",
        transcript=(Turn(at=at, speaker="debtor", text="le pago el viernes"),),
        line_reason="rtp_timeout",
    )
    assert outcome_from_data(outcome_data(outcome)) == outcome
