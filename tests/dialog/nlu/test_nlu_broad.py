"""Every line of the broader labeled set, one test each, so a regression names its sentence."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from voicebot.dialog.nlu import understand
from voicebot.dialog.nlu.evaluate import Example, read_examples

TODAY = date(2026, 11, 23)
EXAMPLES = read_examples(
    (Path(__file__).parent / "nlu_broad.jsonl").read_text(encoding="utf-8").splitlines()
)


@pytest.mark.parametrize("example", EXAMPLES, ids=[f"line{e.line}" for e in EXAMPLES])
def test_broad_line(example: Example) -> None:
    said = understand(example.text, today=TODAY)
    assert said.intent is example.intent
    if example.amount is not None:
        assert said.amount == example.amount
    if example.dates is not None:
        assert said.date in example.dates
