"""Headline and extractive, cited summary of one story.

A story's sources are numbered 1..k, one entry per distinct outlet in order of
first publication; a near-duplicate copy folds into the entry of the article
it copies, so syndication never inflates the count.

The summary is extractive, so it needs no model and cannot invent facts:
candidate sentences (that pass ``sentences.reject_reason``) are scored by

    centrality × (1 + cross-source agreement) × lead position prior × outlet weight

where centrality is the cosine to the story centroid (each outlet's text
counts once, whatever its length), cross-source agreement is the share of the
other outlets that have a similar sentence (a degree centrality across
sources, LexRank-style), the position prior favours the first sentences of an
article (news puts the facts first), and outlet weight favours authorities.
Sentences are then picked by maximal marginal relevance, skipping any too
similar to one already chosen: first the lead from each article's opening
sentences, then the key points from everything.

Each chosen sentence cites its own source plus every other source with one
sentence stating the same thing (single-sentence ``sentences.support`` ≥
``merge_support``). ``verify_citations`` is the one check both this path and
the LLM path pass through.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .models import Article, Citation, Summary, SummarySentence
from .sentences import (
    clean_headline,
    content_terms,
    has_verb,
    reject_reason,
    split_sentences,
    support,
)

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SummaryParams:
    """Tunable knobs of the extractive summarizer and of the citation checks."""

    lead_sentences: int = 2
    points: int = 5
    single_source_lead: int = 2
    single_source_points: int = 3
    lead_positions: int = 4  # the lead comes from each article's first sentences
    mmr_lambda: float = 0.6
    redundancy: float = 0.3  # highest cosine allowed between two chosen sentences
    agreement_similarity: float = 0.3  # cosine at which another outlet "has" a sentence
    merge_support: float = 0.85  # single-sentence support another source needs to be cited too
    support_threshold: float = 0.6  # support a cited source needs to pass verification
    sentences_per_article: int = 40


@dataclass(frozen=True, slots=True)
class CitationProblem:
    """One failed citation check: which sentence, which number, and why."""

    part: str  # "lead", "points" or "sources"
    index: int
    number: int | None
    reason: str

    def __str__(self) -> str:
        cited = f" [{self.number}]" if self.number is not None else ""
        return f"{self.part}[{self.index}]{cited}: {self.reason}"


@dataclass(slots=True)
class _Candidate:
    text: str
    number: int
    position: int
    weight: float
    terms: dict[str, float] = field(default_factory=dict)


def number_sources(members: Sequence[Article]) -> tuple[Citation, ...]:
    """The story's numbered sources: one per distinct outlet, by first publication."""
    groups: dict[str, list[Article]] = {}
    for article in sorted(members, key=lambda a: a.time_order):
        groups.setdefault(_outlet_key(_root(article, members)), []).append(article)
    citations = []
    for number, articles in enumerate(groups.values(), start=1):
        main = next((a for a in articles if a.duplicate_of is None), articles[0])
        citations.append(
            Citation(
                number=number,
                outlet=_root(main, members).outlet,
                title=clean_headline(main.title, main.outlet),
                url=main.url,
                published_at=main.when,
                article_ids=tuple(a.id for a in articles),
            )
        )
    return tuple(citations)


def source_texts(members: Sequence[Article], sources: Sequence[Citation]) -> dict[int, str]:
    """Citation number → everything its articles say (titles, feed summaries, texts)."""
    by_id = {a.id: a for a in members}
    texts = {}
    for citation in sources:
        parts = []
        for article_id in citation.article_ids:
            article = by_id[article_id]
            parts += [article.title, article.feed_summary, article.text]
        texts[citation.number] = "\n".join(p for p in parts if p)
    return texts


# A short label before a colon marks a column or newsletter item ("Paper notes:",
# "Frontier Signal:"), not a headline written for the story.
_COLUMN_LABEL = re.compile(r"^[^:]{2,24}:\s+\S")


