"""The orchestrator: the only place where stages are chained, read top to bottom.

Follow one article from feed to story by reading ``refresh_source`` (fetch →
parse → canonicalize → store, with the source's health), ``fetch_pages``
(page → extract in a worker process → store) and ``process_new`` (fingerprint
→ dedupe → cluster); then ``publish`` (summaries, topics, the day's digest,
re-exported here) and ``run_all``, which chains it all. Every step is
incremental and idempotent: it works on what is new since it last ran, and
running it twice changes nothing.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import os
import select
import threading
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from . import (
    cluster,
    dedupe,
    extract,
    feeds,
    logs,
    params,
    urls,
)
from .cluster_keep import KeptIndex
from .config import Settings, load_sources
from .fetch import Fetcher, next_fetch_at
from .models import (
    Article,
    Constraints,
    ExtractedPage,
    FetchResult,
    Source,
    StageReport,
)
from .publish import BuildReport as BuildReport
from .publish import build_day as build_day
from .publish import build_every_day as build_every_day
from .publish import export_notes as export_notes
from .publish import link_entities as link_entities
from .publish import send_day as send_day
from .publish import split_branches as split_branches
from .publish import summarize_stories as summarize_stories
from .publish import summarize_story as summarize_story
from .referee import LLMReferee
from .store import Store, locks

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SourceReport:
    """What one source's refresh did: for the progress bar and the summary table."""

    source: Source
    status: int | None
    article_ids: tuple[int, ...]  # the new articles it stored
    error: str | None
    problems: tuple[str, ...] = ()
    elapsed_ms: int = 0

    @property
    def new_articles(self) -> int:
        return len(self.article_ids)


@dataclass(slots=True)
class RoundReport:
    """A whole fetch round: per-source results plus page extraction counts."""

    sources: list[SourceReport] = field(default_factory=list)
    pages_fetched: int = 0
    pages_extracted: int = 0
    pages_failed: int = 0
    pages_refused: int = 0
    merged_by_canonical: int = 0
    extract_cpu_seconds: float = 0.0  # CPU time spent in extraction, summed over workers

    @property
    def new_articles(self) -> int:
        return sum(r.new_articles for r in self.sources)

    @property
    def errors(self) -> int:
        return sum(1 for r in self.sources if r.error)


def _now() -> datetime:
    return datetime.now(UTC)


async def refresh_source(
    store: Store, fetcher: Fetcher, source: Source, settings: Settings
) -> SourceReport:
    """Fetch one feed and store its new entries, recording the source's health.

    A 304 costs no parsing. A failure is data: it goes on the source row and in
    the fetch log, and the round goes on with the next source.
    """
    started = _now()
    assert source.id is not None
    result = await fetcher.get(
        source.url,
        max_bytes=settings.max_feed_bytes,
        etag=source.etag,
        last_modified=source.last_modified,
    )
    now = _now()
    problems: tuple[str, ...] = ()
    new_ids: list[int] = []
    if result.not_modified or result.ok:
        ttl = None
        if result.ok:
            parsed = feeds.parse(result)
            problems, ttl = parsed.problems, parsed.ttl_minutes
            base = result.final_url or source.url
            entries = [(e, urls.canonicalize(e.url, base)) for e in parsed.entries]
        healthy = replace(
            source,
            url=result.permanent_redirect or source.url,
            etag=result.etag,
            last_modified=result.last_modified,
            last_status=result.status,
            last_fetch_at=now,
            consecutive_failures=0,
            last_error="; ".join(problems[:3]) or None,
        )
        updated = replace(healthy, next_fetch_at=next_fetch_at(healthy, result, now, settings, ttl))
    else:
        failing = replace(
            source,
            last_status=result.status,
            last_fetch_at=now,
            consecutive_failures=source.consecutive_failures + 1,
            last_error=result.error or f"HTTP {result.status}",
        )
        updated = replace(failing, next_fetch_at=next_fetch_at(failing, result, now, settings))
    with store.atomic():
        if result.ok:
            new_ids = store.articles.insert_entries(
                source.id,
                entries,
                now,
                urls.canonicalize(source.site_url) if source.site_url else "",
            )
        store.sources.record_health(updated)
        store.sources.log_fetch(
            source.id,
            source.url,
            "feed",
            started,
            result.status,
            len(new_ids),
            len(result.body),
            result.elapsed_ms,
            result.attempts,
            result.error,
        )
    outcome = "ok" if result.ok else "not_modified" if result.not_modified else "failed"
    fields = {
        "source_id": source.id,
        "source": source.name,
        "url": source.url,
        "status": result.status,
        "new": len(new_ids),
        "ms": result.elapsed_ms,
        "outcome": outcome,
    }
    if outcome == "failed":
        fields["error"] = updated.last_error
    LOGGER.log(logging.WARNING if outcome == "failed" else logging.INFO, "feed", extra=fields)
    return SourceReport(
        source=updated,
        status=result.status,
        article_ids=tuple(new_ids),
        error=None if (result.ok or result.not_modified) else updated.last_error,
        problems=problems,
        elapsed_ms=result.elapsed_ms,
    )


