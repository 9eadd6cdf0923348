"""Story clustering on small hand-made articles: full text, headline-only and mixed."""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.cluster import Clusterer, ClusterParams, FeatureCache, assign, rebuild
from pipeline.models import Article, Constraints
from pipeline.store import Store
from pipeline.store.decisions import CANNOT_LINK, MUST_LINK

T0 = datetime(2024, 12, 16, 8, 0, tzinfo=UTC)
PARAMS = ClusterParams()
NONE = Constraints()
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"

KESTREL = [
    (
        "Halcyon Research releases Kestrel 2 open-weights models",
        "Paris lab Halcyon Research released Kestrel 2 on Monday, a family of open-weights "
        "language models in 8B and 34B sizes under the Apache 2.0 licence. The models handle "
        "a 128K context window, and Halcyon published a technical report with benchmark "
        "results showing Kestrel 2 34B close to much larger closed models on coding tasks.",
    ),
    (
        "Kestrel 2: Halcyon's new open models take on the mid-size field",
        "Halcyon Research has put out Kestrel 2, open-weights models at 8B and 34B parameters. "
        "The French lab says the 34B model rivals bigger systems on code and maths, supports "
        "128K tokens of context and ships under Apache 2.0 with a technical report.",
    ),
    (
        "Halcyon open-sources Kestrel 2 in 8B and 34B sizes",
        "The Kestrel 2 release from Halcyon Research includes 8B and 34B open-weights "
        "checkpoints, a 128K context and an Apache 2.0 licence; the Paris team's technical "
        "report puts Kestrel 2 34B ahead of rivals twice its size on coding benchmarks.",
    ),
]
TERN = [
    (
        "Aurelian AI releases Tern 3 small open models for phones",
        "Lisbon start-up Aurelian AI released Tern 3 on Tuesday, open-weights language models "
        "in 3.8B Mini and 14B sizes built to run on phones and laptops. Aurelian says Tern 3 "
        "Mini beats larger models on reasoning benchmarks while fitting in 4GB of memory.",
    ),
    (
        "Tern 3 from Aurelian AI brings open models to your phone",
        "Aurelian AI, based in Lisbon, has published Tern 3, a pair of open-weights models "
        "(3.8B Mini and 14B) designed for on-device use. The Tern 3 Mini model needs about "
        "4GB of memory and, Aurelian says, out-reasons models twice its size.",
    ),
]
QUAKE_CHILE = [
    "Magnitude 6.8 earthquake strikes northern Chile near Antofagasta",
    "Strong 6.8 quake shakes Antofagasta in northern Chile, no tsunami warning",
    "Chile earthquake: magnitude 6.8 tremor rattles Antofagasta region",
]
QUAKE_JAPAN = [
    "Magnitude 7.1 earthquake hits Hokkaido in northern Japan",
    "Strong 7.1 quake shakes Hokkaido, Japan issues tsunami advisory",
]


def article(
    article_id: int, title: str, text: str = "", hours: float = 0.0, **kw: object
) -> Article:
    values: dict[str, object] = {
        "id": article_id,
        "source_id": article_id,
        "outlet": f"outlet{article_id}",
        "url": f"https://outlet{article_id}.example/news/{article_id}",
        "canonical_url": f"https://outlet{article_id}.example/news/{article_id}",
        "title": title,
        "text": text,
        "published_at": T0 + timedelta(hours=hours, minutes=article_id),
    }
    values.update(kw)
    return Article(**values)  # type: ignore[arg-type]


def groups(mapping: dict[int, int]) -> set[frozenset[int]]:
    by_story: dict[int, set[int]] = {}
    for article_id, story_id in mapping.items():
        by_story.setdefault(story_id, set()).add(article_id)
    return {frozenset(ids) for ids in by_story.values()}


def kestrel_and_tern() -> list[Article]:
    arts = [article(i + 1, t, x, hours=i) for i, (t, x) in enumerate(KESTREL)]
    arts += [article(i + 10, t, x, hours=i + 1) for i, (t, x) in enumerate(TERN)]
    return arts


