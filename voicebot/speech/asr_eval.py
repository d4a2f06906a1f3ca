"""Recognition accuracy: word error rate over normalized words, reference lists, a scoring loop.

WER = (substitutions + deletions + insertions) / reference words, from a
Levenshtein alignment of word sequences. Words are compared after the same
normalization the keyword matcher uses (case, accents, punctuation), so
"Contraseña," and "contrasena" count as the same word.
"""

from __future__ import annotations

import gzip
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from voicebot.audio.wav import read_wav
from voicebot.domain.pcm import Pcm
from voicebot.speech.keywords import normalize


@dataclass(frozen=True, slots=True)
class Alignment:
    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @property
    def errors(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        if self.reference_words == 0:
            return 0.0 if self.errors == 0 else float("inf")
        return self.errors / self.reference_words

    def __add__(self, other: Alignment) -> Alignment:
        return Alignment(
            self.substitutions + other.substitutions,
            self.deletions + other.deletions,
            self.insertions + other.insertions,
            self.reference_words + other.reference_words,
        )


def words_of(text: str) -> list[str]:
    return normalize(text).split()


def align(reference: str, hypothesis: str) -> Alignment:
    """Minimum-edit alignment of word sequences, counting each edit kind."""
    ref, hyp = words_of(reference), words_of(hypothesis)
    # cost[i][j] = (edits, subs, dels, ins) turning ref[:i] into hyp[:j]
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        row = [(i, 0, i, 0)]
        for j in range(1, len(hyp) + 1):
            if ref[i - 1] == hyp[j - 1]:
                match = prev[j - 1]
            else:
                e, s, d, n = prev[j - 1]
                match = (e + 1, s + 1, d, n)
            e, s, d, n = prev[j]
            deletion = (e + 1, s, d + 1, n)
            e, s, d, n = row[j - 1]
            insertion = (e + 1, s, d, n + 1)
            row.append(min(match, deletion, insertion))
        prev = row
    _, subs, dels, ins = prev[-1]
    return Alignment(subs, dels, ins, len(ref))


def parse_references(text: str) -> dict[str, str]:
    """``name: text`` (Asterisk core-sounds list) or ``file<TAB>text`` lines.

    Comments (``;`` or ``#``) and blank lines are skipped; names lose any
    directory and extension so they match WAV stems. Entries whose text is a
    bracketed description ("[tono simple]") are not speech and are dropped.
    """
    references: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith((";", "#")):
            continue
        if "\t" in line:
            name, _, said = line.partition("\t")
        elif ": " in line or line.endswith(":"):
            name, _, said = line.partition(":")
        else:
            raise ValueError(f"references line {number}: expected 'name: text' or 'file<TAB>text'")
        said = said.strip()
        if not said or (said.startswith("[") and said.endswith("]")):
            continue
        references[Path(name.strip()).stem] = said
    return references


def read_references(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    return parse_references(data.decode("utf-8", errors="replace"))


@dataclass(frozen=True, slots=True)
class FileScore:
    name: str
    reference: str
    hypothesis: str
    alignment: Alignment
    audio_s: float
    decode_s: float


@dataclass(frozen=True, slots=True)
class EvalReport:
    files: tuple[FileScore, ...]
    missing_audio: tuple[str, ...]

    @property
    def total(self) -> Alignment:
        out = Alignment(0, 0, 0, 0)
        for f in self.files:
            out = out + f.alignment
        return out

    @property
    def real_time_factor(self) -> float:
        audio = sum(f.audio_s for f in self.files)
        return sum(f.decode_s for f in self.files) / audio if audio else 0.0


def evaluate(
    recognize: Callable[[Pcm], str],
    wav_dir: Path,
    references: dict[str, str],
    *,
    rate: int,
    limit: int | None = None,
) -> EvalReport:
    """Decode every referenced WAV in ``wav_dir`` (sorted, at most ``limit``) and score it."""
    scores: list[FileScore] = []
    missing: list[str] = []
    for name in sorted(references):
        if limit is not None and len(scores) >= limit:
            break
        path = wav_dir / f"{name}.wav"
        if not path.is_file():
            missing.append(name)
            continue
        pcm = read_wav(path, rate)
        started = time.perf_counter()
        hypothesis = recognize(pcm)
        elapsed = time.perf_counter() - started
        scores.append(
            FileScore(
                name,
                references[name],
                hypothesis,
                align(references[name], hypothesis),
                len(pcm) / rate,
                elapsed,
            )
        )
    return EvalReport(tuple(scores), tuple(missing))
