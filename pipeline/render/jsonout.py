"""A digest as ``YYYY-MM-DD.json``, and back.

The JSON file is the archive: the static site is rebuilt from every JSON file
in ``digests/``, so ``read`` is the exact inverse of ``write`` (a digest read
back equals the one written). The format is documented and versioned in
``schema.json`` (JSON Schema draft 2020-12); ``SCHEMA_VERSION`` changes when
a field is removed, renamed or changes meaning, and ``read`` refuses versions
it does not know. Version 2 says what is new: each story's ``edition``
("new" or "update"), ``first_published``, ``new_sources``, ``whats_new``,
``topics`` and ``url``; version 1 files (before living stories) are read as
new stories without a permanent page.

Output is deterministic: keys in a fixed order, stories in digest order,
times as ISO 8601, no build timestamp; the same digest gives the same bytes.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..digest import groups, section_title
from ..errors import PipelineError
from ..models import NEW, Digest, RankedStory, Summary, SummarySentence
from .files import write_atomic
from .readable import published

SCHEMA_VERSION = 2
READABLE = (1, SCHEMA_VERSION)
SCHEMA_PATH = Path(__file__).with_name("schema.json")


def to_dict(digest: Digest) -> dict[str, Any]:
    """The digest as a JSON-ready dict that conforms to ``schema.json``."""
    digest = published(digest)
    start, end = window_of(digest)
    return {
        "schema_version": SCHEMA_VERSION,
        "date": digest.day.isoformat(),
        "timezone": digest.timezone,
        "window": {"start": start.isoformat(), "end": end.isoformat()},
        "story_count": len(digest.stories),
        "sections": [
            {"id": g.key, "title": g.title, "story_ids": [s.id for s in g.stories]}
            for g in groups(digest)
        ],
        "stories": [_story(s, rank) for rank, s in enumerate(digest.stories, start=1)],
    }


def dumps(digest: Digest) -> str:
    """The file's text: two-space indented UTF-8 JSON with a final newline."""
    return json.dumps(to_dict(digest), ensure_ascii=False, indent=2) + "\n"


def write(digest: Digest, folder: Path) -> Path:
    """Write ``folder/YYYY-MM-DD.json`` atomically and return its path."""
    path = Path(folder) / f"{digest.day.isoformat()}.json"
    write_atomic(path, dumps(digest).encode("utf-8"))
    return path


def read(path: Path) -> Digest:
    """The digest stored in ``path``; raises ``PipelineError`` for an unknown schema version."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    version = data.get("schema_version") if isinstance(data, dict) else None
    if version not in READABLE:
        raise PipelineError(f"{path}: unsupported digest schema_version {version!r}")
    return Digest(
        day=date.fromisoformat(data["date"]),
        timezone=data["timezone"],
        built_at=datetime.fromisoformat(data["window"]["end"]),
        stories=tuple(_ranked(s) for s in data["stories"]),
    )


def window_of(digest: Digest) -> tuple[datetime, datetime]:
    """[start, end) of the digest in its zone: end is its publication time (``built_at``).

    The start is the same wall-clock time a day earlier, as in ``digest.window``,
    so the window of a daylight-saving day is 23 or 25 hours.
    """
    end = digest.built_at
    if end.tzinfo is None:
        return end - timedelta(days=1), end
    zone = ZoneInfo(digest.timezone)
    local = end.astimezone(zone)
    start = datetime.combine(local.date() - timedelta(days=1), local.time(), tzinfo=zone)
    return start, local


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _story(story: RankedStory, rank: int) -> dict[str, Any]:
    summary = story.summary.as_dict()
    return {
        "id": story.id,
        "rank": rank,
        "headline": story.headline,
        "section": story.section,
        "section_title": section_title(story.section),
        "status": story.status,
        "score": story.score,
        "explanation": story.explanation,
        "outlets": story.outlets,
        "first_seen": _time(story.first_seen),
        "last_seen": _time(story.last_seen),
        "summary": {
            "headline": summary["headline"],
            "method": summary["method"],
            "lead": summary["lead"],
            "points": summary["points"],
            **({"sections": summary["sections"]} if "sections" in summary else {}),
        },
        "sources": summary["sources"],
        "article_urls": list(story.article_urls),
        "article_times": [t.isoformat() for t in story.article_times],
        "edition": story.edition,
        "first_published": story.first_published.isoformat() if story.first_published else None,
        "new_sources": list(story.new_sources),
        "whats_new": [{"text": s.text, "citations": list(s.citations)} for s in story.whats_new],
        "topics": list(story.topics),
        "url": story.url,
        "primary_sources": list(story.primary_sources),
    }


def _ranked(data: dict[str, Any]) -> RankedStory:
    summary = Summary.from_dict({**data["summary"], "sources": data["sources"]})
    return RankedStory(
        id=data["id"],
        headline=data["headline"],
        section=data["section"],
        score=data["score"],
        explanation=data["explanation"],
        status=data["status"],
        summary=summary,
        outlets=data["outlets"],
        article_urls=tuple(data["article_urls"]),
        article_times=tuple(datetime.fromisoformat(t) for t in data["article_times"]),
        first_seen=_parse(data["first_seen"]),
        last_seen=_parse(data["last_seen"]),
        edition=data.get("edition", NEW),
        first_published=date.fromisoformat(first)
        if (first := data.get("first_published"))
        else None,
        new_sources=tuple(data.get("new_sources", ())),
        whats_new=tuple(
            SummarySentence(s["text"], tuple(s["citations"])) for s in data.get("whats_new", ())
        ),
        topics=tuple(data.get("topics", ())),
        url=data.get("url", ""),
        primary_sources=tuple(data.get("primary_sources", ())),
    )


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
