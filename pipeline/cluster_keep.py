"""The clustering consumer's story index, kept from one run to the next.

``cluster.assign`` builds a ``Clusterer`` and seeds it with every article of
the stories still inside the window before it places the new ones, so a run
costs the window, not what is new. A long-lived consumer (the daemon
``digest schedule``, a ``digest worker`` taking the clustering queue) keeps one
``KeptIndex`` instead: it seeds once at start, and again only when the store's
clustering epoch (``Stories.epoch``) moved under it (an editor merged, split or
moved articles, another process clustered, a rebuild or a prune ran); every
other run only places its new articles.

A kept run gives the stories a re-seeded run gives, which the tests check over
a stream clustered in many small runs both ways. A re-seeded index is a
function of the stored stories: each built from its members in time order, a
near duplicate weighing nothing. A kept index was built in arrival order, so
after each run the stories built otherwise are built again that way
(``KeptClusterer.tidy``): a story that took an article older than its latest
(a late arrival), a story folded together with another (a bridge, the
end-of-run second look), a story that took a near duplicate at full weight (its
original was in no open story), and a closed story an editor's must-link or a
copy opened again. A re-seeded run also knows the members of the stories whose
latest article lies within a window of its earliest new article, closed ones
too (a copy still joins its original's story), so a kept index remembers the
members of a closed story for a second window and lets them answer only within
that horizon; an article arriving later than that makes it seed afresh.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Callable, Sequence
from datetime import UTC
from typing import TYPE_CHECKING, NamedTuple

from .cluster import Clusterer, ClusterParams, place_all, seed_all, seed_weight
from .cluster_index import FeatureCache, Features
from .models import Article, Constraints
from .spread import StorySpread

if TYPE_CHECKING:
    from .referee import Referee

__all__ = ["KeptClusterer", "KeptIndex"]

LOGGER = logging.getLogger(__name__)


class _Member(NamedTuple):
    """One article of a story as a re-seeded index would add it."""

    order: tuple[float, int]  # ``Article.time_order``: the order of seeding
    when: float  # POSIX seconds the clusterer gave it
    features: Features
    weight: float  # ``seed_weight``
    article_id: int


class KeptClusterer(Clusterer):
    """A ``Clusterer`` that runs again and again: stories' members kept, rebuilt when needed."""

    def __init__(
        self,
        params: ClusterParams,
        constraints: Constraints,
        next_story_id: int,
        cache: FeatureCache,
    ) -> None:
        super().__init__(params, constraints, next_story_id, cache)
        self._cache_of = cache
        self._window = params.window_hours * 3600.0
        self._history: dict[int, list[_Member]] = {}
        self._untidy: set[int] = set()
        self._closed: dict[int, float] = {}  # closed story → its latest article's seconds
        self._closing: list[tuple[float, int]] = []  # the same, oldest first, to forget
        self._horizon = -math.inf  # closed stories with an older latest article do not answer
        self._known = -math.inf  # every stored story with a later latest article is held here

    def seeded(self, earliest: Article) -> None:
        """The index was seeded from the store for a run starting at ``earliest``."""
        if earliest.when is not None:
            self._known = self._moment(earliest) - self._window

    def knows(self, earliest: Article) -> bool:
        """Whether a run whose earliest new article is ``earliest`` can use this index.

        A re-seeded run would know every story whose latest article is within
        a window of it; those older than ``_known`` are forgotten.
        """
        known = max(self._known, self._clock - 2 * self._window)  # see ``begin_run``
        return earliest.when is None or self._moment(earliest) - self._window >= known

    def begin_run(self, next_story_id: int, earliest: Article) -> None:
        """Start a run as a fresh ``Clusterer`` would, forgetting what no run can reach."""
        self.next_story_id = self._first_new_id = next_story_id
        self._members = {}
        if earliest.when is not None:
            self._horizon = self._moment(earliest) - self._window
        forget_before = self._clock - 2 * self._window
        while self._closing and self._closing[0][0] < forget_before:
            last, story_id = heapq.heappop(self._closing)
            if self._closed.get(story_id) != last:
                continue  # opened again since
            del self._closed[story_id]
            gone = [m.article_id for m in self._history.pop(story_id)]
            for article_id in gone:
                self.story_of.pop(article_id, None)
            self._cache_of.forget(gone)
        self._known = max(self._known, forget_before)

    def tidy(self) -> None:
        """Build each open story this run built otherwise again as seeding would build it.

        Members go in time order; where the gap between two exceeds the
        window, the index closed the story in between, so it starts over.
        """
        for story_id in sorted(self._untidy):
            if not self.index.is_open(story_id):
                continue
            history = self._history[story_id]
            history.sort(key=lambda m: m.order)
            self.index.drop(story_id)
            last = history[0].when
            for member in history:
                if last < member.when - self._window:
                    self.index.drop(story_id)
                last = max(last, member.when)
                self.index.add(story_id, member.features, member.when, member.weight)
        self._untidy.clear()

    def _joined(
        self, article: Article, story_id: int, when: float, features: Features, weight: float
    ) -> None:
        history = self._history.setdefault(story_id, [])
        order = article.time_order
        seeded = seed_weight(article)
        reopened = self._closed.pop(story_id, None) is not None
        if reopened or weight != seeded or (history and order < history[-1].order):
            self._untidy.add(story_id)
        history.append(_Member(order, when, features, seeded, article.id))

    def _fold(self, keep: int, drop: int) -> None:
        super()._fold(keep, drop)
        self._history[keep].extend(self._history.pop(drop))
        self._untidy.discard(drop)
        self._untidy.add(keep)

    def _expire(self, now: float) -> list[int]:
        closed = super()._expire(now)
        for story_id in closed:
            last = max(m.when for m in self._history[story_id])
            self._closed[story_id] = last
            heapq.heappush(self._closing, (last, story_id))
        return closed

    def _story(self, article_id: int) -> int | None:
        story_id = self.story_of.get(article_id)
        if story_id is not None and self._closed.get(story_id, math.inf) < self._horizon:
            return None  # a re-seeded run would not have seeded that story
        return story_id

    @staticmethod
    def _moment(article: Article) -> float:
        """POSIX seconds of a dated article, a naive time counting as UTC (as ``_seconds``)."""
        when = article.when
        assert when is not None
        return (when if when.tzinfo is not None else when.replace(tzinfo=UTC)).timestamp()


