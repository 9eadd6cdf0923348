"""Work for ``digest worker`` processes on many machines, queued with Procrastinate.

Procrastinate keeps its queue in tables of the installation's own PostgreSQL,
so the queue and the store share one server, one backup and one way to
operate (docs/task-queue.md says why it, not Celery or Dramatiq over Redis).
The tasks, each a few lines over ``run``:

* ``fetch_source(source_id)`` (queue ``fetch``): one feed, its new articles
  stored, then one ``extract_article`` per new article;
* ``extract_article(article_id)`` (queue ``extract``): the page fetched and
  its text extracted, then a clustering run is asked for;
* ``update_stories()`` (queue ``cluster``): dedupe and cluster what is new, one
  consumer at a time (Procrastinate's job lock orders the runs, and
  ``Store.one_at_a_time`` holds a PostgreSQL advisory lock against any other
  clusterer), then one ``summarize_story`` per story whose members changed;
* ``summarize_story(story_id, key)`` (queue ``summarize``): one story's
  summary and score, skipped when its members changed again since (a newer
  task carries the new key);
* ``build_day(day)`` (queue ``build``): the day's digest, site and email.

Work that holds the CPU (clustering, summaries, extraction) runs in a thread, so
the worker's event loop keeps fetching jobs and sending its heartbeat.

A task's writes commit before the task returns, and Procrastinate marks the
job done only after that: a worker that dies mid-task leaves its job in
``doing``; the scheduler (``enqueue_round``) hands jobs of workers whose
heartbeat stopped back to the queue, and another worker redoes them. Redoing
is safe because every step is idempotent: a second insert of an article is
left out by the unique canonical URL, a page already extracted is not
extracted again, a summary is remade only for a changed membership.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued

from . import run
from .cluster_keep import KeptIndex
from .config import Settings
from .errors import ConfigError
from .fetch import Fetcher
from .store import Store, locks
from .store.db import is_postgres
from .store.stories import members_key

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

NAMESPACE = "digest"
QUEUES = ("fetch", "extract", "cluster", "summarize", "build")
KEEP_FINISHED_HOURS = 72  # finished jobs kept this long, for `digest status` and debugging
_RETRY = procrastinate.RetryStrategy(max_attempts=5, exponential_wait=2)


@dataclass
class WorkerContext:
    """What one worker process shares between its concurrent tasks: the settings, one
    HTTP client, a pool of store connections (one per task in flight) and the
    clustering index (kept between runs, as the daemon keeps it; see ``pipeline.cluster_keep``)."""

    settings: Settings
    fetcher: Fetcher
    stores: queue.SimpleQueue[Store]
    extractor: ThreadPoolExecutor
    kept: KeptIndex = field(default_factory=KeptIndex)

    @contextlib.contextmanager
    def store(self) -> Iterator[Store]:
        store = self.stores.get_nowait()  # never empty: one per task the worker runs at once
        try:
            yield store
        finally:
            self.stores.put(store)


def _worker(context: procrastinate.JobContext) -> WorkerContext:
    worker: WorkerContext = context.additional_context["worker"]
    return worker


def make_app(dsn: str) -> procrastinate.App:
    """A Procrastinate app on the PostgreSQL database ``dsn``, with the pipeline's tasks."""
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=dsn, min_size=1, max_size=4)
    )
    for func, queue_name in _TASKS:
        lock = "cluster" if queue_name == "cluster" else None  # one clustering run at a time
        app.task(
            name=f"{NAMESPACE}:{func.__name__}",
            queue=queue_name,
            pass_context=True,
            retry=_RETRY,
            lock=lock,
        )(func)
    return app


async def ensure_schema(app: procrastinate.App, store: Store) -> None:
    """Create Procrastinate's tables on first use (once, whoever starts first)."""
    with store.one_at_a_time(locks.QUEUE_SCHEMA):
        if store.db.execute("select to_regclass('procrastinate_jobs')").fetchone()[0] is None:
            await app.schema_manager.apply_schema_async()


async def _defer(app: procrastinate.App, task: str, lock: str | None, **kwargs: Any) -> bool:
    """Queue a task once: while a job with the same queueing lock waits, it is not added
    again. Returns whether it was added."""
    try:
        await app.configure_task(
            f"{NAMESPACE}:{task}", allow_unknown=False, queueing_lock=lock
        ).defer_async(**kwargs)
    except AlreadyEnqueued:
        return False
    return True


