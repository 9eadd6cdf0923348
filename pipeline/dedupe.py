"""Duplicate detection: the same article reached through another URL, feed or outlet.

Exact copies share a canonical URL, a global GUID or the hash of their
normalised text. Near copies (a wire story syndicated with small edits and a
new headline, a press release reposted) share most of their word shingles,
found through a MinHash LSH index (datasketch) so new articles are never
compared with every stored one. A copy is linked to the earliest-published
article of its group (``duplicate_of``); it stays in the story but counts once
towards the story's outlets.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH
from rapidfuzz import fuzz

from . import text
from .models import Article, DuplicateLink

__all__ = ["DedupeParams", "find_duplicates", "fingerprint"]

_NUM_PERM = 64
_SCHEME = "affine32"
_LONG_PREFIX = "L1:"  # body shingles of 4 words; the version lets the recipe change later
_SHORT_PREFIX = "S1:"  # title + summary shingles of 2 words
# A body this long is compared by its own shingles, headline ignored: syndicated
# copies often get a new headline. Part of the stored recipe, so not a parameter.
_LONG_TEXT_TOKENS = 40


@dataclass(frozen=True, slots=True)
class DedupeParams:
    """Thresholds of near-duplicate detection; the defaults suit news copy."""

    body_jaccard: float = 0.5
    """Estimated shingle Jaccard above which two bodies are one text with edits."""
    short_ratio: float = 92.0
    """rapidfuzz ratio of title + summary above which two short items are one text."""
    min_tokens: int = 12
    """Texts shorter than this are never duplicates by hash or shingles alone."""


def fingerprint(article: Article) -> tuple[str, str]:
    """``(content_hash, fingerprint)`` of an article, to store with it.

    The hash is of the normalised title and body (equal for byte-different
    exact copies); the fingerprint is a MinHash signature of its word shingles,
    hex-encoded, so stored articles need not be re-read to find near copies.
    """
    return text.content_hash((article.title, article.body)), _signature(article)[0]


def find_duplicates(
    new: Sequence[Article],
    candidates: Sequence[Article],
    params: DedupeParams | None = None,
) -> list[DuplicateLink]:
    """Links from each copy among ``new`` (or a stored copy that a new article predates) to
    the earliest-published article of its group; chains resolve to that root original.

    ``candidates`` are recent stored articles; an article is never its own duplicate.
    """
    params = params or DedupeParams()
    articles = {a.id: a for a in candidates}
    articles.update({a.id: a for a in new})
    groups = _Groups(articles)
    for a in candidates:
        if a.duplicate_of is not None and a.duplicate_of in articles:
            groups.union(a.id, a.duplicate_of, "existing", 1.0)
    _link_exact(articles.values(), groups, params)
    _link_near(articles.values(), groups, params)
    new_ids = {a.id for a in new}
    links: list[DuplicateLink] = []
    for article_id in sorted(articles):
        root = groups.root(article_id)
        if root == article_id:
            continue
        current = articles[article_id].duplicate_of
        if article_id in new_ids or current != root:
            reason, similarity = groups.why.get(article_id, ("near_duplicate", 1.0))
            if reason == "existing":
                reason = "near_duplicate"
            links.append(DuplicateLink(article_id, root, reason, round(similarity, 4)))
    return links


def _link_exact(articles: Iterable[Article], groups: _Groups, params: DedupeParams) -> None:
    """Union articles sharing a canonical URL, a global GUID or a substantial text hash."""
    first: dict[tuple[str, str], int] = {}
    for article in sorted(articles, key=lambda a: a.time_order):
        keys = [("canonical_url", article.canonical_url)]
        if _is_global_guid(article.guid):
            keys.append(("guid", article.guid.strip()))
        if len(text.tokenize(f"{article.title} {article.body}")) >= params.min_tokens:
            keys.append(("content_hash", article.content_hash or fingerprint(article)[0]))
        for kind, value in keys:
            if not value:
                continue
            seen = first.setdefault((kind, value), article.id)
            if seen != article.id:
                groups.union(article.id, seen, kind, 1.0)


def _link_near(articles: Iterable[Article], groups: _Groups, params: DedupeParams) -> None:
    """Union near copies: LSH finds likely pairs, an exact measure confirms each.

    Long bodies are confirmed by their estimated shingle Jaccard; short items
    (headline and a line of summary) by the rapidfuzz ratio of their normalised
    text, because a MinHash of a dozen words is too coarse to trust alone.
    """
    lsh = {
        _LONG_PREFIX: MinHashLSH(threshold=params.body_jaccard, num_perm=_NUM_PERM),
        _SHORT_PREFIX: MinHashLSH(threshold=0.5, num_perm=_NUM_PERM),
    }
    sketches: dict[int, MinHash] = {}
    short_texts: dict[int, str] = {}
    for article in sorted(articles, key=lambda a: a.time_order):
        signature, tokens = (
            (article.fingerprint, [])
            if article.fingerprint.startswith((_LONG_PREFIX, _SHORT_PREFIX))
            else _signature(article)
        )
        kind = signature[: len(_LONG_PREFIX)]
        if kind == _SHORT_PREFIX:
            tokens = text.tokenize(f"{article.title} {article.body}")
            short_texts[article.id] = " ".join(tokens)
        elif not tokens:
            tokens = ["long"] * _LONG_TEXT_TOKENS  # a stored long fingerprint: long by recipe
        if len(tokens) < params.min_tokens:
            continue
        values = np.frombuffer(bytes.fromhex(signature[len(kind) :]), dtype="<u4")
        sketch = MinHash(num_perm=_NUM_PERM, hashvalues=values, scheme=_SCHEME)
        for other in sorted(lsh[kind].query(sketch)):
            if kind == _LONG_PREFIX:
                similarity = float(sketch.jaccard(sketches[other]))
                ok = similarity >= params.body_jaccard
            else:
                similarity = fuzz.ratio(short_texts[article.id], short_texts[other]) / 100.0
                ok = similarity * 100.0 >= params.short_ratio
            if ok:
                groups.union(article.id, other, "near_duplicate", similarity)
        lsh[kind].insert(article.id, sketch)
        sketches[article.id] = sketch


def _signature(article: Article) -> tuple[str, list[str]]:
    """The MinHash fingerprint (kind prefix + hex) and the tokens it was built from."""
    body_tokens = text.tokenize(article.body)
    if len(body_tokens) >= _LONG_TEXT_TOKENS:
        prefix, tokens, k = _LONG_PREFIX, body_tokens, 4
    else:
        prefix, tokens, k = _SHORT_PREFIX, text.tokenize(f"{article.title} {article.body}"), 2
    sketch = MinHash(num_perm=_NUM_PERM, scheme=_SCHEME)
    sketch.update_batch([s.encode() for s in sorted(text.shingles(tokens, k))])
    return prefix + np.asarray(sketch.hashvalues, dtype="<u4").tobytes().hex(), tokens


def _is_global_guid(guid: str) -> bool:
    """GUIDs that name an article world-wide (a URL, a tag: or urn: id), not a feed's counter."""
    guid = guid.strip().lower()
    return len(guid) >= 12 and (guid.startswith(("tag:", "urn:")) or "://" in guid)


class _Groups:
    """Union-find whose root is always the earliest-published member (ties: lowest id)."""

    def __init__(self, articles: dict[int, Article]) -> None:
        self._parent = {i: i for i in articles}
        self._key = {i: a.time_order for i, a in articles.items()}
        self.why: dict[int, tuple[str, float]] = {}

    def root(self, i: int) -> int:
        while self._parent[i] != i:
            self._parent[i] = self._parent[self._parent[i]]
            i = self._parent[i]
        return i

    def union(self, a: int, b: int, reason: str, similarity: float) -> None:
        for x in (a, b):
            if x not in self.why or self.why[x][0] == "existing":
                self.why[x] = (reason, similarity)
        ra, rb = self.root(a), self.root(b)
        if ra == rb:
            return
        if self._key[rb] < self._key[ra]:
            ra, rb = rb, ra
        self._parent[rb] = ra
