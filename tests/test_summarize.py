"""Sentence splitting, the standalone-sentence gate, headlines, numbered sources and cited summaries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from pipeline.models import Article, Summary, SummarySentence
from pipeline.sentences import clean_headline, reject_reason, split_sentences, support
from pipeline.summarize import (
    SummaryParams,
    choose_headline,
    number_sources,
    source_texts,
    sources_read,
    summarize,
    verify_citations,
)
from tests.conftest import make_article

T0 = datetime(2024, 12, 16, 10, 0, tzinfo=UTC)


def article(id: int, outlet: str, title: str, text: str = "", hours: float = 0, **kw) -> Article:
    return make_article(
        id, outlet, title, text=text, published_at=T0 + timedelta(hours=hours), **kw
    )


SHARED = "The models are available under the Apache 2.0 licence, which allows commercial use."
MERIDIAN = article(
    1,
    "Meridian Wire",
    "Halcyon Research releases Kestrel 2 open-weights models - Meridian Wire",
    "Halcyon Research on Monday released Kestrel 2, a family of open-weights language models "
    "with 8 billion and 34 billion parameters. " + SHARED + " Halcyon said the larger model "
    "scores 81.2 on the MMLU benchmark, ahead of rivals of similar size.\n"
    "Sign up for our newsletter to get the latest AI news in your inbox.\n"
    "He added that more models would follow next year. The Paris company was founded in 2022 "
    "by former academic researchers and employs about 60 people.",
    hours=0,
    source_weight=0.9,
)
LEDGER = article(
    2,
    "The Circuit Ledger",
    "Kestrel 2 is here, and it's a big deal | The Circuit Ledger",
    "Paris-based Halcyon Research has launched Kestrel 2, its second generation of open "
    "language models. The release includes base and instruction-tuned versions of both sizes. "
    "Independent testers said the 34B model runs on a single data-center GPU with 80GB of "
    "memory.\nImage credit: Getty Images\nHowever, the company did not disclose its training "
    "data in any detail.",
    hours=1,
    source_weight=0.8,
)
BYTEWISE = article(
    3,
    "Bytewise",
    "HALCYON'S KESTREL 2 IS HERE",
    SHARED + " Kestrel 2 arrives as European labs race to match American rivals with smaller "
    "and cheaper systems. Developers on forums reported running a quantized version of the 34B "
    "model on a 24GB gaming card within hours of the release.",
    hours=2,
    source_weight=0.55,
)
COPY = article(4, "Syndicator", MERIDIAN.title, MERIDIAN.text, hours=3, duplicate_of=1)
HEADLINE_ONLY = article(5, "Frontier Signal", "Halcyon ships Kestrel 2 open models", hours=4)
STORY = [BYTEWISE, COPY, MERIDIAN, HEADLINE_ONLY, LEDGER]  # any order


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "OpenAI released GPT-4.5 on Thursday. It costs $2.50 per million tokens.",
            ["OpenAI released GPT-4.5 on Thursday.", "It costs $2.50 per million tokens."],
        ),
        (
            "Anthropic's Claude 3.5 Sonnet beat GPT-4o. The U.S. government took note.",
            ["Anthropic's Claude 3.5 Sonnet beat GPT-4o.", "The U.S. government took note."],
        ),
        (
            "The rules apply in the U.S. The company said it would comply.",
            ["The rules apply in the U.S.", "The company said it would comply."],
        ),
        (
            '"We are excited," said Sam Altman. "This is a big step." The model ships today.',
            [
                '"We are excited," said Sam Altman.',
                '"This is a big step."',
                "The model ships today.",
            ],
        ),
        (
            "Mr. Smith met Dr. Jones at 3 p.m. on Monday. They discussed Llama 3.1 405B.",
            ["Mr. Smith met Dr. Jones at 3 p.m. on Monday.", "They discussed Llama 3.1 405B."],
        ),
        (
            "It scored 92.3% on MMLU vs. 88.7% for its rival. Shares rose 4.5%.",
            ["It scored 92.3% on MMLU vs. 88.7% for its rival.", "Shares rose 4.5%."],
        ),
        (
            "Nvidia Corp. said revenue rose. Apple Inc. declined to comment.",
            ["Nvidia Corp. said revenue rose.", "Apple Inc. declined to comment."],
        ),
        (
            "Gemini 1.5 Pro has a 1M-token context window.Meta said Llama 4 is next.",
            ["Gemini 1.5 Pro has a 1M-token context window.", "Meta said Llama 4 is next."],
        ),
        (
            "John F. Kennedy was mentioned.\nA heading without a stop\nThe next paragraph.",
            ["John F. Kennedy was mentioned.", "A heading without a stop", "The next paragraph."],
        ),
        (
            "SAN FRANCISCO (Reuters) - OpenAI said on Friday it would cut prices.",
            ["OpenAI said on Friday it would cut prices."],
        ),
        (
            "BRUSSELS, Dec 19 (Meridian) - The EU published a draft. Is it enough? Yes!",
            ["The EU published a draft.", "Is it enough?", "Yes!"],
        ),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("Sign up for our newsletter to get the latest AI news in your inbox.", "boilerplate"),
        ("Image credit: Getty Images via the photographer's agency and partners.", "boilerplate"),
        ("Read more: our full coverage of the OpenAI board saga is here today.", "boilerplate"),
        ("By Jane Smith and John Doe, staff writers at the paper.", "boilerplate"),
        ("The post Kestrel 2 is out appeared first on The Gradient Dispatch.", "boilerplate"),
        ("This article was updated on Friday to include a comment from Google.", "boilerplate"),
        ("Halcyon released the model", "fragment: too short"),
        (
            "Halcyon released the model on Monday with two sizes and a permissive",
            "fragment: no end",
        ),
        ("the model was released on Monday with two sizes and a licence.", "fragment: starts"),
        (
            "Half the price, 1.7x the generative AI speed, and a free update for old boards.",
            "fragment: no verb",
        ),
        (
            "Halcyon said the release was a milestone for the lab and its backers …",
            "fragment: truncated",
        ),
        (
            'Halcyon said "the release was a milestone for the lab and its backers.',
            "fragment: unbalanced",
        ),
        (
            "He added that more models would follow next year from the lab.",
            "needs context: pronoun",
        ),
        (
            "This is the second release from the Paris lab this year alone.",
            "needs context: pronoun",
        ),
        (
            "But the company did not disclose its training data in any detail.",
            "needs context: connective",
        ),
        (
            "However, the company did not disclose its training data in detail.",
            "needs context: connective",
        ),
        (
            "On Tuesday, she told reporters the model would ship to all users.",
            "needs context: pronoun without",
        ),
        ("What does the release mean for developers building on open models?", "fragment: no end"),
    ],
)
def test_reject_reason_names_why_a_sentence_cannot_stand_alone(sentence: str, reason: str) -> None:
    found = reject_reason(sentence)
    assert found is not None and found.startswith(reason), found


@pytest.mark.parametrize(
    "sentence",
    [
        "Halcyon Research on Monday released Kestrel 2, a family of open-weights models.",
        "The New York Times sued OpenAI for copyright infringement in December 2023.",
        "Nvidia makes the chips that power the world's biggest AI data centres.",
        '"We are excited," said Sam Altman, chief executive of OpenAI.',
        "On Tuesday, Google said its Gemini model would reach all users next month.",
        "Users who subscribe to ChatGPT Plus will get the model first, OpenAI said.",
    ],
)
def test_reject_reason_accepts_standalone_sentences(sentence: str) -> None:
    assert reject_reason(sentence) is None


@pytest.mark.parametrize(
    ("title", "outlet", "expected"),
    [
        ("OpenAI launches GPT-5 - TechCrunch", "TechCrunch", "OpenAI launches GPT-5"),
        ("Meta releases Llama 4 | WIRED", "", "Meta releases Llama 4"),
        (
            "Sam Altman says AGI is near | The Verge | Tech",
            "The Verge",
            "Sam Altman says AGI is near",
        ),
        ("Nvidia posts record quarter — here's why it matters", "", "Nvidia posts record quarter"),
        ("Kestrel 2 is here, and it's a big deal", "", "Kestrel 2 is here"),
        ("BREAKING: Anthropic raises $4B - Reuters", "Reuters", "Anthropic raises $4B"),
        ("OPENAI RELEASES NEW MODEL TO EVERYONE", "", "Openai releases new model to everyone"),
        (
            "Google's HUGE new Gemini update is HERE!!!",
            "",
            "Google's huge new Gemini update is here",
        ),
        (
            "NHS trust pilots AI scribe in A&amp;E | SILICONSHIRE",
            "Siliconshire",
            "NHS trust pilots AI scribe in A&E",
        ),
        (
            "Apple Intelligence arrives in the U.S. (VIDEO)",
            "",
            "Apple Intelligence arrives in the U.S.",
        ),
        ("Microsoft - OpenAI deal revised", "", "Microsoft - OpenAI deal revised"),
        (
            "5 ways to use AI for shopping (WITHOUT getting SCAMMED!!)",
            "",
            "5 ways to use AI for shopping",
        ),
        (
            "How Robust Are Video Watermarks? (PaperStream:2412.12863v1 [cs.CV])",
            "PaperStream cs.AI",
            "How Robust Are Video Watermarks?",
        ),
        (
            "Claude 3.5 Sonnet tops coding tests - anthropic.com",
            "",
            "Claude 3.5 Sonnet tops coding tests",
        ),
    ],
)
def test_clean_headline(title: str, outlet: str, expected: str) -> None:
    assert clean_headline(title, outlet) == expected


def test_sources_are_numbered_per_outlet_by_first_publication_with_copies_folded() -> None:
    sources = number_sources(STORY)
    assert [(c.number, c.outlet) for c in sources] == [
        (1, "Meridian Wire"),
        (2, "The Circuit Ledger"),
        (3, "Bytewise"),
        (4, "Frontier Signal"),
    ]
    assert sources[0].article_ids == (1, 4)  # the syndicated copy belongs to its original
    assert sources[0].title == "Halcyon Research releases Kestrel 2 open-weights models"
    assert sources[0].published_at == T0


def test_story_summary_cites_every_sentence_and_merges_shared_sentences() -> None:
    summary = summarize(STORY)
    assert summary.method == "extractive"
    assert 2 <= len(summary.lead) <= 3
    assert 1 <= len(summary.points) <= 6
    assert all(s.citations for s in summary.sentences)
    assert verify_citations(summary, source_texts(STORY, summary.sources)) == []
    shared = [s for s in summary.sentences if s.text == SHARED]
    assert shared and shared[0].citations == (1, 3)  # stated by Meridian and Bytewise
    texts = " ".join(s.text for s in summary.sentences)
    for unwanted in ("Sign up", "Getty", "He added", "However", "newsletter"):
        assert unwanted not in texts
    assert len({s.text for s in summary.sentences}) == len(summary.sentences)


def test_headline_is_a_clean_representative_title() -> None:
    headline = summarize(STORY).headline
    assert "Kestrel 2" in headline
    assert not any(x in headline for x in ("Meridian Wire", "|", "big deal", "HERE"))


def test_single_source_story_gets_a_short_summary_cited_1() -> None:
    summary = summarize([MERIDIAN])
    assert len(summary.sources) == 1
    assert 1 <= len(summary.lead) <= 2 and len(summary.points) <= 3
    assert {s.citations for s in summary.sentences} == {(1,)}
    assert summary.lead[0].text.startswith("Halcyon Research on Monday released Kestrel 2")


def test_headline_only_story_is_summarized_from_titles() -> None:
    other = article(
        6, "Bytewise", "Halcyon's Kestrel 2 open models arrive with Apache licence", hours=1
    )
    summary = summarize([HEADLINE_ONLY, other])
    assert summary.sentences, "titles stand in for missing text"
    assert all(s.citations for s in summary.sentences)
    assert verify_citations(summary, source_texts([HEADLINE_ONLY, other], summary.sources)) == []


def test_verify_citations_reports_uncited_unknown_and_unsupported_numbers() -> None:
    sources = number_sources([MERIDIAN, LEDGER])
    texts = source_texts([MERIDIAN, LEDGER], sources)
    summary = Summary(
        headline="Kestrel 2",
        lead=(
            SummarySentence("Halcyon Research on Monday released Kestrel 2.", (1,)),
            SummarySentence("Halcyon Research on Monday released Kestrel 2.", ()),
        ),
        points=(
            SummarySentence("Halcyon was acquired by Meta for $9 billion on Friday.", (2,)),
            SummarySentence("Halcyon Research released Kestrel 2.", (7,)),
        ),
        sources=sources,
    )
    problems = [
        (p.part, p.index, p.number, p.reason.split(" (")[0])
        for p in verify_citations(summary, texts)
    ]
    assert problems == [
        ("lead", 1, None, "no citation"),
        ("points", 0, 2, "source does not state it"),
        ("points", 1, 7, "no such source"),
    ]


def test_support_requires_the_same_figures() -> None:
    source = "Halcyon said the larger model scores 81.2 on the MMLU benchmark."
    assert support("The larger model scores 81.2 on MMLU, Halcyon said.", source) == 1.0
    assert support("The larger model scores 91.5 on MMLU, Halcyon said.", source) < 0.75


def test_summary_round_trips_through_json() -> None:
    summary = summarize(STORY)
    assert Summary.from_dict(json.loads(json.dumps(summary.as_dict()))) == summary


def test_headline_passes_over_column_labels_and_syndicated_retitles() -> None:
    members = [
        article(1, "Gradient Dispatch", "Paper notes: Alignment faking in large language models"),
        article(
            2,
            "Meridian Wire",
            "Anthropic study finds AI model faked alignment to avoid retraining",
            hours=1,
        ),
        article(
            3, "Kernel Links", "Frontier Signal: alignment faking in large language models", hours=2
        ),
        article(
            4,
            "Syndicator",
            "Anthropic study finds AI model faked alignment in training",
            hours=3,
            duplicate_of=2,
        ),
    ]
    assert choose_headline(members) == (
        "Anthropic study finds AI model faked alignment to avoid retraining"
    )


def _crowd(outlets: int) -> list[Article]:
    """One event told by many outlets; the last three weigh most (wire services)."""
    return [
        article(
            i,
            f"Outlet {i}",
            f"Halcyon Research releases Kestrel 2, report {i}",
            "Halcyon Research on Monday released Kestrel 2, a family of open-weights language "
            f"models with 8 billion and 34 billion parameters. {SHARED} Reporter {i} noted "
            f"that the Paris company employs about {40 + i} people.",
            hours=i / 10,
            source_weight=0.9 if i > outlets - 3 else 0.5,
        )
        for i in range(1, outlets + 1)
    ]


def test_an_enormous_story_is_summarized_from_its_weightiest_and_first_sources() -> None:
    """Thirty sources agree on the facts as well as three hundred do, at a tenth of the cost."""
    members = _crowd(300)
    read = sources_read(members, number_sources(members), 30)
    numbers = [c.number for c in read]
    assert len(read) == 30 and numbers == sorted(numbers)
    assert {298, 299, 300} <= set(numbers)  # the weightiest outlets, however late
    assert numbers[:27] == list(range(1, 28))  # then the first reports
    summary = summarize(members, SummaryParams(max_sources=30))
    assert len(summary.sources) == 300  # every outlet is still listed and counted
    cited = {n for s in summary.sentences for n in s.citations}
    assert cited and cited <= set(numbers)
    assert not verify_citations(summary, source_texts(members, summary.sources))


def test_a_story_within_the_cap_reads_every_source() -> None:
    members = _crowd(5)
    sources = number_sources(members)
    assert sources_read(members, sources, 30) == sources
