"""Portfolio import: CSV (or JSON rows) in, debtors/phones/debts upserted, bad rows reported.

Good rows import and bad rows come back with their line number, column and reason —
nothing is silently dropped. Re-importing the same file updates, never duplicates
(debtor by external id, phone by number, debt by reference). Work is batched so a
100,000-row file imports in seconds.
"""

from __future__ import annotations

import csv
import io
import multiprocessing
import os
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from voicebot.storage import models as m
from voicebot.storage.bulk import bulk_insert, bulk_update_by_id

CURRENCIES = {
    "COP",
    "CLP",
    "MXN",
    "PEN",
    "USD",
    "ARS",
    "UYU",
    "DOP",
    "GTQ",
    "CRC",
    "BOB",
    "PYG",
    "EUR",
}
DEFAULT_CURRENCY = {"CO": "COP", "CL": "CLP", "MX": "MXN", "PE": "PEN", "US": "USD", "AR": "ARS"}

# Our field → headers we accept (compared without accents, case or spaces).
DEFAULT_COLUMNS: dict[str, tuple[str, ...]] = {
    "external_id": ("external_id", "id_cliente", "cliente_id", "codigo_cliente", "id", "codigo"),
    "full_name": ("full_name", "name", "nombre", "nombre_completo", "nombres", "deudor"),
    "document_id": ("document_id", "documento", "cedula", "rut", "curp", "dni", "nit", "ssn_last4"),
    "phones": (
        "phones",
        "phone",
        "telefono",
        "telefonos",
        "celular",
        "movil",
        "telefono1",
        "telefono2",
        "telefono_2",
        "celular2",
        "phone2",
        "fijo",
    ),
    "amount": ("amount", "balance", "monto", "saldo", "deuda", "valor", "saldo_mora"),
    "currency": ("currency", "moneda", "divisa"),
    "days_past_due": ("days_past_due", "dias_mora", "mora", "dias_de_mora", "dpd"),
    "creditor": ("creditor", "acreedor", "entidad", "banco", "cliente_acreedor"),
    "product": ("product", "producto", "tipo_producto"),
    "debt_ref": ("debt_ref", "obligacion", "numero_obligacion", "referencia", "cuenta", "account"),
    "segment": ("segment", "segmento", "cartera", "tramo"),
    "timezone": ("timezone", "zona_horaria", "tz"),
    "region": ("region", "pais", "country", "departamento", "estado"),
    "gender": ("gender", "genero", "sexo"),
    "preferred_hours": ("preferred_hours", "horario", "horario_preferido"),
    "tcpa_consent": ("tcpa_consent", "consentimiento", "consent"),
}
CENT = Decimal("0.01")  # what debts.amount stores
REQUIRED = ("full_name", "phones", "amount")
BATCH = 2000
# Validation (phone numbering plans above all) is most of an import's CPU: a large file is
# validated in chunks by one process per core while this process stores what is ready.
CHUNK = 2000
PARALLEL_FROM = 20_000  # rows; below it, starting worker processes costs more than it saves
# Core tables: bulk work skips the ORM's per-row bookkeeping (see storage.bulk).
_TABLES = m.Base.metadata.tables


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class PhoneRow:
    e164: str
    kind: str


@dataclass(frozen=True, slots=True)
class DebtorRow:
    """One valid row: a debtor and one of their debts."""

    line: int
    external_id: str
    full_name: str
    document_id: str
    phones: tuple[PhoneRow, ...]
    amount: Decimal
    currency: str
    days_past_due: int
    creditor: str
    product: str
    debt_ref: str
    segment: str
    timezone: str | None
    region: str
    gender: str
    preferred_hours: str
    tcpa_consent: bool


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


class PortfolioError(ValueError):
    """The file as a whole cannot be read (encoding, no header, missing required columns)."""


# ---------------------------------------------------------------- pure parsing


def _key(header: str) -> str:
    table = str.maketrans("áéíóúüñ", "aeiouun")
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower().translate(table)).strip("_")


def resolve_columns(
    headers: list[str], overrides: Mapping[str, str | list[str]] | None = None
) -> dict[str, list[str]]:
    """Which CSV headers feed which field; raises if a required field has no column."""
    by_key = {_key(h): h for h in headers}
    columns: dict[str, list[str]] = {}
    for name, aliases in DEFAULT_COLUMNS.items():
        wanted = overrides.get(name) if overrides else None
        if wanted is not None:
            wanted_list = [wanted] if isinstance(wanted, str) else list(wanted)
            missing = [w for w in wanted_list if w not in headers]
            if missing:
                raise PortfolioError(
                    f"column mapping for {name}: no header {missing[0]!r} in the file"
                )
            columns[name] = wanted_list
            continue
        found = [by_key[a] for a in aliases if a in by_key]
        if found:
            columns[name] = found if name == "phones" else found[:1]
    absent = [r for r in REQUIRED if r not in columns]
    if absent:
        raise PortfolioError(
            f"missing required column(s) {', '.join(absent)}; headers are {', '.join(headers)}"
        )
    if "external_id" not in columns and "document_id" not in columns:
        raise PortfolioError(
            "need an external id or a document column to recognise debtors on re-import"
        )
    return columns


