"""Entities in stories: organisations, people, models and products, papers, concepts.

Three ways to find them, each chosen for precision (a wrong topic link is
worse than a missing one, and editors can add what is missing by merging):

- **Known names** from ``entities.yaml``, every alias found in one pass
  (pyahocorasick), longest match first, at word boundaries, case-sensitive
  except for concepts. Aliases merge ("Claude 3 Opus", "Opus"); a *weak*
  alias (short or ambiguous) counts only where a strong one of the same
  entity appears in the story.
- **Papers** by arXiv id (``arXiv:2412.14093``, ``arxiv.org/abs/2412.14093``)
  in texts, links and URLs; the version suffix is dropped.
- **Other names**: runs of capitalised words (with model numbers, "Kestrel 2"),
  kept only when two outlets of the story use them, when they are not an
  outlet's name and when not every word is a common English word.

A story links to a paper it cites; to another entity when a headline names
it, or when half its outlets (two at least) name it three times (in a
one-outlet story: twice; a concept always twice), so a passing mention does
not make a topic.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import ahocorasick
import yaml
from slugify import slugify
from wordfreq import zipf_frequency

from .models import Article, Entity, Mention
from .render.dates import DAYS, MONTHS

GAZETTEER = Path(__file__).with_name("entities.yaml")
KINDS = ("organisation", "person", "model", "paper", "concept", "name")
COMMON_ZIPF = 4.0  # a word this frequent in English is no name by itself
_ARXIV = re.compile(
    r"(?:arxiv(?:\.org/(?:abs|pdf)/|:\s?|\s))(\d{4}\.\d{4,5})(?:v\d+)?", re.IGNORECASE
)
# A run of capitalised words, with version numbers ("Kestrel 2", "Claude 3.5"), on one line.
_NAME = re.compile(
    r"(?<![\w-])([A-Z][\w&.]*[\w&](?:['’]s)?|[A-Z])"
    r"((?:[ \t]+(?:[A-Z][\w&.-]*[\w&]|\d(?:\.\d)?[A-Za-z]?|\d\d?)(?:['’]s)?)*)(?![\w.-]?\w)"
)
_POSSESSIVE = re.compile(r"['’]s\b")
_UNIT = re.compile(r"\d[ \t]+$")
_PLACE_BEFORE = re.compile(r"\b(?:in|from)[ \t]+$")
_LEADING = frozenset(
    [
        "The",
        "A",
        "An",
        "And",
        "But",
        "Or",
        "In",
        "On",
        "At",
        "Of",
        "For",
        "To",
        "From",
        "By",
        "With",
        "As",
        "If",
        "When",
        "While",
        "After",
        "Before",
        "This",
        "That",
        "These",
        "Those",
        "It",
        "Its",
        "Our",
        "We",
        "You",
        "They",
        "He",
        "She",
        "I",
        "His",
        "Her",
        "Their",
        "My",
        "Your",
        "How",
        "What",
        "Why",
        "Who",
        "Where",
        "Which",
        "Q",
        *DAYS,
        *MONTHS,
        "Watch",
        "Reading",
        "Here",
        "Yesterday",
        "Today",
        "Tomorrow",
        "Last",
        "Next",
        "New",
        "Paper",
        "Notes",
        "Chief",
        "Executive",
        "CEO",
        "Founder",
        "President",
        "Dr",
        "Professor",
        "Senator",
        "Minister",
    ]
)


@dataclass(frozen=True, slots=True)
class _Alias:
    entity: Entity
    weak: bool


@dataclass(slots=True)
class Gazetteer:
    """Known entities and the automaton that finds their aliases."""

    cased: Any = field(default_factory=ahocorasick.Automaton)
    folded: Any = field(default_factory=ahocorasick.Automaton)
    names: set[str] = field(default_factory=set)  # every alias, folded


@cache
def gazetteer(path: Path = GAZETTEER) -> Gazetteer:
    """The known entities of ``path`` (YAML: kind → name → aliases), compiled once."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    found = Gazetteer()
    for kind, entries in data.items():
        if kind not in KINDS:
            raise ValueError(f"{path}: unknown entity kind {kind!r}")
        for name, aliases in (entries or {}).items():
            entity = Entity(f"{kind}:{slugify(str(name))}", kind, str(name))
            automaton = found.folded if kind == "concept" else found.cased
            for alias, weak in [(str(name), False), *_aliases(aliases or [])]:
                key = alias.casefold() if kind == "concept" else alias
                if key not in automaton:
                    automaton.add_word(key, (len(key), _Alias(entity, weak)))
                found.names.add(alias.casefold())
    for automaton in (found.cased, found.folded):
        automaton.make_automaton()
    return found


