"""The in-memory story index behind ``pipeline.cluster``: vectors, centroids, postings.

Split from ``cluster`` so the public module reads as policy (who joins what,
editors' constraints, stable ids) while this one holds the mechanics that make
it fast: an inverted index from terms and primary-source links to the stories
still inside the time window, so the cost of placing one article depends on
how many open stories share its heaviest terms, never on how many stories
were ever seen.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice
from operator import itemgetter
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from . import text
from .models import Article
from .spread import StorySpread

if TYPE_CHECKING:
    from .cluster import ClusterParams

Vector = dict[str, float]

# Hosts whose links say who shared a story, not where it came from.
_SOCIAL_HOST_TEXT = """
    twitter.com x.com t.co facebook.com fb.com instagram.com linkedin.com threads.net
    reddit.com news.ycombinator.com youtube.com youtu.be tiktok.com mastodon.social
    bsky.app pinterest.com whatsapp.com telegram.me t.me discord.gg discord.com
    google.com news.google.com feedburner.com feeds.feedburner.com bit.ly
    wikipedia.org en.wikipedia.org
"""
_SOCIAL_HOSTS = frozenset(_SOCIAL_HOST_TEXT.split())
_NAVIGATION_PATH_TEXT = """
    about about-us contact privacy privacy-policy terms tos subscribe newsletter login
    signin signup register search tag tags category categories author authors feed rss
    share intent sharer home index careers jobs
"""
_NAVIGATION_PATHS = frozenset(_NAVIGATION_PATH_TEXT.split())
_IDF_CACHE_SIZE = 1_000_000
# Sort key in C: by weight then term (deterministic pruning).
_WEIGHT_THEN_TERM = itemgetter(1, 0)


def _votes_then_age(item: tuple[int, float]) -> tuple[float, int]:
    """Most votes first; on a tie the older story (lower id), whatever order the votes came in.

    The votes arrive in the iteration order of the posting sets, which depends
    on how each set grew and shrank: an index kept between runs and one seeded
    afresh hold the same sets built in different orders, and must shortlist alike.
    """
    return item[1], -item[0]


@dataclass(frozen=True, slots=True)
class Features:
    """What the index needs of one article: its vector, text length and primary links."""

    vector: Vector
    length: int  # distinct weighted terms before pruning: how much evidence the text holds
    links: frozenset[str]
    entities: Vector = field(default_factory=dict)  # unit vector of names; texts with a body
    numbers: Vector = field(default_factory=dict)  # unit vector of figures; texts with a body


@dataclass(slots=True)
class _Story:
    """One open story: its summed member vectors and what makes it findable."""

    id: int
    last: float  # POSIX seconds of its latest article
    first: float = 0.0  # POSIX seconds of its earliest article
    arrivals: int = 0  # articles placed, copies included: the story's pace
    centroid: Vector = field(default_factory=dict)
    norm: float = 0.0
    size: int = 0
    length_sum: int = 0
    indexed: tuple[str, ...] = ()
    links: set[str] = field(default_factory=set)
    entities: Vector = field(default_factory=dict)  # summed name vectors of members with a body
    entity_norm: float = 0.0
    numbers: Vector = field(default_factory=dict)  # summed number vectors of members with a body
    number_norm: float = 0.0

    @property
    def length(self) -> float:
        """Mean text length of the members: how long the story's evidence usually is."""
        return self.length_sum / self.size if self.size else 0.0


