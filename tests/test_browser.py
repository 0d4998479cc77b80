"""A person's view: headless Chromium (Debian's) types a question, waits for the answer,
checks a citation and its highlighted passage, opens the document, and saves a screenshot; questions
asked while one is answered wait in line and are sent."""

import os
import re
import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (make test installs it)")
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
            yield browser
        finally:
            browser.close()


def test_ask_in_the_browser(app, browser):
    from playwright.sync_api import expect

    url, _, _ = app
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


def test_questions_asked_while_one_is_answered_wait_in_line_and_are_sent(app, browser):
    """Issue 24: the box stays free while an answer is coming; a question typed, or an example clicked, then waits
    in line under the box (visibly) and is sent when the answer is in, in order."""
    from playwright.sync_api import expect

    url, _, _ = app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    box, chat, line = page.locator("#qa-input textarea"), page.locator("#qa-chat"), page.locator("#qa-line")
    box.fill("Who is Hampshire's director of children's services?")
    box.press("Enter")
    expect(page.locator("#qa-stop")).to_be_visible(timeout=5_000)
    expect(box).to_be_enabled()
    expect(box).to_have_attribute("placeholder", re.compile("Answering"))
    box.fill("Who is the Ofsted chief inspector?")
    box.press("Enter")
    expect(box).to_have_value("", timeout=5_000)
    page.locator("#qa-examples").get_by_text("How old was Baby P when he died?").click()
    expect(line).to_contain_text("Who is the Ofsted chief inspector?", timeout=5_000)
    expect(line).to_contain_text("How old was Baby P when he died?")
    expect(box).to_have_value("", timeout=5_000)
    expect(chat).to_contain_text("Coughlan", timeout=120_000)
    expect(chat).to_contain_text("Gilbert", timeout=120_000)
    expect(chat).to_contain_text("17", timeout=120_000)
    expect(page.locator("#qa-stop")).to_be_hidden(timeout=30_000)
    expect(line).not_to_contain_text("Ofsted")
    text = chat.inner_text()
    order = ["Hampshire", "Coughlan", "Ofsted chief", "Gilbert", "How old was Baby P"]
    assert [text.index(w) for w in order] == sorted(text.index(w) for w in order), text
    assert text.count("Who is the Ofsted chief inspector?") == 1


def _last_reply(page) -> str:
    bots = page.locator("#qa-chat [data-testid='bot']")
    return bots.last.inner_text() if bots.count() else ""


