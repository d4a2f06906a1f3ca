"""The inbound listener's call handler: each answered call → audio port → inbound dialog → store.

Carriers that answer (``Answerer``) hand every call to ``InboundAnswering.handle`` in its own
task, so one process serves several inbound calls at once on one event loop, as the dialer
does outbound.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from voicebot.actions import Say
from voicebot.dialog.plan import Dialplan
from voicebot.domain.context import CallContext, Debtor
from voicebot.engine.audio_port import AudioDialogPort, Transferrer
from voicebot.engine.call_loop import Clock, utc_now
from voicebot.engine.db_health import DATABASE_DOWN
from voicebot.engine.dialer import default_worker_id
from voicebot.engine.inbound import InboundCall, answer_inbound
from voicebot.engine.inbound_live import recover_inbound
from voicebot.engine.journal import Journal
from voicebot.recording.notice import NOTICE_PROMPT, notice_text
from voicebot.recording.service import CallRecordings, PendingRecording
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
        journal_dir: Path | None = None,
        worker_id: str | None = None,
        lease_seconds: float = 15,
        recordings: CallRecordings | None = None,
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
        # One lease holder and one fsynced journal per process, as a dialing worker has.
        self.journal = Journal(journal_dir, worker_id or f"ivr:{default_worker_id()}")
        self.lease_seconds = lease_seconds
        self.recordings = recordings  # None: inbound calls are not recorded
        self._recovered_at: datetime | None = None
        self.recover()

    def recover(self) -> int:
        """Settle what dead workers left (journals, calls cut mid-way); at most once a lease.

        Runs at start and as calls come in; a database that is down now is tried again later.
        """
        now = self.clock()
        if self._recovered_at is not None and now - self._recovered_at < timedelta(
            seconds=self.lease_seconds
        ):
            return 0
        try:
            replayed = recover_inbound(
                self.sessions, self.journal, now=now, lease_seconds=self.lease_seconds
            )
        except DATABASE_DOWN as exc:
            log.warning("recovery postponed, database down: %s", exc)
            return 0
        self._recovered_at = now
        return replayed

    def close(self) -> None:
        """The listener stops: its journal is released (kept on disk if anything is unsaved)."""
        self.journal.close()

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
        self.recover()
        recording = self._begin_recording(call)
        leg = recording.leg if recording is not None else call.leg
        recognizer = self.speech.new_call()
        served: InboundCall | None = None
        try:
            port = AudioDialogPort(
                leg,
                recognizer,
                self.synthesizer,
                clock=self.clock,
                transferrer=self.transferrer_for(leg),
            )
            if recording is not None:
                # Every caller hears it, first: who they are (and so which law applies) is not
                # known yet, and nothing that matters is said before it. Heard to the end.
                text = notice_text(self.company)
                await port.say(Say(NOTICE_PROMPT, text, barge_in=False))
            served = await answer_inbound(
                self.plan,
                port,
                caller=call.caller_id,
                sessions=self.sessions,
                line=self.line_context(self.clock()),
                clock=self.clock,
                actor=f"ivr:{call.called or 'line'}",
                journal=self.journal,
                lease_seconds=self.lease_seconds,
                on_attempt=self._attach(recording),
            )
            self.served.append(served)
        except Exception:
            log.exception("inbound call %s from %s failed", call.leg.call_id, call.caller_id)
            await call.leg.hangup()
        finally:
            recognizer.close()
            await self._finish_recording(recording, served)

    def _begin_recording(self, call: IncomingCall) -> PendingRecording | None:
        if self.recordings is None:
            return None
        try:
            return self.recordings.begin_inbound(call.leg, self.clock())
        except Exception:
            # The caller is on the line: the call goes on, unrecorded and logged.
            log.exception("recording of inbound call %s could not start", call.leg.call_id)
            return None

    def _attach(self, recording: PendingRecording | None) -> Callable[[int], None]:
        def attach(attempt_id: int) -> None:
            if recording is not None and self.recordings is not None:
                self.recordings.attach_inbound(recording, attempt_id)

        return attach

    async def _finish_recording(
        self, recording: PendingRecording | None, served: InboundCall | None
    ) -> None:
        if recording is None or self.recordings is None:
            return
        transcript = served.outcome.transcript if served is not None else ()
        try:
            await self.recordings.finish_inbound(recording, transcript, self.clock())
        except Exception:
            # As on a dial: the row stays "recording", `voicebot recordings recover` settles it.
            log.exception("recording %s not stored", recording.key)
