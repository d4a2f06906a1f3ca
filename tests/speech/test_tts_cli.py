"""``voicebot say``: text to a WAV file people (and the line) can play."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from voicebot.audio.vad import VoiceActivityDetector
from voicebot.audio.wav import decode_wav
from voicebot.cli import app

runner = CliRunner()


def test_say_writes_a_line_rate_wav(tmp_path: Path) -> None:
    out = tmp_path / "saludo.wav"
    result = runner.invoke(app, ["say", "Buenos días, ¿hablo con Carlos Pérez?", "-o", str(out)])
    assert result.exit_code == 0, result.output
    pcm, info = decode_wav(out.read_bytes(), 8000)
    assert (info.sample_rate, info.channels, info.bits) == (8000, 1, 16)
    assert 1.5 < info.seconds < 4.0
    vad = VoiceActivityDetector(8000)
    assert sum(vad.feed(pcm[i : i + 160]).speech for i in range(0, pcm.size - 159, 160)) > 50
    assert "saludo.wav" in result.output


def test_say_honors_voice_rate_and_sample_rate(tmp_path: Path) -> None:
    slow, fast = tmp_path / "slow.wav", tmp_path / "fast.wav"
    text = "Su pago quedó registrado para el viernes."
    assert (
        runner.invoke(
            app, ["say", text, "-o", str(slow), "--rate", "120", "--voice", "es"]
        ).exit_code
        == 0
    )
    args = ["say", text, "-o", str(fast), "--rate", "300", "--sample-rate", "16000"]
    assert runner.invoke(app, args).exit_code == 0
    _, slow_info = decode_wav(slow.read_bytes(), 8000)
    _, fast_info = decode_wav(fast.read_bytes(), 16000)
    assert fast_info.sample_rate == 16000
    assert fast_info.seconds < 0.6 * slow_info.seconds


def test_say_errors_are_clear_and_write_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    unknown = runner.invoke(app, ["say", "hola", "-o", str(out), "--voice", "klingon"])
    assert unknown.exit_code == 2 and "unknown espeak-ng voice" in unknown.output
    empty = runner.invoke(app, ["say", "  ", "-o", str(out)])
    assert empty.exit_code == 2 and "empty" in empty.output
    missing = runner.invoke(app, ["say", "hola", "-o", str(tmp_path / "no" / "x.wav")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    assert not out.exists()
