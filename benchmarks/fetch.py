"""Fetch benchmark: 300 feeds of 20 entries with their pages, served on 127.0.0.1.

Prints, for a cold run (everything new, page fetching and extraction included)
and a warm run (every feed answers 304): wall time, feeds/s, articles/s, peak
memory, and how much of the cold run the extraction workers kept both cores
busy. The server runs in its own process so it does not share our GIL.

    python benchmarks/fetch.py [--feeds 300] [--entries 20]

With ``--workers N [N ...]`` the cold round runs again through the task queue on a
throwaway PostgreSQL (``benchmarks/queue_round.py``), once per worker count,
beside the SQLite single-process cold round: articles/s and the share of the
machine's CPU each run used (workers + PostgreSQL + the scheduler, over wall x
cores). ``--chaos`` adds a round with 4 workers, one SIGKILLed three times
mid-round, and checks every article is stored once and every job finished.

    python benchmarks/fetch.py --feeds 1000 --entries 5 --workers 1 2 4 --chaos
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipeline import run  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.demo.server import CorpusServer  # noqa: E402
from pipeline.models import Source  # noqa: E402
from pipeline.store import Store  # noqa: E402

WORDS = [
    "model",
    "training",
    "data",
    "benchmark",
    "researchers",
    "company",
    "release",
    "open",
    "weights",
    "safety",
    "policy",
    "inference",
    "chips",
    "startup",
    "funding",
    "agents",
    "reasoning",
    "language",
    "vision",
    "robotics",
    "evaluation",
    "regulators",
    "lawsuit",
    "compute",
    "cluster",
    "parameters",
    "tokens",
    "users",
    "developers",
    "platform",
]


def _paragraph(rng: random.Random, sentences: int, own: list[str]) -> str:
    out = []
    for _ in range(sentences):
        words = rng.choices(WORDS, k=rng.randint(8, 16)) + rng.choices(own, k=rng.randint(4, 8))
        rng.shuffle(words)
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def _page(rng: random.Random, title: str) -> str:
    # words of this page's own (made-up names): pages share the common words only, so the
    # clusterer sees separate stories rather than one story of everything
    own = ["".join(rng.choices("bcdfghklmnprstvz", k=3)) + "ion" for _ in range(12)]
    paragraphs = "\n".join(
        f"<p>{_paragraph(rng, rng.randint(3, 6), own)}</p>" for _ in range(rng.randint(6, 12))
    )
    nav = "".join(f'<li><a href="/section/{w}">{w.title()}</a></li>' for w in WORDS[:12])
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta property="article:published_time" content="2024-12-18T10:00:00Z"></head><body>
<header><nav><ul>{nav}</ul></nav></header><div class="ad">Advertisement</div>
<main><article><h1>{title}</h1><p class="byline">By Staff Writer</p>{paragraphs}</article></main>
<aside><h2>Related</h2><ul>{nav}</ul></aside><section class="comments"><p>Great read!</p></section>
<footer><p>Copyright 2024 Example Media</p></footer></body></html>"""


def _feed(name: str, items: list[tuple[str, str]]) -> str:
    entries = "".join(
        f"<item><title>{t}</title><link>{{base}}{p}</link><guid>{{base}}{p}</guid>"
        f"<pubDate>Wed, 18 Dec 2024 10:{i % 60:02d}:00 GMT</pubDate>"
        f"<description>Summary of {t}.</description></item>"
        for i, (t, p) in enumerate(items)
    )
    return f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{name}</title><link>{{base}}/{name}/</link>{entries}</channel></rss>'


