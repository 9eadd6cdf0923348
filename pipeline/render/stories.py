"""Living stories on the site: one permanent page per story, its timeline, and redirects.

A story keeps one page for its whole life (``stories/<id>-<slug>.html``,
named at first publication), however many digests carry it. The page shows
the story as the newest digest carried it, the days that carried it, and an
append-only timeline: one entry per digest that brought sources, the first
report first, each entry citing the sources that joined that day (in the
page's own numbering), primary sources (the paper, the announcement) first.
Old digests never change, so an entry, once written, stays as it is.

A story an editor merged into another one has no articles left; its page
becomes a redirect to the page of the story that took them, so no published
link breaks. So do the per-day story pages of earlier versions of the site
(``YYYY/MM/DD/story-ID.html``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from ..models import UPDATE, Citation, Digest, RankedStory, Topic
from .paths import story_path

JSON_VERSION = 1


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One day of a story's coverage and the sources that joined that day."""

    day: date
    first: bool  # the first report
    sources: tuple[Citation, ...]  # in the page's numbering, primary sources first


@dataclass(frozen=True, slots=True)
class StoryPage:
    """Everything the permanent page of one story shows."""

    id: int
    path: str
    digest: Digest  # the newest digest that carried it
    story: RankedStory  # as that digest carried it
    days: tuple[date, ...]  # every day that carried it, oldest first
    timeline: tuple[TimelineEntry, ...]


def collect(ordered: Sequence[Digest]) -> dict[int, StoryPage]:
    """The page of every story in ``ordered`` (digests oldest first)."""
    seen: dict[int, list[tuple[Digest, RankedStory]]] = {}
    for digest in ordered:
        for story in digest.stories:
            seen.setdefault(story.id, []).append((digest, story))
    pages = {}
    for story_id, carried in seen.items():
        digest, story = carried[-1]
        pages[story_id] = StoryPage(
            id=story_id,
            path=story_path(story),
            digest=digest,
            story=story,
            days=tuple(d.day for d, _ in carried),
            timeline=timeline([(d.day, s) for d, s in carried]),
        )
    return pages


def timeline(carried: Sequence[tuple[date, RankedStory]]) -> tuple[TimelineEntry, ...]:
    """One entry per day that brought sources, each source once, cited in the newest numbering."""
    newest = carried[-1][1]
    by_article = {a: c for c in newest.summary.sources for a in c.article_ids}
    primary = set(newest.primary_sources)
    cited: set[int] = set()
    entries: list[TimelineEntry] = []
    for index, (day, story) in enumerate(carried):
        brought = [
            c
            for c in story.summary.sources
            if index == 0 or story.edition != UPDATE or c.number in story.new_sources
        ]
        found: dict[int, Citation] = {}
        for citation in brought:
            for article_id in citation.article_ids:
                now = by_article.get(article_id)
                if now is not None and now.number not in cited:
                    found[now.number] = now
        if not found:
            continue
        cited.update(found)
        ordered = sorted(found.values(), key=lambda c: (c.number not in primary, c.number))
        entries.append(TimelineEntry(day, not entries, tuple(ordered)))
    return tuple(entries)


def redirects(pages: Mapping[int, StoryPage], merged: Mapping[int, int]) -> dict[int, str]:
    """Story id → the page its articles went to, for merged stories whose target has a page."""
    return {
        story_id: pages[target].path
        for story_id, target in merged.items()
        if story_id in pages and target in pages and target != story_id
    }


def json_path(page: StoryPage) -> str:
    """Site path of the story's data, beside its page."""
    return page.path.removesuffix(".html") + ".json"


def as_json(page: StoryPage, topics: Sequence[Topic], merged_into: StoryPage | None) -> bytes:
    """The permanent page as data: days, timeline, topics, and where it went if merged away."""
    story = page.story
    data = {
        "version": JSON_VERSION,
        "id": page.id,
        "url": page.path,
        "headline": story.headline,
        "first_published": page.days[0].isoformat(),
        "days": [d.isoformat() for d in page.days],
        "sources": len(story.summary.sources),
        "primary_sources": list(story.primary_sources),
        "timeline": [
            {
                "date": e.day.isoformat(),
                "first": e.first,
                "sources": [c.number for c in e.sources],
            }
            for e in page.timeline
        ],
        "topics": [t.slug for t in topics],
        "merged_into": (
            {"id": merged_into.id, "url": merged_into.path} if merged_into is not None else None
        ),
    }
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
