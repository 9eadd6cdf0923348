"""The editors' review desk: a small server-rendered web app over the store.

Editors log in, read a day's candidate stories in digest order, open a story
(its articles, cited summary and ranking explanation), search all articles,
and decide: approve, reject, pin, edit the headline and summary, change the
section, merge, split, add an article. Every decision goes through
``store.editorial``, which writes the audit log and the clustering
constraints in the same transaction, so ``digest build`` publishes exactly
what the editors decided and re-clustering never undoes it.

``create_app`` builds the ASGI app (Starlette; Jinja2 templates; plain HTML
forms, a few keyboard shortcuts in one small script, nothing fetched from
elsewhere); ``serve`` runs it with uvicorn, on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..config import Settings
from ..store import Store
from .auth import RequireEditor, add_editor, hash_password, verify_password
from .csrf import OriginGuard
from .desk import Desk, ReviewParams, desk
from .routes import ROUTES

__all__ = [
    "ReviewParams",
    "add_editor",
    "create_app",
    "hash_password",
    "serve",
    "verify_password",
]

SESSION_COOKIE = "digest_review"
_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


def create_app(
    store_path: str | Path, settings: Settings, review: ReviewParams | None = None
) -> Starlette:
    """The desk over the database at ``store_path`` (opened now, closed at shutdown).

    The session key comes from the environment variable ``review.secret_env``;
    without it, one is made once and kept in the database, so sessions outlive
    a restart.
    """
    review = review or ReviewParams()
    store = Store.open(store_path)
    the_desk = Desk(store, settings, review)
    secret = os.environ.get(review.secret_env) or store.editorial.secret("session")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        the_desk.close()

    app = Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(_SecurityHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie=SESSION_COOKIE,
                max_age=int(review.session_hours * 3600),
                same_site="lax",
                https_only=review.https_only,
            ),
            Middleware(OriginGuard),
            Middleware(RequireEditor),
        ],
        exception_handlers={HTTPException: _error_page},
        lifespan=lifespan,
        max_body_size=review.max_body_bytes,
    )
    app.state.desk = the_desk
    return app


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8700,
    review: ReviewParams | None = None,
) -> None:
    """Run the desk with uvicorn until interrupted (what ``digest review`` calls)."""
    import uvicorn

    uvicorn.run(create_app(settings.db, settings, review), host=host, port=port, log_level="info")


async def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return desk(request).render(
        request, "refused.html", status_code=exc.status_code, message=exc.detail, target="/"
    )


class _SecurityHeaders:
    """Headers on every response: a strict content policy, no framing, no caching of pages."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers)
