"""Feed parsing: fetched bytes in, plain-text entries out; bad feeds are data.

feedparser reads the body we fetched, with the response headers for the
charset and a Content-Location for relative links, and nothing else: it is
never given a URL, so it never opens a connection or a file (style
convention 7). A malformed feed is not an exception: whatever feedparser
could read comes back, and everything it or we noticed (bozo exceptions,
entries without a link, unreadable dates) is recorded in
``ParsedFeed.problems``, as feedparser's own ``bozo`` does.

Titles, summaries and authors leave here as plain text: feed HTML is for
display, and the later stages (dedupe, cluster, summarize) compare words.
"""

from __future__ import annotations

import calendar
import io
import logging
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from .models import Entry, FetchResult, ParsedFeed

LOGGER = logging.getLogger(__name__)

_SUMMARY_MAX_CHARS = 4000
# Elements whose boundaries separate words; inline ones (<em>, <a>) do not.
# Written as one word list rather than 35 quoted items, hence the SIM905 noqa.
_BLOCK_TAGS = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 "  # noqa: SIM905
    "h5 h6 header hr li main nav ol p pre section table tbody td tfoot th thead tr ul".split()
)


def parse(result: FetchResult) -> ParsedFeed:
    """Read a fetched feed into entries with absolute links and plain text; never raises."""
    base = result.final_url or result.url
    if not result.body:
        return ParsedFeed(entries=(), problems=(f"{base}: empty body, nothing to parse",))
    headers = {name.lower(): value for name, value in result.headers.items()}
    headers["content-location"] = base  # feedparser's base for relative links in content
    try:
        parsed = feedparser.parse(io.BytesIO(result.body), response_headers=headers)
    except Exception as exc:  # feedparser should not raise; if it does, the feed is the problem
        LOGGER.warning("feedparser failed on %s: %r", base, exc)
        return ParsedFeed(entries=(), problems=(f"{base}: feedparser failed: {exc!r}",))
    problems: list[str] = []
    if parsed.get("bozo"):
        problems.append(f"{base}: {_describe(parsed.get('bozo_exception'))}")
    if not parsed.get("version") and not parsed.entries:
        problems.append(f"{base}: no RSS, Atom or RDF feed found")
    entries = []
    for number, item in enumerate(parsed.entries, start=1):
        entry = _entry(item, base, number, problems)
        if entry is not None:
            entries.append(entry)
    feed = parsed.feed
    ttl_minutes = _ttl(feed.get("ttl"), base, problems)
    return ParsedFeed(
        entries=tuple(entries),
        title=_text(feed.get("title", "")),
        site_url=_absolute(base, feed.get("link", "")) or "",
        problems=tuple(problems),
        ttl_minutes=ttl_minutes,
    )


def _entry(item: Any, base: str, number: int, problems: list[str]) -> Entry | None:
    """One entry as plain text, or None (with a problem recorded) when it has no usable link."""
    title = _text(item.get("title", ""))
    url = _absolute(base, item.get("link", ""))
    if url is None:
        url = next(
            (
                absolute
                for link in item.get("links", [])
                if link.get("rel", "alternate") == "alternate"
                and (absolute := _absolute(base, link.get("href", ""))) is not None
            ),
            None,
        )
    if url is None:
        problems.append(f"{base}: entry {number} ({title[:60]!r}) has no usable link; dropped")
        return None
    guid = str(item.get("id") or "").strip() or url
    return Entry(
        url=url,
        guid=guid,
        title=title,
        summary=_summary(item),
        author=_author(item),
        published_at=_published(item, base, number, problems),
    )


def _absolute(base: str, link: object) -> str | None:
    """``link`` made absolute against the feed's URL, or None unless it is http(s)."""
    if not isinstance(link, str) or not link.strip():
        return None
    try:
        url = urljoin(base, link.strip())
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    return url


def _summary(item: Any) -> str:
    """The longest of summary/description and content as text, cut at a word near the cap.

    The longest wins because the summary stands in for the article's text
    when its page cannot be extracted.
    """
    candidates = [item.get("summary", "")]
    candidates += [part.get("value", "") for part in item.get("content", [])]
    text = max((_text(c) for c in candidates), key=len)
    if len(text) <= _SUMMARY_MAX_CHARS:
        return text
    return text[:_SUMMARY_MAX_CHARS].rsplit(" ", 1)[0] + "…"


def _author(item: Any) -> str:
    names = [_text(a.get("name", "")) for a in item.get("authors", [])]
    names = [n for n in names if n]
    return ", ".join(names) if names else _text(item.get("author", ""))


def _published(item: Any, base: str, number: int, problems: list[str]) -> datetime | None:
    """Publication time in UTC from published, else updated; None when the feed has neither."""
    # dict.get: FeedParserDict maps a missing updated_parsed to published_parsed with a
    # DeprecationWarning, and we decide the fallback ourselves.
    parsed = dict.get(item, "published_parsed") or dict.get(item, "updated_parsed")
    if parsed is None:
        raw = dict.get(item, "published") or dict.get(item, "updated")
        if raw:
            problems.append(f"{base}: entry {number} has an unreadable date {raw!r}")
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), UTC)
    except (TypeError, ValueError, OverflowError):
        problems.append(f"{base}: entry {number} has an impossible date {tuple(parsed[:6])}")
        return None


def _ttl(value: object, base: str, problems: list[str]) -> int | None:
    """Minutes from RSS <ttl>, the publisher's hint of how long the feed stays fresh."""
    if value is None:
        return None
    text = str(value).strip()
    if text.isdigit() and int(text) > 0:
        return int(text)
    problems.append(f"{base}: ignoring <ttl> {text!r}, not a positive number of minutes")
    return None


def _describe(exc: object) -> str:
    return f"{type(exc).__name__}: {exc}" if exc is not None else "malformed feed"


class _TextCollector(HTMLParser):
    """The text of an HTML fragment: tags dropped, entities decoded, blocks kept apart."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _text(value: object) -> str:
    """Plain text with collapsed whitespace from a feed field that may hold HTML.

    Every field goes through the HTML reader, plain-text ones too: feeds
    double-escape (``&amp;amp;``) and put markup where the format says text,
    while a lone ``<`` in real text ("a < b") survives the reader untouched.
    """
    if not isinstance(value, str) or not value:
        return ""
    collector = _TextCollector()
    collector.feed(value)
    collector.close()
    return " ".join("".join(collector.parts).split())
