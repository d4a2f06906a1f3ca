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
  (``allow-upsample``). Upsampling to 16 kHz with soxr ourselves was no
  better on the yes/no set (grammar 18 of 20 right at 8 kHz, 18-19 at 16 kHz;
  free 2-4 vs 1 of 20), cost as much CPU or a little more, would need a
  stateful resampler per call, and cannot add what a telephone line never carried.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import vosk

from voicebot.actions import RecognitionHints
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm
from voicebot.speech.keywords import UNK, Grammar, build_grammar, match_keyword
from voicebot.speech.model_files import ResolvedModel, inspect_model
from voicebot.speech.recognizer import Recognition, Word

MAX_TURN_SECONDS = 30.0  # audio kept per turn for a free re-decode


@dataclass(frozen=True, slots=True)
class RecognizerSettings:
    """Tuning knobs; defaults are what the benchmark supported."""

    use_grammar: bool = True
    # Answers a grammar can cover. Amount and date turns stay free by default:
    # the NLU needs the words around the numbers ("le pago", "no puedo") and a
    # grammar would turn them into [unk]. Not measured on Spanish (no model
    # here): add "amount"/"date" here to try it once a Spanish set exists.
    grammar_kinds: frozenset[str] = frozenset({"yes_no", "digits"})
    # A grammar result is kept only when it says something: at least one real
    # (non-rejection) word, most of the words real, and confident enough.
    # Near-homophone phrases (아니요/아니오) split the posterior, so a right
    # answer can sit below 0.5; 0.3 still rejects what the fillers compete for.
    min_grammar_confidence: float = 0.3
    min_real_word_share: float = 0.5
    pool_size: int = 4
    partial_words: bool = True
    # Partial words cost no more than the benchmark's run-to-run noise (±15 %)
    # whether asked every 20 ms or 100 ms; 100 ms is ample for display and
    # keeps JSON parsing off the per-frame path.
    partial_every_s: float = 0.1


def _words(result: dict[str, Any]) -> list[Word]:
    return [
        Word(str(w["word"]), float(w.get("conf", 1.0)), float(w["start"]), float(w["end"]))
        for w in result.get("result", [])
    ]


def _mean_confidence(words: list[Word]) -> float:
    return sum(w.confidence for w in words) / len(words) if words else 0.0


class VoskSpeechModel:
    """A loaded Vosk model shared by every call in the process (thread-safe to share)."""

    def __init__(
        self,
        resolved: ResolvedModel,
        settings: RecognizerSettings | None = None,
        *,
        loaded: vosk.Model | None = None,
    ) -> None:
        vosk.SetLogLevel(-1)
        self.resolved = resolved
        self.settings = settings or RecognizerSettings()
        self.layout = inspect_model(resolved.path)
        self.model = loaded if loaded is not None else vosk.Model(str(resolved.path))
        self._vocab: dict[str, bool] = {}
        self._pool: list[_Decoder] = []
        self._lock = threading.RLock()  # __del__ of a call may give back while held

    def variant(
        self,
        settings: RecognizerSettings | None = None,
        *,
        rejection_fillers: tuple[str, ...] | None = None,
    ) -> VoskSpeechModel:
        """Other settings over the same loaded model (no second 500 MB load)."""
        resolved = self.resolved
        if rejection_fillers is not None:
            resolved = replace(resolved, rejection_fillers=rejection_fillers)
        return VoskSpeechModel(resolved, settings or self.settings, loaded=self.model)

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
        if not set(hints.expect) <= self.settings.grammar_kinds:
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

    def take_free_recognizer(self) -> _Decoder:
        """A warm free recognizer from the pool, or a new (cold) one."""
        with self._lock:
            if self._pool:
                return self._pool.pop()
        return _Decoder(self.new_recognizer())

    def prewarm(self, pcm: Pcm, count: int = 1, *, threads: int | None = None) -> None:
        """Fill the pool with recognizers that already decoded ``pcm`` (any speech).

        The graph cache is content-dependent: warming on other speech roughly
        halved the first real decode in the benchmark, a warm recognizer from a
        finished call does better still. Call at start-up so the first calls
        after a deploy do not pay the full cold decode. Decoding runs in C with
        the GIL released, so ``threads`` (default: the cores) warm side by side.
        """

        def warm(_: int) -> _Decoder:
            decoder = _Decoder(self.new_recognizer())
            for start in range(0, len(pcm), LINE_RATE):
                decoder.feed(pcm[start : start + LINE_RATE])
            decoder.rec.FinalResult()
            return decoder

        wanted = min(count, self.settings.pool_size)
        workers = max(1, min(wanted, threads or os.cpu_count() or 1))
        with ThreadPoolExecutor(workers, thread_name_prefix="vosk-prewarm") as pool:
            for decoder in pool.map(warm, range(wanted)):
                self.give_back(decoder)

    @property
    def pooled(self) -> int:
        """Warm free recognizers waiting for a call."""
        with self._lock:
            return len(self._pool)

    def give_back(self, decoder: _Decoder) -> None:
        decoder.rec.Reset()
        with self._lock:
            if len(self._pool) < self.settings.pool_size:
                self._pool.append(decoder)

    def recognize(self, pcm: Pcm, hints: RecognitionHints | None = None) -> Recognition:
        """Whole-utterance convenience over one call (files, evaluation)."""
        call = self.new_call()
        try:
            call.start_turn(hints or RecognitionHints())
            for start in range(0, len(pcm), FRAME_SAMPLES):
                call.accept(pcm[start : start + FRAME_SAMPLES])
            return call.finish()
        finally:
            call.close()