def parse_amount(text: str) -> Decimal:
    """LatAm and US formats: 1.200.000 · 1,200,000.50 · 1.200.000,50 · $ 350.000 · 1200.5"""
    cleaned = re.sub(r"[^\d.,\-]", "", text)
    if not cleaned or not re.search(r"\d", cleaned):
        raise ValueError("not an amount")
    dots, commas = cleaned.count("."), cleaned.count(",")
    if dots and commas:
        decimal_sep = "." if cleaned.rfind(".") > cleaned.rfind(",") else ","
        thousands = "," if decimal_sep == "." else "."
        cleaned = cleaned.replace(thousands, "").replace(decimal_sep, ".")
    elif dots or commas:
        sep = "." if dots else ","
        count = dots or commas
        tail = cleaned.rsplit(sep, 1)[1]
        if count > 1 or len(tail) == 3:
            cleaned = cleaned.replace(sep, "")
        else:
            cleaned = cleaned.replace(sep, ".")
    try:
        return Decimal(cleaned)
    except InvalidOperation as exc:
        raise ValueError("not an amount") from exc


_PHONE_KINDS = {
    phonenumbers.PhoneNumberType.MOBILE: "mobile",
    phonenumbers.PhoneNumberType.FIXED_LINE: "landline",
}


def normalise_phone(text: str, region: str) -> PhoneRow:
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number ({exc})") from exc
    # number_type() is UNKNOWN exactly when is_valid_number() is false; asking once
    # halves the cost of the slowest step of a large import.
    number_type = phonenumbers.number_type(number)
    if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
        raise ValueError(f"invalid phone number for region {region}")
    kind = _PHONE_KINDS.get(number_type, "unknown")
    return PhoneRow(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), kind)


