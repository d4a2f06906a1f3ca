"""The inbound line as JSON, for ``voicebot simulate --inbound``: who may call and from where.

``{"line": {"company", "callback_number", "timezone", "settings"}, "debtors": [debtor, ...]}``
where each debtor is the ``simulate --debtor`` shape plus ``"ref"``, ``"phones": ["+57..."]``,
optional ``"pending_promise": {"amount", "currency", "date", "instalments"}`` and
``"pending_callback": "2026-11-24T10:00:00-05:00"``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from voicebot.dialog.callers import (
    CallerIdError,
    ListedDirectory,
    caller_context,
    normalize_caller_id,
    presented_caller_id,
)
from voicebot.domain.context import (
    DEFAULT_COMPANY,
    CallContext,
    ContextError,
    Debtor,
    PendingPromise,
    context_from_json,
)


@dataclass(frozen=True, slots=True)
class InboundLine:
    """The debtors reachable on the line and what an anonymous call starts with."""

    contexts: tuple[CallContext, ...]
    phones: dict[str, tuple[str, ...]]  # debtor ref → E.164 numbers
    unknown: CallContext

    def context_for(self, caller: str) -> CallContext:
        """The starting context of a call from ``caller`` (see ``caller_context``)."""
        caller_id = presented_caller_id(caller)
        directory = ListedDirectory(self.contexts)
        matches = directory.by_phone(caller_id, self.phones) if caller_id else ()
        return caller_context(caller_id, matches, unknown=self.unknown, directory=directory)


def line_from_json(data: Any, *, today: date) -> InboundLine:
    if not isinstance(data, dict) or not isinstance(data.get("debtors"), list):
        raise ContextError('inbound line: expected {"line": {...}, "debtors": [...]}')
    line = data.get("line") or {}
    if not isinstance(line, dict):
        raise ContextError("line: expected an object")
    contexts: list[CallContext] = []
    phones: dict[str, tuple[str, ...]] = {}
    for i, raw in enumerate(data["debtors"]):
        path = f"debtors[{i}]"
        if not isinstance(raw, dict):
            raise ContextError(f"{path}: expected an object")
        try:
            ctx = context_from_json(raw, today=today)
        except ContextError as exc:
            raise ContextError(f"{path}: {exc}") from exc
        ref = str(raw.get("ref") or i + 1)
        if ref in phones:
            raise ContextError(f"{path}.ref: {ref!r} appears twice")
        try:
            phones[ref] = tuple(normalize_caller_id(str(p)) for p in raw.get("phones") or [])
        except CallerIdError as exc:
            raise ContextError(f"{path}.phones: {exc}") from exc
        contexts.append(
            replace(
                ctx,
                debtor_ref=ref,
                pending_promise=_pending_promise(raw.get("pending_promise"), ctx, path),
                pending_callback=_pending_callback(raw.get("pending_callback"), path),
            )
        )
    settings = line.get("settings") or {}
    if not isinstance(settings, dict):
        raise ContextError("line.settings: expected an object")
    base = context_from_json(
        {"name": "-", "timezone": line.get("timezone", "America/Bogota")}, today=today
    )
    unknown = replace(
        base,
        debtor=Debtor(full_name="", timezone=base.debtor.timezone),
        company=str(line.get("company", DEFAULT_COMPANY)),
        callback_number=str(line.get("callback_number", "")),
        settings=settings,
    )
    return InboundLine(tuple(contexts), phones, unknown)


def _pending_promise(raw: Any, ctx: CallContext, path: str) -> PendingPromise | None:
    if raw is None:
        return None
    try:
        return PendingPromise(
            amount=Decimal(str(raw["amount"])),
            currency=str(raw.get("currency", ctx.debtor.currency)).upper(),
            due=date.fromisoformat(str(raw["date"])),
            instalments=int(raw.get("instalments", 1)),
        )
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ContextError(f"{path}.pending_promise: {exc!r}") from exc


def _pending_callback(raw: Any, path: str) -> datetime | None:
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(str(raw))
    except ValueError as exc:
        raise ContextError(f"{path}.pending_callback: {exc}") from exc
    if when.tzinfo is None:
        raise ContextError(f"{path}.pending_callback: needs a UTC offset")
    return when
