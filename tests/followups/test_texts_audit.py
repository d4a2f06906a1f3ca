"""`compliance audit` replays texts too: each sent text judged again on its recorded facts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from followups_world import promised
from sqlalchemy.orm import Session, sessionmaker

from voicebot.campaigns.compliance_audit import UNAUDITED_TEXT, audit_campaign
from voicebot.engine.message_sender import send_due
from voicebot.messaging.log_channel import LogChannel
from voicebot.storage import models as m
from voicebot.storage.db import transaction

CALL_ENDED = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # Tuesday, 13:00 in New York
DUE = date(2026, 11, 27)


def _sent_behind_the_senders_back(
    sessions: sessionmaker[Session], campaign_id: int, debtor_id: int, to: str, at: datetime
) -> int:
    """A text that left without the sender's check (another system, an old bug)."""
    with transaction(sessions) as s:
        message = m.Message(
            idempotency_key=f"manual:{at.isoformat()}",
            debtor_id=debtor_id,
            campaign_id=campaign_id,
            kind="reminder",
            channel="sms",
            to=to,
            body="Cobranzas Andinas: ...",
            status="delivered",
            provider="twilio",
            sent_at=at,
        )
        s.add(message)
        s.flush()
        return message.id


def test_a_text_that_should_have_been_refused_is_reported_and_a_lawful_one_is_not(
    sessions: sessionmaker[Session],
) -> None:
    world = promised(
        sessions,
        call_ended=CALL_ENDED,
        due=DUE,
        jurisdiction="US",
        phone="+12125550123",
        zone="America/New_York",
        region="US",
        tcpa_consent=True,
        messaging={"reminder": "call"},
    )
    channel = LogChannel()
    assert len(send_due(sessions, channel, now=CALL_ENDED).sent) == 1
    with transaction(sessions) as s:  # consent revoked later: the earlier text stays lawful
        s.get_one(m.Debtor, world.debtor_id).tcpa_consent = False
    late_night = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # 22:30 in New York
    night_id = _sent_behind_the_senders_back(
        sessions, world.campaign_id, world.debtor_id, world.phone, late_night
    )
    with transaction(sessions) as s:  # an allowance recorded on the facts of the day (consent)
        allowed = s.query(m.AuditEntry).filter_by(action="message_allowed").one()
        s.add(
            m.AuditEntry(
                actor="old-sender",
                action="message_allowed",
                debtor_id=world.debtor_id,
                campaign_id=world.campaign_id,
                details={**allowed.details, "message_id": night_id},
                at=late_night,
            )
        )
    unchecked_id = _sent_behind_the_senders_back(
        sessions,
        world.campaign_id,
        world.debtor_id,
        world.phone,
        CALL_ENDED + timedelta(days=2),  # Thursday 13:00: lawful hour, consent gone
    )
    with sessions() as s:
        report = audit_campaign(s, world.campaign_id)
    assert len(report.texts) == 3
    [link] = [t for t in report.texts if t.kind == "payment_link"]
    assert link.lawful and link.channel == "sms" and link.timezone == "America/New_York"
    assert "US" in link.jurisdictions
    by_id = {t.message_id: t for t in report.text_violations}
    assert set(by_id) == {night_id, unchecked_id}
    # Judged on its recorded facts (consent then): the hour is what was wrong.
    assert by_id[night_id].rule == "us_hours"
    # No allowance on record: today's facts, and consent is gone.
    assert by_id[unchecked_id].rule == "us_consent_mobile"
    summary = report.to_json()
    assert (summary["texts"], summary["text_violation_count"]) == (3, 2)
    assert summary["text_violations_by_rule"] == {"us_consent_mobile": 1, "us_hours": 1}
    assert report.texts_csv().count("\n") == 4  # header and every text, lawful or not


def test_a_lawful_text_sent_without_an_allowance_on_record_is_flagged(
    sessions: sessionmaker[Session],
) -> None:
    world = promised(
        sessions,
        call_ended=CALL_ENDED,
        due=DUE,
        jurisdiction="US",
        phone="+12125550123",
        zone="America/New_York",
        region="US",
        tcpa_consent=True,
        link_requested=None,
        messaging={"reminder": "call"},
    )
    unchecked = _sent_behind_the_senders_back(
        sessions, world.campaign_id, world.debtor_id, world.phone, CALL_ENDED
    )
    with sessions() as s:
        [text] = audit_campaign(s, world.campaign_id).texts
    assert (text.message_id, text.lawful, text.rule) == (unchecked, False, UNAUDITED_TEXT)
