"""Is a story about AI? A transparent vocabulary score, plus editors' mute rules.

General tech feeds carry phone reviews and game launches next to model
releases. Each story gets a relevance value from a table of weighted terms
(positive for AI vocabulary, negative for the vocabulary of what we do not
cover), so anyone can read why a story was kept or left out, and settings can
extend the table. Stories from sources tagged "ai-only" are kept whatever they
say; mute rules (words, phrases, sources) leave a story out whatever its score.

How a story is scored: for each original member (copies are skipped), its
title (counted ``title_weight`` times), feed summary and the first
``body_words`` words of its text are matched against the vocabulary; a term
found n times adds ``weight × ln(1 + n)``, so repetition helps but saturates.
The story's value is the mean over its members, so one AI-heavy article does
not carry a cluster of unrelated ones, and a large story is not favoured over
a small one just for its size.

Vocabulary terms are words or phrases, matched on word boundaries, case
insensitive; a single word also matches its plural ("model" finds "models"),
and a trailing ``*`` matches any word starting so ("gpt*" finds "gpt-4o",
"ai-*" finds "ai-generated").
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from .models import Article

# Weighted AI vocabulary. Ambiguous words weigh less ("model", "agent"); names of
# labs and model families weigh most. Negative terms mark what we do not cover.
DEFAULT_VOCABULARY: Mapping[str, float] = {
    "artificial intelligence": 3.0,
    "machine learning": 3.0,
    "deep learning": 3.0,
    "neural network*": 3.0,
    "language model*": 3.0,
    "foundation model*": 3.0,
    "frontier model*": 3.0,
    "ai model*": 3.0,
    "ai system*": 2.5,
    "generative ai": 3.0,
    "genai": 3.0,
    "llm*": 3.0,
    "gpt*": 3.0,
    "openai": 3.0,
    "anthropic": 3.0,
    "deepmind": 3.0,
    "chatgpt": 3.0,
    "hugging face": 3.0,
    "agi": 3.0,
    "diffusion model*": 3.0,
    "reinforcement learning": 3.0,
    "ai safety": 3.0,
    "ai act": 3.0,
    "chatbot": 2.5,
    "deepfake": 2.0,
    "ai": 2.5,
    "ai-*": 2.5,
    "ai chip*": 3.0,
    "hbm": 1.5,
    "high-bandwidth memory": 1.5,
    "speech recognition": 2.0,
    "text-to-speech": 2.0,
    "a.i": 2.0,
    "claude": 2.0,
    "gemini": 1.5,
    "llama": 1.5,
    "mistral": 1.5,
    "copilot": 2.0,
    "midjourney": 2.0,
    "stable diffusion": 2.5,
    "grok": 1.5,
    "computer vision": 2.0,
    "inference": 1.5,
    "fine-tun*": 2.0,
    "training data": 2.0,
    "open-weight*": 2.0,
    "open weights": 2.0,
    "humanoid": 1.5,
    "nvidia": 1.5,
    "neural": 1.5,
    "parameters": 1.0,
    "alignment": 1.0,
    "benchmark": 1.0,
    "gpu": 1.0,
    "robot*": 1.0,
    "dataset": 1.0,
    "prompt": 1.0,
    "data center*": 1.0,
    "data centre*": 1.0,
    "model*": 0.5,
    "agent*": 0.5,
    "algorithm*": 0.5,
    "tokens": 0.5,
    # What a general tech feed carries that this digest does not.
    "smartphone": -1.0,
    "review": -0.5,
    "hands-on": -1.5,
    "battery life": -2.0,
    "camera": -0.5,
    "gaming": -1.0,
    "gameplay": -2.0,
    "playstation": -2.0,
    "xbox": -2.0,
    "nintendo": -2.0,
    "console": -1.0,
    "trailer": -1.0,
    "box office": -2.0,
    "headphones": -1.5,
    "earbuds": -1.5,
    "smartwatch": -1.5,
    "discount": -1.5,
    "black friday": -2.0,
    "bitcoin": -1.5,
    "crypto": -1.0,
    "cryptocurrenc*": -1.0,
}


@dataclass(frozen=True, slots=True)
class RelevanceParams:
    """Vocabulary, threshold and mute rules; settings extend the defaults.

    ``extra_vocabulary`` is merged over ``vocabulary`` (a term there replaces
    the default weight, a weight of 0 removes it). ``mute_terms`` are words,
    ``mute_phrases`` word sequences, both matched like vocabulary terms;
    ``mute_sources`` are outlet names or source ids (as text).
    """

    vocabulary: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_VOCABULARY))
    extra_vocabulary: Mapping[str, float] = field(default_factory=dict)
    threshold: float = 3.0
    always_tags: tuple[str, ...] = ("ai-only",)
    mute_terms: tuple[str, ...] = ()
    mute_phrases: tuple[str, ...] = ()
    mute_sources: tuple[str, ...] = ()
    title_weight: int = 2
    body_words: int = 400


@dataclass(frozen=True, slots=True)
class Relevance:
    """A story's AI relevance, whether it stays in the digest, and why."""

    value: float
    kept: bool
    reason: str
    matches: tuple[tuple[str, float], ...] = ()  # (term, contribution), largest first


