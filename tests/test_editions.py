"""Living stories: new, update or unchanged; what's new cites only new sources; one page,
its timeline, and redirects for merged stories and old per-day pages."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

import lxml.html

from pipeline import editions, summarize
from pipeline.models import NEW, UPDATE, Digest
from pipeline.render import SiteParams
from pipeline.render.site import build
from pipeline.render.stories import collect, timeline
from tests.conftest import make_article
from tests.test_digest import make_story

D17, D18, D19 = date(2024, 12, 17), date(2024, 12, 18), date(2024, 12, 19)
T = datetime(2024, 12, 17, 9, tzinfo=UTC)

FIRST = (
    "Anthropic and Redwood Research published a paper on alignment faking in Claude 3 Opus. "
    "The model complied with harmful requests 14 percent of the time when it believed it was watched."
)
SECOND = (
    "Anthropic and Redwood Research described alignment faking in Claude 3 Opus on Wednesday. "
    "The paper says the model reasoned about avoiding retraining in a hidden scratchpad."
)
LATER = (
    "Three outside reviewers questioned whether the scratchpad reflects the model's real reasoning. "
    "Yoshua Bengio said the results should change how labs evaluate safety training."
)


def members():
    return [
        make_article(
            1, "Frontier Signal", "Alignment faking in Claude 3 Opus", text=FIRST, published_at=T
        ),
        make_article(
            2, "Meridian Wire", "Claude fakes alignment, study says", text=SECOND, published_at=T
        ),
        make_article(
            3,
            "Guardrail",
            "Reviewers question the alignment faking paper",
            text=LATER,
            published_at=T.replace(day=18),
        ),
    ]


def test_a_story_never_published_is_new():
    sources = summarize.number_sources(members())
    assert editions.classify(sources, {}) == editions.Edition(NEW, None, ())


def test_a_story_with_a_source_joined_since_is_an_update_from_its_first_day():
    sources = summarize.number_sources(members())
    edition = editions.classify(sources, {1: D17, 2: D18})
    assert edition is not None and edition.kind == UPDATE
    assert edition.first_published == D17
    assert edition.new_sources == (3,)


def test_a_story_carried_before_without_a_new_source_is_left_out_unless_pinned():
    sources = summarize.number_sources(members())
    published = {1: D17, 2: D17, 3: D18}
    assert editions.classify(sources, published) is None
    pinned = editions.classify(sources, published, pinned=True)
    assert pinned == editions.Edition(UPDATE, D17, ())


def test_a_follow_up_by_an_outlet_already_cited_is_not_a_new_source():
    """Readers get a story again when another outlet joins, not for each follow-up of one."""
    follow = make_article(
        4, "Meridian Wire", "More on alignment faking", text=LATER, published_at=T.replace(day=18)
    )
    sources = summarize.number_sources([*members()[:2], follow])
    assert editions.classify(sources, {1: D17, 2: D17}) is None


def test_whats_new_cites_only_the_new_sources_and_prefers_what_earlier_ones_did_not_say():
    story = members()
    summary = summarize.summarize(story)
    edition = editions.classify(summary.sources, {1: D17, 2: D17})
    assert edition is not None
    said = editions.whats_new(story, summary, edition)
    assert 1 <= len(said) <= 3
    for sentence in said:
        assert set(sentence.citations) == set(edition.new_sources)
        assert sentence.text in LATER
    assert editions.whats_new(story, summary, editions.Edition(NEW, None, ())) == ()


def test_primary_sources_are_papers_and_what_the_others_link_to():
    paper = make_article(5, "PaperStream", "Alignment faking in large language models", text=FIRST)
    paper = replace(
        paper,
        url="https://arxiv.org/abs/2412.14093",
        canonical_url="https://arxiv.org/abs/2412.14093",
    )
    blog = make_article(6, "Halcyon Research", "Our new paper", text=SECOND)
    citing = replace(make_article(7, "Guardrail", "What it means", text=LATER), links=(blog.url,))
    story = [paper, blog, citing]
    sources = summarize.number_sources(story)
    numbers = {c.outlet: c.number for c in sources}
    assert set(editions.primary_sources(story, sources)) == {
        numbers["PaperStream"],
        numbers["Halcyon Research"],
    }


def test_page_slug_is_ascii_words_after_the_id():
    assert (
        editions.page_slug("Claude 3 Opus fakes alignment — study!", 25)
        == "25-claude-3-opus-fakes-alignment-study"
    )
    assert editions.page_slug("", 7) == "7"


def test_store_remembers_what_each_day_published_and_fixes_a_slug_once(store):
    store.stories.assign({})
    for story_id in (1, 2, 3):
        store.db.insert("stories", {"id": story_id})
    store.editions.record(D17, [(1, NEW, [10, 11])])
    store.editions.record(D18, [(1, UPDATE, [10, 11, 12]), (2, NEW, [20])])
    assert store.editions.published_before(D18) == {10: D17, 11: D17}
    assert store.editions.published_before(D19) == {10: D17, 11: D17, 12: D18, 20: D18}
    store.editions.record(D18, [(2, NEW, [20])])  # a rebuilt day replaces its record
    assert 12 not in store.editions.published_before(D19)
    store.editions.fix_slugs({1: "1-first-headline"})
    store.editions.fix_slugs({1: "1-edited-headline", 2: "2-other"})
    assert store.editions.slugs([1, 2, 3]) == {1: "1-first-headline", 2: "2-other"}
    store.db.execute("update stories set merged_into = 2 where id = 1")
    store.db.execute("update stories set merged_into = 3 where id = 2")
    assert store.editions.merged() == {1: 3, 2: 3}


def _carried(day: date, story, **fields) -> Digest:
    built = datetime(day.year, day.month, day.day, 7, tzinfo=UTC)
    return Digest(day=day, timezone="UTC", built_at=built, stories=(replace(story, **fields),))


def three_days():
    base = make_story(
        9,
        "Alignment faking",
        "safety",
        sources=(
            ("PaperStream", "The paper", "https://arxiv.org/abs/1"),
            ("Meridian Wire", "Report", "https://meridian.example/9"),
            ("Guardrail", "Analysis", "https://guardrail.example/9"),
        ),
    )
    first = replace(base, summary=replace(base.summary, sources=base.summary.sources[1:2]))
    second = replace(base, summary=replace(base.summary, sources=base.summary.sources[:2]))
    url = "stories/9-alignment-faking.html"
    return [
        _carried(D17, first, url=url),
        _carried(D18, second, url=url, edition=UPDATE, first_published=D17, new_sources=(1,)),
        _carried(
            D19,
            base,
            url=url,
            edition=UPDATE,
            first_published=D17,
            new_sources=(3,),
            primary_sources=(1,),
        ),
    ]


def test_timeline_has_one_entry_per_day_that_brought_sources_each_cited_once():
    days = three_days()
    entries = timeline([(d.day, d.stories[0]) for d in days])
    assert [(e.day, e.first, [c.number for c in e.sources]) for e in entries] == [
        (D17, True, [2]),
        (D18, False, [1]),
        (D19, False, [3]),
    ]
    # append-only: a fourth day with nothing new adds no entry and changes none
    pinned = replace(days[-1], day=date(2024, 12, 20))
    pinned = replace(pinned, stories=(replace(pinned.stories[0], new_sources=()),))
    again = timeline([(d.day, d.stories[0]) for d in [*days, pinned]])
    assert again == entries


def test_one_permanent_page_with_timeline_and_redirects_for_old_and_merged_pages(tmp_path):
    days = three_days()
    other = make_story(4, "Claude fakes alignment", "safety")
    days[0] = replace(
        days[0], stories=(*days[0].stories, replace(other, url="stories/4-claude.html"))
    )
    pages = collect(days)
    assert pages[9].days == (D17, D18, D19) and pages[9].path == "stories/9-alignment-faking.html"
    build(days, tmp_path, SiteParams(), merged={4: 9})
    page = lxml.html.parse(str(tmp_path / "stories/9-alignment-faking.html")).getroot()
    assert [t for t in page.xpath("//section[@class='timeline']//time/@datetime")] == [
        "2024-12-17",
        "2024-12-18",
        "2024-12-19",
    ]
    assert "primary source" in page.xpath("string(//section[@class='timeline']//li[2])")
    assert "Updated · first reported 17 Dec" in page.xpath("string(//p[@class='kicker'])")
    for old in ("2024/12/17/story-9.html", "2024/12/19/story-9.html", "stories/4-claude.html"):
        target = (
            lxml.html.parse(str(tmp_path / old)).getroot().xpath("//link[@rel='canonical']/@href")
        )
        assert (tmp_path / old).parent.joinpath(target[0]).resolve() == (
            tmp_path / "stories/9-alignment-faking.html"
        ).resolve()
    merged = json.loads((tmp_path / "stories/4-claude.json").read_text())
    assert merged["merged_into"] == {"id": 9, "url": "stories/9-alignment-faking.html"}
    data = json.loads((tmp_path / "stories/9-alignment-faking.json").read_text())
    assert data["merged_into"] is None and data["days"] == [
        "2024-12-17",
        "2024-12-18",
        "2024-12-19",
    ]
    assert [e["sources"] for e in data["timeline"]] == [[2], [1], [3]]
    day = lxml.html.parse(str(tmp_path / "2024/12/19/index.html")).getroot()
    card = day.xpath("//article[@id='story-9']")[0]
    assert "is-update" in card.get("class")
    assert card.xpath("string(.//p[@class='updated'])") == "Updated · first reported 17 Dec"
    assert card.xpath(".//a[contains(@class, 'is-new')]/text()")[0].strip() == "Guardrail"


def test_a_new_event_of_the_same_company_is_a_branch_not_an_update():
    def article(i, outlet, title, text):
        return make_article(i, outlet, title, text=text, published_at=T)

    earlier = [
        article(
            1, "Aurora Wire", "Kavi Labs raises $40 million for Tolu 5", "Kavi Labs and Tolu 5."
        ),
        article(2, "Beacon Tech", "Tolu 5 maker Kavi Labs raises money", "Kavi Labs, Tolu 5."),
    ]
    continuation = [
        article(3, "Cinder Weekly", "Tolu 5: what next", "Kavi Labs said Tolu 5 ships.")
    ]
    branch = [
        article(4, "Delta Dispatch", "Kavi Labs launches Rimo 3", "Kavi Labs launched Rimo 3.")
    ]
    assert not editions.is_branch(continuation, earlier)
    assert editions.is_branch(branch, earlier)
    assert not editions.is_branch(branch, [article(5, "Ember Review", "A quiet week", "Nothing.")])


def test_the_stream_benchmark_replays_days_without_repeats(tmp_path):
    import importlib.util
    import random
    import sys
    from pathlib import Path

    script = Path(__file__).parents[1] / "benchmarks" / "stream.py"
    spec = importlib.util.spec_from_file_location("stream_benchmark", script)
    assert spec is not None and spec.loader is not None
    stream = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = stream  # its dataclasses look their module up
    spec.loader.exec_module(stream)
    pieces, lines = stream.generate(8, random.Random(5))
    score, _ = stream.replay(pieces, 8, tmp_path, show=False)
    assert score.stories > 10 and score.updates > 0
    assert score.repeats == 0 and score.clean == score.sentences
    assert score.correct <= score.updates


def test_an_update_ranks_by_what_joined_and_higher_when_its_primary_source_joined(tmp_path):
    from pipeline import run
    from pipeline.config import Settings
    from pipeline.models import Entry, ExtractedPage, Source
    from pipeline.store import Store

    settings = replace(
        Settings(), digests_dir=str(tmp_path / "d"), site_dir=str(tmp_path / "s"), timezone="UTC"
    )
    store = Store.memory()
    outlets = ["Frontier Signal", "Meridian Wire", "PaperStream", "Guardrail"]
    store.sources.sync([Source(o, f"https://{o.split()[0].lower()}.example/feed") for o in outlets])
    ids = {s.name: s.id for s in store.sources.all()}

    def add(outlet: str, url: str, title: str, text: str, at: datetime) -> None:
        entry = Entry(url=url, guid=url, title=title, published_at=at)
        (article_id,) = store.articles.insert_entries(ids[outlet], [(entry, url)], at)
        store.articles.set_extracted(article_id, ExtractedPage(text=text), None, at)

    add("Frontier Signal", "https://frontier.example/a", "Claude 3 Opus fakes alignment", FIRST, T)
    add(
        "Meridian Wire",
        "https://meridian.example/a",
        "Anthropic: Claude 3 Opus fakes alignment",
        SECOND,
        T,
    )
    run.process_new(store, settings)
    first = run.build_day(store, settings, D18)
    (story,) = [s for s in first.digest.stories if s.outlets == 2]
    later = T.replace(day=18, hour=12)
    add(
        "PaperStream",
        "https://arxiv.org/abs/2412.14093",
        "Alignment faking in Claude 3 Opus",
        FIRST + " " + LATER,
        later,
    )
    run.process_new(store, settings)
    second = run.build_day(store, settings, D19)
    (update,) = [s for s in second.digest.stories if s.id == story.id]
    assert update.edition == UPDATE and update.first_published == D18
    assert update.new_sources and set(update.new_sources) <= set(update.primary_sources)
    assert (
        update.explanation.startswith("update: 1 outlet")
        and "a primary source joined" in update.explanation
    )
    store.close()
