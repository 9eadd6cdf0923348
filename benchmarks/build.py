"""Digest build benchmark: one big day and a year of archive, time and peak memory.

Usage::

    python benchmarks/build.py                 # the targets: a 2,000-article day, a 365-day year
    python benchmarks/build.py --days 30       # a shorter archive

Input is synthetic but shaped like the real thing: ``RankedStory`` values
with cited ``Summary`` objects (3 lead sentences, up to 6 points, one source
per outlet, long titles and URLs), sized like a busy news day (a few big
stories, a long tail of single-outlet ones). Cases:

- day, all stories: 2,000 articles in 300 stories, ``select`` with limit 0
  (the audit mode: every story published) and ``render_all`` (Markdown,
  JSON, and a site with 300 story pages);
- day, 15 stories: the same day with the default limit;
- year, cold: 365 daily JSON digests already in ``digests/``, then the
  ``render_all`` of the last day, which reads them all and builds the whole
  site into an empty folder: a permanent page per story (three stories a day
  come back the next day as updates), a redirect per old day-and-story link,
  and the topic pages (every story about 2 to 5 of 400 topics, a few common,
  most rare) with the topics index and ``graph.json``;
- year, warm: the same again over the existing site (what a daily build
  does: only changed files are rewritten).

Times are wall-clock without tracing; peak memory is measured in a second,
traced run (tracemalloc: Python allocations) of the same case.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.digest import DigestParams, select  # noqa: E402
from pipeline.models import (  # noqa: E402
    UPDATE,
    Citation,
    Digest,
    RankedStory,
    Summary,
    SummarySentence,
    Topic,
    Topics,
)
from pipeline.rank import SECTIONS  # noqa: E402
from pipeline.render import SiteParams, jsonout, render_all  # noqa: E402

CONSOLE = Console(width=140)
DAY = date(2025, 6, 30)
PARAMS = DigestParams(timezone="Europe/London", publish_time="07:00", limit=15)
SITE = SiteParams(base_url="https://news.example.org/digest/")
OUTLETS = [
    f"Outlet {name}"
    for name in [
        "Aurora",
        "Beacon",
        "Cobalt",
        "Delta",
        "Ember",
        "Fjord",
        "Gazette",
        "Harbor",
        "Ion",
        "Juniper",
    ]
]
WORDS = [
    "model",
    "release",
    "open",
    "weights",
    "benchmark",
    "safety",
    "policy",
    "regulators",
    "funding",
    "startup",
    "chips",
    "inference",
    "training",
    "dataset",
    "agents",
    "evaluation",
    "researchers",
    "announced",
    "compute",
    "license",
]


TOPICS = Topics(
    {
        f"topic-{i}": Topic(f"topic-{i}", f"Topic {i}", ("organisation", "model", "concept")[i % 3])
        for i in range(400)
    }
)


def _sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def _story(rng: random.Random, story_id: int, articles: int, start: datetime) -> RankedStory:
    """One story of ``articles`` members from up to 8 distinct outlets, cited like the real summaries."""
    outlets = rng.sample(OUTLETS, min(len(OUTLETS) - 2, max(1, articles // 2 + rng.randint(0, 2))))
    times = tuple(start + timedelta(minutes=rng.randint(0, 24 * 60 - 1)) for _ in range(articles))
    sources = tuple(
        Citation(
            number=n,
            outlet=outlet,
            title=_sentence(rng, rng.randint(6, 14))[:-1],
            url=f"https://{outlet.split()[1].lower()}.example/news/{story_id}/{n}-{rng.getrandbits(40):x}",
            published_at=min(times),
            article_ids=(story_id * 1000 + n,),
        )
        for n, outlet in enumerate(outlets, start=1)
    )
    numbers = [c.number for c in sources]

    def cited() -> SummarySentence:
        chosen = sorted(rng.sample(numbers, rng.randint(1, min(3, len(numbers)))))
        return SummarySentence(_sentence(rng, rng.randint(14, 32)), tuple(chosen))

    headline = _sentence(rng, rng.randint(7, 12))[:-1]
    summary = Summary(
        headline=headline,
        lead=tuple(cited() for _ in range(3 if len(sources) > 1 else 2)),
        points=tuple(cited() for _ in range(min(6, 1 + len(sources)))),
        sources=sources,
    )
    status = rng.choices(["auto", "approved", "pinned", "rejected"], [90, 6, 1, 3])[0]
    return RankedStory(
        id=story_id,
        headline=headline,
        section=rng.choice(list(SECTIONS)),
        score=round(rng.uniform(0.1, 12.0) * len(sources), 4),
        explanation=f"{len(sources)} outlets, 2 of weight ≥ 0.8; first seen 9 h ago",
        status=status,
        summary=summary,
        outlets=len(sources),
        article_urls=tuple(f"https://wire.example/{story_id}/{i}" for i in range(articles)),
        article_times=times,
        first_seen=min(times),
        last_seen=max(times),
        included=rng.random() > 0.05,
        topics=tuple(
            dict.fromkeys(f"topic-{min(399, int(rng.paretovariate(0.8)) - 1)}" for _ in range(5))
        )[: rng.randint(2, 5)],
        url=f"stories/{story_id}-{headline.lower().replace(' ', '-')[:40]}.html",
    )


def day_of_stories(day: date, articles: int, stories: int, seed: int) -> list[RankedStory]:
    """``stories`` stories holding ``articles`` articles in all: a heavy head and a long tail."""
    rng = random.Random(seed)
    sizes = [1] * stories
    for _ in range(articles - stories):
        sizes[min(int(rng.paretovariate(1.2)) - 1, stories - 1)] += 1
    start = datetime.combine(day - timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(
        hours=7
    )
    return [_story(rng, seed * 10_000 + i, size, start) for i, size in enumerate(sizes)]


def _measure(run: Callable[[], int]) -> tuple[float, float, int]:
    """(seconds, peak MiB of a second, traced run, files from the timed run)."""
    started = time.perf_counter()
    files = run()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return seconds, peak, files


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--stories", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="digest-build-bench-"))
    rows: list[tuple[str, int, int, float, float, float]] = []
    try:
        candidates = day_of_stories(DAY, args.articles, args.stories, seed=1)
        built_at = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC) + timedelta(hours=7)

        def day(limit: int, name: str) -> Callable[[], int]:
            def run() -> int:
                shutil.rmtree(work / name, ignore_errors=True)
                digest = select(candidates, DAY, replace(PARAMS, limit=limit), built_at)
                return len(
                    render_all(
                        digest, work / name / "digests", work / name / "site", SITE, topics=TOPICS
                    )
                )

            return run

        seconds, peak, files = _measure(day(0, "all"))
        stories = len(select(candidates, DAY, replace(PARAMS, limit=0), built_at).stories)
        rows.append(
            (f"day: {args.articles} articles, every story", stories, files, seconds, peak, 5.0)
        )
        seconds, peak, files = _measure(day(15, "top"))
        rows.append((f"day: {args.articles} articles, limit 15", 15, files, seconds, peak, 5.0))

        year = work / "year"
        last = _write_year(year / "digests", args.days)

        def cold() -> int:
            shutil.rmtree(year / "site", ignore_errors=True)
            return len(render_all(last, year / "digests", year / "site", SITE, topics=TOPICS))

        def warm() -> int:
            return len(render_all(last, year / "digests", year / "site", SITE, topics=TOPICS))

        stories = sum(
            len(jsonout.read(p).stories) for p in sorted((year / "digests").glob("*.json"))
        )
        seconds, peak, files = _measure(cold)
        rows.append((f"year: {args.days} digests, empty site", stories, files, seconds, peak, 60.0))
        seconds, peak, files = _measure(warm)
        rows.append(
            (f"year: {args.days} digests, site up to date", stories, files, seconds, peak, 60.0)
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    table = Table(title="Digest build: select + Markdown + JSON + site (+ feed, sitemap)")
    for column in ("case", "stories", "files", "time", "peak memory", "target", ""):
        table.add_column(column, justify="left" if column == "case" else "right")
    for case, stories, files, seconds, peak, target in rows:
        ok = "[green]ok[/green]" if seconds < target else "[red]slow[/red]"
        table.add_row(
            case,
            f"{stories:,}",
            f"{files:,}",
            f"{seconds:.2f} s",
            f"{peak:.0f} MiB",
            f"< {target:g} s",
            ok,
        )
    CONSOLE.print(table)


def _write_year(folder: Path, days: int) -> Digest:
    """A year of published digests (15 stories a day from 40 candidates), as daily builds leave them."""
    last: Digest | None = None
    for offset in range(days):
        day = DAY - timedelta(days=days - 1 - offset)
        candidates = day_of_stories(day, 120, 40, seed=offset + 2)
        built_at = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=7)
        if last is not None:  # three of yesterday's stories come back with a new source
            candidates += [_update(s, day, built_at) for s in last.stories[:3]]
        last = select(candidates, day, PARAMS, built_at)
        jsonout.write(last, folder)
    assert last is not None
    return last


def _update(story: RankedStory, day: date, built_at: datetime) -> RankedStory:
    """The story as the next day carries it: an update whose first source is new."""
    lead = story.summary.lead[0]
    return replace(
        story,
        edition=UPDATE,
        first_published=day - timedelta(days=1),
        new_sources=(1,),
        whats_new=(SummarySentence(lead.text, (1,)),),
        article_times=(built_at - timedelta(hours=3),),
    )


if __name__ == "__main__":
    main()
