"""Conversions at the store's edge: datetimes and JSON columns to and from stored values."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any


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
