"""Continuations: a story about to be published as new that is more coverage of a published one.

Clustering keeps a story open ``window_hours`` after its latest article, so
coverage of the same event after a quieter spell (a paper covered again four
days later, a launch reviewed a week later) opens a story of its own, and
readers would meet the event twice under two ids and two pages. Before a day
is published, each story none of whose articles an earlier digest carried is
compared with the published stories whose window had closed before it began.

The evidence is the clusterer's own, so "the same event" means here what it
means inside the window: each article's ``StoryIndex.features`` scored by
``StoryIndex.margin`` against the earlier story's members (names, figures,
words, the time gap), or a primary source (paper, repository, announcement)
they both cite. A story continues an earlier one only when at least half of
its articles find that story so, and when its articles still name the
earlier story's core (``editions.is_branch``: the same lab's next paper is
a new event, not a continuation).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC

from .cluster import ClusterParams
from .cluster_index import StoryIndex
from .editions import is_branch
from .models import Article

LOOKBACK_DAYS = 14
"""Published stories whose latest article is at most this old are compared: a week-late review."""


@dataclass(frozen=True, slots=True)
class Continuation:
    """A story to fold into the published one it continues."""

    earlier: int  # the published story: keeps its id and permanent page
    later: int  # the story that would have been published as new


def find(
    earlier: Mapping[int, Sequence[Article]],
    later: Mapping[int, Sequence[Article]],
    params: ClusterParams,
    apart: frozenset[tuple[int, int]] = frozenset(),
) -> list[Continuation]:
    """Which ``later`` stories continue which ``earlier`` ones (story id → members each).

    An earlier story is a candidate only when its latest article is older than
    the window before the later story's first one: inside the window the
    clusterer has already decided. Pairs of articles in ``apart`` (editors'
    cannot-links, as (low id, high id)) keep their two stories apart.
    """
    index = StoryIndex(params)
    articles = sorted(
        ((story_id, a) for story_id, members in earlier.items() for a in members),
        key=lambda pair: (_seconds(pair[1]), pair[1].id),
    )
    last: dict[int, float] = {}
    cited: dict[int, set[str]] = {}
    for story_id, article in articles:  # in publication order, as the clusterer saw them
        features = index.features(article)
        index.add(story_id, features, _seconds(article))
        last[story_id] = _seconds(article)
        cited.setdefault(story_id, set()).update(features.links)
    window = params.window_hours * 3600.0
    found = []
    for story_id, members in sorted(later.items()):
        if not members:
            continue
        begins = min(_seconds(a) for a in members)
        votes: Counter[int] = Counter()
        for article in members:
            features = index.features(article)
            when = _seconds(article)
            scored = [
                (index.margin(candidate, features, when), candidate)
                for candidate in index.candidates(features)
                if last[candidate] < begins - window
            ]
            same = [
                (margin, candidate)
                for margin, candidate in scored
                if margin > 0.0 or not features.links.isdisjoint(cited[candidate])
            ]
            if same:
                votes[max(same)[1]] += 1
        for candidate, count in votes.most_common():
            if 2 * count < len(members):
                break
            if not _kept_apart(members, earlier[candidate], apart) and not is_branch(
                members, earlier[candidate]
            ):
                found.append(Continuation(earlier=candidate, later=story_id))
                break
    return found


def _kept_apart(
    ours: Sequence[Article], theirs: Sequence[Article], apart: frozenset[tuple[int, int]]
) -> bool:
    return any((min(a.id, b.id), max(a.id, b.id)) in apart for a in ours for b in theirs)


def _seconds(article: Article) -> float:
    """POSIX seconds of the article's time; stored times without a zone are UTC."""
    moment = article.when
    if moment is None:
        return 0.0
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()
