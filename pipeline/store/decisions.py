"""The ``decisions`` audit log and the cluster constraints derived from editors' actions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ..models import Constraints
from .convert import to_iso
from .db import Connection

MUST_LINK = "must"
CANNOT_LINK = "cannot"


class Decisions:
    """Editors' actions (who, when, what, before/after) and the constraints they imply."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def record(
        self,
        editor: str,
        action: str,
        at: datetime,
        story_id: int | None = None,
        article_ids: Iterable[int] = (),
        before: Any = None,
        after: Any = None,
    ) -> int:
        decision_id = self.db.insert(
            "decisions",
            {
                "editor": editor,
                "at": to_iso(at),
                "action": action,
                "story_id": story_id,
                "article_ids": json.dumps(sorted(article_ids)),
                "before": json.dumps(before),
                "after": json.dumps(after),
            },
        )
        return int(decision_id)

    def add_constraints(
        self, kind: str, pairs: Iterable[tuple[int, int]], decision_id: int
    ) -> None:
        """Add must-link or cannot-link pairs; a new one replaces its opposite on the same pair."""
        if kind not in (MUST_LINK, CANNOT_LINK):
            raise ValueError(f"unknown constraint kind {kind!r}")
        opposite = CANNOT_LINK if kind == MUST_LINK else MUST_LINK
        with self.db.atomic():
            for a, b in pairs:
                if a == b:
                    continue
                lo, hi = min(a, b), max(a, b)
                self.db.execute(
                    "delete from constraints where kind = ? and a = ? and b = ?", [opposite, lo, hi]
                )
                self.db.insert(
                    "constraints",
                    {"kind": kind, "a": lo, "b": hi, "decision_id": decision_id},
                    ignore=True,
                )

    def constraints(self) -> Constraints:
        must: set[tuple[int, int]] = set()
        cannot: set[tuple[int, int]] = set()
        for kind, a, b in self.db.execute("select kind, a, b from constraints").fetchall():
            (must if kind == MUST_LINK else cannot).add((int(a), int(b)))
        return Constraints(must_link=frozenset(must), cannot_link=frozenset(cannot))
