"""A two-channel FLAC file written as the call runs: channel 1 the bot, channel 2 the far end.

FLAC through libsndfile (the ``soundfile`` wheel ships it): lossless, about half the
size of 16-bit PCM on telephone speech, playable in every browser. Frames are
buffered for at most ``flush_frames`` (1 s by default) and then encoded, so a worker
killed mid-call leaves a file that plays up to its last flushed second, less the
encoder's unfinished block (4096 samples, 0.5 s): FLAC's stream
header carries a sample count of 0 ("unknown") until ``close`` rewrites it. libFLAC
decoders (browsers, sox, ffmpeg) read such a stream to its end; libsndfile trusts the
header and reads nothing, so ``repair_partial`` re-encodes it once (sox, libFLAC) with
the true length before it is hashed and served.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm

CHANNELS = 2  # bot, far end
FORMAT = "FLAC"
SUBTYPE = "PCM_16"
MEDIA_TYPE = "audio/flac"


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What the database keeps about a finished (or interrupted) recording file."""

    size_bytes: int
    sha256: str
    frames: int  # samples per channel

    @property
    def duration_ms(self) -> int:
        return 1000 * self.frames // LINE_RATE


class RecordingWriter:
    def __init__(self, path: Path, *, flush_frames: int = 50) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = sf.SoundFile(
            path, "w", samplerate=LINE_RATE, channels=CHANNELS, format=FORMAT, subtype=SUBTYPE
        )
        self._pending: list[Pcm] = []
        self._flush_frames = flush_frames
        self.frames = 0  # samples per channel accepted so far
        self.closed = False

    def write(self, bot: Pcm, far: Pcm) -> None:
        """One stretch of line time; both sides the same length (20 ms per line frame)."""
        if bot.size != far.size:
            raise ValueError(f"channels differ in length: bot {bot.size}, far end {far.size}")
        if self.closed:
            return
        self._pending.append(np.column_stack((bot, far)).astype(np.int16, copy=False))
        self.frames += int(far.size)
        if len(self._pending) >= self._flush_frames:
            self.flush()

    def flush(self) -> None:
        if self._pending and not self.closed:
            self._file.write(np.concatenate(self._pending))
            self._file.flush()
            self._pending = []

    def close(self) -> FileFacts:
        """Finish the stream and make it durable (fsync) before anyone points to it."""
        if not self.closed:
            self.flush()
            self._file.close()
            self.closed = True
            fsync_file(self.path)
        return file_facts(self.path)


def fsync_file(path: Path) -> None:
    """The file's bytes and its directory entry on disk (a crash after this loses neither)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def file_facts(path: Path) -> FileFacts:
    """Size, content hash and playable length (decoded, so a partial file counts what plays)."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return FileFacts(size, digest.hexdigest(), playable_frames(path))


def playable_frames(path: Path) -> int:
    """Samples per channel a decoder gets out of ``path`` (0 if nothing decodes)."""
    try:
        with sf.SoundFile(path) as handle:
            total = 0
            for block in handle.blocks(blocksize=LINE_RATE * 10, dtype="int16"):
                total += len(block)
            return total
    except (sf.LibsndfileError, RuntimeError):
        return 0


def silence(samples: int = FRAME_SAMPLES) -> Pcm:
    return np.zeros(samples, dtype=np.int16)


def repair_partial(path: Path) -> bool:
    """Rewrite an interrupted FLAC (length "unknown") with its true length; False if sox is absent.

    sox decodes with libFLAC, which plays the stream to its last whole frame; the
    result replaces the original atomically and is fsynced.
    """
    sox = shutil.which("sox")
    if sox is None:
        return False
    fixed = path.with_name(path.name + ".repair.flac")
    subprocess.run(
        [sox, "-V1", str(path), "-t", "flac", "-b", "16", str(fixed)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    os.replace(fixed, path)
    fsync_file(path)
    return True
