"""`digest migrate-db`: a working SQLite installation moved to PostgreSQL, every row of every
table compared between the two afterwards."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline import ops, run
from pipeline.cli import cli
from pipeline.errors import StoreError
from pipeline.models import Entry
from pipeline.store import Store
from pipeline.store.db import Connection, as_dicts
from pipeline.store.logins import Throttle
from pipeline.store.transfer import tables

from .conftest import demo_store

AT = datetime(2024, 12, 19, 8, 0, tzinfo=UTC)


def _rows(db: Connection, table: str) -> list[dict[str, Any]]:
    """Every row, in an order both databases agree on (all columns, as text)."""
    rows = as_dicts(db.execute(f'select * from "{table}"'))
    return sorted(rows, key=lambda row: [str(v) for v in row.values()])


def test_every_table_arrives_row_for_row_and_the_copy_works_on(postgres_server, tmp_path):
    store, settings = demo_store(tmp_path)
    # what editors add: an account, a decision, a merge's constraints, a sent digest
    store.editorial.set_editor("ada", "hash", AT)
    story, other = store.stories.since()[:2]
    store.editorial.set_status("ada", story.id, store.stories.record(story.id).version, "pin", AT)
    version = store.stories.record(story.id).version
    store.editorial.merge(
        "ada", story.id, version, other.id, store.stories.record(other.id).version, AT
    )
    run.build_day(store, settings, date(2024, 12, 19))  # editions, entities, slugs
    store.digests.record_built(date(2024, 12, 19), [story.id], AT)
    store.digests.mark_sent(date(2024, 12, 19), AT)
    store.editorial.secret("session")
    store.logins.fail(["name:bob", "address:127.0.0.1"], AT, Throttle())
    first = store.articles.all()[0].id
    store.db.upsert("url_aliases", {"url": "http://127.0.0.1:9/amp/1", "article_id": first}, "url")
    assert any(a.duplicate_of for a in store.articles.all())  # the two-step link is exercised
    store.close()

    target = postgres_server.new_database()
    result = CliRunner().invoke(
        cli, ["migrate-db", "--to", target, "--db", settings.db], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    assert "copied" in result.output

    with Store.open(settings.db) as old, Store.open(target) as new:
        names = tables(old.db)
        assert {"articles", "stories", "decisions", "constraints", "editors"} <= set(names)
        assert names == tables(new.db)
        for table in names:
            before, after = _rows(old.db, table), _rows(new.db, table)
            assert before, f"{table} is empty: the comparison would prove nothing"
            assert after == before, f"{table} differs after the move"
        # the copy goes on working: search, new ids after the copied ones, same stories
        found = {a.id for a in old.articles.search("nvidia")}
        assert found and {a.id for a in new.articles.search("nvidia")} == found
        source = new.sources.all()[0].id
        url = "http://127.0.0.1:9/after-the-move"
        [added] = new.articles.insert_entries(
            source, [(Entry(url=url, guid=url, title="Later"), url)], AT
        )
        assert added > max(a.id for a in old.articles.all())
        assert [s.id for s in new.stories.since()] == [s.id for s in old.stories.since()]

    again = CliRunner().invoke(cli, ["migrate-db", "--to", target, "--db", settings.db])
    assert again.exit_code == 1 and "must be empty" in again.output


def test_moving_a_database_onto_itself_is_refused(postgres_server):
    target = postgres_server.new_database()
    with Store.open(target) as store, pytest.raises(StoreError, match="being copied"):
        ops.migrate_db(store, target)