def validate_row(
    raw: Mapping[str, str],
    line: int,
    columns: Mapping[str, list[str]],
    default_region: str,
    default_creditor: str = "",
) -> DebtorRow | list[RowError]:
    errors: list[RowError] = []

    values: dict[str, str] = {}
    for name, headers in columns.items():
        for header in headers:
            cell = raw.get(header, "").strip()
            if cell:
                values[name] = cell
                break

    def value(name: str) -> str:
        return values.get(name, "")

    def fail(name: str, reason: str) -> None:
        errors.append(RowError(line, columns.get(name, [name])[0], reason))

    full_name = " ".join(value("full_name").split())
    if not full_name:
        fail("full_name", "name is empty")
    document = value("document_id")
    external_id = value("external_id") or document
    if not external_id:
        fail("external_id", "no external id nor document to identify the debtor")
    region = (value("region") or default_region).upper()[:2]
    phones: list[PhoneRow] = []
    raw_phones = [
        (header, text.strip())
        for header in columns.get("phones", [])
        for text in re.split(r"[;/|]", raw.get(header, ""))
        if text.strip()
    ]
    for header, text in raw_phones:
        try:
            phone = normalise_phone(text, region)
        except ValueError as exc:
            errors.append(RowError(line, header, f"{text!r}: {exc}"))
            continue
        if phone.e164 not in {p.e164 for p in phones}:
            phones.append(phone)
    if not raw_phones:
        fail("phones", "no phone number")
    amount = Decimal(0)
    try:
        amount = parse_amount(value("amount"))
        if amount <= 0:
            fail("amount", f"amount must be positive, got {value('amount')!r}")
        elif amount != amount.quantize(CENT):
            fail("amount", f"more than 2 decimals in {value('amount')!r}; refusing to round")
    except ValueError:
        fail("amount", f"not an amount: {value('amount')!r}")
    currency = (value("currency") or DEFAULT_CURRENCY.get(region, "")).upper()
    if currency not in CURRENCIES:
        fail("currency", f"unknown currency {currency or '(empty)'!r}")
    days = 0
    if value("days_past_due"):
        try:
            days = int(value("days_past_due"))
            if days < 0:
                raise ValueError
        except ValueError:
            fail(
                "days_past_due",
                f"days past due must be a whole number ≥ 0, got {value('days_past_due')!r}",
            )
    creditor = value("creditor") or default_creditor
    if not creditor:
        fail("creditor", "no creditor (add the column or set the campaign's default creditor)")
    timezone = value("timezone") or None
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            fail("timezone", f"unknown time zone {timezone!r}")
    gender = {
        "f": "f",
        "femenino": "f",
        "mujer": "f",
        "m": "m",
        "masculino": "m",
        "hombre": "m",
    }.get(value("gender").lower(), "")
    consent = value("tcpa_consent").lower() in {"1", "si", "sí", "yes", "true", "y", "s"}
    if errors:
        return errors
    return DebtorRow(
        line=line,
        external_id=external_id,
        full_name=full_name,
        document_id=document,
        phones=tuple(phones),
        amount=amount,
        currency=currency,
        days_past_due=days,
        creditor=creditor,
        product=value("product"),
        debt_ref=value("debt_ref") or "principal",
        segment=value("segment"),
        timezone=timezone,
        region=region,
        gender=gender,
        preferred_hours=value("preferred_hours"),
        tcpa_consent=consent,
    )


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Latin-1 — what spreadsheets actually export."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def read_csv(text: str) -> tuple[list[str], Iterator[tuple[int, dict[str, str] | RowError]]]:
    """Headers and (line number, row or error) pairs; lines count as in the file."""
    sample = text[:20000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration as exc:
        raise PortfolioError("the file is empty") from exc
    if not any(headers):
        raise PortfolioError("the first line must name the columns")

    def rows() -> Iterator[tuple[int, dict[str, str] | RowError]]:
        start = reader.line_num + 1
        for record in reader:
            line = start
            start = reader.line_num + 1
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(headers):
                yield (
                    line,
                    RowError(line, "*", f"expected {len(headers)} columns, found {len(record)}"),
                )
                continue
            yield line, dict(zip(headers, record, strict=True))

    return headers, rows()


# ---------------------------------------------------------------- storage


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


def _chunks(
    rows: Iterable[tuple[int, Mapping[str, str] | RowError]],
) -> Iterator[list[tuple[int, Mapping[str, str] | RowError]]]:
    chunk: list[tuple[int, Mapping[str, str] | RowError]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _pool_context() -> multiprocessing.context.BaseContext:
    """Fork when this process has one thread: safe, fast, and needs no ``__main__`` guard.

    With other threads running (the API server), a forked copy could inherit a lock some
    thread held; a fork server starts clean children instead (its callers, the CLI entry
    points, guard ``__main__`` as multiprocessing requires).
    """
    if threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


def _validated(
    rows: Iterable[tuple[int, Mapping[str, str] | RowError]],
    columns: Mapping[str, list[str]],
    default_region: str,
    default_creditor: str,
    workers: int,
) -> Iterator[Checked]:
    """Every row checked, in file order; with ``workers`` > 1, chunks go to worker processes.

    A bounded window of chunks is in flight, so memory stays flat for any file size and the
    caller stores one batch while the workers validate the next ones.
    """
    if workers <= 1:
        for chunk in _chunks(rows):
            yield from _validate_chunk(chunk, columns, default_region, default_creditor)
        return
    with ProcessPoolExecutor(workers, mp_context=_pool_context()) as pool:
        window: deque[Future[list[Checked]]] = deque()
        for chunk in _chunks(rows):
            window.append(
                pool.submit(_validate_chunk, chunk, columns, default_region, default_creditor)
            )
            if len(window) > 2 * workers:
                yield from window.popleft().result()
        while window:
            yield from window.popleft().result()


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
    existing = dict(
        s.execute(
            select(m.Debtor.external_id, m.Debtor.id).where(m.Debtor.external_id.in_(latest))
        ).all()
    )

    def fields(row: DebtorRow) -> dict[str, Any]:
        return {
            "full_name": row.full_name,
            "document_id": row.document_id,
            "timezone": row.timezone,
            "region": row.region,
            "segment": row.segment,
            "gender": row.gender,
            "preferred_hours": row.preferred_hours,
            "tcpa_consent": row.tcpa_consent,
        }

    if existing:
        bulk_update_by_id(
            s, table=_TABLES["debtors"], rows=[(existing[k], fields(latest[k])) for k in existing]
        )
        report.debtors_updated += len(existing)
    new = [{"external_id": k, **fields(r)} for k, r in latest.items() if k not in existing]
    if new:
        # Insert, then look the ids up: INSERT ... RETURNING over thousands of rows
        # makes the PostgreSQL driver parse one huge statement per page.
        bulk_insert(s, table=_TABLES["debtors"], rows=new)
        created = s.execute(
            select(m.Debtor.external_id, m.Debtor.id).where(
                m.Debtor.external_id.in_([row["external_id"] for row in new])
            )
        )
        existing.update({external_id: debtor_id for external_id, debtor_id in created})
        report.debtors_created += len(new)
    return existing


def _insert_phones(
    s: Session, batch: list[DebtorRow], ids: dict[str, int], report: ImportReport
) -> None:
    have: set[tuple[int, str]] = {
        (debtor_id, e164)
        for debtor_id, e164 in s.execute(
            select(m.Phone.debtor_id, m.Phone.e164).where(m.Phone.debtor_id.in_(set(ids.values())))
        )
    }
    new: list[dict[str, Any]] = []
    for row in batch:
        debtor_id = ids[row.external_id]
        for priority, phone in enumerate(row.phones):
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
        for d, ref, i in s.execute(
            select(m.Debt.debtor_id, m.Debt.external_ref, m.Debt.id).where(
                m.Debt.debtor_id.in_({ids[r.external_id] for r in batch})
            )
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
