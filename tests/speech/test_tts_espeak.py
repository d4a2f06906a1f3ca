"""pyttsx3 over espeak-ng renders real speech for the line, with the voice, rate and volume asked."""

from __future__ import annotations

import numpy as np
import pytest

from voicebot.actions import RecognitionHints
from voicebot.audio.vad import VoiceActivityDetector
from voicebot.speech.tts_espeak import EspeakSynthesizer, TtsError, VoiceSettings, render_at
from voicebot.speech.vosk_asr import VoskSpeechModel

GREETING = "Buenos días, ¿hablo con Juan Pérez?"


@pytest.fixture(scope="module")
def bot_voice() -> EspeakSynthesizer:
    return EspeakSynthesizer(VoiceSettings(voice="es-419", rate=165))


def _speech_ms(pcm: np.ndarray) -> int:  # type: ignore[type-arg]
    vad = VoiceActivityDetector(8000)
    return 20 * sum(vad.feed(pcm[i : i + 160]).speech for i in range(0, pcm.size - 159, 160))


def test_spanish_text_becomes_8khz_speech(bot_voice: EspeakSynthesizer) -> None:
    pcm = bot_voice.synthesize(GREETING)
    assert pcm.dtype == np.int16
    assert 1.2 < pcm.size / 8000 < 4.0
    assert _speech_ms(pcm) > 1000
    # Trimmed: the first 100 ms already carry speech, no engine lead-in silence.
    assert np.max(np.abs(pcm[:800])) > 1000


def test_longer_text_takes_longer(bot_voice: EspeakSynthesizer) -> None:
    short = bot_voice.synthesize("Hola")
    long = bot_voice.synthesize(
        "Hola, le llamamos de parte de la financiera por un saldo pendiente."
    )
    assert long.size > 3 * short.size


def test_rate_volume_and_voice_change_the_audio(bot_voice: EspeakSynthesizer) -> None:
    normal = bot_voice.synthesize(GREETING)
    fast = EspeakSynthesizer(VoiceSettings(rate=300)).synthesize(GREETING)
    quiet = EspeakSynthesizer(VoiceSettings(volume=0.3)).synthesize(GREETING)
    other = EspeakSynthesizer(VoiceSettings(voice="es-419+f3")).synthesize(GREETING)
    assert fast.size < 0.7 * normal.size
    assert np.abs(quiet).max() < 0.5 * np.abs(normal).max()
    assert not np.array_equal(other, normal)
    # Settings are per synthesizer, not left behind in the process-wide engine.
    # (espeak's library mode carries a little state between utterances, so two
    # renders of one text differ by a few ms; the binary is bit-exact, the library is not.)
    assert abs(bot_voice.synthesize(GREETING).size - normal.size) < 0.03 * normal.size


def test_rendering_prints_nothing(
    bot_voice: EspeakSynthesizer, capfd: pytest.CaptureFixture[str]
) -> None:
    bot_voice.synthesize("Gracias")
    assert capfd.readouterr().out == ""


def test_check_renders_a_test_phrase(bot_voice: EspeakSynthesizer) -> None:
    assert 0.3 < bot_voice.check() < 3.0


def test_bad_settings_are_clear_errors() -> None:
    with pytest.raises(TtsError, match=r"unknown espeak-ng voice 'klingon'.*es-419"):
        EspeakSynthesizer(VoiceSettings(voice="klingon"))
    with pytest.raises(ValueError, match="rate"):
        VoiceSettings(rate=5)
    with pytest.raises(ValueError, match="volume"):
        VoiceSettings(volume=2.0)


def test_empty_text_is_refused(bot_voice: EspeakSynthesizer) -> None:
    with pytest.raises(ValueError, match="empty"):
        bot_voice.synthesize("   ")


def test_other_sample_rates_for_files(bot_voice: EspeakSynthesizer) -> None:
    line = bot_voice.synthesize("Gracias")
    wide = render_at(bot_voice, "Gracias", 16000)
    assert abs(wide.size - 2 * line.size) <= 2


