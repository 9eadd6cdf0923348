"""Entities and topics: recognition rules, the store's links and editors' decisions,
topic pages with their neighbourhood, and graph.json."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import lxml.html
import pytest

from pipeline import entities
from pipeline.models import Digest, Entity, Mention, Topic, Topics
from pipeline.render import SiteParams
from pipeline.render.site import build
from pipeline.store.editorial import EditRefused
from tests.conftest import make_article
from tests.test_digest import make_story

AT = datetime(2024, 12, 20, 9, tzinfo=UTC)


def names(members):
    return {m.entity.name for m in entities.recognise(members)}


def test_aliases_merge_and_a_weak_alias_counts_only_beside_a_strong_one():
    strong = make_article(
        1,
        "Frontier Signal",
        "Claude 3 Opus fakes alignment",
        text="Opus did it again. Opus, says the paper.",
    )
    other = make_article(
        2,
        "Meridian Wire",
        "A paper on training",
        text="The model Opus was tested. Claude 3 Opus complied.",
    )
    (mention,) = [
        m for m in entities.recognise([strong, other]) if m.entity.name == "Claude 3 Opus"
    ]
    assert mention.count == 2 + 3 and mention.outlets == 2 and mention.in_title
    alone = make_article(
        3, "Bytewise", "Magnum opus", text="Opus is a codec. Opus is everywhere. Opus."
    )
    assert "Claude 3 Opus" not in names([alone])


def test_papers_by_arxiv_id_in_text_or_link_without_version():
    a = make_article(
        1,
        "PaperStream",
        "Alignment faking in large language models",
        text="See arXiv:2412.14093v2 for details.",
    )
    b = replace(
        make_article(2, "Guardrail", "Reading the paper", text="A long read."),
        links=("https://arxiv.org/abs/2412.14093",),
    )
    (paper,) = [m for m in entities.recognise([a, b]) if m.entity.kind == "paper"]
    assert paper.entity == Entity("arxiv:2412.14093", "paper", "arXiv:2412.14093")
    assert paper.outlets == 2
    assert entities.topic_slug(paper.entity) == "arxiv-2412-14093"


def test_unknown_names_need_two_outlets_and_are_not_outlets_places_or_common_words():
    text = (
        "Lisbon-based Quillmark raised money. Quillmark said Harborline Capital led the round. "
        "Reading the filing, Meridian reporters found 67 INT8 TOPS. Research matters."
    )
    a = make_article(1, "Meridian Wire", "Quillmark raises $640 million", text=text)
    b = make_article(
        2,
        "Ledgerline",
        "Quillmark's round",
        text="Harborline Capital and Quillmark. In Lisbon today.",
    )
    found = names([a, b])
    assert {"Quillmark", "Harborline Capital"} <= found
    assert not found & {"Lisbon", "Meridian", "INT8 TOPS", "Reading", "Research"}
    assert "Harborline Capital" not in names([a])  # one outlet is not enough for an unknown name


def test_possessive_owners_and_word_parts_are_not_mentions():
    text = "Anthropic's Claude 3.5 Sonnet was the reference. A meta-analysis of results followed."
    stories = [make_article(i, f"Outlet {i}", "Institutes test o1", text=text) for i in (1, 2, 3)]
    found = names(stories)
    assert "Claude 3.5 Sonnet" in found
    assert "Anthropic" not in found and "Meta" not in found


def test_store_links_survive_editors_rename_hide_and_merge(store):
    for story_id in (1, 2):
        store.db.insert("stories", {"id": story_id})
    anthropic = Entity("organisation:anthropic", "organisation", "Anthropic")
    claude = Entity("model:claude", "model", "Claude")
    store.entities.link(
        1,
        [(Mention(anthropic, 5, 2, True), "anthropic"), (Mention(claude, 2, 2, False), "claude")],
        "k1",
    )
    store.entities.link(2, [(Mention(claude, 4, 2, True), "claude")], "k2")
    assert store.entities.topics_of([1, 2]) == {1: ("anthropic", "claude"), 2: ("claude",)}
    ids = {r.name: r.id for r in store.entities.records()}
    store.entities.rename("ada", ids["Claude"], "Claude (model family)", AT)
    store.entities.link(2, [(Mention(claude, 4, 2, True), "claude")], "k3")  # re-recognised
    assert store.entities.catalogue().topics["claude"].name == "Claude (model family)"
    with pytest.raises(EditRefused):
        store.entities.merge("ada", ids["Claude"], ids["Claude"], AT)
    store.entities.merge("ada", ids["Claude"], ids["Anthropic"], AT)
    catalogue = store.entities.catalogue()
    assert catalogue.moved == {"claude": "anthropic"} and "claude" not in catalogue.topics
    assert store.entities.topics_of([1, 2]) == {1: ("anthropic",), 2: ("anthropic",)}
    store.entities.set_hidden("bob", ids["Anthropic"], True, AT)
    assert store.entities.topics_of([1, 2]) == {}
    assert store.entities.catalogue().topics == {}
    actions = [(r["editor"], r["action"]) for r in store.db.rows("decisions", order_by="id")]
    assert actions == [("ada", "entity-rename"), ("ada", "entity-merge"), ("bob", "entity-hide")]


def test_a_new_entity_whose_slug_is_taken_gets_a_numbered_one(store):
    store.db.insert("stories", {"id": 1})
    first = Mention(Entity("organisation:mercury", "organisation", "Mercury"), 2, 2, True)
    second = Mention(Entity("name:mercury", "name", "Mercury"), 2, 2, True)
    store.entities.link(1, [(first, "mercury"), (second, "mercury")], "k")
    assert sorted(store.entities.catalogue().topics) == ["mercury", "mercury-2"]


def test_topic_pages_list_stories_in_date_order_with_a_ranked_neighbourhood(tmp_path):
    def day(n: int, *stories) -> Digest:
        when = date(2024, 12, n)
        return Digest(when, "UTC", datetime(2024, 12, n, 7, tzinfo=UTC), stories)

    a = replace(
        make_story(1, "Anthropic paper"), topics=("anthropic", "alignment-faking", "claude")
    )
    b = replace(make_story(2, "Claude update"), topics=("claude", "anthropic"))
    c = replace(make_story(3, "Rival model"), topics=("claude", "hidden-one", "old-name"))
    topics = Topics(
        {
            "anthropic": Topic("anthropic", "Anthropic", "organisation"),
            "claude": Topic("claude", "Claude", "model"),
            "alignment-faking": Topic("alignment-faking", "alignment faking", "concept"),
            "new-name": Topic("new-name", "New name", "name"),
        },
        moved={"old-name": "new-name"},
    )
    build([day(17, b), day(18, a), day(19, c)], tmp_path, SiteParams(), topics=topics)
    page = lxml.html.parse(str(tmp_path / "topics/claude.html")).getroot()
    assert page.xpath("//ol[@class='topic-stories']//a/text()") == [
        "Claude update",
        "Anthropic paper",
        "Rival model",
    ]
    related = page.xpath("//ul[@class='topic-list']/li")
    assert [li.xpath("string(a)") for li in related] == [
        "Anthropic",
        "alignment faking",
        "New name",
    ]
    assert "2 stories together" in related[0].text_content()
    assert not (tmp_path / "topics/hidden-one.html").exists()
    redirect = lxml.html.parse(str(tmp_path / "topics/old-name.html")).getroot()
    assert redirect.xpath("//link[@rel='canonical']/@href") == ["new-name.html"]
    index = lxml.html.parse(str(tmp_path / "topics/index.html")).getroot()
    assert index.xpath("//ul[@class='topic-list']//a/text()")[0] == "Claude"
    story = lxml.html.parse(str(tmp_path / "stories/1.html")).getroot()
    assert story.xpath("//section[@class='topics']//a/@href") == [
        "../topics/anthropic.html",
        "../topics/alignment-faking.html",
        "../topics/claude.html",
    ]
    graph = json.loads((tmp_path / "graph.json").read_text())
    kinds = {n["id"]: n["type"] for n in graph["nodes"]}
    assert kinds["story:1"] == "story" and kinds["topic:claude"] == "topic"
    about = {(e["source"], e["target"]) for e in graph["edges"] if e["type"] == "about"}
    assert ("story:3", "topic:new-name") in about and ("story:3", "topic:hidden-one") not in about
    related_edges = {
        (e["source"], e["target"]): e["weight"] for e in graph["edges"] if e["type"] == "related"
    }
    assert related_edges[("topic:anthropic", "topic:claude")] == 2


def test_export_notes_writes_linked_notes_once_and_updates_them_in_place(tmp_path):
    import re

    import frontmatter

    from pipeline.render import notes

    def day(n: int, *stories) -> Digest:
        return Digest(date(2024, 12, n), "UTC", datetime(2024, 12, n, 7, tzinfo=UTC), stories)

    a = replace(
        make_story(1, "Anthropic paper"),
        topics=("anthropic", "claude"),
        url="stories/1-anthropic-paper.html",
    )
    b = replace(
        make_story(2, "Claude update"), topics=("claude",), url="stories/2-claude-update.html"
    )
    topics = Topics(
        {
            "anthropic": Topic("anthropic", "Anthropic", "organisation"),
            "claude": Topic("claude", "Claude", "model"),
        }
    )
    vault = tmp_path / "vault"
    (vault / "mine.md").parent.mkdir(parents=True)
    (vault / "mine.md").write_text("my own note")
    first = notes.export([day(17, a), day(18, b)], topics, {}, vault)
    assert (first.written, first.unchanged, first.removed) == (4, 0, 0)
    files = sorted(p.relative_to(vault).as_posix() for p in vault.rglob("*.md"))
    assert files == [
        "mine.md",
        "stories/1-anthropic-paper.md",
        "stories/2-claude-update.md",
        "topics/anthropic.md",
        "topics/claude.md",
    ]
    note = frontmatter.loads((vault / "stories/1-anthropic-paper.md").read_text())
    assert note["type"] == "story" and note["id"] == 1 and note["topics"] == ["anthropic", "claude"]
    assert note["first_published"] == "2024-12-17" and len(note["sources"]) == 2
    for path in vault.rglob("*.md"):
        for target in re.findall(r"\[\[([^|\]]+)", path.read_text()):
            assert (vault / f"{target}.md").is_file(), (path, target)
    claude = frontmatter.loads((vault / "topics/claude.md").read_text())
    assert claude["stories"] == [1, 2] and "[[topics/anthropic|Anthropic]] (1)" in claude.content
    again = notes.export([day(17, a), day(18, b)], topics, {}, vault)
    assert (again.written, again.unchanged, again.removed) == (0, 4, 0)
    renamed = replace(b, headline="Claude update, revised")  # same permanent page, same note
    third = notes.export([day(17, a), day(18, renamed)], topics, {2: 1}, vault)
    assert third.written == 2 and third.removed == 0  # the story note and the topic listing it
    assert (
        "Merged into [[stories/1-anthropic-paper|Anthropic paper]]"
        in (vault / "stories/2-claude-update.md").read_text()
    )
    assert (vault / "mine.md").read_text() == "my own note"
