"""The capacity bench over the SIP bed: baresip debtors on fixed scripts, read back from their dumps.

``bench_capacity.py --carrier sip`` runs the same bot process as the loopback bench, but
its carrier is the real ``SipCarrier`` dialling baresip phones through kamailio. baresip
cannot react to what it hears, so each phone plays a script with fixed timing (silence, a
right-party "네" placed after the longest greeting of the ramp should have ended, silence
long enough for the bot's next prompt, then the end of the WAV, where baresip hangs up).

What is measured, on each phone's own timeline (its sndfile dumps, one pair per call):

* greeting = start of the dump → first bot audio in ``dec`` (what the phone heard);
* turn = end of the debtor's speech in ``enc`` (what the phone sent) → onset of the next
  bot audio in ``dec``, counted only when the bot was silent while the debtor spoke. If the
  bot's audio overlaps the scripted answer (a late greeting, a reprompt) the answer was not
  a turn the bot could take: it is counted as *overlapped*, not as a turn. A turn the bot
  never answered before the phone hung up counts as infinitely late (the debtor waited
  past the end of the call), so the step fails.

Alignment error. baresip opens both dumps together when the call's audio stream starts
(the answer). ``enc`` then gets a frame every 20 ms from the phone's own source clock;
``dec`` gets a frame only when a packet from the bot has been decoded, after baresip's
1-5 frame jitter buffer. So ``dec``'s timeline starts once the bot's first packet is through
that buffer, and loses any frame that never arrived. Both stop at teardown (same mtime), so
``len(enc) - len(dec)`` bounds that shift (it also counts the frames still in flight or
buffered at the hangup); it is reported per step (p50 and max), flagged over
``SHIFT_WARNING_MS``. Reading
a ``dec`` event at ``t`` when it happened at ``t + shift`` makes both latencies read
*short* by at most the shift (20-40 ms in every call measured here, 2-16 calls at load
average 4-5: the greeting then reads 20 ms for a true 20-60 ms). The jitter buffer's own
delay is inside the figures, as it is inside what any phone hears.

Only one turn per call is measured (the right-party answer → the document question, a
prerendered prompt); the loopback debtors take four turns over ~53 s, so the two carriers'
figures are not the same load and should not be compared step for step.

The dumps are named by their start second only (``dump-<YYYY-MM-DD-HH-MM-SS>-dec.wav``),
so two calls a phone answers in the same second would write one file: the bot side
(``BedCarrier``) dials the phone it used longest ago and waits until that phone's last
dial is ``MIN_REDIAL_GAP_S`` old.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from testbeds.sip import voiced_frames  # 20 ms frames over 300 mean amplitude, as the SIP tests
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm
from voicebot.telephony.carrier import CallLeg, Carrier, DialFailure

FRAME_MS = 1000 * FRAME_SAMPLES // LINE_RATE  # 20 ms
ONSET_FRAMES = 2  # a run this long is audio, not a click
UTTERANCE_GAP_FRAMES = 15  # pauses under 300 ms stay inside one utterance of the debtor
GREETING_ROOM_S = 1.3  # answer this long after the greeting should have ended: limit + margin
TURN_ROOM_S = 2.5  # after the answer: a bot this late still has its reply heard
HANGUP_ROOM_S = 0.5  # after the bot's next prompt should have ended
MIN_REDIAL_GAP_S = 1.5  # a phone's dumps are named by the second: never two calls in one
SHIFT_WARNING_MS = 100.0  # a dec timeline this short: its latencies may read that much short


# --------------------------------------------------------------------------- reading dumps


def voiced_runs(
    voiced: npt.NDArray[np.bool_], *, bridge: int = 0, shortest: int = 1
) -> list[tuple[int, int]]:
    """Voiced stretches as frame ranges ``[start, end)``: gaps of at most ``bridge`` frames
    are closed first, then stretches under ``shortest`` frames are dropped."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for i, on in enumerate(voiced.tolist()):
        if on and start is None:
            start = i
        elif not on and start is not None:
            runs.append((start, i))
            start = None
    if start is not None:
        runs.append((start, len(voiced)))
    merged: list[tuple[int, int]] = []
    for run in runs:
        if merged and run[0] - merged[-1][1] <= bridge:
            merged[-1] = (merged[-1][0], run[1])
        else:
            merged.append(run)
    return [(a, b) for a, b in merged if b - a >= shortest]


@dataclass(frozen=True, slots=True)
class Reading:
    """One call as its phone recorded it, in milliseconds of the phone's timeline."""

    greeting_ms: float | None  # None: the phone never heard the bot
    turn_ms: tuple[float, ...]  # math.inf: the bot had not answered when the phone hung up
    overlapped: int  # debtor utterances the bot spoke over (not turns)
    shift_ms: float  # len(enc) - len(dec): how far dec's timeline may run early


