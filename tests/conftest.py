"""Shared fixtures: settings for fast tests, an in-memory store, and a real loopback feed server.

The feed server is ``pipeline.demo.server.CorpusServer`` serving ``tests/fixtures/``
(real ETag / Last-Modified / 304 / gzip handling) plus hostile routes, so the
fetcher's production code path runs in tests. Every route is bounded in time
and size: nothing sleeps longer than a few seconds or keeps a body in memory.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiosmtpd.controller import Controller

from pipeline import demo, run
from pipeline.config import Settings
from pipeline.demo.server import CorpusServer, send, serve_conditional
from pipeline.models import Article
from pipeline.store import Store

from . import postgres
from .postgres import PostgresServer

FIXTURES = Path(__file__).parent / "fixtures"

SMALL_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Small</title><link>http://127.0.0.1/</link>
<item><title>Only item</title><link>http://127.0.0.1/only</link></item>
</channel></rss>"""

HUGE_BYTES = 50_000_000
BOMB_BYTES = 64_000_000  # inflated size of /gzip-bomb; its gzip body is about 60 kB
HANG_LIMIT_S = 5.0  # the longest any route keeps a connection busy

# Broken XML that feedparser's loose parser can still read: truncated mid-item, a bare "&".
MALFORMED = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Cut off</title>
<item><title>First & readable</title><link>http://127.0.0.1/m/1</link></item>
<item><title>Second readable</title><link>http://127.0.0.1/m/2</link></item>
<item><title>Truncated</title><link>http://127.0.0.1/m/3</li"""

# The declaration says ISO-8859-1 (true); the Content-Type header says UTF-8 (false).
WRONG_CHARSET = (
    '<?xml version="1.0" encoding="iso-8859-1"?>\n'
    '<rss version="2.0"><channel><title>Caf\u00e9 news</title><link>http://127.0.0.1/</link>'
    "<item><title>Un caf\u00e9 tr\u00e8s fort</title><link>http://127.0.0.1/cafe</link></item>"
    "</channel></rss>"
).encode("latin-1")


