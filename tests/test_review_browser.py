"""The review desk end to end: a real uvicorn server, headless Chromium, the demo corpus.

The demo corpus is fetched over loopback HTTP into a fresh database (as in
``test_publish``), the desk is served from a thread on 127.0.0.1, and an
editor logs in and works through 19 December 2024 with the mouse and the
keyboard: merges two stories, splits one article out of the six-outlet
story, rewrites its headline, rejects one story and approves the rest.
``run.build_day`` must then publish exactly that. Screenshots of the day and
story views go to ``artifacts/review/`` (the README's picture is one of them,
copied by hand: a test never writes into the repository's tracked files).

Skipped only when /usr/bin/chromium or the playwright package is missing
(never ``playwright install``: the system Chromium is used).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from pipeline import demo, run
from pipeline.config import Settings
from pipeline.review import add_editor, create_app
from pipeline.store import Store
from tests.conftest import browser_api, demo_store, launch_chromium, screenshot

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts" / "review"
DAY = date(2024, 12, 19)
PASSWORD = "correct horse battery"
HEADLINE = "Claude faked alignment to avoid being retrained, Anthropic and Redwood find"

sync_api = browser_api()
uvicorn = pytest.importorskip("uvicorn", reason="uvicorn is not installed")


@pytest.fixture(scope="module")
def demo_desk(tmp_path_factory) -> Iterator[tuple[str, Store, Settings]]:
    """The demo corpus in a database, and the desk serving it on a free loopback port."""
    store, settings = demo_store(tmp_path_factory.mktemp("review-demo"))
    run.build_day(store, settings, DAY)  # the draft digest the editors review
    add_editor(store, "ada", PASSWORD)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings.db, settings), log_level="warning", ws="none", http="h11", lifespan="on"
    )
    desk = uvicorn.Server(config)
    thread = threading.Thread(target=desk.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not desk.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert desk.started, "the desk did not start"
    try:
        yield f"http://127.0.0.1:{port}", store, settings
    finally:
        desk.should_exit = True
        thread.join(timeout=10)
        listener.close()
        store.close()


@pytest.fixture(scope="module")
def page(demo_desk) -> Iterator[Any]:
    with sync_api.sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            yield context.new_page()
        finally:
            chromium.close()


def _story_of(store: Store, path: str) -> int:
    """The story holding the demo article at this URL path."""
    (article,) = [a for a in store.articles.all() if urlsplit(a.url).path == path]
    assert article.story_id is not None
    return article.story_id


def _article(store: Store, path: str) -> int:
    (article,) = [a for a in store.articles.all() if urlsplit(a.url).path == path]
    return article.id


def _paths(key: list[Any], story: str) -> list[str]:
    return [k.path for k in key if k.story == story]


def test_an_editor_works_through_a_day_and_the_digest_follows(demo_desk, page):
    base, store, settings = demo_desk
    key = demo.answer_key()
    by_path = {k.path: k for k in key}
    aligned = _paths(key, "alignment-faking")
    big = _story_of(store, aligned[0])
    split_path = next(p for p in aligned if by_path[p].outlet == "Frontier Signal")
    papers = [k.path for k in key if k.path.startswith("/paperstream/2024/12/18/")]
    assert len(papers) == 2, "the corpus has two single-article papers on 18 December"
    into, other = _story_of(store, papers[0]), _story_of(store, papers[1])
    assert len({big, into, other}) == 3

    # log in: the day view of the newest day opens; go to the 19th
    page.goto(f"{base}/day/{DAY}")
    page.wait_for_url("**/login?next=*")
    page.fill("#name", "ada")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"**/day/{DAY}")
    assert page.locator("h1").inner_text() == "Thursday 19 December 2024"
    screenshot(page, ARTIFACTS, "day-before")

    # merge the two research papers from the first one's page
    page.goto(f"{base}/story/{into}?day={DAY}")
    value = page.locator(f'#other option[value^="{other}:"]').get_attribute("value")
    page.select_option("#other", value)
    page.click("text=Merge into this")
    page.wait_for_url(f"**/story/{into}?day={DAY}")
    assert "merged into" in page.locator(".notice").first.inner_text()
    assert page.locator(".member").count() == 2

    # split the Frontier Signal article out of the six-outlet story
    page.goto(f"{base}/story/{big}?day={DAY}")
    page.check(f"#a-{_article(store, split_path)}")
    page.select_option("#target", "new")
    page.click("#move-form button")
    page.wait_for_url(f"**/story/{big}?day={DAY}")
    assert page.locator(".member").count() == len(aligned) - 1
    # each member says what joined it; the paper most of them cite is among the reasons
    joined = page.locator(".member .joined").all_inner_texts()
    assert len(joined) == len(aligned) - 1 and all(j.startswith("Joined on:") for j in joined)
    assert sum("arxiv.org/abs/2412.14093" in j for j in joined) >= 2, joined

    # rewrite its headline, with the keyboard shortcut to the edit form
    page.keyboard.press("e")
    page.wait_for_url(f"**/story/{big}/edit?day={DAY}")
    page.fill("#headline", HEADLINE)
    page.click("text=Save")
    page.wait_for_url(f"**/story/{big}?day={DAY}")
    assert page.locator("h1").inner_text() == HEADLINE

    # reject the shopping listicle from the day view
    shopping = _story_of(store, next(k.path for k in key if "holiday-shopping" in k.path))
    page.goto(f"{base}/day/{DAY}")
    with page.expect_navigation():
        page.locator(f"#story-{shopping} button[value=reject]").click()
    assert "is-rejected" in (page.locator(f"#story-{shopping}").get_attribute("class") or "")

    # approve the rest: the first with the keyboard (j, then a), the others by button
    page.goto(f"{base}/day/{DAY}")
    page.keyboard.press("j")
    assert "current" in (page.locator("tr.row").first.get_attribute("class") or "")
    with page.expect_navigation():
        page.keyboard.press("a")
    assert "is-approved" in (page.locator("tr.row").first.get_attribute("class") or "")
    while page.locator("tr.is-auto").count():
        with page.expect_navigation():
            page.locator("tr.is-auto").first.locator("button[value=approve]").click()
    statuses = page.locator("tr.row").evaluate_all("rows => rows.map(r => r.className)")
    assert sum("is-rejected" in s for s in statuses) == 1
    assert all("is-approved" in s or "is-rejected" in s for s in statuses), statuses

    # the digest publishes exactly what was decided
    report = run.build_day(store, settings, DAY)
    published = json.loads((Path(settings.digests_dir) / f"{DAY}.json").read_text())
    stories = {s["id"]: s for s in published["stories"]}
    assert shopping not in stories and other not in stories
    assert {s["status"] for s in published["stories"]} == {"approved"}
    # every approved story the relevance rules keep (only a pin overrides them), nothing else
    start, end = report.digest.built_at - timedelta(days=1), report.digest.built_at
    day_records = store.stories.records_between(start, end)
    assert len(day_records) == report.candidates
    assert set(stories) == {r.id for r in day_records if r.status == "approved" and r.included}
    assert len(stories) >= report.candidates - 2
    merged = {urlsplit(u).path for u in stories[into]["article_urls"]}
    assert merged == set(papers[:2])
    assert stories[big]["headline"] == HEADLINE
    # shown as it stood at publication: an article published at 07:00 waits for the next day
    late = {urlsplit(a.url).path for a in store.articles.all() if a.when and a.when >= end}
    kept = set(aligned) - {split_path} - late
    assert {urlsplit(u).path for u in stories[big]["article_urls"]} == kept and len(kept) >= 4
    (split_story,) = [
        s for s in published["stories"] if any(split_path in u for u in s["article_urls"])
    ]
    assert split_story["id"] not in (big, into) and split_story["outlets"] == 1
    log = [r["action"] for r in store.db.rows("decisions", order_by="id")]
    assert log[:4] == ["merge", "split", "edit", "reject"] and set(log[4:]) == {"approve"}

    # the desk after the build: scores and explanations as published
    page.goto(f"{base}/day/{DAY}")
    screenshot(page, ARTIFACTS, "day")
    page.goto(f"{base}/story/{big}?day={DAY}")
    screenshot(page, ARTIFACTS, "story", full_page=True)
