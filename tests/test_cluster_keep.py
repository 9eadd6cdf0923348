"""The clustering consumer's kept index gives the stories re-seeded runs give, for less work."""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pipeline import run
from pipeline.cluster import ClusterParams, FeatureCache, assign
from pipeline.cluster_keep import KeptIndex
from pipeline.config import Settings
from pipeline.models import Article, Constraints, Entry, ExtractedPage, Source
from pipeline.store import Store
from tests.test_cluster import KESTREL, T0, TERN

PARAMS = ClusterParams()
START = datetime(2025, 3, 3, tzinfo=UTC)
_SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
_COMMON = [a + b for a in _SYLLABLES[:20] for b in _SYLLABLES[20:40]]  # 400 shared words


def stream(n: int, seed: int, days: float = 8.0) -> list[Article]:
    """A stream over ``days`` as feeds deliver it: stories of headlines and full texts,
    a fifth of the articles arriving hours late, some near duplicates of earlier ones.

    Returned in arrival order (``fetched_at``); ``published_at`` is what clustering orders by.
    """
    rng = random.Random(seed)
    stories: list[tuple[float, list[str]]] = []
    out: list[Article] = []
    for i in range(1, n + 1):
        day = i / n * days
        if not stories or rng.random() < 0.3:
            names = ["".join(rng.choices(_SYLLABLES, k=3)) for _ in range(12)]
            stories.append((day, names))
        open_ = [s for s in stories if day - s[0] < 2.5] or stories[-1:]
        begun, names = rng.choice(open_)
        words = rng.sample(names, 3) + rng.sample(_COMMON, 4)
        lead = rng.sample(names, 8) + rng.sample(_COMMON, 30)
        body = "" if rng.random() < 0.4 else " ".join(lead)
        published = START + timedelta(days=day)
        delays = [0.1, 0.2, 0.5, 6.0, 30.0] if i > 1 else [0.1]  # the first one on time
        fetched = published + timedelta(hours=rng.choice(delays))
        original = None
        if out and rng.random() < 0.08:
            source = rng.choice(out[-20:])
            words, body, original = source.title.split(), source.body, source.id
        out.append(
            Article(
                id=i,
                source_id=rng.randint(1, 40),
                outlet="",
                url=f"https://news{i % 40}.example/{i}",
                canonical_url=f"https://news{i % 40}.example/{i}",
                title=" ".join(words).capitalize(),
                published_at=published,
                fetched_at=fetched,
                feed_summary=body,
                duplicate_of=original,
            )
        )
    out.sort(key=lambda a: (a.fetched_at, a.id))
    return out