def read_call(dec: Pcm, enc: Pcm) -> Reading:
    """Greeting, turns and overlaps of one call from what the phone heard (``dec``) and sent."""
    bot = voiced_frames(dec)
    bot_onsets = [a for a, _ in voiced_runs(bot, shortest=ONSET_FRAMES)]
    greeting = float(bot_onsets[0] * FRAME_MS) if bot_onsets else None
    turns: list[float] = []
    overlapped = 0
    for start, end in voiced_runs(voiced_frames(enc), bridge=UTTERANCE_GAP_FRAMES):
        if bot[start:end].any():
            overlapped += 1
            continue
        after = [a for a in bot_onsets if a >= end]
        turns.append(float((after[0] - end) * FRAME_MS) if after else math.inf)
    shift = (len(enc) - len(dec)) * 1000 / LINE_RATE
    return Reading(greeting, tuple(turns), overlapped, shift)


def read_dump(path: Path) -> Pcm | None:
    """A finished sndfile dump as 8 kHz int16; None while baresip still has it open (its
    header is only completed when the call ends)."""
    try:
        with wave.open(str(path)) as source:
            if source.getframerate() != LINE_RATE or source.getsampwidth() != 2:
                raise ValueError(f"{path.name}: expected 8 kHz 16-bit, got {source.getparams()}")
            frames = source.getnframes()
            if 44 + 2 * frames < path.stat().st_size:
                return None
            return np.frombuffer(source.readframes(frames), dtype=np.int16)
    except (wave.Error, EOFError):  # an open dump's header says RIFF size 8, no data yet
        return None


def dump_pairs(record_dir: Path) -> list[tuple[Path, Path]]:
    """(dec, enc) dump pairs of a phone, oldest first (their names carry the start second)."""
    pairs = []
    for dec in sorted(record_dir.glob("dump-*-dec.wav")):
        enc = dec.with_name(dec.name.removesuffix("-dec.wav") + "-enc.wav")
        if enc.exists():
            pairs.append((dec, enc))
    return pairs


# --------------------------------------------------------------------------- the scripts


@dataclass(frozen=True, slots=True)
class Script:
    """A phone's fixed-timing script, in seconds from the answer."""

    answer_at_s: float
    answer_end_s: float
    length_s: float


def plan_script(answer_s: float, greeting_s: float, next_prompt_s: float) -> Script:
    """Where the answer goes: after the longest greeting had it started at the greeting limit,
    plus a margin; the call lasts until the next prompt had it started ``TURN_ROOM_S`` late."""
    answer_at = greeting_s + GREETING_ROOM_S
    answer_end = answer_at + answer_s
    return Script(answer_at, answer_end, answer_end + TURN_ROOM_S + next_prompt_s + HANGUP_ROOM_S)


def script_audio(script: Script, answer: Pcm, noise_dbfs: float, seed: int) -> Pcm:
    """The WAV a phone plays: the answer at its place over seeded line noise."""
    total = round(script.length_s * LINE_RATE)
    at = round(script.answer_at_s * LINE_RATE)
    rng = np.random.default_rng(seed)
    signal = rng.normal(0.0, 32768.0 * 10 ** (noise_dbfs / 20.0), total)
    signal[at : at + len(answer)] += answer[: total - at]
    return np.clip(np.round(signal), -32768, 32767).astype(np.int16)


# --------------------------------------------------------------------------- the bot's side


def next_phone(last_dialled: dict[str, float], now: float) -> tuple[str, float]:
    """The phone dialled longest ago (never dialled first, in order) and how long to wait
    before dialling it so its dumps get a start second of their own."""
    user = min(last_dialled, key=lambda u: last_dialled[u])
    return user, max(0.0, last_dialled[user] + MIN_REDIAL_GAP_S - now)


@dataclass
class BedCarrier:
    """The bot's carrier on the bed: a campaign's numbers are dialled at the bed's phones.

    Every number goes to the phone used longest ago (the bed has a handful of phones, each
    holding several calls); each answered dial is logged so the bench can pair a phone's
    dumps, in order, with the numbers they belong to.
    """

    inner: Carrier
    users: Sequence[str]
    dials: list[tuple[str, str, float]] = field(default_factory=list)  # number, user, time
    _last: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._last = dict.fromkeys(self.users, -math.inf)  # ties: the first in order

    async def dial(
        self, number: str, *, caller_id: str | None = None, ring_timeout_s: float = 30.0
    ) -> CallLeg | DialFailure:
        user, wait = next_phone(self._last, time.monotonic())
        self._last[user] = time.monotonic() + wait  # claimed before the wait: no one shares it
        await asyncio.sleep(wait)
        leg = await self.inner.dial(user, caller_id=caller_id, ring_timeout_s=ring_timeout_s)
        if not isinstance(leg, DialFailure):
            self.dials.append((number, user, time.time()))
        return leg


# --------------------------------------------------------------------------- the bench's side

PHONES = 4  # at 2 calls a second a phone's turn comes round every 1.5 s
NOISE_DBFS = (-55.0, -50.0, -45.0)  # each phone's line noise, as the loopback debtors'


@dataclass(frozen=True, slots=True)
class RecordedCall:
    number: str  # the campaign's number, or ``phone#k`` when the dumps did not pair up
    reading: Reading
    span: tuple[float, float]  # wall clock (s) from the answer to the hangup


