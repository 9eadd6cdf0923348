"""AI relevance: on-topic and off-topic stories, ai-only sources, vocabulary extension and mute rules."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline.models import Article
from pipeline.relevance import DEFAULT_VOCABULARY, RelevanceParams, Vocabulary, judge
from tests.conftest import make_article

T0 = datetime(2024, 12, 18, 9, 0, tzinfo=UTC)


def article(
    id: int, title: str, text: str = "", summary: str = "", outlet: str = "Bytewise"
) -> Article:
    return make_article(id, outlet, title, feed_summary=summary, text=text, published_at=T0)


PHONE_REVIEW = article(
    1,
    "Pixelon 9 Pro review: a great camera with middling battery life",
    "The Pixelon 9 Pro is the best smartphone camera we have tested this year. Battery life "
    "is middling, lasting about a day of heavy use. The phone adds a few AI photo-editing "
    "tricks, but the hands-on experience is dominated by the display and the gaming performance.",
)
GAME_LAUNCH = article(
    2,
    "Starfall Odyssey launches on PlayStation 5 and Xbox Series X",
    "The space epic Starfall Odyssey is out today on PlayStation 5 and Xbox Series X consoles. "
    "The launch trailer shows ten minutes of gameplay, and reviews praise its open world.",
)
MODEL_RELEASE = article(
    3,
    "Halcyon Research releases Kestrel 2 open-weights language models",
    "Halcyon Research released Kestrel 2, a family of open-weights large language models. The "
    "models were trained on 9 trillion tokens and beat rival LLMs on several benchmarks. Developers "
    "can fine-tune them for their own AI applications.",
)
AI_REGULATION = article(
    4,
    "EU publishes second draft of code for general-purpose AI models",
    "The European Commission's AI Office published the second draft of the code of practice "
    "that will guide providers of general-purpose AI models in complying with the AI Act. "
    "Makers of frontier models such as GPT-4 would commit to evaluations before release.",
)


@pytest.mark.parametrize("story", [[MODEL_RELEASE], [AI_REGULATION]])
def test_ai_stories_are_kept(story: list[Article]) -> None:
    relevance = judge(story)
    assert relevance.kept
    assert relevance.value >= RelevanceParams().threshold
    assert relevance.reason.startswith("AI relevance")


@pytest.mark.parametrize("story", [[PHONE_REVIEW], [GAME_LAUNCH]])
def test_off_topic_stories_are_left_out(story: list[Article]) -> None:
    relevance = judge(story)
    assert not relevance.kept
    assert "below 3.0" in relevance.reason
    assert any(v < 0 for _, v in relevance.matches), "negative vocabulary shows in the reason"


def test_reason_names_the_terms_that_counted() -> None:
    relevance = judge([MODEL_RELEASE])
    terms = dict(relevance.matches)
    assert terms["language model*"] > 0 and terms["llm*"] > 0
    assert "language model*" in relevance.reason


def test_ai_only_sources_are_kept_whatever_they_say() -> None:
    quiet = article(5, "Notes from the reading group", "We read three papers on sparse circuits.")
    assert not judge([quiet]).kept
    kept = judge([quiet], source_tags={5: ("newsletter", "ai-only")})
    assert kept.kept and kept.reason == "from a source tagged 'ai-only'"


def test_settings_extend_and_override_the_vocabulary() -> None:
    robot = article(
        6, "Ferrous lands a warehouse deal", "Ferrous builds warehouse robots for Parcelway."
    )
    assert not judge([robot]).kept
    params = RelevanceParams(extra_vocabulary={"ferrous": 3.0, "warehouse robot*": 2.0})
    relevance = judge([robot], params)
    assert relevance.kept and dict(relevance.matches)["ferrous"] > 0
    assert judge([MODEL_RELEASE], RelevanceParams(threshold=100.0)).kept is False


@pytest.mark.parametrize(
    ("rules", "reason"),
    [
        (RelevanceParams(mute_terms=("kestrel",)), "muted term 'kestrel'"),
        (RelevanceParams(mute_phrases=("open-weights large language",)), "muted term"),
        (RelevanceParams(mute_sources=("Bytewise",)), "muted source 'Bytewise'"),
        (RelevanceParams(mute_sources=("3",)), "muted source"),
    ],
)
def test_mute_rules_leave_out_even_strong_ai_stories(rules: RelevanceParams, reason: str) -> None:
    relevance = judge([MODEL_RELEASE], rules)
    assert relevance.value > 5 and not relevance.kept
    assert relevance.reason.startswith(reason)


def test_mute_beats_ai_only_and_needs_every_outlet_muted() -> None:
    tags = {3: ("ai-only",)}
    assert not judge([MODEL_RELEASE], RelevanceParams(mute_terms=("kestrel",)), tags).kept
    other = article(7, MODEL_RELEASE.title, MODEL_RELEASE.text, outlet="Meridian Wire")
    assert judge([MODEL_RELEASE, other], RelevanceParams(mute_sources=("Bytewise",))).kept


def test_vocabulary_matching_rules() -> None:
    vocabulary = Vocabulary(
        {"model": 1.0, "gpt*": 1.0, "ai-*": 1.0, "language model*": 1.0, "ai": 1.0}
    )
    counts = vocabulary.counts(
        ["Two models, GPT-4o and GPT-5, AI-generated text; language models aim high."]
    )
    assert counts == {"model": 2, "gpt*": 2, "ai-*": 1, "language model*": 1}
    assert "aim" not in counts and "ai" not in counts  # whole words only
    assert set(DEFAULT_VOCABULARY) >= {"openai", "smartphone", "ai"}
