"""Composition root: the only place that turns Settings into concrete carriers, speech and stores."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from voicebot.campaigns.synthetic import SyntheticDebtor
from voicebot.config import Settings
from voicebot.dialog.plan import Dialplan
from voicebot.engine.carrier_runner import CarrierCallRunner
from voicebot.engine.dialer import CallRunner
from voicebot.speech.models import explicit_model, resolve_model
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.telephony.simulated import (
    DebtorScript,
    HangUp,
    Press,
    Silent,
    SimulatedCarrier,
    Speak,
)
from voicebot.telephony.text_line import HANGUP


def speech_model(settings: Settings) -> VoskSpeechModel:
    """The recognizer model for the configured language; a clear error says how to get one."""
    language = settings.speech.language
    if settings.speech.model_path is not None:
        return VoskSpeechModel(explicit_model(settings.speech.model_path, language))
    return VoskSpeechModel(resolve_model(language, models_dir=settings.speech.models_dir))


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
) -> Callable[[list[SyntheticDebtor], Callable[[], datetime]], CallRunner]:
    """The demo's runner on the simulated voice line: espeak debtors, the bot's TTS, Vosk."""
    model = speech_model(settings)
    voice = bot_voice(settings)
    prerender(plan, voice)
    debtor_voice = EspeakSynthesizer(VoiceSettings("es+f3", 150))

    def build(debtors: list[SyntheticDebtor], clock: Callable[[], datetime]) -> CallRunner:
        scripts = {
            d.phone: DebtorScript(tuple(debtor_turn(t) for t in d.turns if not t.startswith("<")))
            for d in debtors
        }
        carrier = SimulatedCarrier(scripts, debtor_voice=debtor_voice, start=clock())
        return CarrierCallRunner(plan, carrier, model, voice)

    return build
