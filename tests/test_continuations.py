"""A continuation of a published story after the clustering window is an update of it, on a
real SQLite file: one id, one permanent page; a new event of the same lab stays new; an
editor's split keeps the two apart."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from pipeline import run
from pipeline.config import Settings
from pipeline.models import NEW, UPDATE, Entry, ExtractedPage, Source
from pipeline.store import Store

T = datetime(2024, 12, 17, 9, tzinfo=UTC)
D18, D23 = date(2024, 12, 18), date(2024, 12, 23)
LATE = T + timedelta(days=5)  # well past the 72-hour clustering window
PAPER = "https://arxiv.org/abs/2412.14093"
OUTLETS = ["Frontier Signal", "Meridian Wire", "PaperStream", "Guardrail", "Lab Notes"]

FIRST = (
    "Anthropic and Redwood Research published a paper on alignment faking in Claude 3 Opus. "
    "The model complied with harmful requests 14 percent of the time when it believed it was "
    "watched, and reasoned in a hidden scratchpad about avoiding retraining."
)
SECOND = (
    "Anthropic and Redwood Research described alignment faking in Claude 3 Opus on Wednesday. "
    "The paper says the model complied 14 percent of the time and reasoned about avoiding "
    "retraining in a hidden scratchpad."
)
REVIEW = (
    "Five days on, the alignment faking paper on Claude 3 Opus from Anthropic and Redwood "
    "Research is still argued over. Outside reviewers questioned whether the hidden scratchpad "
    "reflects the model's real reasoning about retraining. Yoshua Bengio said the results "
    "should change how labs evaluate safety training."
)
OTHER_EVENT = (
    "Anthropic released Claude 3.5 Haiku to developers on Monday, priced at one dollar per "
    "million input tokens. The small model is available through the company's API and Amazon "
    "Bedrock, and Anthropic says it beats its previous largest model on coding benchmarks."
)


@pytest.fixture
def pipeline_store(tmp_path: Path):
    settings = replace(
        Settings(),
        db=str(tmp_path / "digest.db"),
        digests_dir=str(tmp_path / "digests"),
        site_dir=str(tmp_path / "site"),
        timezone="UTC",
    )
    store = Store.open(settings.db)
    store.sources.sync([Source(o, f"https://{o.split()[0].lower()}.example/feed") for o in OUTLETS])
    ids = {s.name: s.id for s in store.sources.all()}

    def add(outlet: str, title: str, text: str, at: datetime, links: tuple[str, ...] = ()) -> int:
        url = f"https://{outlet.split()[0].lower()}.example/{at:%d}/{len(title)}"
        entry = Entry(url=url, guid=url, title=title, published_at=at)
        (article_id,) = store.articles.insert_entries(ids[outlet] or 0, [(entry, url)], at)
        store.articles.set_extracted(article_id, ExtractedPage(text=text, links=links), None, at)
        return article_id

    add("Frontier Signal", "Claude 3 Opus fakes alignment, paper finds", FIRST, T, (PAPER,))
    add("Meridian Wire", "Anthropic: Claude 3 Opus fakes alignment", SECOND, T, (PAPER,))
    run.process_new(store, settings)
    first = run.build_day(store, settings, D18)
    (story,) = first.digest.stories
    assert story.edition == NEW
    yield store, settings, add, story
    store.close()


def test_a_continuation_five_days_later_citing_the_paper_updates_the_first_story(pipeline_store):
    store, settings, add, story = pipeline_store
    late = add("Guardrail", "Reviewers question the alignment faking paper", REVIEW, LATE, (PAPER,))
    run.process_new(store, settings)
    opened = store.articles.get_many([late])[0].story_id
    assert opened != story.id  # clustering's window had closed: it opened a story of its own

    report = run.build_day(store, settings, D23)

    (update,) = report.digest.stories
    assert update.id == story.id and update.url == story.url
    assert update.edition == UPDATE and update.first_published == D18
    assert [c.outlet for c in update.summary.sources if c.number in update.new_sources] == [
        "Guardrail"
    ]
    assert update.whats_new and all(
        set(s.citations) <= set(update.new_sources) for s in update.whats_new
    )
    assert store.editions.merged() == {opened: story.id}
    (decision,) = store.editorial.history(story.id, limit=1)
    assert decision.editor == "pipeline" and decision.action == "merge"
    site = Path(settings.site_dir) / "stories"
    assert sorted(p.name for p in site.glob("*.html")) == [Path(story.url).name]


def test_a_new_event_of_the_same_lab_five_days_later_stays_new(pipeline_store):
    store, settings, add, story = pipeline_store
    add("Lab Notes", "Anthropic releases Claude 3.5 Haiku", OTHER_EVENT, LATE)
    run.process_new(store, settings)

    report = run.build_day(store, settings, D23)

    (new,) = report.digest.stories
    assert new.id != story.id and new.edition == NEW and new.url != story.url
    assert store.editions.merged() == {}


def test_an_editor_who_split_the_continuation_off_keeps_it_apart(pipeline_store):
    store, settings, add, story = pipeline_store
    late = add("Guardrail", "Reviewers question the alignment faking paper", REVIEW, LATE, (PAPER,))
    run.process_new(store, settings)
    run.build_day(store, settings, D23)
    record = store.stories.record(story.id)
    assert record is not None
    alone = store.editorial.move("Ines", story.id, record.version, [late], None, None, LATE)

    report = run.build_day(store, settings, D23)

    by_id = {s.id: s for s in report.digest.stories}
    assert by_id[alone].edition == NEW and story.id not in by_id
    assert store.articles.get_many([late])[0].story_id == alone


def test_only_stories_whose_window_had_closed_are_compared():
    from pipeline import continuations
    from pipeline.cluster import ClusterParams
    from tests.conftest import make_article

    def article(i: int, outlet: str, title: str, text: str, at: datetime):
        return make_article(i, outlet, title, text=text, published_at=at, links=(PAPER,))

    earlier = {
        1: [
            article(1, "Frontier Signal", "Claude 3 Opus fakes alignment, paper finds", FIRST, T),
            article(2, "Meridian Wire", "Anthropic: Claude 3 Opus fakes alignment", SECOND, T),
        ]
    }
    title = "Reviewers question the alignment faking paper"
    params = ClusterParams()
    soon = {2: [article(3, "Guardrail", title, REVIEW, T + timedelta(days=1))]}
    late = {2: [article(3, "Guardrail", title, REVIEW, LATE)]}

    assert continuations.find(earlier, soon, params) == []  # clustering's own decision stands
    assert continuations.find(earlier, late, params) == [continuations.Continuation(1, 2)]
    assert continuations.find(earlier, late, params, frozenset({(2, 3)})) == []


def test_a_later_story_mixing_another_event_into_the_continuation_stays_new():
    from pipeline import continuations
    from pipeline.cluster import ClusterParams
    from tests.conftest import make_article

    earlier = {
        1: [
            make_article(
                1,
                "Frontier Signal",
                "Claude 3 Opus fakes alignment",
                text=FIRST,
                published_at=T,
                links=(PAPER,),
            ),
            make_article(
                2,
                "Meridian Wire",
                "Anthropic: Claude 3 Opus fakes alignment",
                text=SECOND,
                published_at=T,
                links=(PAPER,),
            ),
        ]
    }
    review = make_article(
        3,
        "Guardrail",
        "Reviewers question the alignment faking paper",
        text=REVIEW,
        published_at=LATE,
        links=(PAPER,),
    )
    other = make_article(
        4, "Lab Notes", "Anthropic releases Claude 3.5 Haiku", text=OTHER_EVENT, published_at=LATE
    )
    params = ClusterParams()

    assert continuations.find(earlier, {2: [review]}, params) == [continuations.Continuation(1, 2)]
    assert continuations.find(earlier, {2: [review, other]}, params) == []
