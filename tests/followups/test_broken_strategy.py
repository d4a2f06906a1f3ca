"""After a broken promise: each segment's next step (text first or call, when, priority)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from followups_world import audit, messages, promised
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.compliance import check
from voicebot.engine.dial_facts import dial_facts
from voicebot.engine.message_sender import send_due
from voicebot.followups.payments import break_overdue
from voicebot.followups.policy import PolicyError, read_policy
from voicebot.messaging.log_channel import LogChannel
from voicebot.storage import models as m
from voicebot.storage.db import transaction

CALL_ENDED = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # Tuesday, 15:00 in Lima
DUE = date(2026, 11, 27)
MONDAY = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)  # 10:00 in Lima: past the day of grace
STRATEGY = {
    "preventiva": {"first": "text", "call_after_hours": 48, "priority": 7},
    "*": {"first": "call", "call_after_hours": 2},
}


def _broken_requeue(sessions: sessionmaker[Session], debtor_id: int) -> m.CallAttempt:
    with sessions() as s:
        attempt = s.query(m.CallAttempt).filter_by(debtor_id=debtor_id, kind="broken_promise").one()
        s.expunge(attempt)
        return attempt


def _world(sessions: sessionmaker[Session], name: str, segment: str, **kw: Any) -> Any:
    world = promised(
        sessions,
        call_ended=kw.pop("call_ended", CALL_ENDED),
        due=DUE,
        name=name,
        segment=segment,
        link_requested=None,
        messaging={"reminder": "call", "after_broken": STRATEGY},
        **kw,
    )
    with transaction(sessions) as s:  # the reminder and check calls already happened
        s.query(m.CallAttempt).filter(
            m.CallAttempt.debtor_id == world.debtor_id, m.CallAttempt.status == "queued"
        ).update({"status": "done", "disposition": "NA"})
    return world


def test_each_segment_gets_its_own_next_step(sessions: sessionmaker[Session]) -> None:
    texted = _world(sessions, "a", "preventiva")
    called = _world(sessions, "b", "castigada")
    with transaction(sessions) as s:
        source_priority = s.get_one(
            m.CallAttempt, s.get_one(m.PromiseToPay, called.promise_id).attempt_id
        ).priority
        assert sorted(break_overdue(s, now=MONDAY, actor="t")) == sorted(
            [texted.promise_id, called.promise_id]
        )
    first = _broken_requeue(sessions, texted.debtor_id)
    assert (first.due_at, first.priority) == (MONDAY + timedelta(hours=48), 7)
    [notice] = messages(sessions, texted.debtor_id)
    assert (notice.kind, notice.status, notice.channel) == ("broken_promise", "pending", "sms")
    assert notice.body.startswith("Cobranzas Andinas: Ana, no hemos recibido su pago de $150.000")
    assert "BAJA" in notice.body and notice.discloses
    assert notice.send_by == MONDAY + timedelta(hours=48)
    # Any other segment: the "*" step, a call two hours later and no text.
    other = _broken_requeue(sessions, called.debtor_id)
    assert (other.due_at, other.priority) == (MONDAY + timedelta(hours=2), source_priority + 1)
    assert messages(sessions, called.debtor_id) == []
    # The text goes out once, through the sender like every other text.
    channel = LogChannel()
    assert len(send_due(sessions, channel, now=MONDAY).sent) == 1
    assert [sent.to for sent in channel.sent] == [texted.phone]


def test_compliance_still_judges_the_new_text_and_the_new_call(
    sessions: sessionmaker[Session],
) -> None:
    """US, no consent on file: the text first and the call after are both refused."""
    world = _world(
        sessions,
        "us",
        "preventiva",
        call_ended=datetime(2026, 11, 24, 18, 0, tzinfo=UTC),
        jurisdiction="US",
        phone="+12125550123",
        zone="America/New_York",
        region="US",
    )
    noon = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # 12:00 in New York
    with transaction(sessions) as s:
        assert break_overdue(s, now=noon, actor="t") == [world.promise_id]
    channel = LogChannel()
    report = send_due(sessions, channel, now=noon)
    assert len(report.refused) == 1 and channel.sent == []
    assert audit(sessions, "message_refused")[0].rule == "us_consent_mobile"
    assert messages(sessions, world.debtor_id)[0].status == "refused"
    with sessions() as s:
        attempt = s.query(m.CallAttempt).filter_by(kind="broken_promise").one()
        facts, history = dial_facts(s, attempt)
        decision = check(facts, history, attempt.due_at)
    assert (decision.allowed, decision.rule) == (False, "us_consent_mobile")


@pytest.mark.parametrize(
    ("after_broken", "error"),
    [
        ({"x": {"first": "visit"}}, r"after_broken\.x\.first: one of call, text, got 'visit'"),
        ({"x": {"call_after_hours": -1}}, r"after_broken\.x\.call_after_hours: whole hours"),
        ({"x": {"call_after_hours": "2"}}, r"after_broken\.x\.call_after_hours"),
        ({"x": {"priority": 1.5}}, r"after_broken\.x\.priority: a whole number"),
        ({"x": {"when": 1}}, r"after_broken\.x: unknown keys \['when'\]"),
        ({"x": "text"}, r"after_broken\.x: expected"),
        (["text"], r"after_broken: a mapping segment"),
    ],
)
def test_a_bad_strategy_is_refused_with_the_key_named(after_broken: Any, error: str) -> None:
    with pytest.raises(PolicyError, match=error):
        read_policy({"channel": "sms", "after_broken": after_broken})


def test_texting_first_needs_a_channel() -> None:
    with pytest.raises(
        PolicyError, match=r"preventiva text first, but messaging\.channel is empty"
    ):
        read_policy({"after_broken": {"preventiva": {"first": "text"}}})
    calls_only = read_policy({"after_broken": {"*": {"first": "call", "priority": 3}}})
    assert calls_only.after_broken_step("any").priority == 3
    assert read_policy({}).after_broken_step("any").call_after_hours == 0
