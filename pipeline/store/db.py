"""One connection interface over two databases: an SQLite file (the default) or PostgreSQL.

Every table module in the store talks to a ``Connection`` and writes its SQL
once, in the subset both databases read the same way: ``?`` placeholders,
double-quoted names, ``on conflict`` for inserts that may meet an existing
row, ISO 8601 text for times (PostgreSQL keeps those columns in the ``C``
collation so text order stays time order). The few statements that differ (a
JSON path, string aggregation, full-text search, maintenance) choose by
``dialect``. ``PostgresConnection`` turns ``?`` into psycopg's ``%s`` once per
statement text, so the table modules never see a driver's placeholder style.

Both run in autocommit: nothing is open between statements unless ``atomic``
(or ``write``) opens a transaction, as the SQLite store always did.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit, urlunsplit

from sqlite_utils import Database

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(target: object) -> bool:
    """Whether a ``db`` setting names a PostgreSQL database rather than an SQLite file."""
    return str(target).startswith(POSTGRES_SCHEMES)


def redact(target: str) -> str:
    """A database URL as it may be shown in logs and errors: without its password."""
    parts = urlsplit(target)
    if parts.password is None:
        return target
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class Cursor(Protocol):
    """What both drivers' cursors give back (DB-API 2)."""

    @property
    def description(self) -> Any: ...

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchmany(self, size: int) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


def _quote(name: str) -> str:
    """A table or column name as SQL; names come from our code, never from input."""
    return f'"{name}"'


class Connection(ABC):
    """One open database; the store's only way to it."""

    dialect: ClassVar[str]

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        """Run one statement with ``?`` placeholders."""

    @abstractmethod
    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run one statement once per row of parameters, in as few round trips as may be."""

    @abstractmethod
    @contextmanager
    def atomic(self) -> Iterator[None]:
        """One transaction (a savepoint when one is already open)."""
        yield

    @abstractmethod
    @contextmanager
    def write(self) -> Iterator[None]:
        """A transaction that will write after reading: the read cannot go stale before it."""
        yield

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def table_names(self) -> list[str]: ...

    def insert(
        self, table: str, values: Mapping[str, Any], pk: str = "id", ignore: bool = False
    ) -> Any:
        """INSERT one row; return its key, or None when ``ignore`` and the key already exists.

        With ``ignore``, a row that would break a uniqueness constraint is left out
        by the database itself, so two writers racing on the same key store it once.
        """
        columns = ", ".join(_quote(name) for name in values)
        marks = ", ".join("?" for _ in values)
        conflict = " on conflict do nothing" if ignore else ""
        cursor = self.execute(
            f"insert into {_quote(table)} ({columns}) values ({marks}){conflict} "
            f"returning {_quote(pk)}",
            list(values.values()),
        )
        row = cursor.fetchone()
        return row[0] if row else None

    def update(self, table: str, key: Any, values: Mapping[str, Any], pk: str = "id") -> int:
        """UPDATE the row with this key; returns how many rows changed (0 or 1)."""
        assignments = ", ".join(f"{_quote(name)} = ?" for name in values)
        cursor = self.execute(
            f"update {_quote(table)} set {assignments} where {_quote(pk)} = ?",
            [*values.values(), key],
        )
        return cursor.rowcount

    def upsert(self, table: str, values: Mapping[str, Any], pk: str) -> None:
        """Insert the row, or update the given columns of the row with this key."""
        columns = ", ".join(_quote(name) for name in values)
        marks = ", ".join("?" for _ in values)
        changes = ", ".join(f"{_quote(n)} = excluded.{_quote(n)}" for n in values if n != pk)
        action = f"do update set {changes}" if changes else "do nothing"
        self.execute(
            f"insert into {_quote(table)} ({columns}) values ({marks}) "
            f"on conflict ({_quote(pk)}) {action}",
            list(values.values()),
        )

    def delete(self, table: str, key: Any, pk: str = "id") -> None:
        self.execute(f"delete from {_quote(table)} where {_quote(pk)} = ?", [key])

    def rows(
        self, table: str, where: str = "true", args: Sequence[Any] = (), order_by: str = ""
    ) -> list[dict[str, Any]]:
        """Whole rows as dicts, for tables small enough to read whole (sources, stories)."""
        order = f" order by {order_by}" if order_by else ""
        cursor = self.execute(f"select * from {_quote(table)} where {where}{order}", list(args))
        return as_dicts(cursor)

    def get(self, table: str, key: Any, pk: str = "id") -> dict[str, Any]:
        """The row with this key; KeyError when there is none."""
        found = self.rows(table, f"{_quote(pk)} = ?", [key])
        if not found:
            raise KeyError(key)
        return found[0]


def as_dicts(cursor: Cursor) -> list[dict[str, Any]]:
    """A cursor's remaining rows as column → value dicts."""
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class SqliteConnection(Connection):
    """An SQLite database through the standard library, with sqlite-utils for the migrations."""

    dialect = SQLITE

    def __init__(self, conn: sqlite3.Connection) -> None:
        conn.isolation_level = None  # explicit transactions only, via atomic()
        self.conn = conn
        self.utils = Database(conn)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.conn.execute(sql, list(params))

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    @contextmanager
    def atomic(self) -> Iterator[None]:
        with self.utils.atomic():
            yield

    @contextmanager
    def write(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` takes the write lock first: a deferred BEGIN that read a
        version could fail to upgrade to writing instead."""
        if self.conn.in_transaction:
            with self.atomic():
                yield
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()

    def table_names(self) -> list[str]:
        return list(self.utils.table_names())


@lru_cache(maxsize=1024)
def _to_pyformat(sql: str) -> str:
    """``?`` → ``%s`` outside string literals, and every literal ``%`` doubled for psycopg."""
    out: list[str] = []
    quoted = False
    for char in sql:
        if char == "'":
            quoted = not quoted
        if char == "%":
            out.append("%%")
        elif char == "?" and not quoted:
            out.append("%s")
        else:
            out.append(char)
    return "".join(out)


class PostgresConnection(Connection):
    """A PostgreSQL database through psycopg 3, one connection in autocommit."""

    dialect = POSTGRESQL

    def __init__(self, dsn: str) -> None:
        import psycopg  # only installations that use PostgreSQL load the driver

        self.dsn = dsn
        self.conn = psycopg.connect(dsn, autocommit=True)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        return self.conn.execute(_to_pyformat(sql), list(params))

    def execute_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(_to_pyformat(sql), rows)

    def script(self, sql: str) -> None:
        """Run several statements (a migration) as they are, without placeholders."""
        self.conn.execute(sql.encode())

    @contextmanager
    def atomic(self) -> Iterator[None]:
        with self.conn.transaction():
            yield

    @contextmanager
    def write(self) -> Iterator[None]:
        """Under read committed, ``update … where version = ?`` re-reads the row once it
        holds the row lock, so a plain transaction is enough for optimistic versions."""
        with self.atomic():
            yield

    def close(self) -> None:
        self.conn.close()

    def table_names(self) -> list[str]:
        cursor = self.execute(
            "select table_name from information_schema.tables "
            "where table_schema = current_schema() order by table_name"
        )
        return [str(r[0]) for r in cursor.fetchall()]
