"""Conversions at the store's edge: datetimes and JSON columns to and from SQLite values."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlite_utils import Database


def to_iso(value: datetime | None) -> str | None:
    """Store times as ISO 8601 in UTC, so text order is time order."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds")


def from_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value)


def to_json(values: Iterable[Any]) -> str:
    return json.dumps(list(values), ensure_ascii=False)


def from_json(value: str | None) -> list[Any]:
    return json.loads(value) if value else []


# Plain statements for the hot paths (one call per feed, page and article): sqlite-utils'
# Table.get/insert/update introspect the table's columns on every call, which cost more
# than the write itself. Column names come from our code, never from input.


def insert_row(db: Database, table: str, values: Mapping[str, Any]) -> int:
    """INSERT one row and return its rowid."""
    columns = ", ".join(f"[{name}]" for name in values)
    marks = ", ".join("?" for _ in values)
    cursor = db.execute(
        f"insert into [{table}] ({columns}) values ({marks})", list(values.values())
    )
    return int(cursor.lastrowid or 0)


def update_row(db: Database, table: str, row_id: int, values: Mapping[str, Any]) -> None:
    """UPDATE the row with this ``id``."""
    assignments = ", ".join(f"[{name}] = ?" for name in values)
    db.execute(f"update [{table}] set {assignments} where id = ?", [*values.values(), row_id])


def fetch_row(db: Database, table: str, row_id: int) -> dict[str, Any]:
    """The row with this ``id`` as a dict; KeyError when there is none."""
    cursor = db.execute(f"select * from [{table}] where id = ?", [row_id])
    row = cursor.fetchone()
    if row is None:
        raise KeyError(row_id)
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def follow_chains(pointers: Iterable[tuple[int, int]]) -> dict[int, int]:
    """Each id of ``pointers`` (id → the one that took it) → the last one of its chain.

    Merges chain (A into B, then B into C): old links must land where things
    are now. A cycle is cut where it closes.
    """
    step = {int(a): int(b) for a, b in pointers}
    final = {}
    for start in step:
        seen, target = {start}, step[start]
        while target in step and step[target] not in seen:
            seen.add(target)
            target = step[target]
        final[start] = target
    return final
