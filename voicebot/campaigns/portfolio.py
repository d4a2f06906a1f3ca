"""Portfolio import: CSV (or JSON rows) in, debtors/phones/debts upserted, bad rows reported.

Rows are read and validated by ``portfolio_rows`` (pure); this module batches, spreads the
validation over processes and stores.

Good rows import and bad rows come back with their line number, column and reason —
nothing is silently dropped. Re-importing the same file updates, never duplicates
(debtor by external id, phone by number, debt by reference). Work is batched so a
100,000-row file imports in seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.parallel_chunks import map_chunks
from voicebot.campaigns.portfolio_rows import (
    DebtorRow,
    RowError,
    decode,
    read_csv,
    resolve_columns,
    validate_row,
)
from voicebot.storage import models as m
from voicebot.storage.bulk import bulk_insert, bulk_update_by_id, select_where_in

BATCH = 2000
# Validation (phone numbering plans above all) is most of an import's CPU: a large file is
# validated in chunks by one process per core while this process stores what is ready.
CHUNK = 2000
PARALLEL_FROM = 20_000  # rows; below it, starting worker processes costs more than it saves
# Core tables: bulk work skips the ORM's per-row bookkeeping (see storage.bulk).
_TABLES = m.Base.metadata.tables


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
    """``workers``: validating processes; by default one per core for a large file."""
    text = decode(data) if isinstance(data, bytes) else data
    headers, rows = read_csv(text)
    mapping = resolve_columns(headers, columns)
    return import_rows(
        sessions,
        rows,
        columns=mapping,
        default_region=default_region,
        default_creditor=default_creditor,
        campaign_id=campaign_id,
        progress=progress,
        workers=default_workers(text.count("\n")) if workers is None else workers,
    )


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


Checked = tuple[int, DebtorRow | RowError | list[RowError]]


def _validate_chunk(
    chunk: list[tuple[int, Mapping[str, str] | RowError]],
    columns: Mapping[str, list[str]],
    default_region: str,
    default_creditor: str,
) -> list[Checked]:
    return [
        (
            line,
            raw
            if isinstance(raw, RowError)
            else validate_row(raw, line, columns, default_region, default_creditor),
        )
        for line, raw in chunk
    ]


def _validated(
    rows: Iterable[tuple[int, Mapping[str, str] | RowError]],
    columns: Mapping[str, list[str]],
    default_region: str,
    default_creditor: str,
    workers: int,
) -> Iterator[Checked]:
    """Every row checked, in file order; with ``workers`` > 1, chunks go to worker processes."""
    work = partial(
        _validate_chunk,
        columns=columns,
        default_region=default_region,
        default_creditor=default_creditor,
    )
    return map_chunks(work, rows, size=CHUNK, workers=workers, preload=[__name__])


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
    report = ImportReport()
    seen: dict[tuple[str, str], int] = {}
    batch: list[DebtorRow] = []
    for line, checked in _validated(rows, columns, default_region, default_creditor, workers):
        report.rows += 1
        if isinstance(checked, RowError):
            report.errors.append(checked)
            continue
        if isinstance(checked, list):
            report.errors.extend(checked)
            continue
        key = (checked.external_id, checked.debt_ref)
        if key in seen:
            report.errors.append(
                RowError(
                    line, columns.get("debt_ref", ["debt_ref"])[0], f"duplicate of line {seen[key]}"
                )
            )
            continue
        seen[key] = line
        batch.append(checked)
        if len(batch) >= BATCH:
            _store(sessions, batch, report, campaign_id)
            batch = []
            progress(report.rows)
    if batch:
        _store(sessions, batch, report, campaign_id)
    progress(report.rows)
    report.errors.sort(key=lambda e: (e.line, e.column))
    return report


def _store(
    sessions: sessionmaker[Session],
    batch: list[DebtorRow],
    report: ImportReport,
    campaign_id: int | None,
) -> None:
    with sessions.begin() as s:
        ids = _upsert_debtors(s, batch, report)
        _insert_phones(s, batch, ids, report)
        _upsert_debts(s, batch, ids, report)
        if campaign_id is not None:
            _add_to_campaign(s, campaign_id, set(ids.values()))


def _upsert_debtors(s: Session, batch: list[DebtorRow], report: ImportReport) -> dict[str, int]:
    latest = {row.external_id: row for row in batch}  # last row wins for the debtor's own fields
    existing: dict[str, int] = dict(_debtor_ids(s, latest))

    if existing:
        # One statement per set of columns: a row without a state keeps the stored one.
        groups: dict[tuple[str, ...], list[tuple[int, dict[str, Any]]]] = {}
        for key in existing:
            values = _debtor_fields(latest[key])
            groups.setdefault(tuple(values), []).append((existing[key], values))
        for rows in groups.values():
            bulk_update_by_id(s, table=_TABLES["debtors"], rows=rows)
        report.debtors_updated += len(existing)
    new = [
        {"subdivision": "", "authorized_channels": None, "external_id": k, **_debtor_fields(r)}
        for k, r in latest.items()
        if k not in existing
    ]
    if new:
        # Insert, then look the ids up: INSERT ... RETURNING over thousands of rows
        # makes the PostgreSQL driver parse one huge statement per page.
        bulk_insert(s, table=_TABLES["debtors"], rows=new)
        existing.update(_debtor_ids(s, [row["external_id"] for row in new]))
        report.debtors_created += len(new)
    return existing


def _debtor_ids(s: Session, external_ids: Iterable[str]) -> list[tuple[str, int]]:
    rows = select_where_in(
        s,
        table=_TABLES["debtors"],
        columns=("external_id", "id"),
        key="external_id",
        values=list(external_ids),
    )
    return [(external_id, debtor_id) for external_id, debtor_id in rows]


def _debtor_fields(row: DebtorRow) -> dict[str, Any]:
    given: dict[str, Any] = {
        "full_name": row.full_name,
        "document_id": row.document_id,
        "timezone": row.timezone,
        "region": row.region,
        "segment": row.segment,
        "gender": row.gender,
        "preferred_hours": row.preferred_hours,
        "tcpa_consent": row.tcpa_consent,
    }
    # What a file does not say about the debtor's state or channels is kept, not erased.
    if row.subdivision:
        given["subdivision"] = row.subdivision
    if row.authorized_channels is not None:
        given["authorized_channels"] = list(row.authorized_channels)
    return given


def _insert_phones(
    s: Session, batch: list[DebtorRow], ids: dict[str, int], report: ImportReport
) -> None:
    known = {
        (debtor_id, e164): (phone_id, kind)
        for phone_id, debtor_id, e164, kind in select_where_in(
            s,
            table=_TABLES["phones"],
            columns=("id", "debtor_id", "e164", "kind"),
            key="debtor_id",
            values=set(ids.values()),
        )
    }
    have = set(known)
    new: list[dict[str, Any]] = []
    kinds: dict[int, dict[str, Any]] = {}
    for row in batch:
        debtor_id = ids[row.external_id]
        for priority, phone in enumerate(row.phones):
            stored = known.get((debtor_id, phone.e164))
            if stored is not None and phone.kind != "unknown" and stored[1] != phone.kind:
                kinds[stored[0]] = {"kind": phone.kind}  # the file now says which line it is
            if (debtor_id, phone.e164) not in have:
                have.add((debtor_id, phone.e164))
                new.append(
                    {
                        "debtor_id": debtor_id,
                        "e164": phone.e164,
                        "kind": phone.kind,
                        "priority": priority,
                    }
                )
    if kinds:
        bulk_update_by_id(s, table=_TABLES["phones"], rows=list(kinds.items()))
    if new:
        bulk_insert(s, table=_TABLES["phones"], rows=new)
        report.phones_created += len(new)


def _upsert_debts(
    s: Session, batch: list[DebtorRow], ids: dict[str, int], report: ImportReport
) -> None:
    # Every debt of the batch's debtors, matched by reference here: a row-value IN over
    # thousands of pairs costs PostgreSQL more to plan than reading a few extra rows.
    existing = dict(
        ((d, ref), i)
        for d, ref, i in select_where_in(
            s,
            table=_TABLES["debts"],
            columns=("debtor_id", "external_ref", "id"),
            key="debtor_id",
            values={ids[r.external_id] for r in batch},
        )
    )
    updates: list[tuple[int, dict[str, Any]]] = []
    new: list[dict[str, Any]] = []
    for row in batch:
        key = (ids[row.external_id], row.debt_ref)
        values = {
            "creditor": row.creditor,
            "amount": row.amount,
            "currency": row.currency,
            "days_past_due": row.days_past_due,
            "product": row.product,
        }
        if key in existing:
            updates.append((existing[key], values))
        else:
            new.append({"debtor_id": key[0], "external_ref": row.debt_ref, **values})
    if updates:
        bulk_update_by_id(s, table=_TABLES["debts"], rows=updates)
        report.debts_updated += len(updates)
    if new:
        bulk_insert(s, table=_TABLES["debts"], rows=new)
        report.debts_created += len(new)


def _add_to_campaign(s: Session, campaign_id: int, debtor_ids: set[int]) -> None:
    have = set(
        s.scalars(
            select(m.CampaignDebtor.debtor_id).where(
                m.CampaignDebtor.campaign_id == campaign_id,
                m.CampaignDebtor.debtor_id.in_(debtor_ids),
            )
        ).all()
    )
    new = [{"campaign_id": campaign_id, "debtor_id": d} for d in debtor_ids - have]
    if new:
        bulk_insert(s, table=_TABLES["campaign_debtors"], rows=new)
