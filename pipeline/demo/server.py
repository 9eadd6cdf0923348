"""A small real HTTP server for recorded feeds and pages, on 127.0.0.1 in a thread.

The demo and the tests use the same server, so the fetcher's real code path
(conditional GET, compression, redirects, errors) runs against it. Files under
``root`` are served with an ETag and a Last-Modified header and answer 304 to
a matching conditional request; ``{base}`` inside a file becomes the server's
own base URL, so recorded feeds can link to recorded pages on whatever port
the server got. Extra routes (slow, broken, hostile responses) are plain
functions registered by path.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import threading
from collections.abc import Callable
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

Handler = Callable[[BaseHTTPRequestHandler], None]

# Recorded files carry one fixed modification time so validators are stable across runs.
RECORDED_AT = 1734480000.0  # 2024-12-18T00:00:00Z

_TYPES = {
    ".xml": "application/xml; charset=utf-8",
    ".rss": "application/rss+xml; charset=utf-8",
    ".atom": "application/atom+xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}


class _Server(ThreadingHTTPServer):
    # The default listen backlog (5) drops connection attempts when a fetch round
    # opens many at once; the client then waits a whole SYN-retransmit second.
    request_queue_size = 256
    daemon_threads = True


class CorpusServer:
    """Serves ``root`` plus registered routes on 127.0.0.1:``port`` (0 picks a free port)."""

    def __init__(self, root: Path | None = None, port: int = 0) -> None:
        self.root = root
        self.routes: dict[str, Handler] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []  # (method, path, headers)
        self._bodies: dict[Path, bytes] = {}
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), self._handler_class())
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + "/" + path.lstrip("/")

    def route(self, path: str) -> Callable[[Handler], Handler]:
        """Register a handler for an exact path (query string ignored)."""

        def register(func: Handler) -> Handler:
            self.routes[path] = func
            return func

        return register

    def serve_forever(self) -> None:
        """Serve in the calling thread (for a server in its own process)."""
        self._httpd.serve_forever()

    def start(self) -> CorpusServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> CorpusServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def hits(self, path: str) -> int:
        """How many requests reached ``path`` so far."""
        with self._lock:
            return sum(1 for _, p, _ in self.requests if p == path)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with server._lock:
                    server.requests.append(("GET", path, dict(self.headers.items())))
                handler = server.routes.get(path)
                try:
                    if handler is not None:
                        handler(self)
                    else:
                        server._serve_file(self, path)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return _Handler

    def _serve_file(self, request: BaseHTTPRequestHandler, path: str) -> None:
        if self.root is None:
            send(request, 404, b"not found")
            return
        target = (self.root / path.lstrip("/")).resolve()
        if not target.is_relative_to(self.root.resolve()) or not target.is_file():
            send(request, 404, b"not found")
            return
        body = self._bodies.get(target)
        if body is None:  # recorded files never change while serving: read each once
            body = target.read_bytes().replace(b"{base}", self.base_url.encode())
            self._bodies[target] = body
        ctype = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or "text/plain"
        serve_conditional(request, body, ctype, RECORDED_AT)


def serve_conditional(
    request: BaseHTTPRequestHandler, body: bytes, content_type: str, modified_at: float
) -> None:
    """Answer with ETag and Last-Modified, 304 when the client's validators match, gzip if asked."""
    etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
    last_modified = formatdate(modified_at, usegmt=True)
    if_none_match = request.headers.get("If-None-Match")
    if_modified_since = request.headers.get("If-Modified-Since")
    fresh = False
    if if_none_match is not None:
        fresh = etag in [t.strip() for t in if_none_match.split(",")]
    elif if_modified_since:
        try:
            fresh = parsedate_to_datetime(if_modified_since).timestamp() >= int(modified_at)
        except (TypeError, ValueError):
            fresh = False
    headers = {"ETag": etag, "Last-Modified": last_modified, "Content-Type": content_type}
    if fresh:
        send(request, 304, b"", headers)
        return
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        body = gzip.compress(body, compresslevel=6, mtime=0)
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
    send(request, 200, body, headers)


def send(
    request: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> None:
    """Write one complete response with a Content-Length."""
    request.send_response(status)
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    if body and request.command != "HEAD":
        request.wfile.write(body)
