"""The agents' queue through the API: a caller who asks for a person waits in the same line.

Ana calls the callback number and asks for an agent; while the bot tries to reach one, the
agents' ``GET /transfers`` shows her call behind the outbound transfer already waiting, with
each one's place and wait. Once taken, a transfer leaves the line and keeps how long it waited.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from api_world import TODAY, World

from voicebot.actions import Listen, Say, Transfer
from voicebot.data import INBOUND_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.context import CallContext, Debtor
from voicebot.engine.inbound import answer_inbound
from voicebot.events import Dtmf, Hangup, NoInput, TransferCompleted, TransferFailed, Utterance
from voicebot.telephony.text_line import HANGUP, SimulatedClock, TextLine

ANA = "+573101234567"  # C1 of the API world's portfolio


class WatchedLine:
    """Ana's side of the call; when the bot starts the transfer, an agent looks at the queue."""

    def __init__(self, world: World) -> None:
        self.clock = SimulatedClock(datetime.now(UTC))
        self.inner = TextLine.scripted(["sí", "#1234", "#2", HANGUP], clock=self.clock)
        self.world = world
        self.seen: list[dict[str, Any]] = []

    async def say(self, say: Say) -> None:
        await self.inner.say(say)

    async def listen(self, listen: Listen) -> Utterance | Dtmf | NoInput | Hangup:
        return await self.inner.listen(listen)

    async def transfer(self, transfer: Transfer) -> TransferCompleted | TransferFailed | Hangup:
        queue = self.world.client.get("/transfers", headers=self.world.auth("agent"))
        assert queue.status_code == 200, queue.text
        self.seen.append(queue.json())
        return await self.inner.transfer(transfer)

    async def hangup(self) -> None:
        await self.inner.hangup()


def test_an_inbound_caller_waits_in_the_agents_queue_with_place_and_wait(world: World) -> None:
    line = WatchedLine(world)
    call = asyncio.run(
        answer_inbound(
            load_dialplan(INBOUND_DIALPLAN),
            line,
            caller=ANA,
            sessions=world.sessions,
            line=CallContext(debtor=Debtor(full_name=""), today=TODAY, company="GIC"),
            clock=line.clock,
            actor="ivr-test",
        )
    )
    assert call.attempt_id is not None and call.outcome.transfer_reason
    (queue,) = line.seen
    waiting = queue["items"]
    assert [t["queue_position"] for t in waiting] == [1, 2]
    older, ana = waiting
    assert (ana["attempt_id"], ana["debtor_id"]) == (call.attempt_id, world.debtors["C1"])
    assert older["id"] == world.transfer_id
    assert older["wait_seconds"] >= ana["wait_seconds"] >= 0

    # The caller hung up: her transfer is over, the outbound one is first in line now.
    agent = world.auth("agent")
    after = world.client.get("/transfers", headers=agent).json()["items"]
    assert [(t["id"], t["queue_position"]) for t in after] == [(world.transfer_id, 1)]
    failed = world.client.get(
        "/transfers", params={"status": "failed"}, headers=world.auth("manager")
    )
    (gone,) = failed.json()["items"]
    assert (gone["attempt_id"], gone["queue_position"], gone["wait_seconds"]) == (
        call.attempt_id,
        None,
        None,
    )

    taken = world.client.post(f"/transfers/{world.transfer_id}/accept", headers=agent).json()
    assert taken["transfer"]["queue_position"] is None
    assert taken["transfer"]["wait_seconds"] >= older["wait_seconds"]
