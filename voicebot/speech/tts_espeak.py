"""Spanish text-to-speech with pyttsx3 over the espeak-ng library, rendered for the line.

What pyttsx3 2.99's espeak driver is like, and why the code looks this way:

* It loads ``libespeak-ng.so.1`` (Debian: ``libespeak-ng1``, pulled in by
  ``espeak-ng``) and initializes espeak once per process in retrieval mode: no
  sound card is touched, so it works headless. ``save_to_file`` + ``runAndWait``
  writes a 16-bit mono 22 050 Hz WAV.
* espeak keeps one voice/rate/volume for the whole process, and pyttsx3 caches
  one engine per driver. The bot and a simulated debtor use different voices
  in the same process, so every render sets its own properties under one
  process-wide lock.
* espeak-ng queues parameter changes in a command FIFO: after the first
  utterance a new rate or volume silently did not apply until
  ``espeak_Synchronize()`` is called (pyttsx3 never calls it); we do, per render.
* The driver prints "Audio saved to …" on stdout; renders run with stdout
  redirected so that commands whose output is piped stay clean.
* In library mode espeak carries a little state from one utterance to the
  next: two renders of one text differ by a few milliseconds (the binary,
  which starts fresh, is bit-exact). Harmless for the line; it is one more
  reason to render each prompt once and cache it.
* ``runAndWait`` can return before a long text (more than ~8 s of speech) is
  fully rendered: espeak-ng keeps calling back after ``Synth`` returns, and the
  driver writes the WAV only on the final event. Each render therefore waits
  for pyttsx3's ``finished-utterance`` notification before reading the file
  (without it, long prompts came back truncated or missing).
* ``runAndWait`` ends pyttsx3's loop (which calls the driver's ``stop``) *before* it
  starts the synthesis. When espeak still reported the previous utterance as
  playing at that moment, ``stop`` left a "stopping" flag behind and the loop
  cancelled the new utterance right after starting it: a header-only WAV, about
  one render in 300 with renders in parallel processes. Renders are never
  interrupted here, so the driver's ``stop`` is disabled (``_never_cancel``).
* Its event loop polls every 10 ms, so a render costs at least ~10 ms; cached
  prompts do not pay it (see ``tts_cache``).

Leading and trailing silence is trimmed (a little kept), so the first byte the
debtor hears is speech and turn latency is not padded by the engine.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.metadata
import io
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voicebot.audio.resample import resample
from voicebot.audio.vad import frame_dbfs
from voicebot.audio.wav import decode_wav
from voicebot.domain.pcm import LINE_RATE, Pcm

CHECK_PHRASE = "uno dos tres"  # rendered by check(); any voice pronounces digits
_KEEP_SILENCE_MS = 30
_TRIM_BELOW_DBFS = -55.0
_ENGINE_LOCK = threading.Lock()
_RENDER_TIMEOUT_S = 30.0


class TtsError(RuntimeError):
    """The speech engine cannot render: missing library, unknown voice, empty output."""


@dataclass(frozen=True, slots=True)
class VoiceSettings:
    """espeak-ng voice name (optionally with a variant, ``es-419+m3``), words per minute, 0-1 volume."""

    voice: str = "es-419"
    rate: int = 165
    volume: float = 1.0

    def __post_init__(self) -> None:
        if not self.voice.strip():
            raise ValueError("voice must not be empty")
        if not 80 <= self.rate <= 450:
            raise ValueError(f"rate must be 80-450 words per minute, got {self.rate}")
        if not 0.0 <= self.volume <= 1.0:
            raise ValueError(f"volume must be between 0 and 1, got {self.volume}")


class _EngineHolder:
    """pyttsx3 keeps engines in a weak dictionary: without a strong reference each
    render built a new engine and driver while espeak (one per process) could still
    call back into the old one, and concurrent calls got silent renders."""

    engine: Any = None


def _engine() -> Any:
    if _EngineHolder.engine is not None:
        return _EngineHolder.engine
    try:
        import pyttsx3
    except ImportError as error:  # pragma: no cover - pinned dependency
        raise TtsError(f"pyttsx3 is not installed: {error}") from error
    try:
        _EngineHolder.engine = pyttsx3.init("espeak")
    except Exception as error:
        raise TtsError(
            f"pyttsx3 could not start espeak-ng ({error}); install it: apt-get install espeak-ng"
        ) from error
    _keep_the_last_chunk(_EngineHolder.engine)
    _never_cancel(_EngineHolder.engine)
    return _EngineHolder.engine


def _never_cancel(engine: Any) -> None:
    """pyttsx3 calls the driver's ``stop`` when ``runAndWait`` ends its loop, which happens
    before the queued utterance is synthesized. If espeak is still winding down the previous
    utterance then, ``stop`` sets a flag that cancels the *next* one as soon as it starts.
    Every render here runs to its end (``synthesize`` waits for it), so there is nothing to
    stop: the flag is never set."""
    driver = engine.proxy._driver
    driver._stopping = False
    driver.stop = lambda: None


def _keep_the_last_chunk(engine: Any) -> None:
    """pyttsx3 2.99's espeak driver writes the WAV when espeak's end event arrives, but appends
    the samples delivered in that same callback only afterwards. When espeak hands over the
    utterance in one final chunk (timing-dependent: seen with renders in parallel processes)
    the file holds silence; otherwise the last chunk is cut. Append first, then let the driver
    handle the events."""
    from pyttsx3.drivers import _espeak

    driver = engine.proxy._driver

    def on_synth(wav: Any, numsamples: int, events: Any) -> int:
        if numsamples > 0 and driver._speaking:
            driver._data_buffer += ctypes.string_at(wav, numsamples * ctypes.sizeof(ctypes.c_short))
        return int(driver._onSynth(wav, 0, events))

    _espeak.SetSynthCallback(on_synth)  # keeps its own reference to the C callback


def espeak_version() -> str:
    """The espeak-ng library version pyttsx3 loaded (part of the cache key)."""
    with _ENGINE_LOCK:
        _engine()
    from pyttsx3.drivers import _espeak

    info = _espeak.dll.espeak_Info
    info.restype = ctypes.c_char_p
    info.argtypes = [ctypes.c_void_p]
    raw = info(None)
    return raw.decode() if raw else "unknown"


def available_voices() -> dict[str, str]:
    """espeak-ng voices by short name (``es-419``) → display name."""
    with _ENGINE_LOCK:
        voices = _engine().getProperty("voices")
    return {str(v.id).rsplit("/", 1)[-1]: str(v.name) for v in voices}


def _synchronize() -> None:
    """Apply queued espeak parameter changes now.

    espeak-ng runs a command FIFO in this mode: after the first utterance,
    ``SetParameter`` (rate, volume) returns OK but is only queued, and the next
    utterance used the previous rate. Waiting for the FIFO makes each render use
    its own settings.
    """
    from pyttsx3.drivers import _espeak

    _espeak.Synchronize()


class EspeakSynthesizer:
    """A ``Synthesizer``: text in, trimmed 8 kHz int16 audio out."""

    def __init__(
        self, settings: VoiceSettings | None = None, *, sample_rate: int = LINE_RATE
    ) -> None:
        self.settings = settings or VoiceSettings()
        self.sample_rate = sample_rate
        voices = available_voices()
        base = self.settings.voice.split("+", 1)[0]
        if base not in voices:
            spanish = sorted(v for v in voices if v.startswith("es"))
            raise TtsError(f"unknown espeak-ng voice {base!r}; Spanish voices here: {spanish}")
        self.engine_version = (
            f"pyttsx3 {importlib.metadata.version('pyttsx3')} / espeak-ng {espeak_version()}"
        )

    @property
    def cache_identity(self) -> tuple[str, ...]:
        """Everything besides the text that changes the audio."""
        s = self.settings
        return (
            "espeak",
            s.voice,
            str(s.rate),
            f"{s.volume:.3f}",
            self.engine_version,
            str(self.sample_rate),
        )

    def synthesize(self, text: str) -> Pcm:
        if not text.strip():
            raise ValueError("nothing to say: empty text")
        with tempfile.TemporaryDirectory(prefix="voicebot-tts-") as tmp:
            path = Path(tmp) / "render.wav"
            with _ENGINE_LOCK:
                engine = _engine()
                engine.setProperty("voice", self.settings.voice)
                engine.setProperty("rate", self.settings.rate)
                engine.setProperty("volume", self.settings.volume)
                _synchronize()
                finished = threading.Event()
                token = engine.connect("finished-utterance", lambda **_: finished.set())
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        engine.save_to_file(text, str(path))
                        engine.runAndWait()
                        # runAndWait may return while espeak is still synthesising a long
                        # text; the file is complete only once the utterance has finished.
                        if not finished.wait(_RENDER_TIMEOUT_S):
                            raise TtsError(f"espeak-ng did not finish rendering {text[:40]!r}")
                finally:
                    engine.disconnect(token)
            if not path.exists():
                raise TtsError(f"espeak-ng produced no audio for {text[:40]!r}")
            pcm, _ = decode_wav(path.read_bytes(), self.sample_rate)
        trimmed = trim_silence(pcm, self.sample_rate)
        if trimmed.size == 0:
            raise TtsError(f"espeak-ng rendered only silence for {text[:40]!r}")
        return trimmed

    def check(self) -> float:
        """Render a test phrase; raises TtsError if the engine cannot. Returns seconds of audio."""
        pcm = self.synthesize(CHECK_PHRASE)
        return pcm.size / self.sample_rate


def trim_silence(pcm: Pcm, sample_rate: int) -> Pcm:
    """Cut silence at both ends down to ``_KEEP_SILENCE_MS``."""
    frame = sample_rate // 100
    count = pcm.size // frame
    if count == 0:
        return pcm
    loud = [
        i for i in range(count) if frame_dbfs(pcm[i * frame : (i + 1) * frame]) > _TRIM_BELOW_DBFS
    ]
    if not loud:
        return pcm[:0]
    keep = sample_rate * _KEEP_SILENCE_MS // 1000
    start = max(0, loud[0] * frame - keep)
    end = min(pcm.size, (loud[-1] + 1) * frame + keep)
    return np.ascontiguousarray(pcm[start:end])


def render_at(synthesizer: EspeakSynthesizer, text: str, sample_rate: int) -> Pcm:
    """The same voice at another rate (for files people listen to, not the line)."""
    return resample(synthesizer.synthesize(text), synthesizer.sample_rate, sample_rate)