class FeatureCache:
    """Articles' features kept from one seeding of the index to the next.

    Computing an article's features is most of the cost of placing it (about
    2 ms for a full text), and an index seeded with the window's articles
    (hours of them) would compute them all again; a ``KeptIndex``
    (``pipeline.cluster_keep``) seeds only at start and when the store changed
    under it, and this cache makes that seeding cheap too.
    An entry is keyed by the article's id and checked against a hash of
    everything the features read, so an article whose text changed is
    computed afresh. Entries live one seeding past their last use, and
    ``forget`` drops those of stories gone for good, so the cache never
    outgrows the articles a seeding can reach.
    An article keeps the features it was first given, weighed against the
    stories open then (see ``pipeline.spread``), as in one pass over the stream.
    """

    def __init__(self) -> None:
        # article id → (hash of what its features read, its features)
        self._current: dict[int, tuple[int, Features]] = {}
        self._previous: dict[int, tuple[int, Features]] = {}
        self._params: ClusterParams | None = None
        self.hits = 0
        self.misses = 0

    def start_run(self, params: ClusterParams) -> None:
        """Begin a seeding: entries unused since the one before are dropped; new params drop all."""
        if params != self._params:
            self._current.clear()
            self._params = params
        self._previous, self._current = self._current, {}

    def features(self, index: StoryIndex, article: Article) -> Features:
        """The article's features: kept from an earlier run if it is unchanged, else computed."""
        read = hash(
            (article.title, article.body, article.links, article.canonical_url, article.url)
        )
        entry = self._current.get(article.id) or self._previous.pop(article.id, None)
        if entry is None or entry[0] != read:
            entry = (read, index.features(article))
            self.misses += 1
        else:
            self.hits += 1
        self._current[article.id] = entry
        return entry[1]

    def forget(self, article_ids: Iterable[int]) -> None:
        """Drop these articles' features (their stories left the window for good)."""
        for article_id in article_ids:
            self._current.pop(article_id, None)
            self._previous.pop(article_id, None)

    def __len__(self) -> int:
        return len(self._current) + len(self._previous)


def primary_links(article: Article) -> frozenset[str]:
    """The outbound links that can name a story's primary source, in one spelling each.

    A paper, a repository, a lab's post or a press release is evidence that two
    articles report the same thing; a home page, a social profile or a link back
    into the outlet's own site is not. arXiv versions and PDF links fold onto the
    abstract, GitHub links onto the repository.
    """
    if not article.links:
        return frozenset()
    own = _host(article.canonical_url or article.url)
    out: set[str] = set()
    for link in article.links:
        try:
            parts = urlsplit(link.strip())
        except ValueError:
            continue
        host = _host(link)
        if not host or parts.scheme not in ("http", "https") or host == own:
            continue
        if host in _SOCIAL_HOSTS or host.endswith(tuple("." + h for h in _SOCIAL_HOSTS)):
            continue
        segments = [s for s in parts.path.lower().split("/") if s]
        if not segments or segments[-1] in _NAVIGATION_PATHS or segments[0] in _NAVIGATION_PATHS:
            continue
        if host == "arxiv.org" and len(segments) >= 2 and segments[0] in ("abs", "pdf"):
            paper = segments[1].removesuffix(".pdf").split("v")[0]
            out.add(f"arxiv.org/abs/{paper}")
        elif host == "github.com":
            if len(segments) >= 2:
                out.add(f"github.com/{segments[0]}/{segments[1]}")
        else:
            out.add(f"{host}/{'/'.join(segments)}")
    return frozenset(out)


def _host(url: str) -> str:
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""
    return host.removeprefix("www.").removeprefix("m.")


