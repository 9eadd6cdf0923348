"""Feed parsing beyond the recorded corpus: edge cases of links, text, dates and bad input."""

from __future__ import annotations

import os
import random

import pytest

from pipeline.feeds import parse
from pipeline.models import FetchResult

BASE = "http://127.0.0.1/feeds/x.xml"


def _result(body: bytes, **kwargs: object) -> FetchResult:
    values: dict[str, object] = {
        "url": BASE,
        "status": 200,
        "body": body,
        "headers": {"content-type": "application/rss+xml"},
    }
    values.update(kwargs)
    return FetchResult(**values)  # type: ignore[arg-type]


def _rss(items: str, channel: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>T</title><link>http://127.0.0.1/</link>{channel}{items}</channel></rss>"
    ).encode()


def test_empty_body_is_a_problem_not_an_exception() -> None:
    feed = parse(_result(b"", status=304))
    assert feed.entries == () and feed.problems and "empty body" in feed.problems[0]


@pytest.mark.parametrize("seed", range(5))
def test_garbage_never_raises(seed: int) -> None:
    rng = random.Random(seed)
    body = bytes(rng.randrange(256) for _ in range(2000))
    feed = parse(_result(body))
    assert feed.entries == () and feed.problems


def test_deeply_nested_markup_never_raises() -> None:
    body = _rss("<item><title>" + "<b>" * 5000 + "deep" + "</b>" * 5000 + "</title></item>")
    feed = parse(_result(body))
    assert all(isinstance(p, str) for p in feed.problems)


def test_relative_links_resolve_against_the_final_url_after_a_redirect() -> None:
    body = _rss("<item><title>A</title><link>story/1</link></item>")
    feed = parse(_result(body, final_url="http://127.0.0.1/moved/feed.xml"))
    assert feed.entries[0].url == "http://127.0.0.1/moved/story/1"


def test_feedparser_is_never_given_something_it_could_open(feed_server) -> None:
    # A body that is itself a URL (or a path) must be parsed as text, never fetched or read.
    path = "/feeds/rss2-lab-blog.xml"
    before = feed_server.hits(path)
    for body in (feed_server.url(path).encode(), os.path.abspath(__file__).encode()):
        feed = parse(_result(body))
        assert feed.entries == ()
    assert feed_server.hits(path) == before


def test_long_summaries_are_cut_at_a_word() -> None:
    words = " ".join(f"word{i}" for i in range(2000))
    body = _rss(
        f"<item><title>Long</title><link>http://127.0.0.1/l</link><description>{words}</description></item>"
    )
    summary = parse(_result(body)).entries[0].summary
    assert 3000 < len(summary) <= 4001 and summary.endswith("…")
    assert summary[:-1].split()[-1].startswith("word")  # no half word before the ellipsis
    assert words.startswith(summary[:-1])


def test_entry_without_title_is_kept_with_empty_title() -> None:
    feed = parse(_result(_rss("<item><link>http://127.0.0.1/untitled</link></item>")))
    assert [(e.title, e.url) for e in feed.entries] == [("", "http://127.0.0.1/untitled")]


@pytest.mark.parametrize(("ttl", "expected"), [("45", 45), ("0", None), ("soon", None)])
def test_ttl(ttl: str, expected: int | None) -> None:
    feed = parse(_result(_rss("", channel=f"<ttl>{ttl}</ttl>")))
    assert feed.ttl_minutes == expected
    assert bool(feed.problems) is (expected is None)


def test_dates_become_aware_utc_and_updated_stands_in_for_published() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
    <entry><title>p</title><link href="http://127.0.0.1/p"/><id>p</id>
      <published>2024-12-18T09:00:00+09:00</published><updated>2024-12-19T00:00:00Z</updated></entry>
    <entry><title>u</title><link href="http://127.0.0.1/u"/><id>u</id>
      <updated>2024-12-17T23:30:00-01:00</updated></entry>
    </feed>"""
    published, updated = parse(_result(body)).entries
    assert published.published_at is not None and updated.published_at is not None
    assert published.published_at.isoformat() == "2024-12-18T00:00:00+00:00"
    assert updated.published_at.isoformat() == "2024-12-18T00:30:00+00:00"