def test_same_event_from_three_outlets_clusters_and_same_kind_stays_apart() -> None:
    mapping = assign(kestrel_and_tern(), [], NONE, 1, PARAMS)
    assert groups(mapping) == {frozenset({1, 2, 3}), frozenset({10, 11})}


def test_headline_only_items_cluster_by_event() -> None:
    arts = [article(i + 1, t, hours=i) for i, (t, _) in enumerate(KESTREL)]
    arts += [article(i + 10, t, hours=i) for i, (t, _) in enumerate(TERN)]
    mapping = assign(arts, [], NONE, 1, PARAMS)
    assert groups(mapping) == {frozenset({1, 2, 3}), frozenset({10, 11})}


@pytest.mark.xfail(
    strict=True,
    reason="known limit: two quake headlines share more kind words (magnitude, earthquake, "
    "northern, strong) than the headline bar tolerates; the bar is low because headline-only "
    "stories are worded very differently (see the uci_dev_1500 benchmark)",
)
def test_headline_only_hard_negatives_of_the_same_kind() -> None:
    arts = [article(i + 1, t, hours=i) for i, t in enumerate(QUAKE_CHILE)]
    arts += [article(i + 10, t, hours=i) for i, t in enumerate(QUAKE_JAPAN)]
    mapping = assign(arts, [], NONE, 1, PARAMS)
    assert groups(mapping) == {frozenset({1, 2, 3}), frozenset({10, 11})}


def test_mixed_full_text_and_headline_only() -> None:
    arts = kestrel_and_tern()
    arts.append(article(20, "Halcyon's Kestrel 2 open models arrive", hours=4))
    arts.append(article(21, "Aurelian AI's Tern 3 runs on a phone", hours=4))
    mapping = assign(arts, [], NONE, 1, PARAMS)
    assert groups(mapping) == {frozenset({1, 2, 3, 20}), frozenset({10, 11, 21})}


PAPER_TEXT = (
    "Researchers at a safety lab describe a model that behaves differently when it believes "
    "it is being watched, complying with requests it would otherwise refuse. The paper "
    "reports the behaviour rising sharply under reinforcement learning."
)
PARAPHRASE = (
    "A new preprint finds that a chatbot can feign compliance during training and revert "
    "afterwards; the authors call for better evaluations before deployment."
)


def test_shared_arxiv_link_pulls_in_a_paraphrase_but_home_pages_do_not() -> None:
    first = article(
        1,
        "Study: AI model fakes alignment during training",
        PAPER_TEXT,
        links=("https://arxiv.org/abs/2412.14093v2", "https://twitter.com/safetylab"),
    )
    with_paper = article(
        2,
        "Chatbots can pretend to be aligned, preprint says",
        PARAPHRASE,
        hours=1,
        links=("https://arxiv.org/pdf/2412.14093.pdf",),
    )
    with_home_pages = replace(
        with_paper,
        id=3,
        links=("https://twitter.com/safetylab", "https://www.safetylab.example/"),
    )
    assert assign([first, with_paper], [], NONE, 1, PARAMS) == {1: 1, 2: 1}
    assert assign([first, with_home_pages], [], NONE, 1, PARAMS) == {1: 1, 3: 2}
    no_links = replace(with_paper, links=())
    assert assign([first, no_links], [], NONE, 1, PARAMS) == {1: 1, 2: 2}


def test_an_article_after_the_window_starts_a_new_story() -> None:
    title, text = KESTREL[0]
    follow_up = article(2, KESTREL[1][0], KESTREL[1][1], hours=5 * 24)
    assert assign([article(1, title, text), follow_up], [], NONE, 1, PARAMS) == {1: 1, 2: 2}
    within = replace(follow_up, published_at=T0 + timedelta(hours=48))
    assert assign([article(1, title, text), within], [], NONE, 1, PARAMS) == {1: 1, 2: 1}


