"""Cross-site request forgery: every unsafe request must come from our own pages.

Two independent checks, both required:

* ``OriginGuard`` (middleware) refuses a POST whose ``Sec-Fetch-Site`` is
  anything but ``same-origin``, or whose ``Origin`` is not this host. Browsers
  send these on every form post, so a page elsewhere cannot pass them.
* ``checked_form`` compares the form's ``csrf`` field with the token kept in
  the signed session cookie (constant time). ``routes.py`` wraps every POST
  handler in it, so no unsafe handler can forget it.

The session cookie is also ``SameSite=Lax``, which keeps it off cross-site POSTs.
"""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from starlette.datastructures import FormData, Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FIELD = "csrf"


def token(request: Request) -> str:
    """The session's CSRF token, made on first use (a visitor gets one before logging in)."""
    value = request.session.get(FIELD)
    if not isinstance(value, str):
        value = secrets.token_urlsafe(32)
        request.session[FIELD] = value
    return value


async def checked_form(request: Request) -> FormData:
    """The request's form, after its CSRF token matched the session's; else 403."""
    form = await request.form()
    sent = form.get(FIELD)
    expected = request.session.get(FIELD)
    if not (
        isinstance(sent, str)
        and isinstance(expected, str)
        and hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise HTTPException(
            403,
            "This form has expired or did not come from the desk. Reload the page and try again.",
        )
    return form


class OriginGuard:
    """Refuse unsafe requests that a browser says came from another site."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            problem = _cross_site(Headers(scope=scope))
            if problem:
                await _refuse(problem, send)
                return
        await self.app(scope, receive, send)


def _cross_site(headers: Headers) -> str | None:
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return f"Refused: a {site} request cannot change anything here."
    origin = headers.get("origin")
    if origin is not None:
        host = headers.get("host", "")
        if origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
            return "Refused: this request came from another site."
    return None


async def _refuse(message: str, send: Send) -> None:
    body = message.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 403,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
