"""The static site: home, one page per day and per story, archive by month, feed, sitemap.

Layout (every link is relative, so the folder can be served from any path or
opened from disk; links name ``index.html`` explicitly because ``file://``
does not resolve folders)::

    index.html                  the latest digest
    archive.html                every month, by year
    YYYY/MM/index.html          a month: its days and their top stories
    YYYY/MM/DD/index.html       a day's digest; updates are marked as such
    YYYY/MM/DD/story-ID.html    redirect to the story's permanent page (older links)
    stories/ID-SLUG.html        a story's one permanent page, with its timeline and topics
    stories/ID-SLUG.json        the same as data, with ``merged_into`` once merged away
    topics/index.html           every topic, most covered first
    topics/SLUG.html            a topic: its stories in date order, its neighbourhood
    graph.json                  the same stories and topics as nodes and edges
    feed.xml  sitemap.xml  style.css

A story carried on several days has one page (see ``stories``), linked from
every day that carried it; a day page never changes under its readers. The
site is rebuilt from all the digests each time; unchanged files are not
rewritten, and pages of ours that are no longer produced (a story dropped
from a rebuilt day) are removed. Nothing else in the folder is touched.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..digest import groups, section_title
from ..errors import ConfigError
from ..models import Digest, RankedStory, Topics
from . import atom, stories
from . import topics as topic_pages
from .env import TEMPLATES, environment
from .files import write_atomic
from .paths import TOPICS_INDEX, day_path, day_story_path, month_path, story_path, topic_path
from .readable import published

_OURS = re.compile(r"(\d{4}/\d{2}/(\d{2}/)?|topics/|stories/)[^/]+\.html|stories/[^/]+\.json")
_FOLDERS = ("[0-9][0-9][0-9][0-9]", "stories", "topics")


@dataclass(frozen=True, slots=True)
class SiteParams:
    """What the site calls itself and where it is served."""

    title: str = "AI news digest"
    description: str = "The day's AI news in a few minutes, every sentence cited to its sources."
    base_url: str = ""  # e.g. https://news.example.org/digest/; empty: relative links only
    feed_entries: int = 30  # digests in the Atom feed, newest first

    def __post_init__(self) -> None:
        if self.base_url:
            parts = urlsplit(self.base_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ConfigError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        if self.feed_entries < 1:
            raise ConfigError(f"feed_entries must be at least 1, got {self.feed_entries}")

    def absolute(self, path: str) -> str | None:
        """The public URL of a site path, or None without a ``base_url``."""
        if not self.base_url:
            return None
        return self.base_url.rstrip("/") + "/" + path.removesuffix("index.html")


@dataclass(frozen=True, slots=True)
class _Month:
    year: int
    month: int
    digests: tuple[Digest, ...]

    @property
    def stories(self) -> int:
        return sum(len(d.stories) for d in self.digests)


def build(
    digests: Iterable[Digest],
    site_dir: Path,
    params: SiteParams,
    merged: Mapping[int, int] | None = None,
    topics: Topics | None = None,
) -> list[Path]:
    """Write the whole site for ``digests`` (one per day; a later one for a day wins).

    ``merged`` maps a story an editor merged into another to the one that took
    its articles: its page then redirects there. ``topics`` names the topics
    the stories list (a hidden one is left out, a merged one redirects).
    """
    topics = topics or Topics()
    by_day = {d.day: published(d) for d in digests}
    ordered = [by_day[day] for day in sorted(by_day)]
    out = _Output(Path(site_dir))
    style = (TEMPLATES / "style.css").read_bytes()
    common: dict[str, Any] = {
        "site": params,
        # The stylesheet's link carries its content hash, so caches may keep it for
        # a year and still fetch the new one the day an upgrade changes it.
        "style_version": hashlib.sha256(style).hexdigest()[:12],
        "day_path": day_path,
        "story_path": story_path,
        "month_path": month_path,
        "outlet_names": _outlet_names,
    }
    for index, digest in enumerate(ordered):
        previous = ordered[index - 1].day if index else None
        following = ordered[index + 1].day if index + 1 < len(ordered) else None
        days = {"previous": previous, "next": following}
        out.page(day_path(digest.day), "day.html", common, _day(digest, params, **days))
        for story in digest.stories:
            out.redirect(day_story_path(digest.day, story.id), story_path(story), story.headline)
    pages = stories.collect(ordered)
    moved = stories.redirects(pages, merged or {})
    about = topic_pages.story_topics(pages, topics)
    for page in pages.values():
        if page.id in moved:
            out.redirect(page.path, moved[page.id], page.story.headline)
        else:
            context = {**_story(page, params), "topics": about[page.id]}
            out.page(page.path, "story.html", common, context)
        into = (merged or {}).get(page.id) if page.id in moved else None
        data = stories.as_json(page, about[page.id], pages[into] if into is not None else None)
        out.file(stories.json_path(page), data)
    _topics(
        out, common, pages, topics, {s: t for s, t in (merged or {}).items() if s in moved}, params
    )
    if ordered:
        home = _day(ordered[-1], params, previous=None, next=None)
        previous = ordered[-2].day if len(ordered) > 1 else None
        out.page("index.html", "day.html", common, {**home, "is_home": True, "previous": previous})
    else:
        out.page("index.html", "archive.html", common, _archive([], "home"))
    months = _months(ordered)
    out.page("archive.html", "archive.html", common, _archive(months, "archive"))
    for index, month in enumerate(months):
        context = {
            "month": month,
            "previous": months[index - 1] if index else None,
            "next": months[index + 1] if index + 1 < len(months) else None,
            "nav": "archive",
            "canonical": params.absolute(month_path(month.year, month.month)),
        }
        out.page(month_path(month.year, month.month), "month.html", common, context)
    out.file("feed.xml", atom.render(ordered, params))
    out.file("sitemap.xml", _sitemap(ordered, months, out.pages, params))
    out.file("style.css", style)
    out.prune()
    return out.paths


def _topics(
    out: _Output,
    common: dict[str, Any],
    pages: Mapping[int, stories.StoryPage],
    topics: Topics,
    moved: Mapping[int, int],
    params: SiteParams,
) -> None:
    """Topic pages, redirects of merged topics, the topics index and ``graph.json``."""
    by_topic = topic_pages.collect(pages, topics)
    for topic_page in by_topic.values():
        context = {
            "page": topic_page,
            "nav": "topics",
            "canonical": params.absolute(topic_page.path),
        }
        out.page(topic_page.path, "topic.html", common, context)
    for old, new in topics.moved.items():
        if new in by_topic and old not in by_topic:
            out.redirect(topic_path(old), topic_path(new), by_topic[new].topic.name)
    listing = sorted(by_topic.values(), key=lambda t: (-len(t.stories), t.topic.name.casefold()))
    context = {"pages": listing, "nav": "topics", "canonical": params.absolute(TOPICS_INDEX)}
    out.page(TOPICS_INDEX, "topics.html", common, context)
    data = topic_pages.graph(pages, by_topic, topics, moved)
    out.file("graph.json", (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))


def _day(digest: Digest, params: SiteParams, **days: date | None) -> dict[str, Any]:
    return {
        "digest": digest,
        "groups": groups(digest),
        "source_total": sum(len(s.summary.sources) for s in digest.stories),
        "is_home": False,
        "nav": "day",
        "canonical": params.absolute(day_path(digest.day)),
        **days,
    }


def _story(page: stories.StoryPage, params: SiteParams) -> dict[str, Any]:
    story = page.story
    key = "pinned" if story.status == "pinned" else story.section
    return {
        "digest": page.digest,
        "story": story,
        "page": page,
        "group_key": key,
        "group_title": section_title(key),
        "section": section_title(story.section),
        "nav": "story",
        "canonical": params.absolute(page.path),
    }


def _archive(months: Sequence[_Month], nav: str) -> dict[str, Any]:
    years: dict[int, list[_Month]] = {}
    for month in reversed(months):
        years.setdefault(month.year, []).append(month)
    return {
        "years": list(years.items()),
        "total_days": sum(len(m.digests) for m in months),
        "total_stories": sum(m.stories for m in months),
        "nav": nav,
        "canonical": None,
    }


def _months(ordered: Sequence[Digest]) -> list[_Month]:
    found: dict[tuple[int, int], list[Digest]] = {}
    for digest in ordered:
        found.setdefault((digest.day.year, digest.day.month), []).append(digest)
    return [_Month(y, m, tuple(ds)) for (y, m), ds in found.items()]


def _outlet_names(story: RankedStory) -> dict[int, str]:
    return {c.number: c.outlet for c in story.summary.sources}


def _sitemap(
    ordered: Sequence[Digest], months: Sequence[_Month], pages: Sequence[str], params: SiteParams
) -> bytes:
    """Every page with its day as lastmod; absolute with a ``base_url``, else site paths."""
    lastmod = {day_path(d.day): d.day for d in ordered}
    lastmod.update({story_path(s): d.day for d in ordered for s in d.stories})
    lastmod.update({month_path(m.year, m.month): m.digests[-1].day for m in months})
    if ordered:
        lastmod["index.html"] = lastmod["archive.html"] = ordered[-1].day
    urls = [(params.absolute(p) or p, lastmod.get(p)) for p in pages]
    text = environment().get_template("sitemap.xml").render(urls=urls)
    return text.encode("utf-8")


class _Output:
    """Writes the site's files, remembering which exist so stale pages can be pruned."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pages: list[str] = []
        self.paths: list[Path] = []

    def page(
        self, path: str, template: str, common: dict[str, Any], context: dict[str, Any]
    ) -> None:
        here = posixpath.dirname(path) or "."

        def href(target: str) -> str:
            """The link from this page to another site path: relative, so any mount point works."""
            return posixpath.relpath(target, here)

        text = environment().get_template(template).render(**common, **context, href=href)
        self.pages.append(path)
        self.file(path, text.encode("utf-8"))

    def redirect(self, path: str, target: str, title: str) -> None:
        """A page that sends readers (and crawlers, by its canonical link) to ``target``."""
        to = posixpath.relpath(target, posixpath.dirname(path) or ".")
        text = environment().get_template("redirect.html").render(target=to, title=title)
        self.file(path, text.encode("utf-8"))

    def file(self, path: str, data: bytes) -> None:
        target = self.root / path
        write_atomic(target, data)
        self.paths.append(target)

    def prune(self) -> None:
        """Remove our day, story and month pages that this build did not produce."""
        keep = set(self.paths)
        for year in (f for pattern in _FOLDERS for f in self.root.glob(pattern) if f.is_dir()):
            for path in sorted(p for p in year.rglob("*") if p.suffix in (".html", ".json")):
                relative = path.relative_to(self.root).as_posix()
                if _OURS.fullmatch(relative) and path not in keep:
                    path.unlink()
            for folder in sorted(year.rglob("*"), reverse=True):
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
            if not any(year.iterdir()):
                year.rmdir()
