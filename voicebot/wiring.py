"""Composition root: the only place that turns Settings into concrete carriers, speech and stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy.orm import Session, sessionmaker

from voicebot.actions import Transfer
from voicebot.config import Settings
from voicebot.demo.synthetic import SyntheticDebtor
from voicebot.dialog.plan import Dialplan
from voicebot.dialog.prompts import render_prompt
from voicebot.domain.context import CallContext, Debtor
from voicebot.domain.outcome import CallOutcome
from voicebot.domain.pcm import Pcm
from voicebot.engine.audio_port import Transferrer
from voicebot.engine.carrier_runner import CarrierCallRunner
from voicebot.engine.dialer import CallRunner, DialRequest
from voicebot.engine.ivr import InboundAnswering
from voicebot.events import Hangup, TransferCompleted, TransferFailed
from voicebot.recording.service import CallRecordings
from voicebot.recording.store import LocalStore, RecordingStore, S3Store
from voicebot.speech.model_files import ResolvedModel, explicit_model, resolve_model
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings
from voicebot.speech.vosk_asr import RecognizerSettings, VoskSpeechModel
from voicebot.telephony.amd import MachineAction
from voicebot.telephony.carrier import CallLeg, DialFailure
from voicebot.telephony.simulated import (
    DebtorScript,
    HangUp,
    LineConditions,
    Press,
    Silent,
    SimulatedCarrier,
    Speak,
)
from voicebot.telephony.sip import SipCallLeg, SipCarrier, SipSettings
from voicebot.telephony.sip_transfer import to_event, warm_transfer
from voicebot.telephony.text_line import HANGUP
from voicebot.telephony.twilio import TwilioCarrier, TwilioSettings


def recognizer_model(settings: Settings) -> ResolvedModel:
    """Which model files the recognizer will load, found without loading them (fast, for checks).

    Raises ``ModelNotFound`` saying how to get one: a worker checks this before it dials.
    """
    language = settings.speech.language
    if settings.speech.model_path is not None:
        return explicit_model(settings.speech.model_path, language)
    return resolve_model(language, models_dir=settings.speech.models_dir)


def speech_model(settings: Settings) -> VoskSpeechModel:
    """The recognizer model for the configured language; a clear error says how to get one.

    Its pool keeps as many warm recognizers as are prewarmed (4 at least): a worker sized for
    more calls keeps one warm per call instead of handing calls beyond 4 a cold one.
    """
    pool = max(RecognizerSettings().pool_size, settings.speech.prewarm_recognizers)
    return VoskSpeechModel(recognizer_model(settings), RecognizerSettings(pool_size=pool))


def bot_voice(settings: Settings) -> TtsCache:
    """The bot's Spanish voice through the on-disk prompt cache; fails now if espeak-ng cannot speak."""
    engine = EspeakSynthesizer(
        VoiceSettings(
            settings.speech.tts_voice, settings.speech.tts_rate, settings.speech.tts_volume
        )
    )
    engine.check()
    return TtsCache(engine, settings.speech.tts_cache_dir)


def prerender(plan: Dialplan, voice: TtsCache) -> int:
    """Render a dialplan's static prompts before the first call (campaign launch)."""
    for prompt in plan.static_prompts():
        voice.synthesize(prompt.text)
    return len(plan.static_prompts())


def warmed_speech_model(settings: Settings, plan: Dialplan, voice: TtsCache) -> VoskSpeechModel:
    """The model with a pool of recognizers that already decoded speech: no cold first call."""
    model = speech_model(settings)
    count = min(settings.speech.prewarm_recognizers, model.settings.pool_size)
    speech = [voice.synthesize(p.text) for p in plan.static_prompts()[:3]]
    if speech and count > 0:
        model.prewarm(np.concatenate(speech), count=count)
    return model


def debtor_turn(turn: str) -> Speak | Press | Silent | HangUp:
    """The text line's turn notation, spoken on the simulated voice line instead."""
    text = turn.strip()
    if not text:
        return Silent()
    if text == HANGUP:
        return HangUp()
    if text.startswith("#") and text[1:].isdigit():
        return Press(text[1:])
    return Speak(text=text)


