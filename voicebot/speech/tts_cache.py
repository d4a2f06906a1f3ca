"""A disk cache in front of a synthesizer: prompts are rendered once per voice, not once per call.

Key: sha256 of the text and everything else that changes the audio (voice,
rate, volume, engine and library version, sample rate). Writes are atomic
(temporary file + rename in the same directory), so processes sharing the
directory never read half a file; two processes rendering the same prompt at
once both write identical audio and the last rename wins. A file that does not
decode is treated as a miss and rendered again, never served.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from voicebot.audio.wav import WavError, read_wav, write_wav
from voicebot.domain.pcm import Pcm

log = logging.getLogger(__name__)


class CacheableSynthesizer(Protocol):
    sample_rate: int

    @property
    def cache_identity(self) -> tuple[str, ...]: ...

    def synthesize(self, text: str) -> Pcm: ...

    def check(self) -> float: ...


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0
    hit_seconds: list[float] = field(default_factory=list)
    render_seconds: list[float] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PrerenderReport:
    rendered: int
    already_cached: int
    seconds: float


class TtsCache:
    """A ``Synthesizer`` that renders through ``engine`` only on a miss."""

    def __init__(
        self, engine: CacheableSynthesizer, directory: Path, *, memory_entries: int = 256
    ) -> None:
        self.engine = engine
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.stats = CacheStats()
        self._memory: OrderedDict[str, Pcm] = OrderedDict()
        self._memory_entries = memory_entries
        self._lock = threading.Lock()  # calls render from worker threads

    @property
    def sample_rate(self) -> int:
        return self.engine.sample_rate

    def key(self, text: str) -> str:
        material = json.dumps([text, *self.engine.cache_identity], ensure_ascii=False)
        return hashlib.sha256(material.encode()).hexdigest()

    def path_for(self, text: str) -> Path:
        key = self.key(text)
        return self.directory / key[:2] / f"{key}.wav"

    def cached(self, text: str) -> bool:
        return self.key(text) in self._memory or self.path_for(text).is_file()

    def synthesize(self, text: str) -> Pcm:
        started = time.perf_counter()
        key = self.key(text)
        with self._lock:
            pcm = self._memory.get(key)
        if pcm is None:
            pcm = self._read(self.path_for(text))
        if pcm is not None:
            self._remember(key, pcm)
            self.stats.hits += 1
            self.stats.hit_seconds.append(time.perf_counter() - started)
            return pcm
        pcm = self.engine.synthesize(text)
        path = self.path_for(text)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_wav(path, pcm, self.engine.sample_rate)
        self._remember(key, pcm)
        self.stats.misses += 1
        self.stats.render_seconds.append(time.perf_counter() - started)
        return pcm

    def prerender(self, texts: Iterable[str]) -> PrerenderReport:
        """Render every text not yet cached (a dialplan's static prompts, at campaign launch)."""
        started = time.perf_counter()
        rendered = cached = 0
        for text in dict.fromkeys(texts):
            if self.path_for(text).is_file():
                cached += 1
                continue
            self.synthesize(text)
            rendered += 1
        return PrerenderReport(rendered, cached, time.perf_counter() - started)

    def check(self) -> float:
        """Render a test phrase through the engine itself (not the cache): fail at launch, not mid-call."""
        return self.engine.check()

    def _read(self, path: Path) -> Pcm | None:
        if not path.is_file():
            return None
        try:
            return read_wav(path, self.engine.sample_rate)
        except (WavError, OSError) as error:
            log.warning("discarding unreadable cached prompt %s: %s", path, error)
            path.unlink(missing_ok=True)
            return None

    def _remember(self, key: str, pcm: Pcm) -> None:
        with self._lock:
            self._memory[key] = pcm
            self._memory.move_to_end(key)
            while len(self._memory) > self._memory_entries:
                self._memory.popitem(last=False)
