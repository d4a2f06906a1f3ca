"""WER alignment on known vectors, reference files, and WAV input of any common shape."""

from __future__ import annotations

import gzip
import wave
from pathlib import Path

import numpy as np
import pytest

from voicebot.speech.asr_eval import align, parse_references, read_references, read_wav


@pytest.mark.parametrize(
    ("reference", "hypothesis", "subs", "dels", "ins"),
    [
        ("el gato come", "el gato come", 0, 0, 0),
        ("el gato come", "el perro come", 1, 0, 0),
        ("el gato come pescado", "el gato pescado", 0, 1, 0),
        ("el gato", "el gran gato", 0, 0, 1),
        ("uno dos tres", "", 0, 3, 0),
        ("a b c d e f", "a x c e f g", 1, 1, 1),  # classic: sub b→x, del d, ins g
        ("Contraseña, por favor", "contrasena por favor", 0, 0, 0),
    ],
)
def test_alignment_counts(reference: str, hypothesis: str, subs: int, dels: int, ins: int) -> None:
    result = align(reference, hypothesis)
    assert (result.substitutions, result.deletions, result.insertions) == (subs, dels, ins)


def test_wer_can_exceed_one_and_sums_across_files() -> None:
    long_hyp = align("hola", "uno dos tres")
    assert long_hyp.wer == pytest.approx(3.0)  # 1 substitution + 2 insertions over 1 word
    total = align("a b c d", "a b c d") + align("e f", "e g")
    assert total.wer == pytest.approx(1 / 6)


def test_empty_reference() -> None:
    assert align("", "").wer == 0.0
    assert align("", "ruido").wer == float("inf")


def test_references_in_asterisk_and_tsv_formats() -> None:
    text = (
        "; Core Asterisk Sounds in Spanish\n\n"
        "agent-pass: Por favor ingrese su contrasena seguida por la tecla de numero\n"
        "beep: [tono simple]\n"
        "digits/1.wav\tuno\n"
    )
    refs = parse_references(text)
    assert refs == {
        "agent-pass": "Por favor ingrese su contrasena seguida por la tecla de numero",
        "1": "uno",
    }


def test_bad_reference_line_is_reported_with_its_number() -> None:
    with pytest.raises(ValueError, match="line 2"):
        parse_references("a: uno\nesto no tiene formato\n")


def test_gzip_references(tmp_path: Path) -> None:
    path = tmp_path / "refs.txt.gz"
    path.write_bytes(gzip.compress(b"hola: hola mundo\n"))
    assert read_references(path) == {"hola": "hola mundo"}


def _write_wav(path: Path, data: bytes, width: int, channels: int, rate: int) -> None:
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(channels)
        wf.setsampwidth(width)
        wf.setframerate(rate)
        wf.writeframes(data)


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_wav_of_any_width_channels_and_rate_becomes_8khz_mono(tmp_path: Path, width: int) -> None:
    rate, seconds = 22050, 0.5
    t = np.arange(int(rate * seconds)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)  # half scale
    stereo = np.stack([tone, tone], axis=1).reshape(-1)
    if width == 1:
        data = np.round(stereo * 127 + 128).astype(np.uint8).tobytes()
    elif width == 3:
        ints = np.round(stereo * (2**23 - 1)).astype("<i4")
        data = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints)
    else:
        dtype = {2: "<i2", 4: "<i4"}[width]
        data = np.round(stereo * (2 ** (8 * width - 1) - 1)).astype(dtype).tobytes()
    path = tmp_path / f"tone{width}.wav"
    _write_wav(path, data, width, 2, rate)
    pcm = read_wav(path, 8000)
    assert pcm.dtype == np.int16
    assert len(pcm) == pytest.approx(4000, abs=2)
    peak = np.abs(pcm[500:-500]).max()
    assert 15000 < peak < 17500  # half of full scale survived the conversion
    spectrum = np.abs(np.fft.rfft(pcm))
    assert np.argmax(spectrum) * 8000 / len(pcm) == pytest.approx(440, abs=5)


def test_non_wav_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "not.wav"
    path.write_text("hola")
    with pytest.raises(ValueError, match="not a PCM WAV"):
        read_wav(path, 8000)
