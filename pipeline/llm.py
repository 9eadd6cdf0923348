"""Optional abstractive summaries from an OpenAI-compatible chat-completions endpoint.

Speaks ``POST {base_url}/chat/completions``, which OpenAI, vLLM, llama.cpp's
server and Ollama all serve. The prompt gives the story's key facts, ranked
by the same shared-content scores the extractive summary picks by
(``summarize.rank_facts``: what several sources state, names and figures
first), then the numbered sources (the same numbering as the extractive
summary), and asks for JSON: a lead of two or three sentences opening with
who did what, and three to six key points, each sentence ending in the
numbers of the sources that state it.

A model can invent, so nothing it writes is trusted: the answer is split into
sentences, and each sentence keeps only the citation numbers that exist and
whose source supports it (``summarize.verify_citations``, the same check the
extractive path passes). A sentence left with no citation is dropped, as is
one that cannot stand alone (``sentences.reject_reason``). When the request
fails, times out, answers something other than the JSON asked for, or too few
supported sentences remain, the extractive summary is used instead, and the
reasons are returned with it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from .models import Article, Citation, Summary, SummarySentence
from .sections import label_points
from .sentences import reject_reason, split_sentences
from .summarize import (
    SummaryParams,
    rank_facts,
    source_texts,
    sources_read,
    summarize,
    verify_citations,
)

LOGGER = logging.getLogger(__name__)

_SYSTEM = """You summarize one news story for a daily digest about AI.
Use only facts stated in the numbered sources below; add nothing else.
Answer with a JSON object and nothing else: {"lead": [...], "points": [...]}.
"lead" holds 2 or 3 sentences telling the story: the first says who did what (and when,
with the key figure where there is one). "points" holds 3 to 6 further facts, most important
first, each adding something new. The key facts are listed most shared first: cover them in
that order, and leave out teasers and opinion.
End every sentence with the numbers of all sources that state it, like [1] or [2][3].
Every sentence must stand on its own: name who did what, and do not start with
"He", "She", "It", "They", "This", "But" or "However"."""

_MARKERS = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_MARKER_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d+(?:\s*,\s*\d+)*\])+)")


@dataclass(frozen=True, slots=True)
class LLMParams:
    """Where the model is and how long to wait for it.

    ``api_key_env`` names the environment variable holding the API key (the
    key itself never goes in settings files); empty or unset sends no key,
    which local servers accept.
    """

    base_url: str
    model: str
    api_key_env: str = ""
    timeout_s: float = 60.0
    max_tokens: int = 800
    temperature: float = 0.2
    json_mode: bool = True  # ask for response_format json_object
    max_source_chars: int = 3000  # of each source's text in the prompt
    max_facts: int = 10  # ranked key facts listed in the prompt
    min_sentences: int = 3  # supported sentences needed to use the answer


@dataclass(frozen=True, slots=True)
class LLMOutcome:
    """The summary used (the model's, or the extractive one) and what was wrong."""

    summary: Summary
    problems: tuple[str, ...]

    @property
    def fell_back(self) -> bool:
        return self.summary.method != "llm"


def summarize_llm(
    members: Sequence[Article],
    params: LLMParams,
    summary_params: SummaryParams | None = None,
    *,
    client: httpx.Client | None = None,
) -> LLMOutcome:
    """A model-written summary whose every sentence is cited and supported, else the extractive one."""
    summary_params = summary_params or SummaryParams()
    extractive = summarize(members, summary_params)
    read = sources_read(members, extractive.sources, summary_params.max_sources)
    texts = source_texts(members, read)
    try:
        facts = [fact for fact, _ in rank_facts(members, summary_params, params.max_facts)]
        prompt = _messages(extractive.headline, facts, read, texts, params)
        content = complete_chat(prompt, params, client)
        lead, points = _parse(content)
    except (httpx.HTTPError, ValueError) as error:
        reason = f"LLM answer unusable: {error}"
        LOGGER.warning("%s (model %s at %s)", reason, params.model, params.base_url)
        return LLMOutcome(extractive, (reason,))
    draft = Summary(extractive.headline, lead, points, extractive.sources, method="llm")
    checked, problems = _keep_supported(draft, texts, summary_params)
    if len(checked.sentences) < params.min_sentences:
        kept = len(checked.sentences)
        reason = f"too little supported text: {kept} of {len(draft.sentences)} sentences kept"
        LOGGER.warning("%s (model %s)", reason, params.model)
        return LLMOutcome(extractive, (*problems, reason))
    return LLMOutcome(checked, tuple(problems))


def _messages(
    headline: str,
    facts: Sequence[SummarySentence],
    sources: Sequence[Citation],
    texts: dict[int, str],
    params: LLMParams,
) -> list[dict[str, str]]:
    """The prompt: the story, its ranked facts and the text of each source read."""
    ranked = "\n".join(f"{i}. {fact.render()}" for i, fact in enumerate(facts, start=1))
    told = "\n\n".join(
        f"[{c.number}] {c.outlet}: {c.title}\n{texts[c.number][: params.max_source_chars]}"
        for c in sources
    )
    user = f"Story: {headline}\n\nKey facts, most shared first:\n{ranked}\n\nSources:\n\n{told}"
    return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]


