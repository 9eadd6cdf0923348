"""Reading and deciding on stories: the day view, the story view, search, and the
one-story actions (status, headline and summary, reset, section).

Each handler is one small function: read the form, call one ``store.editorial``
write on the store's thread, then redirect (303) back to where the editor
was, with a notice. A refused write never redirects: the editor gets a page
that says why (409 for a stale version, 422 for a bad value), with their text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..explain import explain, weighing
from ..models import Article, Placement, Summary
from ..rank import SECTIONS
from ..store import Store
from ..store.editorial import EditConflict, EditRefused
from ..store.stories import StoryChoice, StoryRecord
from ..summarize import number_sources
from . import citations
from .desk import Desk, back, decide, desk, editor, form_int, form_next, notify, now, refuse

PAST = {"approve": "approved", "reject": "rejected", "pin": "pinned", "unpin": "unpinned"}
PREVIEW_CHARS = 320


@dataclass(frozen=True, slots=True)
class Member:
    """A member article as the story view lists it."""

    article: Article
    source: int | None  # its number among the summary's sources
    preview: str
    placement: Placement | None  # what it shares with the other members; None when alone


async def home(request: Request) -> Response:
    d = desk(request)
    day = await d.run(d.latest_day)
    return back(request, f"/day/{day.isoformat()}")


async def day_view(request: Request) -> Response:
    """The day's candidate stories in digest order, filtered by status and section."""
    d = desk(request)
    day = _day(request.path_params["day"])
    status = request.query_params.get("status", "")
    section = request.query_params.get("section", "")
    start, end = d.window(day)
    ordered = sorted(await d.run(d.store.stories.records_between, start, end), key=_rank_key)
    eligible = [r for r in ordered if _eligible(r)]
    limit = d.digest_params.limit
    in_digest = {r.id for r in (eligible[:limit] if limit else eligible)}
    shown = [
        r
        for r in ordered
        if (not status or r.status == status) and (not section or r.section == section)
    ]
    return d.render(
        request,
        "day.html",
        day=day,
        previous=day - timedelta(days=1),
        following=day + timedelta(days=1),
        stories=shown,
        total=len(ordered),
        in_digest=in_digest,
        status=status,
        section=section,
        status_counts=_counts(r.status for r in ordered),
        section_counts=_counts(r.section for r in ordered),
        window=(start, end),
    )


async def story_view(request: Request) -> Response:
    """Members, summary with citations, ranking explanation, history and every action."""
    d = desk(request)
    story_id = request.path_params["story_id"]
    page = await d.run(_story_page, d, story_id, True)
    if page is None:
        raise HTTPException(404, f"There is no story #{story_id}.")
    record: StoryRecord = page["record"]
    if record.merged_into and not record.articles:
        notify(request, f"Story #{story_id} was merged into #{record.merged_into}.", "info")
        return back(request, f"/story/{record.merged_into}")
    return d.render(request, "story.html", **_came_from(request, page))


async def search_view(request: Request) -> Response:
    """Full-text search over articles; with ``into`` each hit can be added to that story."""
    d = desk(request)
    query = request.query_params.get("q", "").strip()
    into = _optional_int(request.query_params.get("into"))
    hits, into_record = await d.run(_search, d.store, query, into)
    return d.render(request, "search.html", q=query, hits=hits, into=into_record)


async def set_status(request: Request, form: FormData) -> Response:
    story_id = request.path_params["story_id"]
    action = str(form.get("action", ""))
    return await decide(
        request,
        form,
        desk(request).store.editorial.set_status,
        action,
        notice=lambda _: f"Story #{story_id} {PAST.get(action, action)}.",
    )


async def edit_form(request: Request) -> Response:
    d = desk(request)
    page = await _editable_page(request)
    record: StoryRecord = page["record"]
    current = _current_summary(record.summary, page["articles"])
    return d.render(
        request,
        "edit.html",
        **_came_from(request, page),
        headline=record.headline,
        lead=citations.to_text(current.lead),
        points=citations.to_text(current.points),
        sources=current.sources,
        version=record.version,
        errors=[],
        conflict=None,
    )


async def edit(request: Request, form: FormData) -> Response:
    """Save an editor's headline and summary if every citation names a source."""
    d = desk(request)
    story_id = request.path_params["story_id"]
    page = await _editable_page(request)
    record: StoryRecord = page["record"]
    members: list[Article] = page["articles"]
    headline, lead, points = (str(form.get(k, "")) for k in ("headline", "lead", "points"))
    summary = citations.compose(record.summary, members, lead, points)
    errors, warnings = citations.check(summary, members)
    if not " ".join(headline.split()):
        errors.insert(0, "The headline cannot be empty.")
    version = form_int(form, "version")
    form_page = {
        **_came_from(request, page),
        "headline": headline,
        "lead": lead,
        "points": points,
        "sources": summary.sources,
        "version": version,
        "errors": errors,
        "conflict": None,
    }
    if errors:
        return d.render(request, "edit.html", status_code=422, **form_page)
    try:
        await d.run(
            d.store.editorial.edit, editor(request), story_id, version, headline, summary, now()
        )
    except EditConflict as exc:
        # Keep what the editor typed; show what is stored now; saving again is their choice.
        form_page.update(version=exc.current, conflict=str(exc))
        return d.render(request, "edit.html", status_code=409, **form_page)
    except EditRefused as exc:
        form_page.update(errors=[str(exc)])
        return d.render(request, "edit.html", status_code=422, **form_page)
    notify(request, f"Story #{story_id}: headline and summary saved.")
    for warning in warnings:
        notify(request, warning, "warn")
    return back(request, form_next(form), f"/story/{story_id}")