@pytest.mark.slow
def test_the_rendered_speech_is_intelligible_to_a_real_recognizer(
    ko_model: VoskSpeechModel,
) -> None:
    """Spanish has no local model here; Korean speech through the same engine proves real words come out."""
    korean = EspeakSynthesizer(VoiceSettings(voice="ko", rate=150))
    hints = RecognitionHints(keywords=(("네", "affirm"), ("아니요", "deny")), expect=("yes_no",))
    padding = np.zeros(2000, np.int16)
    for said, intent in (("네", "affirm"), ("아니요", "deny")):
        pcm = np.concatenate([padding, korean.synthesize(said), padding, padding])
        assert ko_model.recognize(pcm, hints).intent == intent


def test_long_prompts_are_rendered_to_the_end(bot_voice: EspeakSynthesizer) -> None:
    """pyttsx3's runAndWait returns before espeak finishes texts over ~8 s; none may come back cut."""
    text = (
        "Le informamos que su tarjeta de crédito del Banco Andino presenta un saldo vencido de un "
        "millón doscientos mil pesos, con cuarenta y cinco días de mora. Podemos ofrecerle un plan "
        "de pagos de hasta seis cuotas mensuales. ¿Desea conocer las opciones disponibles?"
    )
    sizes = [bot_voice.synthesize(text).size / 8000 for _ in range(3)]
    assert min(sizes) > 12.0
    assert max(sizes) - min(sizes) < 0.3
    # The end of the text is there: the last sentence alone fits in the tail.
    last = bot_voice.synthesize("¿Desea conocer las opciones disponibles?").size / 8000
    assert sizes[0] > last + 8.0


def test_alternating_settings_each_apply(bot_voice: EspeakSynthesizer) -> None:
    """espeak-ng queues parameter changes; every render must still use its own rate."""
    fast = EspeakSynthesizer(VoiceSettings(rate=300))
    slow = EspeakSynthesizer(VoiceSettings(rate=100))
    for _ in range(3):
        sizes = [s.synthesize(GREETING).size for s in (fast, bot_voice, slow)]
        assert sizes[0] < 0.75 * sizes[1] < 0.75 * sizes[2], sizes


def test_renders_from_many_threads_are_all_speech() -> None:
    """Calls render from worker threads at once; each gets its own complete audio."""
    from concurrent.futures import ThreadPoolExecutor

    es = EspeakSynthesizer(VoiceSettings("es-419", 175))
    ko = EspeakSynthesizer(VoiceSettings("ko", 150))
    texts = [f"Gracias, Carlos. Su referencia de pago es la {n}." for n in range(8)]
    with ThreadPoolExecutor(4) as pool:
        spanish = list(pool.map(es.synthesize, texts))
        korean = list(pool.map(ko.synthesize, ["네"] * 4))
    assert all(_speech_ms(p) > 1500 for p in spanish)
    assert all(0.1 < p.size / 8000 < 1.0 for p in korean)


def test_a_render_never_cancels_espeak_when_the_previous_one_winds_down(
    bot_voice: EspeakSynthesizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pyttsx3 stops its driver when runAndWait ends the loop, before the new utterance starts.
    If espeak still reports the previous utterance as playing then (seen in parallel processes),
    the driver called espeak's Cancel, which raced with the new utterance: a header-only WAV,
    "only silence", about one render in 300. Renders run to their end; nothing may cancel."""
    from pyttsx3.drivers import _espeak

    cancels: list[bool] = []
    real_cancel = _espeak.Cancel

    def cancel() -> object:
        cancels.append(True)
        return real_cancel()

    bot_voice.synthesize("Buenos días.")  # the previous utterance
    monkeypatch.setattr(_espeak, "IsPlaying", lambda: True)
    monkeypatch.setattr(_espeak, "Cancel", cancel)
    for n in range(3):
        assert _speech_ms(bot_voice.synthesize(f"Su número de cuenta termina en {n}.")) > 800
    assert cancels == []
