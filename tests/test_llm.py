"""The LLM summarizer against a real OpenAI-compatible server on 127.0.0.1.

The server answers by model name: a good answer, a hallucinated one (cites a
source that does not say it), uncited sentences, out-of-range numbers,
malformed JSON, a non-JSON body, HTTP 500, and a slow answer past the timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from pipeline.llm import LLMParams, summarize_llm
from pipeline.models import Article
from pipeline.summarize import SummaryParams, rank_facts, source_texts, verify_citations
from tests.conftest import make_article

T0 = datetime(2024, 12, 16, 10, 0, tzinfo=UTC)


def article(id: int, outlet: str, title: str, text: str, hours: float) -> Article:
    return make_article(id, outlet, title, text=text, published_at=T0 + timedelta(hours=hours))


STORY = [
    article(
        1,
        "Meridian Wire",
        "Halcyon Research releases Kestrel 2 open-weights models",
        "Halcyon Research on Monday released Kestrel 2, a family of open-weights language models "
        "with 8 billion and 34 billion parameters. The models are available under the Apache 2.0 "
        "licence, which allows commercial use. Halcyon said the larger model scores 81.2 on the "
        "MMLU benchmark, ahead of rivals of similar size.",
        0,
    ),
    article(
        2,
        "The Circuit Ledger",
        "Kestrel 2 is here",
        "Paris-based Halcyon Research has launched Kestrel 2, its second generation of open "
        "language models. The release includes base and instruction-tuned versions of both sizes. "
        "Independent testers said the 34B model runs on a single data-center GPU with 80GB of memory.",
        1,
    ),
    article(
        3,
        "Bytewise",
        "Halcyon's Kestrel 2 arrives",
        "The models are available under the Apache 2.0 licence, which allows commercial use. "
        "Developers on forums reported running a quantized version of the 34B model on a 24GB "
        "gaming card within hours of the release.",
        2,
    ),
]

GOOD = {
    "lead": [
        "Halcyon Research released Kestrel 2, a family of open-weights language models with "
        "8 billion and 34 billion parameters [1][2].",
        "The models are available under the Apache 2.0 licence, which allows commercial use. [1][3]",
    ],
    "points": [
        "Halcyon said the larger model scores 81.2 on the MMLU benchmark [1].",
        "Independent testers said the 34B model runs on a single data-center GPU with 80GB of memory [2].",
        "Developers reported running a quantized version of the 34B model on a 24GB gaming card [3].",
    ],
}
HALLUCINATED = {
    "lead": GOOD["lead"] + ["Meta agreed to buy Halcyon Research for $9 billion on Friday [2]."],
    "points": GOOD["points"]
    + ["Halcyon plans an initial public offering in Paris next spring [3]."],
}
UNCITED = {"lead": [s.split(" [")[0] for s in GOOD["lead"]], "points": ["No numbers here at all."]}
OUT_OF_RANGE = {
    "lead": GOOD["lead"],
    "points": GOOD["points"][:1]
    + ["Halcyon Research released Kestrel 2 under the Apache 2.0 licence [9]."]
    + ["Halcyon said the larger model scores 81.2 on the MMLU benchmark [1][7]."],
}


def completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "x",
            "object": "chat.completion",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
        }
    ).encode()


class ChatServer:
    """A real chat-completions server on 127.0.0.1 whose answer depends on the model name."""

    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []
        self.release = threading.Event()  # ends the slow route's wait at teardown
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append((dict(self.headers.items()), body))
                status, payload = server.answer(self.path, body["model"])
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def answer(self, path: str, model: str) -> tuple[int, bytes]:
        if path != "/v1/chat/completions":
            return 404, b"{}"
        if model == "slow":
            self.release.wait(3.0)
            return 200, completion(json.dumps(GOOD))
        if model == "http-500":
            return 500, b'{"error": {"message": "overloaded"}}'
        if model == "not-json":
            return 200, b"<html>bad gateway</html>"
        if model == "malformed":
            return 200, completion('{"lead": ["Halcyon Research released Kestrel 2 [1].", ')
        if model == "fenced":
            return 200, completion("Here you go:\n```json\n" + json.dumps(GOOD) + "\n```")
        answers = {
            "good": GOOD,
            "hallucinated": HALLUCINATED,
            "uncited": UNCITED,
            "out-of-range": OUT_OF_RANGE,
        }
        return 200, completion(json.dumps(answers[model]))


def serving(server: ChatServer) -> Iterator[ChatServer]:
    """Run ``server`` on its own thread for the time of a fixture."""
    thread = threading.Thread(target=server.httpd.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.httpd.shutdown()
    server.httpd.server_close()


@pytest.fixture(scope="module")
def chat_server() -> Iterator[ChatServer]:
    yield from serving(ChatServer())


def params(server: ChatServer, model: str, **kw: Any) -> LLMParams:
    return LLMParams(
        base_url=server.base_url, model=model, timeout_s=kw.pop("timeout_s", 5.0), **kw
    )


def test_good_answer_is_used_with_supported_citations_only(
    chat_server: ChatServer, monkeypatch
) -> None:
    monkeypatch.setenv("TEST_LLM_KEY", "sk-local-test")
    outcome = summarize_llm(STORY, params(chat_server, "good", api_key_env="TEST_LLM_KEY"))
    summary = outcome.summary
    assert summary.method == "llm" and not outcome.fell_back
    assert [s.text for s in summary.lead][1] == (
        "The models are available under the Apache 2.0 licence, which allows commercial use."
    )
    # Source 2 never gives the sizes, so its number is dropped; source 1 still carries the sentence.
    assert summary.lead[0].citations == (1,)
    assert summary.lead[1].citations == (1, 3)
    assert len(summary.points) == 3
    assert verify_citations(summary, source_texts(STORY, summary.sources)) == []
    headers, body = chat_server.requests[-1]
    assert headers["Authorization"] == "Bearer sk-local-test"
    assert body["model"] == "good" and body["response_format"] == {"type": "json_object"}
    prompt = body["messages"][1]["content"]
    assert "[1] Meridian Wire:" in prompt and "[3] Bytewise:" in prompt


def test_prompt_lists_the_ranked_key_facts_before_the_sources(chat_server: ChatServer) -> None:
    """The model reads the facts the extractive scores rank highest, most shared first."""
    summarize_llm(STORY, params(chat_server, "good", max_facts=3))
    prompt = chat_server.requests[-1][1]["messages"][1]["content"]
    facts = rank_facts(STORY, limit=3)
    listed = prompt.split("Key facts, most shared first:\n", 1)[1].split("\n\nSources:", 1)[0]
    assert listed.splitlines() == [f"{i}. {f.render()}" for i, (f, _) in enumerate(facts, 1)]
    scores = [score for _, score in facts]
    assert scores == sorted(scores, reverse=True) and len(facts) == 3
    # The release, stated by two outlets with its figures, outranks the forum anecdote.
    assert "released Kestrel 2" in facts[0][0].text
    assert all("gaming card" not in f.text for f, _ in facts[:2])


def test_prompt_of_an_enormous_story_holds_only_the_sources_read(chat_server: ChatServer) -> None:
    """A story of forty outlets sends five sources' texts, first reports first, not forty."""
    crowd = [
        article(10 + i, f"Outlet {i}", f"Kestrel 2 report {i}", STORY[i % 3].text, i / 10)
        for i in range(40)
    ]
    summarize_llm(crowd, params(chat_server, "good"), SummaryParams(max_sources=5))
    prompt = chat_server.requests[-1][1]["messages"][1]["content"]
    sources = prompt.split("\n\nSources:\n\n", 1)[1]
    listed = [line.split("]")[0] for line in sources.splitlines() if line.startswith("[")]
    assert listed == ["[1", "[2", "[3", "[4", "[5"]


