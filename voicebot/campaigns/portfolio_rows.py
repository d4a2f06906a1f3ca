"""Portfolio rows: a CSV (or JSON rows) read into validated debtor rows, or errors per cell.

Pure: no database. Good rows come out as ``DebtorRow``; a bad row comes back with its line,
column and reason, so nothing is silently dropped. ``portfolio`` stores what this accepts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from voicebot.campaigns.portfolio_compliance import (
    COMPLIANCE_COLUMNS,
    LINE_TYPES,
    parse_channels,
    parse_subdivision,
)
from voicebot.campaigns.portfolio_phones import PhoneRow, normalize_phone

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
    "region": ("region", "pais", "country"),
    **COMPLIANCE_COLUMNS,
    "gender": ("gender", "genero", "sexo"),
    "preferred_hours": ("preferred_hours", "horario", "horario_preferido"),
    "tcpa_consent": ("tcpa_consent", "consentimiento", "consent"),
}
CENT = Decimal("0.01")  # what debts.amount stores
REQUIRED = ("full_name", "phones", "amount")


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    column: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "reason": self.reason}


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
    subdivision: str = ""  # "": not given (a re-import keeps what was recorded)
    authorized_channels: tuple[str, ...] | None = None  # None: not given


class PortfolioError(ValueError):
    """The file as a whole cannot be read (encoding, no header, missing required columns)."""


# ---------------------------------------------------------------- pure parsing


def header_key(header: str) -> str:
    """A header as compared with our aliases: no accents, case, spaces or punctuation."""
    table = str.maketrans("áéíóúüñ", "aeiouun")
    return re.sub(r"[^a-z0-9]+", "_", header.strip().lower().translate(table)).strip("_")


def resolve_columns(
    headers: list[str], overrides: Mapping[str, str | list[str]] | None = None
) -> dict[str, list[str]]:
    """Which CSV headers feed which field; raises if a required field has no column."""
    by_key = {header_key(h): h for h in headers}
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
            "need an external id or a document column to recognize debtors on re-import"
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


# Column lengths of the tables the row lands in (PostgreSQL refuses longer text).
TEXT_LIMITS = {
    "external_id": 64,
    "full_name": 200,
    "document_id": 40,
    "segment": 40,
    "product": 80,
    "creditor": 120,
    "debt_ref": 64,
    "timezone": 64,
    "preferred_hours": 40,
}
# Cells a spreadsheet would run as a formula when an export is opened (CSV injection);
# names and ids never start like this, numbers and phones are parsed, not stored as text.
FREE_TEXT = frozenset(TEXT_LIMITS) - {"timezone"}
_FORMULA = re.compile(r"^[=+\-@\t\r]")
MAX_AMOUNT = Decimal("99999999999999.99")  # Numeric(16, 2)
MAX_DAYS_PAST_DUE = 36_500


def validate_row(
    raw: Mapping[str, str],
    line: int,
    columns: Mapping[str, list[str]],
    default_region: str,
    default_creditor: str = "",
) -> DebtorRow | list[RowError]:
    row = _Cells.read(raw, line, columns)
    _check_storable(row)
    full_name = " ".join(row.value("full_name").split())
    if not full_name:
        row.fail("full_name", "name is empty")
    document = row.value("document_id")
    external_id = row.value("external_id") or document
    if not external_id:
        row.fail("external_id", "no external id nor document to identify the debtor")
    region = (row.value("region") or default_region).upper()[:2]
    phones = _line_types(row, _phones(row, raw, region))
    subdivision = _subdivision(row, region)
    channels = _channels(row)
    amount = _amount(row)
    currency = (row.value("currency") or DEFAULT_CURRENCY.get(region, "")).upper()
    if currency not in CURRENCIES:
        row.fail("currency", f"unknown currency {currency or '(empty)'!r}")
    days = _days_past_due(row)
    creditor = row.value("creditor") or default_creditor
    if not creditor:
        row.fail("creditor", "no creditor (add the column or set the campaign's default creditor)")
    timezone = _timezone(row)
    if row.errors:
        return row.errors
    return DebtorRow(
        line=line,
        external_id=external_id,
        full_name=full_name,
        document_id=document,
        phones=phones,
        amount=amount,
        currency=currency,
        days_past_due=days,
        creditor=creditor,
        product=row.value("product"),
        debt_ref=row.value("debt_ref") or "principal",
        segment=row.value("segment"),
        timezone=timezone,
        region=region,
        gender=_GENDERS.get(row.value("gender").lower(), ""),
        preferred_hours=row.value("preferred_hours"),
        tcpa_consent=row.value("tcpa_consent").lower() in _YES,
        subdivision=subdivision,
        authorized_channels=channels,
    )


_GENDERS = {"f": "f", "femenino": "f", "mujer": "f", "m": "m", "masculino": "m", "hombre": "m"}
_YES = {"1", "si", "sí", "yes", "true", "y", "s"}


@dataclass(slots=True)
class _Cells:
    """One row's cells by field name (the first non-empty of the field's columns), and its
    errors, each reported against the field's first column."""

    line: int
    columns: Mapping[str, list[str]]
    values: dict[str, str]
    errors: list[RowError] = field(default_factory=list)

    @classmethod
    def read(cls, raw: Mapping[str, str], line: int, columns: Mapping[str, list[str]]) -> _Cells:
        values: dict[str, str] = {}
        for name, headers in columns.items():
            for header in headers:
                cell = raw.get(header, "").strip()
                if cell:
                    values[name] = cell
                    break
        return cls(line, columns, values)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def fail(self, name: str, reason: str) -> None:
        self.errors.append(RowError(self.line, self.columns.get(name, [name])[0], reason))


