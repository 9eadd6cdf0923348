"""End to end on the bundled demo corpus: feeds → pages → articles → stories, over real HTTP,
into each backend in turn (an SQLite file, then PostgreSQL)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from urllib.parse import urlsplit

import pytest

from pipeline import demo, run
from pipeline.config import Settings
from pipeline.store import Store
from pipeline.store.ops import Maintenance

from .conftest import BACKENDS


@pytest.fixture(scope="module", params=BACKENDS)
def demo_run(request, tmp_path_factory):
    """One full demo pass into a fresh database, shared by the checks below."""
    out = tmp_path_factory.mktemp("demo")
    with demo.serve_corpus() as server:
        db, sources_file = demo.prepare(out, server.base_url)
        if request.param == "postgresql":
            db = request.getfixturevalue("postgres_server").new_database()
        settings = replace(Settings(), db=str(db), sources=str(sources_file))
        store, counts = run.init(settings)
        first = run.fetch_round(store, settings, force=True)
        clustered = run.process_new(store, settings)
        second = run.fetch_round(store, settings, force=True)
        again = run.process_new(store, settings)
        yield store, counts, first, clustered, second, again
        store.close()


def _path(url: str) -> str:
    return urlsplit(url).path


def test_every_feed_fetched_and_every_keyed_article_stored_once(demo_run):
    store, counts, first, *_ = demo_run
    assert counts["added"] >= 12
    assert first.errors == 0, [r.error for r in first.sources if r.error]
    key = demo.answer_key()
    stored = [_path(a.canonical_url) for a in store.articles.all()]
    assert len(stored) == len(set(stored))
    assert sorted(stored) == sorted(k.path for k in key)


def test_pages_were_extracted_with_text_and_links(demo_run):
    store, _, first, *_ = demo_run
    articles = store.articles.all()
    with_text = [a for a in articles if a.text]
    assert first.pages_extracted >= len(articles) * 0.8
    assert len(with_text) >= len(articles) * 0.8
    assert all("Sign up for our newsletter" not in a.text for a in with_text)
    assert any("https://arxiv.org/abs/2412.14093" in a.links for a in articles)


def test_a_second_run_adds_nothing(demo_run):
    store, _, _, _, second, again = demo_run
    assert second.new_articles == 0
    assert all(r.status == 304 for r in second.sources)
    assert again.processed == 0


def test_every_multi_outlet_story_found_whole_and_nothing_merged_across(demo_run):
    store, *_ = demo_run
    key = {k.path: k for k in demo.answer_key()}
    predicted: dict[int, set[str]] = defaultdict(set)
    for article in store.articles.all():
        assert article.story_id is not None
        predicted[article.story_id].add(_path(article.canonical_url))
    gold: dict[str, set[str]] = defaultdict(set)
    for path, k in key.items():
        if k.story:
            gold[k.story].add(path)
    multi = {
        name: paths for name, paths in gold.items() if len({key[p].outlet for p in paths}) >= 2
    }
    assert len(multi) >= 6
    for name, paths in multi.items():
        holders = {sid for sid, members in predicted.items() if members & paths}
        assert len(holders) == 1, f"story {name} split over {len(holders)} clusters"
        (sid,) = holders
        strays = {p for p in predicted[sid] - paths}
        assert not strays, f"story {name} also holds {sorted(strays)}"


def test_syndicated_copies_link_to_their_original(demo_run):
    store, *_ = demo_run
    by_path = {_path(a.canonical_url): a for a in store.articles.all()}
    copies = [k for k in demo.answer_key() if k.duplicate_of]
    assert copies
    for k in copies:
        assert by_path[k.path].duplicate_of == by_path[k.duplicate_of].id


def test_rebuild_keeps_story_ids(demo_run):
    store, *_ = demo_run
    before = {a.id: a.story_id for a in store.articles.all()}
    run.rebuild_stories(store, Settings(db=":memory:"))
    after = {a.id: a.story_id for a in store.articles.all()}
    assert after == before


def test_store_reopens_clean(demo_run):
    store, *_ = demo_run
    if store.db.dialect == "sqlite":
        assert store.db.execute("pragma integrity_check").fetchone()[0] == "ok"
    articles = store.articles.count()
    with Store.open(store.db.dsn if store.db.dialect == "postgresql" else _file(store)) as again:
        assert again.articles.count() == articles > 0
        assert [s.id for s in again.stories.since()] == [s.id for s in store.stories.since()]


def _file(store: Store) -> str:
    return str(Maintenance(store.db).path())
