"""The ``sources`` and ``fetches`` tables: curated feeds, their health, and the fetch log."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..models import Source
from .convert import from_iso, to_iso
from .db import Connection


def _to_source(row: dict[str, Any]) -> Source:
    return Source(
        id=row["id"],
        name=row["name"],
        url=row["feed_url"],
        site_url=row["site_url"] or "",
        weight=row["weight"] if row["weight"] is not None else 0.5,
        tags=tuple(json.loads(row["tags"] or "[]")),
        interval=row["interval"],
        enabled=bool(row["enabled"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        last_fetch_at=from_iso(row["last_fetch_at"]),
        next_fetch_at=from_iso(row["next_fetch_at"]),
        last_status=row["last_status"],
        consecutive_failures=row["consecutive_failures"] or 0,
        last_error=row["last_error"],
    )


class Sources:
    """Feeds and their health; one row per feed declared in the sources file."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def sync(self, declared: list[Source]) -> dict[str, int]:
        """Make the table match the sources file: add new feeds, update changed ones,
        disable those no longer listed. Health and a redirected feed URL are kept."""
        counts = {"added": 0, "updated": 0, "disabled": 0}
        with self.db.atomic():
            existing = {r["declared_url"]: r for r in self.db.rows("sources")}
            for src in declared:
                values = {
                    "name": src.name,
                    "site_url": src.site_url,
                    "weight": src.weight,
                    "tags": json.dumps(list(src.tags)),
                    "interval": src.interval,
                    "enabled": int(src.enabled),
                }
                row = existing.pop(src.url, None)
                if row is None:
                    self.db.insert(
                        "sources", {**values, "declared_url": src.url, "feed_url": src.url}
                    )
                    counts["added"] += 1
                elif any(row[k] != v for k, v in values.items()):
                    self.db.update("sources", row["id"], values)
                    counts["updated"] += 1
            for row in existing.values():
                if row["enabled"]:
                    self.db.update("sources", row["id"], {"enabled": 0})
                    counts["disabled"] += 1
        return counts

    def all(self) -> list[Source]:
        return [_to_source(r) for r in self.db.rows("sources", order_by="id")]

    def get(self, source_id: int) -> Source:
        return _to_source(self.db.get("sources", source_id))

    def due(self, now: datetime, force: bool = False) -> list[Source]:
        """Enabled sources whose next fetch time has come (all enabled ones with ``force``)."""
        if force:
            where, args = "enabled = 1", []
        else:
            where = "enabled = 1 and (next_fetch_at is null or next_fetch_at <= ?)"
            args = [to_iso(now)]
        return [_to_source(r) for r in self.db.rows("sources", where, args, order_by="id")]

    def record_health(self, source: Source) -> None:
        """Store a source's health after a fetch (status, validators, failures, next time)."""
        assert source.id is not None
        self.db.update(
            "sources",
            source.id,
            {
                "feed_url": source.url,
                "etag": source.etag,
                "last_modified": source.last_modified,
                "last_fetch_at": to_iso(source.last_fetch_at),
                "next_fetch_at": to_iso(source.next_fetch_at),
                "last_status": source.last_status,
                "consecutive_failures": source.consecutive_failures,
                "last_error": source.last_error,
            },
        )

    def log_fetch(
        self,
        source_id: int | None,
        url: str,
        kind: str,
        started_at: datetime,
        status: int | None,
        new_entries: int,
        nbytes: int,
        ms: int,
        attempts: int,
        error: str | None,
    ) -> None:
        """One row per fetch attempt, feed or page, for health reports and debugging."""
        self.db.insert(
            "fetches",
            {
                "source_id": source_id,
                "url": url,
                "kind": kind,
                "started_at": to_iso(started_at),
                "status": status,
                "new_entries": new_entries,
                "bytes": nbytes,
                "ms": ms,
                "attempts": attempts,
                "error": error,
            },
        )

    def article_counts(self) -> dict[int, int]:
        rows = self.db.execute("select source_id, count(*) from articles group by source_id")
        return {sid: n for sid, n in rows.fetchall()}
