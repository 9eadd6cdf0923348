"""A digest as ``YYYY-MM-DD.md``: readable as plain text and as rendered Markdown.

Per story: the headline, "N sources" with the outlets, the summary (lead as a
paragraph, key points as a list, under section labels for a big story) with its ``[n]`` marks, and the numbered
source list (outlet, title, link). The numbers of the list are the numbers of
the marks.

Feed text is escaped for Markdown, so a title cannot open a link, a heading
or raw HTML in whatever renders the file, and line breaks in feed text are
folded so it cannot start a new block. Only http(s) links are made links.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..digest import groups
from ..models import Citation, Digest, RankedStory, SummarySentence
from ..sanitize import plain_text, safe_url
from .dates import edition_label, long_date, short_time
from .files import write_atomic
from .readable import published

DEFAULT_TITLE = "AI news digest"

_INLINE = re.compile(r"([\\`*_\[\]<>|~])")
_ENTITY = re.compile(r"&(?=#?\w+;)")
_BLOCK_START = re.compile(r"^(#|[-+=]|\d+[.)])")


def render(digest: Digest, title: str = DEFAULT_TITLE) -> str:
    """The Markdown text of ``digest``."""
    digest = published(digest)
    count = len(digest.stories)
    lines = [
        f"# {escape(title)}: {long_date(digest.day)}",
        "",
        f"{count} stor{'y' if count == 1 else 'ies'}, "
        f"published {short_time(digest.built_at, digest.timezone)} ({escape(digest.timezone)}).",
    ]
    if not digest.stories:
        lines += ["", "No stories met the bar today."]
    for group in groups(digest):
        lines += ["", f"## {escape(group.title)}"]
        for story in group.stories:
            lines += ["", *_story(story, digest.timezone)]
    return "\n".join(lines) + "\n"


def write(digest: Digest, folder: Path, title: str = DEFAULT_TITLE) -> Path:
    """Write ``folder/YYYY-MM-DD.md`` atomically and return its path."""
    path = Path(folder) / f"{digest.day.isoformat()}.md"
    write_atomic(path, render(digest, title).encode("utf-8"))
    return path


def escape(text: str) -> str:
    """Feed text as literal Markdown: one line, metacharacters and entities escaped."""
    line = _ENTITY.sub("\\&", _INLINE.sub(r"\\\1", plain_text(text)))
    return _BLOCK_START.sub(lambda m: m.group(1)[:-1] + "\\" + m.group(1)[-1], line)


def _story(story: RankedStory, timezone: str) -> list[str]:
    sources = story.summary.sources
    outlets = " · ".join(escape(c.outlet) for c in sources)
    noun = "source" if len(sources) == 1 else "sources"
    lines = [f"### {escape(story.headline)}", ""]
    if label := edition_label(story):
        lines += [f"*{label}*", ""]
    lines.append(f"**{len(sources)} {noun}:** {outlets}")
    if story.whats_new:
        lines += ["", "**What's new:** " + " ".join(_sentence(s) for s in story.whats_new)]
    if story.summary.lead:
        lines += ["", " ".join(_sentence(s) for s in story.summary.lead)]
    for label, points in story.summary.grouped():
        if label:
            lines += ["", f"**{escape(label)}**"]
        lines += ["", *(f"- {_sentence(s)}" for s in points)]
    lines += ["", "Sources:", ""]
    lines += [_source(c, timezone, c.number in story.new_sources) for c in sources]
    return lines


def _sentence(sentence: SummarySentence) -> str:
    marks = "".join(f"[{n}]" for n in sentence.citations)
    return f"{escape(sentence.text)} {marks}".rstrip()


def _source(citation: Citation, timezone: str, new: bool = False) -> str:
    title = escape(citation.title) or "(untitled)"
    url = safe_url(citation.url)
    link = (
        f"[{title}](<{_destination(url)}>)"
        if url
        else f"{title} (link withheld: not a web address)"
    )
    when = f" ({short_time(citation.published_at, timezone)})" if citation.published_at else ""
    mark = " · *new*" if new else ""
    return f"{citation.number}. **{escape(citation.outlet)}**: {link}{when}{mark}"


def _destination(url: str) -> str:
    """A URL safe inside ``<...>``: the two characters that would end it are percent-encoded."""
    return url.replace("<", "%3C").replace(">", "%3E")
