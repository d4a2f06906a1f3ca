"""A CallRunner on the simulated line's text channel: scripted debtors, the real dialog.

Used by the demo campaign and by dialer tests. Numbers not in the script are
unreachable (FAIL 404), numbers scripted as a failure give that failure (NA, BUSY).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime

from voicebot.dialog.plan import Dialplan
from voicebot.domain.outcome import Disposition
from voicebot.engine.call_loop import run_call
from voicebot.engine.dialer import CallResult, Clock, DialRequest
from voicebot.telephony.carrier import DialFailure
from voicebot.telephony.text_line import SimulatedClock, TextLine


class ScriptedTextRunner:
    def __init__(
        self,
        plan: Dialplan,
        scripts: Mapping[str, tuple[str, ...] | DialFailure],
        *,
        clock: Clock,
        call_delay_s: float = 0.0,
    ) -> None:
        self.plan = plan
        self.scripts = scripts
        self.clock = clock
        self.call_delay_s = call_delay_s  # wall time a call holds the line (for race tests)
        self.calls: list[tuple[str, datetime]] = []

    async def run(self, request: DialRequest) -> CallResult:
        script = self.scripts.get(request.phone)
        if script is None:
            return DialFailure(Disposition.FAIL, 404, "not in the simulation")
        if isinstance(script, DialFailure):
            return script
        started = (request.clock or self.clock)()
        self.calls.append((request.phone, started))
        if self.call_delay_s:
            await asyncio.sleep(self.call_delay_s)
        line_clock = SimulatedClock(started)
        line = TextLine.scripted(script, clock=line_clock)
        return await run_call(
            self.plan, request.context, line, clock=line_clock, on_action=request.on_action
        )
