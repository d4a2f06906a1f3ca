"""Roles, CSRF and session expiry through the browser, as the console enforces them."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from console_world import CURSOR_SECRET, ConsoleWorld
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from api.console import session as cookies
from voicebot.storage import models as m


def sign_in(page: Page, key: str) -> None:
    page.goto("/console/login")
    page.fill("input[name=api_key]", key)
    page.click("button[type=submit]")


def test_an_agent_opening_manager_pages_is_refused(page: Page, console: ConsoleWorld) -> None:
    sign_in(page, console.keys["agent"])
    expect(page.locator("h1")).to_have_text("Escritorio del asesor")
    for path in ("/console/campaigns", "/console/campaigns/new", "/console/campaigns/1/live"):
        response = page.goto(path)
        assert response is not None and response.status == 403, path
        expect(page.locator("h1")).to_have_text("Acceso denegado")


def test_an_auditor_reads_but_cannot_create(page: Page, console: ConsoleWorld) -> None:
    sign_in(page, console.keys["auditor"])
    expect(page.locator("h1")).to_have_text("Campañas")
    expect(page.locator("text=Nueva campaña")).to_have_count(0)
    response = page.goto("/console/campaigns/new")
    assert response is not None and response.status == 403
    response = page.goto("/console/desk")
    assert response is not None and response.status == 403


def test_a_form_without_its_csrf_token_is_refused(page: Page, console: ConsoleWorld) -> None:
    sign_in(page, console.keys["manager"])
    expect(page.locator("h1")).to_have_text("Campañas")
    for token in (None, "forged"):
        form = {"name": "sin-token", "jurisdiction": "CO", "default_region": "CO"}
        if token is not None:
            form["csrf"] = token
        response = page.request.post("/console/campaigns/new", form=form)
        assert response.status == 403
        assert "Formulario vencido" in response.text()
    with console.sessions() as s:
        assert s.scalar(select(func.count()).select_from(m.Campaign)) == 0


def test_a_bad_key_and_an_expired_or_forged_session_lead_back_to_login(
    page: Page, console: ConsoleWorld
) -> None:
    sign_in(page, "vbk_0000_not-a-key")
    expect(page.locator("[role=alert]")).to_have_text("La clave no es válida o fue revocada.")
    sign_in(page, console.keys["manager"])
    expect(page.locator("h1")).to_have_text("Campañas")
    jar = {c["name"]: c for c in page.context.cookies()}
    session_cookie = jar[cookies.COOKIE_NAME]
    assert session_cookie["httpOnly"] and session_cookie["sameSite"] == "Strict"

    secret = hmac.new(CURSOR_SECRET.encode(), b"console-session", hashlib.sha256).digest()
    valid = cookies.decode(secret, session_cookie["value"], now=datetime.now(UTC))
    assert valid is not None and valid.key_id is not None
    expired = cookies.new_session(
        key_id=valid.key_id,
        now=datetime.now(UTC) - timedelta(days=1),
        lifetime_seconds=60,
        language="es-419",
    )
    for value in (cookies.encode(secret, expired), session_cookie["value"][:-2] + "xx"):
        page.context.clear_cookies()
        page.context.add_cookies(
            [{"name": cookies.COOKIE_NAME, "value": value, "url": console.base + "/console/"}]
        )
        page.goto("/console/campaigns")
        expect(page).to_have_url(console.base + "/console/login?expired=1")
        expect(page.locator("[role=alert]")).to_have_text("Su sesión expiró. Ingrese de nuevo.")


def test_english_is_available(page: Page, console: ConsoleWorld) -> None:
    page.goto("/console/login")
    page.fill("input[name=api_key]", console.keys["manager"])
    page.select_option("select[name=language]", "en")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Campaigns")
    expect(page.locator("html")).to_have_attribute("lang", "en")
