"""Text primitives shared by dedupe and cluster: one definition of a word, a name, a hash.

Duplicate detection and story clustering must agree on what a token is, or a
copy that dedupe calls identical could look different to the clusterer. So the
normalisation, tokenisation, light stemming, name detection and the word-rarity
prior live here, once. Everything is pure and deterministic (no global state
beyond caches of pure functions), so the same text always gives the same
features in every run.
"""

from __future__ import annotations

import hashlib
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence, Set
from functools import lru_cache

import wordfreq

__all__ = [
    "content_hash",
    "entities",
    "is_roundup",
    "names",
    "normalize",
    "numbers",
    "prior_idf",
    "shingles",
    "spellings",
    "stem",
    "terms",
    "tokenize",
]

# Quotes, dashes and spaces that differ between outlets copying the same text.
_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u00a0": " ",
        "\u2009": " ",
        "\u200b": "",
    }
)
# A word: letters/digits, joined by inner hyphens, dots, apostrophes or ampersands
# ("GPT-4o", "3.1", "U.S", "AT&T", "O'Brien"); trailing punctuation is left out.
_WORD = re.compile(r"[^\W_]+(?:[-.'&][^\W_]+)*")
# Rarely informative for telling stories apart; wordfreq gives most of these a
# low weight anyway, the list keeps them out of indexes and vectors entirely.
_STOPWORD_TEXT = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    few for from further had has have having he her here hers herself him himself his
    how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours ourselves out over own same she should so some such
    than that the their theirs them themselves then there these they this those through
    to too under until up very was we were what when where which while who whom why will
    with would you your yours yourself yourselves says said say new via amid per vs get
    gets got one two may might must shall us it's that's he's she's they're we're i'm
    don't can't won't isn't
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_UNIT_TEXT = """
    percent % pct billion million trillion thousand bn m k km kilometres kilometers
    miles mph magnitude degrees people dead killed injured years year-old points pts gb
    tb mb ghz parameters params tokens b dollars euros pounds yen yuan
"""
_UNITS = frozenset(_UNIT_TEXT.split())
_VOWEL = re.compile(r"[aeiouy]")
# Names are found by regular expressions over the whole text (one C-level pass
# each), not by a Python loop over words: this runs on every article.
_NUMBER_UNIT = re.compile(
    r"(?<![\w.])(\d+(?:[.,]\d+)*)\s*("
    + "|".join(sorted(map(re.escape, _UNITS), key=len, reverse=True))
    + r")(?!\w)",
    re.IGNORECASE,
)
_MODEL = re.compile(r"\b(?:[A-Za-z]+[-.]?\d[\w.-]*|\d+[A-Za-z][\w.-]*)")
_DIGIT = re.compile(r"\d")
_CAPITAL = re.compile(r"[A-Z]")  # what opens each word of a capitalised run
# A number as written ("1,000", "6.1", "2008"), not digits inside a word ("GPT-4o", "26th")
# nor any part of an identifier ("2412.12542v1" would otherwise leave "2412").
_NUMBER = re.compile(r"(?<![\w.,])\d+(?:[.,]\d+)*(?![.,]?\w)")
_THOUSANDS = re.compile(r",(?=\d{3}\b)")
# A capitalised word that does not open a sentence: in running text, a name.
_INNER_CAPITAL = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-ZÀ-ÖØ-Þ][^\W\d_]+")
# A headline over several items: list separators or the words of a newsletter or wrap-up.
_ROUNDUP = re.compile(
    r"[;|•·]|\b(?:round-?up|recap|briefing|digest|newsletter|highlights|headlines|rundown"
    r"|wrap(?:-?up)?|what you missed|(?:news|things) to know|top stories|this week in"
    r"|week in review|today in|in brief)\b",
    re.IGNORECASE,
)
_CAPITALISED_RUN = re.compile(
    r"(?<![\w'])[A-Z][\w&'-]*(?:[ \t]+(?:[A-Z][\w&'-]*|\d+(?:\.\d+)*(?![\w-])))+"
)
# A stem is looked up through its commonest re-inflection ("caus" as "cause").
_REINFLECT = ("", "e", "s", "es", "ed", "ing", "y")
# Token → term, the hot path of every article; bounded so a hostile stream cannot grow it.
_TERM_CACHE_SIZE = 500_000
_TITLE_CASE_CHARS = 300  # Title Case is a headline style: longer texts are never in it
_COMMON_WORD = 1e-5  # frequency of Zipf 4 ("checks", "into"): surely not a name alone
_PRIOR_ZIPF_CEILING = 8.0  # Zipf of the commonest words ("the" is 7.7): weight ~0 there


def normalize(text: str) -> str:
    """Casefolded, Unicode-normalised text with unified quotes, dashes and spaces.

    Two outlets' copies of one wire story differ in curly quotes, dash kinds and
    whitespace; normalising those away makes exact hashes and shingles agree.
    """
    return " ".join(_unify(text).split()).casefold()


