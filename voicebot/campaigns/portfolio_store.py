"""Storing validated portfolio rows: a batch staged in temporary tables, merged by set-based SQL.

A batch is loaded into temporary tables (SQLite executemany, PostgreSQL ``COPY``) and merged
into debtors, phones, debts and campaign members by a few statements that the database runs
over the whole set, the same SQL on both engines. The storing process does no per-row work
beyond de-duplicating the batch, and never reads back what it just wrote: debtors are matched
to their phones and debts by external id inside the database.

Re-import semantics: a debtor (external id), a phone (debtor + E.164 number) and a debt
(debtor + reference) are updated, never duplicated; what a file does not say about a
debtor's state or authorized channels is kept.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, bindparam, text
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeEngine

from voicebot.campaigns.portfolio_rows import DebtorRow
from voicebot.storage import models as m
from voicebot.storage.bulk import column_defaults, drop_staged, stage

# What a worker sends per valid row: plain tuples pickle several times faster than
# dataclasses, and need no conversion here.
DebtorValues = tuple[Any, ...]  # (line, external_id, *DEBTOR_FIELDS)
PhoneValues = tuple[str, str]  # (e164, kind)
DebtValues = tuple[Any, ...]  # (line, external_id, *DEBT_FIELDS)
StagedRow = tuple[int, str, str, DebtorValues, tuple[PhoneValues, ...], DebtValues]

# Column order of the staging tables: the first two are (line, external_id).
DEBTOR_FIELDS = (
    "full_name",
    "document_id",
    "timezone",
    "region",
    "segment",
    "gender",
    "preferred_hours",
    "tcpa_consent",
    "subdivision",  # "": not given, the stored one is kept
    "authorized_channels",  # NULL: not given, the stored ones are kept
)
DEBT_FIELDS = ("external_ref", "creditor", "amount", "currency", "days_past_due", "product")
PHONE_FIELDS = ("e164", "kind", "priority")
_TABLES = m.Base.metadata.tables


def staged_row(row: DebtorRow) -> StagedRow:
    """A validated row as the staging tables take it (amounts as exact decimal text)."""
    channels = None if row.authorized_channels is None else json.dumps(row.authorized_channels)
    debtor = (
        row.line,
        row.external_id,
        row.full_name,
        row.document_id,
        row.timezone,
        row.region,
        row.segment,
        row.gender,
        row.preferred_hours,
        row.tcpa_consent,
        row.subdivision,
        channels,
    )
    debt = (
        row.line,
        row.external_id,
        row.debt_ref,
        row.creditor,
        str(row.amount),
        row.currency,
        row.days_past_due,
        row.product,
    )
    phones = tuple((p.e164, p.kind) for p in row.phones)
    return row.line, row.external_id, row.debt_ref, debtor, phones, debt


@dataclass
class Batch:
    """Rows to store together; a debtor's own fields come from its last row in the batch."""

    debtors: dict[str, DebtorValues] = field(default_factory=dict)
    phones: dict[tuple[str, str], tuple[Any, ...]] = field(default_factory=dict)
    debts: list[DebtValues] = field(default_factory=list)

    def add(self, row: StagedRow) -> None:
        line, external_id, _, debtor, phones, debt = row
        self.debtors[external_id] = debtor
        for priority, (e164, kind) in enumerate(phones):
            key = (external_id, e164)
            known = self.phones.get(key)
            if known is None:  # priority: where the number first appears
                self.phones[key] = (line, external_id, e164, kind, priority)
            elif kind != "unknown" and kind != known[3]:  # the line type the file says last
                self.phones[key] = (*known[:3], kind, known[4])
        self.debts.append(debt)

    def __len__(self) -> int:
        return len(self.debts)


@dataclass
class Stored:
    debtors_created: int = 0
    debtors_updated: int = 0
    debts_created: int = 0
    debts_updated: int = 0
    phones_created: int = 0


