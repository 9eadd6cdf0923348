"""The one place that speaks SQL: opens the database, applies migrations, converts rows.

Each table has its own module (``sources``, ``articles``, ``stories``,
``decisions``; ``editorial`` holds the editors' desk writes, ``logins``
the failed-login counts); a ``Store``
holds one repository object per table so callers write
``store.articles.insert_entries(...)``. Stages never see a row.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database

from ..errors import StoreError
from .articles import Articles
from .decisions import Decisions
from .digests import Digests
from .editions import Editions
from .editorial import Editorial
from .entities import Entities
from .logins import Logins
from .migrations import migrations
from .sources import Sources
from .stories import Stories

__all__ = ["Store"]


class Store:
    """An open pipeline database with its migrations applied."""

    def __init__(self, db: Database) -> None:
        self.db = db
        migrations.apply(db)
        self.sources = Sources(db)
        self.articles = Articles(db)
        self.stories = Stories(db)
        self.decisions = Decisions(db)
        self.digests = Digests(db)
        self.editions = Editions(db)
        self.entities = Entities(db, self.decisions)
        self.editorial = Editorial(db, self.stories, self.decisions)
        self.logins = Logins(db)

    @classmethod
    def open(cls, path: str | Path) -> Store:
        """Open (creating if needed) the database file in WAL mode."""
        path = Path(path)
        if path.is_dir():
            raise StoreError(f"{path}: is a folder, not a database file")
        if not path.parent.exists():
            raise StoreError(f"{path}: folder {path.parent} does not exist")
        try:
            conn = sqlite3.connect(
                str(path), timeout=30.0, check_same_thread=False, isolation_level=None
            )
            # isolation_level=None: no implicit transactions; every multi-row write
            # goes through atomic(), everything else commits statement by statement.
            db = Database(conn)
            db.execute("PRAGMA busy_timeout = 30000")
            db.enable_wal()
            # In WAL mode NORMAL is corruption-safe and skips an fsync per commit; a
            # power cut can lose only the last commits, which the next round refetches.
            db.execute("PRAGMA synchronous = NORMAL")
            db.execute("PRAGMA foreign_keys = ON")
            return cls(db)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot open database: {exc}") from None

    @classmethod
    def memory(cls) -> Store:
        """A fresh in-memory database, for tests and benchmarks."""
        db = Database(memory=True)
        db.conn.isolation_level = None  # explicit transactions only, via atomic()
        db.execute("PRAGMA foreign_keys = ON")
        return cls(db)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction: everything inside is written together or not at all."""
        with self.db.atomic():
            yield

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        """``with Store.open(path) as store:`` closes the connection however the block ends."""
        self.close()