class Vocabulary:
    """Weighted terms matched against text: the shared engine of relevance and sections."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.weights = {_normalize(t): w for t, w in weights.items() if w}
        self._longest = max((len(t.split()) for t in self.weights), default=1)
        self._prefixes = [
            (t[:-1], t) for t in self.weights if t.endswith("*") and " " not in t[:-1]
        ]
        self._phrase_prefixes = [
            (t[:-1], t) for t in self.weights if t.endswith("*") and " " in t[:-1]
        ]

    def counts(self, texts: Iterable[str]) -> Counter[str]:
        """How often each term occurs in the texts."""
        found: Counter[str] = Counter()
        for text in texts:
            words = _words(text)
            for size in range(1, self._longest + 1):
                for start in range(len(words) - size + 1):
                    term = self._match(" ".join(words[start : start + size]))
                    if term is not None:
                        found[term] += 1
        return found

    def score(self, texts: Iterable[str]) -> tuple[float, dict[str, float]]:
        """Σ weight × ln(1 + count) over the terms found, and each term's share."""
        parts = {t: self.weights[t] * math.log1p(n) for t, n in self.counts(texts).items()}
        return sum(parts.values()), parts

    def _match(self, gram: str) -> str | None:
        if gram in self.weights:
            return gram
        if " " not in gram:
            for stem, term in self._prefixes:
                if gram.startswith(stem):
                    return term
            if gram.endswith("s"):
                for singular in (gram[:-1], gram[:-2]):  # "models", "watches"
                    if singular in self.weights:
                        return singular
            return None
        head, _, last = gram.rpartition(" ")
        for stem, term in self._phrase_prefixes:
            if gram.startswith(stem) and stem.startswith(head + " "):
                return term
        if last.endswith("s") and head + " " + last[:-1] in self.weights:
            return head + " " + last[:-1]
        return None


def judge(
    members: Sequence[Article],
    params: RelevanceParams | None = None,
    source_tags: Mapping[int, Sequence[str]] | None = None,
) -> Relevance:
    """Score a story's AI relevance and decide, with a reason, whether it stays."""
    params = params or RelevanceParams()
    tags = source_tags or {}
    originals = [a for a in members if a.duplicate_of is None] or list(members)
    scopes = [story_text(a, params.title_weight, params.body_words) for a in originals]
    muted = _mute_reason(originals, scopes, params)
    vocabulary = Vocabulary({**params.vocabulary, **params.extra_vocabulary})
    total: dict[str, float] = {}
    for scope in scopes:
        for term, part in vocabulary.score(scope)[1].items():
            total[term] = total.get(term, 0.0) + part / len(scopes)
    value = round(sum(total.values()), 2)
    matches = tuple(sorted(((t, round(v, 2)) for t, v in total.items()), key=lambda m: -m[1]))
    shown = ", ".join(f"{t} {v:+.1f}" for t, v in matches[:4])
    if muted:
        return Relevance(value, False, muted, matches)
    always = [t for a in originals for t in tags.get(a.source_id, ()) if t in params.always_tags]
    if always:
        return Relevance(value, True, f"from a source tagged {always[0]!r}", matches)
    if value >= params.threshold:
        return Relevance(value, True, f"AI relevance {value:.1f} ({shown})", matches)
    reason = f"AI relevance {value:.1f} below {params.threshold:.1f}" + (
        f" ({shown})" if shown else ""
    )
    return Relevance(value, False, reason, matches)


def story_text(article: Article, title_weight: int, body_words: int) -> list[str]:
    """What of an article is matched: its title (repeated), feed summary and opening words."""
    body = " ".join(article.text.split()[:body_words])
    return [article.title] * title_weight + [article.feed_summary, body]


def _mute_reason(
    originals: Sequence[Article], scopes: Sequence[list[str]], params: RelevanceParams
) -> str | None:
    """Why mute rules leave the story out: all its outlets muted, or a muted word or phrase."""
    muted = {s.casefold() for s in params.mute_sources}
    if muted and all(a.outlet.casefold() in muted or str(a.source_id) in muted for a in originals):
        return f"muted source {originals[0].outlet!r}"
    rules = {_normalize(t): 1.0 for t in params.mute_terms + params.mute_phrases}
    if rules:
        found = Vocabulary(rules).counts(text for scope in scopes for text in scope)
        if found:
            return f"muted term {next(iter(found))!r}"
    return None


def _normalize(term: str) -> str:
    """Terms are matched on the same words as text; "ai-*" keeps its hyphen."""
    bare = term.rstrip("*")
    suffix = ("-" if bare.endswith("-") else "") + ("*" if term.endswith("*") else "")
    return " ".join(_words(bare)) + suffix


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+(?:[-.'’][a-z0-9]+)*", text.lower())
