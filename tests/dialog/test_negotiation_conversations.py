"""Whole conversations off the happy path, with the default dialplan, on the text line.

Two debtors (Colombia with document check, Mexico without) and wordings of their
own, so these are not the evaluation set's sentences. Each line states what the
outcome must show (see `voicebot eval dialog`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from voicebot.dialog.plan import Dialplan
from voicebot.engine.conversation_eval import Conversation, check, play, read_conversations

HERE = Path(__file__).resolve().parent
CONVERSATIONS = read_conversations(
    (HERE / "negotiation_conversations.jsonl").read_text(encoding="utf-8").splitlines()
)


@pytest.mark.parametrize("conversation", CONVERSATIONS, ids=[c.id for c in CONVERSATIONS])
def test_conversation_ends_as_expected(plan: Dialplan, conversation: Conversation) -> None:
    outcome, line = play(plan, conversation)
    assert check(conversation, outcome) == (), [t.text for t in outcome.transcript]
    if not outcome.right_party_contacted:
        assert not any(s.discloses_debt for s in line.said)
