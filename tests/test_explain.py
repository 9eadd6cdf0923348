"""Why articles were joined: the features each story member shares with the rest.

The stories are made by the pipeline itself over a real SQLite file, from a
small fixture of our own: two outlets on one model launch (one versioned model
name, one benchmark figure, one paper link in common) and an unrelated article
that stays alone.
"""

from __future__ import annotations

import json
import math
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline import run
from pipeline.cli import cli
from pipeline.cluster import ClusterParams
from pipeline.config import Settings
from pipeline.explain import explain, weighing
from pipeline.models import Article, Entry, ExtractedPage, Source
from pipeline.store import Store

T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)
PAPER = "https://arxiv.org/abs/2503.01234"
ARTICLES = {
    "ledger": (
        "Corvid Labs releases Wren-7B, a small open model for code",
        "Corvid Labs on Tuesday released Wren-7B, an open-weights model for writing code that "
        "the Oslo company says scores 71.3 on its coding benchmark, ahead of models twice its "
        "size. The weights are free for commercial use, and the technical report describes a "
        "training run on 2.4 trillion tokens of permissively licensed code.",
        0,
        (PAPER, "https://ledger.example/about"),
    ),
    "signal": (
        "Wren-7B: Corvid's compact coder posts 71.3 and runs on a laptop",
        "The new Wren-7B from Corvid Labs reached 71.3 on the coding benchmark in our own run, "
        "matching the figure in the technical report. It runs on a laptop with 16 GB of memory "
        "and answers in a second or two, which makes it a practical local assistant.",
        2,
        (f"{PAPER}v2",),
    ),
    "council": (
        "City council approves forty kilometres of new bike lanes",
        "The city council voted on Monday to build forty kilometres of protected bike lanes over "
        "the next three years, funded by parking fees. Shop owners on the main avenue opposed "
        "the plan, saying it removes loading zones they depend on.",
        3,
        (),
    ),
}


def _build(path: Path) -> dict[str, int]:
    store = Store.open(path)
    store.sources.sync([Source(name=n, url=f"http://127.0.0.1/{n}.xml") for n in ARTICLES])
    sources = {s.name: s.id for s in store.sources.all()}
    ids = {}
    for name, (title, body, hours, links) in ARTICLES.items():
        url = f"http://127.0.0.1/{name}/story"
        entry = Entry(url=url, guid=url, title=title, published_at=T0 + timedelta(hours=hours))
        [ids[name]] = store.articles.insert_entries(sources[name], [(entry, url)], T0)
        page = ExtractedPage(text=body, links=links)
        store.articles.set_extracted(ids[name], page, None, T0)
    run.process_new(store, Settings())
    store.close()
    return ids


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("explain") / "pipeline.db"
    return path, _build(path)


def _members(path: Path, ids: dict[str, int], *names: str) -> list[Article]:
    with Store.open(path) as store:
        return store.articles.get_many(ids[n] for n in names)


def test_two_reports_of_one_launch_are_joined_on_its_model_name_and_figure(db):
    path, ids = db
    with Store.open(path) as store:
        story = {n: store.articles.get_many([ids[n]])[0].story_id for n in ARTICLES}
    assert story["ledger"] == story["signal"] != story["council"]

    placements = explain(_members(path, ids, "ledger", "signal"))
    assert set(placements) == {ids["ledger"], ids["signal"]}
    for placement in placements.values():
        shared = {(f.feature, f.kind) for f in placement.shared}
        assert ("Wren-7B", "name") in shared, placement
        assert ("71.3", "figure") in shared, placement
        assert ("arxiv.org/abs/2503.01234", "link") in shared, placement  # v2 folds onto it
        assert len(placement.shared) <= 5
        weights = [f.weight for f in placement.shared]
        assert weights == sorted(weights, reverse=True) and all(w > 0 for w in weights)
        assert 0.0 < placement.similarity <= 1.0
        link = next(f for f in placement.shared if f.kind == "link")
        assert link.weight == pytest.approx(ClusterParams().link_bonus)
        assert placement.joined_on.startswith(placement.shared[0].feature)


def test_a_lone_article_shares_nothing(db):
    path, ids = db
    assert explain(_members(path, ids, "council")) == {}
    # nor does a story of unrelated articles: similarity 0, no features
    placements = explain(_members(path, ids, "ledger", "council"))
    assert all(p.shared == () and p.similarity == 0.0 for p in placements.values())


