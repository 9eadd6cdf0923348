"""The topics page of the desk: rename, merge or hide what stories were linked to.

Recognition is automatic and can be wrong in small ways (a name split in
two, a generic word taken for a name); an editor's decision fixes it for
good: the store keeps a renamed entity's name, a hidden one out of every
page, and a merged one pointing at the other, and the next build publishes
that. Each handler reads the form, makes one store write on the store's
thread, and redirects back with a notice.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from ..store.editorial import EditRefused
from .desk import back, desk, editor, form_int, notify, now, refused


async def topics_view(request: Request) -> Response:
    """Every entity with its story count, most linked first, each with its three actions."""
    d = desk(request)
    records = await d.run(d.store.entities.records)
    shown = request.query_params.get("kind", "")
    return d.render(
        request,
        "topics.html",
        records=[r for r in records if not shown or r.kind == shown],
        choices=[r for r in records if not r.hidden and r.merged_into is None],
        kinds=sorted({r.kind for r in records}),
        kind=shown,
    )


async def rename(request: Request, form: FormData) -> Response:
    entity_id = request.path_params["entity_id"]
    name = str(form.get("name", ""))
    return await _write(
        request, form, "renamed", desk(request).store.entities.rename, entity_id, name
    )


async def hide(request: Request, form: FormData) -> Response:
    entity_id = request.path_params["entity_id"]
    hidden = form.get("hidden") == "1"
    write = desk(request).store.entities.set_hidden
    return await _write(request, form, "hidden" if hidden else "shown", write, entity_id, hidden)


async def merge(request: Request, form: FormData) -> Response:
    entity_id = request.path_params["entity_id"]
    into = form_int(form, "into")
    write = desk(request).store.entities.merge
    return await _write(request, form, f"merged into topic #{into}", write, entity_id, into)


async def _write(
    request: Request,
    form: FormData,
    done: str,
    write: Callable[..., None],
    entity_id: int,
    value: object,
) -> Response:
    d = desk(request)
    try:
        await d.run(write, editor(request), entity_id, value, now())
    except EditRefused as exc:
        return refused(request, exc, form)
    notify(request, f"Topic #{entity_id} {done}.")
    return back(request, "/topics")
