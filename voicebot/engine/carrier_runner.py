"""A CallRunner over any audio carrier: dial, then TTS → line → ASR → dialog until the outcome.

The same runner drives the simulated voice line, SIP and Twilio: the call engine
never knows which carrier it is talking to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from voicebot.actions import Say
from voicebot.dialog.plan import Dialplan
from voicebot.engine.audio_port import AudioDialogPort, Transferrer
from voicebot.engine.call_loop import run_call, utc_now
from voicebot.engine.call_prompts import prompts_known_at_claim
from voicebot.engine.dialer import CallResult, DialRequest
from voicebot.recording.notice import NOTICE_PROMPT, notice_text
from voicebot.recording.service import ActiveRecording, CallRecordings
from voicebot.speech.synthesizer import Synthesizer
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.telephony.amd import late_verdict_disposition
from voicebot.telephony.carrier import CallLeg, Carrier, DialFailure

log = logging.getLogger(__name__)


class CarrierCallRunner:
    def __init__(
        self,
        plan: Dialplan,
        carrier: Carrier,
        speech: VoskSpeechModel,
        synthesizer: Synthesizer,
        *,
        caller_id: str | None = None,
        ring_timeout_s: float = 30.0,
        transferrer_for: Callable[[CallLeg], Transferrer | None] = lambda leg: None,
        recordings: CallRecordings | None = None,
        observe_port: Callable[[AudioDialogPort], None] = lambda port: None,
    ) -> None:
        self.plan = plan
        self.carrier = carrier
        self.speech = speech
        self.synthesizer = synthesizer
        self.caller_id = caller_id
        self.ring_timeout_s = ring_timeout_s
        self.transferrer_for = transferrer_for
        self.recordings = recordings  # None: calls are not recorded (text and unit runs)
        self.observe_port = observe_port  # sees each call's port (its turn timings): benches

    async def run(self, request: DialRequest) -> CallResult:
        await self.render_known_prompts(request)
        leg = await self.carrier.dial(
            request.phone, caller_id=self.caller_id, ring_timeout_s=self.ring_timeout_s
        )
        if isinstance(leg, DialFailure):
            return leg
        # A simulated line keeps its own time; a real line runs on the dialer's clock.
        line_clock: Callable[[], datetime] = getattr(leg, "clock", None) or request.clock or utc_now
        line = leg  # the carrier's own leg: it says why the line ended (the recording wraps it)
        recording: ActiveRecording | None = None
        if self.recordings is not None and request.attempt_id:
            # From answer on, both directions go through the recording leg (bridge included).
            try:
                recording = self.recordings.start(request.attempt_id, leg, line_clock())
            except Exception:
                # The debtor is already on the line: the call goes on, unrecorded and logged
                # (a failure here must not drop the call nor lose its outcome).
                log.exception("recording of attempt %s could not start", request.attempt_id)
            else:
                leg = recording.leg
        recognizer = self.speech.new_call()
        outcome = None
        try:
            port = AudioDialogPort(
                leg,
                recognizer,
                self.synthesizer,
                clock=line_clock,
                transferrer=self.transferrer_for(leg),
            )
            self.observe_port(port)
            if recording is not None and recording.policy.notice:
                # Before anything that matters is said; heard to the end (no barge-in).
                text = notice_text(request.context.company)
                await port.say(Say(NOTICE_PROMPT, text, barge_in=False))
            outcome = await run_call(
                self.plan, request.context, port, clock=line_clock, on_action=request.on_action
            )
            # A line that died without BYE (no RTP, session expired) ends as DROP; say why.
            reason = getattr(line, "end_reason", "")
            if reason:
                log.warning("call %s ended by the line: %s", line.call_id, reason)
                outcome = replace(outcome, line_reason=reason)
            late = late_verdict_disposition(getattr(line, "late_verdict", ""))
            if late is not None and not outcome.right_party_contacted:
                outcome = replace(outcome, disposition=late)
            return outcome
        finally:
            recognizer.close()
            if recording is not None and self.recordings is not None:
                transcript = outcome.transcript if outcome is not None else ()
                try:
                    await self.recordings.finish(recording, transcript, line_clock())
                except Exception:
                    # The outcome matters more than its recording: the row stays
                    # "recording" and `voicebot recordings recover` settles it later.
                    log.exception("recording of attempt %s not stored", request.attempt_id)

    async def render_known_prompts(self, request: DialRequest) -> None:
        """Render this debtor's prompts into the cache before the dial, off the event loop.

        The debtor is not on the line yet, so the renders cost nobody a wait; a render that
        fails here is logged and tried again when the dialog says the prompt.
        """
        if not isinstance(self.synthesizer, TtsCache):
            return  # nothing would keep the audio until the dialog says it
        at = (request.clock or utc_now)()
        texts = prompts_known_at_claim(self.plan, request.context, at)
        synthesize = self.synthesizer.synthesize

        def render_all() -> None:
            for text in texts:
                try:
                    synthesize(text)
                except Exception:
                    log.warning("prompt not rendered before the dial: %r", text, exc_info=True)

        await asyncio.to_thread(render_all)
