"""OPML import/export and appending imported feeds to a sources file."""

from __future__ import annotations

import logging
import re
import shutil
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from pipeline import opml
from pipeline.config import load_sources
from pipeline.errors import SourcesFileError
from pipeline.models import Source

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "sources"
INVALID_OPML = sorted((FIXTURES / "invalid").glob("*.opml"))


def _feeds(sources: list[Source]) -> list[tuple[str, str, str]]:
    return [(s.name, s.url, s.site_url) for s in sources]


# --- export / import round trip -------------------------------------------------------------


def test_round_trip_of_the_curated_sources_keeps_every_feed(tmp_path: Path) -> None:
    curated = load_sources(ROOT / "sources.yaml")
    path = tmp_path / "curated.opml"
    path.write_text(opml.export(curated), encoding="utf-8")

    back = opml.import_(path)

    assert sorted(_feeds(back)) == sorted(_feeds(curated))
    assert {s.url: s.tags for s in back} == {s.url: s.tags for s in curated}


def test_export_groups_by_first_tag_and_writes_a_dated_head() -> None:
    sources = [
        Source("Lab A", "https://a.example/feed", "https://a.example/", tags=("lab", "ai-only")),
        Source("Paper B", "https://b.example/rss", tags=("research",)),
        Source("Lab C", "https://c.example/atom", tags=("lab",)),
        Source("Untagged", "https://d.example/feed"),
    ]
    when = datetime(2025, 3, 4, 5, 6, 7, tzinfo=UTC)

    root = ET.fromstring(opml.export(sources, title="My feeds", now=when))

    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "My feeds"
    assert parsedate_to_datetime(root.findtext("head/dateCreated") or "") == when
    body = root.find("body")
    assert body is not None
    top = [(o.get("text"), o.get("xmlUrl")) for o in body]
    assert top == [("lab", None), ("research", None), ("Untagged", "https://d.example/feed")]
    lab = [o.attrib for o in body[0]]
    assert [a["xmlUrl"] for a in lab] == ["https://a.example/feed", "https://c.example/atom"]
    assert lab[0] == {
        "type": "rss",
        "text": "Lab A",
        "title": "Lab A",
        "xmlUrl": "https://a.example/feed",
        "htmlUrl": "https://a.example/",
        "category": "lab,ai-only",
    }
    assert "htmlUrl" not in lab[1]


def test_export_escapes_markup_and_drops_characters_xml_cannot_hold(tmp_path: Path) -> None:
    nasty = Source(
        'R&D <"Lab"> \x01news',
        "https://example.org/feed?a=1&b=<2>",
        "https://example.org/?q='x'",
        tags=("a&b",),
    )
    text = opml.export([nasty])
    assert "\x01" not in text

    path = tmp_path / "nasty.opml"
    path.write_text(text, encoding="utf-8")
    [back] = opml.import_(path)

    assert back.name == 'R&D <"Lab"> news'
    assert back.url == "https://example.org/feed?a=1&b=<2>"
    assert back.site_url == "https://example.org/?q='x'"
    assert back.tags == ("a&b",)


# --- import of real-world-shaped files ------------------------------------------------------


def test_feedly_export_with_nested_folders_imports() -> None:
    sources = opml.import_(FIXTURES / "valid" / "feedly.opml")

    assert [(s.name, s.url, s.tags) for s in sources] == [
        # Listed twice (once with a trailing slash): one source with both folders' tags.
        ("OpenAI News", "https://openai.com/news/rss.xml", ("ai-labs", "must-read")),
        ("Google DeepMind Blog", "https://deepmind.google/blog/rss.xml", ("ai-labs",)),
        ("cs.CL updates on arXiv.org", "https://rss.arxiv.org/rss/cs.CL", ("research", "papers")),
        ("BAIR Blog", "https://bair.berkeley.edu/blog/feed.xml", ("research",)),
        ("Simon Willison's Weblog & Notes", "https://simonwillison.net/atom/everything/", ()),
    ]
    assert sources[0].site_url == "https://openai.com/news/"
    assert all(s.weight == 0.5 and s.enabled and s.interval is None for s in sources)


