"""Answering-machine detection on real audio: Asterisk's Spanish prompts and espeak-ng greetings.

People: one short prompt ("no", "adiós", "gracias") or a synthesised "¿aló?",
then silence while they wait. Machines: long prompts chained like a voicemail
greeting with sentence pauses, ending in a 1 kHz beep, or a synthesised greeting.
Every case also runs over a hissing line to check the floor tracking.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from voicebot.audio.wav import decode_wav, read_wav
from voicebot.domain.pcm import FRAME_SAMPLES, LINE_RATE, Pcm
from voicebot.telephony.amd import (
    AmdResult,
    AmdSettings,
    AnsweringMachineDetector,
    BeepDetector,
    MachineAction,
    VoicemailPolicy,
    decide,
    detect,
)

SOUNDS = Path("/usr/share/asterisk/sounds/es")
HUMAN_PROMPTS = ["vm-no", "hours", "vm-goodbye", "hello-world", "vm-message", "auth-thankyou"]
HUMAN_PROMPTS += ["vm-for", "seconds", "vm-first", "vm-last", "vm-password", "minutes"]
MACHINE_GREETINGS = [
    ["vm-nobodyavail", "vm-leavemsg"],
    ["vm-theperson", "vm-isunavail"],
    ["vm-isonphone", "vm-leavemsg"],
    ["vm-intro"],
    ["vm-rec-unv"],
    ["vm-tempgreeting2"],
]
HUMAN_SAYS = ["¿Aló?", "¿Sí, diga?", "Bueno", "Hola", "¿Quién habla?"]
# People who talk longer than "¿aló?": the cadence rule must not take them for machines.
LONG_HUMAN_SAYS = [
    "Aló, buenas tardes, ¿con quién tengo el gusto?",
    "Aló, sí, ¿quién habla? ¿de dónde llama?",
    "Sí, aló, dígame",
]
MACHINE_SAYS = [
    "Hola, has llamado a Juan Pérez. En este momento no puedo atender, "
    "deja tu mensaje después del tono.",
    "El número que usted marcó no está disponible. Por favor deje su mensaje.",
]

pytestmark = pytest.mark.skipif(
    not (SOUNDS / "vm-intro.wav").exists() or shutil.which("espeak-ng") is None,
    reason="needs asterisk-core-sounds-es-wav and espeak-ng",
)


def _silence(seconds: float) -> Pcm:
    return np.zeros(int(LINE_RATE * seconds), dtype=np.int16)


def _beep(hz: float = 1000.0, seconds: float = 0.5) -> Pcm:
    t = np.arange(int(LINE_RATE * seconds)) / LINE_RATE
    return (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def _prompt(name: str) -> Pcm:
    return read_wav(SOUNDS / f"{name}.wav", LINE_RATE)


def _espeak(text: str) -> Pcm:
    wav = subprocess.run(
        ["espeak-ng", "-v", "es-419", "--stdout", text], capture_output=True, check=True
    ).stdout
    return decode_wav(wav, LINE_RATE)[0]


def _hiss(pcm: Pcm, dbfs: float = -50.0, seed: int = 7) -> Pcm:
    noise = np.random.default_rng(seed).normal(0.0, 32768 * 10 ** (dbfs / 20), pcm.size)
    return np.clip(pcm + noise, -32768, 32767).astype(np.int16)


def _answers() -> list[tuple[str, str, Pcm]]:
    """(expected verdict, label, the first seconds after answer)."""
    cases: list[tuple[str, str, Pcm]] = []
    for name in HUMAN_PROMPTS:
        cases.append(("human", name, np.concatenate([_silence(0.3), _prompt(name), _silence(3)])))
    for text in HUMAN_SAYS:
        cases.append(("human", text, np.concatenate([_silence(0.4), _espeak(text), _silence(3)])))
    for names in MACHINE_GREETINGS:
        parts = [np.concatenate([_prompt(n), _silence(0.25)]) for n in names]
        greeting = np.concatenate([_silence(0.3), *parts, _beep(), _silence(2)])
        cases.append(("machine", "+".join(names), greeting))
    for text in MACHINE_SAYS:
        greeting = np.concatenate([_silence(0.4), _espeak(text), _beep(), _silence(2)])
        cases.append(("machine", text[:24], greeting))
    return cases + [(want, f"{label} (hiss)", _hiss(pcm)) for want, label, pcm in cases]


@pytest.fixture(scope="module")
def answers() -> list[tuple[str, str, Pcm]]:
    return _answers()


def test_amd_accuracy_on_assembled_set(answers: list[tuple[str, str, Pcm]]) -> None:
    results = [(want, label, detect(pcm)) for want, label, pcm in answers]
    wrong = [(label, want, r.verdict, r.reason) for want, label, r in results if r.verdict != want]
    # A person must never be taken for a machine: that hangs up on the debtor.
    assert not [w for w in wrong if w[1] == "human" and w[2] == "machine"]
    assert len(wrong) <= len(results) // 20, wrong


def test_amd_never_takes_a_talkative_person_for_a_machine() -> None:
    for text in LONG_HUMAN_SAYS:
        pcm = np.concatenate([_silence(0.4), _espeak(text), _silence(3)])
        for line in (pcm, _hiss(pcm)):
            result = detect(line)
            assert result.verdict != "machine", (text, result)


def test_amd_human_is_decided_soon_after_the_greeting(answers: list[tuple[str, str, Pcm]]) -> None:
    for want, label, pcm in answers:
        if want != "human":
            continue
        result = detect(pcm)
        ev = result.evidence
        assert ev.onset_s is not None, label
        # Decided after the greeting plus the configured wait, not at the end of the audio.
        assert ev.analysed_s <= ev.onset_s + ev.greeting_s + 0.8 + 0.1, (label, ev)
        assert ev.greeting_s < 1.5, (label, ev)


def test_amd_long_greeting_is_a_machine_before_it_ends() -> None:
    greeting = np.concatenate([_silence(0.3), _prompt("vm-intro")])  # 7 s of speech, no beep
    result = detect(greeting)
    assert result.verdict == "machine"
    assert result.reason == "long_greeting"
    assert result.evidence.analysed_s < 4.5  # did not wait for the 7 s greeting to finish


def test_amd_beep_alone_is_a_machine_with_its_frequency() -> None:
    result = detect(np.concatenate([_silence(0.5), _beep(1400.0, 0.5), _silence(2)]))
    assert result.verdict == "machine"
    assert result.reason == "beep"
    assert result.evidence.beep_hz == pytest.approx(1400.0, abs=25.0)
    assert result.evidence.beep_at_s == pytest.approx(0.5, abs=0.05)


def test_amd_a_short_tone_is_not_a_beep() -> None:
    result = detect(np.concatenate([_silence(0.5), _beep(1000.0, 0.1), _silence(2)]))
    assert result.reason != "beep"


def test_amd_silence_and_medium_greetings_are_unknown() -> None:
    assert detect(_hiss(_silence(6.0))).reason == "no_speech"
    medium = np.concatenate([_silence(0.3), _prompt("vm-num-i-have"), _silence(2)])  # ~1.8 s
    result = detect(medium)
    assert result.verdict == "unknown", result


def test_amd_streaming_feed_matches_detect_and_stays_decided() -> None:
    pcm = np.concatenate([_silence(0.4), _espeak("¿Aló?"), _silence(3)])
    detector = AnsweringMachineDetector()
    first: AmdResult | None = None
    for start in range(0, pcm.size - FRAME_SAMPLES + 1, FRAME_SAMPLES):
        result = detector.feed(pcm[start : start + FRAME_SAMPLES])
        first = first or result
    assert first is not None and first == detect(pcm) == detector.result


def test_amd_policy() -> None:
    machine_beeped = detect(np.concatenate([_silence(0.5), _beep(), _silence(1)]))
    machine_talking = detect(np.concatenate([_silence(0.3), _prompt("vm-intro")]))
    human = detect(np.concatenate([_silence(0.3), _prompt("vm-no"), _silence(2)]))
    unknown = detect(_silence(6.0))

    hang_up = VoicemailPolicy()
    assert decide(machine_beeped, hang_up).action == "hang_up"
    assert decide(human, hang_up).action == "continue"
    assert decide(unknown, hang_up).action == "continue"
    assert decide(unknown, VoicemailPolicy(on_unknown="hang_up")).action == "hang_up"

    message = VoicemailPolicy(on_machine=MachineAction.LEAVE_MESSAGE, prompt="voicemail_es")
    after_beep = decide(machine_beeped, message)
    assert (after_beep.action, after_beep.prompt, after_beep.wait_for_beep) == (
        "leave_message",
        "voicemail_es",
        False,
    )
    assert decide(machine_talking, message).wait_for_beep is True


def test_amd_beep_detector_says_when_the_recorder_is_listening() -> None:
    greeting = np.concatenate([_silence(0.3), _prompt("vm-intro"), _silence(0.2)])
    tone_at = greeting.size // FRAME_SAMPLES
    line = np.concatenate([greeting, _beep(1000.0, 0.5), _silence(1.0)])
    beep = BeepDetector()
    over_at = None
    for index in range(line.size // FRAME_SAMPLES):
        beep.feed(line[index * FRAME_SAMPLES : (index + 1) * FRAME_SAMPLES])
        if beep.beep_over:
            over_at = index
            break
    assert beep.beep_at == tone_at  # nothing in the spoken greeting passed for a tone
    assert over_at == tone_at + 25  # the first frame after the 0.5 s beep
    assert beep.beep_hz == pytest.approx(1000.0, abs=25.0)


def _speech_dbfs(pcm: Pcm) -> float:
    frames = pcm[: pcm.size // FRAME_SAMPLES * FRAME_SAMPLES].astype(np.float64)
    rms = np.sqrt((frames.reshape(-1, FRAME_SAMPLES) ** 2).mean(axis=1))
    active = rms[rms > 32768 * 10 ** (-45 / 20)]
    return float(20 * np.log10(np.sqrt((active**2).mean()) / 32768))


def _noisy(pcm: Pcm, snr_db: float) -> Pcm:
    """Steady line noise ``snr_db`` below the clip's speech level (street, bus, bad line)."""
    return _hiss(pcm, _speech_dbfs(pcm) - snr_db, seed=3)


