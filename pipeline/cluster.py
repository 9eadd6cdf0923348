"""Story clustering: online, in publication order, with candidate retrieval and stable ids.

Each article joins the best-matching story still inside the time window, or
starts a new one; a headline that clearly joins two young headline stories
merges them (see ``Clusterer._bridge``), and once a run's articles are placed,
a text still alone in the story it opened gets a second look against the
stories as they now stand (``Clusterer.settle``). ``assign`` is the incremental step of every run: recent
articles seed the index with the stories they already belong to (they are
never moved) and new articles extend those stories or open new ones, so ids
stay put from run to run. ``rebuild`` (``digest cluster --rebuild``) starts
from nothing and then hands each new cluster the old id it overlaps most.
Both drive one ``Clusterer``, and so does ``benchmarks/cluster.py``: what is
measured is what runs. A long-lived consumer keeps one index from run to run
instead of seeding a fresh one each time, with the same stories
(``pipeline.cluster_keep``).

When a referee is configured (``pipeline.referee``: a language model), a
full text that clears a story's bar only narrowly joins it only if the
referee says it reports the same event as the story's first reports.

Editors' decisions win over similarity: a must-link partner's story is joined
whatever the score, and a story holding a cannot-link partner is never joined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING

from . import text
from .cluster_index import FeatureCache, Features, StoryIndex
from .models import Article, Constraints

if TYPE_CHECKING:
    from .referee import Referee

__all__ = [
    "ClusterParams",
    "Clusterer",
    "FeatureCache",
    "assign",
    "place_all",
    "rebuild",
    "seed_all",
    "seed_weight",
]


@dataclass(frozen=True, slots=True)
class ClusterParams:
    """Tunable parameters of story clustering; every one has a working default.

    The two thresholds are the main decision parameters. They were chosen once
    for both development sets together (headline-only news and full articles
    with same-kind hard negatives), and the bar slides between them with the
    amount of text, so no parameter is specific to one kind of feed. Names
    (``entity_*``) and numbers (``number_*``) act in proportion to the text
    both sides hold and to how many names (figures) the article states, and
    bridges (``bridge_*``) only between headlines; each was
    chosen on one development set and checked on other rows of the same kind
    (and over many arrival orders) before it was kept.
    """

    window_hours: float = 72.0
    """A story takes new articles until this long after its latest article."""
    threshold_short: float = 0.06
    """Cosine needed to join a story when the shorter side is a bare headline."""
    threshold_long: float = 0.3
    """Cosine needed when both sides are full articles."""
    short_text_terms: float = 8.0
    """A text with this many distinct terms or fewer counts as a headline."""
    long_text_terms: float = 80.0
    """A text with this many distinct terms or more counts as a full article."""
    title_weight: float = 2.0
    """How much more a title term counts than a body term."""
    name_weight: float = 1.5
    """How much more a name (person, organisation, model, number with unit) counts."""
    body_words: int = 400
    """Only the first this-many words of the body are read: the lead carries the event."""
    vector_terms: int = 60
    """An article's vector keeps its this-many heaviest terms."""
    centroid_terms: int = 200
    """A story's centroid keeps at least its this-many heaviest terms."""
    index_terms: int = 30
    """A story is findable through its this-many heaviest terms."""
    probe_terms: int = 12
    """A new article looks up stories through its this-many heaviest terms."""
    max_posting: int = 200
    """A term indexed by more open stories than this is too common to look stories up by."""
    shortlist: int = 6
    """At most this many candidate stories (those sharing most weight) are scored in full."""
    link_bonus: float = 0.35
    """Added to the similarity of a story citing the same primary source (paper, repo)."""
    time_bonus: float = 0.0
    """Taken off the bar of a story whose latest article is fresh (scaled by shortness).

    Coverage of one event arrives in bursts (Miranda et al., EMNLP 2018, use the
    time gap to a cluster as a feature). Off by default: any bonus made two
    same-kind headlines of one hour (two model launches) join, and it cost
    precision on an interleaved stream; the stale side alone is kept.
    """
    stale_penalty: float = 0.5
    """Added to the bar of a story gone quiet for longer than its own pace (scaled by shortness)."""
    time_scale_minutes: float = 60.0
    """The pace assumed of a story before it has a second article: one more per this long."""
    pace_factor: float = 10.0
    """A story is fresh for about this many of its own mean gaps between articles."""
    time_shape: float = 8.0
    """Shortness is raised to this power: time speaks for bare headlines, not full articles."""
    min_sim: float = 0.0
    """A story is joined only with more content similarity than this: time alone never joins."""
    entity_weight: float = 0.5
    """How far agreement on names moves the similarity of two full texts (see ``margin``).

    Scaled down with the shorter side's text, as the bar is: a bare headline has none.
    """
    entity_bar: float = 0.2
    """Cosine of names above which two texts count as naming the same people and places."""
    entity_terms: int = 60
    """A text's name vector keeps its this-many heaviest names."""
    entity_full: int = 20
    """An article naming this many distinct names or more moves the similarity fully; fewer, less."""
    number_weight: float = 0.5
    """How far agreement on stated numbers moves the similarity of two full texts (as names)."""
    number_bar: float = 0.35
    """Cosine of numbers above which two texts count as stating the same figures."""
    number_full: int = 6
    """An article stating this many distinct figures or more moves the similarity fully."""
    bridge_margin: float = 0.1
    """A headline clearing two headline stories' bars by this much merges them (see ``_bridge``).

    A text left alone in the story it opened joins another at the end of the
    run when it clears that story's bar by as much (see ``settle``).
    """
    bridge_max_terms: float = 25.0
    """Only texts of at most this many distinct terms (a headline and a line) bridge stories."""
    bridge_max_size: int = 8
    """A bridge folds in a fragment: the smaller story has at most this many articles."""
    spread_share: float = 0.3
    """A term carried by this share of the open stories weighs half its prior in a full text.

    What every story of the week names (a lab, a model family) tells no event
    from another (see ``pipeline.spread``). Chosen on the AI-news set, where
    0.2 to 0.3 score alike; the full-text and headline sets are unchanged.
    """
    spread_mass: float = 30.0
    """Pseudo-stories carrying nothing: until the window holds a few dozen stories, the prior rules."""
    referee_margin: float = 0.5
    """A full text clearing a story's bar by less than this asks the referee, when there is one.

    See ``pipeline.referee``. With a perfect referee (the labels), B3-F1 in
    file order / mean of 8 orders, and questions per article:

    ======  ======================  ======================
    margin  AI news                 ECB+ (full texts)
    ======  ======================  ======================
    0.3     0.878 / 0.874, 0.26     0.951 / 0.937, 0.17
    0.5     0.963 / 0.928, 0.53     0.965 / 0.944, 0.34
    1.0     0.967 / 0.947, 0.83     0.971 / 0.946, 0.58
    ======  ======================  ======================

    Past 0.5 the questions grow faster than what they buy.
    """
    core_size: int = 3
    """The story's first this-many reports are its core: what the referee compares with."""


