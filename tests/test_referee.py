"""pipeline.referee: a language model's word on borderline joins, over a real chat server."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from pipeline import run
from pipeline.cluster import ClusterParams, assign
from pipeline.config import Settings
from pipeline.llm import LLMParams
from pipeline.models import Article, Constraints, Entry, ExtractedPage, Source
from pipeline.referee import LLMReferee, parse_answer
from pipeline.store import Store
from tests.conftest import make_article
from tests.test_join_signals import COMMON, WORDS, _text
from tests.test_llm import ChatServer, completion, serving

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ASK_ALL = replace(ClusterParams(), referee_margin=9.0)  # every join of a full text is asked


class JudgeServer(ChatServer):
    """Answers "different event" when the new report is an upgrade and the story's reports are not."""

    def answer(self, path: str, model: str) -> tuple[int, bytes]:
        if model != "judge":
            return super().answer(path, model)
        asked = self.requests[-1][1]["messages"][-1]["content"]
        story, new = asked.split("New report:")
        same = ("upgrade" in new.lower()) == ("upgrade" in story.lower())
        return 200, completion(json.dumps({"same_event": same}))


@pytest.fixture(scope="module")
def judge() -> Iterator[ChatServer]:
    yield from serving(JudgeServer())


def referee(server: ChatServer, model: str = "judge", **kw: object) -> LLMReferee:
    return LLMReferee(LLMParams(base_url=server.base_url, model=model, timeout_s=5.0), **kw)  # type: ignore[arg-type]


def two_launches(body: bool = True) -> list[Article]:
    """Three reports of a chip launch, then three of its upgrade, all retelling the same facts."""
    titles = [
        "Chipmaker launches its accelerator",
        "The new accelerator from the chipmaker is here",
        "Chipmaker unveils accelerator for datacentres",
        "Chipmaker ships an upgrade of its accelerator",
        "Accelerator upgrade arrives from the chipmaker",
        "The chipmaker's accelerator gets an upgrade",
    ]
    return [
        make_article(
            n + 1,
            f"Outlet {n}",
            title,
            text=_text("chips", n % 3) if body else "",
            published_at=T0 + timedelta(hours=n),
        )
        for n, title in enumerate(titles)
    ]


def stories(mapping: dict[int, int]) -> list[list[int]]:
    grouped: dict[int, list[int]] = {}
    for article_id, story_id in sorted(mapping.items()):
        grouped.setdefault(story_id, []).append(article_id)
    return sorted(grouped.values())


def test_a_no_keeps_a_retelling_of_the_story_in_a_story_of_its_own(judge: ChatServer) -> None:
    articles = two_launches()
    assert stories(assign(articles, [], Constraints(), 1, ASK_ALL)) == [[1, 2, 3, 4, 5, 6]]
    judge.requests.clear()
    asked = referee(judge)
    assert stories(assign(articles, [], Constraints(), 1, ASK_ALL, referee=asked)) == [
        [1, 2, 3],
        [4, 5, 6],
    ]
    # Each report after the first is asked once: the first upgrade report is turned away by
    # the launch and opens its own story, which the later ones then join.
    assert asked.calls == 5 and asked.said_no == 1
    question = judge.requests[2][1]["messages"][-1]["content"]
    story, new = question.split("New report:")
    # The story's core (its first three reports) and the new report, each with its day.
    assert all(f"2026-03-02: {a.title}" in story for a in articles[:3])
    assert f"2026-03-02: {articles[3].title}" in new and articles[3].body[:200] in new
    body = judge.requests[2][1]
    assert body["temperature"] == 0.0 and body["max_tokens"] == 20


def test_clear_joins_and_headlines_are_not_asked(judge: ChatServer) -> None:
    judge.requests.clear()
    clear = assign(two_launches(), [], Constraints(), 1, ClusterParams(), referee=referee(judge))
    assert stories(clear) == [[1, 2, 3, 4, 5, 6]]  # texts this alike clear the bar by far
    headlines = two_launches(body=False)
    assign(headlines, [], Constraints(), 1, ASK_ALL, referee=referee(judge))
    assert judge.requests == []