@pytest.mark.parametrize("snr_db", [25.0, 20.0, 15.0])
def test_amd_never_takes_a_person_on_a_noisy_line_for_a_machine(
    answers: list[tuple[str, str, Pcm]], snr_db: float
) -> None:
    """Noise was counted as speech (the floor started at -60 dBFS and rose 2.5 dB/s), so every
    person at 15-20 dB SNR was a "long greeting" and hung up on."""
    clean = [(want, label, pcm) for want, label, pcm in answers if "(hiss)" not in label]
    results = [(want, label, detect(_noisy(pcm, snr_db))) for want, label, pcm in clean]
    humans = [(label, r.verdict, r.reason) for want, label, r in results if want == "human"]
    assert not [h for h in humans if h[1] == "machine"], humans
    assert sum(v == "human" for _, v, _ in humans) >= 0.9 * len(humans), humans
    machines = [r for want, _, r in results if want == "machine"]
    assert sum(r.verdict == "machine" for r in machines) >= len(machines) - 1, machines
    found = [r.evidence.analysed_s for r in machines if r.verdict == "machine"]
    assert float(np.median(found)) <= 4.0, found


def test_amd_hears_a_beep_that_comes_after_a_pause() -> None:
    """A short voicemail greeting, a second of silence, then the beep: decided when the
    greeting ended, it used to be "unknown" (and under hang-up policy, greeted as a person)."""
    greeting = np.concatenate([_silence(0.3), _prompt("vm-num-i-have")])  # ~1.8 s
    result = detect(np.concatenate([greeting, _silence(1.0), _beep(), _silence(2)]))
    assert (result.verdict, result.reason) == ("machine", "beep")
    for line in (greeting, _hiss(greeting)):
        pause_then_beep = np.concatenate([line, _hiss(_silence(1.0)), _beep(), _silence(2)])
        assert detect(pause_then_beep).verdict == "machine"