async def reset(request: Request, form: FormData) -> Response:
    story_id = request.path_params["story_id"]
    return await decide(
        request,
        form,
        desk(request).store.editorial.reset,
        notice=lambda _: f"Story #{story_id}: back to the generated headline and summary.",
    )


async def set_section(request: Request, form: FormData) -> Response:
    story_id = request.path_params["story_id"]
    chosen = str(form.get("section", ""))
    if chosen != "auto" and chosen not in SECTIONS:
        return refuse(request, f"Unknown section {chosen!r}.", 422, form_next(form))
    label = "chosen by the ranking again" if chosen == "auto" else f"set to {SECTIONS[chosen]}"
    return await decide(
        request,
        form,
        desk(request).store.editorial.set_section,
        None if chosen == "auto" else chosen,
        notice=lambda _: f"Story #{story_id}: section {label}.",
    )


async def _editable_page(request: Request) -> dict[str, Any]:
    """The story page behind the edit form, or 404 when the story has no articles to cite."""
    d = desk(request)
    story_id = request.path_params["story_id"]
    page = await d.run(_story_page, d, story_id)
    if page is None or not page["record"].articles:
        raise HTTPException(404, f"There is no story #{story_id} with articles.")
    return page


# -- reads, on the store's thread -------------------------------------------------------


def _story_page(d: Desk, story_id: int, explained: bool = False) -> dict[str, Any] | None:
    """The story's record, members (``explained``: with what joined each), history, neighbours."""
    store = d.store
    record = store.stories.record(story_id)
    if record is None:
        return None
    members = store.articles.get_many(store.stories.get(story_id).article_ids)
    members.sort(key=lambda a: (a.when is None, a.when or 0, a.id))
    numbers = {
        a: c.number
        for c in (record.summary.sources if record.summary else ())
        for a in c.article_ids
    }
    nearby: list[StoryChoice] = []
    if record.last_seen is not None:
        nearby = store.stories.choices_between(
            record.last_seen - timedelta(hours=48), record.last_seen + timedelta(hours=24)
        )
        nearby = [c for c in nearby if c.id != story_id]
    day = d.day_of(record.last_seen) if record.last_seen else None
    placements = {}
    if explained:
        spread = weighing(store.spread.load(), d.cluster_params)
        placements = explain(members, d.cluster_params, spread=spread)
    return {
        "record": record,
        "articles": members,
        "members": [
            Member(a, numbers.get(a.id), _preview(a.body), placements.get(a.id)) for a in members
        ],
        "history": store.editorial.history(story_id),
        "nearby": nearby,
        "day": day,
        "names": {c.number: c.outlet for c in record.summary.sources} if record.summary else {},
    }


def _search(
    store: Store, query: str, into: int | None
) -> tuple[list[tuple[Article, StoryRecord | None]], StoryRecord | None]:
    into_record = store.stories.record(into) if into is not None else None
    if not _fts_query(query):
        return [], into_record
    articles = store.articles.search(_fts_query(query), limit=50)
    records = {i: store.stories.record(i) for i in {a.story_id for a in articles} if i is not None}
    return [(a, records.get(a.story_id) if a.story_id else None) for a in articles], into_record


# -- helpers ----------------------------------------------------------------------------


def _fts_query(text: str) -> str:
    """The editor's words as FTS5 phrases (all must match); ``word*`` keeps its prefix star.

    Quoting each word means FTS syntax typed by accident (a quote, a dash,
    ``AND``) is searched for, never an error.
    """
    terms = []
    for word in text.split()[:20]:
        star = word.endswith("*") and len(word) > 1
        core = word.rstrip("*").replace('"', '""')
        if core:
            terms.append(f'"{core}"' + ("*" if star else ""))
    return " ".join(terms)


def _current_summary(summary: Summary | None, members: list[Article]) -> Summary:
    """The stored summary cited against the story's sources now (or an empty one)."""
    sources = number_sources(members)
    if summary is None:
        return Summary("", (), (), sources)
    return citations.renumber(summary, sources)


def _came_from(request: Request, page: dict[str, Any]) -> dict[str, Any]:
    """The page with the day the editor came from (``?day=``), not the story's last day."""
    value = request.query_params.get("day", "")
    return {**page, "day": _day(value)} if value else page


def _eligible(record: StoryRecord) -> bool:
    return record.status == "pinned" or (record.status != "rejected" and record.included)


def _rank_key(record: StoryRecord) -> tuple[bool, bool, bool, float, int]:
    """Digest order: pinned first, then by score; rejected and left-out stories last."""
    return (
        record.status != "pinned",
        record.status == "rejected",
        not _eligible(record),
        -(record.score or 0.0),
        record.id,
    )


def _counts(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts


def _preview(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= PREVIEW_CHARS:
        return text
    return text[:PREVIEW_CHARS].rsplit(" ", 1)[0] + " …"


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise HTTPException(404, f"{value!r} is not a day (YYYY-MM-DD).") from None


def _optional_int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None