@pytest.mark.parametrize("model", ["http-500", "not-json", "malformed"])
def test_an_unusable_answer_lets_the_score_decide(
    judge: ChatServer, model: str, caplog: pytest.LogCaptureFixture
) -> None:
    asked = referee(judge, model)
    with caplog.at_level(logging.WARNING, logger="pipeline.referee"):
        got = assign(two_launches(), [], Constraints(), 1, ASK_ALL, referee=asked)
    assert stories(got) == [[1, 2, 3, 4, 5, 6]]
    assert len(asked.failures) == 5 and asked.said_no == 0
    assert "article 2 (https://outlet1.example/2): referee answer unusable" in asked.failures[0]
    assert "referee answer unusable" in caplog.text


def test_an_unreachable_referee_lets_the_score_decide() -> None:
    params = LLMParams(base_url="http://127.0.0.1:9/v1", model="judge", timeout_s=2.0)
    asked = LLMReferee(params)
    got = assign(two_launches(), [], Constraints(), 1, ASK_ALL, referee=asked)
    assert stories(got) == [[1, 2, 3, 4, 5, 6]] and len(asked.failures) == 5


def test_answers_are_kept_and_the_budget_hands_the_rest_to_the_score(
    judge: ChatServer, caplog: pytest.LogCaptureFixture
) -> None:
    articles = two_launches()
    asked = referee(judge)
    assert asked.same_event(articles[3], articles[:3]) is False
    assert asked.same_event(articles[3], articles[:3]) is False
    assert asked.calls == 1  # the second answer was kept
    thrifty = referee(judge, max_calls=1)
    with caplog.at_level(logging.WARNING, logger="pipeline.referee"):
        got = assign(articles, [], Constraints(), 1, ASK_ALL, referee=thrifty)
    assert stories(got) == [[1, 2, 3, 4, 5, 6]]  # one "yes", then the score alone
    assert caplog.text.count("the score decides the rest") == 1
    assert thrifty.calls == 1  # what was asked, not what the budget turned away


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"same_event": false}', False),
        ('Sure.\n```json\n{"same_event": true}\n```', True),
    ],
)
def test_the_answer_is_read_from_its_json(content: str, expected: bool) -> None:
    assert parse_answer(content) is expected


@pytest.mark.parametrize("content", ["yes", '{"same": true}', '{"same_event": "yes"}', "{oops}"])
def test_any_other_answer_is_refused(content: str) -> None:
    with pytest.raises(ValueError, match="answer is not"):
        parse_answer(content)


def test_the_pipeline_asks_the_configured_model_and_reports_it(judge: ChatServer) -> None:
    store = Store.memory()
    store.sources.sync([Source(name=f"outlet{n}", url=f"http://127.0.0.1/{n}.xml") for n in (0, 1)])
    # A launch, then its upgrade told in part with the launch's words: close, not clear.
    retold = WORDS["chips"].split()[:14] + WORDS["pirates"].split()
    texts = [_text("chips", 0), " ".join(retold + COMMON[:45] + WORDS["quake"].split() + retold)]
    titles = ["Chipmaker launches its accelerator", "Chipmaker ships an upgrade of its accelerator"]
    for n, source in enumerate(store.sources.all()):
        url = f"http://127.0.0.1/{n}/story"
        entry = Entry(url=url, guid=url, title=titles[n], published_at=T0 + timedelta(hours=n))
        [article_id] = store.articles.insert_entries(source.id, [(entry, url)], T0)
        store.articles.set_extracted(article_id, ExtractedPage(text=texts[n]), None, T0)
    assert len(store.stories.since()) == 0
    on = replace(Settings(), referee="llm", llm_base_url=judge.base_url, llm_model="judge")
    report = run.process_new(store, on)
    # Each is asked about the other's story: at placement, then on the end-of-run second look.
    assert report.details["referee asked"] == 2 and report.details["referee said no"] == 2
    assert len(store.stories.since()) == 2
    rebuilt = run.rebuild_stories(store, on)
    assert rebuilt.created == 2 and rebuilt.details["referee said no"] == 2
    assert run.rebuild_stories(store, Settings()).created == 1  # without it, the score joins them