def choose_headline(members: Sequence[Article]) -> str:
    """The most representative cleaned title: closest to all titles' centroid.

    Questions, titles without a verb, very short or very long titles are
    penalised and heavier outlets favoured a little; ties go to the earliest article.
    """
    originals = [a for a in sorted(members, key=lambda a: a.time_order) if a.title.strip()]
    titles = [(clean_headline(a.title, a.outlet), a) for a in originals]
    if not titles:
        return ""
    vectors = [_unit(content_terms(t)) for t, _ in titles]
    centroid: dict[str, float] = {}
    for vector in vectors:
        for term, value in vector.items():
            centroid[term] = centroid.get(term, 0.0) + value

    def merit(index: int) -> tuple[float, int]:
        title, article = titles[index]
        words = len(title.split())
        penalty = 0.3 * title.endswith("?") + 0.15 * (words < 6) + 0.1 * (words > 16)
        penalty += 0.15 * (not has_verb(title))
        penalty += 0.25 * bool(_COLUMN_LABEL.match(title))  # "Paper notes: ...", "Weekly: ..."
        penalty += 0.2 * (article.duplicate_of is not None)  # a syndicated copy's retitling
        fit = sum(v * centroid[t] for t, v in vectors[index].items()) / len(titles)
        return (round(fit - penalty + 0.15 * article.source_weight, 6), -index)

    return titles[max(range(len(titles)), key=merit)][0]


def summarize(members: Sequence[Article], params: SummaryParams | None = None) -> Summary:
    """Headline, lead and key points of a story, every sentence cited."""
    params = params or SummaryParams()
    sources = number_sources(members)
    headline = choose_headline(members)
    # The lead should not repeat the headline, unless the headline is all there is.
    candidates = _candidates(members, sources, params, headline) or _candidates(
        members, sources, params, ""
    )
    if not candidates:
        return Summary(headline, (), (), sources)
    single = len(sources) == 1
    lead_n = params.single_source_lead if single else params.lead_sentences
    points_n = params.single_source_points if single else params.points
    matrix, shared = _matrix(candidates)
    similarity = matrix[:, :shared] @ matrix[:, :shared].T
    scores = _scores(candidates, matrix, similarity, len(sources), params)
    leadable = [i for i, c in enumerate(candidates) if c.position < params.lead_positions]
    lead = _mmr(leadable, scores, similarity, [], lead_n, params)
    points = _mmr(range(len(candidates)), scores, similarity, lead, points_n, params)
    texts = source_texts(members, sources)
    summary = Summary(
        headline=headline,
        lead=tuple(_cite(candidates[i], texts, params) for i in lead),
        points=tuple(_cite(candidates[i], texts, params) for i in points),
        sources=sources,
    )
    for problem in verify_citations(summary, texts, params.support_threshold):
        LOGGER.warning("extractive summary failed a citation check: %s", problem)
    return summary


def verify_citations(
    summary: Summary, sources_text: Mapping[int, str], threshold: float = 0.6
) -> list[CitationProblem]:
    """Every way the summary's citations fail: uncited, unknown or unsupported numbers.

    A cited source supports a sentence when ``sentences.support`` of the
    sentence against that source's text reaches ``threshold``.
    """
    problems = []
    numbers = [c.number for c in summary.sources]
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(CitationProblem("sources", 0, None, "sources are not numbered 1..k"))
    for part, sentences in (("lead", summary.lead), ("points", summary.points)):
        for index, sentence in enumerate(sentences):
            if not sentence.citations:
                problems.append(CitationProblem(part, index, None, "no citation"))
            for number in sentence.citations:
                if number not in sources_text:
                    problems.append(CitationProblem(part, index, number, "no such source"))
                    continue
                level = support(sentence.text, sources_text[number])
                if level < threshold:
                    reason = f"source does not state it (support {level:.2f})"
                    problems.append(CitationProblem(part, index, number, reason))
    return problems


def _root(article: Article, members: Sequence[Article]) -> Article:
    """The article a copy copies (following chains), when it is in the story."""
    by_id = {a.id: a for a in members}
    seen = {article.id}
    while article.duplicate_of in by_id and article.duplicate_of not in seen:
        article = by_id[article.duplicate_of]
        seen.add(article.id)
    return article


def _outlet_key(article: Article) -> str:
    return article.outlet.casefold().strip() or f"source:{article.source_id}"


def _candidates(
    members: Sequence[Article], sources: Sequence[Citation], params: SummaryParams, headline: str
) -> list[_Candidate]:
    """Standalone sentences of every original article; titles stand in for headline-only items.

    A title is a shorter sentence than most, so it needs four words, not six.
    """
    by_id = {a.id: a for a in members}
    found: list[_Candidate] = []
    seen = {headline.casefold() + "."}
    for citation in sources:
        for article_id in citation.article_ids:
            article = by_id[article_id]
            if article.duplicate_of in by_id:
                continue  # a copy says nothing its original does not
            body = article.text or article.feed_summary
            title = clean_headline(article.title)
            sentences = split_sentences(body) if body else [title + "." * (title[-1:] not in ".!?")]
            for position, text in enumerate(sentences[: params.sentences_per_article]):
                key = text.casefold()
                if key in seen or reject_reason(text, 6 if body else 4) is not None:
                    continue
                seen.add(key)
                terms = content_terms(text)
                if terms:
                    found.append(
                        _Candidate(text, citation.number, position, article.source_weight, terms)
                    )
    return found


