"""Section labels for the points of a big story, as a story page groups them.

With many sources a flat list of points is hard to scan, so each point gets
one of four labels by what it says: *Reactions* (someone's response: a quote,
a critic, a warning), *Figures* (two or more numbers), *How it was found* (a method:
tested, trained, measured, compared, a benchmark or study) or else *What happened*.
Labels only appear when the story has enough sources and its points fall
under two labels or more: one heading over every point says nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .models import Section, SummarySentence

LABELS = ("What happened", "How it was found", "Figures", "Reactions")
# Someone's response, not any attributed fact ("the paper said" reports a finding):
# a quote that opens the sentence, a quote someone "said", or a verb of reaction.
_REACTION = re.compile(
    r"""(?ix)^["“]|["“][^"”]{12,}["”],?\s+(?:\w+\s+){0,4}(?:said|says|wrote|added)\b
    |\b(?:criticis\w*|critici[sz]\w*|praised|warned|argued|welcomed|reacted|responded|
    called\ it|analysts?|critics?|skeptics?|sceptics?)\b"""
)
_FIGURE = re.compile(r"\$?\d[\d,.]*\s?(?:%|percent|billion|million|trillion|bn|[bmkx]\b)?")
_METHOD = re.compile(
    r"""(?ix)\b(?:test(?:ed|ing|s)?|train(?:ed|ing)|measur\w*|evaluat\w*|benchmarks?|
    stud(?:y|ies)|method\w*|experiment\w*|analy[sz]\w*|compar(?:ed|ing)|graded|proofs?|
    formal|found\ that|
    using|data\ set|dataset)\b"""
)


def label(sentence: str) -> str:
    """The section a point belongs under."""
    if _REACTION.search(sentence):
        return LABELS[3]
    if len([f for f in _FIGURE.findall(sentence) if f.strip()]) >= 2:
        return LABELS[2]
    if _METHOD.search(sentence):
        return LABELS[1]
    return LABELS[0]


def label_points(
    points: Sequence[SummarySentence], sources: int, min_sources: int
) -> tuple[Section, ...]:
    """The points grouped under labels in ``LABELS`` order, or none for a small story."""
    if sources < min_sources or len(points) < 3:
        return ()
    groups: dict[str, list[int]] = {}
    for index, point in enumerate(points):
        groups.setdefault(label(point.text), []).append(index)
    if len(groups) < 2:
        return ()
    return tuple(Section(name, tuple(groups[name])) for name in LABELS if name in groups)
