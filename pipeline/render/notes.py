"""The stories and topics as a folder of Markdown notes, for an Obsidian-style vault.

One note per story (``stories/<id>-<slug>.md``) and per topic
(``topics/<slug>.md``), each with YAML front matter (ids, dates, sources,
topics) and ``[[wikilinks]]`` between them, so a vault opened on the folder
draws the same graph as the site's ``graph.json``. File names are the site's
permanent slugs: a re-run rewrites a changed note in place, leaves an
unchanged one alone, and never makes a second copy of a story or topic.
Notes of ours that no story or topic needs any more are removed; nothing
else in the folder is touched.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import frontmatter

from ..models import Digest, RankedStory, SummarySentence, Topics
from ..sanitize import plain_text
from . import stories
from . import topics as topic_pages
from .files import write_atomic
from .paths import slug_of


@dataclass(frozen=True, slots=True)
class NotesReport:
    """What an export wrote: notes changed, notes already up to date, notes removed."""

    written: int
    unchanged: int
    removed: int


def export(
    digests: Iterable[Digest], topics: Topics, merged: Mapping[int, int], folder: Path
) -> NotesReport:
    """Write the notes of every published story and topic into ``folder``."""
    by_day = {d.day: d for d in digests}
    pages = stories.collect([by_day[d] for d in sorted(by_day)])
    about = topic_pages.story_topics(pages, topics)
    by_topic = topic_pages.collect(pages, topics)
    notes: dict[str, str] = {}
    for page in pages.values():
        target = pages.get(merged.get(page.id, page.id))
        into = _link(target) if target is not None and target.id != page.id else None
        notes[f"stories/{_name(page)}.md"] = _story_note(page, about[page.id], into)
    for topic_page in by_topic.values():
        notes[f"topics/{topic_page.topic.slug}.md"] = _topic_note(topic_page)
    written = sum(write_atomic(Path(folder) / p, text.encode("utf-8")) for p, text in notes.items())
    removed = 0
    for kind in ("stories", "topics"):
        for path in sorted((Path(folder) / kind).glob("*.md")):
            if f"{kind}/{path.name}" not in notes:
                path.unlink()
                removed += 1
    return NotesReport(written, len(notes) - written, removed)


def _name(page: stories.StoryPage) -> str:
    return slug_of(page.path)


def _link(page: stories.StoryPage) -> str:
    return f"[[stories/{_name(page)}|{_label(page.story.headline)}]]"


def _topic_link(slug: str, name: str) -> str:
    return f"[[topics/{slug}|{_label(name)}]]"


def _label(text: str) -> str:
    """Text fit for a wikilink's label: no brackets or pipes to end it early."""
    return plain_text(text).replace("[", "(").replace("]", ")").replace("|", "/")


def _sentences(items: Sequence[SummarySentence]) -> str:
    return " ".join(
        f"{plain_text(s.text)} " + "".join(f"[{n}]" for n in s.citations) for s in items
    )


def _story_note(page: stories.StoryPage, topics: Sequence[Any], merged_into: str | None) -> str:
    story: RankedStory = page.story
    meta: dict[str, Any] = {
        "type": "story",
        "id": story.id,
        "title": plain_text(story.headline),
        "url": page.path,
        "first_published": page.days[0].isoformat(),
        "last_published": page.days[-1].isoformat(),
        "days": [d.isoformat() for d in page.days],
        "topics": [t.slug for t in topics],
        "sources": [
            {
                "number": c.number,
                "outlet": plain_text(c.outlet),
                "title": plain_text(c.title),
                "url": c.url,
            }
            for c in story.summary.sources
        ],
        "merged_into": merged_into,
    }
    lines = [f"# {plain_text(story.headline)}", ""]
    if merged_into:
        lines += [f"Merged into {merged_into}.", ""]
    if story.whats_new:
        lines += [f"**What's new:** {_sentences(story.whats_new)}", ""]
    if story.summary.lead:
        lines += [_sentences(story.summary.lead), ""]
    lines += [f"- {_sentences([s])}" for s in story.summary.points]
    if topics:
        lines += ["", "Topics: " + " · ".join(_topic_link(t.slug, t.name) for t in topics)]
    lines += ["", "## Timeline", ""]
    for entry in page.timeline:
        label = "First reported" if entry.first else "Update"
        cited = ", ".join(f"{plain_text(c.outlet)} [{c.number}]" for c in entry.sources)
        lines.append(f"- {entry.day.isoformat()} {label}: {cited}")
    lines += ["", "## Sources", ""]
    lines += [
        f"{c.number}. {plain_text(c.outlet)}: [{_label(c.title) or '(untitled)'}]({c.url})"
        for c in story.summary.sources
    ]
    return frontmatter.dumps(frontmatter.Post("\n".join(lines), **meta), sort_keys=False) + "\n"


def _topic_note(page: topic_pages.TopicPage) -> str:
    meta: dict[str, Any] = {
        "type": "topic",
        "slug": page.topic.slug,
        "title": page.topic.name,
        "kind": page.topic.kind,
        "url": page.path,
        "stories": [s.id for s in page.stories],
        "first_published": page.stories[0].days[0].isoformat(),
        "last_published": max(s.days[-1] for s in page.stories).isoformat(),
    }
    lines = [f"# {plain_text(page.topic.name)}", "", "## Stories", ""]
    lines += [f"- {s.days[0].isoformat()} {_link(s)}" for s in page.stories]
    if page.neighbours:
        lines += ["", "## Related", ""]
        lines += [f"- {_topic_link(t.slug, t.name)} ({n})" for t, n in page.neighbours]
    return frontmatter.dumps(frontmatter.Post("\n".join(lines), **meta), sort_keys=False) + "\n"
