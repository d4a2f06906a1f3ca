"""Callbacks an agent promised: validated like a promise, listed on the agent's desk for its day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from console_world import ConsoleWorld
from playwright.sync_api import Page, expect

from voicebot.campaigns.agent_results import AgentResultIn, ResultError, record, validate
from voicebot.domain.outcome import Disposition
from voicebot.storage import models as m
from voicebot.storage.db import transaction

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)


def test_a_callback_needs_an_aware_moment_ahead_within_the_limits() -> None:
    ok = validate(
        "CB",
        "",
        "",
        "",
        today=NOW.date(),
        max_days_ahead=20,
        callback_at="2026-12-03T10:00:00-05:00",
        now=NOW,
    )
    assert ok.callback_at == datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    for moment, code in (
        ("", "not_a_moment"),
        ("2026-12-03T10:00", "not_a_moment"),  # no offset: ambiguous
        ("2026-12-02T09:00:00-05:00", "out_of_range"),  # already past
        ("2027-02-01T10:00:00-05:00", "out_of_range"),  # beyond max_days_ahead
    ):
        with pytest.raises(ResultError) as error:
            validate(
                "CB", "", "", "", today=NOW.date(), max_days_ahead=20, callback_at=moment, now=NOW
            )
        assert (error.value.field, error.value.code) == ("callback_at", code), moment


def test_the_desk_lists_the_agents_callbacks_of_the_day(page: Page, console: ConsoleWorld) -> None:
    now = datetime.now(UTC)
    with transaction(console.sessions) as s:
        campaign = m.Campaign(
            name="cb", dialplan="cobranza_es", jurisdiction="CO", default_region="CO"
        )
        debtor = m.Debtor(external_id="X1", full_name="Inés Vargas", document_id="1")
        s.add_all([campaign, debtor])
        s.flush()
        debtor.debts.append(
            m.Debt(external_ref="D1", creditor="Banco Andino", amount=500_000, currency="COP")
        )
        attempt = m.CallAttempt(campaign_id=campaign.id, debtor_id=debtor.id, status="done")
        s.add(attempt)
        s.flush()
        mine = m.TransferRequest(
            attempt_id=attempt.id,
            debtor_id=debtor.id,
            reason="agent_request",
            status="accepted",
            agent="agente-1",
            accepted_at=now,
        )
        theirs = m.TransferRequest(
            attempt_id=attempt.id,
            debtor_id=debtor.id,
            reason="agent_request",
            status="accepted",
            agent="agente-2",
            accepted_at=now,
        )
        s.add_all([mine, theirs])
        s.flush()
        for transfer, when in ((mine, now), (theirs, now)):
            record(
                s,
                transfer=transfer,
                actor="test",
                at=now,
                result=AgentResultIn(Disposition.CB, None, None, "después del almuerzo", when),
            )
        tomorrow = m.TransferRequest(
            attempt_id=attempt.id,
            debtor_id=debtor.id,
            reason="x",
            status="accepted",
            agent="agente-1",
            accepted_at=now,
        )
        s.add(tomorrow)
        s.flush()
        record(
            s,
            transfer=tomorrow,
            actor="test",
            at=now,
            result=AgentResultIn(Disposition.CB, None, None, "mañana", now + timedelta(days=2)),
        )
    page.goto("/console/login")
    page.fill("input[name=api_key]", console.keys["agent"])
    page.click("button[type=submit]")
    callbacks = page.locator("#callbacks p")
    expect(callbacks).to_have_count(1)  # its own, today: not another agent's, not tomorrow's
    expect(callbacks).to_contain_text("Inés Vargas")
    expect(callbacks).to_contain_text("después del almuerzo")