def test_stable_ids_and_incremental_extension() -> None:
    arts = kestrel_and_tern()
    first = assign(arts, [], NONE, 7, PARAMS)
    assert first == assign(list(reversed(arts)), [], NONE, 7, PARAMS)  # order of input is moot
    assert set(first.values()) == {7, 8}  # ids in order of creation from next_story_id
    # A later run: yesterday's articles carry their story ids and are never moved.
    recent = [replace(a, story_id=first[a.id]) for a in arts]
    later = [
        article(30, "Kestrel 2 34B tops open coding leaderboard", hours=6),
        article(31, "Tern 3 Mini from Aurelian AI tested on a phone", hours=6),
        article(32, "Magnitude 6.8 earthquake strikes northern Chile", hours=6),
    ]
    second = assign(later, recent, NONE, 9, PARAMS)
    assert second == {30: first[1], 31: first[10], 32: 9}


def test_a_feature_cache_carried_across_runs_changes_nothing_but_the_work() -> None:
    """The daemon analyses each article of the window once, not once per run."""
    arts = kestrel_and_tern()
    later = [
        article(30, "Kestrel 2 34B tops open coding leaderboard", hours=6),
        article(31, "Tern 3 Mini from Aurelian AI tested on a phone", hours=6),
    ]
    cache = FeatureCache()
    first = assign(arts, [], NONE, 7, PARAMS, cache)
    assert (cache.hits, cache.misses) == (0, len(arts))
    recent = [replace(a, story_id=first[a.id]) for a in arts]
    second = assign(later, recent, NONE, 9, PARAMS, cache)
    assert second == assign(later, recent, NONE, 9, PARAMS)  # same stories as without it
    assert (cache.hits, cache.misses) == (len(arts), len(arts) + len(later))


def test_a_feature_cache_drops_changed_unused_and_differently_tuned_articles() -> None:
    story = article(1, "Kestrel 2 34B tops open coding leaderboard")
    edited = replace(story, title="Kestrel 2 34B tops the open coding leaderboard")
    other = article(2, "Magnitude 6.8 earthquake strikes northern Chile")
    cache = FeatureCache()
    index = Clusterer(PARAMS, NONE, 1, cache).index
    kept = cache.features(index, story)
    assert cache.features(index, story) is kept
    assert cache.features(index, edited) is not kept  # its text changed: analysed afresh
    Clusterer(PARAMS, NONE, 1, cache)  # a run that uses only `other`
    cache.features(index, other)
    Clusterer(PARAMS, NONE, 1, cache)  # the next run: `story` went unused a whole run
    assert len(cache) == 1
    tuned = replace(PARAMS, title_weight=3.0)
    Clusterer(tuned, NONE, 1, cache)  # other parameters, other features
    assert len(cache) == 0


def recap_then_reports() -> list[Article]:
    """A recap first, then five reports sharing a core with each other and a detail with it.

    Made-up tokens, so only what is shared counts. On arrival the recap meets
    no story and the first report finds it too far, so the reports grow a
    story of their own; against all five at once the recap clears the bar.
    """
    core = [f"core{i}" for i in range(20)]
    details = [[f"detail{r}x{i}" for i in range(8)] for r in range(5)]
    recap = article(1, "core0 core1", " ".join(w for d in details for w in d))
    reports = [
        article(r + 2, " ".join(core[:6]), " ".join(core + details[r] + own), hours=1 + r)
        for r, own in enumerate([[f"own{r}x{i}" for i in range(30)] for r in range(5)])
    ]
    return [recap, *reports]


def test_a_text_left_alone_gets_a_second_look_at_the_end_of_the_run() -> None:
    arts = recap_then_reports()
    late = replace(PARAMS, bridge_margin=0.0)
    clusterer = Clusterer(late, NONE, 1)
    placed = {a.id: clusterer.place(a) for a in arts}
    assert placed[1] != placed[2] and len({placed[a.id] for a in arts[1:]}) == 1
    clusterer.settle()
    assert {clusterer.story_of[a.id] for a in arts} == {placed[2]}
    # The same through ``assign`` and ``rebuild``, which settle each run.
    assert len(set(assign(arts, [], NONE, 1, late).values())) == 1
    assert len(set(rebuild(arts, NONE, {}, 1, late).values())) == 1