def simulated_voice_runner(
    settings: Settings, plan: Dialplan
) -> Callable[[list[SyntheticDebtor], Callable[[], datetime], sessionmaker[Session]], CallRunner]:
    """The demo's runner on the simulated voice line: espeak debtors, the bot's TTS, Vosk."""
    voice = bot_voice(settings)
    prerender(plan, voice)
    model = warmed_speech_model(settings, plan, voice)
    debtor_voice = EspeakSynthesizer(VoiceSettings("es+f3", 150))

    def build(
        debtors: list[SyntheticDebtor],
        clock: Callable[[], datetime],
        sessions: sessionmaker[Session],
    ) -> CallRunner:
        scripts = {
            d.phone: DebtorScript(tuple(debtor_turn(t) for t in d.turns if not t.startswith("<")))
            for d in debtors
        }
        carrier = SimulatedCarrier(scripts, debtor_voice=debtor_voice, start=clock())
        # The demo's calls are recorded like production calls (settings.recordings).
        recordings = call_recordings(settings, sessions, actor="demo-worker")
        return CarrierCallRunner(plan, carrier, model, voice, recordings=recordings)

    return build


def sip_carrier(settings: Settings) -> SipCarrier:
    sip = settings.sip
    if not sip.server or not sip.user:
        raise ValueError("SIP carrier: set VOICEBOT_SIP__SERVER and VOICEBOT_SIP__USER")
    return SipCarrier(
        SipSettings(
            server=sip.server,
            user=sip.user,
            password=sip.password,
            port=sip.port,
            local_ip=sip.local_ip,
            local_port=sip.local_port,
            rtp_port_low=sip.rtp_port_low,
            rtp_port_high=sip.rtp_port_high,
            caller_id=sip.caller_id,
            caller_number=sip.caller_number,
            from_domain=sip.from_domain,
            assert_identity=sip.assert_identity,
            symmetric_rtp=sip.symmetric_rtp,
            rtp_timeout_s=sip.rtp_timeout_seconds,
            codecs=sip.codecs,  # type: ignore[arg-type]  # SipSettings rejects anything but G.711
        )
    )


def recording_store(settings: Settings) -> RecordingStore:
    """The configured store for call recordings (README "Call recordings")."""
    rec = settings.recordings
    if rec.backend == "local":
        return LocalStore(rec.dir)
    if rec.backend == "s3":
        if not rec.s3_bucket:
            raise ValueError("S3 recordings: set VOICEBOT_RECORDINGS__S3_BUCKET")
        return S3Store(rec.s3_bucket, spool=rec.dir, endpoint_url=rec.s3_endpoint_url or None)
    raise ValueError(f"VOICEBOT_RECORDINGS__BACKEND: local or s3, not {rec.backend!r}")


def call_recordings(
    settings: Settings, sessions: sessionmaker[Session], *, actor: str = "recorder"
) -> CallRecordings | None:
    """The recorder a worker's runner uses; None when recordings are switched off."""
    if not settings.recordings.enabled:
        return None
    return CallRecordings(sessions, recording_store(settings), actor=actor)


def sip_runner(
    settings: Settings,
    plan: Dialplan,
    carrier: SipCarrier,
    recordings: CallRecordings | None = None,
) -> CarrierCallRunner:
    """Calls over SIP with warm transfers to ``sip.agent_uri``; no agent configured: transfers fail."""
    voice = bot_voice(settings)
    prerender(plan, voice)
    return CarrierCallRunner(
        plan,
        carrier,
        warmed_speech_model(settings, plan, voice),
        voice,
        caller_id=settings.sip.caller_id,
        ring_timeout_s=settings.dialer.ring_timeout_seconds,
        transferrer_for=sip_transferrer_for(settings, carrier),
        recordings=recordings,
    )


def sip_transferrer_for(
    settings: Settings, carrier: SipCarrier
) -> Callable[[CallLeg], Transferrer | None]:
    """Warm transfers to ``sip.agent_uri``; no agent configured: transfers fail."""
    agent = settings.sip.agent_uri

    def transferrer_for(leg: CallLeg) -> Transferrer | None:
        # A recorded call's leg wraps the SIP leg; the bridge runs through the wrapper, so
        # the agent and the debtor are recorded too.
        if not agent or not isinstance(getattr(leg, "inner", leg), SipCallLeg):
            return None

        async def transfer(request: Transfer) -> TransferCompleted | TransferFailed | Hangup:
            result = await warm_transfer(
                carrier,
                leg,
                agent,
                request.context,
                timeout_s=request.timeout_s,
                desk=carrier.desk,
            )
            return to_event(result, datetime.now(UTC))

        return transfer

    return transferrer_for


