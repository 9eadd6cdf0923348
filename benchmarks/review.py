"""Review desk benchmark: how fast the day view and a story view answer on a full database.

Usage::

    python benchmarks/review.py                       # 500 stories, 5,000 articles, 50 requests
    python benchmarks/review.py --stories 1000 --requests 100

A synthetic database is written through the store API, shaped like a busy
day: 5,000 articles from 60 outlets in 500 stories (a few big ones, a long
tail of single-outlet ones), every article with a few paragraphs of text,
every story with a cited summary, a score and an explanation. All of it falls
in one digest window, so the day view lists all 500 stories (the worst
case). Then the app is asked, in process through ``httpx.ASGITransport``
(middleware, session check, store thread and templates included; no
network), for each page ``--requests`` times after one warm-up request, by a
logged-in editor.

The target: a median under 200 ms for the day view and for a story view.
Exits non-zero if a target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.config import Settings  # noqa: E402
from pipeline.models import Entry, ExtractedPage, Source, Summary, SummarySentence  # noqa: E402
from pipeline.rank import SECTIONS  # noqa: E402
from pipeline.review import add_editor, create_app  # noqa: E402
from pipeline.store import Store  # noqa: E402
from pipeline.store.stories import members_key  # noqa: E402
from pipeline.summarize import number_sources  # noqa: E402

CONSOLE = Console(width=120)
DAY = date(2025, 6, 30)  # the window is 29 June 07:00 to 30 June 07:00 UTC
START = datetime(2025, 6, 29, 7, 30, tzinfo=UTC)
TARGET_MS = 200.0
PASSWORD = "benchmark password"
WORDS = [
    "model",
    "training",
    "inference",
    "startup",
    "funding",
    "regulation",
    "safety",
    "benchmark",
    "open",
    "weights",
    "researchers",
    "announced",
    "release",
    "company",
    "parameters",
    "chips",
    "data",
    "centre",
    "agents",
    "evaluation",
    "policy",
    "government",
    "lab",
    "paper",
    "results",
    "dataset",
    "compute",
    "partnership",
    "customers",
    "developers",
]


def _text(rng: random.Random, sentences: int) -> str:
    return " ".join(
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 24))).capitalize() + "."
        for _ in range(sentences)
    )


def _sentence(rng: random.Random, numbers: list[int]) -> SummarySentence:
    cited = sorted(rng.sample(numbers, min(len(numbers), rng.randint(1, 3))))
    return SummarySentence(_text(rng, 1), tuple(cited))


def _sizes(rng: random.Random, stories: int, articles: int) -> list[int]:
    """Story sizes summing to ``articles``: mostly small stories, a few of 30 or more."""
    sizes = [max(1, round(rng.lognormvariate(1.8, 0.8))) for _ in range(stories)]
    while sum(sizes) != articles:
        i = rng.randrange(stories)
        if sum(sizes) < articles:
            sizes[i] += 1
        elif sizes[i] > 1:
            sizes[i] -= 1
    return sizes


def build(path: str | Path, stories: int, articles: int, seed: int = 7) -> int:
    """Write the synthetic database; return the id of a story with about ten articles."""
    rng = random.Random(seed)
    store = Store.open(path)
    store.sources.sync(
        [
            Source(name=f"Outlet {i:02d}", url=f"http://127.0.0.1/{i}.xml", weight=rng.random())
            for i in range(60)
        ]
    )
    sources = [s.id or 0 for s in store.sources.all()]
    assignments: dict[int, int] = {}
    for story_id, size in enumerate(_sizes(rng, stories, articles), start=1):
        for n in range(size):
            url = f"http://127.0.0.1/s{story_id}/a{n}"
            when = START + timedelta(minutes=rng.randint(0, 23 * 60))
            title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 12))).capitalize()
            entry = Entry(url=url, guid=url, title=title, published_at=when)
            [article_id] = store.articles.insert_entries(rng.choice(sources), [(entry, url)], when)
            store.articles.set_extracted(
                article_id, ExtractedPage(text=_text(rng, rng.randint(8, 20))), None, when
            )
            assignments[article_id] = story_id
    with store.atomic():
        store.stories.assign(assignments)
        for story in store.stories.since():
            members = store.articles.get_many(story.article_ids)
            sources_cited = number_sources(members)
            numbers = [c.number for c in sources_cited]

            summary = Summary(
                members[0].title,
                tuple(_sentence(rng, numbers) for _ in range(3)),
                tuple(_sentence(rng, numbers) for _ in range(5)),
                sources_cited,
            )
            store.stories.set_generated(
                story.id,
                members_key(story.article_ids),
                summary,
                round(rng.random() * len(numbers), 4),
                f"{len(numbers)} outlets, 1 of weight ≥ 0.8; first seen 5 h ago; section "
                "Research (4.2: benchmark, paper, dataset)",
                rng.choice(list(SECTIONS)),
                rng.random() * 10,
                rng.random() < 0.9,
            )
    add_editor(store, "bench", PASSWORD)
    sized = [(abs(len(s.article_ids) - 10), s.id) for s in store.stories.since()]
    store.close()
    return min(sized)[1]


async def measure(path: str | Path, story_id: int, requests: int) -> list[tuple[str, list[float]]]:
    app = create_app(path, Settings())
    transport = httpx.ASGITransport(app=app)
    results = []
    async with httpx.AsyncClient(transport=transport, base_url="http://desk.test") as client:
        page = await client.get("/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        login = await client.post(
            "/login", data={"csrf": token.group(1), "name": "bench", "password": PASSWORD}
        )
        assert login.status_code == 303
        for label, url in (
            ("day view (all stories)", f"/day/{DAY}"),
            ("day view, status=auto", f"/day/{DAY}?status=auto"),
            (f"story view (#{story_id})", f"/story/{story_id}"),
            ("edit form", f"/story/{story_id}/edit"),
            ("search (50 hits)", "/search?q=model+training"),
        ):
            first = await client.get(url)
            assert first.status_code == 200, (url, first.status_code)
            times = []
            for _ in range(requests):
                started = time.perf_counter()
                response = await client.get(url)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200
            results.append((label, times))
    app.state.desk.close()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stories", type=int, default=500)
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument(
        "--postgres", action="store_true", help="on a throwaway PostgreSQL instead of SQLite"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        path: str | Path = Path(folder) / "review.db"
        if args.postgres:
            from tests.postgres import PostgresServer

            server = PostgresServer().start()
            stack.callback(server.stop)
            path = server.new_database()
        started = time.perf_counter()
        story_id = build(path, args.stories, args.articles)
        built_s = time.perf_counter() - started
        results = asyncio.run(measure(path, story_id, args.requests))
    table = Table(
        title=f"Review desk on {'PostgreSQL' if args.postgres else 'SQLite'}: "
        f"{args.stories} stories, {args.articles} articles in one day "
        f"(built in {built_s:.1f} s); {args.requests} requests per page"
    )
    for column in ("page", "median ms", "p95 ms", "max ms", "target", "ok"):
        table.add_column(column, justify="left" if column == "page" else "right")
    failed = False
    for label, times in results:
        median = statistics.median(times)
        p95 = statistics.quantiles(times, n=20)[-1]
        gated = label.startswith(("day view (all", "story view"))
        ok = median < TARGET_MS
        failed |= gated and not ok
        table.add_row(
            label,
            f"{median:.1f}",
            f"{p95:.1f}",
            f"{max(times):.1f}",
            f"< {TARGET_MS:.0f}" if gated else "",
            ("yes" if ok else "NO") if gated else "",
        )
    CONSOLE.print(table)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