def test_a_second_look_must_be_clear_and_never_moves_stored_or_kept_apart_stories() -> None:
    arts = recap_then_reports()
    late = replace(PARAMS, bridge_margin=0.0)
    # Clearing the bar by less than ``bridge_margin`` is not enough so late.
    assert len(set(assign(arts, [], NONE, 1, replace(PARAMS, bridge_margin=0.2)).values())) == 2
    # An editor's cannot-link between the recap and one report holds.
    apart = Constraints(cannot_link=frozenset({(1, 4)}))
    assert len(set(assign(arts, [], apart, 1, late).values())) == 2
    # A recap stored by an earlier run stays where it is.
    clusterer = Clusterer(late, NONE, 2)
    clusterer.seed(replace(arts[0], story_id=1))
    for report in arts[1:]:
        clusterer.place(report)
    clusterer.settle()
    assert clusterer.story_of[1] == 1
    assert {clusterer.story_of[a.id] for a in arts[1:]} == {2}


def test_near_duplicates_join_their_original_story() -> None:
    arts = kestrel_and_tern()
    copy = article(40, "Unrelated-looking headline", "Nothing in common here.", hours=3)
    copy = replace(copy, duplicate_of=10)
    mapping = assign([*arts, copy], [], NONE, 1, PARAMS)
    assert mapping[40] == mapping[10]


# Three headlines of one event: the first two share no telling word, the third
# shares one with each (Pichai's talk at SXSW covered two announcements).
FRAGMENTS = [
    "Google has sold millions of Chromecast dongles",
    "Android wearables SDK coming in two weeks, says Sundar Pichai",
    "Pichai at SXSW: millions of Chromecasts sold, wearables SDK in two weeks",
]
NO_BRIDGE = replace(PARAMS, bridge_margin=float("inf"))


def fragments() -> list[Article]:
    return [article(i + 1, title) for i, title in enumerate(FRAGMENTS)]


def test_a_headline_clearly_joining_two_headline_stories_merges_them() -> None:
    assert groups(assign(fragments(), [], NONE, 1, NO_BRIDGE)) == {
        frozenset({1}),
        frozenset({2, 3}),
    }
    assert groups(assign(fragments(), [], NONE, 1, PARAMS)) == {frozenset({1, 2, 3})}
    assert groups(rebuild(fragments(), NONE, {}, 1, PARAMS)) == {frozenset({1, 2, 3})}


def test_a_full_article_does_not_bridge() -> None:
    body = (
        "Speaking at the South by Southwest festival in Austin on Monday, Google's Sundar "
        "Pichai told the audience that the company has now sold millions of Chromecast "
        "streaming dongles and that developers will get an Android software kit for "
        "wearable devices such as smartwatches and fitness bands within a fortnight."
    )
    arts = fragments()
    arts[2] = replace(arts[2], text=body)
    assert groups(assign(arts, [], NONE, 1, PARAMS)) == {frozenset({1}), frozenset({2, 3})}


def test_a_bridge_does_not_merge_two_grown_stories() -> None:
    first, second, bridge = FRAGMENTS
    arts = [article(i, first) for i in range(1, 10)]
    arts += [article(i, second) for i in range(10, 19)]
    arts.append(article(19, bridge))
    assert len(set(assign(arts, [], NONE, 1, PARAMS).values())) == 2


def test_a_bridge_folds_new_stories_into_stored_ones_and_never_moves_stored_ones() -> None:
    arts = fragments()
    stored_one = [replace(arts[0], story_id=5)]
    assert assign(arts[1:], stored_one, NONE, 7, PARAMS) == {2: 5, 3: 5}
    stored_both = [replace(arts[0], story_id=5), replace(arts[1], story_id=6)]
    assert assign(arts[2:], stored_both, NONE, 7, PARAMS) == {3: 6}