def store(session: Session, batch: Batch, campaign_id: int | None) -> Stored:
    """Merge ``batch`` into the store within ``session``'s transaction."""
    stage(
        session,
        name="_import_debtors",
        shape=_shape("debtors", DEBTOR_FIELDS),
        rows=list(batch.debtors.values()),
    )
    stage(
        session,
        name="_import_phones",
        shape=_shape("phones", PHONE_FIELDS),
        rows=list(batch.phones.values()),
    )
    stage(session, name="_import_debts", shape=_shape("debts", DEBT_FIELDS), rows=batch.debts)
    now = m.utc_now()  # one time for the whole batch
    stored = Stored()
    supplied = {"external_id", *DEBTOR_FIELDS, "created_at", "updated_at"}
    stored.debtors_created = _insert(session, "debtors", _INSERT_DEBTORS, supplied, now=now)
    # Updated: found by external id, whether or not a field changed.
    stored.debtors_updated = len(batch.debtors) - stored.debtors_created
    if stored.debtors_updated:
        # Rows just inserted equal their staged values, so only known debtors are written.
        # With none known (a first import) there is nothing to update: phones and debts
        # belong to a debtor.
        ne = _NE[session.get_bind().dialect.name]
        _run(session, _UPDATE_DEBTORS.format(ne=ne), now=now)
        _run(session, _UPDATE_PHONE_KINDS)
        _run(session, _UPDATE_DEBTS.format(ne=ne))
    supplied = {"debtor_id", *PHONE_FIELDS}
    # Only a known debtor can have the batch's phones and debts already.
    known = bool(stored.debtors_updated)
    phones, debts = (_INSERT_PHONES, _INSERT_DEBTS) if known else (_ADD_PHONES, _ADD_DEBTS)
    stored.phones_created = _insert(session, "phones", phones, supplied)
    stored.debts_created = _insert(session, "debts", debts, {"debtor_id", *DEBT_FIELDS})
    stored.debts_updated = len(batch.debts) - stored.debts_created
    if campaign_id is not None:
        supplied = {"campaign_id", "debtor_id", "added_at"}
        _insert(
            session, "campaign_debtors", _INSERT_MEMBERS, supplied, now=now, campaign_id=campaign_id
        )
    for name in ("_import_debtors", "_import_phones", "_import_debts"):
        drop_staged(session, name)
    return stored


def _shape(table: str, fields: tuple[str, ...]) -> str:
    """A query whose columns type a staging table: (line, external_id, *fields)."""
    if table == "debtors":
        columns = ", ".join(f"t.{f}" for f in fields)
        return f"SELECT t.id AS line, t.external_id, {columns} FROM debtors AS t"
    columns = ", ".join(f"t.{f}" for f in fields)
    return f"SELECT t.id AS line, d.external_id, {columns} FROM {table} AS t, debtors AS d"


def _run(
    session: Session, sql: str, types: Mapping[str, TypeEngine[Any]] | None = None, **params: Any
) -> int:
    """Run ``sql`` (``:now`` bound as a stored timestamp); the rows it wrote."""
    typed = [bindparam(n, type_=t) for n, t in (types or {}).items()]
    if "now" in params:
        typed.append(bindparam("now", type_=m.UtcDateTime()))
    statement = text(sql).bindparams(*typed) if typed else text(sql)
    result: Any = session.execute(statement, params)
    return int(result.rowcount)


def _insert(session: Session, table: str, template: str, supplied: set[str], **params: Any) -> int:
    """``template`` completed (``{columns}``, ``{values}``) with every other column's default,
    as the ORM would fill them: the bulk statements bypass its per-row defaults."""
    target: Table = _TABLES[table]
    defaults = {n: v for n, v in column_defaults(target).items() if n not in supplied}
    sql = template.format(
        columns="".join(f", {n}" for n in defaults),
        values="".join(f", :{n}" for n in defaults),
    )
    types = {n: target.c[n].type for n in defaults}
    return _run(session, sql, types, **params, **defaults)