def test_inoreader_export_skips_links_and_odd_urls(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="pipeline.opml"):
        sources = opml.import_(FIXTURES / "valid" / "inoreader.opml")

    assert [(s.name, s.url, s.site_url, s.tags) for s in sources] == [
        (
            "The Verge - AI",
            "https://www.theverge.com/rss/ai-artificial-intelligence/index.xml",
            "https://www.theverge.com/ai-artificial-intelligence",
            ("tech-press",),
        ),
        # title only (no text); category "/Press/Daily,ai-only" adds its last segments as tags
        (
            "Ars Technica - AI",
            "https://arstechnica.com/ai/feed/",
            "https://arstechnica.com/ai/",
            ("tech-press", "daily", "ai-only"),
        ),
        # lower-case attribute names; the javascript: htmlUrl is dropped; unnamed folder adds no tag
        ("Lowercase attributes", "https://example.net/rss", "", ()),
        # no text or title: named after the feed's host
        ("nameless.example", "https://nameless.example/atom.xml", "", ()),
    ]
    assert "feed://example.org/podcast.xml" in caplog.text
    assert re.search(r"inoreader\.opml:12: skipping", caplog.text)


def test_imported_feeds_load_after_being_appended(tmp_path: Path) -> None:
    target = tmp_path / "sources.yaml"
    imported = opml.import_(FIXTURES / "valid" / "inoreader.opml")

    added = opml.append_sources(target, imported)

    assert _feeds(load_sources(target)) == _feeds(imported) == _feeds(added)


# --- hostile and broken files ---------------------------------------------------------------


@pytest.mark.parametrize("path", INVALID_OPML, ids=lambda p: p.name)
def test_invalid_opml_names_file_and_line(path: Path) -> None:
    expect = re.search(r"Expect: line (\d+): (.+?)(?: -->)?$", path.read_text(), re.MULTILINE)
    assert expect, f"{path.name} has no 'Expect: line N: message' header"
    line, message = int(expect[1]), expect[2]

    with pytest.raises(SourcesFileError) as caught:
        opml.import_(path)

    assert (caught.value.path, caught.value.line) == (str(path), line)
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{path}:{line}: ")


def test_entity_bomb_is_refused_quickly() -> None:
    """Refusing at the DOCTYPE means the ~10⁹ expansion never starts."""
    started = datetime.now(UTC)
    with pytest.raises(SourcesFileError, match="DOCTYPE"):
        opml.import_(FIXTURES / "invalid" / "doctype-billion-laughs.opml")
    assert (datetime.now(UTC) - started).total_seconds() < 1


def test_missing_opml_file() -> None:
    with pytest.raises(SourcesFileError) as caught:
        opml.import_(FIXTURES / "no-such-file.opml")
    assert caught.value.line is None and "file not found" in caught.value.message


# --- append_sources -------------------------------------------------------------------------


def _copy(name: str, tmp_path: Path) -> Path:
    target = tmp_path / name
    shutil.copy(FIXTURES / "valid" / name, target)
    return target


def test_append_keeps_comments_skips_duplicates_and_loads(tmp_path: Path) -> None:
    target = _copy("commented.yaml", tmp_path)
    before = target.read_text(encoding="utf-8")
    new = [
        Source("Example Lab mirror", "HTTPS://LAB.example/feed.xml/"),  # already listed
        Source("Quoted: name # not a comment", "https://q.example/rss?a=1&b=2", tags=("my tag",)),
        Source("Example Times", "https://other-times.example/rss"),  # name taken
        Source("Twice", "https://twice.example/feed", weight=0.8, interval=30, enabled=False),
        Source("Twice again", "https://twice.example/feed/"),  # duplicate within the batch
    ]

    added = opml.append_sources(target, new, comment="imported from\nreader.opml")

    after = target.read_text(encoding="utf-8")
    assert after.startswith(before), "existing text, comments included, must be kept verbatim"
    assert "  # imported from reader.opml\n" in after
    assert [(s.name, s.url) for s in added] == [
        ("Quoted: name # not a comment", "https://q.example/rss?a=1&b=2"),
        ("Example Times (other-times.example)", "https://other-times.example/rss"),
        ("Twice", "https://twice.example/feed"),
    ]
    loaded = load_sources(target)
    assert loaded[-3:] == added
    assert added[0].tags == ("my tag",)
    assert (added[2].weight, added[2].interval, added[2].enabled) == (0.8, 30, False)
    assert [s.name for s in loaded[:2]] == ["Example Lab", "Example Times"]


