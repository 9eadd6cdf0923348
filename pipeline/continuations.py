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
its articles find that story so, and when each of its articles names the
earlier story's core (``editions.is_branch``; one that does not is another
event that clustering put beside the continuation). Found by words alone,
the earlier articles must also name the later story's core (``is_branch``
the other way): the same lab's next paper shares the lab, its people and its
boilerplate and may clear the margin, while its own product is missing from
what was published before.
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
        closed = {c for c, t in last.items() if t < begins - window}
        votes, linked = _votes(index, members, closed, cited)
        for candidate, count in votes.most_common():
            if 2 * count < len(members):
                break
            theirs = earlier[candidate]
            if _kept_apart(members, theirs, apart) or any(is_branch([a], theirs) for a in members):
                continue
            # Words alone can tie the same lab's next event to it: then its own core must
            # be named by the earlier articles too. A shared paper or announcement needs not.
            if candidate in linked or not is_branch(theirs, members):
                found.append(Continuation(earlier=candidate, later=story_id))
                break
    return found


def _votes(
    index: StoryIndex,
    members: Sequence[Article],
    closed: set[int],
    cited: Mapping[int, set[str]],
) -> tuple[Counter[int], set[int]]:
    """Per closed story, how many members find it the same event; and those found by a link.

    A member finds the closed story it clears by the largest margin, counting
    as cleared one that cites a primary source of the member's.
    """
    votes: Counter[int] = Counter()
    linked: set[int] = set()
    for article in members:
        features = index.features(article)
        when = _seconds(article)
        same = []
        for candidate in index.candidates(features):
            if candidate not in closed:
                continue
            margin = index.margin(candidate, features, when)
            shares = not features.links.isdisjoint(cited[candidate])
            if margin > 0.0 or shares:
                same.append((margin, shares, candidate))
        if same:
            _, shares, best = max(same)
            votes[best] += 1
            if shares:
                linked.add(best)
    return votes, linked


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
