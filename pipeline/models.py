"""Plain values passed between pipeline stages.

Stages never see database rows or dicts: the store converts at its edge, and
every stage takes and returns these frozen dataclasses. Small behaviour that
belongs to a value (when a source is next due, whether a fetch failed) lives
on the value itself.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any


@dataclass(frozen=True, slots=True)
class Source:
    """One curated feed, as declared in ``sources.yaml`` plus its stored health."""

    name: str
    url: str
    site_url: str = ""
    weight: float = 0.5
    tags: tuple[str, ...] = ()
    interval: int | None = None  # minutes; None means the settings' default
    enabled: bool = True
    id: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_fetch_at: datetime | None = None
    next_fetch_at: datetime | None = None
    last_status: int | None = None
    consecutive_failures: int = 0
    last_error: str | None = None

    def next_fetch_after(
        self, now: datetime, default_interval_min: int, max_backoff_min: int
    ) -> datetime:
        """When to fetch again: the interval on success, a growing back-off on failure.

        A feed that keeps failing is tried less and less often (doubling per
        consecutive failure, capped), so a dead feed costs almost nothing; a
        little jitter keeps many failing feeds from retrying in lockstep.
        """
        interval = self.interval or default_interval_min
        if self.consecutive_failures == 0:
            return now + timedelta(minutes=interval)
        backoff = min(interval * 2 ** min(self.consecutive_failures, 16), max_backoff_min)
        jitter = random.uniform(0.0, 0.1) * backoff
        return now + timedelta(minutes=backoff + jitter)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """The outcome of one HTTP fetch, successful or not; never raised."""

    url: str
    status: int | None  # None when no HTTP response was received
    final_url: str = ""
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    permanent_redirect: str | None = None  # new URL after a 301/308 chain
    retry_after_s: float | None = None
    error: str | None = None
    elapsed_ms: int = 0
    attempts: int = 1

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a parsed feed, before its page is fetched."""

    url: str
    guid: str
    title: str
    summary: str = ""
    author: str = ""
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """What feedparser could read from a feed body, with its problems recorded bozo-style."""

    entries: tuple[Entry, ...]
    title: str = ""
    site_url: str = ""
    problems: tuple[str, ...] = ()
    ttl_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class ExtractedPage:
    """Main text and metadata extracted from an article page."""

    text: str
    title: str = ""
    author: str = ""
    published_at: datetime | None = None
    language: str | None = None
    canonical_url: str | None = None
    links: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Article:
    """A stored article: an entry joined with its source and its extracted page."""

    id: int
    source_id: int
    outlet: str
    url: str
    canonical_url: str
    title: str
    guid: str = ""
    author: str = ""
    published_at: datetime | None = None
    fetched_at: datetime | None = None
    feed_summary: str = ""
    text: str = ""
    language: str | None = None
    links: tuple[str, ...] = ()
    content_hash: str = ""
    fingerprint: str = ""
    duplicate_of: int | None = None
    story_id: int | None = None
    source_weight: float = 0.5

    @property
    def when(self) -> datetime | None:
        """The article's time for ordering: publication, else when we fetched it."""
        return self.published_at or self.fetched_at

    @property
    def body(self) -> str:
        """The best text we have: the extracted page, else the feed's summary."""
        return self.text or self.feed_summary

    @property
    def time_order(self) -> tuple[float, int]:
        """Sort key for publication order: undated articles last, the id breaking ties.

        Naive times count as UTC, so mixed feeds still sort without raising.
        """
        when = self.when
        if when is None:
            return (float("inf"), self.id)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return (when.timestamp(), self.id)


@dataclass(frozen=True, slots=True)
class DuplicateLink:
    """``article_id`` is a copy of ``original_id`` (same URL, GUID, text or a syndicated rewrite)."""

    article_id: int
    original_id: int
    reason: str  # "guid", "content_hash", "near_duplicate"
    similarity: float = 1.0


@dataclass(frozen=True, slots=True)
class Constraints:
    """Editors' cluster constraints over article ids; every clustering run honours them."""

    must_link: frozenset[tuple[int, int]] = frozenset()
    cannot_link: frozenset[tuple[int, int]] = frozenset()


@dataclass(frozen=True, slots=True)
class Story:
    """A group of articles from one or more outlets about the same event."""

    id: int
    article_ids: tuple[int, ...]
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    headline: str = ""
    status: str = "auto"
    edited: bool = False


@dataclass(frozen=True, slots=True)
class SharedFeature:
    """One piece of evidence a story member shares with the rest of its story."""

    feature: str  # as the articles write it: "GPT-4o mini", "405 billion", "arxiv.org/abs/…"
    kind: str  # "name", "figure", "term" or "link"
    weight: float  # its part of the member's similarity to the rest, as the clusterer weighs it


@dataclass(frozen=True, slots=True)
class Placement:
    """Why an article sits in its story: how like the other members it is, and on what."""

    article_id: int
    similarity: float  # cosine of its vector with the sum of the other members' vectors
    shared: tuple[SharedFeature, ...]  # the heaviest shared features, heaviest first

    @property
    def joined_on(self) -> str:
        """The shared features as one line for people: "Claude 3 Opus, 14%, alignment"."""
        return ", ".join(f.feature for f in self.shared)


