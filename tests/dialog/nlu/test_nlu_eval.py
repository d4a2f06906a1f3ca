"""Scoring labeled JSONL: rates, misses, and clear errors for bad lines."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from voicebot.dialog.nlu import understand
from voicebot.dialog.nlu.evaluate import LabeledDataError, read_examples, render, score
from voicebot.dialog.understanding import Understanding

TODAY = date(2026, 11, 23)


def _understand(text: str) -> Understanding:
    return understand(text, today=TODAY)


def test_dev_set_meets_the_targets(dev_set: Path) -> None:
    examples = read_examples(dev_set.read_text(encoding="utf-8").splitlines())
    result = score(examples, _understand)
    assert result.intents == len(examples) >= 37
    assert result.intent_accuracy is not None and result.intent_accuracy >= 0.95
    assert result.amount_exact == 1.0
    assert result.date_exact == 1.0


def test_misses_are_listed_with_line_expected_and_got() -> None:
    lines = [
        '{"text": "ya pagué", "intent": "already_paid"}',
        "",
        '{"text": "ya pagué", "intent": "deny"}',
        '{"text": "le pago cien mil el lunes", "intent": "promise_to_pay",'
        ' "amount": 200000, "date": ["2026-11-30", "2026-12-07"]}',
        '{"text": "le pago el viernes", "intent": "promise_to_pay", "date": "2026-11-28"}',
    ]
    result = score(read_examples(lines), _understand)
    assert (result.intents, result.intents_right) == (4, 3)
    assert (result.amounts, result.amounts_right) == (1, 0)
    assert (result.dates, result.dates_right) == (2, 1)  # a date in the list counts
    assert [(m.line, m.field, m.expected, m.got) for m in result.misses] == [
        (3, "intent", "deny", "already_paid"),
        (4, "amount", "200000", "100000"),
        (5, "date", "2026-11-28", "2026-11-27"),
    ]
    text = render(result)
    assert "intent accuracy:    3/4 = 75.0 %" in text
    assert "line 3: 'ya pagué': expected deny, got already_paid" in text
    assert result.to_json()["date"] == {"total": 2, "right": 1, "exact": 0.5}


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json", "not valid JSON"),
        ('["text", "intent"]', "expected a JSON object"),
        ('{"intent": "affirm"}', 'missing "text"'),
        ('{"text": "sí"}', 'missing "intent"'),
        ('{"text": "sí", "intent": "yes"}', "'yes' is not one of: affirm, deny"),
        ('{"text": "x", "intent": "affirm", "amount": "mucho"}', '"amount" must be a number'),
        ('{"text": "x", "intent": "affirm", "amount": true}', '"amount" must be a number'),
        ('{"text": "x", "intent": "affirm", "date": "30/11/2026"}', "not an ISO day"),
        ('{"text": "x", "intent": "affirm", "date": []}', '"date" list is empty'),
    ],
)
def test_bad_lines_name_their_line_and_problem(line: str, problem: str) -> None:
    good = '{"text": "sí", "intent": "affirm"}'
    with pytest.raises(LabeledDataError) as info:
        read_examples([good, "", line, good])
    assert info.value.line == 3
    assert problem in str(info.value)


def test_own_broader_set_meets_the_targets() -> None:
    """A labeled set written apart from the dev set, scored the way the CLI scores."""
    lines = (Path(__file__).parent / "nlu_broad.jsonl").read_text(encoding="utf-8").splitlines()
    result = score(read_examples(lines), _understand)
    assert result.intents >= 50
    assert result.intent_accuracy is not None and result.intent_accuracy >= 0.95, render(result)
    assert result.amount_exact == 1.0, render(result)
    assert result.date_exact == 1.0, render(result)
