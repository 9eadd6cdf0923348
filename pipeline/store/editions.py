"""The ``editions`` table: which stories each published day carried, and with which articles.

A later digest compares a story's members with what earlier days published,
so only stories that moved are carried again. The permanent page's name
(``stories.slug``) is fixed here at first publication, and merges are read
back as redirects for the pages of stories that no longer hold articles.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

from .convert import follow_chains, to_json
from .db import Connection


class Editions:
    """Per-day publication records of stories, and their permanent page names."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def record(self, day: date, carried: Iterable[tuple[int, str, Sequence[int]]]) -> None:
        """Replace what ``day`` published with ``carried``: (story id, edition, article ids)."""
        with self.db.atomic():
            self.db.execute("delete from editions where date = ?", [day.isoformat()])
            self.db.execute_many(
                "insert into editions (date, story_id, edition, article_ids) values (?, ?, ?, ?)",
                [
                    (day.isoformat(), story_id, edition, to_json(article_ids))
                    for story_id, edition, article_ids in carried
                ],
            )

    def published_before(self, day: date) -> dict[int, date]:
        """Article id → the first day before ``day`` whose digest carried it."""
        first: dict[int, date] = {}
        rows = self.db.execute(
            "select date, article_ids from editions where date < ? order by date",
            [day.isoformat()],
        )
        for when, ids in rows.fetchall():
            for article_id in json.loads(ids):
                first.setdefault(int(article_id), date.fromisoformat(when))
        return first

    def slugs(self, story_ids: Iterable[int]) -> dict[int, str]:
        """The permanent page names already fixed for these stories."""
        ids = list(story_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"select id, slug from stories where slug is not null and id in ({marks})", ids
        )
        return {int(i): s for i, s in rows.fetchall()}

    def fix_slugs(self, slugs: Mapping[int, str]) -> None:
        """Name the pages of newly published stories; a name once set never changes."""
        with self.db.atomic():
            for story_id, slug in slugs.items():
                self.db.execute(
                    "update stories set slug = ? where id = ? and slug is null", [slug, story_id]
                )

    def merged(self) -> dict[int, int]:
        """Story id → the story now holding its articles, following chains of merges."""
        return follow_chains(
            self.db.execute(
                "select id, merged_into from stories where merged_into is not null"
            ).fetchall()
        )