async def fetch_pages(
    store: Store,
    fetcher: Fetcher,
    settings: Settings,
    executor: Executor,
    report: RoundReport,
    in_flight: asyncio.Semaphore,
    feed_urls: dict[int, str],
    articles: list[Article] | None = None,
) -> None:
    """Fetch and extract the pages of articles not extracted yet.

    Pages are fetched under the same politeness rules as feeds; extraction is
    CPU-bound and runs in worker processes so it never blocks the event loop.
    When a page cannot be fetched or yields no text the feed's summary stays
    and the article is still kept. ``in_flight`` bounds the pages held in
    memory between fetch and extraction, over all concurrent callers;
    ``feed_urls`` (source id → feed URL) decides which hosts count as the feed's own.
    """
    pending = store.articles.needing_extraction() if articles is None else articles

    async def one(article: Article) -> None:
        async with in_flight:
            await _one(article)

    async def _one(article: Article) -> None:
        started = _now()
        feed_url = feed_urls.get(article.source_id, "")
        page = None
        result: FetchResult | None = None
        error: str | None = None
        canonical: str | None = None
        if not settings.fetch_pages:
            error = "page fetching disabled"
        elif not await fetcher.page_allowed(article.url, feed_url):
            error = "refused: page host is private and not the feed's own host"
            report.pages_refused += 1
        else:
            # feed_url makes every redirect hop pass the same private-network rule
            result = await fetcher.get(
                article.url, max_bytes=settings.max_page_bytes, feed_url=feed_url
            )
            report.pages_fetched += 1
            if not result.ok:
                error = result.error or f"HTTP {result.status}"
            else:
                page, cpu = await _in_worker(
                    executor,
                    _extract_timed,
                    result.body,
                    result.final_url or article.url,
                    result.headers.get("content-type"),
                )
                report.extract_cpu_seconds += cpu
                if page is None:
                    error = "no extractable text"
                else:
                    canonical = urls.preferred(result.final_url or article.url, page.canonical_url)
        if page is not None:
            report.pages_extracted += 1
        elif settings.fetch_pages:
            report.pages_failed += 1
        with store.atomic():
            if result is not None:
                store.sources.log_fetch(
                    article.source_id,
                    article.url,
                    "page",
                    started,
                    result.status,
                    0,
                    len(result.body),
                    result.elapsed_ms,
                    result.attempts,
                    result.error,
                )
            kept = store.articles.set_extracted(article.id, page, error, _now(), canonical)
        if kept is None:
            report.merged_by_canonical += 1

    await asyncio.gather(*(one(a) for a in pending))


async def _in_worker(executor: Executor, func: Callable[..., T], *args: Any) -> T:
    """Run ``func`` in the process pool without blocking the event loop.

    ``submit`` itself can block: the first call forks the workers (and imports
    trafilatura in them), and each call writes to a pipe. Doing it from a
    thread keeps feeds and pages flowing meanwhile.
    """
    loop = asyncio.get_running_loop()
    future = await loop.run_in_executor(None, functools.partial(executor.submit, func, *args))
    return await asyncio.wrap_future(future)


