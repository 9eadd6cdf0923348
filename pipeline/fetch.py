"""HTTP for feeds and article pages: one shared client, polite limits, nothing raised.

We own HTTP and feedparser only parses bytes (style convention 7). A round
fetches many feeds at once, so one ``httpx.AsyncClient`` is shared, and a global
and a per-host semaphore keep us polite. Every failure (timeouts, HTTP errors,
bodies too large, redirect loops) comes back as ``FetchResult.error`` with the
URL in the message instead of an exception, so one bad source never stops a
round.

Two things httpx could do are done here on purpose:

* redirects are followed by hand, so a chain of permanent redirects (301/308)
  can be reported and the source's stored URL updated;
* bodies are decoded by hand with a byte budget, so a gzip bomb stops after
  ``max_bytes`` of output instead of being inflated in memory first (httpx
  inflates a whole network chunk at once, roughly a thousand times its size).
  Brotli is not advertised for the same reason: bounded brotli decoding would
  need a new dependency, and feeds are small and gzip is universal.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import re
import socket
import time
import urllib.request
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import httpx

from .config import Settings
from .models import FetchResult, Source

LOGGER = logging.getLogger(__name__)

_MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT = frozenset({301, 308})
_MIN_INTERVAL = timedelta(minutes=5)  # never poll a feed more often, whatever its headers say
_DNS_CACHE_S = 300.0  # how long a host's public/private verdict is reused
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
# Hop-by-hop and encoding headers describe the wire, not the decoded body we hand on.
_WIRE_HEADERS = frozenset({"content-encoding", "content-length", "transfer-encoding", "connection"})


def make_client(settings: Settings) -> httpx.AsyncClient:
    """The one HTTP client of a process: timeouts, pool limits and headers set once."""
    timeout = httpx.Timeout(
        connect=settings.connect_timeout_s,
        read=settings.read_timeout_s,
        write=settings.read_timeout_s,
        pool=settings.deadline_s,
    )
    limits = httpx.Limits(
        max_connections=settings.max_connections,
        max_keepalive_connections=settings.max_connections,
        keepalive_expiry=30.0,
    )
    headers = {
        "User-Agent": settings.user_agent,
        "Accept": _ACCEPT,
        "Accept-Encoding": "gzip, deflate",
    }
    return httpx.AsyncClient(
        timeout=timeout, limits=limits, headers=headers, follow_redirects=False
    )


class _Failure(Exception):
    """Why one attempt failed; caught in ``Fetcher.get`` and turned into ``FetchResult.error``."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        status: int | None = None,
        final_url: str = "",
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.status = status
        self.final_url = final_url
        self.retry_after_s = retry_after_s


