"""The real Korean Vosk model on espeak-ng Korean speech at 8 kHz.

espeak's Korean is robotic: free recognition gets little of it right, which is
exactly why keyword grammars matter. Assertions stick to what measured robust
across espeak speeds and pitches (see bench/bench_asr.py): 네/아니요/아니오 in a
yes/no grammar, and rejection of off-grammar speech and noise.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from voicebot.actions import RecognitionHints
from voicebot.audio.codec import pcm_to_ulaw, ulaw_to_pcm
from voicebot.domain.pcm import FRAME_SAMPLES, Pcm
from voicebot.speech.recognizer import CallRecognizer, Recognition
from voicebot.speech.vosk_asr import VoskCallRecognizer, VoskSpeechModel

Speak = Callable[..., Pcm]  # the ``speak`` fixture from conftest.py
pytestmark = pytest.mark.slow

YES_NO = RecognitionHints(
    phrases=("sí", "no"),  # Spanish phrases are out of this model's vocabulary: left out
    keywords=(("네", "affirm"), ("예", "affirm"), ("아니요", "deny"), ("아니오", "deny")),
    expect=("yes_no",),
)
FREE = RecognitionHints()


def run_turn(
    call: CallRecognizer, hints: RecognitionHints, pcm: Pcm
) -> tuple[Recognition, list[str]]:
    call.start_turn(hints)
    partials = [call.accept(pcm[i : i + FRAME_SAMPLES]) for i in range(0, len(pcm), FRAME_SAMPLES)]
    return call.finish(), partials


@pytest.fixture
def call(ko_model: VoskSpeechModel):  # type: ignore[no-untyped-def]
    recognizer = ko_model.new_call()
    yield recognizer
    recognizer.close()


@pytest.mark.parametrize(
    ("said", "intent", "speed", "pitch"),
    [
        ("네", "affirm", 150, 50),
        ("네", "affirm", 120, 30),
        ("아니요", "deny", 150, 50),
        ("아니요", "deny", 175, 70),
        ("아니오", "deny", 150, 50),
    ],
)
def test_yes_no_grammar_maps_answers_to_intents(
    call: VoskCallRecognizer, speak: Speak, said: str, intent: str, speed: int, pitch: int
) -> None:
    result, _ = run_turn(call, YES_NO, speak(said, speed=speed, pitch=pitch))
    assert result.used_grammar
    assert result.intent == intent
    assert result.words and all(0.0 <= w.confidence <= 1.0 for w in result.words)


@pytest.mark.parametrize("said", ["안녕하세요", "감사합니다", "사과"])
def test_off_grammar_speech_is_rejected_and_redecoded_freely(
    call: VoskCallRecognizer, speak: Speak, said: str
) -> None:
    result, _ = run_turn(call, YES_NO, speak(said))
    assert result.intent is None  # never forced onto 네/아니요
    assert not result.used_grammar and call.fell_back
    assert result.text  # the free re-decode of the buffered turn produced words


def test_forced_grammar_without_rejection_would_accept_anything(
    ko_model: VoskSpeechModel, speak: Speak
) -> None:
    """What the fillers buy: the same grammar without them maps a greeting to an intent."""
    call = ko_model.variant(rejection_fillers=()).new_call()
    result, _ = run_turn(call, YES_NO, speak("안녕하세요"))
    call.close()
    assert result.used_grammar and result.intent in {"affirm", "deny"}


def test_noise_and_silence_give_no_intent(call: VoskCallRecognizer) -> None:
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 1500, 8000).astype(np.int16)
    result, _ = run_turn(call, YES_NO, noise)
    assert result.intent is None
    silence, _ = run_turn(call, YES_NO, np.zeros(8000, np.int16))
    assert (silence.text, silence.intent) == ("", None)


def test_free_recognition_streams_partials_with_word_confidences(
    call: VoskCallRecognizer, speak: Speak
) -> None:
    audio = speak("오늘 날씨가 좋네요 안녕하세요 고맙습니다")
    call.start_turn(FREE)
    partials: list[str] = []
    partial_words_seen = 0
    for i in range(0, len(audio), FRAME_SAMPLES):
        partials.append(call.accept(audio[i : i + FRAME_SAMPLES]))
        partial_words_seen = max(partial_words_seen, len(call.partial_words))
    result = call.finish()
    first_text = next(i for i, p in enumerate(partials) if p)
    assert first_text < len(partials) - 25  # text appeared while audio was still arriving
    assert partial_words_seen >= 2
    assert not result.used_grammar
    assert len(result.words) >= 3
    assert all(0.0 < w.confidence <= 1.0 for w in result.words)
    starts = [w.start_s for w in result.words]
    assert starts == sorted(starts) and result.words[-1].end_s <= len(audio) / 8000


def test_one_recognizer_serves_many_turns(call: VoskCallRecognizer, speak: Speak) -> None:
    first, _ = run_turn(call, YES_NO, speak("네"))
    free, _ = run_turn(call, FREE, speak("오늘 날씨가 좋네요"))
    second, _ = run_turn(call, YES_NO, speak("아니요"))
    again, _ = run_turn(call, YES_NO, speak("네"))
    assert (first.intent, second.intent, again.intent) == ("affirm", "deny", "affirm")
    assert len(second.words) == 1  # Reset between turns: nothing carried over
    assert free.text and "아니요" not in free.text


def test_g711_round_trip_is_still_understood(call: VoskCallRecognizer, speak: Speak) -> None:
    for said, intent in (("네", "affirm"), ("아니요", "deny")):
        clean = speak(said)
        line = ulaw_to_pcm(pcm_to_ulaw(clean))
        assert np.max(np.abs(line.astype(np.int32) - clean)) > 0  # really companded
        result, _ = run_turn(call, YES_NO, line)
        assert result.intent == intent


def test_wrong_audio_type_is_refused(call: VoskCallRecognizer) -> None:
    call.start_turn(FREE)
    with pytest.raises(ValueError, match="int16"):
        call.accept(np.zeros(160, np.float32))  # type: ignore[arg-type]


def test_warm_recognizers_are_pooled_across_calls(ko_model: VoskSpeechModel, speak: Speak) -> None:
    model = ko_model.variant()  # own pool, same loaded model
    model.prewarm(speak("오늘 날씨가 좋네요"), count=2)
    assert model.pooled == 2
    first, second = model.new_call(), model.new_call()
    for call in (first, second):
        result, _ = run_turn(call, FREE, speak("안녕하세요"))
        assert result.text
    assert model.pooled == 0  # both calls hold a warm recognizer
    first.close()
    second.close()
    assert model.pooled == 2
    again = model.new_call()
    result, _ = run_turn(again, YES_NO, speak("네"))
    again.close()
    assert result.intent == "affirm"


def test_open_answers_are_recognized_freely(ko_model: VoskSpeechModel) -> None:
    promise = RecognitionHints(keywords=(("네", "affirm"),), expect=("amount", "date"))
    assert ko_model.grammar_for(promise) is None  # the NLU needs every word
    assert ko_model.grammar_for(YES_NO) is not None
    assert ko_model.grammar_for(RecognitionHints(phrases=("sí", "no"))) is None  # all unknown


def test_a_dropped_call_returns_its_warm_recognizer(
    ko_model: VoskSpeechModel, speak: Speak
) -> None:
    model = ko_model.variant()
    call = model.new_call()
    run_turn(call, FREE, speak("네"))
    assert model.pooled == 0
    del call  # the engine forgets the call without calling close()
    assert model.pooled == 1
