"""Console fixtures: a live server per test and the system Chromium driven by Playwright."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from console_world import CHROMIUM, ConsoleWorld, open_world

# The recording tests' helper writes a real FLAC recording for a call.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "recording"))

BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture
def console(tmp_path: Path) -> Iterator[ConsoleWorld]:
    yield from open_world(tmp_path)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Per module: Playwright's sync API keeps an event loop running in the main thread
    while it is open, so it must be closed before other packages' tests call asyncio.run."""
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (scripts/setup installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=BROWSER_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object, console: ConsoleWorld) -> Iterator[object]:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(base_url=console.base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    page = context.new_page()
    yield page
    context.close()
