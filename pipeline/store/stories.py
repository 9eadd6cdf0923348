"""The ``stories`` table and article memberships (``articles.story_id``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ..models import Story, Summary
from .convert import from_iso, to_iso
from .db import POSTGRESQL, SQLITE, Connection, as_dicts


def members_key(article_ids: Iterable[int]) -> str:
    """A short digest of a story's member ids: it changes exactly when membership changes."""
    joined = ",".join(str(i) for i in sorted(article_ids))
    return hashlib.sha1(joined.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """A story as the editors' desk shows it: its stored state, counts, and the version
    a form must carry to change it."""

    id: int
    headline: str
    status: str
    section: str
    section_locked: bool
    score: float | None
    explanation: str
    included: bool
    edited: bool
    new_sources: int  # members that joined since an editor wrote the text
    version: int
    first_seen: datetime | None
    last_seen: datetime | None
    articles: int
    outlets: int  # distinct outlets of the originals; copies count with them
    preview: str  # the first sentence of the lead
    summary: Summary | None  # only read for one story (``record``), not for lists
    has_generated: bool  # a generated headline and summary exist to go back to
    stale: bool  # membership changed since the summary was made
    merged_into: int | None


@dataclass(frozen=True, slots=True)
class StoryChoice:
    """A story as a merge or move target in a form: enough to name it and check its version."""

    id: int
    version: int
    headline: str


# One row per story with its member counts; the {where} picks the stories.
_RECORDS = """
select s.*, count(a.id) as n_articles,
  count(distinct case when a.duplicate_of is null then a.source_id end) as n_outlets,
  {member_ids} as member_ids, {preview} as preview
from stories s left join articles a on a.story_id = s.id
where {where} group by s.id order by s.id
"""
_RECORD_PARTS = {
    SQLITE: {
        "member_ids": "group_concat(a.id)",
        "preview": "json_extract(s.summary, '$.lead[0].text')",
    },
    POSTGRESQL: {
        "member_ids": "string_agg(a.id::text, ',')",
        "preview": "s.summary::jsonb #>> '{lead,0,text}'",
    },
}


def _to_record(row: Mapping[str, Any], full: bool) -> StoryRecord:
    members = [int(i) for i in row["member_ids"].split(",")] if row["member_ids"] else []
    summary = Summary.from_dict(json.loads(row["summary"])) if full and row["summary"] else None
    return StoryRecord(
        id=row["id"],
        headline=row["headline"] or "",
        status=row["status"] or "auto",
        section=row["section"] or "other",
        section_locked=bool(row["section_locked"]),
        score=row["score"],
        explanation=row["score_explanation"] or "",
        included=row["included"] is None or bool(row["included"]),
        edited=bool(row["edited"]),
        new_sources=row["new_sources_since_edit"] or 0,
        version=row["version"] or 1,
        first_seen=from_iso(row["first_seen"]),
        last_seen=from_iso(row["last_seen"]),
        articles=row["n_articles"],
        outlets=row["n_outlets"],
        preview=row["preview"] or "",
        summary=summary,
        has_generated=bool(row["generated_summary"]),
        stale=bool(members) and row["members_key"] != members_key(members),
        merged_into=row["merged_into"],
    )


def _to_story(row: Mapping[str, Any], article_ids: tuple[int, ...]) -> Story:
    return Story(
        id=row["id"],
        article_ids=article_ids,
        first_seen=from_iso(row["first_seen"]),
        last_seen=from_iso(row["last_seen"]),
        headline=row["headline"] or "",
        status=row["status"] or "auto",
        edited=bool(row["edited"]),
    )


class Stories:
    """Stories and which articles belong to them."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def next_id(self) -> int:
        """The id a new story gets; ids only grow, so a story keeps its id across runs."""
        row = self.db.execute(
            "select max(m) from (select max(id) as m from stories "
            "union all select max(story_id) from articles) as ids"
        ).fetchone()
        return int(row[0] or 0) + 1

    def epoch(self) -> int:
        """The clustering epoch: moved by every write that changes stories' memberships."""
        return int(self.db.execute("select epoch from clustering where id = 1").fetchone()[0])

    def moved(self) -> int:
        """Move the clustering epoch on, inside the caller's transaction; the new value.

        The update takes the row's lock first (PostgreSQL) or runs in the write
        transaction (SQLite), so no other writer's move falls between the value
        read and the caller's commit.
        """
        self.db.execute("update clustering set epoch = epoch + 1 where id = 1")
        return self.epoch()

    def assign(self, assignments: Mapping[int, int]) -> int:
        """Put articles into stories (creating story rows as needed) and refresh their times.

        Returns the clustering epoch this write left (see ``epoch``).
        """
        if not assignments:
            return self.epoch()
        with self.db.atomic():
            epoch = self.moved()
            touched = set(assignments.values())
            old = {
                int(r[0])
                for r in self.db.execute(
                    f"select distinct story_id from articles where story_id is not null "
                    f"and id in ({','.join('?' * len(assignments))})",
                    list(assignments),
                ).fetchall()
            }
            for story_id in touched:
                self.db.insert("stories", {"id": story_id}, ignore=True)
            for article_id, story_id in assignments.items():
                self.db.update("articles", article_id, {"story_id": story_id})
            self._refresh(touched | old)
        return epoch

    def _refresh(self, story_ids: set[int]) -> None:
        """Recompute first/last seen of these stories and drop those left empty."""
        for story_id in story_ids:
            first, last, n = self.db.execute(
                "select min(coalesce(published_at, fetched_at)), "
                "max(coalesce(published_at, fetched_at)), count(*) "
                "from articles where story_id = ?",
                [story_id],
            ).fetchone()
            if n == 0:
                self.db.execute(
                    "delete from stories where id = ? and status = 'auto' and edited = 0",
                    [story_id],
                )
            else:
                self.db.update("stories", story_id, {"first_seen": first, "last_seen": last})

    def drop_empty(self) -> None:
        """Delete stories left without articles, unless an editor touched them."""
        self.db.execute(
            "delete from stories where status = 'auto' and edited = 0 "
            "and id not in (select distinct story_id from articles where story_id is not null)"
        )

    def clear_memberships(self) -> None:
        """Take every article out of its story (for a rebuild); story rows stay for their ids."""
        with self.db.atomic():
            self.moved()
            self.db.execute("update articles set story_id = null")

    def memberships_since(self, when: datetime) -> dict[int, int]:
        """article id → story id for the members of stories still open at ``when``."""
        rows = self.db.execute(
            "select a.id, a.story_id from articles a join stories s on s.id = a.story_id "
            "where s.last_seen >= ? order by a.id",
            [to_iso(when)],
        ).fetchall()
        return {int(a): int(s) for a, s in rows}

    def since(self, when: datetime | None = None) -> list[Story]:
        """Stories whose last article is at or after ``since`` (all when None), newest first."""
        where, args = ("last_seen >= ?", [to_iso(when)]) if when else ("true", [])
        rows = self.db.rows("stories", where, args, order_by="last_seen desc, id")
        members: dict[int, list[int]] = {}
        for article_id, story_id in self.db.execute(
            "select id, story_id from articles where story_id is not null "
            "order by coalesce(published_at, fetched_at), id"
        ).fetchall():
            members.setdefault(story_id, []).append(article_id)
        return [_to_story(r, tuple(members.get(r["id"], ()))) for r in rows]

    def needing_summary(self) -> list[tuple[Story, str]]:
        """Stories whose membership changed since their summary was made, with the new key."""
        return self._stale("members_key")

    def needing_entities(self) -> list[tuple[Story, str]]:
        """Stories whose membership changed since their entities were found, with the new key."""
        return self._stale("entities_key")

    def _stale(self, column: str) -> list[tuple[Story, str]]:
        """Stories whose members no longer match the key kept in ``column``, with the new key.

        One pass over the membership column; only the stale stories are loaded.
        """
        assert column in ("members_key", "entities_key")
        members: dict[int, list[int]] = {}
        for article_id, story_id in self.db.execute(
            "select id, story_id from articles where story_id is not null"
        ).fetchall():
            members.setdefault(story_id, []).append(article_id)
        stored = dict(self.db.execute(f"select id, {column} from stories").fetchall())
        stale = []
        for story_id in sorted(members):
            key = members_key(members[story_id])
            if story_id in stored and stored[story_id] != key:
                stale.append((self.get(story_id), key))
        return stale

    def set_generated(
        self,
        story_id: int,
        members_key: str,
        summary: Summary,
        score: float,
        explanation: str,
        section: str,
        relevance: float,
        included: bool,
    ) -> None:
        """Store what the summarize and rank stages made; an editor's headline, summary
        and section stay.

        The generated text is always kept aside (``generated_*``) so an editor can
        go back to it. On an edited story the count of members that joined since
        the edit is refreshed, for the desk's "new sources since your edit". The
        version moves on, so a form rendered before the change cannot overwrite it.
        """
        row = self.db.get("stories", story_id)
        text = json.dumps(summary.as_dict(), ensure_ascii=False)
        values: dict[str, Any] = {
            "members_key": members_key,
            "score": score,
            "score_explanation": explanation,
            "generated_headline": summary.headline,
            "generated_summary": text,
            "generated_section": section,
            "relevance": relevance,
            "included": int(included),
            "version": (row["version"] or 1) + 1,
            "changed_by": "pipeline",
            "changed_at": to_iso(datetime.now(UTC)),
        }
        if not row["section_locked"]:
            values["section"] = section
        if row["edited"]:
            values["new_sources_since_edit"] = self.joined_since_edit(story_id)
        else:
            values["headline"] = summary.headline
            values["summary"] = text
        self.db.update("stories", story_id, values)

    def joined_since_edit(self, story_id: int) -> int:
        """How many of the story's members were not in it when an editor wrote its text.

        An edit made before that was recorded (no member list) counts every member
        as new: the editor has not seen them under this text.
        """
        row = self.db.execute(
            "select edit_members from stories where id = ?", [story_id]
        ).fetchone()
        seen = set(json.loads(row[0])) if row and row[0] else set()
        members = self.db.execute("select id from articles where story_id = ?", [story_id])
        return sum(1 for (article_id,) in members.fetchall() if article_id not in seen)

    def set_scores(self, scores: Mapping[int, tuple[float, str, bool]]) -> None:
        """Store (score, explanation, included) per story, as ranked for one digest."""
        with self.db.atomic():
            for story_id, (value, explanation, included) in scores.items():
                self.db.update(
                    "stories",
                    story_id,
                    {"score": value, "score_explanation": explanation, "included": int(included)},
                )

    def generated(self, story_id: int) -> dict[str, Any]:
        """The stored headline, summary (as a ``Summary``), score, section and flags.

        ``section`` is the editor's when ``section_locked`` is true; the headline
        and summary are the editor's when the story was edited.
        """
        row = self.db.get("stories", story_id)
        return {
            "headline": row["headline"] or "",
            "summary": Summary.from_dict(json.loads(row["summary"])) if row["summary"] else None,
            "score": row["score"],
            "explanation": row["score_explanation"] or "",
            "section": row["section"] or "other",
            "section_locked": bool(row["section_locked"]),
            "relevance": row["relevance"],
            "included": bool(row["included"]) if row["included"] is not None else True,
        }

    def active_between(self, start: datetime, end: datetime) -> list[Story]:
        """Stories with at least one article published (or fetched) in [start, end)."""
        ids = [
            int(r[0])
            for r in self.db.execute(
                "select distinct story_id from articles where story_id is not null "
                "and coalesce(published_at, fetched_at) >= ? "
                "and coalesce(published_at, fetched_at) < ? order by story_id",
                [to_iso(start), to_iso(end)],
            ).fetchall()
        ]
        return [self.get(i) for i in ids]

    def get(self, story_id: int) -> Story:
        row = self.db.get("stories", story_id)
        ids = tuple(
            int(r[0])
            for r in self.db.execute(
                "select id from articles where story_id = ? "
                "order by coalesce(published_at, fetched_at), id",
                [story_id],
            ).fetchall()
        )
        return _to_story(row, ids)

    def _records(
        self, where: str, args: Sequence[Any] = (), full: bool = False
    ) -> list[StoryRecord]:
        sql = _RECORDS.format(where=where, **_RECORD_PARTS[self.db.dialect])
        return [_to_record(row, full) for row in as_dicts(self.db.execute(sql, list(args)))]

    def records_between(self, start: datetime, end: datetime) -> list[StoryRecord]:
        """The desk's view of the stories with an article published (or fetched) in [start, end),
        without their summaries (a list shows only the first sentence, ``preview``)."""
        return self._records(
            "s.id in (select story_id from articles where story_id is not null "
            "and coalesce(published_at, fetched_at) >= ? and coalesce(published_at, fetched_at) < ?)",
            [to_iso(start), to_iso(end)],
        )

    def record(self, story_id: int) -> StoryRecord | None:
        """The desk's view of one story with its summary, or None when there is no such story."""
        found = self._records("s.id = ?", [story_id], full=True)
        return found[0] if found else None

    def choices_between(
        self, start: datetime, end: datetime, limit: int = 300
    ) -> list[StoryChoice]:
        """Stories active in [start, end), best score first: the targets a story page offers."""
        rows = self.db.execute(
            "select id, version, headline from stories where id in (select story_id from articles "
            "where story_id is not null and coalesce(published_at, fetched_at) >= ? "
            "and coalesce(published_at, fetched_at) < ?) "
            "order by status = 'pinned' desc, coalesce(score, 0) desc, id limit ?",
            [to_iso(start), to_iso(end), limit],
        ).fetchall()
        return [StoryChoice(int(i), int(v or 1), h or "") for i, v, h in rows]