class _Decoder:
    """A Kaldi recognizer plus the count of samples it has been fed.

    Vosk stamps words with time since the recognizer was created, across
    ``Reset()`` and ``SetGrammar``; a turn subtracts where it started.
    """

    def __init__(self, rec: vosk.KaldiRecognizer) -> None:
        self.rec = rec
        self.samples = 0

    def feed(self, pcm: Pcm) -> bool:
        self.samples += len(pcm)
        return bool(self.rec.AcceptWaveform(pcm.tobytes()))


class VoskCallRecognizer:
    """Streaming recognition for one call; implements ``CallRecognizer``."""

    def __init__(self, model: VoskSpeechModel) -> None:
        self._model = model
        self._free: _Decoder | None = None
        self._grammar_dec: _Decoder | None = None
        self._grammar: Grammar | None = None
        self._hints = RecognitionHints()
        self._frames: list[Pcm] = []
        self._buffered = 0
        self._segments: list[dict[str, Any]] = []
        self._turn_start_s = 0.0
        self._partial = ""
        self._since_partial = 0
        self.partial_words: tuple[Word, ...] = ()
        self.fell_back = False

    def _free_dec(self) -> _Decoder:
        if self._free is None:
            self._free = self._model.take_free_recognizer()
        return self._free

    def _active(self) -> _Decoder:
        if self._grammar is not None and self._grammar_dec is not None:
            return self._grammar_dec
        return self._free_dec()

    def start_turn(self, hints: RecognitionHints) -> None:
        self._hints = hints
        self._frames = []
        self._buffered = 0
        self._segments = []
        self._partial = ""
        self._since_partial = 0
        self.partial_words = ()
        self.fell_back = False
        self._grammar = self._model.grammar_for(hints)
        if self._grammar is None:
            self._free_dec().rec.Reset()
        elif self._grammar_dec is None:
            self._grammar_dec = _Decoder(self._model.new_recognizer(self._grammar))
        else:
            self._grammar_dec.rec.Reset()
            self._grammar_dec.rec.SetGrammar(
                json.dumps(self._grammar.as_list(), ensure_ascii=False)
            )
        self._turn_start_s = self._active().samples / LINE_RATE

    def accept(self, pcm: Pcm) -> str:
        if pcm.dtype != np.int16 or pcm.ndim != 1:
            raise ValueError(f"expected 1-D int16 PCM at 8 kHz, got {pcm.dtype} {pcm.shape}")
        if self._buffered < MAX_TURN_SECONDS * LINE_RATE:
            self._frames.append(pcm.copy())
            self._buffered += len(pcm)
        dec = self._active()
        if dec.feed(pcm):
            self._segments.append(json.loads(dec.rec.Result()))
            self._partial, self.partial_words, self._since_partial = "", (), 0
            return self._text_so_far()
        self._since_partial += len(pcm)
        if self._since_partial >= self._model.settings.partial_every_s * LINE_RATE:
            self._since_partial = 0
            partial = json.loads(dec.rec.PartialResult())
            self._partial = str(partial.get("partial", ""))
            self.partial_words = tuple(self._words({"result": partial.get("partial_result", [])}))
        return self._text_so_far()

    def _text_so_far(self) -> str:
        parts = [str(s.get("text", "")) for s in self._segments] + [self._partial]
        return " ".join(p for p in parts if p)

    def _words(self, result: dict[str, Any]) -> list[Word]:
        shift = self._turn_start_s
        return [
            Word(w.text, w.confidence, max(0.0, w.start_s - shift), max(0.0, w.end_s - shift))
            for w in _words(result)
        ]

    def finish(self) -> Recognition:
        dec = self._active()
        segments = [*self._segments, json.loads(dec.rec.FinalResult())]
        words = [w for s in segments for w in self._words(s)]
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
        dec = self._free_dec()
        dec.rec.Reset()
        self._turn_start_s = dec.samples / LINE_RATE
        segments: list[dict[str, Any]] = []
        audio = np.concatenate(self._frames) if self._frames else np.zeros(0, np.int16)
        step = LINE_RATE // 5  # 200 ms: no need to mimic 20 ms frames offline
        for start in range(0, len(audio), step):
            if dec.feed(audio[start : start + step]):
                segments.append(json.loads(dec.rec.Result()))
        segments.append(json.loads(dec.rec.FinalResult()))
        words = [w for s in segments for w in self._words(s)]
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
        self._grammar_dec = None

    def __del__(self) -> None:
        # The call engine only knows the CallRecognizer protocol (no close()):
        # when it drops the recognizer at the end of a call, the warm decoder
        # still goes back to the pool.
        with contextlib.suppress(Exception):  # at interpreter shutdown: nothing to save
            self.close()
