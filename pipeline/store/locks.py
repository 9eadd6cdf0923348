"""PostgreSQL advisory locks: one scheduler per database, one clustering consumer at a time.

A session-level advisory lock belongs to the connection that took it, so the
server releases it when that connection ends, however the process holding it
ends (a crash, SIGKILL, a machine gone): no stale lock is ever left to clear by
hand, as with ``flock`` on one machine. The holder names itself in its
connection's ``application_name``, so ``digest status`` can say which process
on which host holds it.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import StoreError
from .db import PostgresConnection, redact

# Fixed keys (any 64-bit numbers, the same in every process of an installation).
SCHEDULER = 0x6469676573740002
CLUSTER = 0x6469676573740003
QUEUE_SCHEMA = 0x6469676573740004

_POLL_S = 0.1


def holder_label(role: str) -> str:
    """What a lock holder calls itself: role, pid and host."""
    return f"digest {role} pid={os.getpid()} host={socket.gethostname()}"[:63]


@contextmanager
def exclusive(dsn: str, key: int, role: str, wait_s: float = 0.0) -> Iterator[PostgresConnection]:
    """Hold lock ``key`` on a connection of its own for as long as the block runs, or
    raise StoreError naming the current holder once ``wait_s`` has passed."""
    db = PostgresConnection(dsn)
    try:
        db.execute("select set_config('application_name', ?, false)", [holder_label(role)])
        deadline = time.monotonic() + wait_s
        while not db.execute("select pg_try_advisory_lock(?)", [key]).fetchone()[0]:
            if time.monotonic() >= deadline:
                raise StoreError(
                    f"{redact(dsn)}: another `digest {role}` is already running on this database "
                    f"({holder(db, key) or 'holder unknown'})"
                )
            time.sleep(_POLL_S)
        yield db
    finally:
        db.close()  # ends the session, which releases the lock


@contextmanager
def waiting(db: PostgresConnection, key: int) -> Iterator[None]:
    """Wait for lock ``key`` on this connection and release it after the block."""
    db.execute("select pg_advisory_lock(?)", [key])
    try:
        yield
    finally:
        db.execute("select pg_advisory_unlock(?)", [key])


def holder(db: PostgresConnection, key: int) -> str | None:
    """The ``application_name`` of the session holding lock ``key``, or None when free."""
    row = db.execute(
        "select a.application_name from pg_locks l join pg_stat_activity a on a.pid = l.pid "
        "where l.locktype = 'advisory' and l.granted "
        "and (l.classid::bigint << 32) | l.objid::bigint = ?",
        [key],
    ).fetchone()
    return str(row[0]) if row else None
