"""A person's view: headless Chromium (Debian's) types a question, waits for the answer,
checks a citation and its highlighted passage, opens the document, and saves a screenshot."""

import os
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"


@pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Debian's chromium is not installed (make test installs it)"
)
def test_ask_in_the_browser(app, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    url, _, _ = app
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            box = page.locator("#qa-input textarea")
            box.fill("Who is Hampshire's director of children's services?")
            page.locator("#qa-send").click()
            chat = page.locator("#qa-chat")
            expect(chat).to_contain_text("John Coughlan", timeout=120_000)
            expect(chat).to_contain_text("[1]")
            sources = page.locator("#qa-sources")
            first = sources.locator(".qa-cite").first
            expect(first.locator(".qa-num")).to_have_text("[1]")
            expect(first.locator(".qa-passage mark")).to_contain_text("Coughlan")
            # One click opens the whole document with the span highlighted and scrolled into view.
            first.locator("summary").click()
            mark = first.locator(".qa-doc-text mark")
            expect(mark).to_be_visible()
            expect(mark).to_be_in_viewport()
            shot = tmp_path / "screenshot.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            if os.environ.get("QA_UPDATE_SCREENSHOT"):
                SCREENSHOT.parent.mkdir(exist_ok=True)
                shutil.copy(shot, SCREENSHOT)
        finally:
            browser.close()
