"""Hostile servers: each must end in bounded time and memory, as an error or a readable feed.

Slow and stalled answers, a 50 MB body, a gzip bomb, redirect loops, a charset that
lies and broken XML, all from the loopback feed server in conftest.py.
"""

from __future__ import annotations

import tracemalloc
from dataclasses import replace

import pytest

from pipeline.config import Settings
from pipeline.feeds import parse
from pipeline.fetch import Fetcher

pytestmark = pytest.mark.anyio


async def test_a_body_that_never_ends_is_cut_by_the_deadline(
    feed_server, settings: Settings
) -> None:
    # /slow sends a byte every 0.1 s, so the read timeout never fires: only the deadline can.
    settings = replace(settings, deadline_s=1.0, read_timeout_s=0.5, retries=0)
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(feed_server.url("/slow"), max_bytes=1_000_000)

    assert result.status is None and "no complete response within 1 s" in (result.error or "")
    assert feed_server.url("/slow") in result.error
    assert 1000 <= result.elapsed_ms < 1800


async def test_a_server_that_never_answers_hits_the_read_timeout(
    feed_server, settings: Settings
) -> None:
    settings = replace(settings, deadline_s=2.0, read_timeout_s=0.3, retries=0)
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(feed_server.url("/stall"), max_bytes=1_000_000)

    assert result.status is None and "ReadTimeout" in (result.error or "")
    assert 300 <= result.elapsed_ms < 1000


@pytest.mark.parametrize("path", ["/huge", "/huge?chunked=1"])
async def test_a_50_mb_body_is_cut_at_the_cap(feed_server, settings: Settings, path: str) -> None:
    cap = settings.max_feed_bytes
    tracemalloc.start()
    try:
        async with Fetcher(settings) as fetcher:
            result = await fetcher.get(feed_server.url(path), max_bytes=cap)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert not result.ok and result.body == b""
    assert f"response larger than {cap} bytes" in (result.error or "")
    assert result.attempts == 1  # a too-large body is not worth a retry
    assert peak < 2.5 * cap, f"peak memory {peak} bytes for a {cap}-byte cap"


async def test_a_gzip_bomb_is_cut_without_inflating_it(feed_server, settings: Settings) -> None:
    cap = 1_000_000
    tracemalloc.start()
    try:
        async with Fetcher(settings) as fetcher:
            result = await fetcher.get(feed_server.url("/gzip-bomb"), max_bytes=cap)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert not result.ok and f"response larger than {cap} bytes" in (result.error or "")
    assert peak < 8 * cap, f"peak memory {peak} bytes: the bomb was inflated"


async def test_redirect_loop_is_a_clear_error(feed_server, settings: Settings) -> None:
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(feed_server.url("/redirect-loop"), max_bytes=1_000_000)

    assert not result.ok and "redirect loop" in (result.error or "")
    assert feed_server.url("/redirect-loop") in result.error
    assert result.attempts == 1


@pytest.mark.parametrize(("hops", "ok"), [(5, True), (6, False)])
async def test_at_most_five_redirects(feed_server, settings: Settings, hops: int, ok: bool) -> None:
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(
            feed_server.url(f"/redirect-chain?n={hops}"), max_bytes=1_000_000
        )

    assert result.ok is ok
    if not ok:
        assert "more than 5 redirects" in (result.error or "")


async def test_disagreeing_encodings_still_give_readable_entries(
    feed_server, settings: Settings
) -> None:
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(feed_server.url("/wrong-charset"), max_bytes=1_000_000)
    feed = parse(result)

    assert result.ok and "charset=utf-8" in result.headers["content-type"]
    assert [e.title for e in feed.entries] == ["Un caf\u00e9 tr\u00e8s fort"]
    assert feed.title == "Caf\u00e9 news"
    assert any("iso-8859-1" in p for p in feed.problems)


async def test_malformed_xml_yields_the_readable_entries_and_problems(
    feed_server, settings: Settings
) -> None:
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(feed_server.url("/malformed"), max_bytes=1_000_000)
    feed = parse(result)

    assert [e.title for e in feed.entries] == ["First & readable", "Second readable"]
    assert any("not well-formed" in p for p in feed.problems)
    assert any("Truncated" in p and "no usable link" in p for p in feed.problems)
