"""Write transactions that take SQLite's write lock up front."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlite_utils import Database


@contextmanager
def immediate(db: Database) -> Iterator[None]:
    """One transaction that takes the write lock first, so what is read inside it
    cannot change before the write (a deferred BEGIN could fail to upgrade instead).

    Inside an open transaction it nests as a savepoint, as ``db.atomic()`` does.
    """
    if db.conn.in_transaction:
        with db.atomic():
            yield
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        if db.conn.in_transaction:
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
