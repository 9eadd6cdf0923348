"""The Atom feed of the stories: one entry per story, updated when a digest carries it again.

A reader's feed client shows an entry once and marks it again when its
``updated`` time moves, which is exactly a living story: the entry's id is
the story's permanent page, ``published`` is the first digest that carried
it and ``updated`` the newest one; its content is the story as that digest
carried it ("Updated · first reported ...", "What's new", the summary).

feedgen writes the XML, so escaping and the required elements are its
business. Each entry's content is rendered by an autoescaping template and
then passed through ``sanitize.clean_html``: feed readers display that HTML,
so it gets the same guarantee as the site, even if a template ever let
something through. Citation marks link to the cited articles themselves.

Times come from the digests (their publication times), never from the clock,
so the same digests give the same bytes. Without a ``base_url`` the ids are
``urn:`` names and links are site-relative.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from feedgen.feed import FeedGenerator

from ..models import Digest
from ..sanitize import clean_html, plain_text
from .env import environment
from .paths import day_path, source_links, story_path
from .readable import published

if TYPE_CHECKING:
    from .site import SiteParams

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def render(digests: Sequence[Digest], params: SiteParams) -> bytes:
    """The Atom document for the newest ``params.feed_entries`` of ``digests`` (sorted by day)."""
    newest = [
        published(d)
        for d in sorted(digests, key=lambda d: d.day, reverse=True)[: params.feed_entries]
    ]
    feed = FeedGenerator()
    feed.id(params.absolute("") or "urn:ai-news-digest:feed")
    feed.title(plain_text(params.title))
    feed.subtitle(plain_text(params.description))
    feed.author({"name": plain_text(params.title)})
    feed.language("en")
    feed.link(href=params.absolute("") or "index.html", rel="alternate", type="text/html")
    if params.base_url:
        feed.link(href=params.absolute("feed.xml"), rel="self", type="application/atom+xml")
    feed.updated(_aware(newest[0].built_at) if newest else _EPOCH)
    template = environment().get_template("feed_entry.html")
    first: dict[int, datetime] = {}
    for digest in sorted(digests, key=lambda d: d.day):
        for story in digest.stories:
            first.setdefault(story.id, _aware(digest.built_at))
    done: set[int] = set()
    for digest in newest:
        for story in digest.stories:
            if story.id in done:
                continue  # a newer digest carried it: that is its entry
            done.add(story.id)
            page = story_path(story)
            entry = feed.add_entry(order="append")
            entry.id(params.absolute(page) or f"urn:ai-news-digest:story:{story.id}")
            entry.title(plain_text(story.headline))
            entry.link(href=params.absolute(page) or page, rel="alternate", type="text/html")
            entry.published(first[story.id])
            entry.updated(_aware(digest.built_at))
            html = template.render(
                digest=digest,
                story=story,
                day_link=params.absolute(day_path(digest.day)) or day_path(digest.day),
                source_urls=source_links,
            )
            entry.content(str(clean_html(html)), type="html")
    data: bytes = feed.atom_str(pretty=True)
    return data


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
