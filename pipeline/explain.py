"""Why articles were joined: per story member, the features it shares with the rest.

An editor who finds two articles in one story needs to see what tied them (the
versioned model name, the figure, the paper link) to trust the grouping or to
split it. The explanation is read off the clusterer's own features
(``StoryIndex.features``), weighted as the clusterer weighs them, so it shows
the evidence that placed the article and not a second opinion:

- a term or name contributes its weight in the member's vector times its weight
  in the sum of the other members' vectors, over that sum's length; these
  contributions add up to the member's similarity (the cosine with the rest);
- names and figures of texts with a body also count through their own vectors,
  scaled as ``StoryIndex.margin`` scales them (``entity_weight``,
  ``number_weight``, the text's length and how many it states; their bars,
  which move every story alike, are left out);
- the primary-source links another member cites too share ``link_bonus``.

Terms weigh as the last clustering run weighed them: their prior lowered by
the share of the open stories naming them (``pipeline.spread``, read from the
snapshot each run stores), so what every story of the week names shows as
little evidence as it was. The rest is the story as it stands, not as it was when the article arrived:
what an editor judges is whether the article belongs with the others now.
Near-duplicate copies never move a story's centroid, so they are left out of
"the rest"; a copy itself is explained against the other members, its original
among them.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field

from . import text
from .cluster import ClusterParams
from .cluster_index import Features, StoryIndex, Vector
from .models import Article, Placement, SharedFeature
from .spread import StorySpread

_DIGIT = re.compile(r"\d")  # a key opening with one is a figure: "405", "3.5_%", "405b"
_BARE_NUMBER = re.compile(r"\d[\d.,]*")
_TINY = 1e-9  # what subtracting a member back out of a sum leaves of a term it alone had


def explain(
    articles: Sequence[Article],
    params: ClusterParams | None = None,
    top: int = 5,
    spread: StorySpread | None = None,
) -> dict[int, Placement]:
    """Each member's similarity to the rest of its story and its ``top`` shared features.

    Keyed by article id. A story of one article has nothing to share: the
    result is empty. ``spread`` is what the open stories all name, as the last
    clustering run left it (``weighing``): without it, terms weigh their prior
    alone, and a lab every story names could pass for evidence.
    """
    if len(articles) < 2:
        return {}
    params = params or ClusterParams()
    index = StoryIndex(params)
    if spread is not None:
        index.spread = spread
    features = {a.id: index.features(a) for a in articles}
    total = _sum([features[a.id] for a in articles if a.duplicate_of is None])
    named = {key for f in features.values() for key in f.entities}
    ranked = {
        a.id: _ranked(
            features[a.id],
            _without(total, features[a.id] if a.duplicate_of is None else None),
            index,
            named,
            2 * top,  # spare ones: two keys may read as one feature ("405b", "405_b")
        )
        for a in articles
    }
    keys = {key for _, found in ranked.values() for key, _, _ in found}
    leads = (part for a in articles for part in (a.title, _lead(a.body, params.body_words)))
    spelled = text.spellings(leads, keys | {p for key in keys for p in key.split("_")})
    return {
        article_id: Placement(article_id, similarity, _shown(found, spelled)[:top])
        for article_id, (similarity, found) in ranked.items()
    }


def weighing(snapshot: tuple[Mapping[str, int], int], params: ClusterParams) -> StorySpread:
    """The spread an explanation weighs terms by, from the stored snapshot (``store.spread.load``)."""
    counts, open_stories = snapshot
    return StorySpread.restored(counts, open_stories, params.spread_share, params.spread_mass)


def _ranked(
    own: Features, rest: _Rest, index: StoryIndex, named: Set[str], limit: int
) -> tuple[float, list[tuple[str, str, float]]]:
    """The member's similarity to the rest and its heaviest shared (key, kind, weight)."""
    similarity, weights, links = _contributions(own, rest, index)
    found = sorted(_fold_numbers(weights).items(), key=lambda item: (-item[1], item[0]))
    return similarity, [
        (key, "link" if key in links else _kind(key, named), weight)
        for key, weight in found[:limit]
    ]


def _lead(body: str, words: int) -> str:
    """The part of the body the clusterer reads (``ClusterParams.body_words``)."""
    return " ".join(body.split()[:words])


@dataclass(slots=True)
class _Rest:
    """Members summed: their vectors, their text lengths, the links they cite."""

    vector: Vector = field(default_factory=dict)
    entities: Vector = field(default_factory=dict)
    numbers: Vector = field(default_factory=dict)
    links: Counter[str] = field(default_factory=Counter)
    size: int = 0
    length_sum: int = 0

    def spaces(self, member: Features) -> tuple[tuple[Vector, Vector], ...]:
        """Each summed vector beside the member's vector of the same kind."""
        return (
            (self.vector, member.vector),
            (self.entities, member.entities),
            (self.numbers, member.numbers),
        )


