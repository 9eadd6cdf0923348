"""The desk's route table, and nothing else (as Miniflux's ui/routes.go).

Every POST handler is wrapped in ``_post``, which reads the form only after
its CSRF token matched the session's: no unsafe handler can skip the check.
Login and the static files are the only paths open without a session
(``auth.RequireEditor``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from . import auth, merge, stories, topics
from .csrf import checked_form

STATIC = Path(__file__).with_name("static")
FormHandler = Callable[[Request, FormData], Awaitable[Response]]


def _post(handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        return await handler(request, await checked_form(request))

    endpoint.__name__ = handler.__name__
    return endpoint


def _form(path: str, handler: FormHandler) -> Route:
    return Route(path, _post(handler), methods=["POST"])


ROUTES: list[BaseRoute] = [
    Route("/", stories.home),
    Route("/login", auth.login_page, methods=["GET"]),
    _form("/login", auth.login),
    _form("/logout", auth.logout),
    Route("/day/{day}", stories.day_view),
    Route("/search", stories.search_view),
    _form("/merge", merge.merge_selected),
    Route("/story/{story_id:int}", stories.story_view),
    Route("/story/{story_id:int}/edit", stories.edit_form, methods=["GET"]),
    _form("/story/{story_id:int}/edit", stories.edit),
    _form("/story/{story_id:int}/status", stories.set_status),
    _form("/story/{story_id:int}/reset", stories.reset),
    _form("/story/{story_id:int}/section", stories.set_section),
    _form("/story/{story_id:int}/merge", merge.merge_into),
    _form("/story/{story_id:int}/move", merge.move),
    _form("/story/{story_id:int}/add", merge.add_article),
    Route("/topics", topics.topics_view),
    _form("/topic/{entity_id:int}/rename", topics.rename),
    _form("/topic/{entity_id:int}/hide", topics.hide),
    _form("/topic/{entity_id:int}/merge", topics.merge),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
