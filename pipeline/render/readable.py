"""A digest as readers get it: clean links and dated relative days, in every output.

Every renderer (Markdown, JSON, the site and its Atom feed, the email) starts
from ``published(digest)``, so no output can differ from another in what it
links to or how a sentence reads. The database keeps what was fetched (the
original URL, the sentence as written); only what is published changes.

* Links: each source's URL and every coverage URL through ``urls.canonicalize``,
  the rules that decide an article's identity, so ``?utm_source=rss`` and the
  other trackers it strips never reach a reader.
* Sentences: ``relative.dated`` with the publication time of the first source
  the sentence cites, so "on Wednesday" reads "on Wednesday (18 Dec)".

Both steps are idempotent: the JSON archive is read back and rendered again.
"""

from __future__ import annotations

from dataclasses import replace

from ..models import Citation, Digest, RankedStory, SummarySentence
from ..urls import canonicalize
from .relative import dated

__all__ = ["published"]


def published(digest: Digest) -> Digest:
    """``digest`` with clean links and dated relative days."""
    return replace(digest, stories=tuple(_story(s, digest.timezone) for s in digest.stories))


def _story(story: RankedStory, timezone: str) -> RankedStory:
    summary = story.summary
    sources = tuple(replace(c, url=canonicalize(c.url)) for c in summary.sources)
    by_number = {c.number: c for c in sources}
    return replace(
        story,
        summary=replace(
            summary,
            lead=tuple(_sentence(s, by_number, timezone) for s in summary.lead),
            points=tuple(_sentence(s, by_number, timezone) for s in summary.points),
            sources=sources,
        ),
        article_urls=tuple(canonicalize(url) for url in story.article_urls),
        whats_new=tuple(_sentence(s, by_number, timezone) for s in story.whats_new),
    )


def _sentence(
    sentence: SummarySentence, sources: dict[int, Citation], timezone: str
) -> SummarySentence:
    cited = next((sources[n] for n in sentence.citations if n in sources), None)
    if cited is None or cited.published_at is None:
        return sentence
    return replace(sentence, text=dated(sentence.text, cited.published_at, timezone))
