"""The Jinja2 environment shared by the site, the Atom feed and the email.

Autoescape is on for every HTML and XML template, so any text that reaches a
template (every title, outlet and sentence came from a feed) is escaped; the
only way to output markup is ``sanitize.clean_html``. Undefined names fail
loudly rather than rendering as empty text. Link targets from feeds go
through the ``safe_url`` filter, which yields None for anything that is not a
web or mail address, and templates link only when it is not None.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ..sanitize import safe_url
from .dates import edition_label, long_date, month_name, short_date, short_time

TEMPLATES = Path(__file__).with_name("templates")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``1 story``, ``2 stories``: the count with the right noun."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def strict_environment(
    folder: Path, extensions: tuple[str, ...], keep_trailing_newline: bool = False
) -> Environment:
    """Templates under ``folder`` with the project's policy: escaped, strict, ``safe_url``.

    The site, the feed, the email and the review desk all render text that
    came from feeds; this is the one place that says how it is escaped.
    """
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(enabled_extensions=extensions, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=keep_trailing_newline,
    )
    env.filters.update(safe_url=safe_url, long_date=long_date)
    return env


@cache
def environment() -> Environment:
    """The one environment (templates are compiled once per process)."""
    env = strict_environment(TEMPLATES, ("html", "xml"), keep_trailing_newline=True)
    env.filters.update(short_date=short_date, short_time=short_time)
    env.globals.update(plural=plural, month_name=month_name, edition_label=edition_label)
    return env