def test_append_matches_the_lists_indentation(tmp_path: Path) -> None:
    target = _copy("compact.yaml", tmp_path)

    opml.append_sources(target, [Source("Three", "https://three.example/feed", tags=("x",))])

    assert target.read_text(encoding="utf-8").endswith(
        "- name: Compact Two\n  url: https://two.example/feed\n"
        "- name: Three\n  url: https://three.example/feed\n  weight: 0.5\n  tags: [x]\n"
    )
    assert [s.name for s in load_sources(target)] == ["Compact One", "Compact Two", "Three"]


def test_append_to_the_curated_file_keeps_its_text(tmp_path: Path) -> None:
    target = tmp_path / "sources.yaml"
    shutil.copy(ROOT / "sources.yaml", target)
    before = target.read_text(encoding="utf-8")

    imported = opml.import_(FIXTURES / "valid" / "feedly.opml")
    added = opml.append_sources(target, imported)

    # Every feed of the Feedly file is already curated: nothing to add, nothing touched.
    assert added == []
    assert target.read_text(encoding="utf-8") == before


def test_append_to_an_empty_flow_list_and_to_a_missing_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.yaml"
    empty.write_text("# start here\nsources: []  # nothing yet\n", encoding="utf-8")
    missing = tmp_path / "missing.yaml"
    feed = Source("One", "https://one.example/feed")

    assert opml.append_sources(empty, [feed]) == [feed]
    assert opml.append_sources(missing, [feed]) == [feed]

    assert empty.read_text(encoding="utf-8").startswith("# start here\nsources:  # nothing yet\n")
    assert load_sources(empty) == load_sources(missing) == [feed]


def test_append_refuses_a_flow_list_with_entries_and_leaves_it(tmp_path: Path) -> None:
    target = tmp_path / "flow.yaml"
    text = "sources: [{name: A, url: 'https://a.example/feed'}]\n"
    target.write_text(text, encoding="utf-8")

    with pytest.raises(SourcesFileError, match="block list") as caught:
        opml.append_sources(target, [Source("B", "https://b.example/feed")])

    assert caught.value.line == 1
    assert target.read_text(encoding="utf-8") == text
    assert [p.name for p in tmp_path.iterdir()] == ["flow.yaml"]


def test_append_to_an_invalid_file_fails_without_writing(tmp_path: Path) -> None:
    target = tmp_path / "bad.yaml"
    shutil.copy(FIXTURES / "invalid" / "unknown-key.yaml", target)
    before = target.read_bytes()

    with pytest.raises(SourcesFileError, match="unknown key 'wieght'"):
        opml.append_sources(target, [Source("B", "https://b.example/feed")])

    assert target.read_bytes() == before


def test_append_writes_odd_text_on_one_line_each(tmp_path: Path) -> None:
    target = _copy("compact.yaml", tmp_path)
    odd = Source("Line\nbreak\tand 'quotes': #1", "https://odd.example/feed", tags=("yes", "1"))

    [added] = opml.append_sources(target, [odd])

    assert added == odd  # "yes" and "1" stay strings, the line break survives escaped
    assert target.read_text(encoding="utf-8").count("\n") == 6 + 4  # four new lines


def test_append_of_an_invalid_source_names_the_real_file(tmp_path: Path) -> None:
    target = _copy("compact.yaml", tmp_path)
    before = target.read_bytes()

    with pytest.raises(SourcesFileError) as caught:
        opml.append_sources(target, [Source("Heavy", "https://heavy.example/feed", weight=2.0)])

    assert caught.value.path == str(target) and caught.value.line == 9
    assert "weight must be a number from 0 to 1" in caught.value.message
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["compact.yaml"]


def test_a_new_sources_file_is_readable_by_others(tmp_path: Path) -> None:
    target = tmp_path / "new.yaml"
    opml.append_sources(target, [Source("One", "https://one.example/feed")])
    assert target.stat().st_mode & 0o777 == 0o644


def test_import_collapses_whitespace_in_names(tmp_path: Path) -> None:
    path = tmp_path / "spaced.opml"
    path.write_text(
        '<opml version="2.0"><body>'
        '<outline text="  Two&#10;lines\tof  name " xmlUrl="https://x.example/feed"/>'
        '<outline text="Bad URL" xmlUrl="https://x.example/a b"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    assert opml.import_(path) == [Source("Two lines of name", "https://x.example/feed")]
