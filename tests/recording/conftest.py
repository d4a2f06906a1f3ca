"""Audio-port fixtures: the real Korean Vosk model, espeak-ng voices for bot and debtor, the simulated line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from voicebot.speech.model_files import resolve_model
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings
from voicebot.speech.vosk_asr import VoskSpeechModel


@pytest.fixture(scope="session")
def ko_model() -> Iterator[VoskSpeechModel]:
    """Korean is the model installed here; the dialplan's keyword hints carry Korean answers."""
    yield VoskSpeechModel(resolve_model("ko", env={}))


@pytest.fixture(scope="session")
def bot_voice(tmp_path_factory: pytest.TempPathFactory) -> TtsCache:
    """The bot: Latin-American Spanish, cached like in production."""
    return TtsCache(EspeakSynthesizer(VoiceSettings("es-419", 175)), tmp_path_factory.mktemp("tts"))


@pytest.fixture(scope="session")
def korean_debtor() -> EspeakSynthesizer:
    """The debtor: another engine voice (Korean, slower) so bot and debtor never sound alike."""
    return EspeakSynthesizer(VoiceSettings("ko", 150))


@pytest.fixture(scope="session")
def sounds() -> Path:
    path = Path("/usr/share/asterisk/sounds/es_MX_f_Allison")
    if not path.is_dir():
        pytest.skip("apt-get install asterisk-core-sounds-es-wav")
    return path