class SipDebtors:
    """The SIP bed seen from the bench: kamailio and ``phones`` baresip debtors, each playing
    one script (the answer voices take turns across phones), read back after each step."""

    def __init__(
        self,
        workdir: Path,
        answers: Sequence[Pcm],
        greeting_s: float,
        reply_s: float,
        phones: int = PHONES,
    ) -> None:
        from testbeds.sip import PeerSpec, TestBed, write_wav

        longest = max(len(a) for a in answers) / LINE_RATE
        self.script = plan_script(longest, greeting_s, reply_s)
        self.greeting_s, self.reply_s = greeting_s, reply_s
        specs = []
        for k in range(phones):
            pcm = script_audio(self.script, answers[k % len(answers)], NOISE_DBFS[k % 3], seed=k)
            specs.append(
                PeerSpec(f"debtor{k}", write_wav(workdir / f"debtor{k}.wav", pcm.tobytes()))
            )
        self.bed = TestBed(workdir / "bed", specs)
        self.bed.start()
        self.users = [spec.user for spec in specs]
        self.notes = ""

    def describe(self) -> str:
        s = self.script
        return (
            f"SIP bed: kamailio + {len(self.users)} baresip debtors; script: answer at "
            f"{s.answer_at_s:.2f} s (longest greeting {self.greeting_s:.2f} s), its end at "
            f"{s.answer_end_s:.2f} s, hangup at {s.length_s:.2f} s (reply prompt {self.reply_s:.2f} s)"
        )

    def bot_args(self, processes: int) -> Callable[[int], list[str]]:
        """Bot process ``i``'s ``--sip`` endpoint: its own SIP user, port, RTP ports and phones
        (a phone is never shared between processes: its dumps are named by the second)."""
        from testbeds.sip import free_port_block

        if processes > len(self.users):
            raise ValueError(f"{processes} bot processes need at least as many phones")
        low, high = self.bed.rtp_ports
        share = (high - low + 1) // processes

        def args(i: int) -> list[str]:
            settings = {
                "server": "127.0.0.1",
                "port": self.bed.proxy_port,
                "user": f"bot{i}",
                "local_port": free_port_block(1),
                "rtp_port_low": low + i * share,
                "rtp_port_high": low + (i + 1) * share - 1,
            }
            endpoint = {"settings": settings, "phones": self.users[i::processes]}
            return ["--sip", json.dumps(endpoint)]

        return args

    def collect(
        self, dials: Sequence[tuple[str, str, float]], timeout_s: float = 20.0
    ) -> list[RecordedCall]:
        """Every answered dial's dumps, read and removed; ``self.notes`` says how it went."""
        calls: list[RecordedCall] = []
        dumps = 0
        for user in self.users:
            numbers = [n for n, u, _ in sorted(dials, key=lambda d: d[2]) if u == user]
            peer = self.bed.peer(user)
            pairs = self._finished(peer.record_dir, len(numbers), timeout_s)
            dumps += len(pairs)
            if len(pairs) != len(numbers):
                numbers = [f"{user}#{k}" for k in range(len(pairs))]
            for number, (_, enc_path, dec, enc) in zip(numbers, pairs, strict=True):
                end = enc_path.stat().st_mtime
                calls.append(
                    RecordedCall(number, read_call(dec, enc), (end - len(enc) / LINE_RATE, end))
                )
            peer.clear_recordings()
        shifts = sorted(c.reading.shift_ms for c in calls)
        unanswered = sum(math.isinf(t) for c in calls for t in c.reading.turn_ms)
        self.notes = (
            f"sip: {dumps} dump pairs for {len(dials)} answered dials; "
            f"overlapped {sum(c.reading.overlapped for c in calls)}, unanswered {unanswered}; "
            f"dec shift (len enc - len dec) p50 {_median(shifts):.0f} ms, "
            f"max {max(shifts, default=math.nan):.0f} ms"
        )
        if shifts and shifts[-1] > SHIFT_WARNING_MS:
            self.notes += " — WARNING: latencies may read short by up to the max shift"
        return calls

    @staticmethod
    def _finished(
        record_dir: Path, expected: int, timeout_s: float
    ) -> list[tuple[Path, Path, Pcm, Pcm]]:
        """A phone's closed dump pairs, waiting (up to ``timeout_s``) for ``expected`` of them:
        the bot's side ends on the BYE, the phone closes its dumps as it tears the call down."""
        deadline = time.monotonic() + timeout_s
        while True:
            read = [(d, e, read_dump(d), read_dump(e)) for d, e in dump_pairs(record_dir)]
            done = [
                (d, e, dec, enc) for d, e, dec, enc in read if dec is not None and enc is not None
            ]
            if (len(done) == len(read) and len(done) >= expected) or time.monotonic() > deadline:
                return done
            time.sleep(0.1)

    def stop(self) -> None:
        self.bed.stop()


def _median(values: Sequence[float]) -> float:
    return values[len(values) // 2] if values else math.nan