class KeptIndex:
    """The story index of a long-lived clustering consumer, valid for one store epoch.

    ``assign`` runs one clustering run; the caller then writes the
    assignments and hands the epoch its write left to ``stored``. When that
    is the epoch the run started from plus one (its own write), the index
    matches the store and the next run keeps it; anything else (another
    writer in between, a write that failed) makes the next run seed afresh.
    """

    def __init__(self) -> None:
        self._clusterer: KeptClusterer | None = None
        self._cache = FeatureCache()
        self._epoch: int | None = None  # the store epoch the index matches
        self._expected: int | None = None
        self.seedings = 0  # how many times the index was seeded from the store

    def assign(
        self,
        new: Sequence[Article],
        epoch: int,
        next_story_id: int,
        params: ClusterParams,
        load: Callable[[], tuple[Sequence[Article], Constraints]],
        referee: Referee | None = None,
    ) -> dict[int, int]:
        """Story ids for ``new`` articles, as ``cluster.assign`` gives them.

        ``epoch`` is the store's clustering epoch read at the start of the run
        (under the clustering lock); ``load`` returns the recent stored
        articles and the editors' constraints, read only when the index is
        seeded afresh. ``referee`` (``pipeline.referee``) has the last word on
        this run's borderline joins of full texts.
        """
        if not new:
            return {}
        earliest = min(new, key=lambda a: a.time_order)
        clusterer = self._clusterer
        reason = self._stale(clusterer, epoch, params, earliest)
        if clusterer is None or reason:
            recent, constraints = load()
            clusterer = KeptClusterer(params, constraints, next_story_id, self._cache)
            seed_all(clusterer, recent, new)
            clusterer.seeded(earliest)
            self._clusterer = clusterer
            self.seedings += 1
            LOGGER.info("story index seeded", extra={"articles": len(recent), "reason": reason})
        self._epoch, self._expected = None, epoch + 1
        clusterer.begin_run(next_story_id, earliest)
        clusterer.referee = referee
        assignments = place_all(clusterer, new)
        clusterer.tidy()
        return assignments

    def _stale(
        self, clusterer: KeptClusterer | None, epoch: int, params: ClusterParams, earliest: Article
    ) -> str:
        """Why the index must be seeded afresh for this run; empty when it can be kept."""
        if clusterer is None:
            return "first run"
        if epoch != self._epoch:
            return "stories changed in the store"
        if clusterer.params != params:
            return "clustering parameters changed"
        if not clusterer.knows(earliest):
            return f"article {earliest.id} arrived more than a window late"
        return ""

    @property
    def spread(self) -> StorySpread | None:
        """What the open stories name, as the index weighs it; None before the first run."""
        return None if self._clusterer is None else self._clusterer.index.spread

    def stored(self, epoch: int) -> None:
        """The run's assignments were committed, leaving the store at ``epoch``."""
        if epoch == self._expected:
            self._epoch = epoch