def test_headline_weights_add_up_to_the_similarity():
    """Between headlines the only evidence is the term vector: contributions sum to the cosine."""
    articles = [
        _headline(1, "Corvid Labs releases Wren-7B open coding model"),
        _headline(2, "Wren-7B coding model from Corvid Labs is open"),
        _headline(3, "Corvid Labs opens Wren-7B weights for coders"),
    ]
    for placement in explain(articles, top=100).values():
        assert placement.similarity > 0.3
        total = sum(f.weight for f in placement.shared)
        assert math.isclose(total, placement.similarity, rel_tol=1e-9)


def test_a_copy_does_not_count_as_confirmation():
    """A near duplicate never moves a story, so it never adds to what the others share."""
    one = _headline(1, "Corvid Labs releases Wren-7B open coding model")
    other = _headline(2, "Wren-7B coding model from Corvid Labs is open")
    copy = _headline(3, one.title, duplicate_of=1)
    alone, with_copy = explain([one, other]), explain([one, other, copy])
    assert with_copy[1] == alone[1] and with_copy[2] == alone[2]
    # the copy itself is explained against every other member, its original among them
    assert with_copy[3].similarity > with_copy[1].similarity
    assert "Wren-7B" in with_copy[3].joined_on


def test_a_name_every_open_story_carries_weighs_as_little_as_the_clusterer_weighs_it(db):
    """Where most of the week's stories name the lab, the model and its figure tell more."""
    path, ids = db
    members = _members(path, ids, "ledger", "signal")
    params = ClusterParams()
    alone = explain(members, params, top=100)
    lab_everywhere = weighing(({"corvid": 60, "corvid_lab": 60, "lab": 60}, 80), params)
    weighed = explain(members, params, top=100, spread=lab_everywhere)
    for article_id, placement in weighed.items():
        before = {f.feature: f.weight for f in alone[article_id].shared}
        after = {f.feature: f.weight for f in placement.shared}
        assert after.get("Corvid Labs", 0.0) < 0.5 * before["Corvid Labs"]
        assert after["Wren-7B"] > before["Wren-7B"]  # a larger part of a unit vector
        assert placement.shared[0].feature != "Corvid Labs"
    # before the first clustering run there is no snapshot: the prior rules
    assert explain(members, params, spread=weighing(({}, 0), params)) == explain(members, params)


def test_a_clustering_run_leaves_the_spread_that_explanations_weigh_by(db, tmp_path):
    """`digest stories` weighs terms by what the last run's open stories named, not the prior."""
    path = Path(shutil.copy(db[0], tmp_path / "pipeline.db"))
    ids = db[1]
    with Store.open(path) as store:
        counts, open_stories = store.spread.load()
    assert open_stories == 2  # the launch and the council vote
    assert counts["corvid_lab"] == 1 and counts["council"] == 1

    def shown() -> dict[str, float]:
        args = ["stories", "--db", str(path), "--json"]
        out = CliRunner().invoke(cli, args, catch_exceptions=False)
        listed = {a["id"]: a for s in json.loads(out.output) for a in s["articles"]}
        return {f["feature"]: f["weight"] for f in listed[ids["ledger"]]["shared"]}

    before = shown()
    with Store.open(path) as store:  # a week in which most stories named the lab
        store.spread.save({"corvid": 60, "corvid_lab": 60, "lab": 60}, 80, T0)
    after = shown()
    assert after.get("Corvid Labs", 0.0) < 0.5 * before["Corvid Labs"]
    assert after["Wren-7B"] > before["Wren-7B"]


def test_stories_json_and_listing_show_what_joined_each_member(db):
    path, ids = db
    runner = CliRunner()
    args = ["stories", "--db", str(path)]
    out = runner.invoke(cli, [*args, "--json"], env={"COLUMNS": "200"}, catch_exceptions=False)
    members = {a["id"]: a for s in json.loads(out.output) for a in s["articles"]}
    ledger = members[ids["ledger"]]
    assert {"feature": "Wren-7B", "kind": "name"} in [
        {k: f[k] for k in ("feature", "kind")} for f in ledger["shared"]
    ]
    assert all(set(f) == {"feature", "kind", "weight"} for f in ledger["shared"])
    assert 0 < ledger["similarity"] <= 1
    assert members[ids["council"]]["shared"] == []
    assert members[ids["council"]]["similarity"] is None

    text = runner.invoke(cli, args, env={"COLUMNS": "200"}, catch_exceptions=False).output
    joined = [line.strip() for line in text.splitlines() if "joined on:" in line]
    assert len(joined) == 2 and all("Wren-7B" in line and "71.3" in line for line in joined)


def _headline(id_: int, title: str, duplicate_of: int | None = None) -> Article:
    url = f"http://127.0.0.1/{id_}"
    return Article(
        id=id_,
        source_id=id_,
        outlet=f"outlet {id_}",
        url=url,
        canonical_url=url,
        title=title,
        duplicate_of=duplicate_of,
    )
