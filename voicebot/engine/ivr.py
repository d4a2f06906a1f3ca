"""The inbound listener's call handler: each answered call → audio port → inbound dialog → store.

Carriers that answer (``Answerer``) hand every call to ``InboundAnswering.handle`` in its own
task, so one process serves several inbound calls at once on one event loop, as the dialer
does outbound.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from voicebot.dialog.plan import Dialplan
from voicebot.domain.context import CallContext, Debtor
from voicebot.engine.audio_port import AudioDialogPort, Transferrer
from voicebot.engine.call_loop import Clock, utc_now
from voicebot.engine.inbound import InboundCall, answer_inbound
from voicebot.speech.synthesizer import Synthesizer
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.telephony.carrier import CallLeg, IncomingCall

log = logging.getLogger(__name__)


class InboundAnswering:
    def __init__(
        self,
        plan: Dialplan,
        speech: VoskSpeechModel,
        synthesizer: Synthesizer,
        sessions: sessionmaker[Session],
        *,
        company: str,
        callback_number: str,
        timezone: str = "America/Bogota",
        clock: Clock = utc_now,
        transferrer_for: Callable[[CallLeg], Transferrer | None] = lambda leg: None,
    ) -> None:
        self.plan = plan
        self.speech = speech
        self.synthesizer = synthesizer
        self.sessions = sessions
        self.company = company
        self.callback_number = callback_number
        self.timezone = timezone
        self.clock = clock
        self.transferrer_for = transferrer_for
        self.served: list[InboundCall] = []

    def line_context(self, now: datetime) -> CallContext:
        """What an anonymous call starts with: the line's company, number and local date."""
        today = now.astimezone(ZoneInfo(self.timezone)).date()
        return CallContext(
            debtor=Debtor(full_name="", timezone=self.timezone),
            today=today,
            company=self.company,
            callback_number=self.callback_number,
        )

    async def handle(self, call: IncomingCall) -> None:
        """Serve one answered call; a failure is logged and the line hung up, never raised."""
        recognizer = self.speech.new_call()
        try:
            port = AudioDialogPort(
                call.leg,
                recognizer,
                self.synthesizer,
                clock=self.clock,
                transferrer=self.transferrer_for(call.leg),
            )
            served = await answer_inbound(
                self.plan,
                port,
                caller=call.caller_id,
                sessions=self.sessions,
                line=self.line_context(self.clock()),
                clock=self.clock,
                actor=f"ivr:{call.called or 'line'}",
            )
            self.served.append(served)
        except Exception:
            log.exception("inbound call %s from %s failed", call.leg.call_id, call.caller_id)
            await call.leg.hangup()
        finally:
            recognizer.close()
