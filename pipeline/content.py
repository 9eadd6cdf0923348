"""A story's shared content, and how much of it a sentence carries.

Position and fluency do not tell the news; the facts several outlets state
do. A story's *content units* are the stems of its content words
(``sentences.content_terms``), with figures ("$2.75", "28", "122%") and names
("Anthropic", "GPT-4o", "Pachocki") counted as the units that carry a fact.
Each unit is worth its rarity times its *agreement*: the share of the story's
other sources that also use it. A sentence's information is the agreement-
weighted rarity of its units (each counted once), so "Anthropic released
Claude 3.5 Sonnet at $3 per million tokens" outweighs "The mid-tier model just
ate the flagship", which says little that any other source says.

A source whose text shares far less with the rest than the others do is a
*stray* (a member about a different event, a column riffing on the theme): its
units lend no agreement, and its sentences are not picked. Generic sentences
(no name, no figure, no shared event term), teasers ("Just when you thought
...") and opinion asides ("the value math is absurd") are demoted by ``style``.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from .sentences import content_terms

# Terms that only say "news happened" ("new", "model", "company") are too common
# to be a fact: a unit needs this rarity (7.5 - wordfreq Zipf) to count at all.
_MIN_RARITY = 1.5
# A source with fewer units (a title, a one-line summary) is too short to call a stray.
_MIN_UNITS_TO_JUDGE = 20
_NAME = re.compile(r"(?<![\w$])[A-Z][\w.’'-]*[\w]|\b\w*\d\w*\b")
_YEAR = re.compile(r"^(?:19|20)\d\d$")
# Who did what: a named actor followed by an event verb.
_EVENT_VERB = re.compile(
    r"""(?x)\b(?:released|releases|launch(?:ed|es)|unveil(?:ed|s)|announc(?:ed|es)|
    introduc(?:ed|es)|report(?:ed|s)|rais(?:ed|es)|rescind(?:ed|s)|invest(?:ed|s|ing)|
    complet(?:ed|es)|achiev(?:ed|es)|solv(?:ed|es)|scor(?:ed|es)|won|wins|earn(?:ed|s)|
    found(?:ed|s)|left|leav(?:es|ing)|depart(?:ed|s|ing)|restructur(?:ed|es)|
    clos(?:ed|es)|secur(?:ed|es)|posted|published|revealed|issued|unveiling|signed|
    acquir(?:ed|es)|sued|ruled|dropped|shipped|debuted|rolled\ out|is\ leaving|has\ left|
    said\ it\ (?:has|had|will|would))\b"""
)
_TEASER = re.compile(
    r"""(?ix)^(?:just\ when|imagine|buckle|here(?:'s|’s|\ is|\ are)\ (?:what|how|why)|
    let(?:'s|’s)|so,|well,|okay|alright|ever\ wonder|what\ if|think\ about|picture\ this)
    |\?["'”’]?$|!["'”’]?$|\b(?:you|your|you're|you’re)\b"""
)
_OPINION = re.compile(
    r"""(?ix)\b(?:i\ think|i\ believe|in\ my\ view|frankly|arguably|to\ me|my\ take|
    absurd|game[- ]changer|mind[- ]blowing|jaw[- ]dropping|staggering|stunning|shatter\w*|
    bombshell|startling|dramatic|hype|period\.|crash\ the\ party|the\ real\ story|
    needless\ to\ say|of\ course|what\ it\ means|the\ big\ deal)\b"""
)
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I’m|I've|I’ve|my|My|we|We|our|Our|us)\b")
# Words that attribute a first person to someone: '"We are excited," Altman said'.
_ATTRIBUTED = re.compile(r"\b(?:said|says|wrote|writes|told|according to)\b")


@dataclass(frozen=True, slots=True)
class StoryContent:
    """The story's content units with their worth, and the sources judged strays."""

    worth: Mapping[str, float]  # unit → rarity × kind × agreement
    strays: frozenset[int]  # citation numbers
    sources: int

    def units(self, sentence: str) -> dict[str, float]:
        """The shared units a sentence carries, with their worth."""
        return {u: self.worth[u] for u in units(sentence) if u in self.worth}

    def information(self, sentence: str) -> float:
        """The worth of every shared unit the sentence carries, each once."""
        return sum(self.units(sentence).values())


def units(text: str) -> dict[str, float]:
    """Content units of a text and their weight: rarity, raised for figures and names."""
    return dict(_units(text))


@lru_cache(maxsize=16384)
def _units(text: str) -> tuple[tuple[str, float], ...]:
    """Cached: a sentence is weighed for the lead, for every point and for the headline."""
    names = {t for n in _NAME.findall(text) for t in content_terms(n)}
    found = {}
    for term, rarity in content_terms(text).items():
        figure = any(c.isdigit() for c in term)
        if _YEAR.match(term):
            found[term] = 1.0  # every source dates the event; a year tells little
        elif figure:
            found[term] = rarity * 1.5
        elif rarity >= _MIN_RARITY:
            found[term] = rarity * (1.3 if term in names else 1.0)
    return tuple(found.items())


def story_content(texts: Mapping[int, str], stray_share: float = 0.5) -> StoryContent:
    """Units of the story's sources, worth their agreement; strays found and left out.

    A source is a stray when the share of its units that another source also
    uses falls below ``stray_share`` of the median source's share (with three
    or more sources: two cannot outvote each other; and only a source with
    enough text to tell).
    """
    by_source = {number: units(text) for number, text in texts.items()}
    strays = _strays(by_source, stray_share) if len(by_source) >= 3 else frozenset()
    kept = {n: u for n, u in by_source.items() if n not in strays}
    count = len(kept)
    support: dict[str, int] = {}
    for found in kept.values():
        for unit in found:
            support[unit] = support.get(unit, 0) + 1
    weight: dict[str, float] = {}
    for found in kept.values():
        for unit, value in found.items():
            weight[unit] = max(weight.get(unit, 0.0), value)
    if count <= 1:
        worth = weight  # one source: every unit is the story's
    else:
        worth = {u: weight[u] * (support[u] - 1) / (count - 1) for u in weight if support[u] > 1}
    return StoryContent(worth, strays, len(texts))


def _strays(by_source: Mapping[int, dict[str, float]], stray_share: float) -> frozenset[int]:
    shares = {}
    for number, found in by_source.items():
        others: set[str] = set()
        for other, their in by_source.items():
            if other != number:
                others.update(their)
        total = sum(found.values()) or 1.0
        shares[number] = sum(v for u, v in found.items() if u in others) / total
    median = statistics.median(shares.values())
    return frozenset(
        n
        for n, share in shares.items()
        if share < stray_share * median and len(by_source[n]) >= _MIN_UNITS_TO_JUDGE
    )


def states_event(sentence: str, main_clause_words: int = 20) -> bool:
    """Whether the sentence says who did what: a name, then an event verb, within its
    first ``main_clause_words`` words ("..., including OpenAI's recently released
    Sora" is an aside, not the sentence's event)."""
    verb = _EVENT_VERB.search(sentence)
    if verb is None or len(sentence[: verb.start()].split()) > main_clause_words:
        return False
    return any(content_terms(name) for name in _NAME.findall(sentence[: verb.start()]))


def style(sentence: str, carried: Mapping[str, float]) -> float:
    """A factor for how a sentence is written: 1 for a plain report, less for teasers,
    opinion, first-person asides and generic sentences (no name or figure carried)."""
    factor = 1.0
    if _TEASER.search(sentence):
        factor *= 0.35
    if _OPINION.search(sentence):
        factor *= 0.5
    if _FIRST_PERSON.search(sentence):
        # "our new chief scientist": whose? Unattributed, the first person has no referent.
        factor *= 0.5 if _ATTRIBUTED.search(sentence) else 0.15
    specific = any(any(c.isdigit() for c in u) for u in carried) or any(
        n for n in _NAME.findall(sentence)[1:]
    )
    if not specific:
        factor *= 0.4
    return factor