def recognise(members: Sequence[Article], known: Gazetteer | None = None) -> tuple[Mention, ...]:
    """The entities a story is about, most mentioned first (ties by key).

    A possessive mention ("Anthropic's Claude 3.5 Sonnet") names the owner of
    something else: it makes a headline's subject but does not count as a
    mention, so a company is not a topic of every story about a rival's product.
    """
    known = known or gazetteer()
    counts: dict[Entity, int] = {}
    outlets: dict[Entity, set[str]] = {}
    titled: set[Entity] = set()
    weak: dict[Entity, int] = {}
    places: set[Entity] = set()
    skip = {a.outlet.casefold().removeprefix("the ").strip() for a in members}
    story = "\n".join(t for a in members for t in (a.title, a.body))
    for article in members:
        outlet = article.outlet.casefold()
        links = " ".join([article.url, *article.links])
        for part, text in (("title", article.title), ("body", article.body), ("links", links)):
            found = [*_known(text, known), *_papers(text)]
            if part != "links":
                found += _names(text, known, skip, story, places)
            for entity, is_weak, possessive in found:
                if is_weak:
                    weak[entity] = weak.get(entity, 0) + 1
                    continue
                counts.setdefault(entity, 0)
                outlets.setdefault(entity, set())
                if part == "title":
                    titled.add(entity)
                if not possessive:
                    counts[entity] += 1
                    outlets[entity].add(outlet)
    for entity, extra in weak.items():
        if entity in counts:
            counts[entity] += extra
    for short, whole in _partial_names(counts).items():
        counts[whole] += counts.pop(short)
        outlets[whole] |= outlets.pop(short)
        if short in titled:
            titled.add(whole)
    size = len({a.outlet.casefold() for a in members})
    mentions = [
        Mention(e, n, len(outlets[e]), e in titled)
        for e, n in counts.items()
        if e not in places and _linked(e, n, len(outlets[e]), e in titled, size)
    ]
    return tuple(sorted(mentions, key=lambda m: (-m.count, m.entity.key)))


def _partial_names(counts: dict[Entity, int]) -> dict[Entity, Entity]:
    """Found names that are part of a longer name in the same story → that name.

    "Google Veo 2" and "Jetson Orin Nano Super Developer Kit" hold a known
    name; "Halcyon" and "Mehta" are the first or last word of "Halcyon
    Research" and "Arjun Mehta". The most mentioned candidate wins.
    """
    merged: dict[Entity, Entity] = {}
    by_count = sorted(counts, key=lambda e: (-counts[e], e.key))
    for name in (e for e in by_count if e.kind == "name"):
        words = name.name.split()
        for other in by_count:
            if other == name or other in merged:
                continue
            theirs = other.name.split()
            inside = other.kind != "name" and _contains(words, theirs)
            part = len(words) == 1 and len(theirs) > 1 and words[0] in (theirs[0], theirs[-1])
            if inside or other.kind == "name" and part:
                merged[name] = other
                break
    return {short: _final(whole, merged) for short, whole in merged.items()}


def _final(entity: Entity, merged: dict[Entity, Entity]) -> Entity:
    seen = {entity}
    while entity in merged and merged[entity] not in seen:
        entity = merged[entity]
        seen.add(entity)
    return entity


def _contains(words: list[str], part: list[str]) -> bool:
    return any(words[i : i + len(part)] == part for i in range(len(words) - len(part) + 1))


def named(article: Article, known: Gazetteer | None = None, title_only: bool = False) -> set[str]:
    """Keys of every entity one article names, however briefly (no linking rules)."""
    known = known or gazetteer()
    text = article.title if title_only else f"{article.title}\n{article.body}"
    found = [*_known(text, known), *_papers(text), *_names(text, known, set(), text, set())]
    return {entity.key for entity, weak, _ in found if not weak}


