"""The ``digests`` table: which stories each day's digest published, and when it was sent."""

from __future__ import annotations

import json
from datetime import date, datetime

from .convert import from_iso, to_iso
from .db import Connection


class Digests:
    """One row per published day; the send log that keeps a day's email to one sending."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def record_built(self, day: date, story_ids: list[int], built_at: datetime) -> None:
        """Remember what a build published; a rebuild replaces it but keeps the send time."""
        sent = self.sent_at(day)
        self.db.upsert(
            "digests",
            {
                "date": day.isoformat(),
                "built_at": to_iso(built_at),
                "story_ids": json.dumps(story_ids),
                "sent_at": to_iso(sent),
            },
            pk="date",
        )

    def story_ids(self, day: date) -> list[int] | None:
        row = self.db.execute(
            "select story_ids from digests where date = ?", [day.isoformat()]
        ).fetchone()
        return json.loads(row[0]) if row else None

    def sent_at(self, day: date) -> datetime | None:
        row = self.db.execute(
            "select sent_at from digests where date = ?", [day.isoformat()]
        ).fetchone()
        return from_iso(row[0]) if row else None

    def mark_sent(self, day: date, at: datetime) -> None:
        """Record that the day's email went out (the row exists once the day is built)."""
        self.db.upsert("digests", {"date": day.isoformat(), "sent_at": to_iso(at)}, pk="date")

    def latest(self) -> tuple[date, datetime | None, datetime | None] | None:
        """The newest built day with its build and send times."""
        row = self.db.execute(
            "select date, built_at, sent_at from digests order by date desc limit 1"
        ).fetchone()
        if row is None:
            return None
        return date.fromisoformat(row[0]), from_iso(row[1]), from_iso(row[2])