class FeedServer(CorpusServer):
    """The corpus server plus the state the hostile routes keep for assertions."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.counters: dict[str, int] = {}
        self.in_flight: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.state_lock = threading.Lock()

    def count(self, key: str) -> int:
        """Increment and return the counter for ``key`` (per-test keys keep tests independent)."""
        with self.state_lock:
            self.counters[key] = self.counters.get(key, 0) + 1
            return self.counters[key]


def _query(request: BaseHTTPRequestHandler) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}


def _redirect(request: BaseHTTPRequestHandler, status: int, location: str) -> None:
    send(request, status, b"", {"Location": location})


def _add_routes(server: FeedServer) -> None:
    for code in (400, 403, 404, 410, 429, 500, 502, 503):

        def status(request: BaseHTTPRequestHandler, code: int = code) -> None:
            """``/status/<code>[?retry-after=V]``: always that status."""
            retry_after = _query(request).get("retry-after")
            headers = {"Retry-After": retry_after} if retry_after else {}
            send(request, code, b"error", headers)

        server.route(f"/status/{code}")(status)

    @server.route("/flaky")
    def flaky(request: BaseHTTPRequestHandler) -> None:
        """``/flaky?key=K&fails=N[&code=503][&retry-after=V]``: fails N times per key, then 200."""
        q = _query(request)
        if server.count("flaky:" + q["key"]) <= int(q.get("fails", "1")):
            headers = {"Retry-After": q["retry-after"]} if "retry-after" in q else {}
            send(request, int(q.get("code", "503")), b"try again", headers)
        else:
            send(request, 200, SMALL_FEED, {"Content-Type": "application/rss+xml"})

    @server.route("/slow")
    def slow(request: BaseHTTPRequestHandler) -> None:
        """Headers at once, then one byte every 0.1 s: no read timeout fires, only a deadline."""
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        request.send_header("Content-Length", "1000")
        request.end_headers()
        for _ in range(int(HANG_LIMIT_S / 0.1)):
            request.wfile.write(b" ")
            request.wfile.flush()
            time.sleep(0.1)

    @server.route("/stall")
    def stall(request: BaseHTTPRequestHandler) -> None:
        """Never answers (within HANG_LIMIT_S): a read timeout or the deadline must end it."""
        time.sleep(HANG_LIMIT_S)
        send(request, 200, SMALL_FEED)

    @server.route("/hold")
    def hold(request: BaseHTTPRequestHandler) -> None:
        """``/hold?key=K``: answers after 0.2 s, recording how many requests overlapped."""
        key = _query(request)["key"]
        with server.state_lock:
            server.in_flight[key] = server.in_flight.get(key, 0) + 1
            server.peak[key] = max(server.peak.get(key, 0), server.in_flight[key])
        time.sleep(0.2)
        with server.state_lock:
            server.in_flight[key] -= 1
        send(request, 200, SMALL_FEED, {"Content-Type": "application/rss+xml"})

    @server.route("/redirect")
    def redirect(request: BaseHTTPRequestHandler) -> None:
        """``/redirect?code=301&to=/feeds/x.xml``: one redirect of the given kind."""
        q = _query(request)
        _redirect(request, int(q.get("code", "302")), q["to"])

    server.route("/moved")(lambda r: _redirect(r, 301, "/feeds/rss2-lab-blog.xml"))
    server.route("/moved-308")(lambda r: _redirect(r, 308, "/feeds/atom-research.xml"))
    server.route("/found")(lambda r: _redirect(r, 302, "/feeds/rss2-lab-blog.xml"))
    server.route("/moved-twice")(lambda r: _redirect(r, 301, "/moved-308"))
    server.route("/moved-then-found")(lambda r: _redirect(r, 301, "/found"))

    @server.route("/redirect-loop")
    def redirect_loop(request: BaseHTTPRequestHandler) -> None:
        """A two-step cycle: /redirect-loop -> /redirect-loop?again=1 -> /redirect-loop."""
        again = "again" in _query(request)
        _redirect(request, 302, "/redirect-loop" if again else "/redirect-loop?again=1")

    @server.route("/redirect-chain")
    def redirect_chain(request: BaseHTTPRequestHandler) -> None:
        """``/redirect-chain?n=N``: N distinct redirects, then a feed."""
        n = int(_query(request)["n"])
        if n > 0:
            _redirect(request, 302, f"/redirect-chain?n={n - 1}")
        else:
            send(request, 200, SMALL_FEED, {"Content-Type": "application/rss+xml"})

    @server.route("/huge")
    def huge(request: BaseHTTPRequestHandler) -> None:
        """50 MB in 256 kB chunks (``?chunked=1``: without a Content-Length)."""
        chunked = "chunked" in _query(request)
        request.send_response(200)
        request.send_header("Content-Type", "application/rss+xml")
        if chunked:
            request.send_header("Transfer-Encoding", "chunked")
        else:
            request.send_header("Content-Length", str(HUGE_BYTES))
        request.end_headers()
        block = b"x" * 262_144
        for _ in range(HUGE_BYTES // len(block)):
            if chunked:
                request.wfile.write(b"%x\r\n%s\r\n" % (len(block), block))
            else:
                request.wfile.write(block)
        if chunked:
            request.wfile.write(b"0\r\n\r\n")

    bomb = _gzip_bomb()

    @server.route("/gzip-bomb")
    def gzip_bomb(request: BaseHTTPRequestHandler) -> None:
        send(
            request, 200, bomb, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
        )

    @server.route("/deflate")
    def deflate(request: BaseHTTPRequestHandler) -> None:
        """The small feed as zlib-wrapped deflate, the form HTTP's 'deflate' means."""
        body = zlib.compress(SMALL_FEED)
        send(
            request,
            200,
            body,
            {"Content-Type": "application/rss+xml", "Content-Encoding": "deflate"},
        )

    @server.route("/brotli")
    def brotli(request: BaseHTTPRequestHandler) -> None:
        """An encoding we never asked for and cannot decode."""
        send(
            request,
            200,
            b"\x8b\x00\x80",
            {"Content-Type": "application/rss+xml", "Content-Encoding": "br"},
        )

    @server.route("/wrong-charset")
    def wrong_charset(request: BaseHTTPRequestHandler) -> None:
        send(request, 200, WRONG_CHARSET, {"Content-Type": "application/rss+xml; charset=utf-8"})

    @server.route("/malformed")
    def malformed(request: BaseHTTPRequestHandler) -> None:
        send(request, 200, MALFORMED, {"Content-Type": "application/rss+xml"})

    @server.route("/not-modified")
    def not_modified(request: BaseHTTPRequestHandler) -> None:
        """Always 304; ``?etag=E`` sends a new ETag with it, otherwise no validators."""
        etag = _query(request).get("etag")
        send(request, 304, b"", {"ETag": etag} if etag else {})

    @server.route("/cache")
    def cache(request: BaseHTTPRequestHandler) -> None:
        """``/cache?max-age=N``: the small feed with a Cache-Control lifetime."""
        max_age = _query(request)["max-age"]
        headers = {
            "Content-Type": "application/rss+xml",
            "Cache-Control": f"public, max-age={max_age}",
        }
        send(request, 200, SMALL_FEED, headers)