def test_the_chat_window_people_expect(app, browser, tmp_path):
    """Issue 24: a welcome line naming what is loaded; the answer grows on screen; the box is empty after every
    answer; an earlier answer's markers still hold (hover) and open (click) its own passages; "new chat" leaves nothing of the old conversation;
    the run-history page is not offered."""
    import json
    import time
    import urllib.error
    import urllib.request

    from playwright.sync_api import expect

    url, _, _ = app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    chat, box = page.locator("#qa-chat"), page.locator("#qa-input textarea")
    expect(chat).to_contain_text("5 documents loaded", timeout=30_000)
    expect(chat).to_contain_text("Urgent Joint Area Review of Safeguarding in Haringey")

    box.fill("What did Claire Kober say about the Ofsted findings?")
    box.press("Enter")
    expect(box).to_have_value("", timeout=5_000)
    forms, deadline = [], time.time() + 180
    while time.time() < deadline:
        text = _last_reply(page)
        if text and (not forms or forms[-1] != text):
            forms.append(text)
        if "[1]" in text and page.locator("#qa-stop").is_hidden():  # Stop goes when the answer is all in
            break
        time.sleep(0.05)
    # A multi-point answer: more than one cited claim. The chat can render the last updates just after Stop goes
    # (seen on a loaded 2-core machine: the lead alone on screen with Stop already hidden), so wait for them.
    expect(page.locator("#qa-chat [data-testid='bot']").last).to_contain_text("[2]", timeout=15_000)
    if _last_reply(page) != forms[-1]:
        forms.append(_last_reply(page))
    assert len(set(forms[:-1])) >= 2, forms  # it took at least two forms on screen before its last
    expect(box).to_have_value("")
    first_sources = page.locator("#qa-sources").inner_text()
    shot = tmp_path / "screenshot.png"  # docs/screenshot.png: a multi-point answer with its sources
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    if os.environ.get("QA_UPDATE_SCREENSHOT"):
        SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copy(shot, SCREENSHOT)

    box.fill("Who is the Ofsted chief inspector?")
    page.locator("#qa-send").click()
    expect(chat).to_contain_text("Gilbert", timeout=120_000)
    expect(page.locator("#qa-stop")).to_be_hidden(timeout=30_000)
    expect(box).to_have_value("")
    expect(page.locator("#qa-sources")).not_to_have_text(first_sources)
    # The first answer's markers still hold its own passages (on hover), and it lists its sources.
    first_answer = page.locator("#qa-chat [data-testid='bot']").nth(1)
    tip = first_answer.locator("abbr.qa-marker").first.get_attribute("title")
    passage = tip.split(": ", 1)[1]
    assert " ".join(passage.split())[:60] in " ".join(first_sources.split()), (tip, first_sources)
    expect(first_answer).to_contain_text("Sources of this answer")
    # A click on the marker opens that answer's own sources at its passage.
    first_answer.locator("abbr.qa-marker").first.click()
    picked = first_answer.locator("details li.qa-picked")
    expect(picked).to_be_visible(timeout=5_000)
    assert " ".join(passage.split())[:60] in " ".join(picked.inner_text().split())

    # New chat: the screen, the sources and what the engine reads all start again.
    page.locator("#qa-new-chat").click()
    expect(chat).not_to_contain_text("Gilbert", timeout=10_000)
    expect(page.locator("#qa-sources")).to_contain_text("Sources for the latest answer appear here")
    box.fill("What is her job?")
    box.press("Enter")
    expect(page.locator("#qa-stop")).to_be_visible(timeout=5_000)
    expect(page.locator("#qa-stop")).to_be_hidden(timeout=120_000)
    page.locator("#qa-trace").locator("xpath=..").page.get_by_text("Why these sources?").click()
    trace = page.locator("#qa-trace").inner_text()
    assert "Gilbert" not in trace and "Kober" not in trace, trace  # no trace of the old conversation

    with urllib.request.urlopen(url.rstrip("/") + "/config", timeout=10) as r:
        assert json.loads(r.read())["run_history"] is False
    with pytest.raises(urllib.error.HTTPError) as served:  # the run-history page (200 with Gradio's default)
        urllib.request.urlopen(url.rstrip("/") + "/gradio_api/runs", timeout=10)
    assert served.value.code == 404
    assert page.get_by_text("Runs", exact=True).count() == 0


def test_stop_and_a_phone_sized_screen(app, browser):
    """Stop ends an answer being made and gives back the question that was waiting; on a phone the sources follow the chat closely."""
    from playwright.sync_api import expect

    url, _, _ = app
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    box, stop = page.locator("#qa-input textarea"), page.locator("#qa-stop")
    box.fill("What did the 2010 Ofsted report say about Haringey's children's services?")
    box.press("Enter")
    expect(stop).to_be_visible(timeout=5_000)
    box.fill("Who is the Ofsted chief inspector?")
    box.press("Enter")
    expect(page.locator("#qa-line")).to_contain_text("Ofsted chief inspector", timeout=5_000)
    stop.click()
    expect(page.locator("#qa-chat")).to_contain_text("Stopped", timeout=10_000)
    expect(stop).to_be_hidden()
    # The question that was waiting is not lost: it is back in the box, unsent.
    expect(box).to_have_value("Who is the Ofsted chief inspector?", timeout=10_000)
    expect(page.locator("#qa-line")).not_to_contain_text("Ofsted")
    assert "Gilbert" not in page.locator("#qa-chat").inner_text()

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    phone.goto(url)
    expect(phone.locator("#qa-chat")).to_be_visible(timeout=30_000)
    chat_bottom = phone.locator("#qa-chat").bounding_box()
    sources_top = phone.locator("#qa-sources").bounding_box()
    assert sources_top["y"] - (chat_bottom["y"] + chat_bottom["height"]) < 600, (chat_bottom, sources_top)
