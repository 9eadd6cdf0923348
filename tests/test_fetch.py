"""The fetcher against a real HTTP server on 127.0.0.1: conditional GET, compression,
redirects, errors, retries, politeness limits, the private-network guard and scheduling."""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from urllib.parse import quote

import pytest

from pipeline import fetch
from pipeline.config import Settings
from pipeline.feeds import parse
from pipeline.fetch import Fetcher, make_client, next_fetch_at
from pipeline.models import FetchResult, Source

FEED = "/feeds/rss2-lab-blog.xml"
CAP = 1_000_000


def _last_request_headers(server, path: str) -> dict[str, str]:
    headers = [h for _, p, h in server.requests if p == path][-1]
    return {k.lower(): v for k, v in headers.items()}


# --- conditional GET and compression -----------------------------------------------------


@pytest.mark.anyio
async def test_etag_then_304_without_body(feed_server, settings: Settings) -> None:
    async with Fetcher(settings) as fetcher:
        first = await fetcher.get(feed_server.url(FEED), max_bytes=CAP)
        second = await fetcher.get(feed_server.url(FEED), max_bytes=CAP, etag=first.etag)

    assert first.status == 200 and first.ok and first.etag and first.body.startswith(b"<?xml")
    assert second.status == 304 and second.not_modified and not second.ok
    assert second.body == b""
    assert second.etag == first.etag
    assert _last_request_headers(feed_server, FEED)["if-none-match"] == first.etag


@pytest.mark.anyio
async def test_last_modified_alone_makes_the_request_conditional(
    feed_server, settings: Settings
) -> None:
    async with Fetcher(settings) as fetcher:
        first = await fetcher.get(feed_server.url(FEED), max_bytes=CAP)
        second = await fetcher.get(
            feed_server.url(FEED), max_bytes=CAP, last_modified=first.last_modified
        )

    assert first.last_modified and second.status == 304
    sent = _last_request_headers(feed_server, FEED)
    assert sent["if-modified-since"] == first.last_modified
    assert "if-none-match" not in sent


@pytest.mark.anyio
async def test_304_keeps_old_validators_unless_it_sends_new_ones(
    feed_server, settings: Settings
) -> None:
    async with Fetcher(settings) as fetcher:
        bare = await fetcher.get(
            feed_server.url("/not-modified"), max_bytes=CAP, etag='"old"', last_modified="Mon"
        )
        renewed = await fetcher.get(
            feed_server.url("/not-modified?etag=%22new%22"), max_bytes=CAP, etag='"old"'
        )

    assert bare.status == 304 and bare.etag == '"old"' and bare.last_modified == "Mon"
    assert renewed.status == 304 and renewed.etag == '"new"'


@pytest.mark.anyio
async def test_gzip_body_is_decoded_and_parses(feed_server, settings: Settings) -> None:
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(feed_server.url("/feeds/atom-research.xml"), max_bytes=CAP)

    assert (
        "gzip" in _last_request_headers(feed_server, "/feeds/atom-research.xml")["accept-encoding"]
    )
    assert result.ok and result.body.startswith(b"<?xml")
    assert "content-encoding" not in result.headers  # the body we hand on is decoded
    assert len(parse(result).entries) == 2


@pytest.mark.anyio
async def test_deflate_is_decoded_and_unknown_encodings_are_errors(
    feed_server, settings: Settings
) -> None:
    async with Fetcher(settings) as fetcher:
        deflated = await fetcher.get(feed_server.url("/deflate"), max_bytes=CAP)
        brotli = await fetcher.get(feed_server.url("/brotli"), max_bytes=CAP)

    assert deflated.ok and b"Only item" in deflated.body
    assert not brotli.ok and "Content-Encoding 'br'" in (brotli.error or "")


def test_client_sends_a_descriptive_user_agent_and_no_brotli(settings: Settings) -> None:
    client = make_client(settings)
    assert client.headers["user-agent"] == settings.user_agent
    assert client.headers["accept-encoding"] == "gzip, deflate"
    assert not client.follow_redirects
    asyncio.run(client.aclose())


