"""What every handler of the desk shares: the store, the templates, the day windows.

The store's one SQLite connection is used from a single worker thread
(``Desk.run``), so requests never interleave inside a transaction and the
event loop never waits on the disk; this is Datasette's one-writer-thread
design. Writes from the pipeline's own processes meet the desk's in SQLite
(WAL, a busy timeout, ``BEGIN IMMEDIATE``), and the stories' version numbers
catch any change made between rendering a form and saving it.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from .. import digest, params, run
from ..config import Settings
from ..rank import SECTIONS
from ..render.dates import short_time
from ..render.env import strict_environment
from ..store import Store
from ..store.editorial import EditConflict, EditRefused
from ..store.logins import Throttle
from . import csrf

T = TypeVar("T")
TEMPLATES = Path(__file__).with_name("templates")
STATUSES = ("auto", "approved", "pinned", "rejected")


@dataclass(frozen=True, slots=True)
class ReviewParams:
    """Tunable parameters of the desk; each has a working default."""

    secret_env: str = "DIGEST_REVIEW_SECRET"
    """Environment variable holding the session key; without it one is made and stored."""
    session_hours: float = 12.0
    """A login lasts this long."""
    https_only: bool = False
    """Mark the session cookie Secure (set it when the desk is served over HTTPS)."""
    max_body_bytes: int = 1_000_000
    """Largest form accepted."""
    login_throttle: Throttle = Throttle()
    """Failed logins allowed per name and per address before a growing cool-down."""


class Desk:
    """The open store, the settings, and the Jinja2 environment of one running desk."""

    def __init__(self, store: Store, settings: Settings, review: ReviewParams) -> None:
        self.store = store
        self.settings = settings
        self.params = review
        self.digest_params = params.for_digest(settings)
        self.cluster_params = params.for_cluster(settings)  # to explain what joined a story
        self._db = ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-db")
        self.env = _environment(settings.timezone)

    async def run(self, func: Callable[..., T], *args: Any) -> T:
        """Call ``func(*args)`` on the store's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._db, functools.partial(func, *args))

    def render(
        self, request: Request, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        """A page: the template with the editor, their CSRF token and pending notices."""
        session = request.session
        page = self.env.get_template(template).render(
            request=request,
            editor=session.get("editor"),
            csrf_token=csrf.token(request),
            notices=session.pop("notices", []),
            here=_here(request),
            **context,
        )
        return HTMLResponse(page, status_code=status_code)

    def window(self, day: date) -> tuple[datetime, datetime]:
        """[start, end) of ``day``'s digest, as the digest stage computes it."""
        return digest.window(day, self.digest_params)

    def day_of(self, moment: datetime) -> date:
        """The digest day whose window holds ``moment``."""
        zone = ZoneInfo(self.digest_params.timezone)
        local = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)
        _, end = self.window(local.date())
        return local.date() + timedelta(days=1) if local >= end else local.date()

    def latest_day(self) -> date:
        """The day of the newest article (today when there is none); runs on the store thread."""
        row = self.store.db.execute(
            "select max(coalesce(published_at, fetched_at)) from articles"
        ).fetchone()
        if row and row[0]:
            return self.day_of(datetime.fromisoformat(row[0]))
        return datetime.now(ZoneInfo(self.digest_params.timezone)).date()

    def refresh_summaries(self) -> None:
        """After a membership change, remake the summaries of the stories it touched
        (only those whose members changed), so the editor sees the merged or split
        story at once. An LLM summarizer can take a minute: then the next build does it.
        Runs on the store thread."""
        if self.settings.summarizer == "extractive":
            run.summarize_stories(self.store, self.settings)

    def close(self) -> None:
        self._db.shutdown(wait=True)
        self.store.close()


def desk(request: Request) -> Desk:
    found: Desk = request.app.state.desk
    return found


def editor(request: Request) -> str:
    return str(request.session["editor"])


def now() -> datetime:
    return datetime.now(UTC)


def notify(request: Request, message: str, kind: str = "ok") -> None:
    """A notice shown once, on the next page the editor sees."""
    request.session["notices"] = [*request.session.get("notices", []), [kind, message]]


def back(request: Request, target: str | None, fallback: str = "/") -> RedirectResponse:
    """303 to ``target`` when it is a path on this site, else to ``fallback`` (no open redirect)."""
    safe = target if target and target.startswith("/") and not target.startswith("//") else None
    return RedirectResponse(safe or fallback, status_code=303)


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _environment(timezone: str) -> Environment:
    env = strict_environment(TEMPLATES, ("html",))
    env.filters.update(
        when=lambda moment: short_time(moment, timezone) if moment else "—",
        query=lambda values: urlencode({k: v for k, v in values.items() if v}),
    )
    env.globals.update(sections=SECTIONS, statuses=STATUSES)
    return env


def refuse(request: Request, message: str, status: int, target: str | None = None) -> HTMLResponse:
    """A page saying why nothing was saved, with a way back to a fresh copy of the page."""
    where = target if target and target.startswith("/") and not target.startswith("//") else "/"
    return desk(request).render(
        request, "refused.html", status_code=status, message=message, target=where
    )


def refused(request: Request, exc: Exception, form: FormData) -> HTMLResponse:
    """``refuse`` for a write the store turned down: 409 for a stale version, else 422."""
    return refuse(request, str(exc), 409 if isinstance(exc, EditConflict) else 422, form_next(form))


async def decide(
    request: Request,
    form: FormData,
    write: Callable[..., T],
    *args: Any,
    notice: Callable[[T], str],
    refresh: bool = False,
) -> Response:
    """Run one editorial write on this page's story, at the version the editor saw.

    The write is called as ``write(editor, story_id, version, *args, now)`` on
    the store's thread. A refusal (a stale version, a bad value) gets the page
    that says why; otherwise the summaries are remade when membership changed
    (``refresh``), ``notice(result)`` is shown and the editor goes back to the
    page they acted from.
    """
    d = desk(request)
    story_id = request.path_params["story_id"]
    version = form_int(form, "version")
    try:
        result = await d.run(write, editor(request), story_id, version, *args, now())
    except (EditConflict, EditRefused) as exc:
        return refused(request, exc, form)
    if refresh:
        await d.run(d.refresh_summaries)
    notify(request, notice(result))
    return back(request, form_next(form), f"/story/{story_id}")


def form_int(form: FormData, name: str) -> int:
    """A whole number from the form, or 400: our own forms always send one."""
    try:
        return int(str(form.get(name, "")))
    except ValueError:
        raise HTTPException(400, f"The form lacks a valid {name}.") from None


def form_next(form: FormData) -> str | None:
    """The page the editor acted from, to go back to."""
    value = form.get("next")
    return value if isinstance(value, str) else None
