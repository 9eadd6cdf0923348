"""Choosing and ordering one day's stories into a ``Digest``.

A day's digest covers the 24 hours before its publication time, in the
configured time zone: the window of day D is [publication on D-1,
publication on D). Consecutive windows touch without overlapping, so across a
daylight-saving change the window is 23 or 25 hours and no article is lost or
counted twice. A story belongs to the day if any of its members was first seen
in the window, so a story that grew that day is in it again.

Stories rejected by an editor, or left out by relevance and mute rules
(``included=False``), never appear. The N best remain (N=0 keeps all, for
audits), chosen pinned first and then by score; they are then shown pinned
first, then grouped by section, sections ordered by their best story's score
and stories within by score. Every tie breaks on the story id, so the same
candidates always give the same order.

The digest's ``built_at`` is its publication time, derived from the day, not
the wall clock: rebuilding a day gives byte-identical files. The caller's
build time only bounds the window, so a member dated after the build (a feed
with a wrong clock) never counts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import ConfigError
from .models import Digest, RankedStory
from .rank import SECTIONS

PINNED = "pinned"
PINNED_TITLE = "Editors' picks"
_HHMM = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")


@dataclass(frozen=True, slots=True)
class DigestParams:
    """When a digest is published and how many stories it holds."""

    timezone: str = "UTC"  # IANA name, e.g. "Europe/London"
    publish_time: str = "07:00"  # local HH:MM; the window ends here
    limit: int = 15  # stories per digest; 0 publishes every story of the day

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"unknown time zone {self.timezone!r}") from exc
        if not _HHMM.fullmatch(self.publish_time):
            raise ConfigError(f"publish_time must be HH:MM, got {self.publish_time!r}")
        if self.limit < 0:
            raise ConfigError(f"limit must be 0 (all) or more, got {self.limit}")


@dataclass(frozen=True, slots=True)
class Group:
    """A run of consecutive stories shown under one heading."""

    key: str  # a section id, or "pinned"
    title: str
    stories: tuple[RankedStory, ...]


def window(day: date, params: DigestParams) -> tuple[datetime, datetime]:
    """The [start, end) of ``day``'s digest as aware datetimes in the configured zone."""
    zone = ZoneInfo(params.timezone)
    hours, minutes = (int(part) for part in params.publish_time.split(":"))
    at = time(hours, minutes)
    end = datetime.combine(day, at, tzinfo=zone)
    start = datetime.combine(day - timedelta(days=1), at, tzinfo=zone)
    return start, end


def select(
    candidates: Sequence[RankedStory], day: date, params: DigestParams, built_at: datetime
) -> Digest:
    """The digest of ``day``: its included stories in reading order, at most ``params.limit``."""
    start, end = (moment.astimezone(UTC) for moment in window(day, params))
    cutoff = min(end, _aware(built_at))
    eligible = [
        s
        for s in candidates
        if s.status != "rejected" and s.included and _seen_between(s, start, cutoff)
    ]
    eligible.sort(key=_rank_key)
    chosen = eligible[: params.limit] if params.limit else eligible
    published = end.astimezone(ZoneInfo(params.timezone))
    return Digest(day=day, timezone=params.timezone, built_at=published, stories=_arrange(chosen))


def groups(digest: Digest) -> list[Group]:
    """The digest's headings in order: pinned stories first, then one group per section."""
    found: list[Group] = []
    for story in digest.stories:
        key = PINNED if story.status == PINNED else story.section
        if found and found[-1].key == key:
            last = found[-1]
            found[-1] = Group(last.key, last.title, (*last.stories, story))
        else:
            found.append(Group(key, section_title(key), (story,)))
    return found


def section_title(key: str) -> str:
    """The display name of a section id (or of the pinned group)."""
    if key == PINNED:
        return PINNED_TITLE
    return SECTIONS.get(key, key.replace("-", " ").capitalize())


def _arrange(chosen: Sequence[RankedStory]) -> tuple[RankedStory, ...]:
    """Pinned first, then sections by their best score, stories by score within."""
    pinned = [s for s in chosen if s.status == PINNED]
    by_section: dict[str, list[RankedStory]] = {}
    for story in chosen:
        if story.status != PINNED:
            by_section.setdefault(story.section, []).append(story)
    # Stories arrive sorted, so each list's first story is its section's best.
    sections = sorted(by_section.values(), key=lambda group: _rank_key(group[0]))
    return tuple(pinned) + tuple(s for group in sections for s in group)


def _rank_key(story: RankedStory) -> tuple[bool, float, int]:
    return (story.status != PINNED, -story.score, story.id)


def _seen_between(story: RankedStory, start: datetime, end: datetime) -> bool:
    times = story.article_times or tuple(t for t in (story.first_seen, story.last_seen) if t)
    return any(start <= _aware(t) < end for t in times)


def _aware(moment: datetime) -> datetime:
    """Stored times without a zone are UTC (the store writes UTC)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