# --- redirects ----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "final", "permanent"),
    [
        ("/moved", FEED, True),
        ("/moved-308", "/feeds/atom-research.xml", True),
        ("/moved-twice", "/feeds/atom-research.xml", True),
        ("/found", FEED, False),
        ("/moved-then-found", FEED, False),
    ],
)
async def test_only_all_permanent_redirect_chains_are_reported(
    feed_server, settings: Settings, path: str, final: str, permanent: bool
) -> None:
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(feed_server.url(path), max_bytes=CAP)

    assert result.ok and result.url == feed_server.url(path)
    assert result.final_url == feed_server.url(final)
    assert result.permanent_redirect == (feed_server.url(final) if permanent else None)


# --- errors, retries, concurrency ---------------------------------------------------------


@pytest.mark.anyio
async def test_failures_do_not_hold_up_a_concurrent_good_fetch(
    feed_server, settings: Settings
) -> None:
    settings = replace(settings, deadline_s=0.5, read_timeout_s=0.5, retries=1)
    async with Fetcher(settings) as fetcher:
        missing, broken, stalled, good = await asyncio.gather(
            fetcher.get(feed_server.url("/status/404"), max_bytes=CAP),
            fetcher.get(feed_server.url("/status/500"), max_bytes=CAP),
            fetcher.get(feed_server.url("/stall"), max_bytes=CAP),
            fetcher.get(feed_server.url("/feeds/no-dates.xml"), max_bytes=CAP),
        )

    assert missing.status == 404 and missing.attempts == 1
    assert feed_server.url("/status/404") in (missing.error or "")
    assert broken.status == 500 and broken.attempts == 2 and "HTTP 500" in (broken.error or "")
    assert stalled.status is None and feed_server.url("/stall") in (stalled.error or "")
    assert stalled.elapsed_ms >= 2 * 500  # two attempts, each ended by a timeout
    assert good.ok and len(parse(good).entries) == 3
    assert good.elapsed_ms < 500, "the good fetch waited on the bad ones"


@pytest.mark.anyio
async def test_503_is_retried_until_it_succeeds(feed_server, settings: Settings) -> None:
    path = "/flaky?key=retry-ok&fails=2"
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(feed_server.url(path), max_bytes=CAP)

    assert result.ok and result.attempts == 3 and feed_server.counters["flaky:retry-ok"] == 3


@pytest.mark.anyio
async def test_retries_are_limited_and_4xx_is_not_retried(feed_server, settings: Settings) -> None:
    async with Fetcher(settings) as fetcher:
        failing = await fetcher.get(
            feed_server.url("/flaky?key=retry-limit&fails=9"), max_bytes=CAP
        )
        before = feed_server.hits("/status/410")
        gone = await fetcher.get(feed_server.url("/status/410"), max_bytes=CAP)

    assert failing.status == 503 and failing.attempts == settings.retries + 1
    assert feed_server.counters["flaky:retry-limit"] == settings.retries + 1
    assert (
        gone.status == 410 and gone.attempts == 1 and feed_server.hits("/status/410") == before + 1
    )


@pytest.mark.anyio
async def test_429_retry_after_is_honoured(feed_server, settings: Settings) -> None:
    path = "/flaky?key=429-wait&fails=1&code=429&retry-after=1"
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(feed_server.url(path), max_bytes=CAP)

    assert result.ok and result.attempts == 2
    assert result.elapsed_ms >= 1000


@pytest.mark.anyio
@pytest.mark.parametrize("in_seconds", [True, False])
async def test_retry_after_beyond_the_cap_returns_at_once_for_the_scheduler(
    feed_server, settings: Settings, in_seconds: bool
) -> None:
    later = datetime.now(UTC) + timedelta(hours=2)
    value = "7200" if in_seconds else format_datetime(later, usegmt=True)
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(
            feed_server.url(f"/status/429?retry-after={quote(value)}"), max_bytes=CAP
        )

    assert result.status == 429 and result.attempts == 1 and result.elapsed_ms < 500
    assert result.retry_after_s == pytest.approx(7200, abs=5)


