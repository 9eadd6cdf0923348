"""How many of the open stories carry each term: the stream's own evidence of what is common.

The rarity prior (``text.prior_idf``) knows general English, where
"Anthropic", "Claude", "LLM" and "agentic" are rare and so weigh most. In an
AI-news stream they are named by story after story and say nothing about
*which* event an article reports; what does are the event's own terms (the
paper's title phrase, "Llama 3.1", "$40 billion"). So a term's weight is its
prior, lowered by the share of the open stories that carry it.

Counted per story, not per article: a term that one big story repeats in
every one of its 165 articles ("Titanfall") is that story's own evidence and
must keep its weight, which document frequencies would take away (the reason
the prior beat stream IDF when only articles were counted). Counted over the
stories open in the clustering window, so the figures follow the news of the
week and are rebuilt from the stored window when a process starts, with
nothing else to keep. Until the stream has shown a few dozen stories,
``mass`` pseudo-stories that carry nothing keep the prior in charge.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set


class StorySpread:
    """Per term, the number of open stories whose members carry it."""

    def __init__(self, share: float, mass: float) -> None:
        self._share = share
        self._mass = mass
        self._vocab: dict[int, set[str]] = {}
        self._restored = 0  # open stories of a snapshot, which has no vocabularies
        self.counts: dict[str, int] = {}

    @classmethod
    def restored(
        cls, counts: Mapping[str, int], open_stories: int, share: float, mass: float
    ) -> StorySpread:
        """A spread as a snapshot (``heavy``) left it: for weighing terms, not for counting on."""
        spread = cls(share, mass)
        spread.counts = dict(counts)
        spread._restored = open_stories
        return spread

    @property
    def open_stories(self) -> int:
        """How many open stories the counts are over."""
        return len(self._vocab) or self._restored

    def add(self, story_id: int, terms: Set[str]) -> None:
        """Count the terms a new member brings to its story (each once per story)."""
        vocab = self._vocab.setdefault(story_id, set())
        fresh = terms - vocab
        vocab |= fresh
        counts = self.counts
        for term in fresh:
            counts[term] = counts.get(term, 0) + 1

    def merge(self, keep: int, drop: int) -> None:
        """Story ``drop`` became part of ``keep``: a term both carried now counts once."""
        mine = self._vocab.setdefault(keep, set())
        theirs = self._vocab.pop(drop, set())
        self._forget(mine & theirs)
        mine |= theirs

    def close(self, story_id: int) -> None:
        """The story left the window: its terms no longer count."""
        self._forget(self._vocab.pop(story_id, ()))

    def _forget(self, terms: Iterable[str]) -> None:
        """One story fewer carries each of ``terms``; a term no story carries is dropped."""
        counts = self.counts
        for term in terms:
            left = counts[term] - 1
            if left:
                counts[term] = left
            else:
                del counts[term]

    def damping(self, longness: float) -> float:
        """``k`` in a term's weight factor ``1 / (1 + k · stories²)``; 0 leaves the prior alone.

        The factor halves the weight of a term carried by ``share`` of the open
        stories (plus the ``mass`` pseudo-stories) and falls with its square
        beyond. It acts in proportion to the article's ``longness``: headlines
        of one event are worded so differently that they open many small
        stories, so among headlines a story count says little.
        """
        if not longness or not self.open_stories:
            return 0.0
        stories = (self.open_stories + self._mass) * self._share
        return longness / (stories * stories)

    def heavy(self, least_effect: float = 0.01) -> dict[str, int]:
        """The counts of the terms whose weight a full text lowers by ``least_effect`` or more.

        What a snapshot keeps: a term on a tenth of the half-weight share or
        fewer moves no weight by even 1 %, and that is nearly every term, so
        the snapshot holds the few the week's stories all name.
        """
        damping = self.damping(1.0)
        if not damping:
            return {}
        floor = least_effect / (1.0 - least_effect) / damping  # 1/(1+k n²) ≤ 1 - effect
        return {term: n for term, n in self.counts.items() if n * n >= floor}

    def __len__(self) -> int:
        return len(self._vocab)
