"""The web page in a real browser: Playwright drives Debian's Chromium (headless) against the live service."""

import os
import shutil
from pathlib import Path

import pytest

playwright_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (dev extra)")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture
def db_url(tmp_path):
    return f"sqlite:///{tmp_path / 'browser.db'}"  # one database is enough for the page


@pytest.fixture
def browser():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium for the browser test")
        pytest.skip("no chromium here (apt-get install chromium); CI runs this test")
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield browser
        browser.close()


def test_upload_shows_boxes_bars_and_history(live_server, browser, photo_path):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server)
    page.set_input_files("#file", str(photo_path))
    page.wait_for_selector("#faces li.face >> nth=1", timeout=30_000)
    assert page.locator("#boxes rect").count() == 2
    assert page.locator("#faces li.face").count() == 2
    assert page.locator("#faces .bar").count() == 14  # every class for both faces
    widths = page.locator("#faces .bar.top .fill").evaluate_all("els => els.map(e => parseFloat(e.style.width))")
    assert all(w > 14 for w in widths)  # the top bar beats a uniform guess (1/7)
    page.wait_for_selector("#history li")
    assert "two_people.jpg" in page.locator("#history").inner_text()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "web-page.png"), full_page=True)
    assert (SCREENSHOTS / "web-page.png").stat().st_size > 20_000


def test_example_dropdown_and_error_message(live_server, browser, tmp_path):
    page = browser.new_page()
    page.goto(live_server)
    page.wait_for_selector("#examples option >> nth=1", state="attached")
    page.select_option("#examples", index=1)
    page.wait_for_selector("#faces li.face")
    (tmp_path / "notes.txt").write_text("not a photo")
    page.set_input_files("#file", str(tmp_path / "notes.txt"))
    page.wait_for_selector("#status.error")
    assert "not an image" in page.locator("#status").inner_text()