def _extract_timed(
    body: bytes, url: str, content_type: str | None
) -> tuple[ExtractedPage | None, float]:
    """Extract in a worker process and say how much CPU it took (for the round's report)."""
    started = time.process_time()
    page = extract.extract(body, url, content_type)
    return page, time.process_time() - started


def make_executor(settings: Settings) -> ProcessPoolExecutor:
    """Worker processes for extraction, started from a clean forkserver (no inherited threads).

    Workers start on first use, so a round with nothing new pays nothing.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["pipeline.run"])
    return ProcessPoolExecutor(
        max_workers=settings.extract_workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(), settings.log_level, settings.log_format),
    )


def _start_worker(orchestrator: int, log_level: str, log_format: str) -> None:
    """Set up an extraction worker: end with the orchestrator, log like it (one line per event)."""
    _exit_with(orchestrator)
    logs.configure(log_level, log_format)


def _exit_with(pid: int) -> None:
    """End this process as soon as process ``pid`` ends, however it ends.

    A killed orchestrator (SIGKILL, OOM) closes nothing a worker waits on: the
    worker blocks on its task queue, and the forkserver, whose liveness pipe
    every worker holds open, waits for the workers. A pidfd of the orchestrator
    turns readable when it exits; a thread waits for that. Without pidfds (not
    Linux, or a kernel older than 5.3) the supervisor cleans up instead.
    """
    try:
        handle = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        return

    def wait() -> None:
        select.select([handle], [], [])
        os._exit(1)

    threading.Thread(target=wait, name=f"exit-with-{pid}", daemon=True).start()


async def fetch_round_async(
    store: Store,
    settings: Settings,
    force: bool = False,
    on_source: Callable[[SourceReport], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RoundReport:
    """Refresh every due source concurrently; each source's new pages go straight on to
    fetching and extraction, so the extraction workers start while other feeds still load.
    """
    report = RoundReport()
    due = store.sources.due(_now(), force=force)
    if on_start is not None:
        on_start(len(due))
    in_flight = asyncio.Semaphore(settings.max_connections + 2 * settings.extract_workers)
    feed_urls = {s.id: s.url for s in store.sources.all() if s.id is not None}
    with make_executor(settings) as executor:
        async with Fetcher(settings) as fetcher:

            async def one(source: Source) -> None:
                source_report = await refresh_source(store, fetcher, source, settings)
                report.sources.append(source_report)
                if on_source is not None:
                    on_source(source_report)
                if source_report.article_ids:
                    new = store.articles.get_many(source_report.article_ids)
                    feed_urls[source.id or 0] = source_report.source.url  # after a 301
                    await fetch_pages(
                        store, fetcher, settings, executor, report, in_flight, feed_urls, new
                    )

            await asyncio.gather(*(one(s) for s in due))
            # pages left over by an interrupted earlier round
            await fetch_pages(store, fetcher, settings, executor, report, in_flight, feed_urls)
    return report


def fetch_round(
    store: Store,
    settings: Settings,
    force: bool = False,
    on_source: Callable[[SourceReport], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RoundReport:
    """Synchronous entry point of one fetch round (what ``digest fetch`` runs)."""
    return asyncio.run(fetch_round_async(store, settings, force, on_source, on_start))


def process_new(store: Store, settings: Settings, kept: KeptIndex | None = None) -> StageReport:
    """Fingerprint new articles, link duplicates, and put unclustered articles into stories.

    A long-lived caller (the daemon, a worker) passes one ``kept`` index to
    every call: it is seeded with the window's stories once and then only
    places what is new, until the store's clustering epoch says someone else
    changed stories (see ``pipeline.cluster_keep``). Without it, each call
    seeds a fresh index with the whole window.
    Online clustering depends on arrival order, so on a shared PostgreSQL store
    one process at a time runs this (an advisory lock; the others wait).
    """
    with store.one_at_a_time(locks.CLUSTER):
        return _process_new(store, settings, kept)


def _process_new(store: Store, settings: Settings, kept: KeptIndex | None) -> StageReport:
    fresh = store.articles.undeduplicated()
    hashes = [(a.id, *dedupe.fingerprint(a)) for a in fresh]
    store.articles.set_hashes(hashes)
    window = timedelta(hours=settings.cluster_window_hours)
    links = []
    if fresh:
        earliest = min(a.when or _now() for a in fresh)
        candidates = store.articles.since(earliest - window)
        fresh_ids = {a.id for a in fresh}
        links = dedupe.find_duplicates(
            [a for a in candidates if a.id in fresh_ids],
            [a for a in candidates if a.id not in fresh_ids],
        )
        store.articles.set_duplicates(links)
    unclustered = store.articles.unclustered()
    assignments: dict[int, int] = {}
    first_new_id = store.stories.next_id()
    referee = None
    if unclustered:
        epoch = store.stories.epoch()

        def recent() -> tuple[list[Article], Constraints]:
            earliest = min(a.when or _now() for a in unclustered)
            members = store.stories.memberships_since(earliest - window)
            return store.articles.get_many(members), store.decisions.constraints()

        cluster_params = params.for_cluster(settings)
        index = kept or KeptIndex()  # a one-off run seeds one for itself
        referee = params.for_referee(settings)
        assignments = index.assign(
            unclustered, epoch, first_new_id, cluster_params, recent, referee
        )
        index.stored(store.stories.assign(assignments))
        if index.spread is not None:  # what explanations weigh terms by (pipeline.explain)
            store.spread.save(index.spread.heavy(), index.spread.open_stories, _now())
    asked, failed = _refereeing(referee)
    return StageReport(
        stage="cluster",
        processed=len(unclustered),
        created=len({s for s in assignments.values() if s >= first_new_id}),
        details={"duplicates": len(links), "fingerprinted": len(hashes), **asked},
        errors=failed,
    )


def _refereeing(referee: LLMReferee | None) -> tuple[dict[str, int], tuple[str, ...]]:
    """How often a stage's referee was asked and said no, and what failed (nothing without one)."""
    if referee is None:
        return {}, ()
    asked = {"referee asked": referee.calls, "referee said no": referee.said_no}
    return asked, tuple(referee.failures)