def test_a_roundup_headline_does_not_bridge_the_stories_it_lists() -> None:
    gox = [
        "Mt. Gox seeks US bankruptcy relief",
        "Bitcoin exchange Mt. Gox files for Chapter 15 in Texas",
        "Mt. Gox bankruptcy filing lands in Dallas court",
    ]
    titanfall = [
        "Titanfall review: mech shooter lives up to the hype",
        "Titanfall reviews are in and critics love it",
        "Respawn's Titanfall earns rave reviews",
    ]
    arts = [article(i + 1, t) for i, t in enumerate(gox)]
    arts += [article(i + 10, t) for i, t in enumerate(titanfall)]
    for roundup in (
        "Morning briefing: Mt. Gox files for bankruptcy; Titanfall reviews roll in",
        "Mt. Gox bankruptcy and Titanfall reviews: what you missed today",
    ):
        mapping = assign([*arts, article(30, roundup)], [], NONE, 1, PARAMS)
        assert mapping[1] != mapping[10]
        assert mapping[30] in {mapping[1], mapping[10]}


def test_cannot_link_blocks_a_bridge() -> None:
    constraints = Constraints(cannot_link=frozenset({(1, 2)}))
    for mapping in (
        assign(fragments(), [], constraints, 1, PARAMS),
        rebuild(fragments(), constraints, {}, 1, PARAMS),
    ):
        assert groups(mapping) == {frozenset({1}), frozenset({2, 3})}


def _constraints_from_store(kind: str, pairs: list[tuple[int, int]]) -> Constraints:
    store = Store.memory()
    try:
        decision = store.decisions.record(
            "editor@example.org", "merge" if kind == MUST_LINK else "split", T0, article_ids=[1, 2]
        )
        store.decisions.add_constraints(kind, pairs, decision)
        return store.decisions.constraints()
    finally:
        store.close()


def test_must_link_from_the_store_is_honoured() -> None:
    arts = kestrel_and_tern()
    plain = assign(arts, [], NONE, 1, PARAMS)
    assert plain[1] != plain[10]
    constraints = _constraints_from_store(MUST_LINK, [(10, 1)])
    assert constraints.must_link == frozenset({(1, 10)})
    merged = assign(arts, [], constraints, 1, PARAMS)
    assert merged[10] == merged[1]
    rebuilt = rebuild(arts, constraints, {}, 1, PARAMS)
    assert rebuilt[10] == rebuilt[1]


def test_cannot_link_from_the_store_is_honoured() -> None:
    arts = kestrel_and_tern()
    assert len({assign(arts, [], NONE, 1, PARAMS)[i] for i in (1, 2, 3)}) == 1
    constraints = _constraints_from_store(CANNOT_LINK, [(1, 3)])
    assert constraints.cannot_link == frozenset({(1, 3)})
    for mapping in (
        assign(arts, [], constraints, 1, PARAMS),
        rebuild(arts, constraints, {}, 1, PARAMS),
    ):
        assert mapping[1] != mapping[3]
        assert mapping[1] == mapping[2]


def test_cannot_link_holds_against_a_seeded_story() -> None:
    arts = kestrel_and_tern()
    first = assign(arts[:2], [], NONE, 1, PARAMS)
    recent = [replace(a, story_id=first[a.id]) for a in arts[:2]]
    constraints = Constraints(cannot_link=frozenset({(1, 3)}))
    later = assign([arts[2]], recent, constraints, 5, PARAMS)
    assert later == {3: 5}


def test_rebuild_keeps_old_ids_and_gives_new_clusters_fresh_ones() -> None:
    arts = kestrel_and_tern()
    previous = {1: 40, 2: 40, 3: 40, 10: 41, 11: 42}  # an old run had split Tern 3 in two
    rebuilt = rebuild(arts, NONE, previous, 50, PARAMS)
    assert {rebuilt[i] for i in (1, 2, 3)} == {40}
    assert rebuilt[10] == rebuilt[11] and rebuilt[10] in {41, 42}
    extra = article(60, QUAKE_CHILE[0], hours=2)
    assert rebuild([*arts, extra], NONE, previous, 50, PARAMS)[60] == 50
    assert rebuild(arts, NONE, previous, 50, PARAMS) == rebuilt  # deterministic


def test_clusterer_counts_open_stories_and_expires_them() -> None:
    clusterer = Clusterer(PARAMS, NONE, 1)
    clusterer.place(article(1, *KESTREL[0]))
    clusterer.place(article(2, *TERN[0], hours=1))
    assert len(clusterer.index) == 2
    clusterer.place(article(3, QUAKE_CHILE[0], hours=10 * 24))
    assert len(clusterer.index) == 1