class Fetcher:
    """Polite concurrent GETs over one shared client: ``async with Fetcher(settings) as f``."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._client = make_client(settings)
        self._global = asyncio.Semaphore(settings.max_connections)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._public_hosts: dict[str, tuple[float, bool]] = {}  # host -> (expires, public)
        # Through a proxy the peer is the proxy, and the proxy decides where we go.
        self._proxied = any(k in ("http", "https", "all") for k in urllib.request.getproxies())

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        max_bytes: int,
        etag: str | None = None,
        last_modified: str | None = None,
        feed_url: str | None = None,
    ) -> FetchResult:
        """GET ``url`` with retries; the outcome, good or bad, is always a ``FetchResult``.

        ``etag``/``last_modified`` make the request conditional (a 304 has no
        body). Pass ``feed_url`` when fetching an article page named by a feed:
        then the URL and every redirect hop must pass ``page_allowed``, so a
        redirect cannot lead us into a private network either.
        """
        started = time.monotonic()
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            attempt += 1
            try:
                result = await self._attempt(url, headers, max_bytes, feed_url)
            except _Failure as failure:
                delay = self._retry_delay(failure, attempt)
                if delay is None:
                    return FetchResult(
                        url=url,
                        status=failure.status,
                        final_url=failure.final_url or url,
                        error=str(failure),
                        retry_after_s=failure.retry_after_s,
                        attempts=attempt,
                        elapsed_ms=_ms_since(started),
                    )
                LOGGER.info("retrying %s in %.2f s after: %s", url, delay, failure)
                await asyncio.sleep(delay)
                continue
            if result.not_modified:
                result = replace(
                    result,
                    etag=result.etag or etag,
                    last_modified=result.last_modified or last_modified,
                )
            return replace(result, attempts=attempt, elapsed_ms=_ms_since(started))

    async def page_allowed(self, page_url: str, feed_url: str) -> bool:
        """May we fetch this page, named by a third-party feed, without reaching inside our network?

        Allowed: pages on the feed's own host (we fetch that host anyway), hosts
        whose every address is public, or anything when the settings allow
        private networks (the demo and the tests). Names are resolved, never
        connected to. A name whose DNS answer changes between this lookup and
        the connection (rebinding) is caught after connecting: see ``_request``.
        """
        try:
            parts = urlsplit(page_url)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
            feed_host = urlsplit(feed_url).hostname
        except ValueError:
            return False
        host = parts.hostname
        if parts.scheme not in {"http", "https"} or not host:
            return False
        if not self._guarded(host, feed_host):
            return True
        now = time.monotonic()
        cached = self._public_hosts.get(host)
        if cached is None or cached[0] < now:
            cached = (now + _DNS_CACHE_S, await _resolves_public(host))
            self._public_hosts[host] = cached
        return cached[1]

    def _guarded(self, host: str | None, feed_host: str | None) -> bool:
        """Whether a page on ``host`` must stay out of private networks."""
        return not self._settings.allow_private_networks and host != feed_host

    def _retry_delay(self, failure: _Failure, attempt: int) -> float | None:
        """Seconds to wait before the next attempt, or None to give up now."""
        if not failure.retryable or attempt > self._settings.retries:
            return None
        if failure.retry_after_s is not None:
            if failure.retry_after_s > self._settings.max_retry_after_s:
                return None  # too long for this round: the scheduler backs off instead
            return failure.retry_after_s
        # Exponential back-off with full jitter, so failing clients spread out.
        return random.uniform(0.0, self._settings.backoff_base_s * 2 ** (attempt - 1))

    async def _attempt(
        self, url: str, headers: dict[str, str], max_bytes: int, feed_url: str | None
    ) -> FetchResult:
        """One try: follow up to five redirects, then turn the final response into a result."""
        current, seen, permanent, hops = url, {url}, True, 0
        while True:
            if feed_url is not None and not await self.page_allowed(current, feed_url):
                raise _Failure(
                    f"{current}: refused, a private or non-http address (page of {feed_url})",
                    final_url=current,
                )
            public_only = (
                feed_url is not None
                and not self._proxied
                and self._guarded(urlsplit(current).hostname, urlsplit(feed_url).hostname)
            )
            status, response_headers, body = await self._request(
                current, headers, max_bytes, public_only
            )
            if status not in _REDIRECTS:
                break
            location = response_headers.get("location", "").strip()
            if not location:
                raise _Failure(
                    f"{current}: HTTP {status} redirect without a Location",
                    status=status,
                    final_url=current,
                )
            target = urljoin(current, location)
            hops += 1
            permanent = permanent and status in _PERMANENT
            if target in seen:
                raise _Failure(
                    f"{url}: redirect loop ({current} -> {target})",
                    status=status,
                    final_url=current,
                )
            if hops > _MAX_REDIRECTS:
                raise _Failure(
                    f"{url}: more than {_MAX_REDIRECTS} redirects (last {target})",
                    status=status,
                    final_url=current,
                )
            seen.add(target)
            current = target
        if status != 304 and not 200 <= status < 300:
            retry_after = _retry_after(response_headers.get("retry-after"), datetime.now(UTC))
            raise _Failure(
                f"{current}: HTTP {status} {httpx.codes.get_reason_phrase(status)}".rstrip(),
                retryable=status == 429 or status >= 500,
                status=status,
                final_url=current,
                retry_after_s=retry_after,
            )
        return FetchResult(
            url=url,
            status=status,
            final_url=current,
            body=body,
            headers=response_headers,
            etag=response_headers.get("etag"),
            last_modified=response_headers.get("last-modified"),
            permanent_redirect=current if hops and permanent else None,
        )

    async def _request(
        self, url: str, headers: dict[str, str], max_bytes: int, public_only: bool = False
    ) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request: status, headers and (for 2xx only) the decoded, capped body.

        The deadline starts once a connection slot is ours, so time queued
        behind other requests to the same host never counts against it. With
        ``public_only`` the address the connection actually reached must be
        public, or nothing of the response is read: a name that resolved to a
        public address for ``page_allowed`` and to a private one for the
        connection (DNS rebinding) gets no further than the request.
        """
        try:
            target = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise _Failure(f"{url}: invalid URL ({exc})", final_url=url) from None
        if target.scheme not in {"http", "https"} or not target.host:
            raise _Failure(f"{url}: not an http(s) URL", final_url=url)
        host_key = f"{target.host}:{target.port}"
        per_host = self._hosts.setdefault(host_key, asyncio.Semaphore(self._settings.max_per_host))
        deadline = self._settings.deadline_s
        async with per_host, self._global:
            try:
                async with (
                    asyncio.timeout(deadline),
                    self._client.stream("GET", target, headers=headers) as response,
                ):
                    if public_only:
                        _check_peer(response, url)
                    kept = {k: v for k, v in response.headers.items() if k not in _WIRE_HEADERS}
                    if not 200 <= response.status_code < 300:
                        return response.status_code, kept, b""
                    body = await _read_capped(response, url, max_bytes)
                    return response.status_code, kept, body
            except TimeoutError:
                message = f"{url}: no complete response within {deadline:g} s"
                raise _Failure(message, retryable=True, final_url=url) from None
            except httpx.UnsupportedProtocol as exc:
                raise _Failure(f"{url}: {exc}", final_url=url) from None
            except httpx.TransportError as exc:
                detail = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                raise _Failure(f"{url}: {detail}", retryable=True, final_url=url) from None


