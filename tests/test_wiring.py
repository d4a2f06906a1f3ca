"""The composition root builds what the settings describe, and refuses half-configured carriers."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from voicebot.config import Settings, TwilioConfig
from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.wiring import debtor_turn, twilio_carrier


def test_voicemail_message_reveals_nothing_about_the_debt(tmp_path: Path) -> None:
    plan = load_dialplan(DEFAULT_DIALPLAN)
    assert not plan.prompts["voicemail_message"].discloses
    settings = Settings(
        company="Servicios Andinos",
        callback_number="6015550100",
        twilio=TwilioConfig(
            account_sid="AC" + "0" * 32,
            auth_token="secret",
            from_number="+15005550006",
            public_base_url="https://bot.example",
            on_machine="leave_message",
        ),
    )
    settings.speech.tts_cache_dir = tmp_path
    carrier = twilio_carrier(settings, plan)
    assert carrier.voicemail is not None
    audio = asyncio.run(carrier.voicemail())
    assert audio.dtype == np.int16 and audio.size > 8000  # seconds of real speech
    asyncio.run(carrier.close())


def test_twilio_needs_its_credentials() -> None:
    plan = load_dialplan(DEFAULT_DIALPLAN)
    with pytest.raises(ValueError, match="VOICEBOT_TWILIO__ACCOUNT_SID"):
        twilio_carrier(Settings(), plan)


def test_text_turn_notation_maps_to_voice_turns() -> None:
    assert type(debtor_turn("")).__name__ == "Silent"
    assert type(debtor_turn("<colgar>")).__name__ == "HangUp"
    assert debtor_turn("#1234").digits == "1234"  # type: ignore[union-attr]
    assert debtor_turn("sí, soy yo").text == "sí, soy yo"  # type: ignore[union-attr]


def test_a_worker_keeps_as_many_warm_recognizers_as_it_prewarms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from voicebot.wiring import speech_model

    monkeypatch.setenv("VOICEBOT_SPEECH__LANGUAGE", "ko")  # the model installed here
    monkeypatch.setenv("VOICEBOT_SPEECH__PREWARM_RECOGNIZERS", "9")
    assert speech_model(Settings()).settings.pool_size == 9  # calls 5-9 are not handed cold ones
    monkeypatch.setenv("VOICEBOT_SPEECH__PREWARM_RECOGNIZERS", "0")
    assert speech_model(Settings()).settings.pool_size == 4  # finished calls still warm the pool
