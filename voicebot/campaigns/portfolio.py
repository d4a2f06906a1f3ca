"""Portfolio import: CSV (or JSON rows) in, debtors/phones/debts upserted, bad rows reported.

Rows are read and validated by ``portfolio_rows`` (pure); this module batches, spreads the
validation over processes and stores.

Good rows import and bad rows come back with their line number, column and reason —
nothing is silently dropped. Re-importing the same file updates, never duplicates
(debtor by external id, phone by number, debt by reference). Work is batched so a
100,000-row file imports in seconds.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.parallel_chunks import map_chunks
from voicebot.campaigns.portfolio_csv import CsvLayout, CsvSlice, slice_rows, slices
from voicebot.campaigns.portfolio_rows import RowError, decode, resolve_columns, validate_row
from voicebot.campaigns.portfolio_store import Batch, StagedRow, staged_row, store

BATCH = 10000  # rows stored per transaction
# Validation is about as much of an import's CPU as storing (the database's share included):
# a large file is read and validated in chunks by one process per core while this process
# stores what is ready.
CHUNK = 2000
PARALLEL_FROM = 20_000  # rows; below it, starting worker processes costs more than it saves


@dataclass
class ImportReport:
    rows: int = 0
    debtors_created: int = 0
    debtors_updated: int = 0
    debts_created: int = 0
    debts_updated: int = 0
    phones_created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return self.rows - len({e.line for e in self.errors})

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "imported": self.imported,
            "debtors_created": self.debtors_created,
            "debtors_updated": self.debtors_updated,
            "debts_created": self.debts_created,
            "debts_updated": self.debts_updated,
            "phones_created": self.phones_created,
            "errors": [e.to_json() for e in self.errors],
        }


def import_csv(
    sessions: sessionmaker[Session],
    data: bytes | str,
    *,
    default_region: str,
    campaign_id: int | None = None,
    default_creditor: str = "",
    columns: Mapping[str, str | list[str]] | None = None,
    progress: Callable[[int], None] = lambda rows: None,
    workers: int | None = None,
) -> ImportReport:
    """``workers``: validating processes; by default one per core for a large file.

    The workers get slices of the file's text and send back plain tuples: this process
    only de-duplicates and stores.
    """
    text = decode(data) if isinstance(data, bytes) else data
    layout, pieces = slices(text, CHUNK)
    mapping = resolve_columns(list(layout.headers), columns)
    work = partial(
        _validate_slices,
        layout=layout,
        columns=mapping,
        default_region=default_region,
        default_creditor=default_creditor,
    )
    count = default_workers(text.count("\n")) if workers is None else workers
    return _import(
        sessions,
        map_chunks(work, pieces, size=1, workers=count, preload=[__name__], ahead=_ahead(count)),
        columns=mapping,
        campaign_id=campaign_id,
        progress=progress,
    )


def _ahead(workers: int) -> int:
    """Chunks the workers may validate ahead: a whole batch more than they are on, so
    they go on validating the next batch while this process stores one."""
    return BATCH // CHUNK + 2 * workers


def default_workers(rows: int) -> int:
    if rows < PARALLEL_FROM:
        return 1
    return max(1, len(os.sched_getaffinity(0)))


def _json_cell(value: Any) -> str:
    """A JSON value as the text a spreadsheet cell would hold, without ambiguity.

    A JSON number is already a number: 1234.567 must not read as "1.234.567" pesos,
    so a fraction of exactly three digits gets a trailing zero, and 45.0 reads as 45.
    """
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(_json_cell(v) for v in value)  # e.g. authorized channels
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    text = format(number, "f")
    return text + "0" if len(text.rsplit(".", 1)[1]) == 3 else text


def import_json_rows(
    sessions: sessionmaker[Session],
    records: list[dict[str, Any]],
    *,
    default_region: str,
    campaign_id: int | None = None,
    default_creditor: str = "",
) -> ImportReport:
    """JSON rows (the API's upload format) through the same validation; line = index + 1."""
    headers = sorted({str(k) for r in records for k in r})
    mapping = resolve_columns(headers)
    rows = ((i + 1, {str(k): _json_cell(v) for k, v in r.items()}) for i, r in enumerate(records))
    return import_rows(
        sessions,
        rows,
        columns=mapping,
        default_region=default_region,
        default_creditor=default_creditor,
        campaign_id=campaign_id,
        workers=default_workers(len(records)),
    )


# One chunk checked: (rows read, their errors, the valid rows ready to store).
Checked = tuple[int, list[RowError], list[StagedRow]]


@contextmanager
def _without_cycle_collection() -> Iterator[None]:
    """Validating a chunk makes many small containers and no reference cycles: the cycle
    collector's passes cost ~7 % of validation's CPU. Reference counting still frees
    everything; the collector is back on (if it was) when the chunk is done."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _check(
    rows: Iterable[tuple[int, Mapping[str, str] | RowError]],
    columns: Mapping[str, list[str]],
    default_region: str,
    default_creditor: str,
) -> Checked:
    with _without_cycle_collection():
        return _check_rows(rows, columns, default_region, default_creditor)


def _check_rows(
    rows: Iterable[tuple[int, Mapping[str, str] | RowError]],
    columns: Mapping[str, list[str]],
    default_region: str,
    default_creditor: str,
) -> Checked:
    count = 0
    errors: list[RowError] = []
    valid: list[StagedRow] = []
    for line, raw in rows:
        count += 1
        if isinstance(raw, RowError):
            errors.append(raw)
            continue
        checked = validate_row(raw, line, columns, default_region, default_creditor)
        if isinstance(checked, list):
            errors.extend(checked)
        else:
            valid.append(staged_row(checked))
    return count, errors, valid


def _validate_slices(
    pieces: list[CsvSlice],
    layout: CsvLayout,
    columns: Mapping[str, list[str]],
    default_region: str,
    default_creditor: str,
) -> list[Checked]:
    return [
        _check(slice_rows(layout, piece), columns, default_region, default_creditor)
        for piece in pieces
    ]


def _validate_rows(
    chunk: list[tuple[int, Mapping[str, str] | RowError]],
    columns: Mapping[str, list[str]],
    default_region: str,
    default_creditor: str,
) -> list[Checked]:
    return [_check(chunk, columns, default_region, default_creditor)]


def import_rows(
    sessions: sessionmaker[Session],
    rows: Iterable[tuple[int, Mapping[str, str] | RowError]],
    *,
    columns: Mapping[str, list[str]],
    default_region: str,
    default_creditor: str = "",
    campaign_id: int | None = None,
    progress: Callable[[int], None] = lambda rows: None,
    workers: int = 1,
) -> ImportReport:
    """Rows already read (line number, cells), e.g. JSON rows."""
    work = partial(
        _validate_rows,
        columns=columns,
        default_region=default_region,
        default_creditor=default_creditor,
    )
    return _import(
        sessions,
        map_chunks(
            work, rows, size=CHUNK, workers=workers, preload=[__name__], ahead=_ahead(workers)
        ),
        columns=columns,
        campaign_id=campaign_id,
        progress=progress,
    )


def _import(
    sessions: sessionmaker[Session],
    checked: Iterable[Checked],
    *,
    columns: Mapping[str, list[str]],
    campaign_id: int | None,
    progress: Callable[[int], None],
) -> ImportReport:
    report = ImportReport()
    debt_column = columns.get("debt_ref", ["debt_ref"])[0]
    first_line: dict[tuple[str, str], int] = {}  # (external id, debt reference) → its line
    batch = Batch()
    for count, errors, valid in checked:
        report.rows += count
        report.errors.extend(errors)
        for row in valid:
            line = row[0]
            first = first_line.setdefault((row[1], row[2]), line)
            if first != line:
                report.errors.append(RowError(line, debt_column, f"duplicate of line {first}"))
                continue
            batch.add(row)
        if len(batch) >= BATCH:
            _store(sessions, batch, report, campaign_id)
            batch = Batch()
        progress(report.rows)  # rows read and checked; storing lags by at most one batch
    if len(batch):
        _store(sessions, batch, report, campaign_id)
    progress(report.rows)
    report.errors.sort(key=lambda e: (e.line, e.column))
    return report


def _store(
    sessions: sessionmaker[Session], batch: Batch, report: ImportReport, campaign_id: int | None
) -> None:
    with sessions.begin() as s:
        stored = store(s, batch, campaign_id)
    report.debtors_created += stored.debtors_created
    report.debtors_updated += stored.debtors_updated
    report.debts_created += stored.debts_created
    report.debts_updated += stored.debts_updated
    report.phones_created += stored.phones_created
