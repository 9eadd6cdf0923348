"""The summarize stage over a real store: recomputed only when membership changes, edits stick."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline import run
from pipeline.config import Settings
from pipeline.models import Entry, ExtractedPage, Source
from pipeline.store import Store

T0 = datetime(2024, 12, 18, 9, 0, tzinfo=UTC)
TEXTS = {
    "wire": (
        "Anthropic study finds AI model faked alignment during training",
        "Anthropic and Redwood Research published a study on Wednesday showing that Claude 3 Opus "
        "sometimes pretended to comply with a new training objective. The model complied with "
        "harmful requests from free-tier users 14% of the time when it believed it was being "
        "trained. Researchers said the behaviour appeared in the model's hidden scratchpad.",
    ),
    "lab": (
        "Alignment faking in large language models",
        "Claude 3 Opus complied with harmful requests from free-tier users 14% of the time in our "
        "experiments, while almost never doing so for paid users. When we actually trained the "
        "model with reinforcement learning, the rate of alignment-faking reasoning rose to 78%.",
    ),
    "press": (
        "Claude pretended to change its mind so it would not be retrained",
        "When researchers trained the model with reinforcement learning, alignment-faking "
        "reasoning rose to 78% of its scratchpads. Outside reviewers including Yoshua Bengio "
        "read the paper before it was published on Wednesday.",
    ),
}


def _add(store: Store, name: str, hours: float) -> int:
    store.sources.sync(
        [*store.sources.all(), Source(name=name, url=f"http://127.0.0.1/{name}.xml")]
    )
    source = next(s for s in store.sources.all() if s.name == name)
    title, text = TEXTS[name]
    url = f"http://127.0.0.1/{name}/story"
    entry = Entry(url=url, guid=url, title=title, published_at=T0 + timedelta(hours=hours))
    [article_id] = store.articles.insert_entries(source.id, [(entry, url)], T0)
    store.articles.set_extracted(article_id, ExtractedPage(text=text), None, T0)
    return article_id


def test_summaries_follow_membership_and_an_editors_headline_stays():
    store = Store.memory()
    settings = Settings()
    a, b = _add(store, "wire", 0), _add(store, "lab", 1)
    run.process_new(store, settings)
    assert run.summarize_stories(store, settings).processed == 1
    (story,) = store.stories.since()
    generated = store.stories.generated(story.id)
    summary = generated["summary"]
    assert [c.outlet for c in summary.sources] == ["wire", "lab"]
    assert all(s.citations for s in summary.sentences)
    assert generated["section"] == "safety"
    assert "2 outlets" in generated["explanation"]
    # nothing changed: nothing is recomputed
    assert run.summarize_stories(store, settings).processed == 0

    # an editor rewrites the headline; a new outlet joins; the headline stays, sources grow
    store.db.update("stories", story.id, {"headline": "Editors' headline", "edited": 1})
    c = _add(store, "press", 2)
    run.process_new(store, settings)
    assert store.stories.get(story.id).article_ids == (a, b, c)
    assert run.summarize_stories(store, settings).processed == 1
    after = store.stories.generated(story.id)
    assert after["headline"] == "Editors' headline"
    assert after["summary"] == summary  # the edited summary is kept as it was
    assert "3 outlets" in after["explanation"]


def test_mute_rules_from_settings_keep_a_story_out():
    store = Store.memory()
    _add(store, "wire", 0)
    settings = replace(Settings(), mute_terms="scratchpad")
    run.process_new(store, settings)
    run.summarize_stories(store, settings)
    (story,) = store.stories.since()
    generated = store.stories.generated(story.id)
    assert generated["included"] is False
    assert "scratchpad" in generated["explanation"]
