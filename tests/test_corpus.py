"""Every recorded feed under fixtures/feeds/ parses without raising and meets its own Expect: lines.

Each file starts with a comment header, as feedparser's test corpus does::

    <!--
    Description: what the feed is and why it is here (may continue on indented lines)
    URL: https://where.it/was/fetched.xml      (optional; the base for relative links)
    Content-Type: application/rss+xml          (optional; the recorded response header)
    Expect: len(entries) == 3 and not problems (one Python expression per line, all must hold)
    -->

Expressions see ``feed`` (the ParsedFeed), ``entries``, ``problems``, ``datetime``
and ``UTC``. Adding a regression case means adding a file.
"""

from __future__ import annotations

import re
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.feeds import parse
from pipeline.models import FetchResult

CORPUS = Path(__file__).parent / "fixtures" / "feeds"
FILES = sorted(CORPUS.rglob("*.xml"))
_HEADER = re.compile(r"<!--(.*?)-->", re.DOTALL)
_FIELD = re.compile(r"^(Description|URL|Content-Type|Expect):\s*(.*)$")


def _header(path: Path) -> dict[str, list[str]]:
    """The header comment's fields; the comment is ASCII whatever the feed's encoding."""
    match = _HEADER.search(path.read_bytes()[:4000].decode("ascii", "replace"))
    assert match, f"{path.name}: no header comment"
    found: dict[str, list[str]] = {}
    for line in match.group(1).splitlines():
        field = _FIELD.match(line.strip())
        if field:
            found.setdefault(field.group(1), []).append(field.group(2).strip())
    assert found.get("Description"), f"{path.name}: header has no Description:"
    assert found.get("Expect"), f"{path.name}: header has no Expect:"
    return found


def test_corpus_is_not_empty() -> None:
    assert len(FILES) >= 7


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_recorded_feed(path: Path) -> None:
    header = _header(path)
    url = header.get("URL", [f"http://127.0.0.1/feeds/{path.relative_to(CORPUS)}"])[0]
    content_type = header.get("Content-Type", ["application/xml"])[0]
    result = FetchResult(
        url=url,
        status=200,
        final_url=url,
        body=path.read_bytes(),
        headers={"content-type": content_type},
    )

    feed = parse(result)

    for entry in feed.entries:
        for f in fields(entry):
            if f.name != "published_at":
                assert isinstance(getattr(entry, f.name), str), f"{f.name} of {entry}"
        assert entry.published_at is None or entry.published_at.tzinfo is UTC
    assert isinstance(feed.title, str) and isinstance(feed.site_url, str)
    assert all(isinstance(p, str) for p in feed.problems)
    names = {
        "feed": feed,
        "entries": feed.entries,
        "problems": feed.problems,
        "datetime": datetime,
        "UTC": UTC,
    }
    for expectation in header["Expect"]:
        assert eval(expectation, names), (  # noqa: S307 - our own fixture files, as feedparser's
            f"{path.name}: Expect: {expectation}\n  entries={feed.entries}\n  problems={feed.problems}"
        )
