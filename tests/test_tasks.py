"""`digest worker` processes on a real PostgreSQL: the demo corpus fetched, extracted,
clustered and summarized through the task queue, with a worker SIGKILLed mid-round."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from pipeline import demo, run, tasks
from pipeline.config import Settings
from pipeline.errors import ConfigError
from pipeline.models import Entry, Source
from pipeline.store import Store
from pipeline.store.stories import members_key
from tests.conftest import slow_demo_pages

PAGE_DELAY_S = 0.2  # each page answers this late, so a round lasts long enough to kill in
FAST = {"worker_heartbeat_s": 1.0, "worker_stalled_after_s": 4.0}  # a dead worker noticed soon


def _worker(dsn: str, sources: Path, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DB=dsn,
        DIGEST_SOURCES=str(sources),
        DIGEST_DIGESTS_DIR=str(tmp_path / "digests"),
        DIGEST_SITE_DIR=str(tmp_path / "site"),
        DIGEST_RETRIES="0",
        DIGEST_LOG_LEVEL="INFO",
        DIGEST_WORKER_HEARTBEAT_S=str(FAST["worker_heartbeat_s"]),
        DIGEST_WORKER_STALLED_AFTER_S=str(FAST["worker_stalled_after_s"]),
    )
    with open(tmp_path / f"worker-{time.monotonic_ns()}.log", "wb") as log:  # kept on failure
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline", "worker", "--concurrency", "4"],
            env=env,
            stdout=log,
            stderr=log,
        )


def _jobs(store: Store) -> dict[str, int]:
    rows = store.db.execute(
        "select status::text, count(*) from procrastinate_jobs group by status"
    ).fetchall()
    return {status: int(n) for status, n in rows}


def test_a_worker_refuses_an_sqlite_database(tmp_path):
    with pytest.raises(ConfigError, match="needs a shared PostgreSQL"):
        tasks.serve_worker(replace(Settings(), db=str(tmp_path / "p.db")), 1)


def test_workers_finish_a_round_with_one_killed_mid_task(postgres_server, tmp_path):
    dsn = postgres_server.new_database()
    workers: list[subprocess.Popen[bytes]] = []
    with demo.serve_corpus() as server:
        slow_demo_pages(server, PAGE_DELAY_S)
        _, sources = demo.prepare(tmp_path, server.base_url)
        settings = replace(Settings(), db=dsn, sources=str(sources), **FAST)
        store, _ = run.init(settings)
        try:
            queued = tasks.enqueue_round(store, settings)
            assert queued["fetch"] == len(store.sources.all())
            assert tasks.enqueue_round(store, settings)["fetch"] == 0  # queued once only

            # the first worker runs alone until it holds jobs, so they are its own
            workers = [_worker(dsn, sources, tmp_path)]
            deadline = time.monotonic() + 90
            while _jobs(store).get("doing", 0) < 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            workers[0].send_signal(signal.SIGKILL)  # mid-task: it holds jobs in `doing`
            workers[0].wait()
            workers += [_worker(dsn, sources, tmp_path) for _ in range(3)]

            retried = 0
            while time.monotonic() < deadline:
                retried += tasks.enqueue_round(store, settings)["retried"]
                counts = _jobs(store)
                idle = not counts.get("todo") and not counts.get("doing")
                if idle and retried and not store.articles.needing_extraction():
                    break
                time.sleep(0.5)
            counts = _jobs(store)
            assert retried > 0, "the killed worker's jobs were never handed back"
            assert set(counts) <= {"succeeded", "aborted"}, counts  # none lost, none failed

            articles = store.articles.all()
            paths = [urlsplit(a.canonical_url).path for a in articles]
            assert sorted(paths) == sorted(k.path for k in demo.answer_key())  # each once
            assert all(store.articles.is_extracted(a.id) for a in articles)
            assert all(a.story_id is not None for a in articles)
            stale = store.stories.needing_summary()
            assert stale == []
            for story in store.stories.since():
                assert store.stories.generated(story.id)["summary"] is not None
                assert members_key(story.article_ids)
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
            for worker in workers:
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
            store.close()
    for worker in workers[1:]:
        assert worker.returncode == 0  # SIGTERM: the tasks in flight finished, then it stopped


def _lost_pages(store: Store, first: int, count: int, at: datetime) -> None:
    """``count`` stored articles whose pages were never extracted (their tasks lost)."""
    urls = [f"https://lost.example/{i}" for i in range(first, first + count)]
    entries = [(Entry(url=url, guid=url, title=url), url) for url in urls]
    store.articles.insert_entries(store.sources.all()[0].id or 0, entries, at)


def test_a_backlog_of_lost_pages_is_queued_once_each_in_one_insert(postgres_server):
    settings = replace(Settings(), db=postgres_server.new_database(), **FAST)
    now = datetime(2025, 1, 6, 12, tzinfo=UTC)
    with Store.open(settings.db) as store:
        store.sources.sync([Source("Lost Wire", "https://lost.example/feed")])
        _lost_pages(store, 0, 1500, now - timedelta(hours=1))
        _lost_pages(store, 1500, 5, now)  # just fetched: their tasks are still on the way
        assert tasks.enqueue_round(store, settings, now)["extract"] == 1500
        assert tasks.enqueue_round(store, settings, now)["extract"] == 0  # all still waiting
        _lost_pages(store, 2000, 20, now - timedelta(hours=1))
        assert tasks.enqueue_round(store, settings, now)["extract"] == 20
        queued = store.db.execute(
            "select args->>'article_id', count(*) from procrastinate_jobs "
            "where task_name = 'digest:extract_article' group by 1"
        ).fetchall()
    lost = {a for a, _ in queued}
    assert len(lost) == 1520 and {n for _, n in queued} == {1}


def test_a_page_a_worker_queues_during_the_batch_is_queued_once(postgres_server):
    """The race the one-insert batch leaves open: between reading the waiting jobs and
    the insert, a worker queues one of the pages. The insert is refused as a whole, and
    every page still ends up queued exactly once."""
    settings = replace(Settings(), db=postgres_server.new_database(), **FAST)
    now = datetime(2025, 1, 6, 12, tzinfo=UTC)
    with Store.open(settings.db) as store:
        store.sources.sync([Source("Lost Wire", "https://lost.example/feed")])
        _lost_pages(store, 0, 30, now - timedelta(hours=1))
        ids = [a.id for a in store.articles.needing_extraction()]

        async def race(app):
            await tasks.ensure_schema(app, store)
            listed = app.job_manager.list_jobs_async

            async def list_then_a_worker_queues(**kwargs):
                waiting = await listed(**kwargs)
                await tasks._defer(app, "extract_article", f"extract:{ids[7]}", article_id=ids[7])
                return waiting

            app.job_manager.list_jobs_async = list_then_a_worker_queues
            return await tasks._defer_extractions(app, ids)

        assert tasks._run_app(settings, race) == len(ids) - 1  # the worker's one was not added
        queued = store.db.execute(
            "select (args->>'article_id')::int, count(*) from procrastinate_jobs "
            "where task_name = 'digest:extract_article' group by 1"
        ).fetchall()
    assert sorted(a for a, _ in queued) == sorted(ids) and {n for _, n in queued} == {1}
