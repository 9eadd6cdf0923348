"""The ``entities`` and ``story_entities`` tables: what stories are about, and editors' say on it.

Recognition upserts entities by ``key`` and replaces one story's links; it
never touches what an editor decided: a renamed entity keeps its name, a
hidden one stays hidden, a merged one points at the entity that took it
(``merged_into``), and its slug (the topic page's name) never changes, so a
published topic link never breaks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from ..models import Mention, Topic, Topics
from .convert import follow_chains
from .db import Connection
from .decisions import Decisions
from .editorial import EditRefused

NAME_MAX = 120


def _missing(entity_id: int) -> NoReturn:
    raise EditRefused(f"there is no topic #{entity_id}")


@dataclass(frozen=True, slots=True)
class EntityRecord:
    """An entity as the editors' desk lists it."""

    id: int
    key: str
    kind: str
    name: str
    slug: str
    hidden: bool
    merged_into: int | None
    stories: int


class Entities:
    """Entities, their links to stories, and editors' renames, merges and hides."""

    def __init__(self, db: Connection, decisions: Decisions) -> None:
        self.db = db
        self.decisions = decisions

    def link(
        self, story_id: int, mentions: Sequence[tuple[Mention, str]], members_key: str
    ) -> None:
        """Replace the story's links with ``mentions`` (each with the slug a new entity gets),
        creating entities met for the first time."""
        with self.db.atomic():
            self.db.execute("delete from story_entities where story_id = ?", [story_id])
            for mention, slug in mentions:
                entity_id = self._ensure(mention, slug)
                self.db.execute(
                    "insert into story_entities (story_id, entity_id, mentions) values (?, ?, ?) "
                    "on conflict (story_id, entity_id) do update set mentions = excluded.mentions",
                    [story_id, entity_id, mention.count],
                )
            self.db.execute(
                "update stories set entities_key = ? where id = ?", [members_key, story_id]
            )

    def _ensure(self, mention: Mention, base: str) -> int:
        entity = mention.entity
        row = self.db.execute("select id from entities where key = ?", [entity.key]).fetchone()
        if row is not None:
            return int(row[0])
        slug = base
        taken = {
            r[0]
            for r in self.db.execute(
                "select slug from entities where slug like ?", [base + "%"]
            ).fetchall()
        }
        number = 2
        while slug in taken:
            slug, number = f"{base}-{number}", number + 1
        return int(
            self.db.insert(
                "entities",
                {"key": entity.key, "kind": entity.kind, "name": entity.name, "slug": slug},
            )
        )

    def topics_of(self, story_ids: Iterable[int]) -> dict[int, tuple[str, ...]]:
        """Story id → slugs of its visible topics (merges followed), most mentioned first."""
        ids = list(story_ids)
        if not ids:
            return {}
        final = self._final()
        hidden = {
            i for (i,) in self.db.execute("select id from entities where hidden = 1").fetchall()
        }
        slugs = dict(self.db.execute("select id, slug from entities").fetchall())
        marks = ",".join("?" * len(ids))
        found: dict[int, dict[str, int]] = {}
        rows = self.db.execute(
            f"select story_id, entity_id, mentions from story_entities where story_id in ({marks})",
            ids,
        )
        for story_id, entity_id, mentions in rows.fetchall():
            target = final.get(entity_id, entity_id)
            if target in hidden or entity_id in hidden:
                continue
            counts = found.setdefault(story_id, {})
            counts[slugs[target]] = counts.get(slugs[target], 0) + mentions
        return {s: tuple(sorted(c, key=lambda slug: (-c[slug], slug))) for s, c in found.items()}

    def catalogue(self) -> Topics:
        """Every visible topic, and merged slugs with the slug that took them."""
        rows = self.db.execute("select id, slug, name, kind, hidden from entities").fetchall()
        by_id = {i: (slug, hidden) for i, slug, _, _, hidden in rows}
        final = self._final()
        topics = {
            slug: Topic(slug, name, kind)
            for i, slug, name, kind, hidden in rows
            if not hidden and i not in final
        }
        moved = {by_id[i][0]: by_id[t][0] for i, t in final.items() if not by_id[t][1]}
        return Topics(topics, moved)

    def records(self) -> list[EntityRecord]:
        """Every entity with its story count, most linked first."""
        rows = self.db.execute(
            "select e.id, e.key, e.kind, e.name, e.slug, e.hidden, e.merged_into, "
            "count(se.story_id) from entities e left join story_entities se on se.entity_id = e.id "
            "group by e.id order by count(se.story_id) desc, e.name"
        ).fetchall()
        return [EntityRecord(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7]) for r in rows]

    def record(self, entity_id: int) -> EntityRecord | None:
        return next((r for r in self.records() if r.id == entity_id), None)

    def rename(self, editor: str, entity_id: int, name: str, at: datetime) -> None:
        """An editor's name for the entity; recognition never overwrites it, its slug stays."""
        name = " ".join(name.split())
        if not name or len(name) > NAME_MAX:
            raise EditRefused(f"a topic name needs 1 to {NAME_MAX} characters")
        self._decide(editor, at, "entity-rename", entity_id, "name", name)

    def set_hidden(self, editor: str, entity_id: int, hidden: bool, at: datetime) -> None:
        """Hide the entity from every page, digest and export (or show it again)."""
        self._decide(
            editor, at, "entity-hide" if hidden else "entity-show", entity_id, "hidden", int(hidden)
        )

    def merge(self, editor: str, from_id: int, into_id: int, at: datetime) -> None:
        """Point ``from_id`` at ``into_id``: its stories count for the other one from now on,
        and its topic page redirects there."""
        if from_id == into_id or self._final().get(into_id) == from_id:
            raise EditRefused("a topic cannot be merged into itself")
        if self.record(into_id) is None:
            _missing(into_id)
        self._decide(editor, at, "entity-merge", from_id, "merged_into", into_id)

    def _decide(
        self, editor: str, at: datetime, action: str, entity_id: int, column: str, value: object
    ) -> None:
        """Change one column of one entity and write the audit row, together."""
        with self.db.atomic():
            row = self.db.execute(
                "select key, name, hidden, merged_into from entities where id = ?", [entity_id]
            ).fetchone()
            if row is None:
                _missing(entity_id)
            key, *before = row
            extra = ", renamed = 1" if column == "name" else ""
            self.db.execute(
                f"update entities set {column} = ?{extra} where id = ?", [value, entity_id]
            )
            self.decisions.record(
                editor,
                action,
                at,
                before=dict(
                    zip(("entity", "name", "hidden", "merged_into"), [key, *before], strict=True)
                ),
                after={"entity": key, column: value},
            )

    def _final(self) -> dict[int, int]:
        """Merged entity id → the entity that finally holds it."""
        return follow_chains(
            self.db.execute(
                "select id, merged_into from entities where merged_into is not null"
            ).fetchall()
        )