def _sum(members: Sequence[Features]) -> _Rest:
    total = _Rest()
    for member in members:
        for summed, vector in total.spaces(member):
            for key, value in vector.items():
                summed[key] = summed.get(key, 0.0) + value
        total.links.update(member.links)
        total.size += 1
        total.length_sum += member.length
    return total


def _without(total: _Rest, member: Features | None) -> _Rest:
    """The sum with ``member`` taken back out (or as it is, for a copy outside the sum)."""
    rest = _Rest(
        dict(total.vector),
        dict(total.entities),
        dict(total.numbers),
        Counter(total.links),
        total.size,
        total.length_sum,
    )
    if member is None:
        return rest
    for summed, vector in rest.spaces(member):
        for key, value in vector.items():
            left = summed[key] - value
            if left > _TINY:
                summed[key] = left
            else:
                del summed[key]
    rest.links.subtract(member.links)
    rest.size -= 1
    rest.length_sum -= member.length
    return rest


def _contributions(
    own: Features, rest: _Rest, index: StoryIndex
) -> tuple[float, dict[str, float], list[str]]:
    """The member's cosine with the rest, what each shared key adds to its similarity, the links.

    Terms, names and figures are keyed as the clusterer keys them, links by
    their one spelling (``primary_links``), which no term can take.
    """
    params = index.params
    weights = _shares(own.vector, rest.vector)
    similarity = sum(weights.values())
    if rest.size:
        frac = index.longness(min(float(own.length), rest.length_sum / rest.size))
        for vector, total, weight, full in (
            (own.entities, rest.entities, params.entity_weight, params.entity_full),
            (own.numbers, rest.numbers, params.number_weight, params.number_full),
        ):
            scale = weight * frac * min(1.0, len(vector) / full)
            for key, value in _shares(vector, total).items():
                weights[key] = weights.get(key, 0.0) + scale * value
    links = sorted(link for link in own.links if rest.links[link] > 0)
    for link in links:
        weights[link] = params.link_bonus / len(links)
    return similarity, weights, links


def _shares(vector: Vector, total: Vector) -> Vector:
    """Each shared key's part of the cosine of a unit ``vector`` with a summed ``total``."""
    norm = math.hypot(*total.values())
    if not norm:
        return {}
    return {key: vector[key] * total[key] / norm for key in vector.keys() & total.keys()}


def _kind(key: str, named: Set[str]) -> str:
    """A figure (a number, with its unit or not), a name, or a plain term."""
    if _DIGIT.match(key):
        return "figure"
    if "_" in key or key in named or _DIGIT.search(key):
        return "name"  # a multi-word or versioned name ("gpt-4o"), or a capitalised word
    return "term"


def _fold_numbers(weights: dict[str, float]) -> dict[str, float]:
    """A bare number folded into the heaviest joined key that holds it: "405 billion", "Tern 3".

    Both count in the similarity (the number as a term and a stated figure,
    the name as a name); an editor reads them as one fact.
    """
    holders: dict[str, list[str]] = {}
    for key in weights:
        if "_" in key:
            for part in key.split("_"):
                holders.setdefault(part, []).append(key)
    folded = dict(weights)
    for key in weights:
        if key in holders and _BARE_NUMBER.fullmatch(key):
            target = max(holders[key], key=lambda k: (weights[k], k))
            folded[target] += folded.pop(key)
    return folded


def _shown(
    found: list[tuple[str, str, float]], spelled: dict[str, str]
) -> tuple[SharedFeature, ...]:
    """The features as the articles write them, heaviest first; keys that read alike are one.

    "claud_3_opus" reads "Claude 3 Opus", "14_%" reads "14%", and "405b" and
    "405_b" both read "405B". A word capitalised somewhere ("Generative AI")
    but mostly written in lower case is a term, not a name; one written with
    inner capitals ("xAI") is a name.
    """
    merged: dict[str, SharedFeature] = {}
    for key, kind, weight in found:
        words = key if kind == "link" else spelled.get(key) or _words(key, spelled)
        if kind == "name" and words.islower() and words.isalpha():
            kind = "term"
        elif kind == "term" and not words[1:].islower():
            kind = "name"
        same = merged.get(words.casefold())
        if same is not None:
            weight += same.weight
            kind = same.kind
        merged[words.casefold()] = SharedFeature(words, kind, weight)
    return tuple(sorted(merged.values(), key=lambda f: (-f.weight, f.feature)))


def _words(key: str, spelled: dict[str, str]) -> str:
    """A joined key read part by part: "claud_3_opus" → "Claude 3 Opus"."""
    return " ".join(spelled.get(part, part) for part in key.split("_") if part).replace(" %", "%")
