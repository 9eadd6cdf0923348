"""Read views of stories for people: the ``digest stories`` listing and its JSON.

Anyone can check the grouping: each story with its member articles (outlet,
title, URL), how many distinct outlets it has, copies counted once, and per
member what it shares with the rest of the story (``explain``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from .cluster import ClusterParams
from .explain import explain, weighing
from .models import Article, Placement, Story, Summary
from .store import Store
from .store.convert import to_iso


@dataclass(frozen=True, slots=True)
class StoryView:
    """A story with its members in time order."""

    story: Story
    articles: tuple[Article, ...]
    generated: dict[str, Any]  # stored headline, summary, score, explanation, section
    placements: Mapping[int, Placement] = field(default_factory=dict)  # by article id

    @property
    def outlets(self) -> int:
        """Distinct outlets, near-duplicate copies counted once (with their original)."""
        return len({a.source_id for a in self.articles if a.duplicate_of is None})

    @property
    def headline(self) -> str:
        return self.story.headline or (self.articles[0].title if self.articles else "")

    def as_dict(self) -> dict[str, Any]:
        summary: Summary | None = self.generated["summary"]
        return {
            "id": self.story.id,
            "headline": self.headline,
            "status": self.story.status,
            "section": self.generated["section"],
            "score": self.generated["score"],
            "explanation": self.generated["explanation"],
            "included": self.generated["included"],
            "summary": (
                [{"text": s.text, "citations": list(s.citations)} for s in summary.sentences]
                if summary
                else []
            ),
            "sources": (
                [
                    {
                        "number": c.number,
                        "outlet": c.outlet,
                        "title": c.title,
                        "url": c.url,
                        "published_at": to_iso(c.published_at),
                    }
                    for c in summary.sources
                ]
                if summary
                else []
            ),
            "first_seen": to_iso(self.story.first_seen),
            "last_seen": to_iso(self.story.last_seen),
            "outlets": self.outlets,
            "articles": [
                {
                    "id": a.id,
                    "outlet": a.outlet,
                    "title": a.title,
                    "url": a.url,
                    "published_at": to_iso(a.published_at),
                    "duplicate_of": a.duplicate_of,
                    **_placement_dict(self.placements.get(a.id)),
                }
                for a in self.articles
            ],
        }


def stories(
    store: Store,
    since: datetime | None = None,
    min_sources: int = 1,
    params: ClusterParams | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[StoryView]:
    """Stories active since ``since`` (all when None), most outlets first, then newest.

    Each member is explained with the clustering ``params`` the stories were
    made with; a story of one article has nothing to explain and costs nothing.
    ``progress(done, total)`` is called as stories are explained.
    """
    found = store.stories.since(since)
    members = {a.id: a for a in store.articles.get_many(i for s in found for i in s.article_ids)}
    views = [
        StoryView(
            s,
            tuple(members[i] for i in s.article_ids if i in members),
            store.stories.generated(s.id),
        )
        for s in found
    ]
    views = [v for v in views if v.articles and v.outlets >= min_sources]
    params = params or ClusterParams()
    spread = weighing(store.spread.load(), params)
    for i, view in enumerate(views):  # 1-1.5 ms an article: a busy day of 5,000 takes seconds
        views[i] = replace(view, placements=explain(view.articles, params, spread=spread))
        if progress:
            progress(i + 1, len(views))
    views.sort(
        key=lambda v: (
            -v.outlets,
            -(v.story.last_seen.timestamp() if v.story.last_seen else 0),
            v.story.id,
        )
    )
    return views


def _placement_dict(placement: Placement | None) -> dict[str, Any]:
    """A member's similarity to the rest and its shared features; ``null``/``[]`` when alone."""
    if placement is None:
        return {"similarity": None, "shared": []}
    return {
        "similarity": round(placement.similarity, 3),
        "shared": [
            {"feature": f.feature, "kind": f.kind, "weight": round(f.weight, 3)}
            for f in placement.shared
        ],
    }
