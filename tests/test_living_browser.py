"""Living stories on the demo corpus, end to end: consecutive digests never repeat a story
without a new source, every "What's new" cites only new sources, and in headless Chromium
every story and topic page is reachable from the home page with no broken link.

The demo corpus is fetched over loopback, every day is built as ``digest demo`` does,
and the site is served from a loopback HTTP server and crawled from ``index.html``
by following every link (redirect pages included) within the site.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import pytest

from pipeline import run
from tests.conftest import browser_api, demo_store, launch_chromium

sync_api = browser_api()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory) -> Iterator[tuple[str, Path, Path]]:
    out = tmp_path_factory.mktemp("living")
    store, settings = demo_store(out)
    assert len(run.build_every_day(store, settings)) >= 4
    store.close()
    site = Path(settings.site_dir)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", site, Path(settings.digests_dir)
    finally:
        server.shutdown()
        server.server_close()


def test_consecutive_digests_repeat_nothing_and_whats_new_cites_only_new_sources(demo_site):
    _, _, digests = demo_site
    carried: dict[int, set[int]] = {}  # story id → article ids published so far
    updates = sentences = 0
    for path in sorted(digests.glob("*.json")):
        data = json.loads(path.read_text())
        assert data["schema_version"] == 2
        for story in data["stories"]:
            articles = {a for s in story["sources"] for a in s["article_ids"]}
            if story["id"] in carried:
                assert story["edition"] == "update" and story["new_sources"], story["headline"]
                assert articles - carried[story["id"]]
            if story["edition"] == "update":
                updates += 1
                new = set(story["new_sources"])
                for sentence in story["whats_new"]:
                    sentences += 1
                    assert sentence["citations"] and set(sentence["citations"]) <= new
            carried.setdefault(story["id"], set()).update(articles)
            assert story["url"].startswith(f"stories/{story['id']}-")
    assert updates >= 2 and sentences >= updates


def test_every_story_and_topic_page_is_reachable_with_no_broken_link(demo_site):
    base, site, _ = demo_site
    expected = {p.relative_to(site).as_posix() for p in site.glob("stories/*.html")}
    expected |= {p.relative_to(site).as_posix() for p in site.glob("topics/*.html")}
    assert len([p for p in expected if p.startswith("topics/")]) >= 20
    seen: set[str] = set()
    broken: list[str] = []
    queue = [base + "index.html"]
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page()
        while queue:
            url = queue.pop()
            if url in seen:
                continue
            seen.add(url)
            response = page.goto(url)
            if response is None or response.status != 200:
                broken.append(url)
                continue
            if not url.endswith(".html"):
                continue
            page.wait_for_load_state()
            for href in page.eval_on_selector_all(
                "a[href], link[href]", "els => els.map(e => e.href)"
            ):
                target = urldefrag(urljoin(page.url, href))[0]
                if target.startswith(base) and target not in seen:
                    queue.append(target)
        browser.close()
    reached = {u.removeprefix(base) for u in seen}
    assert not broken, broken
    assert expected <= reached, sorted(expected - reached)[:5]
