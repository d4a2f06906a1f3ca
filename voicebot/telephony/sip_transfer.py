"""Warm transfer: ring an agent, hand over the context, then bridge debtor and agent.

Works over any ``Carrier``/``CallLeg`` (SIP in production, the simulated line in
tests elsewhere). The dialog has already told the debtor; here we (1) publish the
``TransferContext`` on the ``AgentDesk`` the moment the agent's phone rings, so
the screen pop arrives *before* the voices are connected, (2) optionally whisper
a short spoken summary to the agent only, (3) relay audio both ways until either
side hangs up. No agent within the timeout, or the debtor hanging up while the
agent rings, is a failure the dialog turns into "we will call you back".
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

import numpy as np

from voicebot.actions import TransferContext
from voicebot.domain.pcm import LINE_RATE, Pcm
from voicebot.events import Hangup, TransferCompleted, TransferFailed
from voicebot.telephony.carrier import AudioIn, CallLeg, Carrier, DialFailure, DigitIn, FarEndHangup

_BRIDGE_CUSHION_S = 0.08

HandoffState = Literal["ringing", "connected", "ended", "failed"]


@dataclass(frozen=True, slots=True)
class Handoff:
    """What the agent desk shows for one transfer (a record, not a live object)."""

    debtor_call_id: str
    agent: str
    context: TransferContext
    state: HandoffState
    offered_at: datetime
    connected_at: datetime | None = None
    ended_at: datetime | None = None
    failure: str = ""


class AgentDesk:
    """Every transfer's context, readable by the agent desk / API from any thread."""

    def __init__(self) -> None:
        self._handoffs: dict[str, Handoff] = {}
        self._subscribers: list[Callable[[Handoff], None]] = []
        self._lock = threading.Lock()

    def subscribe(self, on_handoff: Callable[[Handoff], None]) -> None:
        """Be told of every change as it happens (e.g. to push a screen pop to the agent)."""
        with self._lock:
            self._subscribers.append(on_handoff)

    def publish(self, handoff: Handoff) -> None:
        with self._lock:
            self._handoffs[handoff.debtor_call_id] = handoff
            subscribers = list(self._subscribers)
        for notify in subscribers:
            notify(handoff)

    def get(self, debtor_call_id: str) -> Handoff | None:
        with self._lock:
            return self._handoffs.get(debtor_call_id)

    def for_agent(self, agent: str) -> list[Handoff]:
        with self._lock:
            return [h for h in self._handoffs.values() if h.agent == agent]


@dataclass(frozen=True, slots=True)
class TransferOutcome:
    """How the transfer ended; ``connected`` False means the debtor is still with the bot."""

    connected: bool
    agent: str
    failure: DialFailure | None = None
    reason: str = ""
    bridged_s: float = 0.0
    ended_by: Literal["debtor", "agent", ""] = ""
    frames_to_agent: int = 0
    frames_to_debtor: int = 0


@dataclass
class _Bridge:
    frames: dict[str, int] = field(default_factory=lambda: {"agent": 0, "debtor": 0})


async def warm_transfer(
    carrier: Carrier,
    debtor: CallLeg,
    agent: str,
    context: TransferContext,
    *,
    timeout_s: float,
    desk: AgentDesk,
    whisper: Pcm | None = None,
) -> TransferOutcome:
    """Connect ``debtor`` to ``agent`` with context first; returns when the bridge ends."""
    now = datetime.now(UTC)
    handoff = Handoff(debtor.call_id, agent, context, "ringing", offered_at=now)
    desk.publish(handoff)

    dial = asyncio.create_task(carrier.dial(agent, ring_timeout_s=timeout_s))
    debtor_gone = asyncio.create_task(_wait_for_hangup(debtor))
    await asyncio.wait({dial, debtor_gone}, return_when=asyncio.FIRST_COMPLETED)
    if debtor_gone.done():
        dial.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            leg = await dial
            if not isinstance(leg, DialFailure):
                await leg.hangup()
        desk.publish(_ended(handoff, "failed", "debtor hung up while the agent rang"))
        return TransferOutcome(False, agent, reason="debtor_hung_up")
    debtor_gone.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await debtor_gone
    result = dial.result()
    if isinstance(result, DialFailure):
        desk.publish(_ended(handoff, "failed", result.reason or str(result.status)))
        return TransferOutcome(False, agent, failure=result, reason="no_agent_available")

    agent_leg = result
    if whisper is not None and len(whisper):
        await agent_leg.send_audio(whisper)
        await asyncio.sleep(len(whisper) / LINE_RATE)
    handoff = replace(handoff, state="connected", connected_at=datetime.now(UTC))
    desk.publish(handoff)
    started = time.monotonic()
    bridge = _Bridge()
    # What each side said before the bridge (the agent during the whisper) is stale now.
    ended_by: Literal["debtor", "agent"]
    if await _drain(debtor):
        ended_by = "debtor"
    elif await _drain(agent_leg):
        ended_by = "agent"
    else:
        # Prime each side's playout with a little silence: the bridge has no jitter buffer
        # of its own, so a frame relayed 20-60 ms late would otherwise become a gap.
        cushion = np.zeros(int(_BRIDGE_CUSHION_S * LINE_RATE), dtype=np.int16)
        await agent_leg.send_audio(cushion)
        await debtor.send_audio(cushion)
        to_agent = asyncio.create_task(_relay(debtor, agent_leg, bridge, "agent"))
        to_debtor = asyncio.create_task(_relay(agent_leg, debtor, bridge, "debtor"))
        done, pending = await asyncio.wait(
            {to_agent, to_debtor}, return_when=asyncio.FIRST_COMPLETED
        )
        ended_by = "debtor" if to_agent in done else "agent"
        for task in pending:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    await (agent_leg if ended_by == "debtor" else debtor).hangup()
    desk.publish(_ended(handoff, "ended", ""))
    return TransferOutcome(
        True,
        agent,
        bridged_s=time.monotonic() - started,
        ended_by=ended_by,
        frames_to_agent=bridge.frames["agent"],
        frames_to_debtor=bridge.frames["debtor"],
    )


def to_event(outcome: TransferOutcome, at: datetime) -> TransferCompleted | TransferFailed | Hangup:
    """The dialog's view of a transfer: done, failed (tell the debtor), or the debtor left."""
    if outcome.connected:
        return TransferCompleted(at=at, agent=outcome.agent)
    if outcome.reason == "debtor_hung_up":
        return Hangup(at=at)
    return TransferFailed(at=at, reason=outcome.reason or "no_agent_available")


def _ended(handoff: Handoff, state: HandoffState, failure: str) -> Handoff:
    return replace(handoff, state=state, ended_at=datetime.now(UTC), failure=failure)


async def _wait_for_hangup(leg: CallLeg) -> None:
    """Hold the debtor while the agent rings: their audio is not needed, their hangup is."""
    while not isinstance(await leg.receive(), FarEndHangup):
        pass


async def _drain(leg: CallLeg) -> bool:
    """Drop audio already received; True if the leg hung up meanwhile."""
    while True:
        try:
            item = await asyncio.wait_for(leg.receive(), timeout=0.001)
        except TimeoutError:
            return False
        if isinstance(item, FarEndHangup):
            return True


async def _relay(source: CallLeg, sink: CallLeg, bridge: _Bridge, to: str) -> None:
    """Copy one direction until the source hangs up. Keys are not forwarded (no DTMF out)."""
    while True:
        item = await source.receive()
        match item:
            case AudioIn(frame=frame):
                await sink.send_audio(frame)
                bridge.frames[to] += 1
            case DigitIn():
                continue
            case FarEndHangup():
                return
