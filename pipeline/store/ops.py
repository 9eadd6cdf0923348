"""Queries for operating the database: health totals, retention, size, consistent copies.

These read or trim across tables (the fetch log, article texts, digests), so
they live together rather than in each table's module. Retention keeps what a
digest needs forever: sources, articles (URL, title, feed summary,
fingerprints, story), stories with their summaries and citations, decisions
and digests. Only what is bulky and no longer used goes: the extracted page
text of old articles and old rows of the fetch log.

On PostgreSQL the size is the server's for this database, ``vacuum`` is
PostgreSQL's (the space goes back to the table's free space, not to the file
system, unless ``VACUUM FULL`` is run by hand), and a backup is ``pg_dump``'s
custom format, checked by reading its table of contents back with ``pg_restore``.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ..errors import StoreError
from .convert import from_iso, to_iso
from .db import Connection, PostgresConnection, SqliteConnection


@dataclass(frozen=True, slots=True)
class FetchTotals:
    """What the fetch log says about a period: feed and page fetches and their failures."""

    feeds: int
    feeds_failed: int
    new_entries: int
    pages: int
    pages_failed: int


class Maintenance:
    """Status totals, pruning and backups over one open database."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def last_fetch_at(self) -> datetime | None:
        row = self.db.execute("select max(started_at) from fetches where kind = 'feed'").fetchone()
        return from_iso(row[0])

    def fetch_totals(self, since: datetime) -> FetchTotals:
        """Totals of the fetch log since ``since``; an error or a status ≥ 400 is a failure."""
        row = self.db.execute(
            """
            select
              count(*) filter (where kind = 'feed'),
              count(*) filter (where kind = 'feed' and (error is not null or status >= 400)),
              coalesce(sum(new_entries) filter (where kind = 'feed'), 0),
              count(*) filter (where kind = 'page'),
              count(*) filter (where kind = 'page' and (error is not null or status >= 400))
            from fetches where started_at >= ?
            """,
            [to_iso(since)],
        ).fetchone()
        return FetchTotals(*(int(v) for v in row))

    def last_sent(self) -> tuple[date, datetime] | None:
        """The newest day whose digest email went out, and when."""
        row = self.db.execute(
            "select date, sent_at from digests where sent_at is not null order by date desc limit 1"
        ).fetchone()
        if row is None:
            return None
        sent = from_iso(row[1])
        assert sent is not None
        return date.fromisoformat(row[0]), sent

    def counts(self) -> dict[str, int]:
        """Rows in the tables an operator asks about."""
        return {
            table: int(self.db.execute(f'select count(*) from "{table}"').fetchone()[0])
            for table in ("sources", "articles", "stories", "digests", "fetches")
        }

    def path(self) -> Path | None:
        """The database's file, or None for an in-memory or a PostgreSQL one."""
        if not isinstance(self.db, SqliteConnection):
            return None
        name = self.db.execute("pragma database_list").fetchone()[2]
        return Path(name) if name else None

    def size_bytes(self) -> int:
        """The database's size: in pages on SQLite (the main file; the WAL comes and
        goes), as the server counts it on PostgreSQL."""
        if isinstance(self.db, PostgresConnection):
            return int(self.db.execute("select pg_database_size(current_database())").fetchone()[0])
        pages = self.db.execute("pragma page_count").fetchone()[0]
        size = self.db.execute("pragma page_size").fetchone()[0]
        return int(pages) * int(size)

    def drop_fetch_log(self, before: datetime) -> int:
        """Delete fetch log rows started before ``before``; returns how many."""
        with self.db.atomic():
            cursor = self.db.execute("delete from fetches where started_at < ?", [to_iso(before)])
        return int(cursor.rowcount)

    def drop_page_texts(self, before: datetime) -> int:
        """Empty the extracted text of articles fetched before ``before`` (the full-text
        index follows through its triggers); the rest of each article stays. The
        clustering epoch moves when any text went: a kept story index re-reads them."""
        with self.db.atomic():
            cursor = self.db.execute(
                "update articles set text = '' where fetched_at < ? and text != ''",
                [to_iso(before)],
            )
            dropped = int(cursor.rowcount)
            if dropped:
                self.db.execute("update clustering set epoch = epoch + 1 where id = 1")
        return dropped

    def vacuum(self) -> None:
        """Give freed pages back to the file system and fold the WAL into the file
        (on PostgreSQL: mark dead rows' space reusable and refresh the planner's statistics)."""
        if isinstance(self.db, PostgresConnection):
            self.db.execute("vacuum analyze")
            return
        self.db.execute("vacuum")
        self.db.execute("pragma wal_checkpoint(truncate)")

    def backup_to(self, target: Path) -> None:
        """Write a consistent copy of the live database to ``target`` (a new file).

        ``Connection.backup`` copies in one step inside a read transaction: in
        WAL mode writers carry on meanwhile, and the copy is the database as
        of that transaction's start. The copy is switched out of WAL mode so it
        is one self-contained file, then checked.

        On PostgreSQL, ``pg_dump`` writes the copy (one repeatable-read snapshot,
        so writers carry on too) and ``pg_restore --list`` checks it reads back.
        """
        if isinstance(self.db, PostgresConnection):
            _pg_dump(self.db.dsn, target)
            return
        assert isinstance(self.db, SqliteConnection)
        copy = sqlite3.connect(str(target), isolation_level=None)
        try:
            self.db.conn.backup(copy)
            copy.execute("pragma journal_mode = delete")
            result = copy.execute("pragma integrity_check").fetchone()[0]
        finally:
            copy.close()
        if result != "ok":
            raise StoreError(f"{target}: the copy fails its integrity check: {result}")


def _pg_dump(dsn: str, target: Path) -> None:
    """Dump the database at ``dsn`` to ``target`` with PostgreSQL's own tools."""
    for tool in ("pg_dump", "pg_restore"):
        if shutil.which(tool) is None:
            raise StoreError(f"{tool} is not installed: a PostgreSQL backup needs its client tools")
    dumped = subprocess.run(
        ["pg_dump", "--format=custom", f"--file={target}", f"--dbname={dsn}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if dumped.returncode != 0:
        raise StoreError(f"{target}: pg_dump failed: {dumped.stderr.strip()}")
    listed = subprocess.run(
        ["pg_restore", "--list", str(target)], capture_output=True, text=True, check=False
    )
    if listed.returncode != 0 or not re.search(r"TABLE DATA \S+ articles ", listed.stdout):
        raise StoreError(f"{target}: the dump does not read back: {listed.stderr.strip()}")