def _matrix(
    candidates: Sequence[_Candidate],
) -> tuple[np.ndarray[Any, np.dtype[np.float32]], int]:
    """Unit-length rarity-weighted term vectors, one row per candidate.

    Terms held by two or more candidates come first, and their count is
    returned: only those columns matter for the similarity of two sentences.
    """
    frequency: dict[str, int] = {}
    for candidate in candidates:
        for term in candidate.terms:
            frequency[term] = frequency.get(term, 0) + 1
    order = sorted(frequency, key=lambda t: frequency[t] < 2)
    vocabulary = {term: column for column, term in enumerate(order)}
    matrix = np.zeros((len(candidates), len(vocabulary)), dtype=np.float32)
    for row, candidate in enumerate(candidates):
        for term, value in candidate.terms.items():
            matrix[row, vocabulary[term]] = value
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)
    return matrix, sum(1 for n in frequency.values() if n > 1)


def _scores(
    candidates: Sequence[_Candidate],
    matrix: np.ndarray[Any, np.dtype[np.float32]],
    similarity: np.ndarray[Any, np.dtype[np.float32]],
    source_count: int,
    params: SummaryParams,
) -> np.ndarray[Any, np.dtype[np.float32]]:
    numbers = np.array([c.number for c in candidates])
    outlets = [matrix[numbers == n].sum(axis=0) for n in range(1, source_count + 1)]
    outlets = [v / n for v in outlets if (n := np.linalg.norm(v)) > 0]
    centroid = np.mean(outlets, axis=0)
    centrality = matrix @ (centroid / max(float(np.linalg.norm(centroid)), 1e-12))
    agreement = np.zeros(len(candidates))
    if source_count > 1:
        for number in range(1, source_count + 1):
            mask = numbers == number
            if mask.any():
                has = similarity[:, mask].max(axis=1) >= params.agreement_similarity
                agreement += has & ~mask
        agreement /= source_count - 1
    position = np.array([c.position for c in candidates])
    prior = 0.6 + 0.4 / (1.0 + 0.3 * position)
    weight = np.array([0.75 + 0.5 * c.weight for c in candidates])
    result: np.ndarray[Any, np.dtype[np.float32]] = centrality * (1 + agreement) * prior * weight
    return result


def _mmr(
    pool: Sequence[int] | range,
    scores: np.ndarray[Any, np.dtype[np.float32]],
    similarity: np.ndarray[Any, np.dtype[np.float32]],
    chosen: Sequence[int],
    count: int,
    params: SummaryParams,
) -> list[int]:
    """Pick ``count`` of ``pool`` by maximal marginal relevance, never near-repeating one."""
    picked: list[int] = []
    remaining = np.array([i for i in pool if i not in chosen], dtype=int)
    relevance = params.mmr_lambda * scores / (float(scores.max()) or 1.0)
    while remaining.size and len(picked) < count:
        taken = np.array(list(chosen) + picked, dtype=int)
        overlap = np.zeros(remaining.size, dtype=np.float32)
        if taken.size:
            overlap = similarity[np.ix_(remaining, taken)].max(axis=1)
        best = int(np.argmax(relevance[remaining] - (1 - params.mmr_lambda) * overlap))
        if float(overlap[best]) <= params.redundancy:
            picked.append(int(remaining[best]))
        remaining = np.delete(remaining, best)
    return picked


def _cite(
    candidate: _Candidate, texts: Mapping[int, str], params: SummaryParams
) -> SummarySentence:
    """The sentence with its own source number plus every other source stating it."""
    numbers = [candidate.number] + [
        n
        for n, text in texts.items()
        if n != candidate.number
        and support(candidate.text, text, 1, params.merge_support) >= params.merge_support
    ]
    return SummarySentence(candidate.text, tuple(sorted(numbers)))


def _unit(vector: dict[str, float]) -> dict[str, float]:
    norm = sum(v * v for v in vector.values()) ** 0.5 or 1.0
    return {t: v / norm for t, v in vector.items()}