def _unify(text: str) -> str:
    """NFKC with unified quotes and dashes; ASCII text is already both, so it is skipped."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATE)


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens of ``text``, possessives stripped, punctuation dropped."""
    return [t[:-2] if t.endswith("'s") else t for t in _WORD.findall(normalize(text))]


@lru_cache(maxsize=200_000)
def stem(token: str) -> str:
    """A light English suffix stripper: "files", "filed", "filing" all become "fil".

    Headlines say the same thing in different inflections; a full stemmer
    (Porter) would conflate more than we want for names, so only plural and
    verb endings and a final "e" go, and never from short words, numbers or
    model names. Consistency matters here, not linguistic correctness.
    """
    if len(token) <= 3 or not token.isalpha():
        return token
    word = token
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    for suffix in ("ing", "ed"):
        base = word[: -len(suffix)]
        if word.endswith(suffix) and len(base) >= 3 and _VOWEL.search(base):
            word = base
            if len(word) >= 4 and word[-1] == word[-2] and word[-1] not in "aeiouslz":
                word = word[:-1]  # "stopped" -> "stop", "running" -> "run"
            break
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def terms(text: str) -> list[str]:
    """Content terms of ``text``: tokens without stopwords or lone digits, stemmed."""
    words = _WORD.findall(_unify(text).casefold())  # as in ``normalize``: spacing is moot here
    return [term for term in map(_TERM_OF.__getitem__, words) if term]


def _term(token: str) -> str:
    """The term a token counts as, or "" for a stopword or a lone letter."""
    if token in _STOPWORDS or (len(token) == 1 and not token.isdigit()):
        return ""
    return stem(token)


class _TermOf(dict[str, str]):
    """Token → term, computed on first sight: a hit is one C-level lookup, no Python call."""

    def __missing__(self, word: str) -> str:
        term = _term(word[:-2] if word.endswith("'s") else word)
        if len(self) < _TERM_CACHE_SIZE:
            self[word] = term
        return term


_TERM_OF = _TermOf()


def names(text: str) -> list[str]:
    """Name-like phrases in ``text`` as single tokens: the strongest evidence of one event.

    Three kinds, each joined with ``_`` so it cannot collide with a plain term:
    capitalised multi-word names ("Betty Ford" → ``betty_ford``), product and
    model names with a version ("Claude 3 Opus" → ``claude_3_opus``, "GPT-4o" →
    ``gpt-4o``) and numbers with a unit ("6.1 magnitude" → ``6.1_magnitude``,
    "$19 billion" → ``$19_billion``). Capitalisation says nothing in a Title Case
    headline, so multi-word names are only read from sentence-case text.
    """
    source = _unify(text)
    found: list[str] = []
    if _DIGIT.search(source):  # most text has no number at all: skip two slow patterns
        found += [f"{n}_{u.lower()}" for n, u in _NUMBER_UNIT.findall(source)]
        found += [m.rstrip(".-").lower() for m in _MODEL.findall(source) if len(m) > 2]
    elif _CAPITAL.search(source, 1) is None:
        return found  # no capital past the first letter and no number: no run of two
    if len(source) <= _TITLE_CASE_CHARS and _is_title_case(source):
        return found  # capitals mark every word, not names
    for run in _CAPITALISED_RUN.findall(source):
        name: list[str] = []
        for word in run.split():
            possessive = word.endswith("'s")
            word = word[:-2] if possessive else word
            if word.lower() in _STOPWORDS:
                _close(name, found)
            else:
                name.append(word)
            if possessive:  # "Fed's Charles Plosser": the possessor is a name of its own
                _close(name, found)
        _close(name, found)
    return found


def entities(text: str, known_names: list[str] | None = None) -> list[str]:
    """Who, where and how much a running text is about: its names and capitalised words.

    Two events of the same kind (two earthquakes, two title fights of one
    champion) share nearly all their vocabulary and differ in the challenger,
    the town, the magnitude. This is ``names`` plus every capitalised word that
    does not open a sentence, as the term it counts as ("Rahman" → ``rahman``),
    so a single surname counts too. Meant for sentence-case body text. A
    caller that has the text's ``names`` already passes them as ``known_names``.
    """
    source = _unify(text)
    found = names(source) if known_names is None else list(known_names)
    for word in _INNER_CAPITAL.findall(source):
        term = _term(word.casefold())
        if term:
            found.append(term)
    return found


def numbers(text: str) -> list[str]:
    """The numbers a text states, thousands separators dropped ("1,000" → ``1000``).

    Two events of the same kind are told apart by their figures as much as by
    their names: 23 pirates captured or 26, a 6.1 or a 5.9 quake, the 2008
    fight or the 2012 one. The rarity prior weighs them like words: "2" and
    the current year are stated by every story, "208" and "6.1" by few.
    """
    if not _DIGIT.search(text):
        return []
    return [_THOUSANDS.sub("", n) for n in _NUMBER.findall(text)]


def is_roundup(title: str) -> bool:
    """Whether a headline announces several items ("Morning briefing: X; Y").

    Such a headline shares words with every story it lists, so it is no
    evidence that those stories are one; the clusterer never lets it merge them.
    """
    return _ROUNDUP.search(title) is not None


