"""Headline, lead and key points of a story, every sentence cited.

The extractive summarizer needs no model and cannot invent facts. It tells the
news by the story's shared content (``content``): every candidate sentence
(one that passes ``sentences.reject_reason``) is worth the agreement-weighted
units it carries (names, figures and event terms that several sources state),
times a style factor that demotes teasers, opinion and generic sentences.
Sentences of a stray member (a source the rest of the story does not back)
are never picked.

The lead's first sentence says who did what: among the opening sentences of
the sources, the one stating the event (a name, then an event verb) that
carries the most shared content, so it comes from the source that states the
event most completely. Then sentences are added greedily by their worth,
discounted for content the summary already carries, each skipped when it
mostly repeats one sentence already chosen; the points stay in that order,
most important first. A big
story's points are grouped under section labels (``sections``).

Each chosen sentence cites its own source plus every other source with one
sentence stating the same thing (single-sentence ``sentences.support`` ≥
``merge_support``). ``verify_citations`` is the one check both this path and
the LLM path pass through.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .content import StoryContent, states_event, story_content, style
from .headline import choose_headline
from .models import Article, Citation, Summary, SummarySentence
from .sections import label_points
from .sentences import clean_headline, content_terms, reject_reason, split_sentences, support

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SummaryParams:
    """Tunable knobs of the extractive summarizer and of the citation checks."""

    lead_sentences: int = 2
    points: int = 5
    single_source_lead: int = 2
    single_source_points: int = 3
    lead_positions: int = 6  # the lead's first sentence comes from each article's opening
    core_units: int = 8  # the story's most shared units, which the lead should state
    words_norm: int = 25  # sentences longer than this pay for their length (square root)
    new_content: float = 0.35  # share of its worth a sentence must add to each chosen one
    redundancy: float = 0.45  # highest cosine of all content words between two chosen sentences
    min_gain: float = 0.05  # of the first sentence's worth, that a further sentence must add
    section_sources: int = 5  # sources from which a story's points get section labels
    merge_support: float = 0.85  # single-sentence support another source needs to be cited too
    support_threshold: float = 0.6  # support a cited source needs to pass verification
    sentences_per_article: int = 40
    max_sources: int = 30
    """Sources a summary reads (see ``sources_read``); the source list still names them all."""


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


@dataclass(frozen=True, slots=True)
class _Candidate:
    text: str
    number: int
    position: int
    weight: float


def number_sources(members: Sequence[Article]) -> tuple[Citation, ...]:
    """The story's numbered sources: one per distinct outlet, by first publication."""
    by_id = {a.id: a for a in members}
    groups: dict[str, list[Article]] = {}
    for article in sorted(members, key=lambda a: a.time_order):
        groups.setdefault(_outlet_key(_root(article, by_id)), []).append(article)
    citations = []
    for number, articles in enumerate(groups.values(), start=1):
        main = next((a for a in articles if a.duplicate_of is None), articles[0])
        citations.append(
            Citation(
                number=number,
                outlet=_root(main, by_id).outlet,
                title=clean_headline(main.title, main.outlet),
                url=main.url,
                published_at=main.when,
                article_ids=tuple(a.id for a in articles),
            )
        )
    return tuple(citations)


def sources_read(
    members: Sequence[Article], sources: Sequence[Citation], limit: int
) -> tuple[Citation, ...]:
    """The sources a summary reads: the ``limit`` weightiest outlets, first reports first.

    A summary states a handful of facts, and thirty outlets agree on them as
    well as three thousand do; reading every source of an enormous story (a
    viral event, or a feed that publishes look-alike pages) would cost time
    and memory in proportion to it for the same seven sentences. What is not
    read is still listed and counted among the story's sources.
    """
    if len(sources) <= limit:
        return tuple(sources)
    weight = {a.id: a.source_weight for a in members}
    best = sorted(
        sources, key=lambda c: (-max(weight.get(i, 0.0) for i in c.article_ids), c.number)
    )[:limit]
    return tuple(sorted(best, key=lambda c: c.number))


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


def summarize(members: Sequence[Article], params: SummaryParams | None = None) -> Summary:
    """Headline, lead and key points of a story, every sentence cited."""
    params = params or SummaryParams()
    sources = number_sources(members)
    read = sources_read(members, sources, params.max_sources)
    texts = source_texts(members, read)
    content = story_content(texts)
    strays = {i for c in read if c.number in content.strays for i in c.article_ids}
    readable = {i for c in read for i in c.article_ids}
    headline = choose_headline([a for a in members if a.id in readable], content, strays)
    ranked = _ranked(members, read, content, params, headline)
    if not ranked:
        return Summary(headline, (), (), sources)
    single = len(sources) == 1
    lead_n = params.single_source_lead if single else params.lead_sentences
    points_n = params.single_source_points if single else params.points
    chosen = _select(ranked, content, lead_n + points_n, params)
    cited = [_cite(ranked[i][0], texts, params) for i in chosen]
    points = tuple(cited[lead_n:])
    summary = Summary(
        headline=headline,
        lead=tuple(cited[:lead_n]),
        points=points,
        sources=sources,
        sections=label_points(points, len(sources), params.section_sources),
    )
    for problem in verify_citations(summary, texts, params.support_threshold):
        LOGGER.warning("extractive summary failed a citation check: %s", problem)
    return summary