def _b3_f1(predicted: list[int], gold: list[str]) -> float:
    in_pred, in_gold, both = (
        Counter(predicted),
        Counter(gold),
        Counter(zip(predicted, gold, strict=True)),
    )
    n = len(gold)
    p = sum(both[x, g] / in_pred[x] for x, g in zip(predicted, gold, strict=True)) / n
    r = sum(both[x, g] / in_gold[g] for x, g in zip(predicted, gold, strict=True)) / n
    return 2 * p * r / (p + r)


@pytest.mark.parametrize(("name", "floor"), [("uci_dev_1500.csv", 0.6), ("ecbplus_dev.csv", 0.7)])
def test_sample_of_shared_data_clusters_well(name: str, floor: float) -> None:
    path = DATA / name
    if not path.exists():
        pytest.skip(f"{name} not in ../shared/data")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    # Four stories, a dozen rows each: a few dozen rows in all, in file (time) order.
    stories = [s for s, _ in Counter(r["STORY"] for r in rows).most_common(8)][::2]
    sample = [r for r in rows if r["STORY"] in stories]
    kept: Counter[str] = Counter()
    rows = []
    for row in sample:
        if kept[row["STORY"]] < 12:
            kept[row["STORY"]] += 1
            rows.append(row)
    arts = [
        Article(
            id=int(r["ID"]),
            source_id=0,
            outlet=r["PUBLISHER"],
            url=r["URL"],
            canonical_url=r["URL"],
            title=r["TITLE"],
            text=r.get("TEXT") or "",
            published_at=datetime.fromtimestamp(int(r["TIMESTAMP"]) / 1000, UTC),
        )
        for r in rows
    ]
    mapping = assign(arts, [], NONE, 1, PARAMS)
    assert _b3_f1([mapping[a.id] for a in arts], [r["STORY"] for r in rows]) >= floor


def _burst(first_id: int, titles: list[str], start: timedelta) -> list[Article]:
    return [
        replace(article(first_id + i, t), published_at=T0 + start + timedelta(seconds=20 * i))
        for i, t in enumerate(titles)
    ]


BANKRUPTCY = [
    "Bitcoin exchange Mt. Gox files for US bankruptcy protection",
    "Mt. Gox seeks US bankruptcy relief to halt class action",
    "Mt. Gox files for Chapter 15 bankruptcy in Texas",
]


def test_a_headline_needs_more_to_join_a_story_that_went_quiet() -> None:
    """Headlines of a second burst hours later: the time feature keeps them apart."""
    first = _burst(1, BANKRUPTCY, timedelta(0))
    weak = "Japanese bitcoin exchange files US bankruptcy case"
    fresh = _burst(10, [weak], timedelta(minutes=2))
    late = _burst(20, [weak], timedelta(hours=7))
    plain = replace(PARAMS, stale_penalty=0.0)
    assert len(set(assign(first + fresh, [], NONE, 1, PARAMS).values())) == 1
    assert len(set(assign(first + late, [], NONE, 1, plain).values())) == 1
    assert len(set(assign(first + late, [], NONE, 1, PARAMS).values())) == 2


def test_time_alone_never_joins_a_story() -> None:
    first = _burst(1, BANKRUPTCY, timedelta(0))
    unrelated = _burst(10, ["Pollen counts soar as spring arrives early"], timedelta(seconds=70))
    mapping = assign(first + unrelated, [], NONE, 1, PARAMS)
    assert mapping[10] != mapping[1]


def test_time_feature_leaves_full_articles_alone() -> None:
    """Same-kind full articles decide on content: far apart in time or not, same groups."""
    arts = kestrel_and_tern()
    spread = [replace(a, published_at=T0 + timedelta(hours=9 * i)) for i, a in enumerate(arts)]
    expected = {frozenset({1, 2, 3}), frozenset({10, 11})}
    assert groups(assign(arts, [], NONE, 1, PARAMS)) == expected
    assert groups(assign(spread, [], NONE, 1, PARAMS)) == expected