def _phones(row: _Cells, raw: Mapping[str, str], region: str) -> tuple[PhoneRow, ...]:
    """Every number of every phone column (a cell may hold several), deduplicated."""
    phones: list[PhoneRow] = []
    raw_phones = [
        (header, text.strip())
        for header in row.columns.get("phones", [])
        for text in re.split(r"[;/|]", raw.get(header, ""))
        if text.strip()
    ]
    for header, text in raw_phones:
        try:
            phone = normalize_phone(text, region)
        except ValueError as exc:
            row.errors.append(RowError(row.line, header, f"{text!r}: {exc}"))
            continue
        if phone.e164 not in {p.e164 for p in phones}:
            phones.append(phone)
    if not raw_phones:
        row.fail("phones", "no phone number")
    return tuple(phones)


def _line_types(row: _Cells, phones: tuple[PhoneRow, ...]) -> tuple[PhoneRow, ...]:
    if not row.value("line_type"):
        return phones
    line_type = LINE_TYPES.get(row.value("line_type").lower())
    if line_type is None:
        row.fail(
            "line_type", f"line type must be mobile or landline, got {row.value('line_type')!r}"
        )
        return phones
    # A number libphonenumber knows to be mobile stays mobile: the stricter fact wins.
    return tuple(PhoneRow(p.e164, "mobile" if p.kind == "mobile" else line_type) for p in phones)


def _subdivision(row: _Cells, region: str) -> str:
    if not row.value("subdivision"):
        return ""
    try:
        return parse_subdivision(row.value("subdivision"), region)
    except ValueError as exc:
        # A US state decides which laws apply: it must be readable. Elsewhere only codes
        # matter (regional holidays), so a name such as "Antioquia" is left out.
        if region == "US":
            row.fail("subdivision", str(exc))
        return ""


def _channels(row: _Cells) -> tuple[str, ...] | None:
    if "authorized_channels" not in row.columns or not row.value("authorized_channels"):
        return None
    try:
        return parse_channels(row.value("authorized_channels"))
    except ValueError as exc:
        row.fail("authorized_channels", str(exc))
        return None


def _check_storable(row: _Cells) -> None:
    """Text the store can hold as it is, and no spreadsheet formula in what an export shows."""
    for name, cell in row.values.items():
        limit = TEXT_LIMITS.get(name)
        if limit is not None and len(cell) > limit:
            row.fail(name, f"longer than {limit} characters")
        if name in FREE_TEXT and _FORMULA.match(cell):
            row.fail(name, f"{cell[:20]!r} looks like a spreadsheet formula; refusing to store it")
        if "\x00" in cell:
            row.fail(name, "contains a NUL character")


def _amount(row: _Cells) -> Decimal:
    text = row.value("amount")
    try:
        amount = parse_amount(text)
    except ValueError:
        row.fail("amount", f"not an amount: {text!r}")
        return Decimal(0)
    if amount <= 0:
        row.fail("amount", f"amount must be positive, got {text!r}")
    elif amount != amount.quantize(CENT):
        row.fail("amount", f"more than 2 decimals in {text!r}; refusing to round")
    elif amount > MAX_AMOUNT:
        row.fail("amount", f"over {MAX_AMOUNT} (the largest amount stored)")
    return amount


def _days_past_due(row: _Cells) -> int:
    text = row.value("days_past_due")
    if not text:
        return 0
    try:
        days = int(text)
    except ValueError:
        days = -1
    if not 0 <= days <= MAX_DAYS_PAST_DUE:
        row.fail(
            "days_past_due",
            f"days past due must be a whole number from 0 to {MAX_DAYS_PAST_DUE}, got {text!r}",
        )
    return days


def _timezone(row: _Cells) -> str | None:
    timezone = row.value("timezone") or None
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            row.fail("timezone", f"unknown time zone {timezone!r}")
    return timezone


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Latin-1 — what spreadsheets actually export."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")
