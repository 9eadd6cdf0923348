"""The site and the email in a real browser: headless Chromium driven by Playwright.

Builds a site of several days (one of them full of hostile feed text), serves
it from a sub-path of a loopback HTTP server (relative links must work from
any mount point) and opens one page from disk, follows a citation to its
source entry and the archive down to a day, checks phone-width layout, and
saves screenshots of the home page, a story page and the email at desktop
(1280 px) and phone (390 px) widths under ``artifacts/browser/``.

Skipped only when /usr/bin/chromium or the playwright package is missing
(never ``playwright install``: the system Chromium is used).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from datetime import date
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipeline.render import SiteParams, email
from pipeline.render.site import build
from tests.conftest import browser_api, launch_chromium, screenshot
from tests.test_digest import DAY, sample_digest
from tests.test_email import MAIL, SITE
from tests.test_site import hostile_digest

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "browser"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
MOUNT = "mount/digest"

sync_api = browser_api()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("served")
    site = root / MOUNT
    digests = [hostile_digest(date(2024, 11, 29)), sample_digest(date(2024, 11, 30))]
    digests += [sample_digest(date(2024, 12, 18)), sample_digest(DAY)]
    build(digests, site, SiteParams())
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{MOUNT}/", site
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


def _page(browser: Any, viewport: dict[str, int], javascript: bool = True) -> Any:
    context = browser.new_context(viewport=viewport, java_script_enabled=javascript)
    page = context.new_page()
    page.dialogs = []  # any alert() a feed managed to run would land here
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    return page


def _no_horizontal_scroll(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide"


def test_citation_link_lands_on_its_source_entry(browser, site_url):
    base, _ = site_url
    page = _page(browser, DESKTOP, javascript=False)  # everything works without JavaScript
    page.goto(base + "index.html")
    assert page.locator("h1").inner_text() == "Thursday 19 December 2024"
    card = page.locator("article#story-7")
    card.locator("sup.cite a").nth(2).click()
    page.wait_for_url("**/stories/7.html#source-3")
    target = page.locator("li#source-3")
    assert target.is_visible()
    assert "Siliconshire" in target.inner_text()
    assert target.evaluate("e => e.matches(':target')")  # highlighted by CSS, no script
    box = target.bounding_box()
    assert box is not None and 0 <= box["y"] < DESKTOP["height"]
    assert page.locator("h1").inner_text().startswith("Anthropic study finds")
    page.context.close()


def test_archive_leads_to_a_day(browser, site_url):
    base, _ = site_url
    page = _page(browser, DESKTOP)
    page.goto(base + "stories/7.html")
    page.get_by_role("link", name="Archive").first.click()
    page.wait_for_url("**/archive.html")
    page.get_by_role("link", name="November 2024").click()
    page.wait_for_url("**/2024/11/index.html")
    page.get_by_role("link", name="Saturday 30 November 2024").click()
    page.wait_for_url("**/2024/11/30/index.html")
    assert page.locator("h1").inner_text() == "Saturday 30 November 2024"
    assert page.locator("article.story").count() == 6
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(251, 250, 247)"
    page.context.close()


def test_a_page_opened_from_disk_works(browser, site_url):
    _, folder = site_url
    page = _page(browser, DESKTOP)
    page.goto((folder / "2024/12/18/index.html").as_uri())
    assert (
        page.evaluate("getComputedStyle(document.querySelector('.chip')).borderRadius") == "999px"
    )
    page.locator("a[rel=next]").click()
    page.wait_for_url("**/2024/12/19/index.html")
    assert page.locator("h1").inner_text() == "Thursday 19 December 2024"
    page.context.close()


def test_hostile_feed_text_runs_nothing(browser, site_url):
    base, _ = site_url
    page = _page(browser, DESKTOP)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    for path in ("2024/11/index.html", "2024/11/29/index.html", "2024/11/29/story-66.html"):
        page.goto(base + path)
        page.mouse.move(200, 300)
        for link in page.locator("main a[href]:visible").all()[:15]:
            link.hover(timeout=2000)
    assert page.dialogs == [] and errors == []
    assert page.evaluate("document.scripts.length") == 0
    assert "<script>" in page.locator("h1").inner_text()  # shown as text
    page.context.close()


@pytest.mark.parametrize(("label", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots_of_home_and_story(browser, site_url, label, viewport):
    base, _ = site_url
    page = _page(browser, viewport)
    page.goto(base + "index.html")
    _no_horizontal_scroll(page)
    screenshot(page, ARTIFACTS, f"home-{label}")
    page.goto(base + "stories/7.html#source-2")
    _no_horizontal_scroll(page)
    page.goto(base + "stories/7.html")
    screenshot(page, ARTIFACTS, f"story-{label}")
    screenshot(page, ARTIFACTS, f"story-{label}-full", full_page=True)
    page.goto(base + "archive.html")
    _no_horizontal_scroll(page)
    page.context.close()


@pytest.mark.parametrize(
    ("label", "viewport"), [("desktop", {"width": 760, "height": 1000}), ("phone", PHONE)]
)
def test_email_renders(browser, label, viewport):
    page = _page(browser, viewport, javascript=False)
    html = email.build_message(sample_digest(), MAIL, SITE).get_body(("html",)).get_content()
    page.set_content(html)
    container = page.locator("table.container").bounding_box()
    assert container is not None
    expected = 600 if viewport["width"] > 620 else viewport["width"] - 16
    assert abs(container["width"] - expected) <= 2
    _no_horizontal_scroll(page)
    screenshot(page, ARTIFACTS, f"email-{label}")
    page.context.close()