# -- the tasks ---------------------------------------------------------------------------


async def fetch_source(context: procrastinate.JobContext, source_id: int) -> None:
    worker = _worker(context)
    with worker.store() as store:
        source = store.sources.get(source_id)
        report = await run.refresh_source(store, worker.fetcher, source, worker.settings)
    for article_id in report.article_ids:
        await _defer(context.app, "extract_article", f"extract:{article_id}", article_id=article_id)


async def extract_article(context: procrastinate.JobContext, article_id: int) -> None:
    worker = _worker(context)
    with worker.store() as store:
        found = store.articles.get_many([article_id])
        if not found or store.articles.is_extracted(article_id):
            return  # folded into another article, or done by an earlier attempt
        source = store.sources.get(found[0].source_id)
        await run.fetch_pages(
            store,
            worker.fetcher,
            worker.settings,
            worker.extractor,
            run.RoundReport(),
            asyncio.Semaphore(1),
            {found[0].source_id: source.url},
            found,
        )
    await _defer(context.app, "update_stories", "cluster")


async def update_stories(context: procrastinate.JobContext) -> None:
    worker = _worker(context)
    with worker.store() as store:
        report = await asyncio.to_thread(run.process_new, store, worker.settings, worker.kept)
        stale = store.stories.needing_summary()
    LOGGER.info("clustered", extra={"articles": report.processed, "stale": len(stale)})
    for story, key in stale:
        await _defer(
            context.app, "summarize_story", f"summarize:{story.id}", story_id=story.id, key=key
        )


async def summarize_story(context: procrastinate.JobContext, story_id: int, key: str) -> None:
    worker = _worker(context)
    with worker.store() as store:
        story = store.stories.get(story_id)
        if members_key(story.article_ids) != key:
            return  # its members changed again; the task queued for that change does it
        tags = {s.id: s.tags for s in store.sources.all() if s.id is not None}
        await asyncio.to_thread(run.summarize_story, store, worker.settings, story, key, tags)


async def build_day(context: procrastinate.JobContext, day: str) -> None:
    worker = _worker(context)
    with worker.store() as store:
        await asyncio.to_thread(_build, store, worker, date.fromisoformat(day))


def _build(store: Store, worker: WorkerContext, day: date) -> None:
    settings = worker.settings
    # Stories summarized up to now; the kept index is used under the clustering lock,
    # so one clustering run at a time in this process too.
    run.update_stories(store, settings, kept=worker.kept)
    run.build_day(store, settings, day)
    if settings.smtp_host:
        run.send_day(store, settings, day)


_TASKS: tuple[tuple[Callable[..., Awaitable[None]], str], ...] = (
    (fetch_source, "fetch"),
    (extract_article, "extract"),
    (update_stories, "cluster"),
    (summarize_story, "summarize"),
    (build_day, "build"),
)


# -- the two processes -------------------------------------------------------------------


def serve_worker(settings: Settings, concurrency: int, queues: tuple[str, ...] = QUEUES) -> None:
    """Run one worker until SIGTERM or SIGINT (Procrastinate's handlers: the jobs in
    flight finish first). Raises ConfigError unless the database is PostgreSQL."""
    if not is_postgres(settings.db):
        raise ConfigError(
            f"{settings.db}: `digest worker` needs a shared PostgreSQL database "
            "(DIGEST_DB=postgresql://user@host/db); an SQLite file is served by `digest schedule`"
        )
    asyncio.run(_serve_worker(settings, concurrency, queues))


async def _serve_worker(settings: Settings, concurrency: int, queues: tuple[str, ...]) -> None:
    app = make_app(settings.db)
    stores: queue.SimpleQueue[Store] = queue.SimpleQueue()
    opened = [Store.open(settings.db) for _ in range(concurrency)]
    for store in opened:
        stores.put(store)
    try:
        async with app.open_async(), _worker_context(settings, stores) as worker:
            await ensure_schema(app, opened[0])
            await app.run_worker_async(
                queues=list(queues),
                concurrency=concurrency,
                additional_context={"worker": worker},
                update_heartbeat_interval=settings.worker_heartbeat_s,
                stalled_worker_timeout=settings.worker_stalled_after_s,
            )
    finally:
        for store in opened:
            store.close()


