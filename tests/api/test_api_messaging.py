"""Twilio's messaging webhooks on the API: signed or refused; statuses and texts on the history."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from api_world import World, make_settings, open_world

from testbeds.twilio_messaging import AUTH_TOKEN, FROM, TwilioStandIn
from voicebot.config import MessagingConfig, TwilioConfig
from voicebot.storage import models as m
from voicebot.storage.db import transaction, upgrade

PUBLIC = "https://api.cobranzas.example"


@pytest.fixture
def signed(tmp_path: Path) -> Iterator[World]:
    url = f"sqlite:///{tmp_path / 'api.sqlite3'}"
    upgrade(url)
    settings = make_settings(
        url,
        messaging=MessagingConfig(public_api_url=PUBLIC),
        twilio=TwilioConfig(auth_token=AUTH_TOKEN),
    )
    yield from open_world(url, settings)


def _debtor_with_a_text(world: World) -> tuple[int, int]:
    with transaction(world.sessions) as s:
        campaign = m.Campaign(name="c", dialplan="x", jurisdiction="PE", default_region="PE")
        debtor = m.Debtor(external_id="D1", full_name="Ana Quispe", timezone="America/Lima")
        s.add_all([campaign, debtor])
        s.flush()
        s.add(m.Phone(debtor_id=debtor.id, e164="+51987654321", kind="mobile"))
        message = m.Message(
            idempotency_key="payment_link:1",
            debtor_id=debtor.id,
            campaign_id=campaign.id,
            kind="payment_link",
            channel="sms",
            to="+51987654321",
            body="Cobranzas Andinas: ...",
            status="queued",
            provider="twilio",
            provider_id="SM00000000000000000000000000000001",
        )
        s.add(message)
        s.flush()
        return debtor.id, message.id


def test_a_signed_status_is_stored_and_shown_on_the_debtors_history(signed: World) -> None:
    debtor_id, message_id = _debtor_with_a_text(signed)
    sent = {
        "sid": "SM00000000000000000000000000000001",
        "From": FROM,
        "To": "+51987654321",
        "StatusCallback": f"{PUBLIC}/messaging/twilio/status?message={message_id}",
    }
    url, form, signature = TwilioStandIn().status_callback(sent, "delivered")
    path = url.removeprefix(PUBLIC)
    forged = signed.client.post(
        path, data={**form, "MessageStatus": "failed"}, headers={"X-Twilio-Signature": signature}
    )
    assert forged.status_code == 403
    answer = signed.client.post(path, data=form, headers={"X-Twilio-Signature": signature})
    assert answer.status_code == 204, answer.text
    history = signed.client.get(f"/debtors/{debtor_id}", headers=signed.auth("auditor")).json()
    (message,) = history["messages"]
    assert message["status"] == "delivered"
    assert [s["status"] for s in message["statuses"]] == ["delivered"]


def test_baja_by_text_opts_out_and_is_confirmed_in_twiml(signed: World) -> None:
    debtor_id, _ = _debtor_with_a_text(signed)
    url = f"{PUBLIC}/messaging/twilio/inbound"
    form, signature = TwilioStandIn().inbound(url, "+51987654321", FROM, "Baja", "SM77")
    answer = signed.client.post(
        "/messaging/twilio/inbound", data=form, headers={"X-Twilio-Signature": signature}
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith(
        "application/xml"
    )
    assert "<Message>" in answer.text and "no le enviaremos más mensajes" in answer.text
    history = signed.client.get(f"/debtors/{debtor_id}", headers=signed.auth("auditor")).json()
    assert [(o["phone"], o["source"]) for o in history["opt_outs"]] == [("+51987654321", "message")]
    assert [i["action"] for i in history["inbound_messages"]] == ["opt_out"]
    unsigned = signed.client.post("/messaging/twilio/inbound", data=form)
    assert unsigned.status_code == 403


def test_without_twilio_settings_the_webhooks_refuse_everything(empty: World) -> None:
    answer = empty.client.post("/messaging/twilio/status", data={"MessageSid": "SM1"})
    assert answer.status_code == 403 and "VOICEBOT_MESSAGING__PUBLIC_API_URL" in answer.text


def test_payments_are_uploaded_all_or_nothing(signed: World) -> None:
    debtor_id, _ = _debtor_with_a_text(signed)
    with transaction(signed.sessions) as s:
        s.add(
            m.Debt(
                debtor_id=debtor_id,
                external_ref="CR-1",
                creditor="Banco",
                amount=Decimal(900000),
                currency="PEN",
            )
        )
    header = b"payment_id,debt_ref,amount,currency,paid_on\n"
    manager = signed.auth("manager")
    bad = signed.client.post(
        "/payments/csv",
        files={
            "file": ("p.csv", header + b"P1,CR-1,10,PEN,2026-11-25\nP2,CR-9,5,PEN,2026-11-25\n")
        },
        headers=manager,
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["problems"] == ["line 3: no debt with reference 'CR-9'"]
    good = signed.client.post(
        "/payments/csv",
        files={"file": ("p.csv", header + b"P1,CR-1,10,PEN,2026-11-25\n")},
        headers=manager,
    )
    assert good.status_code == 200, good.text
    assert good.json() == {
        "imported": 1,
        "already_imported": 0,
        "partial": 0,
        "unmatched": 1,
        "kept": [],
    }
    with signed.sessions() as s:
        assert s.query(m.Payment).count() == 1