def rebuild_stories(store: Store, settings: Settings) -> StageReport:
    """Re-cluster every article from scratch, honouring editors' constraints and keeping ids."""
    articles = sorted(store.articles.all(), key=lambda a: a.time_order)
    previous = {a.id: a.story_id for a in articles if a.story_id is not None}
    referee = params.for_referee(settings)
    assignments = cluster.rebuild(
        articles,
        store.decisions.constraints(),
        previous,
        store.stories.next_id(),
        params.for_cluster(settings),
        referee,
    )
    with store.atomic():
        store.stories.clear_memberships()
        store.stories.assign(assignments)
        store.stories.drop_empty()
    asked, failed = _refereeing(referee)
    return StageReport(
        stage="rebuild",
        processed=len(articles),
        created=len(set(assignments.values())),
        details=asked,
        errors=failed,
    )


def init(settings: Settings) -> tuple[Store, dict[str, int]]:
    """Open (creating) the database and bring its sources in line with the sources file."""
    store = Store.open(settings.db)
    counts = store.sources.sync(load_sources(settings.sources))
    return store, counts


def update_stories(
    store: Store,
    settings: Settings,
    rebuild: bool = False,
    kept: KeptIndex | None = None,
) -> list[StageReport]:
    """Dedupe and cluster what is new (or everything, with ``rebuild``), then refresh summaries."""
    clustered = rebuild_stories(store, settings) if rebuild else process_new(store, settings, kept)
    return [clustered, summarize_stories(store, settings), link_entities(store)]


@dataclass(frozen=True, slots=True)
class RunReport:
    """One full pass: the fetch round and each later stage's report."""

    fetched: RoundReport
    stages: list[StageReport]
    built: BuildReport | None = None


def run_all(
    store: Store,
    settings: Settings,
    force: bool = False,
    on_source: Callable[[SourceReport], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RunReport:
    """One full pass: fetch due sources and their pages, dedupe, cluster, summarize,
    and publish today's digest (today in the configured time zone)."""
    fetched = fetch_round(store, settings, force, on_source=on_source, on_start=on_start)
    stages = update_stories(store, settings)
    today = datetime.now(ZoneInfo(settings.timezone)).date()
    return RunReport(fetched, stages, build_day(store, settings, today))