def topic_slug(entity: Entity) -> str:
    """The topic page's name: the entity's name as ASCII words (a paper: ``arxiv-2412-14093``)."""
    return slugify(entity.name) or slugify(entity.key)


def _linked(entity: Entity, count: int, outlets: int, titled: bool, size: int) -> bool:
    """In a headline, or named by half the story's outlets (two at least) and three times;
    a one-outlet story's topics are in its headline or named twice in its text."""
    if entity.kind == "paper":
        return True  # an arXiv id names one paper: no mention of it is in passing
    if entity.kind == "concept" and count < 2:
        return False
    if entity.kind == "name":
        return outlets >= max(2, -(-size // 2))
    if titled:
        return True
    if size == 1:
        return count >= 2
    return outlets >= max(2, -(-size // 2)) and count >= 3


def _aliases(items: Iterable[Any]) -> Iterable[tuple[str, bool]]:
    for item in items:
        if isinstance(item, dict):
            for alias, mark in item.items():
                yield str(alias), mark == "weak"
        else:
            yield str(item), False


def _known(text: str, known: Gazetteer) -> Iterable[tuple[Entity, bool, bool]]:
    """Known aliases in ``text``: at word boundaries, the longest where matches overlap."""
    found: list[tuple[int, int, _Alias]] = []
    for automaton, haystack in ((known.cased, text), (known.folded, text.casefold())):
        if len(automaton) == 0:
            continue
        for end, (length, alias) in automaton.iter(haystack):
            start = end - length + 1
            if _bounded(haystack, start, end + 1):
                found.append((start, end + 1, alias))
    taken = -1
    for start, end, alias in sorted(found, key=lambda f: (f[0], -(f[1] - f[0]))):
        if start >= taken:
            taken = end
            yield alias.entity, alias.weak, _POSSESSIVE.match(text, end) is not None


def _bounded(text: str, start: int, end: int) -> bool:
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (before.isalnum() or before == "-") and not (
        after.isalnum() or after == "-" and text[end + 1 : end + 2].isalpha()
    )


def _papers(text: str) -> Iterable[tuple[Entity, bool, bool]]:
    for match in _ARXIV.finditer(text):
        number = match.group(1)
        yield Entity(f"arxiv:{number}", "paper", f"arXiv:{number}"), False, False


def _names(
    text: str, known: Gazetteer, outlets: set[str], story: str, places: set[Entity]
) -> list[tuple[Entity, bool, bool]]:
    """Capitalised names not in the gazetteer, not an outlet's, not all common words.

    A name after a number is a unit ("67 INT8 TOPS"); one after "in"/"from" or
    before "-based" is a place ("Lisbon-based"): places are collected in
    ``places`` and not linked.
    """
    found = []
    for match in _NAME.finditer(text):
        run = (match.group(1) + match.group(2)).split()
        cut = next((i + 1 for i, w in enumerate(run) if _POSSESSIVE.search(w)), len(run))
        for words in (run[:cut], run[cut:]):  # "Lisbon's Aurelian AI": two names
            entity = _name(words, known, outlets, story)
            before = text[max(0, match.start() - 8) : match.start()]
            if entity is None or _UNIT.search(before):
                continue
            if _PLACE_BEFORE.search(before) or text.startswith("-based", match.end()):
                places.add(entity)
            found.append((entity, False, bool(_POSSESSIVE.search(words[-1]))))
    return found


def _name(words: list[str], known: Gazetteer, outlets: set[str], story: str) -> Entity | None:
    words = [_POSSESSIVE.sub("", w) for w in words]
    while words and words[0] in _LEADING:
        words = words[1:]
    if not words or words[0][0].isdigit():
        return None
    name = " ".join(words)
    folded = name.casefold()
    if folded in known.names or len(name) < 3 or any(o.startswith(folded) for o in outlets):
        return None
    if len(words) == 1 and re.search(rf"(?<![\w-]){re.escape(folded)}(?![\w-])", story):
        return None  # also written in lower case: a common noun here ("Alignment")
    if all(_common(w) for w in words if not w[0].isdigit()):
        return None
    return Entity(f"name:{slugify(name)}", "name", name)


@lru_cache(maxsize=65536)
def _common(word: str) -> bool:
    return zipf_frequency(word.casefold(), "en") >= COMMON_ZIPF or word.isupper() and len(word) <= 3
