"""The ``stories`` table and article memberships (``articles.story_id``)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlite_utils import Database

from ..models import Story, Summary
from .convert import from_iso, to_iso


def members_key(article_ids: Iterable[int]) -> str:
    """A short digest of a story's member ids: it changes exactly when membership changes."""
    joined = ",".join(str(i) for i in sorted(article_ids))
    return hashlib.sha1(joined.encode()).hexdigest()[:16]


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

    def __init__(self, db: Database) -> None:
        self.db = db

    def next_id(self) -> int:
        """The id a new story gets; ids only grow, so a story keeps its id across runs."""
        row = self.db.execute(
            "select max(m) from (select max(id) as m from stories "
            "union all select max(story_id) from articles)"
        ).fetchone()
        return int(row[0] or 0) + 1

    def assign(self, assignments: Mapping[int, int]) -> None:
        """Put articles into stories (creating story rows as needed) and refresh their times."""
        if not assignments:
            return
        with self.db.atomic():
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
                self.db.table("stories").insert({"id": story_id}, ignore=True)
            for article_id, story_id in assignments.items():
                self.db.table("articles").update(article_id, {"story_id": story_id})
            self._refresh(touched | old)

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
                self.db.table("stories").update(story_id, {"first_seen": first, "last_seen": last})

    def drop_empty(self) -> None:
        """Delete stories left without articles, unless an editor touched them."""
        self.db.execute(
            "delete from stories where status = 'auto' and edited = 0 "
            "and id not in (select distinct story_id from articles where story_id is not null)"
        )

    def clear_memberships(self) -> None:
        """Take every article out of its story (for a rebuild); story rows stay for their ids."""
        with self.db.atomic():
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
        where, args = ("last_seen >= ?", [to_iso(when)]) if when else ("1", [])
        rows = list(self.db.table("stories").rows_where(where, args, order_by="last_seen desc, id"))
        members: dict[int, list[int]] = {}
        for article_id, story_id in self.db.execute(
            "select id, story_id from articles where story_id is not null "
            "order by coalesce(published_at, fetched_at), id"
        ).fetchall():
            members.setdefault(story_id, []).append(article_id)
        return [_to_story(r, tuple(members.get(r["id"], ()))) for r in rows]

    def needing_summary(self) -> list[tuple[Story, str]]:
        """Stories whose membership changed since their summary was made, with the new key."""
        stale = []
        for story in self.since():
            key = members_key(story.article_ids)
            row = self.db.table("stories").get(story.id)
            if story.article_ids and row["members_key"] != key:
                stale.append((story, key))
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
        """Store what the summarize and rank stages made; an editor's headline and summary stay."""
        row = self.db.table("stories").get(story_id)
        values: dict[str, Any] = {
            "members_key": members_key,
            "score": score,
            "score_explanation": explanation,
            "section": section,
            "relevance": relevance,
            "included": int(included),
        }
        if not row["edited"]:
            values["headline"] = summary.headline
            values["summary"] = json.dumps(summary.as_dict(), ensure_ascii=False)
        self.db.table("stories").update(story_id, values)

    def set_scores(self, scores: Mapping[int, tuple[float, str, bool]]) -> None:
        """Store (score, explanation, included) per story, as ranked for one digest."""
        with self.db.atomic():
            for story_id, (value, explanation, included) in scores.items():
                self.db.table("stories").update(
                    story_id,
                    {"score": value, "score_explanation": explanation, "included": int(included)},
                )

    def generated(self, story_id: int) -> dict[str, Any]:
        """The stored headline, summary (as a ``Summary``), score, section and flags."""
        row = self.db.table("stories").get(story_id)
        return {
            "headline": row["headline"] or "",
            "summary": Summary.from_dict(json.loads(row["summary"])) if row["summary"] else None,
            "score": row["score"],
            "explanation": row["score_explanation"] or "",
            "section": row["section"] or "other",
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
        row = self.db.table("stories").get(story_id)
        ids = tuple(
            int(r[0])
            for r in self.db.execute(
                "select id from articles where story_id = ? "
                "order by coalesce(published_at, fetched_at), id",
                [story_id],
            ).fetchall()
        )
        return _to_story(row, ids)