def rank_facts(
    members: Sequence[Article], params: SummaryParams | None = None, limit: int = 12
) -> list[tuple[SummarySentence, float]]:
    """The story's most informative sentences, cited, with their content score.

    The same scores the extractive summary picks by; the LLM prompt lists them
    so a model writes from the facts that matter.
    """
    params = params or SummaryParams()
    read = sources_read(members, number_sources(members), params.max_sources)
    texts = source_texts(members, read)
    content = story_content(texts)
    ranked = _ranked(members, read, content, params, "")
    best = sorted(range(len(ranked)), key=lambda i: -ranked[i][1])[:limit]
    return [(_cite(ranked[i][0], texts, params), round(ranked[i][1], 3)) for i in best]


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


def _root(article: Article, by_id: Mapping[int, Article]) -> Article:
    """The article a copy copies (following chains), when it is in the story."""
    seen = {article.id}
    original = article.duplicate_of
    while original is not None and original in by_id and original not in seen:
        article = by_id[original]
        seen.add(article.id)
        original = article.duplicate_of
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
                if content_terms(text):
                    found.append(_Candidate(text, citation.number, position, article.source_weight))
    return found


def _ranked(
    members: Sequence[Article],
    sources: Sequence[Citation],
    content: StoryContent,
    params: SummaryParams,
    headline: str,
) -> list[tuple[_Candidate, float]]:
    """Candidates outside stray sources, each with its score: shared content carried,
    times its style, over the square root of its length past ``words_norm``.

    The lead should not repeat the headline, unless the headline is all there is.
    """
    candidates = _candidates(members, sources, params, headline) or _candidates(
        members, sources, params, ""
    )
    kept = [c for c in candidates if c.number not in content.strays] or candidates
    ranked = []
    for candidate in kept:
        carried = content.units(candidate.text)
        length = max(1.0, len(candidate.text.split()) / params.words_norm) ** 0.5
        worth = sum(carried.values()) * style(candidate.text, carried) / length
        ranked.append((candidate, worth))
    return ranked


def _select(
    ranked: Sequence[tuple[_Candidate, float]],
    content: StoryContent,
    count: int,
    params: SummaryParams,
) -> list[int]:
    """The lead's event sentence, then greedily the sentences adding the most new content."""
    carried = [content.units(c.text) for c, _ in ranked]
    opening = [
        i
        for i, (c, _) in enumerate(ranked)
        if c.position < params.lead_positions and states_event(c.text)
    ]
    core = set(sorted(content.worth, key=lambda u: -content.worth[u])[: params.core_units])

    def lead_merit(index: int) -> float:
        """Content carried (at any length: the lead may be long), raised for the story's
        core units it states and for an early position."""
        candidate, units = ranked[index][0], carried[index]
        worth = sum(units.values()) * style(candidate.text, units)
        stated = len(core & set(units)) / max(len(core), 1)
        return worth * (0.5 + stated) * (1 + 0.3 / (1 + candidate.position))

    first = max(opening or range(len(ranked)), key=lead_merit)
    chosen, covered = [first], set(carried[first])
    floor = params.min_gain * ranked[first][1]
    while len(chosen) < count:
        best, best_gain = -1, floor
        for index, (_, worth) in enumerate(ranked):
            units = carried[index]
            total = sum(units.values())
            if index in chosen or worth <= 0 or total <= 0:
                continue
            gain = worth * sum(v for u, v in units.items() if u not in covered) / total
            if gain > best_gain and not _repeats(index, chosen, ranked, carried, params):
                best, best_gain = index, gain
        if best < 0:
            break
        chosen.append(best)
        covered.update(carried[best])
    return chosen


def _repeats(
    index: int,
    chosen: Sequence[int],
    ranked: Sequence[tuple[_Candidate, float]],
    carried: Sequence[Mapping[str, float]],
    params: SummaryParams,
) -> bool:
    """Whether a candidate mostly repeats one chosen sentence: in shared content, or in
    all its words."""
    units = carried[index]
    limit = (1 - params.new_content) * sum(units.values())
    text = ranked[index][0].text
    return any(
        sum(v for u, v in units.items() if u in carried[j]) > limit
        or _cosine(text, ranked[j][0].text) > params.redundancy
        for j in chosen
    )


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


def _cosine(a: str, b: str) -> float:
    """Cosine of two sentences' rarity-weighted content words."""
    x, y = content_terms(a), content_terms(b)
    dot = sum(v * y.get(t, 0.0) for t, v in x.items())
    norms = math.sqrt(sum(v * v for v in x.values()) * sum(v * v for v in y.values()))
    return dot / norms if norms else 0.0
