"""Changing which articles make a story: merge, split (move articles out), add from search.

Every handler names each story it changes together with the version the
editor saw (``id:version`` in a select or checkbox, ``version`` for the page's
own story), so a story changed meanwhile is refused, not overwritten. The
store writes the audit row and the must-link / cannot-link constraints that
keep the decision through any re-clustering. Afterwards the summaries of the
changed stories are remade, so the editor reads the new story at once.
"""

from __future__ import annotations

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..store.editorial import EditConflict, EditRefused
from .desk import back, decide, desk, editor, form_int, form_next, notify, now, refuse, refused


async def merge_into(request: Request, form: FormData) -> Response:
    """From a story's page: move every article of the chosen story into this one."""
    story_id = request.path_params["story_id"]
    other, other_version = _pair(str(form.get("other", "")))
    return await decide(
        request,
        form,
        desk(request).store.editorial.merge,
        other,
        other_version,
        notice=lambda _: f"Story #{other} merged into #{story_id}.",
        refresh=True,
    )


async def merge_selected(request: Request, form: FormData) -> Response:
    """From the day view: merge the checked stories into the first (highest-ranked) one.

    Each merge is its own transaction; if one is refused the earlier ones stay
    done and the page says which.
    """
    d = desk(request)
    chosen = [_pair(str(v)) for v in form.getlist("story")]
    if len(chosen) < 2:
        return refuse(request, "Tick at least two stories to merge.", 422, form_next(form))
    (into, version), rest = chosen[0], chosen[1:]
    done: list[int] = []
    for other, other_version in rest:
        try:
            version = await d.run(
                d.store.editorial.merge, editor(request), into, version, other, other_version, now()
            )
        except (EditConflict, EditRefused) as exc:
            if done:
                await d.run(d.refresh_summaries)
            merged = f" Stories {done} were merged into #{into} before it." if done else ""
            return refuse(
                request,
                f"{exc}{merged}",
                409 if isinstance(exc, EditConflict) else 422,
                form_next(form),
            )
        done.append(other)
    await d.run(d.refresh_summaries)
    notify(request, f"Merged {', '.join(f'#{i}' for i in done)} into #{into}.")
    return back(request, f"/story/{into}")


async def move(request: Request, form: FormData) -> Response:
    """Split: the ticked articles go to a new story or to the chosen one."""
    story_id = request.path_params["story_id"]
    articles = [_whole(v) for v in form.getlist("article")]
    target = str(form.get("target", "new"))
    target_id, target_version = (None, None) if target == "new" else _pair(target)
    kind = "a new story" if target_id is None else "story"
    return await decide(
        request,
        form,
        desk(request).store.editorial.move,
        articles,
        target_id,
        target_version,
        notice=lambda home: f"Moved {len(articles)} article(s) from #{story_id} to {kind} #{home}.",
        refresh=True,
    )


async def add_article(request: Request, form: FormData) -> Response:
    """From search results: put the article into the story (out of the one it was in)."""
    d = desk(request)
    story_id = request.path_params["story_id"]
    article_id = form_int(form, "article")
    try:
        await d.run(
            d.store.editorial.add_article,
            editor(request),
            article_id,
            story_id,
            form_int(form, "version"),
            now(),
        )
    except (EditConflict, EditRefused) as exc:
        return refused(request, exc, form)
    await d.run(d.refresh_summaries)
    notify(request, f"Article #{article_id} added to story #{story_id}.")
    return back(request, f"/story/{story_id}")


def _pair(value: str) -> tuple[int, int]:
    """``"12:3"`` → (story 12, version 3), as the desk's selects and checkboxes send it."""
    story, _, version = value.partition(":")
    return _whole(story), _whole(version)


def _whole(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise HTTPException(400, f"{value!r} is not a story or article number.") from None
