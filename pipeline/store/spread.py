"""The ``term_spread`` and ``spread_state`` tables: what the open stories all name.

The clusterer weighs a term down by the share of the open stories carrying it
(``pipeline.spread``); an explanation of why two articles were joined must
weigh it the same way, in a desk or CLI process that holds no clustering
index. Each clustering run leaves here the few terms whose spread moves a
weight and the number of open stories, replacing what the run before left.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from .convert import to_iso
from .db import Connection


class TermSpread:
    """The last clustering run's heavily spread terms, with how many open stories carry each."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def save(self, counts: Mapping[str, int], open_stories: int, at: datetime) -> None:
        """Replace the snapshot: these term counts among ``open_stories`` open stories."""
        with self.db.atomic():
            self.db.execute("delete from term_spread")
            self.db.execute_many(
                "insert into term_spread (term, stories) values (?, ?)",
                sorted(counts.items()),
            )
            self.db.upsert(
                "spread_state",
                {"id": 1, "open_stories": open_stories, "saved_at": to_iso(at)},
                pk="id",
            )

    def load(self) -> tuple[dict[str, int], int]:
        """The term counts and the number of open stories; nothing before the first run."""
        row = self.db.execute("select open_stories from spread_state where id = 1").fetchone()
        if row is None:
            return {}, 0
        counts = {
            term: stories
            for term, stories in self.db.execute("select term, stories from term_spread")
        }
        return counts, int(row[0])