FIGHT_REPORT = (
    "Champion Wladimir Klitschko retained his heavyweight titles on Saturday night, stopping "
    "{challenger} in the seventh round before a sold-out crowd at the {arena} in {city}. "
    "The Ukrainian controlled the distance with his jab from the opening bell, landed a "
    "heavy right hand late in the fourth and dropped the challenger twice in the sixth. "
    "Referee {referee} waved the contest off after another barrage against the ropes. "
    "Klitschko said afterwards that his team had studied old tapes for weeks, that the "
    "plan worked perfectly and that he wanted a unification bout next summer. Promoters "
    "reported strong ticket sales, a record television audience and plans for a rematch "
    "clause nobody expects to be used. Earlier on the undercard, several prospects won "
    "comfortably on points, and local officials praised security arrangements, transport "
    "links and the atmosphere inside the venue, which organisers called electric."
)
FIGHT_RECAP = (
    "Wladimir Klitschko needed less than seven rounds to see off {challenger} and keep his "
    "belts, the champion's trainer {trainer} said in {city}. Klitschko's jab again decided "
    "matters: the challenger was floored twice in round six and {referee} stopped it in the "
    "seventh with the challenger trapped on the ropes. The crowd at the {arena} had come to "
    "see a knockout and got one. Klitschko, whose record now shows many defences, told "
    "reporters he would consider a unification fight next year and praised his opponent. "
    "Bookmakers had priced the upset at long odds, analysts questioned whether any "
    "contender can trouble the veteran soon, and his brother watched calmly from ringside, "
    "sipping water and chatting with sponsors, former champions and journalists. Tickets "
    "for the next event go on sale in March through the usual outlets, with discounts "
    "promised for students, pensioners and members of amateur clubs across the region."
)
RAHMAN = {
    "challenger": "Hasim Rahman",
    "arena": "SAP Arena",
    "city": "Mannheim",
    "referee": "Tony Weeks",
    "trainer": "Emanuel Steward",
}
THOMPSON = {
    "challenger": "Tony Thompson",
    "arena": "Stade de Suisse",
    "city": "Bern",
    "referee": "Sam Williams",
    "trainer": "Johnathon Banks",
}


def margins(
    params: ClusterParams, report: Article, same: Article, other: Article
) -> tuple[float, float]:
    """How far ``same`` and ``other`` clear the bar of the story ``report`` opens, an hour on."""
    clusterer = Clusterer(params, NONE, 1)
    story = clusterer.place(report)
    index = clusterer.index
    when = T0.timestamp() + 3600
    return (
        index.margin(story, index.features(same), when),
        index.margin(story, index.features(other), when),
    )


PIRACY_REPORT = (
    "The Indian navy captured {pirates} pirates who tried to board a merchant vessel in the "
    "Gulf of Aden on Saturday, a navy spokesman said. The warship answered a distress call "
    "from the ship, which was carrying {cargo} tonnes of cargo and a crew of {crew}, and sent "
    "marine commandos aboard after a brief exchange of fire. Officials said the pirates' "
    "skiffs carried rifles, rocket launchers and ladders. The captured men will be handed "
    "over to the authorities for prosecution, the spokesman added, praising the speed of "
    "the response. Shipping groups have asked for more patrols along the busy route, where "
    "attacks have risen sharply, and insurers have raised premiums for vessels that pass "
    "through it. Naval officers said escorts would continue for convoys of merchant ships "
    "and that cooperation with other navies in the area had improved in recent months."
)
PIRACY_RECAP = (
    "Commandos from an Indian warship foiled an attack on a merchant ship in the Gulf of "
    "Aden and detained {pirates} suspected pirates, the navy said. The ship, with {crew} "
    "sailors aboard and {cargo} tonnes of goods in its holds, had radioed for help when two "
    "skiffs approached. Weapons and ladders were seized. The navy said the suspects would "
    "face trial and that patrols in the area would go on, as shipping companies and "
    "insurers press for more protection on one of the world's busiest sea lanes. Analysts "
    "said the operation showed the growing reach of the navy far from home, and officials "
    "thanked the crew for keeping calm. Other navies in the region have reported similar "
    "attempts in recent weeks, and a regional meeting on maritime security is planned."
)


