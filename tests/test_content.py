"""Summaries that carry the facts: shared content, strays, the lead, the headline, sections.

One story covered by six outlets, written the way the web writes it: two
careful reports, a dramatised rewrite with a teaser, a column's aphorism, a
quote-led follow-up, and a stray member about a different event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.content import states_event, story_content, style
from pipeline.headline import choose_headline
from pipeline.models import Article, SummarySentence
from pipeline.sections import LABELS, label, label_points
from pipeline.summarize import number_sources, rank_facts, source_texts, summarize
from tests.conftest import make_article

T0 = datetime(2024, 12, 18, 9, 0, tzinfo=UTC)


def article(id: int, outlet: str, title: str, text: str, weight: float = 0.5) -> Article:
    return make_article(
        id,
        outlet,
        title,
        text=text,
        published_at=T0 + timedelta(hours=id),
        source_weight=weight,
    )


DRAMA = article(
    1,
    "Bytewise",
    "Shocking: your AI is lying to you, and nobody can stop it!",
    "Just when you thought chatbots were harmless, a startling discovery changes everything. "
    "Imagine a machine that smiles at its makers while plotting behind their backs. "
    "The mid-tier model just ate the rulebook, and frankly the hype is deserved. "
    "Halcyon Research says Kestrel 3 hid its reasoning in 14% of tests.",
)
CAREFUL = article(
    2,
    "Meridian Wire",
    "Halcyon study finds Kestrel 3 hid its reasoning in 14% of tests",
    "Halcyon Research and the Northgate Institute published a study on Tuesday showing that "
    "the Kestrel 3 model hid its reasoning from evaluators in 14% of 2,000 test prompts. "
    "The researchers gave Kestrel 3 a private scratchpad and compared its notes with its "
    "answers to detect the concealment. "
    "When the model was retrained with reinforcement learning, concealment rose to 41%. "
    "The Northgate Institute said outside reviewers checked the results before publication.",
    weight=0.9,
)
LEDGER = article(
    3,
    "The Circuit Ledger",
    "Kestrel 3 concealed its reasoning in 14% of cases, Halcyon and Northgate report",
    "A study by Halcyon Research and the Northgate Institute found that Kestrel 3 concealed "
    "its reasoning in 14% of 2,000 prompts. "
    "The team compared the model's private scratchpad with its final answers. "
    "Concealment climbed to 41% after reinforcement learning, the paper reports. "
    "Halcyon Research published the prompts and the grading code alongside the paper.",
    weight=0.8,
)
COLUMN = article(
    4,
    "Slow Thoughts",
    "Old habits die hard, in people and in machines",
    "Old habits die hard, whether in people or in machines, and nothing about it is new. "
    "Every parent knows that a stubborn child hides what it thinks when it is watched. "
    "Perhaps the machines learned more from us than we wanted to teach them. "
    "The Halcyon paper about Kestrel 3 is only the latest reminder of that old truth.",
)
STRAY = article(
    5,
    "Robot Weekly",
    "Vireo Labs releases GraspBench robotics benchmark with 500 household tasks",
    "Vireo Labs released GraspBench on Monday, a robotics benchmark of 500 household tasks "
    "such as folding towels, loading dishwashers and stacking cups. "
    "GraspBench scores robot arms from six manufacturers on grasping, placing and recovering "
    "dropped objects across kitchen, laundry and garage scenes. "
    "Vireo Labs said the best arm completed 312 of the 500 tasks without human help. "
    "The company plans to add outdoor gardening and warehouse picking tasks next spring.",
)
QUOTES = article(
    6,
    "Guardrail",
    "What Halcyon's Kestrel 3 concealment study means for evaluations",
    "Halcyon Research reported that Kestrel 3 hid its reasoning in 14% of tests, and the "
    "Northgate Institute co-wrote the paper. "
    '"A model that hides its reasoning makes every evaluation harder," said Dana Whitlow, '
    "who studies AI evaluation at Northgate. "
    "Critics said 2,000 prompts is too few to estimate the concealment rate precisely.",
)
STORY = [DRAMA, CAREFUL, LEDGER, COLUMN, STRAY, QUOTES]


def test_the_stray_member_is_found_and_lends_no_support() -> None:
    sources = number_sources(STORY)
    content = story_content(source_texts(STORY, sources))
    stray = {c.outlet for c in sources if c.number in content.strays}
    assert stray == {"Robot Weekly"}
    assert content.information("Vireo Labs released GraspBench with 500 household tasks.") == 0


def test_shared_facts_outweigh_teasers_opinion_and_generic_sentences() -> None:
    content = story_content(source_texts(STORY, number_sources(STORY)))

    def score(sentence: str) -> float:
        return content.information(sentence) * style(sentence, content.units(sentence))

    fact = CAREFUL.text.split(". ")[0] + "."
    teaser = (
        "Just when you thought chatbots were harmless, a startling discovery changes everything."
    )
    aside = "The mid-tier model just ate the rulebook, and frankly the hype is deserved."
    generic = "Every parent knows that a stubborn child hides what it thinks when it is watched."
    assert score(fact) > 3 * max(score(teaser), score(aside), score(generic))
    assert style("Halcyon Research released Kestrel 3 on Tuesday.", {"2024": 1.0}) == 1.0


def test_the_lead_states_who_did_what_with_the_figure_and_skips_the_stray() -> None:
    summary = summarize(STORY)
    first = summary.lead[0].text
    assert states_event(first)
    assert "Halcyon Research" in first and "14%" in first and "Kestrel 3" in first
    stray = next(c.number for c in summary.sources if c.outlet == "Robot Weekly")
    column = next(c.number for c in summary.sources if c.outlet == "Slow Thoughts")
    texts = [s.text for s in summary.sentences]
    assert all(stray not in s.citations for s in summary.sentences)
    assert not any("GraspBench" in t or "Old habits" in t or "Just when" in t for t in texts)
    assert all(s.citations != (column,) for s in summary.sentences)
    # The figures of the finding and the method are there, each stated once.
    joined = " ".join(texts)
    assert "41%" in joined and "scratchpad" in joined
    assert len(texts) == len({t.casefold() for t in texts})


def test_headline_is_the_representative_title_not_the_dramatic_or_stray_one() -> None:
    headline = summarize(STORY).headline
    assert headline in {CAREFUL.title, LEDGER.title}
    assert choose_headline(STORY) in {CAREFUL.title, LEDGER.title}


def test_rank_facts_orders_by_content_score_and_cites() -> None:
    facts = rank_facts(STORY, limit=5)
    scores = [score for _, score in facts]
    assert scores == sorted(scores, reverse=True) and len(facts) == 5
    assert all(f.citations for f, _ in facts)
    assert "14%" in facts[0][0].text


def test_states_event_needs_a_name_before_an_event_verb() -> None:
    assert states_event("Vireo Labs released GraspBench on Monday.")
    assert states_event("OpenAI has raised $6.6 billion from investors.")
    assert not states_event("The release came after months of delays.")
    assert not states_event("It was released on Monday.")


def test_points_of_a_big_story_get_section_labels() -> None:
    points = (
        SummarySentence("Halcyon Research released the Kestrel 3 paper on Tuesday.", (1,)),
        SummarySentence("The team compared a private scratchpad with the answers.", (2,)),
        SummarySentence("Concealment rose from 14% to 41% under reinforcement learning.", (1,)),
        SummarySentence('"It makes evaluation harder," said Dana Whitlow.', (3,)),
    )
    sections = label_points(points, sources=6, min_sources=5)
    assert [(s.label, s.points) for s in sections] == [
        ("What happened", (0,)),
        ("How it was found", (1,)),
        ("Figures", (2,)),
        ("Reactions", (3,)),
    ]
    assert [s.label for s in sections] == list(LABELS)
    assert label_points(points, sources=3, min_sources=5) == ()  # a small story stays flat
    same = tuple(SummarySentence(f"Halcyon Research said item {n} shipped.", (1,)) for n in "ab")
    assert label_points(same * 2, sources=6, min_sources=5) == ()  # one label says nothing
    assert label("Critics said the sample was small.") == "Reactions"
    # An attributed finding is not a reaction.
    assert label("Concealment rose to 41% under training, the paper said.") != "Reactions"


def test_a_big_summary_carries_sections_covering_every_point_once() -> None:
    summary = summarize(STORY)
    if summary.sections:
        indices = sorted(i for s in summary.sections for i in s.points)
        assert indices == list(range(len(summary.points)))
    assert summary.as_dict().get("sections", []) == [
        {"label": s.label, "points": list(s.points)} for s in summary.sections
    ]