def _is_title_case(source: str) -> bool:
    """Whether ordinary words ("checks", "into", "again") are capitalised too.

    Names make many words of a sentence-case headline capitalised, so the test
    looks only at common words (and not the first word of the text).
    """
    frequencies = _frequencies()
    common = [
        w for w in _WORD.findall(source)[1:] if frequencies.get(w.lower(), 0.0) >= _COMMON_WORD
    ]
    return len(common) >= 2 and sum(1 for w in common if w[:1].isupper()) > len(common) / 2


def _close(name: list[str], found: list[str]) -> None:
    if len(name) >= 2:
        found.append("_".join(stem(w.lower()) for w in name))
    name.clear()


@lru_cache(maxsize=500_000)
def prior_idf(term: str) -> float:
    """How informative ``term`` is a priori, from its frequency in general English.

    ``wordfreq`` gives a Zipf value (log10 of occurrences per billion words);
    the prior is the distance below the commonest words, so "the" weighs ~0
    and a word wordfreq never saw (a new model or company name) weighs most.
    A corpus-independent prior matters for headline-only items and the first
    hours of a day, when the stream itself has too few documents to count.
    Joined names take the rarest part's value plus one: a phrase is rarer
    than its rarest word. ``term`` may be a stem (see ``stem``).
    """
    if "_" in term:
        parts = [p for p in term.split("_") if p]
        return max((prior_idf(p) for p in parts), default=0.0) + 1.0
    if term.isalpha():
        frequencies = _frequencies()
        best = max(frequencies.get(term + suffix, 0.0) for suffix in _REINFLECT)
        zipf = math.log10(best) + 9.0 if best > 0.0 else 0.0
    else:  # digits, "gpt-4o", "s&p": wordfreq's own tokenizer knows how to look these up
        zipf = wordfreq.zipf_frequency(term, "en")
    return max(_PRIOR_ZIPF_CEILING - zipf, 0.5)


@lru_cache(maxsize=1)
def _frequencies() -> dict[str, float]:
    """wordfreq's English table, loaded once: a dict lookup is 100× faster than its API."""
    return wordfreq.get_frequency_dict("en")


def shingles(tokens: Sequence[str], k: int = 4) -> set[str]:
    """Overlapping ``k``-token windows: the unit near-duplicate sketches compare.

    A text shorter than ``k`` tokens yields itself as its one shingle, so very
    short items still have something to compare.
    """
    if len(tokens) < k:
        return {" ".join(tokens)} if tokens else set()
    return {" ".join(tokens[i : i + k]) for i in range(len(tokens) - k + 1)}


def content_hash(parts: Iterable[str]) -> str:
    """A stable hash of the normalised text: equal for byte-different exact copies."""
    digest = hashlib.blake2b(digest_size=16)
    for part in parts:
        digest.update(" ".join(tokenize(part)).encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


def spellings(texts: Iterable[str], keys: Set[str]) -> dict[str, str]:
    """Each of ``keys`` (a term or a token) mapped to its commonest spelling in ``texts``.

    Features are casefolded and stemmed (``claud_3_opus``, ``releas``), which is
    what matching needs and not what an editor reads; this maps them back to a
    word as the articles wrote it ("Claude", "released", "1,000", "405B"). Ties go to
    the lower-case form, so a word capitalised only where it opens a sentence
    reads in lower case. A name read inside a word (``gpt`` from "GPT-4o", as
    ``entities`` reads it) is spelled from there; a key the texts never write
    is left out.
    """
    sources = [_unify(text) for text in texts]
    counts: Counter[tuple[str, str]] = Counter()
    for source in sources:
        words = _WORD.findall(source)
        folded = list(map(str.casefold, words))  # in C: most words match no key
        for word, token, term in zip(words, folded, map(_TERM_OF.__getitem__, folded), strict=True):
            if word.endswith("'s"):
                word, token = word[:-2], token[:-2]
            if token in keys:
                counts[token, word] += 1
            if term != token and term in keys:
                counts[term, word] += 1
        if not _DIGIT.search(source):
            continue
        for number in _NUMBER.findall(source):  # as ``numbers`` keys them: "1000" is "1,000"
            key = _THOUSANDS.sub("", number)
            if key in keys:
                counts[key, number] += 1
        for match in _NUMBER_UNIT.finditer(source):  # as ``names`` keys them: "405_b" is "405B"
            key = f"{match[1]}_{match[2].lower()}"
            if key in keys:
                counts[key, match[0]] += 1
    missing = keys - {key for key, _ in counts}
    for source in sources if missing else ():
        for word in _INNER_CAPITAL.findall(source):  # as ``entities`` reads "GPT" in "GPT-4o"
            term = _TERM_OF[word.casefold()]
            if term in missing:
                counts[term, word] += 1
    best: dict[str, tuple[int, bool, str]] = {}
    for (key, word), count in counts.items():  # first seen wins a full tie
        rank = (count, word.islower(), word)
        if key not in best or rank[:2] > best[key][:2]:
            best[key] = rank
    return {key: rank[2] for key, rank in best.items()}