class StoryIndex:
    """Stories within the time window, findable by their heaviest terms and their links.

    Term weights are sublinear TF × a ``wordfreq`` rarity prior (see
    ``text.prior_idf``): a corpus-independent IDF that is as sharp for the
    first headline of the day as for the thousandth. In texts with a body the
    prior is lowered by the share of open stories carrying the term (see
    ``pipeline.spread``), so the labs and model families every AI story names
    weigh little and an event's own names and figures tell events apart.
    """

    def __init__(self, params: ClusterParams) -> None:
        self.params = params
        self._stories: dict[int, _Story] = {}
        self._postings: dict[str, set[int]] = {}
        self._link_postings: dict[str, set[int]] = {}
        self._expiry: list[tuple[float, int]] = []
        self._idf = _Priors()
        self.spread = StorySpread(params.spread_share, params.spread_mass)

    def features(self, article: Article) -> Features:
        """The article's unit vector over title, body lead and names, pruned, plus links.

        An article with a body also gets a vector of the names in its lead and
        one of the numbers in its title and lead (see ``margin``).
        """
        params = self.params
        tf: dict[str, float] = {}
        title_weight = params.title_weight
        for term, count in Counter(text.terms(article.title)).items():
            tf[term] = count * title_weight
        for name in text.names(article.title):
            tf[name] = tf.get(name, 0.0) + title_weight * params.name_weight
        body = article.body
        lead_names: list[str] = []
        if body:
            lead = " ".join(body.split()[: params.body_words])
            for term, count in Counter(text.terms(lead)).items():
                tf[term] = tf.get(term, 0.0) + count
            lead_names = text.names(lead)
            for name in lead_names:
                tf[name] = tf.get(name, 0.0) + params.name_weight
        damping = self.spread.damping(self.longness(len(tf))) if body else 0.0
        vector = self._unit(tf, params.vector_terms, damping)  # heaviest first: the probe's head
        entities: Vector = {}
        numbers: Vector = {}
        if body:
            names = Counter(text.entities(lead, lead_names))
            entities = self._unit(names, params.entity_terms, damping)
            figures = Counter(text.numbers(lead))
            figures.update(text.numbers(article.title))  # the headline's figures count twice
            numbers = self._unit(figures, params.entity_terms, damping)  # "2", "2025" weigh little
        return Features(
            vector=vector,
            length=len(tf),
            links=primary_links(article),
            entities=entities,
            numbers=numbers,
        )

    def _unit(self, tf: dict[str, float] | Counter[str], k: int, damping: float) -> Vector:
        """Sublinear TF × rarity prior, pruned to the ``k`` heaviest terms, scaled to length 1.

        With ``damping`` (see ``StorySpread.damping``) a term carried by many
        open stories weighs less than its prior.
        """
        prior, log1p = self._idf, math.log1p
        if damping:
            spread = self.spread.counts.get
            weights = {
                term: log1p(freq) * prior[term] / (1.0 + damping * spread(term, 0) ** 2)
                for term, freq in tf.items()
            }
        else:
            weights = {term: log1p(freq) * prior[term] for term, freq in tf.items()}
        top = _heaviest(weights, k)
        norm = math.sqrt(sum([w * w for _, w in top])) or 1.0
        return {t: w / norm for t, w in top}

    def expire(self, now: float) -> list[int]:
        """Close the stories whose latest article is older than the window; their ids."""
        horizon = now - self.params.window_hours * 3600.0
        closed = []
        while self._expiry and self._expiry[0][0] < horizon:
            last, story_id = heapq.heappop(self._expiry)
            story = self._stories.get(story_id)
            if story is not None and story.last == last:  # else stale: the story grew since
                self._unindex(story)
                del self._stories[story_id]
                self.spread.close(story_id)
                closed.append(story_id)
        return closed

    def candidates(self, features: Features) -> list[int]:
        """The open stories most worth scoring: those sharing most of the article's weight.

        Stories are found through the article's heaviest terms and its primary
        links. A term indexed by more than ``max_posting`` open stories is too
        common in this window to tell them apart and is skipped; the rest vote
        with the article's weight, and only the ``shortlist`` best are returned,
        which bounds the cost of one article however busy the window is.
        """
        params = self.params
        votes: dict[int, float] = {}
        vote = votes.get
        postings, max_posting = self._postings, params.max_posting
        for term, weight in islice(features.vector.items(), params.probe_terms):
            posting = postings.get(term)
            if posting and len(posting) <= max_posting:
                for story_id in posting:
                    votes[story_id] = vote(story_id, 0.0) + weight
        for link in features.links:
            for story_id in self._link_postings.get(link, ()):
                votes[story_id] = votes.get(story_id, 0.0) + 1.0
        best = heapq.nlargest(params.shortlist, votes.items(), key=_votes_then_age)
        return sorted(story_id for story_id, _ in best)

    def margin(self, story_id: int, features: Features, when: float) -> float:
        """How far the article's similarity to the story clears the bar for joining it.

        Similarity is the cosine with the story's centroid, plus a bonus when both
        cite the same primary source. The bar depends on how much text the shorter
        side holds: two unrelated full articles of the same kind share many words
        (two earthquakes, two rehab stints), two headlines share almost none, so
        a fixed bar is either too low for the first or too high for the second.

        Time moves the bar for short texts only (shortness to ``time_shape``): a
        story still being covered at its own pace (mean gap between its articles,
        smoothed by ``time_scale_minutes``) lowers it by up to ``time_bonus``, a
        story gone quiet for many of its own gaps raises it by up to
        ``stale_penalty``. Full articles carry enough words to decide alone.
        Some shared content is always needed (``min_sim``): time never joins alone.

        Between texts with a body, the cosine of their names (``text.entities``)
        moves the similarity by up to ``entity_weight``, up when they name the
        same people and places more than ``entity_bar``, down when less; the
        cosine of the numbers they state (``text.numbers``) does the same with
        ``number_weight`` and ``number_bar``. What tells two same-kind events
        apart is who, where and how many (23 pirates captured or 26, the 2008
        fight or the 2012 one), which a cosine over every word dilutes. Both
        act in proportion to how much text the shorter side holds, like the bar,
        and to how many names (figures) the article states, up to
        ``entity_full`` (``number_full``): a text whose only name is "AI" agrees
        with every other text about AI, which says nothing about the event.
        """
        story = self._stories[story_id]
        centroid = story.centroid
        vector = features.vector
        dot = sum([vector[t] * centroid[t] for t in vector.keys() & centroid.keys()])
        sim = dot / story.norm if story.norm else 0.0
        if features.links and not features.links.isdisjoint(story.links):
            sim += self.params.link_bonus
        params = self.params
        if sim <= params.min_sim:
            return -1.0
        frac = self.longness(min(float(features.length), story.length))
        if features.entities and story.entity_norm:
            agreement = _cosine(features.entities, story.entities, story.entity_norm)
            weight = params.entity_weight * min(1.0, len(features.entities) / params.entity_full)
            sim += weight * frac * (agreement - params.entity_bar)
        if features.numbers and story.number_norm:
            agreement = _cosine(features.numbers, story.numbers, story.number_norm)
            weight = params.number_weight * min(1.0, len(features.numbers) / params.number_full)
            sim += weight * frac * (agreement - params.number_bar)
        bar = params.threshold_short + (params.threshold_long - params.threshold_short) * frac
        if params.time_bonus or params.stale_penalty:
            pace = (story.last - story.first + params.time_scale_minutes * 60.0) / story.arrivals
            fresh = math.exp(-max(when - story.last, 0.0) / (params.pace_factor * pace))
            shortness = (1.0 - frac) ** params.time_shape
            bar += (params.stale_penalty * (1.0 - fresh) - params.time_bonus * fresh) * shortness
        return sim - bar

    def longness(self, length: float) -> float:
        """0 for a bare headline, 1 for a full article, log-linear between."""
        params = self.params
        short, long = params.short_text_terms, params.long_text_terms
        frac = math.log(max(length, short) / short) / math.log(long / short)
        return min(frac, 1.0)

    def is_open(self, story_id: int) -> bool:
        return story_id in self._stories

    def last(self, story_id: int) -> float:
        """POSIX seconds of the open story's latest article."""
        return self._stories[story_id].last

    def drop(self, story_id: int) -> None:
        """Take an open story out entirely (to be added again member by member)."""
        story = self._stories.pop(story_id)
        self._unindex(story)
        self.spread.close(story_id)

    def add(self, story_id: int, features: Features, when: float, weight: float = 1.0) -> None:
        """Put an article into a story (opening it if needed) and update the index.

        ``weight=0`` (a near duplicate) keeps the story open longer but does not
        move its centroid: a syndicated copy repeats, it does not confirm.
        """
        story = self._stories.get(story_id)
        if story is None:
            story = self._stories[story_id] = _Story(id=story_id, last=when, first=when)
        story.last = max(story.last, when)
        story.first = min(story.first, when)
        story.arrivals += 1
        heapq.heappush(self._expiry, (story.last, story_id))
        if weight <= 0.0 and story.size:
            return
        weight = max(weight, 1e-3)  # a story's first article always defines it
        # The heaviest terms of a big story settle early: re-index it on a doubling
        # schedule rather than on every article, which keeps adding O(1) amortised.
        reindex = story.size < 8 or story.size & (story.size - 1) == 0 or bool(features.links)
        limit = self.params.centroid_terms
        story.norm = _accumulate(story.centroid, story.norm, features.vector, 1.0, weight, limit)
        if features.entities:
            story.entity_norm = _accumulate(
                story.entities, story.entity_norm, features.entities, 1.0, weight, limit
            )
        if features.numbers:
            story.number_norm = _accumulate(
                story.numbers, story.number_norm, features.numbers, 1.0, weight, limit
            )
        self.spread.add(story_id, features.vector.keys() | features.entities.keys())
        story.size += 1
        story.length_sum += features.length
        story.links |= features.links
        if reindex:
            self._reindex(story)

    def merge(self, keep: int, drop: int) -> None:
        """Fold story ``drop`` into story ``keep``: summed centroids, one span, one index entry.

        Centroids are sums of member vectors, so the merged story is what it
        would have been had every member joined ``keep`` directly.
        """
        story, gone = self._stories[keep], self._stories.pop(drop)
        self._unindex(gone)
        limit = self.params.centroid_terms
        story.norm = _accumulate(story.centroid, story.norm, gone.centroid, gone.norm, 1.0, limit)
        if gone.entities:
            story.entity_norm = _accumulate(
                story.entities, story.entity_norm, gone.entities, gone.entity_norm, 1.0, limit
            )
        if gone.numbers:
            story.number_norm = _accumulate(
                story.numbers, story.number_norm, gone.numbers, gone.number_norm, 1.0, limit
            )
        self.spread.merge(keep, drop)
        story.size += gone.size
        story.length_sum += gone.length_sum
        story.arrivals += gone.arrivals
        story.links |= gone.links
        story.first = min(story.first, gone.first)
        story.last = max(story.last, gone.last)
        heapq.heappush(self._expiry, (story.last, keep))
        self._reindex(story)

    def length(self, story_id: int) -> float:
        """Mean number of distinct terms of the story's members: headlines or full texts."""
        return self._stories[story_id].length

    def size(self, story_id: int) -> int:
        """Members of the story that moved its centroid (near duplicates do not)."""
        return self._stories[story_id].size

    def _unindex(self, story: _Story) -> None:
        for postings, keys in ((self._postings, story.indexed), (self._link_postings, story.links)):
            for key in keys:
                posting = postings.get(key)
                if posting is not None:
                    posting.discard(story.id)
                    if not posting:
                        del postings[key]

    def _reindex(self, story: _Story) -> None:
        """Index the story under its heaviest terms now, touching only the postings that change."""
        indexed = tuple(t for t, _ in _heaviest(story.centroid, self.params.index_terms))
        postings, kept = self._postings, set(indexed)
        for term in story.indexed:
            if term not in kept:
                posting = postings[term]
                posting.discard(story.id)
                if not posting:
                    del postings[term]
        for term in kept.difference(story.indexed):
            postings.setdefault(term, set()).add(story.id)
        story.indexed = indexed
        for link in story.links:  # links only grow
            self._link_postings.setdefault(link, set()).add(story.id)

    def __len__(self) -> int:
        return len(self._stories)

    def open_stories(self) -> Iterable[int]:
        return self._stories.keys()