_PLAIN = [f for f in DEBTOR_FIELDS if f not in ("subdivision", "authorized_channels")]
_DEBTOR_SET = ", ".join(f"{f} = v.{f}" for f in _PLAIN)
_DEBTOR_CHANGED = " OR ".join(f"debtors.{f} {{ne}} v.{f}" for f in _PLAIN)
# Only debtors whose fields change are written: ``updated_at`` tells a live dashboard which
# debtors to re-read, and an unchanged row costs index upkeep for nothing.
_UPDATE_DEBTORS = f"""
UPDATE debtors SET {_DEBTOR_SET},
    subdivision = CASE WHEN v.subdivision = '' THEN debtors.subdivision ELSE v.subdivision END,
    authorized_channels = COALESCE(v.authorized_channels, debtors.authorized_channels),
    updated_at = :now
FROM _import_debtors AS v
WHERE debtors.external_id = v.external_id AND (
    {_DEBTOR_CHANGED}
    OR (v.subdivision <> '' AND debtors.subdivision {{ne}} v.subdivision)
    OR (v.authorized_channels IS NOT NULL AND CAST(debtors.authorized_channels AS TEXT)
        {{ne}} CAST(v.authorized_channels AS TEXT))
)
"""
# ON CONFLICT DO NOTHING: the unique index answers "is it new?" as the row goes in (no
# anti-join over the whole table), and a concurrent import of the same debtor is no error.
_INSERT_DEBTORS = f"""
INSERT INTO debtors (external_id, {", ".join(DEBTOR_FIELDS)}, created_at, updated_at{{columns}})
SELECT v.external_id, {", ".join(f"v.{f}" for f in DEBTOR_FIELDS)}, :now, :now{{values}}
FROM _import_debtors AS v
WHERE true
ORDER BY v.line
ON CONFLICT (external_id) DO NOTHING
"""
_UPDATE_PHONE_KINDS = """
UPDATE phones SET kind = v.kind
FROM _import_phones AS v, debtors AS d
WHERE d.external_id = v.external_id AND phones.debtor_id = d.id AND phones.e164 = v.e164
    AND v.kind <> 'unknown' AND phones.kind <> v.kind
"""
_INSERT_PHONES = """
INSERT INTO phones (debtor_id, e164, kind, priority{columns})
SELECT d.id, v.e164, v.kind, v.priority{values}
FROM _import_phones AS v JOIN debtors AS d ON d.external_id = v.external_id
WHERE true
ORDER BY v.line, v.priority
ON CONFLICT (debtor_id, e164) DO NOTHING
"""
_DEBT_SET = ", ".join(f"{f} = v.{f}" for f in DEBT_FIELDS if f != "external_ref")
_DEBT_CHANGED = " OR ".join(f"debts.{f} {{ne}} v.{f}" for f in DEBT_FIELDS if f != "external_ref")
_UPDATE_DEBTS = f"""
UPDATE debts SET {_DEBT_SET}
FROM _import_debts AS v, debtors AS d
WHERE d.external_id = v.external_id AND debts.debtor_id = d.id
    AND debts.external_ref = v.external_ref AND ({_DEBT_CHANGED})
"""
_INSERT_DEBTS = f"""
INSERT INTO debts (debtor_id, {", ".join(DEBT_FIELDS)}{{columns}})
SELECT d.id, {", ".join(f"v.{f}" for f in DEBT_FIELDS)}{{values}}
FROM _import_debts AS v JOIN debtors AS d ON d.external_id = v.external_id
WHERE true
ORDER BY v.line
ON CONFLICT (debtor_id, external_ref) DO NOTHING
"""
# A first import's phones and debts: plain inserts (no speculative insertion per row).
_ADD_PHONES = _INSERT_PHONES.replace("ON CONFLICT (debtor_id, e164) DO NOTHING", "")
_ADD_DEBTS = _INSERT_DEBTS.replace("ON CONFLICT (debtor_id, external_ref) DO NOTHING", "")
_INSERT_MEMBERS = """
INSERT INTO campaign_debtors (campaign_id, debtor_id, added_at{columns})
SELECT :campaign_id, d.id, :now{values}
FROM _import_debtors AS v JOIN debtors AS d ON d.external_id = v.external_id
WHERE true
ORDER BY v.line
ON CONFLICT (campaign_id, debtor_id) DO NOTHING
"""
# Null-safe "differs": standard SQL, and SQLite's spelling (IS DISTINCT FROM is 3.39+).
_NE = {"postgresql": "IS DISTINCT FROM", "sqlite": "IS NOT"}
