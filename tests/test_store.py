"""The store against real databases (an SQLite file and PostgreSQL, through ``any_store``):
schema, uniqueness, transactions, memberships, search."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlite_utils import Database

from pipeline.errors import StoreError
from pipeline.models import DuplicateLink, Entry, ExtractedPage, Source
from pipeline.store import Store
from pipeline.store.decisions import CANNOT_LINK, MUST_LINK
from pipeline.store.logins import Throttle
from pipeline.store.migrations import POSTGRES_MIGRATIONS, migrations

T0 = datetime(2024, 12, 18, 9, 0, tzinfo=UTC)


def _store_with_source(store: Store) -> int:
    store.sources.sync([Source(name="Wire", url="http://127.0.0.1/wire.xml", weight=0.8)])
    source_id = store.sources.all()[0].id
    assert source_id is not None
    return source_id


def _entry(n: int, **kw: object) -> tuple[Entry, str]:
    url = f"http://127.0.0.1/a/{n}"
    entry = Entry(
        url=url, guid=kw.pop("guid", url), title=f"Title {n}", published_at=T0 + timedelta(hours=n)
    )  # type: ignore[arg-type]
    return entry, url


def test_file_database_uses_wal_and_reopens_with_migrations_applied_once(tmp_path):
    path = tmp_path / "p.db"
    Store.open(path).close()
    store = Store.open(path)
    assert store.db.execute("pragma journal_mode").fetchone()[0] == "wal"
    applied = store.db.execute("select count(*) from _sqlite_migrations").fetchone()[0]
    assert applied == len(migrations.pending(Database(memory=True)))  # all of them, once
    assert {"sources", "articles", "stories", "decisions", "digests", "fetches"} <= set(
        store.db.table_names()
    )


def test_unopenable_paths_give_a_clear_error(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        Store.open(tmp_path / "missing" / "p.db")
    with pytest.raises(StoreError, match="is a folder"):
        Store.open(tmp_path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="cannot open database"):
        Store.open(junk)


def test_sync_adds_updates_and_disables_but_keeps_health_and_redirected_url(any_store):
    store = any_store
    a = Source(name="A", url="http://127.0.0.1/a.xml", weight=0.5)
    b = Source(name="B", url="http://127.0.0.1/b.xml")
    assert store.sources.sync([a, b]) == {"added": 2, "updated": 0, "disabled": 0}
    stored_a = store.sources.all()[0]
    store.sources.record_health(
        Source(
            **{
                **_as_kwargs(stored_a),
                "url": "http://127.0.0.1/a-new.xml",
                "consecutive_failures": 2,
            }
        )
    )
    assert store.sources.sync([Source(name="A", url=a.url, weight=0.9)]) == {
        "added": 0,
        "updated": 1,
        "disabled": 1,
    }
    rows = {s.name: s for s in store.sources.all()}
    assert rows["A"].weight == 0.9
    assert rows["A"].url == "http://127.0.0.1/a-new.xml"  # a permanent redirect survives a resync
    assert rows["A"].consecutive_failures == 2
    assert rows["B"].enabled is False
    assert [s.name for s in store.sources.due(T0)] == ["A"]


def _as_kwargs(source: Source) -> dict[str, object]:
    return {name: getattr(source, name) for name in Source.__slots__}  # type: ignore[attr-defined]


def test_insert_entries_keeps_each_article_once_by_canonical_url_and_guid(any_store):
    store = any_store
    sid = _store_with_source(store)
    first = store.articles.insert_entries(sid, [_entry(1), _entry(2)], T0)
    assert len(first) == 2
    again = store.articles.insert_entries(sid, [_entry(1), _entry(2)], T0)
    assert again == []
    same_guid_new_url = (
        Entry(url="http://127.0.0.1/moved/1", guid="http://127.0.0.1/a/1", title="t"),
        "http://127.0.0.1/moved/1",
    )
    assert store.articles.insert_entries(sid, [same_guid_new_url], T0) == []
    assert store.articles.count() == 2


def test_insert_is_one_transaction(any_store):
    store = any_store
    sid = _store_with_source(store)
    bad = (Entry(url="x", guid="g", title="t"), None)  # canonical_url is NOT NULL
    with pytest.raises((sqlite3.IntegrityError, psycopg.IntegrityError)):
        store.articles.insert_entries(sid, [_entry(1), bad], T0)  # type: ignore[list-item]
    assert store.articles.count() == 0


def test_rel_canonical_folds_a_variant_into_the_stored_article(any_store):
    store = any_store
    sid = _store_with_source(store)
    [original] = store.articles.insert_entries(sid, [_entry(1)], T0)
    amp_url = "http://127.0.0.1/a/1/amp"
    [amp] = store.articles.insert_entries(
        sid, [(Entry(url=amp_url, guid="amp", title="t"), amp_url)], T0
    )
    page = ExtractedPage(text="Body", canonical_url="http://127.0.0.1/a/1")
    assert (
        store.articles.set_extracted(amp, page, None, T0, canonical_url="http://127.0.0.1/a/1")
        is None
    )
    assert store.articles.count() == 1
    assert store.articles.known(amp_url) == original
    # the variant reached again later adds nothing
    assert (
        store.articles.insert_entries(
            sid, [(Entry(url=amp_url, guid="amp2", title="t"), amp_url)], T0
        )
        == []
    )


def test_extraction_keeps_feed_fields_and_fills_gaps(any_store):
    store = any_store
    sid = _store_with_source(store)
    [aid] = store.articles.insert_entries(sid, [_entry(1)], T0)
    page = ExtractedPage(
        text="Full text here.",
        title="Page title",
        author="Ada",
        language="en",
        links=("https://arxiv.org/abs/2412.14093",),
    )
    assert store.articles.set_extracted(aid, page, None, T0) == aid
    article = store.articles.get(aid)
    assert article.title == "Title 1"  # the feed's title wins
    assert article.author == "Ada" and article.text == "Full text here."
    assert article.links == ("https://arxiv.org/abs/2412.14093",)
    assert store.articles.needing_extraction() == []
    assert [a.id for a in store.articles.search("full")] == [aid]


def test_story_memberships_ids_and_times(any_store):
    store = any_store
    sid = _store_with_source(store)
    ids = store.articles.insert_entries(sid, [_entry(1), _entry(2), _entry(3)], T0)
    assert store.stories.next_id() == 1
    store.stories.assign({ids[0]: 1, ids[1]: 1, ids[2]: 2})
    story = store.stories.get(1)
    assert story.article_ids == (ids[0], ids[1])
    assert story.first_seen == T0 + timedelta(hours=1) and story.last_seen == T0 + timedelta(
        hours=2
    )
    assert store.stories.next_id() == 3
    store.stories.assign({ids[2]: 1})  # story 2 is left empty and goes
    assert [s.id for s in store.stories.since()] == [1]
    assert store.stories.memberships_since(T0 + timedelta(hours=3)) == {
        ids[0]: 1,
        ids[1]: 1,
        ids[2]: 1,
    }
    store.articles.set_duplicates([DuplicateLink(ids[1], ids[0], "near_duplicate", 0.93)])
    assert store.articles.get(ids[1]).duplicate_of == ids[0]


def test_constraints_from_decisions_latest_wins(any_store):
    store = any_store
    decision = store.decisions.record("ada", "merge", T0, story_id=1, article_ids=[1, 2])
    store.decisions.add_constraints(MUST_LINK, [(2, 1), (3, 3)], decision)
    assert store.decisions.constraints().must_link == {(1, 2)}
    split = store.decisions.record("bob", "split", T0, story_id=1, article_ids=[2])
    store.decisions.add_constraints(CANNOT_LINK, [(1, 2)], split)
    constraints = store.decisions.constraints()
    assert constraints.must_link == frozenset() and constraints.cannot_link == {(1, 2)}
    with pytest.raises(ValueError):
        store.decisions.add_constraints("maybe", [(1, 2)], split)


def test_an_article_reached_through_a_link_blog_first_moves_to_its_publisher(any_store):
    store = any_store
    store.sources.sync(
        [
            Source(
                name="Links", url="http://127.0.0.1/links.xml", site_url="http://127.0.0.1/links/"
            ),
            Source(
                name="Outlet", url="http://127.0.0.1/o.xml", site_url="http://127.0.0.1/outlet/"
            ),
        ]
    )
    links, outlet = (s.id for s in store.sources.all())
    url = "http://127.0.0.1/outlet/2024/story"
    entry = (Entry(url=url, guid=url, title="Story"), url)
    [article] = store.articles.insert_entries(links, [entry], T0, "http://127.0.0.1/links/")
    assert store.articles.insert_entries(outlet, [entry], T0, "http://127.0.0.1/outlet/") == []
    assert store.articles.get(article).outlet == "Outlet"
    # and a link blog reaching it later does not take it back
    store.articles.insert_entries(links, [entry], T0, "http://127.0.0.1/links/")
    assert store.articles.get(article).outlet == "Outlet"


def test_a_postgres_url_that_answers_nothing_gives_a_clear_error_without_its_password():
    with pytest.raises(StoreError, match="cannot open database") as caught:
        Store.open("postgresql://digest:s3cret@127.0.0.1:1/digest?connect_timeout=2")
    assert "s3cret" not in str(caught.value) and "digest:***@127.0.0.1:1" in str(caught.value)


def test_every_migration_has_its_postgres_script_under_the_same_name():
    names = [m.name for m in migrations.pending(Database(memory=True))]
    assert names == list(POSTGRES_MIGRATIONS)


def test_reopening_applies_nothing_twice_and_keeps_rows(db_target):
    with Store.open(db_target) as store:
        _store_with_source(store)
        store.articles.insert_entries(store.sources.all()[0].id, [_entry(1)], T0)
    with Store.open(db_target) as store:
        assert store.articles.count() == 1
        table = "_migrations" if store.db.dialect == "postgresql" else "_sqlite_migrations"
        applied = store.db.execute(f"select count(*) from {table}").fetchone()[0]
        assert applied == len(POSTGRES_MIGRATIONS)
        assert {"sources", "articles", "stories", "decisions", "digests", "fetches"} <= set(
            store.db.table_names()
        )


def test_writers_racing_on_the_same_feed_store_each_article_once(db_target):
    """Four connections insert the same entries at the same moment: the unique index,
    not a check before the insert, keeps one row per canonical URL."""
    with Store.open(db_target) as store:
        sid = _store_with_source(store)
    entries = [_entry(n) for n in range(40)]
    start = threading.Barrier(4)
    added: list[list[int]] = []
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            with Store.open(db_target) as mine:
                start.wait()
                added.append(mine.articles.insert_entries(sid, entries, T0))
        except BaseException as exc:  # reported below, with the thread's cause
            errors.append(exc)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with Store.open(db_target) as store:
        assert store.articles.count() == 40
    assert sorted(i for ids in added for i in ids) == sorted({i for ids in added for i in ids})
    assert sum(len(ids) for ids in added) == 40


def test_search_ranks_title_and_text_matches_with_stemming(any_store):
    store = any_store
    sid = _store_with_source(store)
    ids = store.articles.insert_entries(sid, [_entry(1), _entry(2), _entry(3)], T0)
    texts = {
        ids[0]: "Regulators voted on the draft rules.",
        ids[1]: "The lab trains larger models; training costs rise.",
        ids[2]: "Nothing about it here.",
    }
    for article_id, text in texts.items():
        store.articles.set_extracted(article_id, ExtractedPage(text=text), None, T0)
    assert [a.id for a in store.articles.search("trained")] == [ids[1]]
    assert [a.id for a in store.articles.search("vote")] == [ids[0]]
    assert store.articles.search("absent") == []


def test_login_failures_count_and_lock_on_both_backends(any_store):
    throttle = Throttle(attempts=3)
    keys = ["name:bob", "address:127.0.0.1"]
    assert [any_store.logins.fail(keys, T0, throttle) for _ in range(2)] == [None, None]
    until = any_store.logins.fail(keys, T0, throttle)
    assert until == T0 + throttle.cooldown
    assert any_store.logins.locked_until(["name:bob"], T0) == until
    any_store.logins.succeed(keys)
    assert any_store.logins.locked_until(keys, T0) is None


def test_term_spread_snapshot_replaces_the_last_one(any_store):
    """Each clustering run leaves what the open stories all name; the next run's replaces it."""
    store = any_store
    assert store.spread.load() == ({}, 0)  # before the first run: priors alone
    store.spread.save({"openai": 40, "model": 90}, 120, T0)
    assert store.spread.load() == ({"model": 90, "openai": 40}, 120)
    store.spread.save({"anthropic": 12}, 30, T0 + timedelta(minutes=15))
    assert store.spread.load() == ({"anthropic": 12}, 30)
    store.spread.save({}, 0, T0 + timedelta(minutes=30))  # an empty window weighs nothing down
    assert store.spread.load() == ({}, 0)
