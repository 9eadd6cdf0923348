"""Living stories: is a story new today, an update, or unchanged since a digest carried it?

A story keeps its id and one permanent page for its whole life, and readers
of consecutive digests should never meet it twice unless it moved. So a
candidate for day D is compared with every article that digests before D
published (``published``, article id → first day):

- none of its articles was published: it is **new**;
- some were, and a source (an outlet) joined since: it is an **update**,
  first published on the earliest of those days, and ``new_sources`` are the
  numbers of the sources none of whose articles was published before;
- some were and no source joined: it is **unchanged** and left out, unless
  an editor pinned it (then it is an update with nothing new).

Comparing articles rather than story ids keeps this right across editors'
merges and splits: a story merged with a published one is an update of it,
and the part split off a published story is not news again by itself.

An update's "What's new" is 1 to 3 sentences from the new sources only,
preferring what the earlier sources did not state, each citing only new
sources (the digest's numbering).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlsplit

from slugify import slugify

from . import entities, summarize
from .models import NEW, UPDATE, Article, Citation, Summary, SummarySentence
from .sentences import content_terms, reject_reason, split_sentences, support

WHATS_NEW_MAX = 3
NOVEL_BELOW = 0.6  # a sentence the earlier sources support at least this much is not news
CITE_SUPPORT = 0.6  # another new source states a sentence when it supports it this much
SAYS_CAP = 40.0  # content-word weight beyond which a longer sentence says no more
POSITION_DECAY = 0.05  # the further down an article, the less a sentence is its news
MAX_WORDS = 45
SLUG_WORDS = 8
CORE_SHARE = 0.6  # a name in this share of a story's earlier headlines is its core
PRIMARY_BONUS = 0.5  # an update whose new sources include the primary one ranks this much higher
PAPER_HOSTS = frozenset({"arxiv.org", "www.arxiv.org", "doi.org", "openreview.net"})


@dataclass(frozen=True, slots=True)
class Edition:
    """How one digest carries one story."""

    kind: str  # NEW or UPDATE
    first_published: date | None  # None for a new story
    new_sources: tuple[int, ...]  # source numbers; empty for a new story


def classify(
    sources: Sequence[Citation], published: Mapping[int, date], pinned: bool = False
) -> Edition | None:
    """The story's edition, or None when an earlier digest carried it and nothing moved."""
    seen = [published[a] for c in sources for a in c.article_ids if a in published]
    if not seen:
        return Edition(NEW, None, ())
    joined = tuple(c.number for c in sources if not any(a in published for a in c.article_ids))
    if not joined and not pinned:
        return None
    return Edition(UPDATE, min(seen), joined)


def new_members(
    members: Sequence[Article], sources: Sequence[Citation], edition: Edition
) -> list[Article]:
    """The articles of the sources that joined since the story was last carried."""
    wanted = {a for c in sources if c.number in edition.new_sources for a in c.article_ids}
    return [a for a in members if a.id in wanted]


def whats_new(
    members: Sequence[Article], summary: Summary, edition: Edition
) -> tuple[SummarySentence, ...]:
    """Up to three sentences of the new sources, each citing only them; empty for a new story.

    Candidates are the new articles' sentences that pass the summarizer's
    sentence checks and that the earlier sources do not already state
    (``sentences.support`` below ``NOVEL_BELOW``). They score by how much they
    say (their content words' rarity, capped) times how new it is, a little
    less the further down their article they sit; each cites its own source
    and every other new source that states it. When the new sources only
    repeat what was said, the one sentence that repeats least stands in.
    """
    fresh = new_members(members, summary.sources, edition)
    if edition.kind != UPDATE or not fresh:
        return ()
    texts = summarize.source_texts(members, summary.sources)
    earlier = "\n".join(t for n, t in texts.items() if n not in edition.new_sources)
    by_id = {a.id: a for a in fresh}
    scored: list[tuple[float, float, int, int, SummarySentence]] = []
    seen: set[str] = set()
    for citation in summary.sources:
        if citation.number not in edition.new_sources:
            continue
        for article_id in citation.article_ids:
            article = by_id.get(article_id)
            body = article.body if article is not None else ""
            for position, sentence in enumerate(split_sentences(body)):
                key = sentence.casefold()
                if key in seen or reject_reason(sentence) or len(sentence.split()) > MAX_WORDS:
                    continue
                seen.add(key)
                stated = support(sentence, earlier) if earlier else 0.0
                says = min(sum(content_terms(sentence).values()), SAYS_CAP)
                value = says * (1 - stated) / (1 + POSITION_DECAY * position)
                cites = [citation.number] + [
                    n
                    for n in edition.new_sources
                    if n != citation.number and support(sentence, texts[n]) >= CITE_SUPPORT
                ]
                said = SummarySentence(sentence, tuple(sorted(cites)))
                scored.append((stated, -value, citation.number, position, said))
    # the novel ones by value; when the new sources only repeat, the least repeated one
    novel = [s for s in scored if s[0] < NOVEL_BELOW] or sorted(scored, key=lambda s: s[0])[:1]
    best = sorted(novel, key=lambda s: s[1])[:WHATS_NEW_MAX]
    return tuple(s[4] for s in sorted(best, key=lambda s: (s[2], s[3])))


def primary_sources(members: Sequence[Article], sources: Sequence[Citation]) -> tuple[int, ...]:
    """Sources that are papers (arXiv, DOI, OpenReview) or that other sources link to."""
    by_id = {a.id: a for a in members}
    numbers = []
    for citation in sources:
        own = [by_id[a] for a in citation.article_ids if a in by_id]
        addresses = {u for a in own for u in (a.url, a.canonical_url) if u}
        others = {link for a in members if a.id not in citation.article_ids for link in a.links}
        paper = any(urlsplit(u).hostname in PAPER_HOSTS for u in addresses)
        if paper or addresses & others:
            numbers.append(citation.number)
    return tuple(numbers)


def is_branch(fresh: Sequence[Article], earlier: Sequence[Article]) -> bool:
    """Whether the articles that joined tell a new event of the same actors, not this story.

    The core of a story is the specific things (models and products, papers,
    other names; not organisations, people or concepts, which recur across
    events) that nearly every earlier headline names. A continuation names
    them all again; a branch (the same company's next product, a new paper of
    the same lab) does not, and clustering on shared names may still have put
    it here.
    """
    if not fresh or not earlier:
        return False
    known = entities.gazetteer()
    kinds = {"model", "paper", "name"}
    counts: dict[str, int] = {}
    for article in earlier:
        for key in entities.named(article, known, title_only=True):
            if key.split(":", 1)[0] in kinds:
                counts[key] = counts.get(key, 0) + 1
    core = {k for k, n in counts.items() if n >= CORE_SHARE * len(earlier)}
    mentioned = set().union(*(entities.named(a, known) for a in fresh))
    return bool(core) and not core <= mentioned


def page_slug(headline: str, story_id: int) -> str:
    """The permanent page's name: ``<id>-<first words of the headline>``, ASCII, lower case."""
    words = slugify(headline, max_length=80, word_boundary=True).split("-")[:SLUG_WORDS]
    return "-".join([str(story_id), *(w for w in words if w)])


def _renumber(own: Sequence[Citation], story: Sequence[Citation]) -> dict[int, int]:
    """A sub-summary's source numbers → the story's, matched through their articles."""
    by_article = {a: c.number for c in story for a in c.article_ids}
    return {c.number: by_article[a] for c in own for a in c.article_ids[:1] if a in by_article}
