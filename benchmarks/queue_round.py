"""A fetch round through the task queue: `digest worker` processes on a throwaway PostgreSQL.

Used by ``benchmarks/fetch.py --workers N [--chaos]``. The server is the one the
tests start (Debian's packages, a temporary folder, loopback). A round is: the
sources synced into a fresh database, one scheduler tick queueing every source,
N worker processes started, and further ticks every second until no job waits
or runs and every article is extracted, clustered and summarized. CPU is read
from /proc for the workers, the PostgreSQL server and this process, so the
share of the machine each run used can be set against the cores there are.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline import tasks
from pipeline.config import Settings
from pipeline.models import Source
from pipeline.store import Store
from tests.postgres import PostgresServer

TICK_S = 1.0
_HZ = os.sysconf("SC_CLK_TCK")


@dataclass
class QueueRun:
    workers: int
    wall: float
    articles: int
    extracted: int
    cpu_workers: float
    cpu_postgres: float
    cpu_scheduler: float
    jobs: dict[str, int]
    duplicates: int  # canonical URLs stored more than once (must be 0)
    orphans: int  # articles left outside every story (must be 0)
    kills: int
    retried: int


def _stat_cpu(pid: int, children: bool = False) -> float:
    """CPU seconds of one process (with its reaped children's when asked), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12])
    if children:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / _HZ


def postgres_cpu(server: PostgresServer) -> float:
    """The postmaster, the backends it reaped, and the backends still running."""
    postmaster = int((server.data / "postmaster.pid").read_text().split()[0])
    total = _stat_cpu(postmaster, children=True)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                continue
            if parent == postmaster:
                total += _stat_cpu(int(entry.name))
    return total


def _start_worker(dsn: str, concurrency: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(DIGEST_DB=dsn, DIGEST_RETRIES="1", DIGEST_LOG_LEVEL="ERROR")
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "worker", "--concurrency", str(concurrency)],
        env=env,
        stdout=subprocess.DEVNULL,
    )


def _jobs(store: Store) -> dict[str, int]:
    rows = store.db.execute(
        "select status::text, count(*) from procrastinate_jobs group by status"
    ).fetchall()
    return {status: int(n) for status, n in rows}


def _scalar(store: Store, sql: str) -> int:
    return int(store.db.execute(sql).fetchone()[0])


def run_round(
    server: PostgresServer,
    base_url: str,
    feeds: int,
    workers: int,
    concurrency: int = 8,
    kills: int = 0,
    timeout_s: float = 1800,
) -> QueueRun:
    """One cold round over ``feeds`` loopback feeds with ``workers`` processes; with
    ``kills``, one worker is SIGKILLed (and restarted) that many times mid-round."""
    dsn = server.new_database()
    settings = replace(Settings(), db=dsn, max_connections=16, max_per_host=16)
    store = Store.open(dsn)
    store.sources.sync(
        [
            Source(name=f"outlet{f:03d}", url=f"{base_url}/outlet{f:03d}/feed.xml")
            for f in range(feeds)
        ]
    )
    started = [_start_worker(dsn, concurrency) for _ in range(workers)]
    pg_before, self_before = postgres_cpu(server), time.process_time()
    t0 = time.perf_counter()
    retried = tasks.enqueue_round(store, settings)["retried"]
    kill_at = sorted(random.Random(3).uniform(0.2, 0.8) for _ in range(kills))
    killed = 0
    worker_cpu = 0.0
    while time.perf_counter() - t0 < timeout_s:
        time.sleep(TICK_S)
        retried += tasks.enqueue_round(store, settings)["retried"]
        total = _scalar(store, "select count(*) from articles")
        done = _scalar(store, "select count(*) from articles where extracted_at is not null")
        if killed < len(kill_at) and total and done / total >= kill_at[killed]:
            victim = started.pop(0)
            worker_cpu += _stat_cpu(victim.pid)
            victim.send_signal(signal.SIGKILL)
            victim.wait()
            started.append(_start_worker(dsn, concurrency))
            killed += 1
        jobs = _jobs(store)
        if (
            killed == len(kill_at)
            and total
            and done == total
            and not (jobs.get("todo") or jobs.get("doing"))
        ):
            break
    wall = time.perf_counter() - t0
    worker_cpu += sum(_stat_cpu(p.pid) for p in started)
    pg_cpu = postgres_cpu(server) - pg_before
    self_cpu = time.process_time() - self_before
    for proc in started:
        proc.terminate()
    for proc in started:
        proc.wait(timeout=60)
    result = QueueRun(
        workers=workers,
        wall=wall,
        articles=_scalar(store, "select count(*) from articles"),
        extracted=_scalar(store, "select count(*) from articles where extracted_at is not null"),
        cpu_workers=worker_cpu,
        cpu_postgres=pg_cpu,
        cpu_scheduler=self_cpu,
        jobs=_jobs(store),
        duplicates=_scalar(
            store,
            "select count(*) from (select canonical_url from articles "
            "group by canonical_url having count(*) > 1) as d",
        ),
        orphans=_scalar(store, "select count(*) from articles where story_id is null"),
        kills=killed,
        retried=retried,
    )
    store.close()
    return result
