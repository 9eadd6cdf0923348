"""Editors' accounts and logins: salted scrypt hashes, a signed session cookie.

Passwords are hashed with ``hashlib.scrypt`` (memory-hard, standard library)
and a random salt per editor; the stored text names its parameters, so they
can be raised later without breaking old hashes. A login puts the editor's
name in the session together with a fingerprint of their hash: changing a
password (``digest add-editor`` again) ends every session made with the old one.

The session is Starlette's signed cookie, ``HttpOnly`` and ``SameSite=Lax``;
``RequireEditor`` lets nothing but the login page and the stylesheet through
without a valid session.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import secrets
from datetime import datetime
from urllib.parse import quote

import anyio.to_thread
from starlette.datastructures import FormData
from starlette.requests import HTTPConnection, Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ..errors import ConfigError
from ..store import Store
from .csrf import token
from .desk import back, desk, now

LOGGER = logging.getLogger(__name__)
_N, _R, _P = 2**14, 8, 1  # scrypt cost: about 16 MB and a few tens of ms per hash
PUBLIC = ("/login", "/static/")
MIN_PASSWORD = 8
# Compared against when the name is unknown, so a wrong name costs as much as a wrong password.
_DUMMY = "scrypt$16384$8$1$00$" + "00" * 32


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex) for a new random salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches a hash made by ``hash_password`` (constant-time compare)."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(),
            salt=bytes.fromhex(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected) // 2,
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


def add_editor(store: Store, name: str, password: str) -> bool:
    """Create an editor, or set a new password for one; True when created.

    What ``digest add-editor NAME`` calls. Names are 1-40 letters, digits, dots,
    dashes or underscores; passwords at least ``MIN_PASSWORD`` characters.
    """
    if not (0 < len(name) <= 40 and all(c.isalnum() or c in "._-" for c in name)):
        raise ConfigError(f"editor name {name!r}: use 1-40 letters, digits, '.', '-' or '_'")
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"the password needs at least {MIN_PASSWORD} characters")
    return store.editorial.set_editor(name, hash_password(password), now())


def fingerprint(stored_hash: str) -> str:
    """A short value that changes when the editor's password does (kept in the session)."""
    return hashlib.sha256(stored_hash.encode()).hexdigest()[:16]


async def login_page(request: Request) -> Response:
    return desk(request).render(request, "login.html", next=request.query_params.get("next", "/"))


async def login(request: Request, form: FormData) -> Response:
    """Check name and password; on success start a fresh session (new CSRF token too).

    While the name or the client's address is cooling down after too many
    failures, nothing is checked (the right password included): 429 with
    ``Retry-After``. A success forgets both counts.
    """
    the_desk = desk(request)
    name = str(form.get("name", "")).strip()
    password = str(form.get("password", ""))
    target = str(form.get("next", "/"))
    address = request.client.host if request.client else "unknown"
    keys = (f"name:{name.casefold()}", f"address:{address}")
    locked = await the_desk.run(the_desk.store.logins.locked_until, keys, now())
    if locked is not None:
        return _cooling_down(request, name, address, target, locked)
    stored = await the_desk.run(the_desk.store.editorial.password_hash, name)
    matched = await anyio.to_thread.run_sync(verify_password, password, stored or _DUMMY)
    if stored is None or not matched:
        throttle = the_desk.params.login_throttle
        await the_desk.run(the_desk.store.logins.fail, keys, now(), throttle)
        return the_desk.render(
            request,
            "login.html",
            status_code=401,
            next=target,
            error="Wrong name or password.",
            name=name,
        )
    await the_desk.run(the_desk.store.logins.succeed, keys)
    request.session.clear()
    request.session.update(editor=name, key=fingerprint(stored))
    token(request)
    return back(request, target)


def _cooling_down(
    request: Request, name: str, address: str, target: str, until: datetime
) -> Response:
    """429 for a login attempt during a cool-down, logged with the address it came from."""
    wait = max(1, math.ceil((until - now()).total_seconds()))
    LOGGER.warning(
        "login refused for %r from %s: too many failures, %d s left", name, address, wait
    )
    response = desk(request).render(
        request,
        "login.html",
        status_code=429,
        next=target,
        error=f"Too many failed logins: try again in {_duration(wait)}.",
        name=name,
    )
    response.headers["Retry-After"] = str(wait)
    return response


def _duration(seconds: int) -> str:
    """``45 seconds``, ``3 minutes``: a wait as people say it (minutes rounded up)."""
    return f"{seconds} seconds" if seconds < 90 else f"{math.ceil(seconds / 60)} minutes"


async def logout(request: Request, form: FormData) -> Response:
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


class RequireEditor:
    """Every path but the login page and static files needs a live editor session.

    A page asked for without one redirects to the login (and back after it);
    any other request is refused with 403.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(PUBLIC):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        if await _signed_in(connection):
            await self.app(scope, receive, send)
            return
        response: Response
        if scope["method"] in ("GET", "HEAD"):
            path = scope["path"] + (f"?{connection.url.query}" if connection.url.query else "")
            response = RedirectResponse(f"/login?next={quote(path, safe='')}", status_code=303)
        else:
            response = PlainTextResponse("Log in first: this request has no editor session.", 403)
        await response(scope, receive, send)


async def _signed_in(connection: HTTPConnection) -> bool:
    session = connection.session
    name, key = session.get("editor"), session.get("key")
    if not isinstance(name, str) or not isinstance(key, str):
        return False
    the_desk = connection.app.state.desk
    stored = await the_desk.run(the_desk.store.editorial.password_hash, name)
    if stored is None or not hmac.compare_digest(fingerprint(stored), key):
        session.clear()
        return False
    return True