def build_corpus(root: Path, feeds: int, entries: int) -> None:
    rng = random.Random(7)
    for f in range(feeds):
        name = f"outlet{f:03d}"
        items = []
        for e in range(entries):
            title = f"{name} story {e}: " + " ".join(rng.choices(WORDS, k=6))
            path = f"/{name}/2024/12/18/story-{e}.html"
            (root / path.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
            (root / path.lstrip("/")).write_text(_page(rng, title), encoding="utf-8")
            items.append((title, path))
        (root / name / "feed.xml").write_text(_feed(name, items), encoding="utf-8")


def _serve(root: str, port_queue: multiprocessing.Queue[int]) -> None:
    server = CorpusServer(Path(root))
    port_queue.put(int(server.base_url.rsplit(":", 1)[1]))
    server.serve_forever()


def _peak_mb() -> float:
    """Peak resident memory of this process (the extraction workers are measured by their CPU)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--workers", type=int, nargs="+", help="worker counts on PostgreSQL")
    parser.add_argument("--chaos", action="store_true", help="4 workers, one killed 3 times")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "corpus"
        console.print(f"generating {args.feeds} feeds x {args.entries} pages ...")
        build_corpus(root, args.feeds, args.entries)
        context = multiprocessing.get_context("spawn")
        queue: multiprocessing.Queue[int] = context.Queue()
        server = context.Process(target=_serve, args=(str(root), queue), daemon=True)
        server.start()
        base = f"http://127.0.0.1:{queue.get(timeout=30)}"
        settings = replace(
            Settings(), db=str(Path(tmp) / "bench.db"), max_connections=16, max_per_host=16
        )
        store = Store.open(settings.db)
        store.sources.sync(
            [
                Source(name=f"outlet{f:03d}", url=f"{base}/outlet{f:03d}/feed.xml")
                for f in range(args.feeds)
            ]
        )
        rows = []
        if args.workers or args.chaos:
            _queue_runs(console, args, base, store, settings)
            store.close()
            server.terminate()
            return
        for label in ("cold", "warm"):
            cpu_self = _cpu()
            t0 = time.perf_counter()
            report = run.fetch_round(store, settings, force=True)
            wall = time.perf_counter() - t0
            main_cpu = _cpu() - cpu_self
            rows.append((label, wall, report, report.extract_cpu_seconds, main_cpu, _peak_mb()))
        store.close()
        server.terminate()
    table = Table(
        title=f"fetch round: {args.feeds} feeds x {args.entries} entries on 127.0.0.1 (2 extraction workers)"
    )
    for col in (
        "run",
        "wall s",
        "feeds/s",
        "articles/s",
        "new",
        "304s",
        "errors",
        "extract CPU s",
        "extract share",
        "main CPU s",
        "CPU busy",
        "peak MB",
    ):
        table.add_column(col, justify="right")
    for label, wall, report, extract_cpu, main_cpu, peak in rows:
        not_modified = sum(1 for r in report.sources if r.status == 304)
        share = extract_cpu / (wall * settings.extract_workers) if wall else 0.0
        busy = (extract_cpu + main_cpu) / (wall * os.cpu_count()) if wall else 0.0
        table.add_row(
            label,
            f"{wall:.2f}",
            f"{len(report.sources) / wall:.0f}",
            f"{report.new_articles / wall:.0f}",
            str(report.new_articles),
            str(not_modified),
            str(report.errors),
            f"{extract_cpu:.1f}",
            f"{share:.0%}",
            f"{main_cpu:.1f}",
            f"{busy:.0%}",
            f"{peak:.0f}",
        )
    console.print(table)
    console.print(
        "targets: warm run < 3 s; cold run bound by CPU on both cores, not by the network. "
        "extract share = extraction worker CPU / (wall x workers); CPU busy = (our process + "
        "workers) CPU / (wall x cores); the loopback server's own CPU comes on top"
    )


def _queue_runs(
    console: Console, args: argparse.Namespace, base: str, store: Store, settings: Settings
) -> None:
    """The SQLite single-process cold round, then the same round through N workers."""
    from queue_round import run_round

    from tests.postgres import PostgresServer

    cores = os.cpu_count() or 1
    cpu_self = _cpu()
    t0 = time.perf_counter()
    report = run.fetch_round(store, settings, force=True)
    run.update_stories(store, settings)
    wall = time.perf_counter() - t0
    sqlite_cpu = _cpu() - cpu_self + report.extract_cpu_seconds
    table = Table(
        title=f"cold round, {args.feeds} feeds x {args.entries} pages on 127.0.0.1, {cores} cores"
    )
    for col in ("store", "processes", "wall s", "articles", "articles/s", "CPU s", "CPU share"):
        table.add_column(col, justify="right")
    table.add_row(
        "SQLite",
        f"1 + {settings.extract_workers} extractors",
        f"{wall:.1f}",
        str(report.new_articles),
        f"{report.new_articles / wall:.0f}",
        f"{sqlite_cpu:.0f}",
        f"{sqlite_cpu / (wall * cores):.0%}",
    )
    server = PostgresServer().start()
    try:
        for n in args.workers or ():
            r = run_round(server, base, args.feeds, n)
            cpu = r.cpu_workers + r.cpu_postgres + r.cpu_scheduler
            table.add_row(
                "PostgreSQL",
                f"{n} worker{'s' if n > 1 else ''}",
                f"{r.wall:.1f}",
                str(r.articles),
                f"{r.articles / r.wall:.0f}",
                f"{cpu:.0f} ({r.cpu_postgres:.0f} PG)",
                f"{cpu / (r.wall * cores):.0%}",
            )
        console.print(table)
        console.print(
            "CPU share = CPU seconds of every process of the run (SQLite: this process and its "
            "extraction workers; PostgreSQL: workers, server, scheduler) / (wall x cores); "
            "the round includes dedupe, clustering and summaries; the loopback server's CPU comes on top"
        )
        if args.chaos:
            r = run_round(server, base, args.feeds, 4, kills=3)
            chaos = Table(title="chaos: 4 workers, one SIGKILLed 3 times mid-round")
            for col in (
                "wall s",
                "articles",
                "extracted",
                "duplicates",
                "unclustered",
                "kills",
                "jobs retried",
                "jobs",
            ):
                chaos.add_column(col, justify="right")
            chaos.add_row(
                f"{r.wall:.1f}",
                str(r.articles),
                str(r.extracted),
                str(r.duplicates),
                str(r.orphans),
                str(r.kills),
                str(r.retried),
                ", ".join(f"{k} {v}" for k, v in sorted(r.jobs.items())),
            )
            console.print(chaos)
            ok = (
                r.duplicates == 0
                and r.orphans == 0
                and r.extracted == r.articles
                and not (set(r.jobs) - {"succeeded", "aborted"})
            )
            console.print("chaos: every article once, no job lost: " + ("yes" if ok else "NO"))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
