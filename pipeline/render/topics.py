"""Topic pages and the knowledge graph: what the stories are about and how topics tie together.

A topic page lists every story about it in the order they were first
published, and its neighbourhood: the other topics ranked by how many stories
tie them to it (in the spirit of a concept page in a knowledge graph). A
topic an editor merged into another leaves a redirect; a hidden one has no
page and is not linked from any story.

``graph`` gives the same nodes and edges as data (``graph.json`` on the
site): stories, topics, "about" edges between them, and "related" edges
between topics weighted by the stories they share.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..models import Topic, Topics
from .paths import topic_path
from .stories import StoryPage

NEIGHBOURS = 20
GRAPH_VERSION = 1


@dataclass(frozen=True, slots=True)
class TopicPage:
    """Everything a topic page shows."""

    topic: Topic
    path: str
    stories: tuple[StoryPage, ...]  # first published first
    neighbours: tuple[tuple[Topic, int], ...]  # topic, stories shared; most shared first


def story_topics(pages: Mapping[int, StoryPage], topics: Topics) -> dict[int, tuple[Topic, ...]]:
    """Each story's visible topics as its newest digest listed them, merges followed."""
    found = {}
    for story_id, page in pages.items():
        seen: dict[str, Topic] = {}
        for slug in page.story.topics:
            topic = topics.resolve(slug)
            if topic is not None:
                seen.setdefault(topic.slug, topic)
        found[story_id] = tuple(seen.values())
    return found


def collect(pages: Mapping[int, StoryPage], topics: Topics) -> dict[str, TopicPage]:
    """The page of every topic at least one published story is about."""
    about = story_topics(pages, topics)
    members: dict[str, list[StoryPage]] = {}
    for story_id, found in about.items():
        for topic in found:
            members.setdefault(topic.slug, []).append(pages[story_id])
    result = {}
    for slug, stories in members.items():
        shared: Counter[str] = Counter()
        for page in stories:
            shared.update(t.slug for t in about[page.id] if t.slug != slug)
        ranked = sorted(
            shared.items(), key=lambda item: (-item[1], topics.topics[item[0]].name.casefold())
        )
        result[slug] = TopicPage(
            topic=topics.topics[slug],
            path=topic_path(slug),
            stories=tuple(sorted(stories, key=lambda p: (p.days[0], p.id))),
            neighbours=tuple((topics.topics[s], n) for s, n in ranked[:NEIGHBOURS]),
        )
    return result


def graph(
    pages: Mapping[int, StoryPage],
    topic_pages: Mapping[str, TopicPage],
    topics: Topics,
    moved: Mapping[int, int],
) -> dict[str, Any]:
    """The site's stories and topics as nodes and edges (``graph.json``)."""
    about = story_topics(pages, topics)
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    related: dict[tuple[str, ...], int] = {}
    for story_id in sorted(pages):
        page = pages[story_id]
        nodes.append(
            {
                "id": f"story:{story_id}",
                "type": "story",
                "title": page.story.headline,
                "url": page.path,
                "first_published": page.days[0].isoformat(),
                "last_published": page.days[-1].isoformat(),
                "sources": len(page.story.summary.sources),
                "merged_into": f"story:{moved[story_id]}" if story_id in moved else None,
            }
        )
        edges += [
            {"source": f"story:{story_id}", "target": f"topic:{t.slug}", "type": "about"}
            for t in about[story_id]
        ]
    for slug in sorted(topic_pages):
        page_of = topic_pages[slug]
        nodes.append(
            {
                "id": f"topic:{slug}",
                "type": "topic",
                "kind": page_of.topic.kind,
                "title": page_of.topic.name,
                "url": page_of.path,
                "stories": len(page_of.stories),
            }
        )
        for other, n in page_of.neighbours:
            related[tuple(sorted((slug, other.slug)))] = n
    edges += [
        {"source": f"topic:{a}", "target": f"topic:{b}", "type": "related", "weight": n}
        for (a, b), n in sorted(related.items())
    ]
    return {"version": GRAPH_VERSION, "nodes": nodes, "edges": edges}
