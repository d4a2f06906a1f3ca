"""Fixtures for dialog tests: the default plan and a Colombian debtor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dialog_calls import TODAY

from voicebot.data import DEFAULT_DIALPLAN
from voicebot.dialog.plan import Dialplan
from voicebot.dialog.plan_loader import load_dialplan
from voicebot.domain.context import CallContext, context_from_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def plan() -> Dialplan:
    return load_dialplan(DEFAULT_DIALPLAN)


@pytest.fixture
def context() -> CallContext:
    """The README's example debtor (examples/debtor.json), called on Monday 23 November 2026."""
    data = json.loads((ROOT / "examples" / "debtor.json").read_text(encoding="utf-8"))
    return context_from_json(data, today=TODAY)
