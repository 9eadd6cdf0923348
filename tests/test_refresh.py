"""The orchestrator's fetch round against a real loopback server: health, redirects, variants."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler

import pytest

from pipeline import run
from pipeline.config import Settings
from pipeline.demo.server import CorpusServer, send, serve_conditional
from pipeline.models import Source
from pipeline.store import Store

PARAGRAPH = (
    "Researchers at a frontier lab released a new evaluation of language models on long "
    "reasoning tasks, reporting that the largest model solved 41 percent of the problems. "
)


def _rss(items: list[tuple[str, str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description>"
        "<pubDate>Wed, 18 Dec 2024 10:00:00 GMT</pubDate></item>"
        for t, link, d in items
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{body}</channel></rss>'.encode()


def _page(title: str, paragraphs: int) -> bytes:
    text = "".join(f"<p>{PARAGRAPH}Paragraph {i}.</p>" for i in range(paragraphs))
    return (
        f"<html><head><title>{title}</title></head><body><nav><a href='/'>Home</a></nav>"
        f"<article><h1>{title}</h1>{text}</article><footer>Footer</footer></body></html>"
    ).encode()


@pytest.fixture(scope="module")
def server():
    srv = CorpusServer()
    base = srv.base_url

    def feed(body: bytes):
        return lambda r: serve_conditional(r, body, "application/rss+xml", 1734480000)

    srv.route("/a.xml")(
        feed(
            _rss(
                [
                    (
                        "Model eval",
                        f"{base}/p/1?utm_source=rss&amp;utm_medium=feed",
                        "Summary one.",
                    ),
                    ("Video", f"{base}/p/2", "A video about agents, summarised in the feed."),
                ]
            )
        )
    )
    srv.route("/b.xml")(feed(_rss([("Model eval again", f"{base}/p/1#comments", "Same.")])))
    srv.route("/new-home.xml")(feed(_rss([("Moved feed item", f"{base}/p/3", "Three.")])))
    srv.route("/old.xml")(lambda r: send(r, 301, b"", {"Location": "/new-home.xml"}))
    srv.route("/p/1")(lambda r: serve_conditional(r, _page("Model eval", 6), "text/html", 0))
    srv.route("/p/2")(
        lambda r: serve_conditional(r, b"<html><body><video></video></body></html>", "text/html", 0)
    )
    srv.route("/p/3")(lambda r: serve_conditional(r, _page("Moved feed item", 5), "text/html", 0))
    srv.route("/dead.xml")(lambda r: send(r, 404, b"gone"))
    srv.route("/broken.xml")(lambda r: send(r, 500, b"oops"))

    def never(request: BaseHTTPRequestHandler) -> None:
        time.sleep(3.0)  # longer than the deadline; bounded so the server thread ends
        send(request, 200, b"")

    srv.route("/never.xml")(never)
    with srv:
        yield srv


@pytest.fixture
def round_settings(tmp_path) -> Settings:
    return replace(
        Settings(),
        db=str(tmp_path / "p.db"),
        connect_timeout_s=1.0,
        read_timeout_s=1.0,
        deadline_s=1.0,
        retries=1,
        backoff_base_s=0.01,
        extract_workers=2,
    )


def _sources(server: CorpusServer) -> list[Source]:
    names = ["a", "b", "old", "dead", "broken", "never"]
    return [Source(name=n, url=server.url(f"{n}.xml")) for n in names]


def test_round_records_health_stores_variants_once_and_follows_permanent_redirects(
    server, round_settings
):
    store = Store.open(round_settings.db)
    store.sources.sync(_sources(server))
    started = time.perf_counter()
    report = run.fetch_round(store, round_settings, force=True)
    elapsed = time.perf_counter() - started

    by_name = {r.source.name: r for r in report.sources}
    assert {n for n, r in by_name.items() if r.error} == {"dead", "broken", "never"}
    # a hanging source costs its own deadline (and one retry), never the others' time
    assert all(by_name[n].elapsed_ms < 900 for n in ("a", "b", "old")), {
        n: r.elapsed_ms for n, r in by_name.items()
    }
    assert by_name["never"].elapsed_ms >= 1000
    assert elapsed < 20.0  # bounded: two deadlines, retries, worker start-up
    health = {s.name: s for s in store.sources.all()}
    assert health["dead"].last_status == 404 and health["dead"].consecutive_failures == 1
    assert "404" in (health["dead"].last_error or "")
    assert health["broken"].last_status == 500
    assert health["never"].last_status is None and health["never"].last_error
    assert health["a"].consecutive_failures == 0 and health["a"].last_status == 200
    assert health["old"].url == server.url("new-home.xml")  # 301 updates the stored URL
    assert health["dead"].next_fetch_at > health["a"].next_fetch_at  # failing feeds back off

    articles = {a.canonical_url: a for a in store.articles.all()}
    assert sorted(articles) == [server.url("p/1"), server.url("p/2"), server.url("p/3")]
    assert "41 percent" in articles[server.url("p/1")].text
    video = articles[server.url("p/2")]
    assert video.text == "" and video.feed_summary.startswith("A video about agents")
    assert video.body == video.feed_summary  # the feed's summary is kept when the page has none
    logged = store.db.execute("select count(*) from fetches where kind = 'feed'").fetchone()[0]
    assert logged == 6

    again = run.fetch_round(store, round_settings, force=True)
    assert again.new_articles == 0
    assert {r.source.name for r in again.sources if r.status == 304} == {"a", "b", "old"}
    assert store.sources.all()[3].consecutive_failures == 2  # dead keeps failing and counting
    assert store.articles.count() == 3
    store.close()


def test_due_sources_skip_a_failing_feed_until_its_backoff_ends(server, round_settings):
    store = Store.open(round_settings.db)
    store.sources.sync([Source(name="dead", url=server.url("dead.xml"))])
    run.fetch_round(store, round_settings)
    assert store.sources.due(datetime.now(UTC)) == []
    assert run.fetch_round(store, round_settings).sources == []
    store.close()
