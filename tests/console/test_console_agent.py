"""The agent's flow in Chromium: available → a call asks for an agent → the pop (pushed by the
desk's event stream, no reload) → accept → record a promise → the call in the calls list.

How fast the pop comes is a property of the desk's tick (``api.console_desk_tick_seconds``), not
something a test on a loaded machine can time: the wait here is generous on purpose."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from console_world import GOOD_ROWS, SCREENSHOTS, ConsoleWorld, dialer_thread
from playwright.sync_api import Page, expect
from recording_world import Seeded, stored_recording
from sqlalchemy import select

from voicebot.campaigns.lifecycle import launch_campaign
from voicebot.campaigns.portfolio import import_csv
from voicebot.recording.store import LocalStore
from voicebot.storage import models as m
from voicebot.storage.db import transaction
from voicebot.storage.models import utc_now


def launched_campaign(console: ConsoleWorld) -> int:
    with transaction(console.sessions) as s:
        campaign = m.Campaign(
            name="mora-temprana",
            dialplan="cobranza_es",
            jurisdiction="CO",
            default_region="CO",
            company="Gestión Integral de Cartera",
            limits={"min_payment": "400000", "max_days_ahead": 20},
        )
        s.add(campaign)
        s.flush()
        campaign_id = campaign.id
    report = import_csv(
        console.sessions, GOOD_ROWS.encode(), default_region="CO", campaign_id=campaign_id
    )
    assert not report.errors, report.errors
    with transaction(console.sessions) as s:
        launch_campaign(s, campaign_id=campaign_id, now=utc_now(), actor="test")
    return campaign_id


def test_warm_transfer_pops_is_accepted_and_its_promise_recorded(
    page: Page, console: ConsoleWorld, tmp_path: Path
) -> None:
    campaign_id = launched_campaign(console)
    page.goto("/console/login")
    page.fill("input[name=api_key]", console.keys["agent"])
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Escritorio del asesor")
    page.click("button:has-text('Ponerme disponible')")
    expect(page.locator(".waiting")).to_be_visible()
    page.evaluate("window.__sameDocument = true")

    thread, runner = dialer_thread(console, campaign_id, tmp_path, hold=True)
    assert runner.queued.wait(60), "the scripted debtor never asked for an agent"
    pop = page.locator("article.pop")
    expect(pop).to_be_visible(timeout=15_000)  # pushed by SSE, the page never reloads
    assert page.evaluate("window.__sameDocument") is True
    expect(pop.locator("dd.debtor")).to_have_text("Bruno Díaz")
    expect(pop).to_contain_text("quiero hablar con un asesor")
    expect(pop).to_contain_text("Identidad verificada")
    expect(pop).to_contain_text("1.200.000,00 COP")  # es-419 separators
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "agent-pop.png"), full_page=True)

    pop.locator("button:has-text('Aceptar')").click()
    expect(page.locator("h1")).to_contain_text("Resultado de la llamada")
    runner.released.set()  # the agent is on the line: the bot's leg ends
    thread.join(60)

    page.select_option("select[name=disposition]", "PTP")
    page.fill("input[name=amount]", "0")
    page.fill("input[name=due_date]", (date.today() + timedelta(days=5)).isoformat())
    page.click("button:has-text('Guardar resultado')")
    expect(page.locator("[role=alert]")).to_have_text("El valor está fuera del rango permitido.")
    page.fill("input[name=amount]", "600000")
    page.click("button:has-text('Guardar resultado')")
    expect(page.locator(".flash")).to_contain_text("Resultado guardado.")

    with console.sessions() as s:
        promise = s.scalars(select(m.PromiseToPay).where(m.PromiseToPay.amount == 600000)).one()
        assert promise.currency == "COP"
        assert s.scalar(select(m.AgentResult.disposition)) == "PTP"

    page.click("nav >> text=Llamadas")
    row = page.locator("#calls tbody tr", has_text="Bruno Díaz")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("PTP")
    expect(page.locator("#calls tbody tr")).to_have_count(1)  # only the call it took

    with console.sessions() as s:
        call = s.scalars(
            select(m.CallRecord).join(
                m.TransferRequest, m.TransferRequest.attempt_id == m.CallRecord.attempt_id
            )
        ).one()
        seeded = Seeded(call.campaign_id, call.debtor_id, call.attempt_id)
    stored_recording(console.sessions, LocalStore(console.settings.recordings.dir), seeded)
    row.locator("a").first.click()
    expect(page.locator(".transcript")).to_contain_text("quiero hablar con un asesor")
    expect(page.locator("audio")).to_have_attribute("src", f"/console/calls/{call.id}/recording")
    audio = page.request.get(f"/console/calls/{call.id}/recording", headers={"Range": "bytes=0-3"})
    assert audio.status == 206 and audio.body() == b"fLaC"
    with console.sessions() as s:
        listened = s.scalars(
            select(m.AuditEntry.actor).where(m.AuditEntry.action == "recording_listened")
        ).all()
    assert listened == ["agente-1"]