def complete_chat(
    messages: list[dict[str, str]], params: LLMParams, client: httpx.Client | None
) -> str:
    """POST the chat completion and return the message text; raises on any failure."""
    headers = {"Content-Type": "application/json"}
    key = os.environ.get(params.api_key_env, "") if params.api_key_env else ""
    if key:
        headers["Authorization"] = f"Bearer {key}"
    body: dict[str, Any] = {
        "model": params.model,
        "messages": messages,
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
    }
    if params.json_mode:
        body["response_format"] = {"type": "json_object"}
    url = params.base_url.rstrip("/") + "/chat/completions"
    if client is None:
        with httpx.Client(timeout=params.timeout_s) as own:
            response = own.post(url, json=body, headers=headers)
    else:
        response = client.post(url, json=body, headers=headers, timeout=params.timeout_s)
    response.raise_for_status()
    try:
        content = response.json()["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a chat completion ({error!r})") from error
    if not isinstance(content, str):
        raise ValueError("the completion has no text")
    return content


def json_object(content: str) -> Any:
    """The JSON object in a model's answer, even wrapped in prose or a code fence; else None.

    Raises ``ValueError`` when the braces hold no valid JSON.
    """
    start, end = content.find("{"), content.rfind("}")
    try:
        return json.loads(content[start : end + 1]) if start >= 0 else None
    except json.JSONDecodeError as error:
        raise ValueError(f"answer is not valid JSON ({error.msg})") from error


def _parse(content: str) -> tuple[tuple[SummarySentence, ...], tuple[SummarySentence, ...]]:
    """The lead and points of the model's JSON, as sentences with their citation numbers."""
    data = json_object(content)
    if not isinstance(data, dict) or not isinstance(data.get("lead"), list | str):
        raise ValueError('answer is not the {"lead": [...], "points": [...]} object asked for')

    def sentences(items: Any) -> tuple[SummarySentence, ...]:
        texts = [items] if isinstance(items, str) else [i for i in items if isinstance(i, str)]
        # "Text. [1] Next." → "Text [1]. Next.": a marker belongs to the sentence before it.
        texts = [_MARKER_AFTER_STOP.sub(r"\2\1", t) for t in texts]
        return tuple(_cited(s) for text in texts for s in split_sentences(text))

    return sentences(data["lead"]), sentences(data.get("points") or [])


def _cited(sentence: str) -> SummarySentence:
    """Split "Text [1][3]." into the text and its citation numbers."""
    numbers = [int(n) for group in _MARKERS.findall(sentence) for n in group.split(",")]
    text = _MARKERS.sub("", sentence).strip()
    text = re.sub(r"\s+([.!?,;:])", r"\1", text)
    return SummarySentence(text, tuple(dict.fromkeys(numbers)))


def _keep_supported(
    draft: Summary, texts: dict[int, str], summary_params: SummaryParams
) -> tuple[Summary, list[str]]:
    """Drop unsupported citation numbers, then sentences left uncited or not standalone;
    a big story's kept points get their section labels as the extractive ones do."""
    problems = verify_citations(draft, texts, summary_params.support_threshold)
    bad = {(p.part, p.index, p.number) for p in problems}
    notes = [str(p) for p in problems]

    def keep(part: str, sentences: tuple[SummarySentence, ...]) -> tuple[SummarySentence, ...]:
        kept = []
        for index, sentence in enumerate(sentences):
            numbers = tuple(n for n in sentence.citations if (part, index, n) not in bad)
            reason = reject_reason(sentence.text)
            if reason is not None:
                notes.append(f"{part}[{index}]: dropped, {reason}")
            elif numbers:
                kept.append(SummarySentence(sentence.text, numbers))
        return tuple(kept)

    lead, points = keep("lead", draft.lead), keep("points", draft.points)
    if not lead and points:
        lead, points = points[:1], points[1:]
    sections = label_points(points, len(draft.sources), summary_params.section_sources)
    return Summary(draft.headline, lead, points, draft.sources, "llm", sections), notes
