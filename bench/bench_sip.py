"""SIP carrier benchmark on the loopback bed: call setup time, and concurrent calls in real time.

    .venv/bin/python bench/bench_sip.py [--setup-calls 100] [--max-calls 160] [--seconds 5]
                                        [--long-call-s 40]

Setup time is INVITE sent → 200 OK seen by the bot (through kamailio to baresip).
A long call checks the dialog survives past the far end's 32 s 200-OK timeout.
Concurrency climbs N until one worker (one process, one event loop) can no longer
keep every call real time: each call must deliver ≥97 % of its 20 ms frames to
the consumer with no stall over 100 ms, and its RTP sender must stay within 3 %
of 50 packets/s. CPU is reported for the bot process alone and for the whole
machine (the baresip phones and kamailio share the same cores).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import _repo  # noqa: F401  (puts testbeds/ on sys.path)
import numpy as np

from testbeds.sip import PeerSpec, TestBed, free_port_block, write_wav
from voicebot.telephony.carrier import AudioIn
from voicebot.telephony.sip import SipCallLeg, SipCarrier, SipSettings

RATE = 8000
CALLS_PER_PHONE = 10


@dataclass
class StepResult:
    calls: int
    worst_frames_ratio: float
    worst_gap_ms: float
    worst_sender_ratio: float
    bot_cpu_pct: float
    machine_cpu_pct: float

    @property
    def real_time(self) -> bool:
        return (
            self.worst_frames_ratio >= 0.97
            and self.worst_gap_ms < 100
            and abs(self.worst_sender_ratio - 1) <= 0.03
        )


def machine_busy_jiffies() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def settings(bed: TestBed, ports: int) -> SipSettings:
    base = free_port_block(ports + 1)
    return SipSettings(
        server="127.0.0.1",
        port=bed.proxy_port,
        user="bench",
        local_port=base,
        rtp_port_low=base + 1,
        rtp_port_high=base + ports,
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


async def bench_setup(bed: TestBed, phones: list[str], samples: int) -> list[float]:
    async with SipCarrier(settings(bed, 200)) as carrier:
        for i in range(samples):
            leg = await carrier.dial(phones[i % len(phones)])
            assert isinstance(leg, SipCallLeg), leg
            await leg.hangup()
        return [s * 1000 for s in carrier.setup_times_s]


async def bench_long_call(bed: TestBed, phone: str, seconds: float) -> tuple[bool, float]:
    """Hold one call for ``seconds``: with pyVoIP's own ACK the far end dropped it at ~32 s."""
    async with SipCarrier(settings(bed, 10)) as carrier:
        leg = await carrier.dial(phone)
        assert isinstance(leg, SipCallLeg), leg
        frames = 0
        started = time.monotonic()
        while time.monotonic() - started < seconds and leg.is_up:
            if isinstance(await leg.receive(), AudioIn):
                frames += 1
        up = leg.is_up
        await leg.hangup()
        return up, frames * 0.02


async def converse(leg: SipCallLeg, seconds: float, tone: np.ndarray) -> tuple[float, float, float]:
    await leg.send_audio(tone)
    sent_before, _ = leg.rtp_packets
    frames = 0
    last = time.monotonic()
    started = last
    worst_gap = 0.0
    while (now := time.monotonic()) - started < seconds:
        item = await leg.receive()
        if isinstance(item, AudioIn):
            now = time.monotonic()
            frames += 1
            worst_gap = max(worst_gap, now - last)
            last = now
    elapsed = time.monotonic() - started
    sent, _ = leg.rtp_packets
    await leg.hangup()
    return frames / (elapsed / 0.02), worst_gap * 1000, (sent - sent_before) / (elapsed / 0.02)


async def bench_step(bed: TestBed, phones: list[str], calls: int, seconds: float) -> StepResult:
    t = np.arange(int(seconds * RATE)) / RATE
    tone = (np.sin(2 * np.pi * 600 * t) * 6000).astype(np.int16)
    async with SipCarrier(settings(bed, calls + 50)) as carrier:
        legs = await asyncio.gather(*(carrier.dial(phones[i % len(phones)]) for i in range(calls)))
        answered = [leg for leg in legs if isinstance(leg, SipCallLeg)]
        if len(answered) < calls:
            raise SystemExit(f"only {len(answered)} of {calls} calls were answered")
        cpu_before = os.times()
        busy_before, total_before = machine_busy_jiffies()
        wall_before = time.monotonic()
        results = await asyncio.gather(*(converse(leg, seconds, tone) for leg in answered))
        wall = time.monotonic() - wall_before
        cpu_after = os.times()
        busy_after, total_after = machine_busy_jiffies()
    bot_cpu = (cpu_after.user + cpu_after.system - cpu_before.user - cpu_before.system) / wall
    machine = (busy_after - busy_before) / max(1, total_after - total_before)
    return StepResult(
        calls,
        min(r[0] for r in results),
        max(r[1] for r in results),
        max((r[2] for r in results), key=lambda x: abs(x - 1)),
        bot_cpu * 100,
        machine * 100 * (os.cpu_count() or 1),
    )


async def main(args: argparse.Namespace) -> None:
    speech = np.zeros(RATE * 600, dtype=np.int16)  # the phones stay silent and on the line
    with tempfile.TemporaryDirectory() as tmp:
        wav = write_wav(Path(tmp) / "phone.wav", speech.tobytes())
        phone_count = max(4, math.ceil(args.max_calls / CALLS_PER_PHONE))
        phones = [f"phone{i}" for i in range(phone_count)]
        started = time.monotonic()
        bed = TestBed(Path(tmp) / "bed", [PeerSpec(p, wav) for p in phones])
        with bed:
            print(
                f"test bed: kamailio + {phone_count} baresip in {time.monotonic() - started:.2f} s"
            )
            setup = await bench_setup(bed, phones, args.setup_calls)
            print(
                f"call setup (INVITE → 200 OK), {len(setup)} calls: "
                f"p50 {statistics.median(setup):.1f} ms, p95 {percentile(setup, 0.95):.1f} ms, "
                f"max {max(setup):.1f} ms"
            )
            if args.long_call_s > 0:
                up, heard = await bench_long_call(bed, phones[0], args.long_call_s)
                print(
                    f"long call: {'still up' if up else 'DROPPED'} after {args.long_call_s:g} s "
                    f"({heard:.1f} s of audio received)"
                )
            print(f"cores: {os.cpu_count()}; {args.seconds:g} s of two-way audio per step")
            print(" calls  frames(min)  gap(max)  sender(worst)  bot CPU  machine CPU  real time")
            best = 0
            calls = args.start
            while calls <= args.max_calls:
                step = await bench_step(bed, phones, calls, args.seconds)
                print(
                    f"{step.calls:6d}  {step.worst_frames_ratio:10.1%}  {step.worst_gap_ms:6.0f} ms"
                    f"  {step.worst_sender_ratio:12.1%}  {step.bot_cpu_pct:6.0f} %"
                    f"  {step.machine_cpu_pct:9.0f} %  {'yes' if step.real_time else 'NO'}"
                )
                if not step.real_time:
                    break
                best = calls
                calls += args.step
            print(f"max concurrent calls in real time in one worker: {best}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--setup-calls", type=int, default=100)
    parser.add_argument("--start", type=int, default=10)
    parser.add_argument("--step", type=int, default=10)
    parser.add_argument("--max-calls", type=int, default=160)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--long-call-s", type=float, default=40.0)
    asyncio.run(main(parser.parse_args()))