def test_no_key_means_no_authorization_header(chat_server: ChatServer, monkeypatch) -> None:
    monkeypatch.delenv("UNSET_LLM_KEY", raising=False)
    summarize_llm(STORY, params(chat_server, "good", api_key_env="UNSET_LLM_KEY"))
    assert "Authorization" not in chat_server.requests[-1][0]


def test_answer_wrapped_in_a_code_fence_is_read(chat_server: ChatServer) -> None:
    assert summarize_llm(STORY, params(chat_server, "fenced")).summary.method == "llm"


def test_hallucinated_sentences_are_dropped(chat_server: ChatServer) -> None:
    outcome = summarize_llm(STORY, params(chat_server, "hallucinated"))
    texts = " ".join(s.text for s in outcome.summary.sentences)
    assert outcome.summary.method == "llm"
    assert "Meta" not in texts and "public offering" not in texts
    assert any("lead[2] [2]: source does not state it" in p for p in outcome.problems)
    assert any("points[3] [3]: source does not state it" in p for p in outcome.problems)


def test_uncited_answer_falls_back_to_the_extractive_summary(chat_server: ChatServer) -> None:
    outcome = summarize_llm(STORY, params(chat_server, "uncited"))
    assert outcome.fell_back and outcome.summary.method == "extractive"
    assert outcome.summary.sentences and all(s.citations for s in outcome.summary.sentences)
    assert any("no citation" in p for p in outcome.problems)
    assert outcome.problems[-1].startswith("too little supported text: 0 of")


def test_out_of_range_numbers_are_dropped(chat_server: ChatServer) -> None:
    outcome = summarize_llm(STORY, params(chat_server, "out-of-range"))
    summary = outcome.summary
    assert summary.method == "llm"
    assert all(n in (1, 2, 3) for s in summary.sentences for n in s.citations)
    assert not any(
        "[9]" in s.render() or s.text.endswith("under the Apache 2.0 licence.")
        for s in summary.points
    )
    assert summary.points[-1].citations == (1,)  # [1][7] keeps only [1]
    assert any("[9]: no such source" in p for p in outcome.problems)


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("malformed", "answer is not valid JSON"),
        ("not-json", "not a chat completion"),
        ("http-500", "500 Internal Server Error"),
    ],
)
def test_broken_answers_fall_back(chat_server: ChatServer, model: str, reason: str) -> None:
    outcome = summarize_llm(STORY, params(chat_server, model))
    assert outcome.fell_back
    assert outcome.summary.sentences and all(s.citations for s in outcome.summary.sentences)
    assert reason in outcome.problems[0]


def test_slow_answer_times_out_and_falls_back(chat_server: ChatServer) -> None:
    start = time.monotonic()
    outcome = summarize_llm(STORY, params(chat_server, "slow", timeout_s=0.3))
    assert time.monotonic() - start < 2.0
    assert outcome.fell_back and "timed out" in outcome.problems[0]


def test_unreachable_server_falls_back() -> None:
    dead = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    port = dead.server_address[1]
    dead.server_close()  # nothing listens on this port any more
    outcome = summarize_llm(STORY, LLMParams(f"http://127.0.0.1:{port}/v1", "good", timeout_s=1.0))
    assert outcome.fell_back and outcome.problems[0].startswith("LLM answer unusable")
