"""Offline streaming recognition with Vosk: one model per process, recognizers per call.

Measured on the Korean model (see ``bench/bench_asr.py``), these facts shape the code:

* A fresh free-vocabulary recognizer decodes its first utterance several times
  slower (~2-3 s for 4.7 s of speech) because Vosk composes the lookahead graph
  lazily per recognizer; later turns on the same one take ~0.1 x real time.
  So each call keeps one warm free recognizer, ``Reset()`` between turns, and
  returns it to a small per-model pool when the call closes.
* ``SetGrammar`` on a recognizer throws its free-graph cache away (going back
  to free costs the slow first decode again), while a grammar graph is tiny and
  fast to build. So grammar turns use a second recognizer per call and only
  that one is re-targeted with ``SetGrammar``.
* Line audio is fed at 8 kHz: Kaldi's feature pipeline upsamples internally
  (``allow-upsample``), and resampling to 16 kHz ourselves cost time without
  adding information that a telephone line never carried.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np
import vosk

from voicebot.actions import RecognitionHints
from voicebot.speech.keywords import UNK, Grammar, build_grammar, match_keyword
from voicebot.speech.models import ResolvedModel, inspect_model
from voicebot.speech.recognizer import Recognition, Word
from voicebot.telephony.carrier import LINE_RATE, Pcm

MAX_TURN_SECONDS = 30.0  # audio kept per turn for a free re-decode


@dataclass(frozen=True, slots=True)
class RecognizerSettings:
    """Tuning knobs; defaults are what the benchmark supported."""

    use_grammar: bool = True
    # A grammar result is kept only when it says something: at least one real
    # (non-rejection) word, most of the words real, and confident enough.
    min_grammar_confidence: float = 0.5
    min_real_word_share: float = 0.5
    pool_size: int = 4
    partial_words: bool = True


def _words(result: dict[str, Any]) -> list[Word]:
    return [
        Word(str(w["word"]), float(w.get("conf", 1.0)), float(w["start"]), float(w["end"]))
        for w in result.get("result", [])
    ]


def _mean_confidence(words: list[Word]) -> float:
    return sum(w.confidence for w in words) / len(words) if words else 0.0


class VoskSpeechModel:
    """A loaded Vosk model shared by every call in the process (thread-safe to share)."""

    def __init__(self, resolved: ResolvedModel, settings: RecognizerSettings | None = None) -> None:
        vosk.SetLogLevel(-1)
        self.resolved = resolved
        self.settings = settings or RecognizerSettings()
        self.layout = inspect_model(resolved.path)
        self.model = vosk.Model(str(resolved.path))
        self._vocab: dict[str, bool] = {}
        self._pool: list[vosk.KaldiRecognizer] = []
        self._lock = threading.Lock()

    @property
    def language(self) -> str:
        return self.resolved.language

    @property
    def has_unk(self) -> bool:
        return self.in_vocabulary(UNK)

    def in_vocabulary(self, word: str) -> bool:
        known = self._vocab.get(word)
        if known is None:
            known = self.model.vosk_model_find_word(word) >= 0
            self._vocab[word] = known
        return known

    def grammar_for(self, hints: RecognitionHints) -> Grammar | None:
        """The grammar a turn with ``hints`` would use, or None for free recognition."""
        if not self.settings.use_grammar or not self.layout.supports_grammar:
            return None
        if not (hints.phrases or hints.keywords or hints.expect):
            return None
        grammar = build_grammar(
            hints,
            language=self.language,
            in_vocabulary=self.in_vocabulary,
            fillers=self.resolved.rejection_fillers,
        )
        return grammar if grammar.usable else None

    def new_call(self) -> VoskCallRecognizer:
        return VoskCallRecognizer(self)

    def new_recognizer(self, grammar: Grammar | None = None) -> vosk.KaldiRecognizer:
        if grammar is None:
            rec = vosk.KaldiRecognizer(self.model, float(LINE_RATE))
        else:
            rec = vosk.KaldiRecognizer(
                self.model, float(LINE_RATE), json.dumps(grammar.as_list(), ensure_ascii=False)
            )
        rec.SetWords(True)
        rec.SetPartialWords(self.settings.partial_words)
        return rec

    def take_free_recognizer(self) -> vosk.KaldiRecognizer:
        """A warm free recognizer from the pool, or a new (cold) one."""
        with self._lock:
            if self._pool:
                return self._pool.pop()
        return self.new_recognizer()

    def give_back(self, rec: vosk.KaldiRecognizer) -> None:
        rec.Reset()
        with self._lock:
            if len(self._pool) < self.settings.pool_size:
                self._pool.append(rec)

    def recognize(self, pcm: Pcm, hints: RecognitionHints | None = None) -> Recognition:
        """Whole-utterance convenience over one call (files, evaluation)."""
        call = self.new_call()
        try:
            call.start_turn(hints or RecognitionHints())
            for start in range(0, len(pcm), 160):
                call.accept(pcm[start : start + 160])
            return call.finish()
        finally:
            call.close()


class VoskCallRecognizer:
    """Streaming recognition for one call; implements ``CallRecognizer``."""

    def __init__(self, model: VoskSpeechModel) -> None:
        self._model = model
        self._free: vosk.KaldiRecognizer | None = None
        self._grammar_rec: vosk.KaldiRecognizer | None = None
        self._grammar: Grammar | None = None
        self._hints = RecognitionHints()
        self._frames: list[Pcm] = []
        self._buffered = 0
        self._segments: list[dict[str, Any]] = []
        self.partial_words: tuple[Word, ...] = ()
        self.fell_back = False

    def _free_rec(self) -> vosk.KaldiRecognizer:
        if self._free is None:
            self._free = self._model.take_free_recognizer()
        return self._free

    def _active(self) -> vosk.KaldiRecognizer:
        if self._grammar is not None and self._grammar_rec is not None:
            return self._grammar_rec
        return self._free_rec()

    def start_turn(self, hints: RecognitionHints) -> None:
        self._hints = hints
        self._frames = []
        self._buffered = 0
        self._segments = []
        self.partial_words = ()
        self.fell_back = False
        self._grammar = self._model.grammar_for(hints)
        if self._grammar is None:
            self._free_rec().Reset()
            return
        grammar_json = json.dumps(self._grammar.as_list(), ensure_ascii=False)
        if self._grammar_rec is None:
            self._grammar_rec = self._model.new_recognizer(self._grammar)
        else:
            self._grammar_rec.Reset()
            self._grammar_rec.SetGrammar(grammar_json)

    def accept(self, pcm: Pcm) -> str:
        if pcm.dtype != np.int16 or pcm.ndim != 1:
            raise ValueError(f"expected 1-D int16 PCM at 8 kHz, got {pcm.dtype} {pcm.shape}")
        if self._buffered < MAX_TURN_SECONDS * LINE_RATE:
            self._frames.append(pcm.copy())
            self._buffered += len(pcm)
        rec = self._active()
        if rec.AcceptWaveform(pcm.tobytes()):
            self._segments.append(json.loads(rec.Result()))
            self.partial_words = ()
            return self._text_so_far("")
        partial = json.loads(rec.PartialResult())
        self.partial_words = tuple(_words({"result": partial.get("partial_result", [])}))
        return self._text_so_far(str(partial.get("partial", "")))

    def _text_so_far(self, partial: str) -> str:
        parts = [str(s.get("text", "")) for s in self._segments] + [partial]
        return " ".join(p for p in parts if p)

    def finish(self) -> Recognition:
        rec = self._active()
        segments = [*self._segments, json.loads(rec.FinalResult())]
        words = [w for s in segments for w in _words(s)]
        if self._grammar is None:
            return self._recognition(words, used_grammar=False)
        rejection = set(self._grammar.rejection)
        real = [w for w in words if w.text not in rejection]
        settings = self._model.settings
        useful = (
            bool(real)
            and len(real) >= settings.min_real_word_share * len(words)
            and _mean_confidence(real) >= settings.min_grammar_confidence
        )
        if useful:
            return self._recognition(real, used_grammar=True)
        self.fell_back = True
        return self._redecode_free()

    def _redecode_free(self) -> Recognition:
        """Decode the turn's buffered audio again with free vocabulary."""
        rec = self._free_rec()
        rec.Reset()
        segments: list[dict[str, Any]] = []
        audio = np.concatenate(self._frames) if self._frames else np.zeros(0, np.int16)
        step = LINE_RATE // 5  # 200 ms: no need to mimic 20 ms frames offline
        for start in range(0, len(audio), step):
            if rec.AcceptWaveform(audio[start : start + step].tobytes()):
                segments.append(json.loads(rec.Result()))
        segments.append(json.loads(rec.FinalResult()))
        words = [w for s in segments for w in _words(s)]
        return self._recognition(words, used_grammar=False)

    def _recognition(self, words: list[Word], *, used_grammar: bool) -> Recognition:
        text = " ".join(w.text for w in words)
        return Recognition(
            text=text,
            confidence=_mean_confidence(words),
            words=tuple(words),
            intent=match_keyword(text, self._hints.keywords),
            used_grammar=used_grammar,
        )

    def close(self) -> None:
        """Return the warm free recognizer to the model's pool (the call is over)."""
        if self._free is not None:
            self._model.give_back(self._free)
            self._free = None
        self._grammar_rec = None
