"""digest.select: the day's window, editors' decisions, the limit, reading order, determinism.

The module also holds the hand-made stories the render, site, email and mail
tests share (``make_story``, ``sample_stories``, ``sample_digest``): real
``Summary`` values with numbered sources, as the summarize stage makes them.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.digest import PINNED_TITLE, DigestParams, groups, section_title, select, window
from pipeline.errors import ConfigError
from pipeline.models import Citation, Digest, RankedStory, Section, Summary, SummarySentence
from pipeline.rank import SECTIONS

DAY = date(2024, 12, 19)
PARAMS = DigestParams(timezone="Europe/London", publish_time="07:00", limit=15)
# Europe/London is UTC+0 in December: the window is [18 Dec 07:00Z, 19 Dec 07:00Z).
IN_WINDOW = datetime(2024, 12, 18, 15, 30, tzinfo=UTC)
BUILT = datetime(2024, 12, 19, 7, 0, 5, tzinfo=UTC)

Source = tuple[str, str, str]  # outlet, title, url


def make_story(
    story_id: int,
    headline: str,
    section: str = "models",
    score: float = 1.0,
    *,
    status: str = "auto",
    included: bool = True,
    times: Sequence[datetime] = (IN_WINDOW,),
    sources: Sequence[Source] = (),
    lead: Sequence[tuple[str, tuple[int, ...]]] = (),
    points: Sequence[tuple[str, tuple[int, ...]]] = (),
    sections: Sequence[tuple[str, tuple[int, ...]]] = (),
) -> RankedStory:
    """A ranked story with a real cited Summary; sources default to two outlets."""
    sources = sources or (
        ("Frontier Signal", f"{headline} (report)", f"https://frontier.example/{story_id}"),
        ("Meridian Wire", f"{headline}: what we know", f"https://meridian.example/{story_id}"),
    )
    citations = tuple(
        Citation(
            number=n,
            outlet=outlet,
            title=title,
            url=url,
            published_at=times[0] + timedelta(minutes=7 * n),
            article_ids=(story_id * 100 + n,),
        )
        for n, (outlet, title, url) in enumerate(sources, start=1)
    )
    numbers = tuple(c.number for c in citations)
    summary = Summary(
        headline=headline,
        lead=tuple(SummarySentence(t, c) for t, c in lead)
        or (SummarySentence(f"{headline}, several outlets reported.", numbers),),
        points=tuple(SummarySentence(t, c) for t, c in points),
        sources=citations,
        sections=tuple(Section(label, indices) for label, indices in sections),
    )
    return RankedStory(
        id=story_id,
        headline=headline,
        section=section,
        score=score,
        explanation=f"{len(citations)} outlets; section {SECTIONS.get(section, section)}",
        status=status,
        summary=summary,
        outlets=len(citations),
        article_urls=tuple(c.url for c in citations),
        article_times=tuple(times),
        first_seen=min(times, key=_utc),
        last_seen=max(times, key=_utc),
        included=included,
    )


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def sample_stories() -> list[RankedStory]:
    """A realistic day: pinned, several sections, multi-outlet summaries with key points."""
    return [
        make_story(
            7,
            "Anthropic study finds Claude 3 Opus faked alignment during training",
            "safety",
            9.2,
            sources=(
                (
                    "Frontier Signal",
                    "Alignment faking in Claude 3 Opus: 78% under RL",
                    "https://frontier.example/alignment-faking",
                ),
                (
                    "Meridian Wire",
                    "Anthropic study finds AI model feigned compliance",
                    "https://meridian.example/anthropic-study",
                ),
                (
                    "Siliconshire",
                    "AI model fakes alignment, boffins warn",
                    "https://siliconshire.example/fakes-alignment",
                ),
                (
                    "Guardrail",
                    "What alignment faking means for safety training",
                    "https://guardrail.example/what-it-means",
                ),
            ),
            lead=(
                (
                    "Researchers at Anthropic and Redwood Research found that Claude 3 Opus sometimes pretended to comply with a new training objective.",
                    (1, 2, 3),
                ),
                (
                    "The behaviour rose to 78% of cases once reinforcement learning was applied.",
                    (1,),
                ),
            ),
            points=(
                (
                    "The model was told that only free-tier conversations would be used for training.",
                    (2, 4),
                ),
                (
                    "Safety researchers say the result complicates evaluations that rely on observed behaviour.",
                    (4,),
                ),
            ),
            sections=(("How it was found", (0,)), ("Reactions", (1,))),
        ),
        make_story(
            3,
            "EU publishes second draft of the general-purpose AI code of practice",
            "policy",
            7.5,
            status="pinned",
            sources=(
                (
                    "Capitol Code",
                    "EU second draft AI code of practice",
                    "https://capitol.example/eu-draft",
                ),
                (
                    "Eurotech Observer",
                    "AI Office: second draft of GPAI code",
                    "https://eurotech.example/gpai",
                ),
                (
                    "Kernel Links",
                    "EU GPAI code of practice, second draft",
                    "https://kernel.example/eu-gpai",
                ),
            ),
            lead=(
                (
                    "The European Commission's AI Office published a second draft of its code of practice for general-purpose AI models.",
                    (1, 2, 3),
                ),
            ),
            points=(
                ("Providers of the largest models would have to assess systemic risks.", (2,)),
            ),
        ),
        make_story(
            12,
            "Quillmark raises $640 million for AI coding assistants",
            "business",
            6.1,
            sources=(
                (
                    "Ledgerline",
                    "Quillmark $640M Series C led by Harborline",
                    "https://ledgerline.example/quillmark",
                ),
                ("Bytewise", "Quillmark raises $640 million", "https://bytewise.example/quillmark"),
            ),
        ),
        make_story(
            15,
            "Halcyon releases Kestrel 2, a 34B open-weights model",
            "open-source",
            8.0,
            sources=(
                ("Halcyon Research", "Introducing Kestrel 2", "https://halcyon.example/kestrel-2"),
                (
                    "Circuit Ledger",
                    "Kestrel 2 open model runs on your PC",
                    "https://circuit.example/kestrel-2",
                ),
                (
                    "Gradient Dispatch",
                    "Kestrel 2 and the mid-size sweet spot",
                    "https://gradient.example/kestrel",
                ),
            ),
            points=(("The weights are released under the Apache 2.0 licence.", (1, 3)),),
        ),
        make_story(21, "Nvidia cuts Jetson Orin Nano developer kit to $249", "models", 5.0),
        make_story(22, "Paperstream: long-context retrieval benchmark", "research", 4.4),
        make_story(30, "Rejected: a celebrity chatbot app", "models", 50.0, status="rejected"),
        make_story(31, "Left out by mute rules", "business", 40.0, included=False),
        make_story(
            40,
            "Last week's news",
            "models",
            30.0,
            times=(datetime(2024, 12, 17, 9, 0, tzinfo=UTC),),
        ),
    ]


def sample_digest(day: date = DAY, stories: Sequence[RankedStory] | None = None) -> Digest:
    """The digest ``select`` makes of ``sample_stories`` (or of ``stories``) for ``day``."""
    shift = day - DAY
    moved = [
        replace(
            s,
            article_times=tuple(t + shift for t in s.article_times),
            first_seen=s.first_seen + shift if s.first_seen else None,
            last_seen=s.last_seen + shift if s.last_seen else None,
        )
        for s in (stories if stories is not None else sample_stories())
    ]
    return select(moved, day, PARAMS, BUILT + shift)


def ids(digest: Digest) -> list[int]:
    return [s.id for s in digest.stories]


def test_select_orders_pinned_first_then_sections_by_best_score():
    digest = sample_digest()
    assert ids(digest) == [3, 7, 15, 12, 21, 22]
    assert [(g.key, g.title) for g in groups(digest)] == [
        ("pinned", PINNED_TITLE),
        ("safety", "Safety"),
        ("open-source", "Open source"),
        ("business", "Business & funding"),
        ("models", "Models & products"),
        ("research", "Research"),
    ]


def test_select_leaves_out_rejected_excluded_and_other_days():
    chosen = set(ids(sample_digest()))
    assert not chosen & {30, 31, 40}


def test_sections_keep_stories_by_score_with_id_tie_breaks():
    stories = [
        make_story(9, "b", "models", 2.0),
        make_story(4, "a", "models", 2.0),
        make_story(5, "c", "research", 3.0),
        make_story(1, "d", "models", 1.0),
        make_story(2, "e", "research", 2.0),
    ]
    digest = select(stories, DAY, PARAMS, BUILT)
    assert ids(digest) == [5, 2, 4, 9, 1]


def test_window_boundaries_in_the_configured_zone():
    params = DigestParams(timezone="America/New_York", publish_time="07:00")
    start, end = window(DAY, params)
    assert end == datetime(2024, 12, 19, 12, 0, tzinfo=UTC)  # 07:00 EST
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=24)
    at = [
        start - timedelta(seconds=1),
        start,
        end - timedelta(seconds=1),
        end,
    ]
    stories = [make_story(i + 1, f"s{i}", times=(t,)) for i, t in enumerate(at)]
    digest = select(stories, DAY, params, end + timedelta(hours=1))
    assert sorted(ids(digest)) == [2, 3]


def test_a_story_that_grew_today_counts_and_naive_times_are_utc():
    old = datetime(2024, 12, 16, 9, 0, tzinfo=UTC)
    grew = make_story(1, "grew", times=(old, datetime(2024, 12, 18, 23, 0)))  # naive: UTC
    stale = make_story(2, "stale", times=(old, old + timedelta(hours=3)))
    assert ids(select([grew, stale], DAY, PARAMS, BUILT)) == [1]


def test_member_dated_after_the_build_does_not_count():
    early_build = datetime(2024, 12, 19, 1, 0, tzinfo=UTC)
    future = make_story(1, "future", times=(datetime(2024, 12, 19, 3, 0, tzinfo=UTC),))
    past = make_story(2, "past", times=(datetime(2024, 12, 18, 12, 0, tzinfo=UTC),))
    assert ids(select([future, past], DAY, PARAMS, early_build)) == [2]


@pytest.mark.parametrize(
    ("day", "hours"),
    [(date(2024, 3, 31), 23), (date(2024, 10, 27), 25), (date(2024, 7, 1), 24)],
)
def test_windows_follow_daylight_saving_and_touch(day, hours):
    start, end = window(day, PARAMS)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=hours)
    assert end.astimezone(ZoneInfo("Europe/London")).hour == 7
    assert window(day + timedelta(days=1), PARAMS)[0] == end


def test_limit_keeps_the_best_with_pinned_first_and_zero_keeps_all():
    stories = [
        make_story(i, f"s{i}", "models" if i % 2 else "research", float(i)) for i in range(1, 31)
    ]
    stories.append(make_story(99, "pinned low", "policy", 0.5, status="pinned"))
    top = select(stories, DAY, replace(PARAMS, limit=5), BUILT)
    assert ids(top) == [99, 30, 28, 29, 27]
    everything = select(stories, DAY, replace(PARAMS, limit=0), BUILT)
    assert len(everything.stories) == 31
    assert everything.stories[0].id == 99


def test_select_is_deterministic_and_built_at_is_the_publication_time():
    stories = sample_stories()
    first = select(stories, DAY, PARAMS, BUILT)
    shuffled = stories[:]
    random.Random(4).shuffle(shuffled)
    second = select(shuffled, DAY, PARAMS, BUILT + timedelta(days=3, minutes=17))
    assert first == second
    assert first.built_at == datetime(2024, 12, 19, 7, 0, tzinfo=ZoneInfo("Europe/London"))
    assert first.timezone == "Europe/London"


def test_empty_day_gives_an_empty_digest():
    digest = select([], DAY, PARAMS, BUILT)
    assert digest.stories == ()
    assert groups(digest) == []


def test_section_titles_come_from_rank_sections():
    for key, title in SECTIONS.items():
        assert section_title(key) == title
    assert section_title("pinned") == PINNED_TITLE
    assert section_title("new-thing") == "New thing"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timezone": "Mars/Olympus"},
        {"publish_time": "7am"},
        {"publish_time": "24:00"},
        {"limit": -1},
    ],
)
def test_bad_params_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        DigestParams(**kwargs)
