"""The one place that speaks SQL: opens the database, applies migrations, converts rows.

Each table has its own module (``sources``, ``articles``, ``stories``,
``decisions``; ``editorial`` holds the editors' desk writes, ``logins``
the failed-login counts); a ``Store``
holds one repository object per table so callers write
``store.articles.insert_entries(...)``. Stages never see a row. The database
is an SQLite file (the default) or, for installations past one machine, a
PostgreSQL database named by a ``postgresql://`` URL; ``db.Connection`` hides
which from the table modules.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreError
from . import locks, migrations
from .articles import Articles
from .db import Connection, PostgresConnection, SqliteConnection, is_postgres, redact
from .decisions import Decisions
from .digests import Digests
from .editions import Editions
from .editorial import Editorial
from .entities import Entities
from .logins import Logins
from .sources import Sources
from .spread import TermSpread
from .stories import Stories

__all__ = ["Store"]


class Store:
    """An open pipeline database with its migrations applied."""

    def __init__(self, db: Connection) -> None:
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
        self.spread = TermSpread(db)

    @classmethod
    def open(cls, target: str | Path) -> Store:
        """Open the PostgreSQL database a ``postgresql://`` URL names, or open (creating
        if needed) an SQLite database file in WAL mode."""
        if is_postgres(target):
            return cls._open_postgres(str(target))
        path = Path(target)
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
            db = SqliteConnection(conn)
            db.execute("PRAGMA busy_timeout = 30000")
            db.utils.enable_wal()
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
        db = SqliteConnection(sqlite3.connect(":memory:", check_same_thread=False))
        db.execute("PRAGMA foreign_keys = ON")
        return cls(db)

    @classmethod
    def _open_postgres(cls, dsn: str) -> Store:
        import psycopg

        try:
            return cls(PostgresConnection(dsn))
        except psycopg.Error as exc:
            raise StoreError(f"{redact(dsn)}: cannot open database: {exc}") from None

    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction: everything inside is written together or not at all."""
        with self.db.atomic():
            yield

    @contextmanager
    def one_at_a_time(self, key: int) -> Iterator[None]:
        """Run the block while no other process runs a block under ``key`` (a
        ``store.locks`` key), waiting for it to finish first: a PostgreSQL advisory
        lock, released by the server if this process dies. SQLite needs none: one
        daemon serves a file, under its own lock."""
        if isinstance(self.db, PostgresConnection):
            with locks.waiting(self.db, key):
                yield
        else:
            yield

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        """``with Store.open(path) as store:`` closes the connection however the block ends."""
        self.close()
