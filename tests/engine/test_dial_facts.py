"""What compliance is told about a dial: a one-number opt-out blocks that number only
(issue 9, finding 7: ``is_opted_out`` used to ignore the phone)."""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from voicebot.engine.dial_facts import dial_facts
from voicebot.storage import models as m
from voicebot.storage.repositories import record_opt_out


def test_a_number_opt_out_blocks_that_number_and_a_debtor_opt_out_every_number(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as s:
        campaign = m.Campaign(
            name="c", dialplan="cobranza_es", jurisdiction="CO", default_region="CO"
        )
        debtor = m.Debtor(external_id="D1", full_name="Ana", region="CO")
        s.add_all([campaign, debtor])
        s.flush()
        mobile = m.Phone(debtor_id=debtor.id, e164="+573101234567", kind="mobile")
        home = m.Phone(debtor_id=debtor.id, e164="+5716012345", kind="landline")
        s.add_all([mobile, home])
        s.flush()
        attempts = {
            phone.e164: m.CallAttempt(
                campaign_id=campaign.id, debtor_id=debtor.id, phone_id=phone.id
            )
            for phone in (mobile, home)
        }
        s.add_all(attempts.values())
        s.flush()
        record_opt_out(s, debtor_id=debtor.id, source="api", actor="t", phone=mobile.e164)
        facts = {e164: dial_facts(s, a)[0].opted_out for e164, a in attempts.items()}
        assert facts == {"+573101234567": True, "+5716012345": False}
        record_opt_out(s, debtor_id=debtor.id, source="api", actor="t")
        assert all(dial_facts(s, a)[0].opted_out for a in attempts.values())
