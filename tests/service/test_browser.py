"""The web page in a real browser: Playwright drives Debian's Chromium (headless) against the live service."""

import os
import shutil
from pathlib import Path

import pytest

from ferkit.runtime.shipped import load_emotion_model

playwright_api = pytest.importorskip("playwright.sync_api", reason="browser tests need playwright (dev extra)")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Screenshots go to a temporary folder; `FERKIT_SCREENSHOTS=docs/images` keeps them for the README.
SCREENSHOTS_ENV = "FERKIT_SCREENSHOTS"


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
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    folder = Path(os.environ.get(SCREENSHOTS_ENV) or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wait_until(page, expression: str, seconds: float = 30) -> None:
    """Poll from outside the page: wait_for_function evaluates strings inside it, which the page's CSP forbids."""
    import time

    deadline = time.time() + seconds
    while not page.evaluate(expression):
        assert time.time() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(100)


def no_dialogs(page) -> list[str]:
    """Every dialog the page opens (an alert is what an injected script would show), dismissed and recorded."""
    opened: list[str] = []
    page.on("dialog", lambda dialog: (opened.append(dialog.message), dialog.dismiss()))
    return opened


def test_upload_shows_boxes_bars_and_history(live_server, browser, photo_path, screenshots):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live_server)
    page.set_input_files("#file", str(photo_path))
    page.wait_for_selector("#faces li.face >> nth=1", timeout=30_000)
    assert page.locator("#boxes rect").count() == 2
    assert page.locator("#faces li.face").count() == 2
    classes = len(load_emotion_model().classes)
    assert page.locator("#faces .bar").count() == 2 * classes  # every class for both faces
    # Measured as drawn: the top bar beats a uniform guess of its track
    shares = page.locator("#faces .bar.top .fill").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().width / e.parentElement.getBoundingClientRect().width)"
    )
    assert len(shares) == 2 and all(share > 1 / classes for share in shares)
    page.wait_for_selector("#history li")
    assert "two_people.jpg" in page.locator("#history").inner_text()
    page.screenshot(path=str(screenshots / "web-page.png"), full_page=True)
    assert (screenshots / "web-page.png").stat().st_size > 20_000


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


def test_names_with_markup_are_shown_as_text(live_server, browser, photo_path):
    import httpx

    hostile = "<img src=x onerror=alert(document.domain)><script>alert(1)</script>.jpg"
    stored = httpx.post(f"{live_server}/api/v1/analyses", files={"file": (hostile, photo_path.read_bytes())})
    assert stored.status_code == 201
    page = browser.new_page()
    opened = no_dialogs(page)
    page.goto(live_server)
    page.wait_for_selector("#history li")
    page.locator("#history li").first.click()
    page.wait_for_selector("#faces li.face")
    page.wait_for_timeout(500)  # time for an injected handler to fire
    assert opened == []
    assert stored.json()["file_name"] in page.locator("#history").inner_text()  # shown, as text
    assert page.locator("#history img[src='x'], #history script").count() == 0


def test_a_locked_server_asks_for_its_key(live_server_with_key, browser, photo_path):
    page = browser.new_page()
    page.goto(live_server_with_key)
    page.wait_for_selector("#key-form", state="visible")
    assert "needs an API key" in page.locator("#status").inner_text()
    page.fill("#api-key", "k3y-for-tests")
    page.click("#key-form button")
    page.wait_for_selector("#examples option >> nth=1", state="attached")
    page.set_input_files("#file", str(photo_path))
    page.wait_for_selector("#faces li.face >> nth=1", timeout=30_000)
    wait_until(page, "document.querySelector('#photo').naturalWidth > 0")  # fetched with the key
    assert page.evaluate("sessionStorage.getItem('ferkit-api-key')") == "k3y-for-tests"


def test_an_error_page_from_a_proxy_is_reported(live_server, browser, photo_path):
    page = browser.new_page()
    page.route(
        "**/api/v1/analyses",
        lambda route: (
            route.fulfill(
                status=413,
                content_type="text/html",
                body="<html><body><h1>413 Request Entity Too Large</h1></body></html>",
            )
            if route.request.method == "POST"
            else route.continue_()
        ),
    )
    page.goto(live_server)
    page.set_input_files("#file", str(photo_path))
    page.wait_for_selector("#status.error")
    assert "413" in page.locator("#status").inner_text()


@pytest.mark.parametrize("width", [390, 1280])
def test_the_page_fits_phones_and_desktops(live_server, browser, photo_path, screenshots, width):
    page = browser.new_page(viewport={"width": width, "height": 844 if width == 390 else 900})
    page.goto(live_server)
    page.set_input_files("#file", str(photo_path))
    page.wait_for_selector("#faces li.face >> nth=1", timeout=30_000)
    wait_until(page, "document.querySelector('#photo').naturalWidth > 0")
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    photo = page.locator("#photo").bounding_box()
    drop = page.locator("#drop").bounding_box()
    if width == 390:
        assert photo["width"] >= 0.85 * width  # the photo fills the width
        assert drop["width"] >= 0.85 * width and drop["height"] < 120  # the drop zone's words are not stacked
        assert page.locator("aside").bounding_box()["y"] > photo["y"]  # history below: one column
    else:
        assert page.locator("aside").bounding_box()["x"] > photo["x"] + photo["width"] - 1  # history beside
    page.screenshot(path=str(screenshots / f"web-page-{width}px.png"), full_page=True)


def test_the_api_docs_render_offline(live_server, browser):
    page = browser.new_page()
    outside: list[str] = []

    def only_loopback(route):
        if route.request.url.startswith(live_server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_loopback)
    page.goto(f"{live_server}/docs")
    page.wait_for_selector(".opblock", timeout=30_000)
    assert page.locator(".opblock").count() >= 8 and outside == []


def test_the_form_offers_what_the_server_accepts(live_server, browser, photo_path):
    """The detector and views lists, the threshold's range and every default come from /api/v1/options, and
    the views chosen reach the analysis."""
    import httpx

    from ferkit.runtime.detectors import list_detectors

    options = httpx.get(f"{live_server}/api/v1/options").json()
    page = browser.new_page()
    page.goto(live_server)
    page.wait_for_selector("#views option >> nth=2", state="attached")
    detectors = page.locator("#detector option").evaluate_all("els => els.map(e => e.value)")
    assert detectors == list_detectors() == options["detector"]["choices"]
    assert page.locator("#detector").input_value() == options["detector"]["default"]
    assert page.locator("#views").input_value() == options["views"]["default"]
    threshold = page.locator("#threshold")
    assert (threshold.get_attribute("min"), threshold.get_attribute("max")) == ("0", "1")
    page.select_option("#views", "centre")
    page.set_input_files("#file", str(photo_path))
    page.wait_for_selector("#faces li.face >> nth=1", timeout=30_000)
    newest = httpx.get(f"{live_server}/api/v1/analyses").json()["items"][0]
    assert newest["views"] == "centre"