class _Priors(dict[str, float]):
    """``text.prior_idf`` by term, computed on first sight; a hit costs no Python call."""

    def __missing__(self, term: str) -> float:
        prior = text.prior_idf(term)
        if len(self) < _IDF_CACHE_SIZE:
            self[term] = prior
        return prior


def _cosine(vector: Vector, total: Vector, norm: float) -> float:
    """Cosine of a unit ``vector`` with a summed ``total`` of length ``norm``."""
    return sum([vector[t] * total[t] for t in vector.keys() & total.keys()]) / norm


def _accumulate(
    total: Vector, norm: float, vector: Vector, vector_norm: float, weight: float, limit: int
) -> float:
    """Add ``weight`` × ``vector`` into ``total`` (of length ``norm``) in place; the new length.

    |t + w·v|² = |t|² + 2w(t·v) + w²|v|², so the length costs no pass over
    ``total``, except when it outgrows twice ``limit`` terms and is pruned.
    """
    dot = 0.0
    get = total.get
    for term, value in vector.items():
        old = get(term, 0.0)
        dot += old * value
        total[term] = old + weight * value
    if len(total) > 2 * limit:
        kept = dict(_heaviest(total, limit))
        total.clear()
        total.update(kept)
        return math.sqrt(sum([w * w for w in total.values()]))
    squared = norm * norm + 2.0 * weight * dot + weight * weight * vector_norm * vector_norm
    return math.sqrt(max(squared, 0.0))


def _heaviest(weights: dict[str, float], k: int) -> list[tuple[str, float]]:
    """The ``k`` heaviest items, ties broken by term so pruning is deterministic.

    ``sorted`` runs in C and beats ``heapq.nlargest`` at these sizes (tens to hundreds).
    """
    return sorted(weights.items(), key=_WEIGHT_THEN_TERM, reverse=True)[:k]
