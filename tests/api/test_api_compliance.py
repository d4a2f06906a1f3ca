"""Compliance over HTTP: contacts made elsewhere count; a campaign's dials replayed for an auditor."""

from __future__ import annotations

from datetime import datetime, timedelta

from api_world import World
from sqlalchemy import select

from voicebot.campaigns.compliance import check
from voicebot.campaigns.compliance_facts import gather
from voicebot.storage import models as m


def test_a_contact_reported_by_an_agent_counts_toward_the_caps(world: World) -> None:
    debtor_id = world.debtors["C1"]
    body = {
        "at": "2026-11-24T09:00:00-05:00",
        "channel": "agent",
        "result": "answered",
        "source": "agencia-norte",
    }
    first = world.client.post(
        f"/debtors/{debtor_id}/contacts", json=body, headers=world.auth("agent")
    )
    assert first.status_code == 201, first.text
    assert first.json()["channel"] == "agent"
    again = world.client.post(
        f"/debtors/{debtor_id}/contacts", json=body, headers=world.auth("agent")
    )
    assert again.json()["id"] == first.json()["id"]  # reported twice, stored once
    naive = world.client.post(
        f"/debtors/{debtor_id}/contacts",
        json={**body, "at": "2026-11-24T09:00:00"},
        headers=world.auth("agent"),
    )
    assert naive.status_code == 422 and "UTC offset" in naive.text
    fax = world.client.post(
        f"/debtors/{debtor_id}/contacts",
        json={**body, "channel": "fax"},
        headers=world.auth("agent"),
    )
    assert fax.status_code == 422
    assert (
        world.client.post(
            f"/debtors/{debtor_id}/contacts", json=body, headers=world.auth("auditor")
        ).status_code
        == 403
    )
    assert (
        world.client.post(
            "/debtors/99999/contacts", json=body, headers=world.auth("agent")
        ).status_code
        == 404
    )
    with world.sessions() as s:
        attempt = s.scalars(
            select(m.CallAttempt).where(m.CallAttempt.debtor_id == debtor_id)
        ).first()
        assert attempt is not None
        facts, history = gather(s, attempt)
    later = datetime.fromisoformat(body["at"]) + timedelta(hours=3)
    assert check(facts, history, later).rule == "co_one_contact_per_day"


def test_the_campaign_compliance_report_is_the_cli_audit(world: World) -> None:
    response = world.client.get(
        f"/campaigns/{world.campaign_id}/compliance", headers=world.auth("auditor")
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert set(report) >= {"dials", "violation_count", "violations_by_rule", "violations"}
    # This world's calls were recorded without the dialer: no dial_allowed entry proves them.
    assert report["violation_count"] == report["dials"]
    assert set(report["violations_by_rule"]) <= {"unaudited_dial", "phone_invalid", "opt_out"}
    since = world.client.get(
        f"/campaigns/{world.campaign_id}/compliance",
        params={"since": "2030-01-01T00:00:00"},
        headers=world.auth("auditor"),
    )
    assert since.json()["dials"] == 0
    assert (
        world.client.get(
            f"/campaigns/{world.campaign_id}/compliance", headers=world.auth("agent")
        ).status_code
        == 403
    )
