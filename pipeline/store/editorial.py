"""Every write of the editors' desk: status, text, section and membership changes.

Each change is one write transaction (``BEGIN IMMEDIATE`` on SQLite) that (1) moves the story's
``version`` on only if it still is the version the editor's form was rendered
with, (2) makes the change, (3) writes the audit row (who, when, what, before
and after) to ``decisions``, and (4) for membership changes, writes the
cluster constraints that make re-clustering keep it:

* the members a story is left with are must-linked in time order (each to the
  one before it and to the first), so an online clusterer that places
  articles oldest first puts every later member where the earlier ones went;
* articles taken out of a story are cannot-linked to every member they left,
  so no re-clustering puts them back together (until an editor does: members
  of a story an editor shaped never keep a cannot-link between them).

A new constraint replaces its opposite on the same pair, so the latest
decision wins. Editors' accounts and the desk's session secret live here too.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..errors import StoreError
from ..models import Summary
from .convert import from_iso, to_iso
from .db import POSTGRESQL, SQLITE, Connection
from .decisions import CANNOT_LINK, MUST_LINK, Decisions
from .stories import Stories

# Desk action → the status it sets. Unpinning leaves the story approved: an
# editor chose it once.
ACTIONS = {"approve": "approved", "reject": "rejected", "pin": "pinned", "unpin": "approved"}


class EditConflict(StoreError):
    """The story changed after the editor's form was rendered; nothing was written."""

    def __init__(self, story_id: int, expected: int, current: int, by: str, at: datetime | None):
        self.story_id, self.expected, self.current = story_id, expected, current
        self.by, self.at = by, at
        who = "the pipeline (new articles or a new summary)" if by == "pipeline" else by
        when = f" at {at:%Y-%m-%d %H:%M} UTC" if at else ""
        super().__init__(
            f"Story #{story_id} was changed by {who}{when} after you opened it "
            f"(version {expected} → {current}); your change was not saved."
        )


class EditRefused(StoreError):
    """The change cannot be made as asked (no such story, an empty or total split, …)."""


@dataclass(frozen=True, slots=True)
class Decision:
    """One row of the audit log, as the desk shows it."""

    id: int
    editor: str
    at: datetime | None
    action: str
    story_id: int | None
    article_ids: tuple[int, ...]
    before: Any
    after: Any


