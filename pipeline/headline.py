"""The story's headline: the member headline closest to the story's shared content.

Not the first headline, nor the most dramatic: each member's cleaned title is
worth the shared content it carries (``content.StoryContent``, so a title
about what several sources report wins over a stray's or a column's angle),
times its style (teasers and opinion lose) and the weight of its outlet, less
penalties for titles that read badly (very short or long, without a verb).
Titles with a flaw (a column label such as "Paper notes: ...", cut short with
"…", a question, a syndicated copy's retitling) are taken only when every
title has as many. Stray members' titles are not considered. An editor's headline
is kept by the store and always wins over this one.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

from .content import StoryContent, story_content, style
from .models import Article
from .sentences import clean_headline, has_verb

# A short label before a colon marks a column or newsletter item ("Paper notes:",
# "Frontier Signal:"), not a headline written for the story.
_COLUMN_LABEL = re.compile(r"^[^:]{2,24}:\s+\S")


def choose_headline(
    members: Sequence[Article],
    content: StoryContent | None = None,
    stray_ids: Collection[int] = (),
) -> str:
    """The cleaned member title carrying the most shared content; ties go to the earliest.

    ``content`` is the story's, by source; without it each original article
    counts as a source (and its strays are found here).
    """
    if content is None:
        content = story_content(
            {
                a.id: "\n".join((a.title, a.feed_summary, a.text))
                for a in members
                if a.duplicate_of is None
            }
        )
        stray_ids = content.strays
    ordered = [a for a in sorted(members, key=lambda a: a.time_order) if a.title.strip()]
    originals = [a for a in ordered if a.id not in stray_ids] or ordered
    titles = [(clean_headline(a.title, a.outlet), a) for a in originals]
    if not titles:
        return ""
    best = max(content.information(t) for t, _ in titles) or 1.0

    def merit(index: int) -> tuple[int, float, int]:
        """Fewest flaws first (a column label, cut short, a question, a copy), then fit."""
        title, article = titles[index]
        flaws = (
            bool(_COLUMN_LABEL.match(title))
            + title.endswith(("…", "?"))
            + (article.duplicate_of is not None)  # a syndicated copy's retitling
        )
        words = len(title.split())
        fit = content.information(title) / best * style(title, content.units(title))
        penalty = 0.15 * (words < 6) + 0.1 * (words > 16) + 0.15 * (not has_verb(title))
        return (-flaws, round(fit * (0.75 + 0.5 * article.source_weight) - penalty, 6), -index)

    return titles[max(range(len(titles)), key=merit)][0]