class Clusterer:
    """Places articles into stories one by one, in the order they are given.

    Holds the ``StoryIndex``, which stories each placed article belongs to (for
    constraints and duplicates), and the counter for new story ids.
    """

    def __init__(
        self,
        params: ClusterParams,
        constraints: Constraints,
        next_story_id: int,
        cache: FeatureCache | None = None,
        referee: Referee | None = None,
    ) -> None:
        self.params = params
        self.referee = referee
        self.index = StoryIndex(params)
        self._cache = cache
        if cache is not None:
            cache.start_run(params)
        self.story_of: dict[int, int] = {}
        self.next_story_id = next_story_id
        self._must = _adjacency(constraints.must_link)
        self._cannot = _adjacency(constraints.cannot_link)
        self._clock = 0.0
        self._first_new_id = next_story_id
        self._members: dict[int, list[int]] = {}  # stories opened here: the ones a bridge may move
        # Stories opened here by a text that is still their only member, by story id.
        self._alone: dict[int, tuple[Article, Features, float]] = {}
        self._core: dict[int, list[Article]] = {}  # each open story's first reports

    def seed(self, article: Article) -> None:
        """Add an already clustered article to its story, as evidence for new ones."""
        if article.story_id is None:
            return
        when = self._seconds(article)
        self._expire(when)
        weight = seed_weight(article)
        features = self._features(article)
        self.index.add(article.story_id, features, when, weight)
        self.story_of[article.id] = article.story_id
        self._remember(article, article.story_id)
        self._joined(article, article.story_id, when, features, weight)

    def place(self, article: Article) -> int:
        """Put one new article into a story and return the story's id.

        The id returned is the story's at placement time; a later bridge or
        ``settle`` may fold that story into another, so read final ids from ``story_of``.
        """
        when = self._seconds(article)
        self._expire(when)
        features = self._features(article)
        forbidden = self._forbidden(article.id)
        story_id = self._forced(article, forbidden)
        is_copy = story_id is not None and article.duplicate_of is not None
        weight = 0.0 if is_copy else 1.0
        if story_id is None:
            joinable = self._refereed(article, features, self._joinable(features, when, forbidden))
            if joinable:
                story_id = self._bridge(joinable, features, article.title)
        if story_id is None:
            story_id = self.next_story_id
            self.next_story_id += 1
            if features.length > self.params.bridge_max_terms:
                self._alone[story_id] = (article, features, when)
        else:
            self._alone.pop(story_id, None)
        self.index.add(story_id, features, when, weight)
        self.story_of[article.id] = story_id
        self._remember(article, story_id)
        if story_id >= self._first_new_id:
            self._members.setdefault(story_id, []).append(article.id)
        self._joined(article, story_id, when, features, weight)
        return story_id

    def _joined(
        self, article: Article, story_id: int, when: float, features: Features, weight: float
    ) -> None:
        """An article went into a story with this weight (a hook for ``KeptClusterer``)."""

    def _remember(self, article: Article, story_id: int) -> None:
        """Keep the article as part of the story's core while the core has room."""
        core = self._core.setdefault(story_id, [])
        if len(core) < self.params.core_size and article.duplicate_of is None:
            core.append(article)

    def _refereed(
        self, article: Article, features: Features, joinable: list[tuple[float, int]]
    ) -> list[tuple[float, int]]:
        """The candidates from the first one the referee lets the article join (best first).

        Only full texts ask, and only about stories whose bar they clear by
        less than ``referee_margin``; without a referee nothing changes.
        """
        referee = self.referee
        if referee is None or self.index.longness(features.length) < 1.0:
            return joinable
        for position, (margin, story_id) in enumerate(joinable):
            core = self._core.get(story_id)
            if (
                margin >= self.params.referee_margin
                or not core
                or referee.same_event(article, core)
            ):
                return joinable[position:]
        return []

    def _story(self, article_id: int) -> int | None:
        """The story an already placed article belongs to, as the run sees it."""
        return self.story_of.get(article_id)

    def _bridge(self, joinable: list[tuple[float, int]], features: Features, title: str) -> int:
        """The best story, after folding in the other headline stories this headline clearly joins.

        Headlines of one event are worded so differently that they open several
        small stories (one about the sales figure, one about the launch, one
        quoting the CEO); a headline that clears the bar of two of them by
        ``bridge_margin`` shows they are one event. Full texts never bridge:
        two full articles that did not join each other are different events of
        the same kind, and a third similar to both says nothing new. Nor do two
        grown stories: one headline is not enough to undo what many kept apart,
        so the smaller side is a fragment of at most ``bridge_max_size``. Only
        stories opened in this run are folded in, into the older one, so a
        story already stored keeps its id and its members. A roundup headline
        ("Morning briefing: X; Y") never bridges: it lists stories, it does not
        join them.
        """
        params = self.params
        story_id = joinable[0][1]
        if features.length > params.bridge_max_terms or text.is_roundup(title):
            return story_id
        for margin, other in joinable[1:]:
            if margin < params.bridge_margin:
                break
            keep, drop = min(story_id, other), max(story_id, other)
            if (
                drop < self._first_new_id
                or max(self.index.length(keep), self.index.length(drop)) > params.bridge_max_terms
                or min(self.index.size(keep), self.index.size(drop)) > params.bridge_max_size
                or self._kept_apart(keep, drop)
            ):
                continue
            self._fold(keep, drop)
            story_id = keep
        return story_id

    def settle(self) -> None:
        """Give each text that opened a story of its own in this run a second look.

        An article placed early meets its event's coverage before the rest has
        arrived: it opens a story, the next reports (worded closer to each
        other than to it) open another, and it is left alone. Once the run's
        articles are placed, each story of this run that still holds only the
        one text that opened it joins the story whose bar it now clears best,
        by ``bridge_margin`` at least, as a bridge must: a late decision goes
        against what every later arrival decided, so it has to be clear (at
        the bar itself, an article on one government's copyright plan joined
        another's AI code two days later). Stored stories are never moved,
        editors' cannot-links hold, headlines are left to ``_bridge``, and the
        referee, when there is one, has its say as at placement.
        """
        for story_id, (article, features, when) in list(self._alone.items()):
            if story_id not in self._alone:  # another text joined it in this pass
                continue
            skip = self._forbidden(article.id) | {story_id}
            clear = self._joinable(features, when, skip)
            clear = [(m, s) for m, s in clear if m >= self.params.bridge_margin]
            joinable = self._refereed(article, features, clear)
            if joinable:
                self._fold(joinable[0][1], story_id)
        self._alone.clear()

    def _forbidden(self, article_id: int) -> set[int]:
        """The stories holding an editor's cannot-link partner of the article."""
        found = (self._story(p) for p in self._cannot.get(article_id, ()))
        return {story_id for story_id in found if story_id is not None}

    def _joinable(self, features: Features, when: float, skip: set[int]) -> list[tuple[float, int]]:
        """The candidate stories whose bar the article clears, best first, ties to the oldest."""
        joinable: list[tuple[float, int]] = []
        for candidate in self.index.candidates(features):
            if candidate not in skip:
                margin = self.index.margin(candidate, features, when)
                if margin >= 0.0:
                    joinable.append((margin, candidate))
        joinable.sort(key=lambda pair: (-pair[0], pair[1]))
        return joinable

    def _fold(self, keep: int, drop: int) -> None:
        """Move every article of story ``drop`` (opened in this run) into story ``keep``."""
        self._alone.pop(keep, None)
        self._alone.pop(drop, None)
        self._core.pop(drop, None)
        self.index.merge(keep, drop)
        moved = self._members.pop(drop)
        for member in moved:
            self.story_of[member] = keep
        if keep >= self._first_new_id:
            self._members[keep].extend(moved)

    def _kept_apart(self, keep: int, drop: int) -> bool:
        """Whether an editor's cannot-link joins a member of ``drop`` to one of ``keep``."""
        return any(
            self._story(partner) == keep
            for member in self._members[drop]
            for partner in self._cannot.get(member, ())
        )

    def _forced(self, article: Article, forbidden: set[int]) -> int | None:
        """The story an editor's must-link or the article's original dictates, if any."""
        found = (self._story(p) for p in self._must.get(article.id, ()))
        for story_id in sorted(s for s in found if s is not None):
            if story_id not in forbidden:
                return story_id
        original = None if article.duplicate_of is None else self._story(article.duplicate_of)
        return original if original is not None and original not in forbidden else None

    def _features(self, article: Article) -> Features:
        if self._cache is None:
            return self.index.features(article)
        return self._cache.features(self.index, article)

    def _expire(self, now: float) -> list[int]:
        """Close the stories gone quiet for a window; what this run kept of them goes too."""
        closed = self.index.expire(now)
        for story_id in closed:
            self._alone.pop(story_id, None)
            self._members.pop(story_id, None)
            self._core.pop(story_id, None)
        return closed

    def _seconds(self, article: Article) -> float:
        """POSIX time of the article; an undated one counts as the latest time seen."""
        when = article.when
        if when is not None:
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            self._clock = max(self._clock, when.timestamp())
            return when.timestamp()
        return self._clock


