"""The day's files: Markdown and JSON content field by field, the schema, atomic writes, determinism.

``check_markdown`` and ``check_json`` compare a written file with the Digest
it came from, field by field; they are meant for reuse (the demo-corpus test
of ``run.build_day`` can call them on its output).
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import lxml.html
import pytest
from markdown_it import MarkdownIt

from pipeline.digest import groups, section_title, select
from pipeline.errors import PipelineError
from pipeline.models import Digest
from pipeline.render import SiteParams, email, jsonout, markdown, render_all
from pipeline.render.dates import short_time
from pipeline.sanitize import safe_url
from pipeline.sections import LABELS
from tests.test_digest import BUILT, DAY, PARAMS, make_story, sample_digest, sample_stories

SCHEMA = json.loads(jsonout.SCHEMA_PATH.read_text(encoding="utf-8"))
SCHEMA_LABELS = SCHEMA["$defs"]["story"]["properties"]["summary"]["properties"]["sections"][
    "items"
]["properties"]["label"]["enum"]


def check_markdown(text: str, digest: Digest) -> None:
    """Every story's headline, source count, outlets, cited sentences and numbered sources, in order."""
    lines = text.splitlines()
    position = 0

    def expect(line: str) -> None:
        nonlocal position
        assert line in lines[position:], f"missing after line {position}: {line!r}"
        position = lines.index(line, position) + 1

    assert lines[0].startswith("# ") and str(digest.day.year) in lines[0]
    for group in groups(digest):
        expect(f"## {markdown.escape(group.title)}")
        for story in group.stories:
            sources = story.summary.sources
            expect(f"### {markdown.escape(story.headline)}")
            outlets = " · ".join(markdown.escape(c.outlet) for c in sources)
            noun = "source" if len(sources) == 1 else "sources"
            expect(f"**{len(sources)} {noun}:** {outlets}")
            marked = [
                f"{markdown.escape(s.text)} {''.join(f'[{n}]' for n in s.citations)}".rstrip()
                for s in story.summary.lead
            ]
            if marked:
                expect(" ".join(marked))
            for label, points in story.summary.grouped():
                if label:
                    expect(f"**{label}**")
                for point in points:
                    marks = "".join(f"[{n}]" for n in point.citations)
                    expect(f"- {markdown.escape(point.text)} {marks}".rstrip())
            expect("Sources:")
            for c in sources:
                prefix = f"{c.number}. **{markdown.escape(c.outlet)}**: "
                line = next((x for x in lines[position:] if x.startswith(prefix)), None)
                assert line is not None, f"missing source line {prefix!r}"
                url = safe_url(c.url)
                if url:
                    destination = url.replace("<", "%3C").replace(">", "%3E")
                    assert f"[{markdown.escape(c.title)}](<{destination}>)" in line
                else:
                    assert "](" not in line
                if c.published_at:
                    assert short_time(c.published_at, digest.timezone) in line
                position = lines.index(line, position) + 1


def check_json(data: dict[str, Any], digest: Digest) -> None:
    """The JSON document conforms to the schema and holds every field of the digest."""
    jsonschema.Draft202012Validator(
        SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    ).validate(data)
    assert data["schema_version"] == jsonout.SCHEMA_VERSION
    assert data["date"] == digest.day.isoformat()
    assert data["timezone"] == digest.timezone
    assert datetime.fromisoformat(data["window"]["end"]) == digest.built_at
    assert data["story_count"] == len(digest.stories) == len(data["stories"])
    assert [(s["id"], s["title"]) for s in data["sections"]] == [
        (g.key, g.title) for g in groups(digest)
    ]
    for rank, (item, story) in enumerate(
        zip(data["stories"], digest.stories, strict=True), start=1
    ):
        assert item["id"] == story.id
        assert item["rank"] == rank
        assert item["headline"] == story.headline
        assert item["section"] == story.section
        assert item["section_title"] == section_title(story.section)
        assert item["status"] == story.status
        assert item["score"] == story.score
        assert item["explanation"] == story.explanation
        assert item["outlets"] == story.outlets
        assert item["summary"]["headline"] == story.summary.headline
        assert item["summary"]["method"] == story.summary.method
        for part in ("lead", "points"):
            expected = [
                {"text": s.text, "citations": list(s.citations)}
                for s in getattr(story.summary, part)
            ]
            assert item["summary"][part] == expected
        assert len(item["sources"]) == len(story.summary.sources)
        for source, citation in zip(item["sources"], story.summary.sources, strict=True):
            assert source["number"] == citation.number
            assert source["outlet"] == citation.outlet
            assert source["title"] == citation.title
            assert source["url"] == citation.url
            published = source["published_at"]
            assert (
                datetime.fromisoformat(published) if published else None
            ) == citation.published_at
            assert source["article_ids"] == list(citation.article_ids)
        assert item["article_urls"] == list(story.article_urls)
        assert [datetime.fromisoformat(t) for t in item["article_times"]] == list(
            story.article_times
        )