class Editorial:
    """The desk's writes, each checked against the version the editor saw."""

    def __init__(self, db: Connection, stories: Stories, decisions: Decisions) -> None:
        self.db = db
        self.stories = stories
        self.decisions = decisions

    # -- status, text and section -------------------------------------------------

    def set_status(
        self, editor: str, story_id: int, version: int, action: str, at: datetime
    ) -> int:
        """Approve, reject, pin or unpin; returns the story's new version."""
        if action not in ACTIONS:
            raise EditRefused(f"unknown action {action!r}")
        with self.db.write():
            before = self._row(story_id)["status"]
            new = self._bump(story_id, version, editor, at)
            self.db.execute(
                "update stories set status = ? where id = ?", [ACTIONS[action], story_id]
            )
            self.decisions.record(
                editor, action, at, story_id, (), {"status": before}, {"status": ACTIONS[action]}
            )
        return new

    def edit(
        self,
        editor: str,
        story_id: int,
        version: int,
        headline: str,
        summary: Summary,
        at: datetime,
    ) -> int:
        """Replace the headline and summary with an editor's; later runs keep them.

        ``summary.headline`` stays the summarizer's (the digest file says so); the
        story's headline is the editor's.
        """
        headline = " ".join(headline.split())
        if not headline:
            raise EditRefused("the headline cannot be empty")
        with self.db.write():
            row = self._row(story_id)
            new = self._bump(story_id, version, editor, at)
            text = json.dumps(summary.as_dict(), ensure_ascii=False)
            self.db.update(
                "stories",
                story_id,
                {
                    "headline": headline,
                    "summary": text,
                    "edited": 1,
                    "edit_members": json.dumps(self._members(story_id)),
                    "new_sources_since_edit": 0,
                },
            )
            self.decisions.record(
                editor,
                "edit",
                at,
                story_id,
                (),
                {"headline": row["headline"], "summary": _loads(row["summary"])},
                {"headline": headline, "summary": json.loads(text)},
            )
        return new

    def reset(self, editor: str, story_id: int, version: int, at: datetime) -> int:
        """Go back to the generated headline and summary (they follow membership again)."""
        with self.db.write():
            row = self._row(story_id)
            if not row["generated_summary"]:
                raise EditRefused(f"story #{story_id} has no generated summary yet")
            new = self._bump(story_id, version, editor, at)
            self.db.update(
                "stories",
                story_id,
                {
                    "headline": row["generated_headline"],
                    "summary": row["generated_summary"],
                    "edited": 0,
                    "edit_members": None,
                    "new_sources_since_edit": 0,
                },
            )
            self.decisions.record(
                editor,
                "reset",
                at,
                story_id,
                (),
                {"headline": row["headline"], "summary": _loads(row["summary"])},
                {"headline": row["generated_headline"]},
            )
        return new

    def set_section(
        self, editor: str, story_id: int, version: int, section: str | None, at: datetime
    ) -> int:
        """Fix the story's section (``None``: back to the one the rank stage chooses)."""
        with self.db.write():
            row = self._row(story_id)
            new = self._bump(story_id, version, editor, at)
            chosen = section or row["generated_section"] or row["section"] or "other"
            self.db.update(
                "stories", story_id, {"section": chosen, "section_locked": int(section is not None)}
            )
            self.decisions.record(
                editor,
                "section",
                at,
                story_id,
                (),
                {"section": row["section"], "locked": bool(row["section_locked"])},
                {"section": chosen, "locked": section is not None},
            )
        return new

    # -- membership ------------------------------------------------------------------

    def merge(
        self,
        editor: str,
        into_id: int,
        into_version: int,
        from_id: int,
        from_version: int,
        at: datetime,
    ) -> int:
        """Move every article of ``from_id`` into ``into_id``; returns ``into_id``'s new version.

        The merged story keeps ``into_id``'s status, headline and summary; the
        emptied one stays as a pointer (``merged_into``) for old links.
        """
        if into_id == from_id:
            raise EditRefused("a story cannot be merged with itself")
        with self.db.write():
            into_row, from_row = self._row(into_id), self._row(from_id)
            kept, moved = self._members(into_id), self._members(from_id)
            if not moved:
                raise EditRefused(f"story #{from_id} has no articles to merge")
            new = self._bump(into_id, into_version, editor, at)
            self._bump(from_id, from_version, editor, at)
            self.stories.moved()
            self.db.execute(
                "update articles set story_id = ? where story_id = ?", [into_id, from_id]
            )
            self.db.execute("update stories set merged_into = ? where id = ?", [into_id, from_id])
            self._after_membership(into_id)
            decision = self.decisions.record(
                editor,
                "merge",
                at,
                into_id,
                moved,
                {
                    "stories": [into_id, from_id],
                    "into": {"members": kept, "headline": into_row["headline"]},
                    "from": {
                        "members": moved,
                        "headline": from_row["headline"],
                        "status": from_row["status"],
                    },
                },
                {"stories": [into_id, from_id], "members": self._members(into_id)},
            )
            self._link_members(into_id, decision)
        return new

    def move(
        self,
        editor: str,
        story_id: int,
        version: int,
        article_ids: Sequence[int],
        target_id: int | None,
        target_version: int | None,
        at: datetime,
    ) -> int:
        """Split: move some of a story's articles into a new story (``target_id`` None)
        or into another one. Returns the id of the story that received them."""
        chosen = sorted(set(article_ids))
        with self.db.write():
            members = self._members(story_id)
            if not chosen:
                raise EditRefused("choose at least one article to move")
            strangers = [a for a in chosen if a not in members]
            if strangers:
                raise EditRefused(f"articles {strangers} are not in story #{story_id}")
            remaining = [a for a in members if a not in chosen]
            if not remaining:
                raise EditRefused("to move every article, merge the story instead")
            if target_id == story_id:
                raise EditRefused("the articles are already in this story")
            self._bump(story_id, version, editor, at)
            if target_id is None:
                target_id = self.stories.next_id()
                self.db.insert("stories", {"id": target_id, "status": "auto", "version": 1})
            elif target_version is None:
                raise EditRefused(f"the version of story #{target_id} is missing")
            else:
                self._bump(target_id, target_version, editor, at)
            before_target = self._members(target_id)
            self._place(chosen, target_id)
            self._after_membership(story_id, target_id)
            decision = self.decisions.record(
                editor,
                "split" if not before_target else "move",
                at,
                story_id,
                chosen,
                {"stories": [story_id, target_id], "from": members, "to": before_target},
                {
                    "stories": [story_id, target_id],
                    "from": remaining,
                    "to": self._members(target_id),
                },
            )
            self._separate(chosen, remaining, decision)
            self._link_members(story_id, decision)
            self._link_members(target_id, decision)
        return target_id

    def add_article(
        self, editor: str, article_id: int, story_id: int, version: int, at: datetime
    ) -> int:
        """Put one article (found by search) into a story; returns the story's new version.

        The article leaves its current story, if any, and is cannot-linked to
        that story's members.
        """
        with self.db.write():
            row = self.db.execute("select story_id from articles where id = ?", [article_id])
            found = row.fetchone()
            if found is None:
                raise EditRefused(f"no article #{article_id}")
            old = found[0]
            if old == story_id:
                raise EditRefused(f"article #{article_id} is already in story #{story_id}")
            new = self._bump(story_id, version, editor, at)
            before_target = self._members(story_id)
            left = [a for a in self._members(old) if a != article_id] if old is not None else []
            if old is not None:
                self.db.execute(
                    "update stories set version = version + 1, changed_by = ?, changed_at = ? "
                    "where id = ?",
                    [editor, to_iso(at), old],
                )
            self._place([article_id], story_id)
            self._after_membership(story_id, *([old] if old is not None else []))
            decision = self.decisions.record(
                editor,
                "add",
                at,
                story_id,
                [article_id],
                {
                    "stories": [story_id, *([old] if old is not None else [])],
                    "to": before_target,
                    "from_story": old,
                },
                {
                    "stories": [story_id, *([old] if old is not None else [])],
                    "to": self._members(story_id),
                },
            )
            self._separate([article_id], left, decision)
            self._link_members(story_id, decision)
        return new

    # -- audit log, accounts, secret ---------------------------------------------------

    def history(self, story_id: int, limit: int = 50) -> list[Decision]:
        """Decisions about a story, newest first (including moves that touched it)."""
        rows = self.db.execute(
            "select id, editor, at, action, story_id, article_ids, before, after from decisions "
            f"where story_id = ? or {_MENTIONS[self.db.dialect]} order by at desc, id desc limit ?",
            [story_id, story_id, limit],
        ).fetchall()
        return [
            Decision(
                id=r[0],
                editor=r[1],
                at=from_iso(r[2]),
                action=r[3],
                story_id=r[4],
                article_ids=tuple(json.loads(r[5] or "[]")),
                before=_loads(r[6]),
                after=_loads(r[7]),
            )
            for r in rows
        ]

    def set_editor(self, name: str, password_hash: str, at: datetime) -> bool:
        """Create an editor or replace their password hash; True when created."""
        with self.db.write():
            exists = self.db.execute("select 1 from editors where name = ?", [name]).fetchone()
            if exists:
                self.db.execute(
                    "update editors set password_hash = ?, updated_at = ? where name = ?",
                    [password_hash, to_iso(at), name],
                )
            else:
                self.db.insert(
                    "editors",
                    {
                        "name": name,
                        "password_hash": password_hash,
                        "created_at": to_iso(at),
                        "updated_at": to_iso(at),
                    },
                    pk="name",
                )
        return not exists

    def password_hash(self, name: str) -> str | None:
        row = self.db.execute("select password_hash from editors where name = ?", [name]).fetchone()
        return str(row[0]) if row else None

    def editors(self) -> list[str]:
        return [str(r[0]) for r in self.db.execute("select name from editors order by name")]

    def secret(self, name: str) -> str:
        """A random secret stored under ``name``, made on first use (the session key).

        Two desk processes starting together both offer one; the first stored wins
        and both return it."""
        with self.db.write():
            self.db.insert(
                "app_secrets",
                {"name": name, "value": secrets.token_urlsafe(48)},
                pk="name",
                ignore=True,
            )
            row = self.db.execute("select value from app_secrets where name = ?", [name]).fetchone()
            return str(row[0])

    # -- helpers -----------------------------------------------------------------------

    def _row(self, story_id: int) -> dict[str, Any]:
        cursor = self.db.execute("select * from stories where id = ?", [story_id])
        row = cursor.fetchone()
        if row is None:
            raise EditRefused(f"no story #{story_id}")
        return dict(zip([d[0] for d in cursor.description], row, strict=True))

    def _bump(self, story_id: int, version: int, editor: str, at: datetime) -> int:
        """Move the version on if it is still ``version``; otherwise say who changed it."""
        cursor = self.db.execute(
            "update stories set version = version + 1, changed_by = ?, changed_at = ? "
            "where id = ? and version = ?",
            [editor, to_iso(at), story_id, version],
        )
        if cursor.rowcount == 1:
            return version + 1
        row = self._row(story_id)
        by = row["changed_by"] or "pipeline"
        raise EditConflict(story_id, version, row["version"], by, from_iso(row["changed_at"]))

    def _members(self, story_id: int | None) -> list[int]:
        """Member ids in the order the clusterer places them: oldest first, undated last."""
        if story_id is None:
            return []
        return [
            int(r[0])
            for r in self.db.execute(
                "select id from articles where story_id = ? order by "
                "coalesce(published_at, fetched_at) is null, coalesce(published_at, fetched_at), id",
                [story_id],
            ).fetchall()
        ]

    def _place(self, article_ids: Iterable[int], story_id: int) -> None:
        self.stories.moved()
        ids = list(article_ids)
        marks = ",".join("?" * len(ids))
        self.db.execute(f"update articles set story_id = ? where id in ({marks})", [story_id, *ids])

    def _after_membership(self, *story_ids: int) -> None:
        """Refresh the times of stories whose members changed and their edit flags."""
        for story_id in story_ids:
            first, last, count = self.db.execute(
                "select min(coalesce(published_at, fetched_at)), "
                "max(coalesce(published_at, fetched_at)), count(*) from articles where story_id = ?",
                [story_id],
            ).fetchone()
            values: dict[str, Any] = {"first_seen": first, "last_seen": last} if count else {}
            if self._row(story_id)["edited"]:
                values["new_sources_since_edit"] = self.stories.joined_since_edit(story_id)
            if values:
                self.db.update("stories", story_id, values)

    def _link_members(self, story_id: int, decision: int) -> None:
        """Must-link each member to the one before it and to the first (see the module doc),
        and drop any cannot-link left between members by an earlier split: the latest
        decision says they belong together."""
        members = self._members(story_id)
        if len(members) > 1:
            marks = ",".join("?" * len(members))
            self.db.execute(
                f"delete from constraints where kind = ? and a in ({marks}) and b in ({marks})",
                [CANNOT_LINK, *members, *members],
            )
        pairs = {(members[i - 1], members[i]) for i in range(1, len(members))}
        pairs |= {(members[0], m) for m in members[1:]}
        self.decisions.add_constraints(MUST_LINK, pairs, decision)

    def _separate(self, moved: Sequence[int], left: Sequence[int], decision: int) -> None:
        self.decisions.add_constraints(CANNOT_LINK, ((a, b) for a in moved for b in left), decision)


# A decision that moved articles lists the stories it touched in ``after.stories``.
_MENTIONS = {
    SQLITE: "exists (select 1 from json_each(decisions.after, '$.stories') where value = ?)",
    POSTGRESQL: "coalesce(decisions.after::jsonb -> 'stories' @> to_jsonb(?::bigint), false)",
}


def _loads(value: str | None) -> Any:
    return json.loads(value) if value else None