def assign(
    new: Sequence[Article],
    recent: Sequence[Article],
    constraints: Constraints,
    next_story_id: int,
    params: ClusterParams,
    cache: FeatureCache | None = None,
    referee: Referee | None = None,
) -> dict[int, int]:
    """Story ids for ``new`` articles, extending the stories of ``recent`` ones.

    ``recent`` articles carry their ``story_id`` and only seed the index; they
    are never moved. New stories get ids ``next_story_id``, ``next_story_id+1``,
    … in order of creation. Same input, same output. A ``cache`` carried
    over from earlier runs saves recomputing: an article then keeps the
    features it was placed with, weighed against the stories open at the
    time, as in one pass over the stream; without it a seeded article is
    weighed against the stories open when it is seeded (see ``pipeline.spread``).
    """
    clusterer = Clusterer(params, constraints, next_story_id, cache, referee)
    seed_all(clusterer, recent, new)
    return place_all(clusterer, new)


def seed_all(clusterer: Clusterer, recent: Sequence[Article], new: Sequence[Article]) -> None:
    """Seed the index with the ``recent`` articles that are not ``new``, in time order."""
    new_ids = {a.id for a in new}
    for article in sorted(recent, key=lambda a: a.time_order):
        if article.id not in new_ids:
            clusterer.seed(article)


