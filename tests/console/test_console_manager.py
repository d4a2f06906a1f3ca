"""The manager's flow in Chromium: sign in, create, upload with bad rows, launch, watch, pause."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from console_world import BAD_ROWS, GOOD_ROWS, SCREENSHOTS, ConsoleWorld, dialer_thread
from playwright.sync_api import Page, expect
from sqlalchemy import select

from voicebot.campaigns.status import campaign_status
from voicebot.storage import models as m


def sign_in(page: Page, key: str) -> None:
    page.goto("/console/login")
    page.fill("input[name=api_key]", key)
    page.click("button[type=submit]")


def test_manager_creates_uploads_launches_watches_and_pauses(
    page: Page, console: ConsoleWorld, tmp_path: Path
) -> None:
    sign_in(page, console.keys["manager"])
    expect(page.locator("h1")).to_have_text("Campañas")  # es-419 by default
    page.click("text=Nueva campaña")
    page.fill("input[name=name]", "mora-temprana")
    page.fill("input[name=company]", "Gestión Integral de Cartera")
    page.fill("input[name=min_payment]", "400000")
    page.click("button:has-text('Crear')")
    expect(page.locator("h1")).to_contain_text("mora-temprana")
    campaign_id = int(page.url.rstrip("/").rsplit("/", 1)[1])

    csv = tmp_path / "cartera.csv"
    csv.write_text(GOOD_ROWS + BAD_ROWS, encoding="utf-8")
    page.click("summary")
    page.set_input_files("input[name=file]", str(csv))
    page.click("button:has-text('Cargar y validar')")
    report = page.locator("table.report tbody tr")
    expect(report.first).to_be_visible()
    lines = report.locator("td:first-child").all_inner_texts()
    assert sorted(set(lines)) == ["6", "7"], lines  # the header is line 1
    assert report.filter(has_text="telefono").count() >= 1
    assert report.filter(has_text="saldo").count() >= 1
    expect(page.locator("#report")).to_contain_text("4 importadas")

    page.click("a.button:has-text('Lanzar')")
    expect(page.locator("h1")).to_have_text("Confirmar")
    page.click("button:has-text('Sí, confirmar')")
    expect(page.locator("h1 small")).to_contain_text("en curso")
    page.goto(f"/console/campaigns/{campaign_id}")
    attempts = page.locator("[data-kpi=attempts]")
    expect(attempts).to_have_text("0")
    page.evaluate("window.__sameDocument = true")

    thread, _ = dialer_thread(console, campaign_id, tmp_path)
    expect(attempts).to_have_text("4", timeout=60_000)  # pushed by SSE, no reload
    thread.join(60)
    expect(page.locator("[data-funnel=promise]")).to_have_text("1", timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator(".chart canvas").first).to_be_attached()

    # The numbers `voicebot campaign status` prints for the same database.
    cli = subprocess.run(
        [sys.executable, "-m", "voicebot.cli", "campaign", "status", "mora-temprana", "--json"],
        env={**os.environ, "VOICEBOT_DATABASE_URL": console.url},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    kpis = json.loads(cli.stdout)["kpis"]
    assert kpis["attempts"] == 4
    expect(page.locator("[data-kpi=contact_rate]")).to_have_text(
        f"{kpis['contact_rate'] * 100:.1f} %"
    )
    expect(page.locator("[data-kpi=right_party_rate]")).to_have_text(
        f"{kpis['right_party_rate'] * 100:.1f} %"
    )
    expect(page.locator("[data-kpi=promise_rate]")).to_have_text(
        f"{kpis['promise_rate'] * 100:.1f} %"
    )
    for code, count in kpis["by_disposition"].items():
        expect(page.locator(f"[data-disposition={code}]")).to_have_text(str(count))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)

    page.click("a.button:has-text('Pausar')")
    page.click("button:has-text('Sí, confirmar')")
    expect(page.locator("h1 small")).to_contain_text("en pausa")
    with console.sessions() as s:
        assert campaign_status(s, campaign_id=campaign_id)["status"] == "paused"

    page.click("text=Cumplimiento")
    expect(page.locator("h1")).to_contain_text("Cumplimiento")
    expect(page.locator("body")).to_contain_text("marcaciones revisadas")
    csv_export = page.request.get(f"/console/campaigns/{campaign_id}/compliance.csv")
    assert csv_export.status == 200
    header, *dials = csv_export.text().splitlines()
    assert header.startswith("attempt_id,") and len(dials) == 4

    page.click("nav >> text=Llamadas")
    page.fill("input[name=debtor]", "Carla")
    page.click("button:has-text('Buscar')")
    assert "Carla" not in page.url  # searches are posted, never in the URL
    calls = page.locator("#calls tbody tr")
    expect(calls).to_have_count(1)
    calls.locator("a").first.click()
    expect(page.locator(".transcript")).to_contain_text("no me vuelvan a llamar")
    page.click("text=Carla Ríos")
    page.fill("input[name=reason]", "pidió por correo no ser contactada")
    page.check("input[name=confirmed]")
    page.click("button:has-text('Bloquear llamadas')")
    expect(page.locator("#opt-outs")).to_contain_text("pidió por correo no ser contactada")
    with console.sessions() as s:
        audited = s.scalars(
            select(m.AuditEntry.actor).where(m.AuditEntry.reason.contains("por correo"))
        ).all()
    assert audited == ["manager-key"]


def test_the_dashboard_fits_a_tablet(page: Page, console: ConsoleWorld) -> None:
    with console.sessions() as s:
        campaign = m.Campaign(
            name="tableta", dialplan="cobranza_es", jurisdiction="CO", default_region="CO"
        )
        s.add(campaign)
        s.commit()
        campaign_id = campaign.id
    page.set_viewport_size({"width": 768, "height": 1024})
    sign_in(page, console.keys["manager"])
    page.goto(f"/console/campaigns/{campaign_id}")
    expect(page.locator("[data-kpi=attempts]")).to_have_text("0")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