@pytest.mark.anyio
async def test_refused_connection_is_an_error_naming_the_url(settings: Settings) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again at once: nothing listens there
    url = f"http://127.0.0.1:{port}/feed.xml"
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(url, max_bytes=CAP)

    assert result.status is None and url in (result.error or "") and "ConnectError" in result.error
    assert result.attempts == settings.retries + 1


@pytest.mark.anyio
@pytest.mark.parametrize("url", ["ftp://127.0.0.1/feed.xml", "http://[::1/feed", "not a url"])
async def test_bad_urls_are_errors_not_exceptions(settings: Settings, url: str) -> None:
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(url, max_bytes=CAP)

    assert result.status is None and result.error and result.attempts == 1


@pytest.mark.anyio
async def test_per_host_limit(feed_server, settings: Settings) -> None:
    settings = replace(settings, max_per_host=2)
    async with Fetcher(settings) as fetcher:
        results = await asyncio.gather(
            *(fetcher.get(feed_server.url("/hold?key=per-host"), max_bytes=CAP) for _ in range(6))
        )

    assert all(r.ok for r in results)
    assert feed_server.peak["per-host"] == 2


@pytest.mark.anyio
async def test_global_limit(feed_server, settings: Settings) -> None:
    settings = replace(settings, max_connections=3, max_per_host=10)
    async with Fetcher(settings) as fetcher:
        results = await asyncio.gather(
            *(fetcher.get(feed_server.url("/hold?key=global"), max_bytes=CAP) for _ in range(7))
        )

    assert all(r.ok for r in results)
    assert feed_server.peak["global"] == 3


# --- private-network guard (names and literals are resolved, never connected to) ----------

OTHER_FEED = "https://feeds.example.org/rss.xml"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "page",
    [
        "http://10.0.0.1/article",
        "http://192.168.1.5/article",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8080/admin",
        "http://127.0.0.1/article",
        "http://[::1]/article",
        "http://[::ffff:10.0.0.1]/article",
        "http://0.0.0.0/article",
        "http://224.0.0.1/article",
        "ftp://93.184.215.14/file",
        "file:///etc/passwd",
        "http://93.184.215.14:99999/bad-port",
    ],
)
async def test_private_and_odd_pages_are_refused(settings: Settings, page: str) -> None:
    settings = replace(settings, allow_private_networks=False)
    async with Fetcher(settings) as fetcher:
        assert not await fetcher.page_allowed(page, OTHER_FEED)


@pytest.mark.anyio
async def test_public_own_host_and_allowed_private_pages_pass(settings: Settings) -> None:
    strict = replace(settings, allow_private_networks=False)
    async with Fetcher(strict) as fetcher:
        assert await fetcher.page_allowed("https://93.184.215.14/story", OTHER_FEED)
        assert await fetcher.page_allowed("http://10.0.0.1/story", "http://10.0.0.1/feed.xml")
    async with Fetcher(replace(settings, allow_private_networks=True)) as fetcher:
        assert await fetcher.page_allowed("http://192.168.1.5/story", OTHER_FEED)
        assert not await fetcher.page_allowed("file:///etc/passwd", OTHER_FEED)


@pytest.mark.anyio
async def test_page_fetch_refuses_a_redirect_into_the_private_network(
    feed_server, settings: Settings
) -> None:
    # The first hop is on the feed's own host (allowed); the redirect goes to "localhost",
    # another name that resolves to loopback, and must not be followed.
    port = feed_server.base_url.rsplit(":", 1)[1]
    target = f"http://localhost:{port}{FEED}"
    page = feed_server.url(f"/redirect?code=302&to={quote(target)}")
    before = feed_server.hits(FEED)
    async with Fetcher(replace(settings, allow_private_networks=False)) as fetcher:
        result = await fetcher.get(page, max_bytes=CAP, feed_url=feed_server.url("/feed.xml"))

    assert not result.ok and "refused" in (result.error or "") and target in result.error
    assert feed_server.hits(FEED) == before