async def simulate_voice_call(
    settings: Settings,
    plan: Dialplan,
    context: CallContext,
    turns: list[str],
    *,
    language: str,
    model_path: Path | None = None,
) -> CallOutcome:
    """One call on the simulated voice line: the debtor's turns spoken by espeak-ng, heard by Vosk."""
    resolved = (
        explicit_model(model_path, language)
        if model_path
        else resolve_model(language, models_dir=settings.speech.models_dir)
    )
    model = VoskSpeechModel(resolved)
    voice = bot_voice(settings)
    debtor_voice = EspeakSynthesizer(VoiceSettings("ko" if language == "ko" else "es+f3", 150))
    script = DebtorScript(
        tuple(debtor_turn(t) for t in turns), line=LineConditions(noise_dbfs=-55.0, seed=1)
    )
    answered = datetime.combine(
        context.today, time(10, 0), tzinfo=ZoneInfo(context.debtor.timezone)
    )
    carrier = SimulatedCarrier({"sim": script}, debtor_voice=debtor_voice, start=answered)
    leg = await carrier.dial("sim")
    assert not isinstance(leg, DialFailure)
    runner = CarrierCallRunner(plan, _Dialed(leg), model, voice)
    result = await runner.run(DialRequest(0, "sim", context))
    assert not isinstance(result, DialFailure)
    return result


class _Dialed:
    """A carrier whose one call is already up (the simulated leg dialed above)."""

    def __init__(self, leg: CallLeg) -> None:
        self.leg = leg

    async def dial(
        self, number: str, *, caller_id: str | None = None, ring_timeout_s: float = 30.0
    ) -> CallLeg:
        return self.leg


def twilio_carrier(settings: Settings, plan: Dialplan) -> TwilioCarrier:
    """Twilio with the lawful voicemail message rendered from the dialplan's prompts."""
    tw = settings.twilio
    if not (tw.account_sid and tw.auth_token and tw.from_number and tw.public_base_url):
        raise ValueError(
            "Twilio carrier: set VOICEBOT_TWILIO__ACCOUNT_SID, __AUTH_TOKEN, __FROM_NUMBER and __PUBLIC_BASE_URL"
        )
    voice = bot_voice(settings)
    message = plan.prompts.get("voicemail_message")
    leave_message = MachineAction(tw.on_machine) is MachineAction.LEAVE_MESSAGE

    async def voicemail() -> Pcm:
        assert message is not None
        ctx = CallContext(
            debtor=Debtor(full_name=""),
            today=datetime.now(UTC).date(),
            company=settings.company,
            callback_number=settings.callback_number,
        )
        return voice.synthesize(render_prompt(message, ctx, {}, datetime.now(UTC)))

    if leave_message and message is None:
        raise ValueError(
            "on_machine=leave_message needs a `voicemail_message` prompt in the dialplan's prompts"
        )
    return TwilioCarrier(
        TwilioSettings(
            account_sid=tw.account_sid,
            auth_token=tw.auth_token,
            from_number=tw.from_number,
            public_base_url=tw.public_base_url,
            agent_number=tw.agent_number,
            machine_detection=tw.machine_detection,
            on_machine=MachineAction(tw.on_machine),
        ),
        voicemail=voicemail if leave_message else None,
    )


def twilio_runner(
    settings: Settings,
    plan: Dialplan,
    carrier: TwilioCarrier,
    recordings: CallRecordings | None = None,
) -> CarrierCallRunner:
    voice = bot_voice(settings)
    prerender(plan, voice)
    return CarrierCallRunner(
        plan,
        carrier,
        warmed_speech_model(settings, plan, voice),
        voice,
        ring_timeout_s=settings.dialer.ring_timeout_seconds,
        # Twilio bridges in its own conference, not through the worker: the recording ends there.
        transferrer_for=lambda leg: carrier.transferrer_for(getattr(leg, "inner", leg)),
        recordings=recordings,
    )


def inbound_answering(
    settings: Settings,
    plan: Dialplan,
    sessions: sessionmaker[Session],
    transferrer_for: Callable[[CallLeg], Transferrer | None] = lambda leg: None,
) -> InboundAnswering:
    """The inbound call handler: the inbound dialplan, the bot's voice, a warmed recognizer."""
    voice = bot_voice(settings)
    prerender(plan, voice)
    return InboundAnswering(
        plan,
        warmed_speech_model(settings, plan, voice),
        voice,
        sessions,
        company=settings.company,
        callback_number=settings.callback_number,
        transferrer_for=transferrer_for,
    )