PIRATES_FIRST = {"pirates": 23, "cargo": "12,000", "crew": 31}
PIRATES_SECOND = {"pirates": 26, "cargo": "8,500", "crew": 19}


@pytest.mark.parametrize(
    ("weight", "report", "same", "other", "gain"),
    [
        (  # the same fight report, another challenger, town and referee
            "entity_weight",
            article(1, "Klitschko stops challenger", FIGHT_REPORT.format(**RAHMAN)),
            article(2, "Klitschko keeps his belts", FIGHT_RECAP.format(**RAHMAN), hours=1),
            article(3, "Klitschko keeps his belts", FIGHT_RECAP.format(**THOMPSON), hours=1),
            0.0,
        ),
        (  # the same piracy report, only the figures differ
            "number_weight",
            article(1, "Navy captures pirates", PIRACY_REPORT.format(**PIRATES_FIRST)),
            article(2, "Navy foils attack", PIRACY_RECAP.format(**PIRATES_FIRST), hours=1),
            article(3, "Navy foils attack", PIRACY_RECAP.format(**PIRATES_SECOND), hours=1),
            0.05,
        ),
    ],
    ids=["names", "numbers"],
)
def test_names_and_numbers_move_the_similarity_of_same_kind_full_texts(
    weight: str, report: Article, same: Article, other: Article, gain: float
) -> None:
    """Agreeing names or figures lift a full text towards a story, different ones push it away."""
    with_channel = margins(PARAMS, report, same, other)
    without = margins(replace(PARAMS, **{weight: 0.0}), report, same, other)
    assert with_channel[0] > without[0]
    assert with_channel[1] < without[1]
    assert with_channel[0] - with_channel[1] > without[0] - without[1] + gain


SHOPPING_TIPS = (
    "Shoppers can ask a chatbot to compare prices, track parcels and write polite returns "
    "letters this season, and AI can also sort the flood of gift guides into a short list. "
    "Be careful with deals that look too good: scammers now write convincing fake shops in "
    "minutes. Check the seller's address, pay by card rather than bank transfer, and keep "
    "receipts for every order until the parcel arrives and the gift has been unwrapped."
)
LETTER_COUNTING = (
    "Ask a chatbot how many times a letter appears in a word and it often gets the answer "
    "wrong, because AI models read text as chunks of characters rather than single letters. "
    "Researchers say counting requires a step the models never see in training, and newer "
    "systems that write out each letter before answering do much better on such puzzles, "
    "though they remain slower and cost more to run than the ordinary versions."
)


def test_a_lone_common_name_moves_the_similarity_little() -> None:
    """Two AI-news texts whose only name is "AI" agree on it fully, which says nothing.

    The name channel acts in proportion to how many names the article states
    (``entity_full``), so one shared name cannot lift a pair of unrelated texts.
    """
    story = article(1, "Holiday shopping with a chatbot", SHOPPING_TIPS)
    other = article(2, "Why chatbots cannot count letters", LETTER_COUNTING, hours=1)
    index = Clusterer(PARAMS, NONE, 1).index
    assert set(index.features(other).entities) == {"ai"}

    def lift(params: ClusterParams) -> float:
        with_names = margins(params, story, other, other)[0]
        return with_names - margins(replace(params, entity_weight=0.0), story, other, other)[0]

    assert lift(PARAMS) < 0.05
    assert lift(replace(PARAMS, entity_full=1)) > 0.2  # counted fully, "AI" alone would lift


def test_headlines_without_a_body_carry_no_names_or_numbers() -> None:
    """A bare headline's figures are too few to judge by: only texts with a body get them."""
    index = Clusterer(PARAMS, NONE, 1).index
    bare = index.features(article(1, "Indian navy captures 23 pirates in Gulf of Aden", ""))
    full = index.features(article(2, "Navy captures", PIRACY_REPORT.format(**PIRATES_FIRST)))
    assert not bare.numbers and not bare.entities
    assert set(full.numbers) == {"23", "12000", "31"}
    assert {"gulf", "aden"} <= set(full.entities)
