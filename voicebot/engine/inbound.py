"""One inbound call, answered: identify the caller, run the dialog, store what it decided.

The same ``run_call`` loop as a dial, on whatever port the carrier answered with. The
dialog identifies the caller (caller ID, then the document) and verifies before disclosing;
this module gives it the candidates; ``inbound_live`` writes what the call decides under the
debtor it found, while the call runs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.compliance import required_dialog_settings
from voicebot.dialog.callers import caller_context, presented_caller_id
from voicebot.dialog.plan import Dialplan
from voicebot.domain.context import CallContext
from voicebot.domain.outcome import CallOutcome
from voicebot.engine.call_loop import Clock, run_call, utc_now
from voicebot.engine.inbound_live import LiveInboundCall
from voicebot.engine.journal import Journal
from voicebot.engine.port import DialogPort
from voicebot.storage.inbound import StoredDirectory, caller_contexts

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InboundCall:
    outcome: CallOutcome
    attempt_id: int | None  # None: the caller was never identified (audit entry only)
    debtor_ref: str


async def answer_inbound(
    plan: Dialplan,
    port: DialogPort,
    *,
    caller: str,
    sessions: sessionmaker[Session],
    line: CallContext,
    clock: Clock = utc_now,
    actor: str = "inbound",
    journal: Journal | None = None,
    lease_seconds: float = 15,
    on_attempt: Callable[[int], None] = lambda attempt_id: None,
) -> InboundCall:
    """Serve one answered inbound call to its outcome and store it.

    ``line`` is what an anonymous call starts with: the company, callback number, time zone
    and terms of the line that was called (its ``today`` is the call's date). ``journal`` is
    the process's write-ahead journal (its owner holds the call's lease); without one the
    call's decisions are still written as they are made, only not first to disk.
    ``on_attempt`` is told the call's attempt id once the caller is identified.
    """
    caller_id = presented_caller_id(caller)  # "" : withheld, the caller is asked who they are
    law = required_dialog_settings  # what the jurisdiction makes every call say, as on a dial
    # Database reads run in a worker thread: the loop keeps serving the other calls' audio.
    matches = (
        await asyncio.to_thread(_on_number, sessions, caller_id, line.today) if caller_id else ()
    )
    directory = StoredDirectory(sessions, today=line.today, law=law)
    context = caller_context(caller_id, matches, unknown=line, directory=directory)
    live = LiveInboundCall(
        sessions,
        journal or Journal(None, actor),
        caller_id=caller_id,
        actor=actor,
        clock=clock,
        lease_seconds=lease_seconds,
        on_attempt=on_attempt,
    )
    try:
        outcome = await run_call(
            plan, context, port, clock=clock, on_action=live.record, steps_off_loop=True
        )
    except BaseException:
        live.abandon()  # what it decided is written or journaled; the reaper settles the rest
        raise
    attempt_id = await live.finish(outcome)
    log.info(
        "inbound call from %s: %s (attempt %s)", caller_id, outcome.disposition.value, attempt_id
    )
    return InboundCall(outcome, attempt_id, live.debtor_ref)


def _on_number(
    sessions: sessionmaker[Session], caller_id: str, today: date
) -> tuple[CallContext, ...]:
    with sessions() as s:
        return caller_contexts(s, caller_id, today=today, law=required_dialog_settings)
