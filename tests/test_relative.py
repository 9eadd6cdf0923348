"""Relative day words dated from the cited article's publication time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from pipeline.models import Citation, Digest, RankedStory, Summary, SummarySentence
from pipeline.render.readable import published
from pipeline.render.relative import dated

THURSDAY = datetime(2024, 12, 19, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "OpenAI said on Wednesday it will ship.",
            "OpenAI said on Wednesday (18 Dec) it will ship.",
        ),
        ("Google released it yesterday.", "Google released it yesterday (18 Dec)."),
        ("Today, Meta opened the weights.", "Today (19 Dec), Meta opened the weights."),
        (
            "The lab said Thursday it had raised money.",
            "The lab said Thursday (19 Dec) it had raised money.",
        ),
        ("It will launch on Friday.", "It will launch on Friday (20 Dec)."),
        (
            "The firm said it will release the model on Monday.",
            "The firm said it will release the model on Monday (23 Dec).",
        ),
        ("Regulators met last Thursday.", "Regulators met last Thursday (12 Dec)."),
        ("The vote is next Thursday.", "The vote is next Thursday (26 Dec)."),
        ("Nvidia shipped it last week.", "Nvidia shipped it last week (week of 9 Dec)."),
        ("The beta opens tomorrow.", "The beta opens tomorrow (20 Dec)."),
    ],
)
def test_phrases_get_the_date_they_meant(text, expected):
    assert dated(text, THURSDAY, "UTC") == expected


@pytest.mark.parametrize(
    "text",
    [
        "Anthropic published a paper on alignment faking.",
        "On Wednesday, Dec. 18 the lab published it.",
        "The model shipped on Wednesday (18 Dec).",
        "Retailers expect AI demand on Black Friday.",
        "Mondays are slow for model releases.",
        "Most of today's data halls were built for 10 kW racks.",
        "AI glasses are genuinely useful today, especially for people with low vision.",
        "Yesterday\u2019s model is obsolete.",
    ],
)
def test_sentences_without_a_bare_relative_day_are_untouched(text):
    assert dated(text, THURSDAY, "UTC") == text


def test_the_day_is_the_publication_day_in_the_digests_zone():
    # 02:30 UTC on Thursday is still Wednesday evening in New York.
    late = datetime(2024, 12, 19, 2, 30, tzinfo=UTC)
    assert dated("It shipped yesterday.", late, "UTC") == "It shipped yesterday (18 Dec)."
    assert dated("It shipped yesterday.", late, "America/New_York") == (
        "It shipped yesterday (17 Dec)."
    )
    assert dated("It shipped today.", late, "Asia/Tokyo") == "It shipped today (19 Dec)."
    # A naive time is UTC, as everywhere in the store.
    assert dated("It shipped today.", late.replace(tzinfo=None), "UTC") == (
        "It shipped today (19 Dec)."
    )


def test_weekdays_cross_week_month_and_year_boundaries():
    monday = datetime(2024, 12, 30, 9, 0, tzinfo=UTC)
    assert dated("It shipped on Friday.", monday, "UTC") == "It shipped on Friday (27 Dec)."
    assert dated("It shipped on Monday.", monday, "UTC") == "It shipped on Monday (30 Dec)."
    assert dated("It ships on Thursday, it will.", monday, "UTC") == (
        "It ships on Thursday (26 Dec), it will."
    )  # the future marker comes after the phrase: a past Thursday
    assert dated("It will ship on Thursday.", monday, "UTC") == "It will ship on Thursday (2 Jan)."
    assert dated("It shipped yesterday.", monday.replace(day=1, month=1, year=2025), "UTC") == (
        "It shipped yesterday (31 Dec)."
    )
    assert dated("Sales fell this week.", monday, "UTC") == "Sales fell this week (week of 30 Dec)."


def test_dating_twice_changes_nothing():
    once = dated("Yesterday it shipped; on Tuesday it will open.", THURSDAY, "UTC")
    assert dated(once, THURSDAY, "UTC") == once


def _digest(text: str, cited_at: datetime | None, url: str) -> Digest:
    sources = (
        Citation(1, "Wire", "Title", url, cited_at, (1,)),
        Citation(2, "Lab", "Title", "https://lab.example/post", THURSDAY, (2,)),
    )
    summary = Summary("Headline", (SummarySentence(text, (1, 2)),), (), sources)
    story = RankedStory(1, "Headline", "research", 1.0, "", "auto", summary, 2, (url,), (THURSDAY,))
    return Digest(date(2024, 12, 20), "Europe/London", THURSDAY, (story,))


def test_published_digest_dates_by_the_first_cited_source_and_cleans_links():
    tracked = "https://wire.example/a?utm_source=rss&utm_medium=feed&id=7"
    monday = datetime(2024, 12, 16, 12, 0, tzinfo=UTC)
    digest = published(_digest("The lab said on Friday it would ship.", monday, tracked))
    story = digest.stories[0]
    assert story.summary.lead[0].text == "The lab said on Friday (13 Dec) it would ship."
    assert story.summary.sources[0].url == "https://wire.example/a?id=7"
    assert story.article_urls == ("https://wire.example/a?id=7",)
    assert published(digest) == digest


def test_a_sentence_whose_source_has_no_time_is_untouched():
    digest = _digest("It shipped yesterday.", None, "https://wire.example/a")
    assert published(digest).stories[0].summary.lead == digest.stories[0].summary.lead
    assert replace(digest) == published(digest)