def test_markdown_has_every_story_field_by_field(tmp_path):
    digest = sample_digest()
    path = markdown.write(digest, tmp_path)
    assert path.name == "2024-12-19.md"
    text = path.read_text(encoding="utf-8")
    check_markdown(text, digest)
    assert text.startswith("# AI news digest: Thursday 19 December 2024\n")
    assert "6 stories, published 19 Dec 2024, 07:00 (Europe/London)." in text
    # One concrete story, literally.
    assert (
        "Researchers at Anthropic and Redwood Research found that Claude 3 Opus sometimes "
        "pretended to comply with a new training objective. [1][2][3] The behaviour rose to 78% "
        "of cases once reinforcement learning was applied. [1]"
    ) in text
    assert (
        "- The model was told that only free-tier conversations would be used for training. [2][4]"
        in text
    )
    assert (
        "4. **Guardrail**: [What alignment faking means for safety training]"
        "(<https://guardrail.example/what-it-means>) (18 Dec 2024, 15:58)"
    ) in text


def test_markdown_renders_to_the_same_structure():
    digest = sample_digest()
    page = lxml.html.fromstring(MarkdownIt("commonmark").render(markdown.render(digest)))
    assert [h.text_content() for h in page.iter("h3")] == [s.headline for s in digest.stories]
    assert [h.text_content() for h in page.iter("h2")] == [g.title for g in groups(digest)]
    links = [a.get("href") for a in page.iter("a")]
    expected = [c.url for s in digest.stories for c in s.summary.sources]
    assert links == expected


def test_json_conforms_to_the_schema_field_by_field(tmp_path):
    digest = sample_digest()
    path = jsonout.write(digest, tmp_path)
    assert path.name == "2024-12-19.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    check_json(data, digest)
    assert data["window"] == {
        "start": "2024-12-18T07:00:00+00:00",
        "end": "2024-12-19T07:00:00+00:00",
    }
    assert data["sections"][0] == {"id": "pinned", "title": "Editors' picks", "story_ids": [3]}
    first = data["stories"][1]
    assert first["sources"][3] == {
        "number": 4,
        "outlet": "Guardrail",
        "title": "What alignment faking means for safety training",
        "url": "https://guardrail.example/what-it-means",
        "published_at": "2024-12-18T15:58:00+00:00",
        "article_ids": [704],
    }
    assert first["summary"]["lead"][1] == {
        "text": "The behaviour rose to 78% of cases once reinforcement learning was applied.",
        "citations": [1],
    }


def test_schema_is_valid_draft_2020_12_and_refuses_missing_fields():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    data = jsonout.to_dict(sample_digest())
    del data["stories"][0]["sources"][0]["url"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)


def test_read_is_the_inverse_of_write(tmp_path):
    digest = sample_digest()
    assert jsonout.read(jsonout.write(digest, tmp_path)) == digest
    odd = make_story(5, "Naive times, no dates, no points", times=(datetime(2024, 12, 18, 12, 0),))
    odd = replace(
        odd,
        first_seen=None,
        summary=replace(
            odd.summary,
            method="llm",
            sources=tuple(replace(c, published_at=None) for c in odd.summary.sources),
        ),
    )
    other = Digest(date(2024, 12, 20), "UTC", datetime(2024, 12, 20, 7, 0, tzinfo=UTC), (odd,))
    assert jsonout.read(jsonout.write(other, tmp_path)) == other


def test_read_refuses_an_unknown_schema_version(tmp_path):
    path = tmp_path / "2024-12-19.json"
    data = jsonout.to_dict(sample_digest())
    data["schema_version"] = 99
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(PipelineError, match="schema_version 99"):
        jsonout.read(path)


def test_files_are_replaced_atomically_and_unchanged_files_are_left_alone(tmp_path):
    digest = sample_digest()
    path = jsonout.write(digest, tmp_path)
    before = path.stat()
    jsonout.write(digest, tmp_path)
    assert path.stat().st_ino == before.st_ino and path.stat().st_mtime_ns == before.st_mtime_ns
    changed = replace(digest, stories=digest.stories[:2])
    jsonout.write(changed, tmp_path)
    assert path.stat().st_ino != before.st_ino  # a new file moved into place, not rewritten
    assert jsonout.read(path) == changed
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "2024-12-19.json"
    ]  # no temporary files left
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_building_a_day_twice_gives_identical_files(tmp_path):
    stories = sample_stories()
    first = select(stories, DAY, PARAMS, BUILT)
    again = stories[:]
    random.Random(7).shuffle(again)
    second = select(again, DAY, PARAMS, BUILT + timedelta(hours=30))
    params = SiteParams(base_url="https://news.example.org/digest/")
    one = render_all(first, tmp_path / "a" / "digests", tmp_path / "a" / "site", params)
    two = render_all(second, tmp_path / "b" / "digests", tmp_path / "b" / "site", params)
    assert len(one) == len(two) > 10
    for left, right in zip(one, two, strict=True):
        assert left.relative_to(tmp_path / "a") == right.relative_to(tmp_path / "b")
        assert left.read_bytes() == right.read_bytes(), left