def _check_peer(response: httpx.Response, url: str) -> None:
    """Refuse a response whose connection reached a private address (or one we cannot tell)."""
    stream = response.extensions.get("network_stream")
    address = stream.get_extra_info("server_addr") if stream is not None else None
    try:
        ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0]) if address else None
    except ValueError:
        ip = None
    if ip is None or not _is_public(ip):
        raise _Failure(
            f"{url}: refused, the connection reached {ip or 'an unknown address'}, "
            "not a public one",
            final_url=url,
        )


async def _read_capped(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    """The decoded body, refused as soon as it would exceed ``max_bytes``."""
    too_large = _Failure(
        f"{url}: response larger than {max_bytes} bytes",
        status=response.status_code,
        final_url=url,
    )
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    inflater: zlib._Decompress | None = None
    if encoding in {"gzip", "x-gzip", "deflate"}:
        inflater = zlib.decompressobj(32 + zlib.MAX_WBITS)  # 32: accept gzip or zlib headers
    elif encoding not in {"identity", ""}:
        raise _Failure(
            f"{url}: unsupported Content-Encoding {encoding!r}",
            status=response.status_code,
            final_url=url,
        )
    declared = response.headers.get("content-length", "")
    if inflater is None and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        if inflater is None:
            data = raw
        else:
            try:
                # Ask for one byte more than we may keep: getting it means "too large",
                # and the rest of the bomb is never inflated.
                data = inflater.decompress(raw, max_bytes - size + 1)
            except zlib.error as exc:
                raise _Failure(
                    f"{url}: cannot decode {encoding} body ({exc})",
                    status=response.status_code,
                    final_url=url,
                ) from None
        size += len(data)
        if size > max_bytes:
            raise too_large
        chunks.append(data)
    return b"".join(chunks)


async def _resolves_public(host: str) -> bool:
    """True when ``host`` (a name or an IP literal) has only public addresses."""
    try:
        return _is_public(ipaddress.ip_address(host))
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        LOGGER.info("cannot resolve %s: refusing its pages", host)
        return False
    addresses = {str(info[4][0]).split("%", 1)[0] for info in infos}
    return bool(addresses) and all(_is_public(ipaddress.ip_address(a)) for a in addresses)


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    private = (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )
    return ip.is_global and not private


def _retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds from a Retry-After header, given as seconds or as an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


_MAX_AGE = re.compile(r"(?:^|[,\s])max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


def next_fetch_at(
    source: Source,
    result: FetchResult,
    now: datetime,
    settings: Settings,
    ttl_minutes: int | None = None,
) -> datetime:
    """When to fetch ``source`` again after ``result``.

    After a failure: the source's growing back-off (the caller has already
    counted this failure in ``consecutive_failures``), but never sooner than
    the server's Retry-After. After a success or a 304: the source's interval,
    stretched when Cache-Control max-age or the feed's <ttl> asks for longer,
    and kept between five minutes and ``max_backoff_min``.
    """
    longest = timedelta(minutes=settings.max_backoff_min)
    if not (result.ok or result.not_modified):
        at = source.next_fetch_after(now, settings.default_interval_min, settings.max_backoff_min)
        if result.retry_after_s is not None:
            at = max(at, now + min(timedelta(seconds=result.retry_after_s), longest))
        return at
    interval = timedelta(minutes=source.interval or settings.default_interval_min)
    max_age = _MAX_AGE.search(result.headers.get("cache-control", ""))
    if max_age:
        interval = max(interval, timedelta(seconds=int(max_age.group(1))))
    if ttl_minutes:
        interval = max(interval, timedelta(minutes=ttl_minutes))
    return now + min(max(interval, _MIN_INTERVAL), longest)