@pytest.mark.anyio
async def test_a_name_that_rebinds_to_a_private_address_is_refused_after_connecting(
    feed_server, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the guard's lookup saw a public address, the connection reached loopback.

    The lookup's verdict is what we fake (no DNS server can run here); the
    connection and the refusal are real.
    """

    async def public(host: str) -> bool:
        return True

    monkeypatch.setattr(fetch, "_resolves_public", public)
    port = feed_server.base_url.rsplit(":", 1)[1]
    page = f"http://localhost:{port}{FEED}"
    strict = replace(settings, allow_private_networks=False, retries=0)
    async with Fetcher(strict) as fetcher:
        assert await fetcher.page_allowed(page, OTHER_FEED)
        result = await fetcher.get(page, max_bytes=CAP, feed_url=OTHER_FEED)
        own = await fetcher.get(page, max_bytes=CAP, feed_url=f"http://localhost:{port}/f.xml")

    assert not result.ok and not result.body
    assert "refused" in (result.error or "") and "127.0.0.1" in (result.error or "")
    assert own.ok and own.body  # the feed's own host is fetched anyway, private or not


# --- next_fetch_at ------------------------------------------------------------------------

NOW = datetime(2024, 12, 18, 12, 0, tzinfo=UTC)
FAILED = FetchResult(url="http://127.0.0.1/f", status=500, error="http://127.0.0.1/f: HTTP 500")
FRESH = FetchResult(url="http://127.0.0.1/f", status=200, body=b"<rss/>")


def test_back_off_grows_with_failures_up_to_the_cap(settings: Settings) -> None:
    source = Source(name="s", url="http://127.0.0.1/f", interval=30)
    delays = [
        next_fetch_at(replace(source, consecutive_failures=n), FAILED, NOW, settings) - NOW
        for n in range(1, 8)
    ]
    assert delays[0] >= timedelta(minutes=60)
    assert all(a < b for a, b in zip(delays[:4], delays[1:5], strict=True))
    assert max(delays) <= timedelta(minutes=settings.max_backoff_min * 1.1)


def test_failure_waits_at_least_retry_after(settings: Settings) -> None:
    source = Source(name="s", url="http://127.0.0.1/f", consecutive_failures=1)
    limited = replace(FAILED, status=429, retry_after_s=5 * 3600.0)
    assert next_fetch_at(source, limited, NOW, settings) >= NOW + timedelta(hours=5)


def test_success_uses_interval_stretched_by_ttl_and_clamped(settings: Settings) -> None:
    hourly = Source(name="s", url="http://127.0.0.1/f")
    assert next_fetch_at(hourly, FRESH, NOW, settings) == NOW + timedelta(minutes=60)
    assert next_fetch_at(hourly, FRESH, NOW, settings, ttl_minutes=180) == NOW + timedelta(
        minutes=180
    )
    assert next_fetch_at(hourly, FRESH, NOW, settings, ttl_minutes=10) == NOW + timedelta(
        minutes=60
    )
    eager = replace(hourly, interval=1)
    assert next_fetch_at(eager, FRESH, NOW, settings) == NOW + timedelta(minutes=5)
    far = next_fetch_at(hourly, FRESH, NOW, settings, ttl_minutes=100_000)
    assert far == NOW + timedelta(minutes=settings.max_backoff_min)
    not_modified = replace(FRESH, status=304, body=b"")
    assert next_fetch_at(hourly, not_modified, NOW, settings) == NOW + timedelta(minutes=60)


@pytest.mark.anyio
async def test_cache_control_max_age_from_a_real_response(feed_server, settings: Settings) -> None:
    async with Fetcher(settings) as fetcher:
        result = await fetcher.get(feed_server.url("/cache?max-age=7200"), max_bytes=CAP)

    source = Source(name="s", url=result.url)
    assert next_fetch_at(source, result, NOW, settings) == NOW + timedelta(hours=2)