def test_render_all_writes_the_day_and_rebuilds_the_site_from_the_folder(tmp_path):
    digests, site = tmp_path / "digests", tmp_path / "site"
    render_all(sample_digest(date(2024, 12, 18)), digests, site, SiteParams())
    paths = render_all(sample_digest(), digests, site, SiteParams())
    assert paths[:2] == [digests / "2024-12-19.md", digests / "2024-12-19.json"]
    assert (site / "2024/12/18/index.html") in paths  # the earlier day, read back from its JSON
    assert all(p.exists() for p in paths)


def test_markdown_escapes_hostile_feed_text():
    story = make_story(
        1,
        "# Heading? [Click me](javascript:alert(1)) <script>alert(1)</script>",
        sources=(
            (
                "**Bold** `code` <img src=x onerror=alert(1)>",
                "[x](javascript:alert(2))",
                "javascript:alert(3)",
            ),
            (
                "Fine outlet",
                "Title with\nline break\n## Injected heading",
                "https://fine.example/a?x=<b>",
            ),
        ),
        lead=(("First line\n\n- injected list item <b>bold</b> &amp; entity", (1, 2)),),
    )
    digest = select([story], DAY, PARAMS, BUILT)
    text = markdown.render(digest)
    rendered = MarkdownIt("commonmark").render(text)
    page = lxml.html.fromstring(rendered)
    assert not page.xpath("//script|//img|//b")
    assert [a.get("href") for a in page.iter("a")] == ["https://fine.example/a?x=%3Cb%3E"]
    assert len(page.xpath("//h2")) == 1 and len(page.xpath("//h3")) == 1
    assert "<script>alert(1)</script>" in page.xpath("//h3")[0].text_content()  # shown, as text
    assert "&amp; entity" in page.text_content()  # the entity stays literal text
    assert not any(line.startswith("## Injected") for line in text.splitlines())


def test_temp_files_do_not_survive_a_failed_write(tmp_path, monkeypatch):
    def boom(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        jsonout.write(sample_digest(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_written_paths_are_named_for_the_day(tmp_path):
    digest = sample_digest(date(2025, 1, 2))
    names = {markdown.write(digest, tmp_path).name, jsonout.write(digest, tmp_path).name}
    assert names == {"2025-01-02.md", "2025-01-02.json"}
    assert isinstance(jsonout.read(tmp_path / "2025-01-02.json"), Digest)
    assert (
        Path(tmp_path / "2025-01-02.md")
        .read_text(encoding="utf-8")
        .startswith("# AI news digest: Thursday 2 January 2025")
    )


def test_the_checkers_notice_a_wrong_field(tmp_path):
    digest = sample_digest()
    text = markdown.render(digest)
    data = jsonout.to_dict(digest)
    story = digest.stories[1]
    wrong_citation = replace(story.summary.lead[0], citations=(*story.summary.lead[0].citations, 4))
    altered = replace(
        digest,
        stories=(
            digest.stories[0],
            replace(
                story,
                summary=replace(story.summary, lead=(wrong_citation, *story.summary.lead[1:])),
            ),
            *digest.stories[2:],
        ),
    )
    with pytest.raises(AssertionError):
        check_markdown(text, altered)
    with pytest.raises(AssertionError):
        check_json(data, altered)


def test_sections_label_the_points_in_every_output(tmp_path):
    """A big story's section labels head its points in Markdown, JSON, the site and email."""
    digest = sample_digest()
    story = next(s for s in digest.stories if s.summary.sections)
    labels = [section.label for section in story.summary.sections]
    assert labels == ["How it was found", "Reactions"]
    assert set(SCHEMA_LABELS) == set(LABELS)

    text = markdown.render(digest)
    first_point = text.index(markdown.escape(story.summary.points[0].text))
    assert text.index("**How it was found**") < first_point < text.index("**Reactions**")

    data = json.loads(jsonout.write(digest, tmp_path).read_text(encoding="utf-8"))
    (stored,) = [s for s in data["stories"] if s["id"] == story.id]
    assert stored["summary"]["sections"] == [
        {"label": "How it was found", "points": [0]},
        {"label": "Reactions", "points": [1]},
    ]
    assert all("sections" not in s["summary"] for s in data["stories"] if s["id"] != story.id)
    assert jsonout.read(tmp_path / "2024-12-19.json") == digest

    site = SiteParams(base_url="https://digest.example")
    page = lxml.html.fromstring(email.html(digest, site))
    assert [p.text_content() for p in page.xpath("//p[@class='points-label']")] == labels
    plain = email.text(digest, site)
    assert plain.index("How it was found:") < plain.index("Reactions:")

    render_all(digest, tmp_path / "digests", tmp_path / "site", site)
    story_pages = list((tmp_path / "site").rglob("*.html"))
    headings = {
        h.text_content()
        for path in story_pages
        for h in lxml.html.parse(str(path)).xpath("//h4[@class='points-label']")
    }
    assert headings == set(labels)


def test_schema_refuses_a_section_pointing_at_no_point():
    data = jsonout.to_dict(sample_digest())
    story = next(s for s in data["stories"] if "sections" in s["summary"])
    story["summary"]["sections"][0]["points"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA, cls=jsonschema.Draft202012Validator)