def place_all(clusterer: Clusterer, new: Sequence[Article]) -> dict[int, int]:
    """Place ``new`` articles in time order, settle the run, and return their final story ids."""
    for article in sorted(new, key=lambda a: a.time_order):
        clusterer.place(article)
    clusterer.settle()
    return {article.id: clusterer.story_of[article.id] for article in new}


def rebuild(
    articles: Sequence[Article],
    constraints: Constraints,
    previous: Mapping[int, int],
    next_story_id: int,
    params: ClusterParams,
    referee: Referee | None = None,
) -> dict[int, int]:
    """Cluster every article from scratch, then keep old ids where clusters match old stories.

    Each new cluster takes the previous story id it shares most articles with,
    largest overlaps first and each old id once; clusters matching no old story
    get fresh ids from ``next_story_id`` in order of creation.
    """
    clusterer = Clusterer(params, constraints, 0, referee=referee)
    for article in sorted(articles, key=lambda a: a.time_order):
        clusterer.place(article)
    clusterer.settle()
    labels = {article.id: clusterer.story_of[article.id] for article in articles}
    overlap: dict[tuple[int, int], int] = {}
    for article_id, label in labels.items():
        old = previous.get(article_id)
        if old is not None:
            overlap[label, old] = overlap.get((label, old), 0) + 1
    renamed: dict[int, int] = {}
    used: set[int] = set()
    for (label, old), _count in sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0])):
        if label not in renamed and old not in used:
            renamed[label] = old
            used.add(old)
    fresh = next_story_id
    for label in sorted(set(labels.values())):
        if label not in renamed:
            renamed[label] = fresh
            fresh += 1
    return {article_id: renamed[label] for article_id, label in labels.items()}


def seed_weight(article: Article) -> float:
    """How much a stored article moves its story's centroid when the index is seeded.

    A near duplicate weighs nothing: a syndicated copy repeats, it does not confirm.
    """
    return 0.0 if article.duplicate_of is not None else 1.0


def _adjacency(pairs: frozenset[tuple[int, int]]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for a, b in pairs:
        out.setdefault(a, set()).add(b)
        out.setdefault(b, set()).add(a)
    return out
