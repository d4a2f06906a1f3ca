"""Who is calling: from a caller ID and an ID document to one debtor's call context.

Pure. The storage finds the candidates (debtors whose phone is the caller ID, debtors with a
document); these functions decide what the dialog may assume. Nothing here discloses anything:
an identified caller is still verified by the dialplan before the debt is mentioned.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from voicebot.domain.context import INBOUND, CallContext, Debtor, DebtorDirectory

ONE, SEVERAL, UNKNOWN = "one", "several", "unknown"


class CallerIdError(ValueError):
    """A caller ID that is no phone number."""


def normalize_caller_id(raw: str) -> str:
    """The caller ID in E.164 (``+`` and digits); carriers send ``tel:``/``sip:`` forms too."""
    text = raw.strip()
    for prefix in ("tel:", "sip:", "sips:"):
        if text.lower().startswith(prefix):
            text = text[len(prefix) :]
    text = text.split("@", 1)[0].split(";", 1)[0]
    digits = "".join(ch for ch in text if ch.isdigit())
    if not 7 <= len(digits) <= 15:
        raise CallerIdError(f"caller ID {raw!r} is not a phone number")
    return f"+{digits}"


def presented_caller_id(raw: str | None) -> str:
    """The caller ID if the network presented a number; "" when withheld ("anonymous")."""
    try:
        return normalize_caller_id(raw or "")
    except CallerIdError:
        return ""


def document_digits(text: str) -> str:
    """An ID document as its digits alone: "1.020.304" and "1020304" are the same person."""
    return "".join(ch for ch in text if ch.isdigit())


@dataclass(frozen=True, slots=True)
class ListedDirectory:
    """A directory over contexts already in memory (text simulation, tests, the demo)."""

    contexts: tuple[CallContext, ...]

    def by_document(self, digits: str) -> tuple[CallContext, ...]:
        wanted = document_digits(digits)
        if not wanted:
            return ()
        return tuple(c for c in self.contexts if document_digits(c.debtor.document_id) == wanted)

    def by_phone(
        self, caller_id: str, phones: dict[str, tuple[str, ...]]
    ) -> tuple[CallContext, ...]:
        """Contexts whose debtor has ``caller_id`` among ``phones[debtor_ref]``."""
        return tuple(c for c in self.contexts if caller_id in phones.get(c.debtor_ref, ()))


def caller_context(
    caller_id: str,
    matches: Iterable[CallContext],
    *,
    unknown: CallContext,
    directory: DebtorDirectory | None,
) -> CallContext:
    """The context an inbound call starts with.

    One debtor on the number: that debtor (to be verified). Several, or none: an anonymous
    context built from ``unknown`` (the line's company, callback number and terms), with the
    directory the dialog identifies the caller in.
    """
    found = tuple(matches)
    if len(found) == 1:
        return replace(
            found[0],
            direction=INBOUND,
            caller_id=caller_id,
            caller_match=ONE,
            directory=directory,
        )
    return replace(
        unknown,
        debtor=Debtor(full_name="", timezone=unknown.debtor.timezone),
        debtor_ref="",
        direction=INBOUND,
        caller_id=caller_id,
        caller_match=SEVERAL if found else UNKNOWN,
        directory=directory,
        pending_promise=None,
        pending_callback=None,
    )


def identified(current: CallContext, found: CallContext) -> CallContext:
    """The caller's own context once a document found them; the call's facts are kept."""
    return replace(
        found,
        today=current.today,
        direction=current.direction,
        caller_id=current.caller_id,
        caller_match=current.caller_match,
        directory=current.directory,
    )