def _gzip_bomb() -> bytes:
    """BOMB_BYTES of zeros, gzip-compressed a megabyte at a time to keep memory low."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    zeros = bytes(1_000_000)
    parts = [compressor.compress(zeros) for _ in range(BOMB_BYTES // len(zeros))]
    parts.append(compressor.flush())
    return b"".join(parts)


@pytest.fixture(scope="session")
def feed_server() -> Iterator[FeedServer]:
    """A real HTTP server on 127.0.0.1 serving tests/fixtures/ plus hostile routes."""
    server = FeedServer(FIXTURES)
    _add_routes(server)
    with server:
        yield server


@pytest.fixture
def settings() -> Settings:
    """Settings for tests: loopback allowed, short timeouts, fast retries."""
    return replace(
        Settings(),
        allow_private_networks=True,
        connect_timeout_s=1.0,
        read_timeout_s=1.0,
        deadline_s=1.0,
        retries=2,
        backoff_base_s=0.01,
        max_retry_after_s=2.0,
    )


@pytest.fixture
def store() -> Iterator[Store]:
    """A fresh, migrated in-memory database."""
    db = Store.memory()
    yield db
    db.close()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session; skipped with the reason when none can be
    started here (a laptop without the packages), but a failure in CI, where it must run."""
    reason = postgres.unavailable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the PostgreSQL tests cannot run: {reason}")
        pytest.skip(reason)
    server = PostgresServer().start()
    yield server
    server.stop()


BACKENDS = ("sqlite", "postgresql")


@pytest.fixture(params=BACKENDS)
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend: an SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "pipeline.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()


@pytest.fixture
def any_store(db_target: str) -> Iterator[Store]:
    """A fresh, migrated store on each backend in turn."""
    opened = Store.open(db_target)
    yield opened
    opened.close()


@pytest.fixture
def anyio_backend() -> str:
    """Async tests (``@pytest.mark.anyio``) run on asyncio, the loop the pipeline uses."""
    return "asyncio"


def slow_demo_pages(server: CorpusServer, delay_s: float) -> None:
    """Serve every demo article page after ``delay_s``, so a fetch round lasts a while."""
    for keyed in demo.answer_key():

        def page(request: BaseHTTPRequestHandler, path: str = keyed.path) -> None:
            time.sleep(delay_s)
            body = (demo.CORPUS / path.lstrip("/")).read_bytes()
            body = body.replace(b"{base}", server.base_url.encode())
            serve_conditional(request, body, "text/html; charset=utf-8", 1734480000.0)

        server.route(keyed.path)(page)


def demo_store(out: Path, **overrides: object) -> tuple[Store, Settings]:
    """The bundled demo corpus fetched over loopback into a fresh database in ``out``,
    deduplicated, clustered and summarized: the starting point of end-to-end tests."""
    with demo.serve_corpus() as server:
        db, sources_file = demo.prepare(out, server.base_url)
        settings = replace(
            Settings(),
            db=str(db),
            sources=str(sources_file),
            digests_dir=str(out / "digests"),
            site_dir=str(out / "site"),
            **overrides,
        )
        store, _ = run.init(settings)
        run.fetch_round(store, settings, force=True)
        run.update_stories(store, settings)
    return store, settings


def make_article(id: int, outlet: str, title: str, **fields: Any) -> Article:
    """A stored-looking article for unit tests: its own URL on the outlet's site, any fields."""
    url = f"https://{outlet.lower().replace(' ', '')}.example/{id}"
    return Article(
        id=id,
        source_id=fields.pop("source_id", id),
        outlet=outlet,
        url=url,
        canonical_url=url,
        title=title,
        **fields,
    )


CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def browser_api() -> Any:
    """Playwright's sync API; skips the calling test module without Chromium or playwright."""
    if not CHROMIUM.exists():
        pytest.skip(
            "/usr/bin/chromium is not installed (apt-get install chromium)", allow_module_level=True
        )
    return pytest.importorskip(
        "playwright.sync_api", reason="the playwright package is not installed"
    )


def screenshot(page: Any, folder: Path, name: str, full_page: bool = False) -> Path:
    """Save ``folder/name.png`` of the page and check it is a real picture, not a blank."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    assert path.stat().st_size > 10_000
    return path


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, never a downloaded browser: the one way tests start it."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)


@dataclass
class Recorder:
    """An aiosmtpd handler that keeps what it receives and can refuse or defer recipients."""

    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    defer: dict[str, int] = field(default_factory=dict)  # address → 451 replies still to give

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such user"
        if self.defer.get(address, 0) > 0:
            self.defer[address] -= 1
            return "451 4.3.0 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.received.append(
            (envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 Message accepted"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    """A real SMTP server (aiosmtpd) on a free loopback port, recording what it receives."""
    handler = Recorder()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
