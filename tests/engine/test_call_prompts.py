"""Prompts known at claim: the debtor's greeting and disclosure are rendered before the dial."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from pathlib import Path

from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.dialog.prompts import render_prompt
from voicebot.domain.context import CallContext, context_from_json
from voicebot.domain.outcome import Disposition
from voicebot.engine.call_prompts import prompts_known_at_claim
from voicebot.engine.carrier_runner import CarrierCallRunner
from voicebot.engine.dialer import DialRequest
from voicebot.speech.tts_cache import TtsCache
from voicebot.speech.tts_espeak import EspeakSynthesizer, VoiceSettings
from voicebot.speech.vosk_asr import VoskSpeechModel
from voicebot.telephony.carrier import DialFailure
from voicebot.telephony.simulated import DebtorScript, SimulatedCarrier

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 in Bogotá


def _context() -> CallContext:
    data = json.loads((ROOT / "examples" / "debtor.json").read_text(encoding="utf-8"))
    return context_from_json(data, today=date(2026, 11, 24))


def test_the_opening_comes_first_and_only_what_the_call_cannot_change_is_listed() -> None:
    plan = load_dialplan(DEFAULT_DIALPLAN)
    ctx = _context()
    texts = prompts_known_at_claim(plan, ctx, AT)
    p = plan.prompts
    assert texts[0] == render_prompt(p["greeting"], ctx, {}, AT)
    assert ctx.debtor.full_name in texts[0]
    assert render_prompt(p["disclosure"], ctx, {}, AT) in texts
    static = {prompt.text for prompt in plan.static_prompts()}
    assert not static & set(texts)  # rendered at launch already
    # Nothing that hangs on the conversation: a promise's amount is not known before it.
    assert not any(text.startswith(p["confirm_promise"].text[:15]) for text in texts)
    assert len(texts) == len(set(texts))


def test_the_runner_renders_them_before_it_dials(tmp_path: Path, ko_model: VoskSpeechModel) -> None:
    plan = load_dialplan(DEFAULT_DIALPLAN)
    ctx = _context()
    cache = TtsCache(EspeakSynthesizer(VoiceSettings("es-419", 175)), tmp_path / "tts")
    busy = DebtorScript(failure=DialFailure(Disposition.BUSY, 486, "Busy Here"))
    runner = CarrierCallRunner(plan, SimulatedCarrier({"+573001": busy}), ko_model, cache)
    request = DialRequest(1, "+573001", ctx, clock=lambda: AT)
    result = asyncio.run(runner.run(request))
    assert result == busy.failure  # nobody answered...
    for text in prompts_known_at_claim(plan, ctx, AT):  # ...and the debtor's prompts are ready
        assert cache.cached(text)
    assert cache.stats.misses == len(prompts_known_at_claim(plan, ctx, AT))
