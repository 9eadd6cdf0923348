"""The stream's own evidence of what is common: terms counted per open story."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline.cluster import ClusterParams
from pipeline.cluster_index import StoryIndex
from pipeline.models import Article
from pipeline.spread import StorySpread

T0 = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
# A made-up lab, so the rarity prior ranks it as rare as any event's own name.
LAB = "Orbitronix"
TOPICS = [
    "a chip plant in Ohio",
    "a lawsuit over song lyrics",
    "a hospital triage pilot",
    "a translation app for farmers",
    "a weather forecasting system",
    "a tutoring service for schools",
    "a fraud detector for banks",
    "a robot for warehouse picking",
]

# A busy week: forty stories, every one naming the lab.
WEEK = [f"{topic} in region {n}" for n in range(5) for topic in TOPICS]


def report(article_id: int, title: str, text: str, hours: float = 0.0) -> Article:
    return Article(
        id=article_id,
        source_id=article_id,
        outlet=f"outlet{article_id}",
        url=f"https://outlet{article_id}.example/{article_id}",
        canonical_url=f"https://outlet{article_id}.example/{article_id}",
        title=title,
        text=text,
        published_at=T0 + timedelta(hours=hours),
    )


def lab_story(i: int, topic: str) -> Article:
    body = (
        f"{LAB} announced {topic} on Monday, the company said in a statement. "
        f"The project is the latest from {LAB}, which has raised money from several investors. "
        "Executives described the plans at an event for customers and partners, and analysts "
        "said the market would watch how quickly the work reaches production this year."
    )
    return report(i, f"{LAB} unveils {topic}", body, hours=i)


def test_counts_each_term_once_per_story_and_forgets_closed_and_merged_stories() -> None:
    spread = StorySpread(share=0.3, mass=0.0)
    spread.add(1, {"anthropic", "claude"})
    spread.add(1, {"anthropic", "sonnet"})  # a second member repeats the lab: still one story
    spread.add(2, {"anthropic", "haiku"})
    assert spread.counts == {"anthropic": 2, "claude": 1, "sonnet": 1, "haiku": 1}
    spread.merge(1, 2)
    assert spread.counts == {"anthropic": 1, "claude": 1, "sonnet": 1, "haiku": 1}
    spread.close(1)
    assert spread.counts == {}  # nothing left over, however long the stream runs
    assert len(spread) == 0


def test_damping_starts_at_nothing_and_acts_on_full_texts_only() -> None:
    spread = StorySpread(share=0.5, mass=10.0)
    assert spread.damping(1.0) == 0.0  # a cold start: the prior rules
    for story_id in range(10):
        spread.add(story_id, {"openai"})
    # 20 stories (10 real, 10 pseudo) × 0.5 share: a term in 10 of them weighs half.
    assert spread.damping(1.0) * 10**2 == 1.0
    assert spread.damping(0.0) == 0.0  # a bare headline keeps its prior


def test_a_lab_every_story_names_weighs_less_than_the_event_it_reports() -> None:
    params = ClusterParams()
    cold = StoryIndex(params)
    warm = StoryIndex(params)
    for i, topic in enumerate(WEEK, start=1):
        warm.add(i, warm.features(lab_story(i, topic)), when=float(i))
    new = lab_story(99, "a protein folding model called Helixor 2")
    lab = LAB.lower()
    before, after = cold.features(new).vector, warm.features(new).vector
    assert after[lab] < 0.6 * before[lab]  # the lab is named by every open story
    assert after["helixor"] > before["helixor"]  # the event's own name carries more of it
    assert after[lab] < after["helixor"]


def test_a_term_one_big_story_repeats_keeps_its_weight() -> None:
    """Counted per story: a story's own name is not common because its coverage is large."""
    params = ClusterParams()
    warm = StoryIndex(params)
    for i in range(1, 12):  # eleven reports of one event, in one story
        warm.add(1, warm.features(lab_story(i, "a robot for warehouse picking")), when=float(i))
    for i, topic in enumerate(TOPICS[:3], start=20):
        warm.add(i, warm.features(lab_story(i, topic)), when=float(i))
    cold = StoryIndex(params)
    new = lab_story(99, "a robot for warehouse picking")
    assert warm.features(new).vector["warehous"] >= 0.9 * cold.features(new).vector["warehous"]


def test_without_spread_the_prior_alone_weighs() -> None:
    params = replace(ClusterParams(), spread_share=1e9)
    warm = StoryIndex(params)
    for i, topic in enumerate(TOPICS, start=1):
        warm.add(i, warm.features(lab_story(i, topic)), when=float(i))
    new = lab_story(99, "a protein folding model called Helixor 2")
    cold = StoryIndex(params).features(new).vector
    assert abs(warm.features(new).vector[LAB.lower()] - cold[LAB.lower()]) < 1e-6