# Held out: never looked at while choosing the thresholds (short single-word answers of
# at most 1.3 s, and other voicemail prompts, each greeting also with a 1 s pause before
# the beep). README reports this confusion matrix.
HELD_OUT_HUMANS = ["vm-from", "vm-press", "vm-youhave", "vm-messages", "vm-saved"]
HELD_OUT_HUMANS += ["privacy-thankyou", "queue-seconds", "vm-extension", "vm-received"]
HELD_OUT_HUMANS += ["vm-Urgent", "vm-minutes", "vm-Family"]
HELD_OUT_MACHINES = [
    ["vm-rec-busy"],
    ["vm-rec-temp"],
    ["vm-tempgreeting"],
    ["vm-nobodyavail", "vm-tocallback"],
    ["vm-theperson", "vm-rec-busy"],
    ["vm-sorry", "vm-leavemsg"],
]


def _held_out() -> list[tuple[str, str, Pcm]]:
    cases = [
        ("human", name, np.concatenate([_silence(0.3), _prompt(name), _silence(3)]))
        for name in HELD_OUT_HUMANS
    ]
    for names in HELD_OUT_MACHINES:
        parts = [np.concatenate([_prompt(n), _silence(0.25)]) for n in names]
        for pause in (0.0, 1.0):
            line = np.concatenate([_silence(0.3), *parts, _silence(pause), _beep(), _silence(2)])
            cases.append(("machine", f"{'+'.join(names)} pause {pause:g} s", line))
    return cases


@pytest.mark.parametrize("snr_db", [None, 25.0, 20.0, 15.0])
def test_amd_held_out_set(snr_db: float | None) -> None:
    results = []
    for want, label, pcm in _held_out():
        line = pcm if snr_db is None else _noisy(pcm, snr_db)
        results.append((want, label, detect(line)))
    wrong = [(label, r.verdict, r.reason) for want, label, r in results if r.verdict != want]
    people_hung_up_on = [x for want, x, r in results if want == "human" and r.verdict == "machine"]
    assert not people_hung_up_on
    machines = [r for want, _, r in results if want == "machine"]
    assert sum(r.verdict == "machine" for r in machines) >= 0.9 * len(machines), wrong
    decided = [r.evidence.analysed_s for r in machines if r.verdict == "machine"]
    assert float(np.median(decided)) <= 4.0, decided


def test_amd_can_wait_for_a_beep_after_a_short_greeting() -> None:
    """ "Mensaje" (1 s), a pause, the beep: a person by default; a machine when the campaign
    accepts greeting people 1.5 s later to catch such greetings."""
    short = np.concatenate([_silence(0.3), _prompt("vm-message")])
    line = np.concatenate([short, _silence(1.0), _beep(), _silence(2)])
    assert detect(line).verdict == "human"
    patient = AmdSettings(short_greeting_beep_wait_s=1.5)
    assert (detect(line, patient).verdict, detect(line, patient).reason) == ("machine", "beep")
    person = detect(np.concatenate([short, _silence(3)]), patient)
    assert person.verdict == "human"
    assert person.evidence.silence_after_s >= 0.8 + 1.5  # the price: a later greeting
