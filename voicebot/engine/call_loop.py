"""The one async loop per call: feed the dialog's actions to a port, its events back.

Whatever the line (text, simulated audio, SIP, Twilio), a call ends with an
outcome: if the line fails mid-call the dialog is told the far end hung up, so
everything already decided (a promise, an opt-out) is still in the outcome.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from voicebot.actions import Action, EndCall, Listen, Say, Transfer
from voicebot.dialog.machine import CallState, start, step
from voicebot.dialog.plan import Dialplan
from voicebot.domain.context import CallContext
from voicebot.domain.outcome import CallOutcome
from voicebot.engine.port import DialogPort
from voicebot.events import Event, Hangup

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
ActionSink = Callable[[Action], Awaitable[None]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class DialogStalled(RuntimeError):
    """The dialog returned actions with nothing to wait for and no end."""


async def run_call(
    plan: Dialplan,
    context: CallContext,
    port: DialogPort,
    *,
    clock: Clock = utc_now,
    on_action: ActionSink | None = None,
    steps_off_loop: bool = False,
) -> CallOutcome:
    """Run one answered call to its outcome.

    ``on_action`` sees every action as it is decided (record actions included),
    so a caller can persist an opt-out or a promise before the call ends.
    ``steps_off_loop``: the dialog's steps run in a worker thread, for a context whose
    directory looks debtors up in a database (an inbound caller typing their document):
    the other calls on this event loop keep their audio flowing meanwhile.
    """
    state, actions = start(plan, context, clock())
    while True:
        event, outcome = await _perform(port, actions, on_action)
        if outcome is not None:
            return outcome
        if event is None:
            raise DialogStalled(f"state {state.node!r} produced no listen, transfer or end")
        if steps_off_loop:
            state, actions = await asyncio.to_thread(step, plan, state, event)
        else:
            state, actions = step(plan, state, event)
        if isinstance(event, Hangup):
            # The far end is gone: report what the dialog settled, say nothing more.
            return _outcome_of(actions, state)


async def _perform(
    port: DialogPort, actions: list[Action], on_action: ActionSink | None
) -> tuple[Event | None, CallOutcome | None]:
    event: Event | None = None
    for action in actions:
        if on_action is not None:
            await on_action(action)
        match action:
            case Say():
                await port.say(action)
            case Listen():
                event = await port.listen(action)
                if isinstance(event, Hangup):
                    return event, None
            case Transfer():
                event = await port.transfer(action)
            case EndCall(outcome=outcome):
                await port.hangup()
                return None, outcome
            case _:
                pass  # record actions: persisted through on_action
    return event, None


def _outcome_of(actions: list[Action], state: CallState) -> CallOutcome:
    for action in actions:
        if isinstance(action, EndCall):
            return action.outcome
    assert state.outcome is not None
    return state.outcome
