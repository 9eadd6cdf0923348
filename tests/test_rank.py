"""Ranking: outlets, weights, recency, velocity and editors' decisions; sections from cue rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pipeline.models import Article
from pipeline.rank import PINNED_BASE, RankParams, classify, score
from tests.conftest import make_article

NOW = datetime(2024, 12, 18, 18, 0, tzinfo=UTC)
AI_TEXT = (
    "OpenAI released a new large language model for developers. The AI model is available "
    "through the API, and the company said the release improves reasoning benchmarks."
)
_ids = iter(range(1, 10_000))


def article(
    outlet: str,
    hours_ago: float,
    weight: float = 0.5,
    title: str = "OpenAI releases a new language model",
    text: str = AI_TEXT,
    **kw,
) -> Article:
    return make_article(
        kw.pop("id", next(_ids)),
        outlet,
        title,
        text=text,
        published_at=NOW - timedelta(hours=hours_ago),
        source_weight=weight,
        **kw,
    )


def story(
    outlets: int, hours_ago: float, weight: float = 0.5, spread_h: float = 0.5
) -> list[Article]:
    return [article(f"Outlet{i}", hours_ago - i * spread_h, weight) for i in range(outlets)]


def test_more_outlets_and_heavier_outlets_rank_higher() -> None:
    six = score(story(6, 5), NOW)
    two = score(story(2, 5), NOW)
    two_heavy = score(story(2, 5, weight=0.95), NOW)
    assert six.value > two_heavy.value > two.value


def test_recency_decays_with_the_configured_half_life() -> None:
    fresh = score(story(3, 8, spread_h=0), NOW)  # both outside the 6 h velocity window
    day_old = score(story(3, 26, spread_h=0), NOW)
    assert day_old.value == pytest.approx(fresh.value / 2, rel=1e-3)  # 18 h apart, half-life 18 h
    slow = score(story(3, 26, spread_h=0), NOW, params=RankParams(half_life_h=180))
    assert slow.value > day_old.value


def test_velocity_lifts_a_story_still_gathering_coverage() -> None:
    old_then_quiet = [article("A", 10), article("B", 9.5), article("C", 9)]
    rising = [article("A", 10), article("B", 2), article("C", 1)]
    assert score(rising, NOW).value > score(old_then_quiet, NOW).value
    assert "rising (2 in the last 6 h)" in score(rising, NOW).explanation
    assert "rising" not in score(old_then_quiet, NOW).explanation


def test_copies_do_not_count_as_outlets() -> None:
    original = article("Meridian", 3, 0.9, id=500)
    copies = [article(f"Syndicate{i}", 2, 0.9, duplicate_of=500) for i in range(4)]
    assert score([original, *copies], NOW).value == pytest.approx(score([original], NOW).value)
    assert score([original, *copies], NOW).explanation.startswith("1 outlet, 1 of weight ≥ 0.8")


def test_explanation_reads_like_a_sentence() -> None:
    members = [article(f"O{i}", 5 - i * 0.5, 0.9 if i < 2 else 0.5) for i in range(6)]
    explanation = score(members, NOW).explanation
    assert explanation.startswith("6 outlets, 2 of weight ≥ 0.8; first seen 5 h ago; rising (")
    assert "section Models & products (" in explanation


def test_pinned_first_and_rejected_never() -> None:
    big = score(story(8, 1), NOW)
    pinned = score(story(1, 60), NOW, status="pinned")
    rejected = score(story(8, 1), NOW, status="rejected")
    assert pinned.value > PINNED_BASE > big.value
    assert pinned.explanation.startswith("pinned by an editor; 1 outlet")
    assert rejected.value == 0 and not rejected.included
    assert rejected.explanation.startswith("rejected by an editor")
    ranked = sorted([big, pinned, rejected], key=lambda s: -s.value)
    assert ranked == [pinned, big, rejected]


def test_off_topic_stories_are_scored_but_not_included() -> None:
    phone = [
        article(
            "Bytewise",
            1,
            title="Pixelon 9 Pro review",
            text="The smartphone camera is great and battery life is long.",
        )
    ]
    result = score(phone, NOW)
    assert not result.included and not result.relevance.kept
    assert "left out: AI relevance" in result.explanation
    assert score(phone, NOW, status="pinned").included  # an editor's pin wins over the vocabulary
    approved = score(phone, NOW, status="approved")  # and so does an editor's approval
    assert approved.included and approved.explanation.startswith("approved by an editor")
    assert approved.value == result.value  # approval includes, it does not promote


@pytest.mark.parametrize(
    ("title", "text", "section"),
    [
        (
            "Researchers show language models can fake alignment",
            "A new paper from Anthropic and Redwood Research shows a model faking alignment "
            "during training; the researchers warn that safety training may not remove harmful behaviour.",
            "safety",
        ),
        (
            "EU publishes draft code of practice under the AI Act",
            "The European Commission's AI Office published a draft code of practice to help "
            "providers comply with the AI Act; the regulation applies from August.",
            "policy",
        ),
        (
            "Quillmark raises $640 million at a $5.2 billion valuation",
            "The AI coding startup raised new funding led by Harborline; investors valued it at $5.2 billion.",
            "business",
        ),
        (
            "Halcyon releases Kestrel 2 as open weights under Apache 2.0",
            "The open-weights models are on Hugging Face under the permissive Apache 2.0 licence.",
            "open-source",
        ),
        (
            "Google launches Veo 2 video model with a waitlist",
            "The new model is rolling out in VideoFX with a waitlist, and will come to the API next year.",
            "models",
        ),
        ("Quarterly notes", "Some thoughts on things that happened this week in AI.", "other"),
    ],
)
def test_sections_from_cue_terms(title: str, text: str, section: str) -> None:
    assert classify([article("Outlet", 1, title=title, text=text)])[0] == section


def test_source_tags_are_priors_and_ties_follow_the_section_order() -> None:
    paper = article(
        "PaperStream", 1, title="Sparse probes for long context", text="We describe three probes."
    )
    assert classify([paper])[0] == "other"
    section, reason = classify([paper], source_tags={paper.source_id: ("arxiv",)})
    assert section == "research" and "'arxiv' source" in reason
    tie = RankParams(section_cues={"policy": {"alpha": 3.0}, "business": {"alpha": 3.0}})
    assert classify([article("X", 1, title="alpha", text="")], tie)[0] == "policy"
