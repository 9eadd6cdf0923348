"""Moving a whole database from one backend to another (``digest migrate-db``).

Both sides have the same schema (the migrations are kept in step), so every
table of the source is copied column for column, ids included: story ids stay
the permanent ids of story pages, and decisions keep pointing at the rows they
name. Tables go parents first so foreign keys hold on arrival; an article's
link to the article it duplicates is set once every article is in. Tables
added by later migrations follow the known ones in name order. The target
must be empty; its id sequences are moved past the copied ids at the end.
"""

from __future__ import annotations

from collections.abc import Callable

from ..errors import StoreError
from .db import Connection, PostgresConnection

# Parents before children; anything else (tables of later migrations) comes after.
_ORDER = (
    "sources",
    "stories",
    "articles",
    "url_aliases",
    "fetches",
    "decisions",
    "constraints",
    "digests",
    "editors",
    "app_secrets",
)
# Tables a migration fills with their one row: the source's row replaces the target's.
_SEEDED = ("clustering",)
_INTERNAL = ("_sqlite_migrations", "_migrations", "sqlite_", "articles_fts", "procrastinate_")
_BATCH = 2000


def tables(db: Connection) -> list[str]:
    """The pipeline's tables in copy order (no migration bookkeeping, no search index)."""
    names = [n for n in db.table_names() if not n.startswith(_INTERNAL)]
    known = [n for n in _ORDER if n in names]
    return known + sorted(set(names) - set(known))


def copy_all(
    source: Connection, target: Connection, on_rows: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every row of every table from ``source`` into the empty ``target``;
    returns rows copied per table. ``on_rows(table, n)`` reports progress."""
    for table in ("sources", "articles"):
        if target.execute(f'select count(*) from "{table}"').fetchone()[0]:
            raise StoreError(f"the target database already has {table}; it must be empty")
    copied: dict[str, int] = {}
    with target.atomic():
        for table in tables(source):
            if table in _SEEDED:
                target.execute(f'delete from "{table}"')
            copied[table] = _copy_table(source, target, table, on_rows)
        _link_duplicates(source, target)
        if isinstance(target, PostgresConnection):
            _advance_sequences(target, list(copied))
    return copied


def _copy_table(
    source: Connection,
    target: Connection,
    table: str,
    on_rows: Callable[[str, int], None] | None,
) -> int:
    cursor = source.execute(f'select * from "{table}"')
    columns = [d[0] for d in cursor.description]
    held = [c for c in columns if (table, c) == ("articles", "duplicate_of")]
    kept = [c for c in columns if c not in held]
    names = ", ".join(f'"{c}"' for c in kept)
    marks = ", ".join("?" for _ in kept)
    sql = f'insert into "{table}" ({names}) values ({marks})'
    positions = [columns.index(c) for c in kept]
    total = 0
    while batch := cursor.fetchmany(_BATCH):
        target.execute_many(sql, [[row[i] for i in positions] for row in batch])
        total += len(batch)
        if on_rows is not None:
            on_rows(table, len(batch))
    return total


def _link_duplicates(source: Connection, target: Connection) -> None:
    rows = source.execute(
        "select duplicate_of, id from articles where duplicate_of is not null"
    ).fetchall()
    target.execute_many("update articles set duplicate_of = ? where id = ?", rows)


def _advance_sequences(target: PostgresConnection, names: list[str]) -> None:
    """Let the next generated id follow the largest copied one."""
    identity = {
        str(r[0])
        for r in target.execute(
            "select table_name from information_schema.columns where table_schema = "
            "current_schema() and column_name = 'id' and is_identity = 'YES'"
        ).fetchall()
    }
    for table in (n for n in names if n in identity):
        target.execute(
            f"select setval(pg_get_serial_sequence(?, 'id'), "
            f'coalesce((select max(id) from "{table}"), 0) + 1, false)',
            [table],
        )
