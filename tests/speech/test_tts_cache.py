"""The TTS disk cache: one render per prompt and voice, atomic files, shared safely by processes."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import numpy as np
import pytest

from voicebot.audio.wav import read_wav
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings

PROMPTS = ["Buenos días.", "¿Hablo con Juan Pérez?", "Gracias por su tiempo."]


@pytest.fixture(scope="module")
def engine() -> EspeakSynthesizer:
    return EspeakSynthesizer(VoiceSettings())


def test_second_request_is_a_hit_with_the_same_audio(
    engine: EspeakSynthesizer, tmp_path: Path
) -> None:
    cache = TtsCache(engine, tmp_path)
    first = cache.synthesize(PROMPTS[0])
    second = cache.synthesize(PROMPTS[0])
    assert np.array_equal(first, second)
    assert (cache.stats.misses, cache.stats.hits) == (1, 1)
    assert np.array_equal(read_wav(cache.path_for(PROMPTS[0]), 8000), first)


def test_a_new_process_reads_from_disk(engine: EspeakSynthesizer, tmp_path: Path) -> None:
    TtsCache(engine, tmp_path).synthesize(PROMPTS[1])
    fresh = TtsCache(engine, tmp_path)
    fresh.synthesize(PROMPTS[1])
    assert (fresh.stats.misses, fresh.stats.hits) == (0, 1)
    assert fresh.stats.hit_seconds[0] < 0.05


def test_key_covers_voice_rate_and_volume(engine: EspeakSynthesizer, tmp_path: Path) -> None:
    keys = {
        TtsCache(engine, tmp_path).key("Hola"),
        TtsCache(EspeakSynthesizer(VoiceSettings(rate=200)), tmp_path).key("Hola"),
        TtsCache(EspeakSynthesizer(VoiceSettings(volume=0.5)), tmp_path).key("Hola"),
        TtsCache(EspeakSynthesizer(VoiceSettings(voice="es")), tmp_path).key("Hola"),
        TtsCache(engine, tmp_path).key("Hola."),
    }
    assert len(keys) == 5


def test_prerender_renders_each_prompt_once(engine: EspeakSynthesizer, tmp_path: Path) -> None:
    cache = TtsCache(engine, tmp_path)
    report = cache.prerender([*PROMPTS, PROMPTS[0]])
    assert (report.rendered, report.already_cached) == (3, 0)
    again = TtsCache(engine, tmp_path).prerender(PROMPTS)
    assert (again.rendered, again.already_cached) == (0, 3)
    assert all(cache.cached(p) for p in PROMPTS)


def test_a_corrupt_file_is_rendered_again_not_served(
    engine: EspeakSynthesizer, tmp_path: Path
) -> None:
    cache = TtsCache(engine, tmp_path)
    good = cache.synthesize(PROMPTS[2])
    cache.path_for(PROMPTS[2]).write_bytes(b"RIFF\x00\x00")
    fresh = TtsCache(engine, tmp_path)
    again = fresh.synthesize(PROMPTS[2])
    assert abs(again.size - good.size) < 0.03 * good.size
    assert fresh.stats.misses == 1
    assert np.array_equal(read_wav(cache.path_for(PROMPTS[2]), 8000), again)


def _render_in_child(directory: str, texts: list[str]) -> None:
    cache = TtsCache(EspeakSynthesizer(VoiceSettings()), Path(directory))
    for text in texts:
        cache.synthesize(text)


def test_concurrent_processes_share_one_directory(tmp_path: Path) -> None:
    texts = [f"Su número de cuenta termina en {n}." for n in range(6)]
    ctx = multiprocessing.get_context("spawn")
    children = [ctx.Process(target=_render_in_child, args=(str(tmp_path), texts)) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    files = sorted(tmp_path.rglob("*"))
    wavs = [f for f in files if f.suffix == ".wav"]
    assert len(wavs) == len(texts)
    assert not [f for f in files if f.name.endswith(".tmp")]
    engine = EspeakSynthesizer(VoiceSettings())
    cache = TtsCache(engine, tmp_path)
    for text in texts:
        rendered = engine.synthesize(text)
        assert abs(cache.synthesize(text).size - rendered.size) < 0.03 * rendered.size
    assert cache.stats.misses == 0


def test_hits_are_much_faster_than_renders(engine: EspeakSynthesizer, tmp_path: Path) -> None:
    cache = TtsCache(engine, tmp_path, memory_entries=0)
    text = "Le recordamos que su pago vence el próximo viernes."
    started = time.perf_counter()
    cache.synthesize(text)
    render = time.perf_counter() - started
    cache.synthesize(text)
    assert cache.stats.hit_seconds[0] < render