@dataclass(frozen=True, slots=True)
class StageReport:
    """What one stage did in one run, for progress output and logs."""

    stage: str
    processed: int = 0
    created: int = 0
    errors: tuple[str, ...] = ()
    details: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Citation:
    """One numbered source of a story: an outlet and the articles it contributed."""

    number: int
    outlet: str
    title: str
    url: str
    published_at: datetime | None
    article_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SummarySentence:
    """A summary sentence and the numbers of the sources that state it."""

    text: str
    citations: tuple[int, ...]

    def render(self) -> str:
        """The sentence with its markers, as published: ``text [1][3]``."""
        return self.text + " " + "".join(f"[{n}]" for n in self.citations)


@dataclass(frozen=True, slots=True)
class Section:
    """A labelled group of a summary's points ("Figures": points 1 and 3), by index."""

    label: str
    points: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Summary:
    """Headline, lead and key points of a story, with its numbered sources.

    ``sections`` groups the points of a big story under labels; every point
    is in exactly one section when there are any, and readers without
    sections read ``points`` in order.
    """

    headline: str
    lead: tuple[SummarySentence, ...]
    points: tuple[SummarySentence, ...]
    sources: tuple[Citation, ...]
    method: str = "extractive"  # or "llm"
    sections: tuple[Section, ...] = ()

    @property
    def sentences(self) -> tuple[SummarySentence, ...]:
        return self.lead + self.points

    def grouped(self) -> list[tuple[str, tuple[SummarySentence, ...]]]:
        """The points as (label, points) groups; one unlabelled group without sections."""
        if not self.sections:
            return [("", self.points)] if self.points else []
        return [(s.label, tuple(self.points[i] for i in s.points)) for s in self.sections]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (datetimes as ISO 8601) for the stories table."""

        def sentence(s: SummarySentence) -> dict[str, Any]:
            return {"text": s.text, "citations": list(s.citations)}

        data: dict[str, Any] = {
            "headline": self.headline,
            "method": self.method,
            "lead": [sentence(s) for s in self.lead],
            "points": [sentence(s) for s in self.points],
            "sources": [
                {
                    "number": c.number,
                    "outlet": c.outlet,
                    "title": c.title,
                    "url": c.url,
                    "published_at": c.published_at.isoformat() if c.published_at else None,
                    "article_ids": list(c.article_ids),
                }
                for c in self.sources
            ],
        }
        if self.sections:
            data["sections"] = [{"label": s.label, "points": list(s.points)} for s in self.sections]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Summary:
        """The inverse of ``as_dict``."""

        def sentences(items: Sequence[Mapping[str, Any]]) -> tuple[SummarySentence, ...]:
            return tuple(SummarySentence(s["text"], tuple(s["citations"])) for s in items)

        return cls(
            headline=data["headline"],
            lead=sentences(data["lead"]),
            points=sentences(data["points"]),
            sources=tuple(
                Citation(
                    number=c["number"],
                    outlet=c["outlet"],
                    title=c["title"],
                    url=c["url"],
                    published_at=(
                        datetime.fromisoformat(c["published_at"]) if c["published_at"] else None
                    ),
                    article_ids=tuple(c["article_ids"]),
                )
                for c in data["sources"]
            ),
            method=data.get("method", "extractive"),
            sections=tuple(
                Section(s["label"], tuple(s["points"])) for s in data.get("sections", ())
            ),
        )


NEW = "new"
UPDATE = "update"


@dataclass(frozen=True, slots=True)
class RankedStory:
    """A story as the digest sees it: stored headline, cited summary, score and members."""

    id: int
    headline: str
    section: str
    score: float
    explanation: str
    status: str  # auto, approved, pinned, rejected
    summary: Summary
    outlets: int  # distinct outlets, copies counted once
    article_urls: tuple[str, ...]  # every member article, copies included
    article_times: tuple[datetime, ...]  # when each member was published (else fetched)
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    included: bool = True  # False when relevance or mute rules leave it out
    edition: str = NEW  # NEW the first time a digest carries it, else UPDATE
    first_published: date | None = None  # day of the first digest that carried it
    new_sources: tuple[int, ...] = ()  # numbers of the sources that joined since then
    whats_new: tuple[SummarySentence, ...] = ()  # each cites only ``new_sources``
    topics: tuple[str, ...] = ()  # slugs of the topic pages it belongs to
    url: str = ""  # site path of its permanent page, fixed at first publication
    primary_sources: tuple[int, ...] = ()  # numbers of the sources the others cite (paper, post)


@dataclass(frozen=True, slots=True)
class Digest:
    """One day's published digest: its stories in the order readers see them."""

    day: date
    timezone: str
    built_at: datetime
    stories: tuple[RankedStory, ...]


@dataclass(frozen=True, slots=True)
class Entity:
    """An organisation, person, model or product, paper or recurring concept."""

    key: str  # stable identity: "organisation:anthropic", "arxiv:2412.14093", "name:quillmark"
    kind: str  # organisation, person, model, paper, concept, name (found, kind unknown)
    name: str


@dataclass(frozen=True, slots=True)
class Mention:
    """How a story mentions an entity: times, by how many outlets, whether in a headline."""

    entity: Entity
    count: int
    outlets: int
    in_title: bool


@dataclass(frozen=True, slots=True)
class Topic:
    """An entity as the site shows it: a topic page of its own."""

    slug: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class Topics:
    """Every visible topic, and where the pages of merged ones now point."""

    topics: Mapping[str, Topic] = field(default_factory=dict)  # slug → topic
    moved: Mapping[str, str] = field(default_factory=dict)  # merged slug → slug that took it

    def resolve(self, slug: str) -> Topic | None:
        """The topic a slug shows now (following merges), None when hidden or unknown."""
        return self.topics.get(self.moved.get(slug, slug))