def runs(articles: Sequence[Article], minutes: float) -> list[list[Article]]:
    """The articles in runs of ``minutes`` of arrivals, as a scheduler takes them."""
    batches: dict[int, list[Article]] = {}
    for article in articles:
        assert article.fetched_at is not None
        key = int((article.fetched_at - START).total_seconds() // (minutes * 60))
        batches.setdefault(key, []).append(article)
    return [batches[k] for k in sorted(batches)]


class Stored:
    """What the store would hold: each clustered article with its story id."""

    def __init__(self) -> None:
        self.articles: dict[int, Article] = {}

    def next_id(self) -> int:
        return max((a.story_id or 0 for a in self.articles.values()), default=0) + 1

    def recent(self, new: Sequence[Article]) -> list[Article]:
        """Members of the stories still open at the earliest new article (``memberships_since``)."""
        earliest = min(a.when for a in new if a.when is not None)
        horizon = earliest - timedelta(hours=PARAMS.window_hours)
        last: dict[int, datetime] = {}
        for a in self.articles.values():
            assert a.story_id is not None and a.when is not None
            last[a.story_id] = max(last.get(a.story_id, a.when), a.when)
        return [a for a in self.articles.values() if last[a.story_id or 0] >= horizon]

    def keep(self, batch: Sequence[Article], assignments: dict[int, int]) -> None:
        for a in batch:
            self.articles[a.id] = replace(a, story_id=assignments[a.id])


def reseeded(batches: list[list[Article]], constraints: Constraints) -> dict[int, int]:
    """Today's runs: each seeds a fresh index with the window's stored stories."""
    stored, cache, out = Stored(), FeatureCache(), {}
    for batch in batches:
        got = assign(batch, stored.recent(batch), constraints, stored.next_id(), PARAMS, cache)
        stored.keep(batch, got)
        out.update(got)
    return out


def kept(batches: list[list[Article]], constraints: Constraints) -> tuple[dict[int, int], int]:
    """The consumer's runs: one index kept from run to run; also how often it was seeded."""
    stored, index, out = Stored(), KeptIndex(), {}
    for epoch, batch in enumerate(batches):

        def load(batch: Sequence[Article] = batch) -> tuple[list[Article], Constraints]:
            return stored.recent(batch), constraints

        got = index.assign(batch, epoch, stored.next_id(), PARAMS, load)
        stored.keep(batch, got)
        index.stored(epoch + 1)  # the store's write moved the epoch on by one
        out.update(got)
    return out, index.seedings


@pytest.mark.parametrize(("seed", "minutes", "n"), [(1, 15, 600), (2, 15, 600), (3, 60, 900)])
def test_kept_runs_give_the_stories_reseeded_runs_give(seed: int, minutes: float, n: int) -> None:
    articles = stream(n, seed)
    batches = runs(articles, minutes)
    assert len(batches) > 100
    expected = reseeded(batches, Constraints())
    got, seedings = kept(batches, Constraints())
    assert got == expected
    assert len(set(got.values())) > 50  # many stories, not one blob nor all singletons
    # Seeded once at the start, and again only for articles more than a window late.
    assert seedings == 1


def test_editors_constraints_hold_in_kept_runs_as_in_reseeded_ones() -> None:
    articles = stream(500, 5)
    by_time = sorted(articles, key=lambda a: a.time_order)
    near = frozenset((by_time[i].id, by_time[i + 7].id) for i in range(0, 480, 37))
    # Four to five days apart: past the window, so a run seeded afresh no longer knows the
    # first one's story unless it is still open, and a kept index must not know it either.
    far = frozenset((by_time[i].id, by_time[i + 300].id) for i in range(5, 190, 23))
    cannot = frozenset((by_time[i].id, by_time[i + 1].id) for i in range(3, 480, 29))
    constraints = Constraints(must_link=near | far, cannot_link=cannot)
    batches = runs(articles, 15)
    expected = reseeded(batches, constraints)
    got, _ = kept(batches, constraints)
    assert got == expected
    for a, b in near:
        assert got[a] == got[b]
    assert any(got[a] != got[b] for a, b in far)  # some partner's story had closed


def test_an_article_later_than_the_window_makes_the_index_seed_afresh() -> None:
    articles = sorted(stream(300, 6, days=6.0), key=lambda a: a.time_order)
    late = replace(articles[10], id=10_000, canonical_url="https://late.example/1")
    arrived = replace(late, fetched_at=articles[-1].when)
    batches = runs(articles, 30) + [[arrived]]
    expected = reseeded(batches, Constraints())
    got, seedings = kept(batches, Constraints())
    assert got == expected
    assert seedings == 2


# -- the consumer over a real store --------------------------------------------------------

OUTLETS = ["Frontier Signal", "Meridian Wire", "PaperStream", "Guardrail", "Lab Notes"]


class Desk:
    """A store with outlets, articles added as extracted pages, and a consumer's kept index."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.settings = Settings()
        self.kept = KeptIndex()
        store.sources.sync(
            [Source(o, f"https://{o.split()[0].lower()}.example/f") for o in OUTLETS]
        )
        self.source_ids = [s.id or 0 for s in store.sources.all()]
        self.added = 0

    def add(self, text: tuple[str, str], hours: float) -> int:
        """One extracted article at ``hours`` after T0, from the next outlet in turn."""
        self.added += 1
        at = T0 + timedelta(hours=hours)
        url = f"https://outlet{self.added}.example/{self.added}"
        entry = Entry(url=url, guid=url, title=text[0], published_at=at)
        source = self.source_ids[self.added % len(self.source_ids)]
        (article_id,) = self.store.articles.insert_entries(source, [(entry, url)], at)
        self.store.articles.set_extracted(article_id, ExtractedPage(text=text[1]), None, at)
        return article_id

    def cluster(self) -> None:
        run.process_new(self.store, self.settings, self.kept)

    def story(self, article_id: int) -> int:
        story_id = self.store.articles.get_many([article_id])[0].story_id
        assert story_id is not None
        return story_id

    def version(self, story_id: int) -> int:
        record = self.store.stories.record(story_id)
        assert record is not None
        return record.version


def test_the_consumer_seeds_once_and_again_after_an_editors_split_and_merge(
    any_store: Store,
) -> None:
    """A copy joins its original's story: after an editor moved the original, the story the
    editor chose, which only an index seeded again from the store knows."""
    desk = Desk(any_store)
    first, second, third = (desk.add(text, hours=i) for i, text in enumerate(KESTREL))
    desk.cluster()
    story = desk.story(first)
    assert desk.story(second) == desk.story(third) == story
    desk.add(TERN[0], hours=4)
    desk.cluster()
    assert desk.kept.seedings == 1  # nothing changed under it: kept

    split = desk.store.editorial.move(
        "Ines", story, desk.version(story), [second, third], None, None, T0
    )
    copy = desk.add(KESTREL[2], hours=5)  # the same text as `third`: a duplicate of it
    desk.cluster()
    assert desk.kept.seedings == 2
    assert desk.store.articles.get_many([copy])[0].duplicate_of == third
    assert desk.story(copy) == split  # where the editor put `third`, not where it was

    desk.store.editorial.merge("Ines", story, desk.version(story), split, desk.version(split), T0)
    again = desk.add(KESTREL[1], hours=6)  # a copy of `second`, merged back into `story`
    desk.cluster()
    assert desk.kept.seedings == 3
    assert desk.story(again) == story
    desk.add(TERN[1], hours=7)
    desk.cluster()
    assert desk.kept.seedings == 3


def test_another_clusterer_writing_between_runs_makes_the_consumer_seed_afresh(
    any_store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pipeline.cluster_keep")
    desk = Desk(any_store)
    desk.add(KESTREL[0], hours=0)
    desk.cluster()
    other = desk.add(TERN[0], hours=1)
    run.process_new(desk.store, desk.settings)  # another process, without a kept index
    copy = desk.add(TERN[0], hours=2)
    desk.cluster()
    assert desk.kept.seedings == 2
    assert desk.story(copy) == desk.story(other)  # a story only the store told it about
    reasons = [getattr(r, "reason", None) for r in caplog.records if r.msg == "story index seeded"]
    # the consumer's first run, the other process's one-off index, the consumer again
    assert reasons == ["first run", "first run", "stories changed in the store"]