@contextlib.asynccontextmanager
async def _worker_context(
    settings: Settings, stores: queue.SimpleQueue[Store]
) -> AsyncIterator[WorkerContext]:
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="extract") as extractor:
        async with Fetcher(settings) as fetcher:
            yield WorkerContext(settings, fetcher, stores, extractor)


def enqueue_round(store: Store, settings: Settings, now: datetime | None = None) -> dict[str, int]:
    """One scheduler tick: queue a fetch of every due source, put back the jobs of dead
    workers, queue pages a lost task left unextracted, ask for a clustering run, and
    forget finished jobs older than ``KEEP_FINISHED_HOURS``. Returns what it queued."""
    when = now or datetime.now(UTC)
    return _run_app(settings, lambda app: _enqueue_round(app, store, when, settings))


async def _enqueue_round(
    app: procrastinate.App, store: Store, now: datetime, settings: Settings
) -> dict[str, int]:
    await ensure_schema(app, store)
    counts = {"fetch": 0, "extract": 0, "retried": 0}
    patience = settings.worker_stalled_after_s
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=patience)
    for job in stalled:
        counts["retried"] += await _retry(app, job)
    for source in store.sources.due(now):
        counts["fetch"] += await _defer(
            app, "fetch_source", f"fetch:{source.id}", source_id=source.id
        )
    lost_before = now - timedelta(seconds=2 * patience)  # younger ones are queued
    lost = [
        a.id
        for a in store.articles.needing_extraction()
        if a.fetched_at is None or a.fetched_at <= lost_before
    ]
    counts["extract"] = await _defer_extractions(app, lost)
    await _defer(app, "update_stories", "cluster")
    await app.job_manager.delete_old_jobs(nb_hours=KEEP_FINISHED_HOURS, include_failed=False)
    return counts


async def _defer_extractions(app: procrastinate.App, article_ids: list[int]) -> int:
    """Queue one ``extract_article`` per article without one waiting, in one insert.

    A backlog of thousands of unextracted pages would otherwise cost a round
    trip per page every tick. The waiting jobs are read first (one query), so
    the insert rarely meets a queueing lock; when a worker queued one of them
    in between, the whole insert is refused and they go one by one instead.
    Returns how many were queued.
    """
    if not article_ids:
        return 0
    task = f"{NAMESPACE}:extract_article"
    waiting = await app.job_manager.list_jobs_async(task=task, status="todo")
    held = {job.queueing_lock for job in waiting}
    template = app.configure_task(task, allow_unknown=False).job
    jobs = [
        template.evolve(queueing_lock=lock, task_kwargs={"article_id": article_id})
        for article_id in article_ids
        if (lock := f"extract:{article_id}") not in held
    ]
    if not jobs:
        return 0
    try:
        await app.job_manager.batch_defer_jobs_async(jobs)
    except AlreadyEnqueued:
        added = [
            await _defer(app, "extract_article", job.queueing_lock, **job.task_kwargs)
            for job in jobs
        ]
        return sum(added)
    return len(jobs)


async def _retry(app: procrastinate.App, job: procrastinate.jobs.Job) -> bool:
    """Put a dead worker's job back in the queue; when an identical job (same queueing
    lock) already waits there, that one will do the work, and this one ends as aborted."""
    try:
        await app.job_manager.retry_job(job)
    except procrastinate.exceptions.UniqueViolation:
        assert job.id is not None
        await app.job_manager.finish_job_by_id_async(
            job.id, procrastinate.jobs.Status.ABORTED, delete_job=False
        )
        return False
    return True


def enqueue_build(settings: Settings, day: date) -> bool:
    """Queue the build (and sending) of ``day``'s digest; False when one already waits."""
    return _run_app(
        settings, lambda app: _defer(app, "build_day", f"build:{day}", day=day.isoformat())
    )


def _run_app(settings: Settings, step: Callable[[procrastinate.App], Awaitable[T]]) -> T:
    async def main() -> T:
        app = make_app(settings.db)
        async with app.open_async():
            return await step(app)

    return asyncio.run(main())
