"""A second opinion on borderline joins: does a report tell the same event as the story's core?

Words, names and figures cannot tell two events of one lab apart when the
later event's coverage retells the earlier one: IMO 2025 reports recount the
2024 silver, and the computer-use launch is also a "Claude 3.5 Sonnet" launch.
On the AI-news development set, the best cut of any clustering of our own
evidence reaches 0.844 B3-F1 (``benchmarks/ceiling.py``). A language model
reads what kind of event a report tells, which none of that evidence does.

When one is configured (``DIGEST_REFEREE=llm``, through the same
OpenAI-compatible endpoint as the summaries), a full text whose best story
clears the bar by less than ``ClusterParams.referee_margin`` joins only if the
model says it reports the same event as the story's core: its first three
reports, the ones that defined it. So a story grows by what matches its core,
never by drift. A "no" passes to the next candidate story. When no candidate
is left, the report opens a story of its own. An answer that fails, times out
or cannot be read counts as "yes", so the score decides, as it does without a
referee. So does every question once ``max_calls`` is spent.

With the labels as referee, the AI-news set reaches 0.963 at 0.53 questions
per article (``benchmarks/cluster.py --referee oracle``). A wrong "no" splits
a story, which costs more than a wrong "yes", which only keeps a merge. With
one answer in ten wrong (``--referee-errors 0.1``), AI news still gains
(0.899), but the full-text set falls to 0.904, below its 0.921 without a
referee. So measure a model with ``--referee llm`` before turning it on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

import httpx

from .llm import LLMParams, complete_chat, json_object
from .models import Article

LOGGER = logging.getLogger(__name__)

_SYSTEM = """You decide whether news reports tell the same event.
An event is one launch, release, paper, funding round, deal, ruling, departure, result or
incident. Reports about the same company, model family or topic are NOT the same event
unless they report the same occurrence. Stages of one deal (announced, closed) are one
event; a later release, upgrade, round, result or ruling is a different event, even when
its reports recount the earlier one.
Answer with a JSON object and nothing else: {"same_event": true} or {"same_event": false}."""

CORE_CHARS = 700  # of each core report's text in the question
NEW_CHARS = 1400  # of the new report's text


class Referee(Protocol):
    """Answers whether ``article`` reports the same event as the story whose ``core`` is given."""

    def same_event(self, article: Article, core: Sequence[Article]) -> bool: ...


@dataclass
class LLMReferee:
    """The referee a chat-completions model plays; answers are kept, failures are not.

    ``calls`` counts the questions sent in this referee's life, ``said_no``
    how many were answered "different event", and ``failures`` says what went
    wrong with the others, with the article at fault.
    """

    params: LLMParams
    client: httpx.Client | None = None
    max_calls: int = 1000
    calls: int = 0
    said_no: int = 0
    failures: list[str] = field(default_factory=list)
    _answers: dict[tuple[int, tuple[int, ...]], bool] = field(default_factory=dict)
    _spent_warned: bool = False

    def __post_init__(self) -> None:
        # A yes or a no: a short, repeatable answer.
        self.params = replace(self.params, max_tokens=20, temperature=0.0)

    def same_event(self, article: Article, core: Sequence[Article]) -> bool:
        key = question_key(article, core)
        if key in self._answers:
            return self._answers[key]
        if self.calls >= self.max_calls:
            if not self._spent_warned:
                LOGGER.warning(
                    "referee: %d questions asked, the score decides the rest", self.calls
                )
                self._spent_warned = True
            return True
        self.calls += 1
        try:
            content = complete_chat(question(article, core), self.params, self.client)
            answer = parse_answer(content)
        except (httpx.HTTPError, ValueError) as error:
            problem = f"article {article.id} ({article.url}): referee answer unusable: {error}"
            LOGGER.warning("%s (model %s at %s)", problem, self.params.model, self.params.base_url)
            self.failures.append(problem)
            return True
        self._answers[key] = answer
        self.said_no += not answer
        return answer


def question_key(article: Article, core: Sequence[Article]) -> tuple[int, tuple[int, ...]]:
    """What identifies one question: the article and the story's core, by id."""
    return article.id, tuple(member.id for member in core)


def question(article: Article, core: Sequence[Article]) -> list[dict[str, str]]:
    """The messages: the story's core reports, then the new report, each dated, with its lead.

    The dates matter: two rounds of one investment months apart read alike,
    and their dates tell them apart at once.
    """
    told = "\n\n".join(
        f"[{n}] {_dated(member)}\n{member.body[:CORE_CHARS]}" for n, member in enumerate(core, 1)
    )
    user = (
        f"The story so far (its first reports):\n\n{told}\n\n"
        f"New report:\n{_dated(article)}\n{article.body[:NEW_CHARS]}\n\n"
        "Does the new report tell the same event as the story?"
    )
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


def _dated(article: Article) -> str:
    """The report's title, after its publication day when it has one."""
    when = article.when
    return f"{when:%Y-%m-%d}: {article.title}" if when is not None else article.title


def parse_answer(content: str) -> bool:
    """``same_event`` of the model's JSON object; anything else raises ``ValueError``."""
    data = json_object(content)
    if not isinstance(data, dict) or not isinstance(data.get("same_event"), bool):
        raise ValueError('answer is not the {"same_event": true|false} object asked for')
    return bool(data["same_event"])
