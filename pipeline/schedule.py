"""The daemon: fetch sources as they fall due, publish the digest at the local publication time.

Two APScheduler (3.x) jobs share one worker thread, so a build never reads a
half-finished fetch round and the two never compete for the database:

* **fetch**, every ``schedule_fetch_every_s``: re-read the sources file when
  it changed, run a fetch round over the sources that are due (the store keeps
  each source's ``next_fetch_at``, with its interval and back-off), then
  dedupe, cluster and summarize what is new.
* **build**, daily at ``publish_time`` in ``timezone`` (a ``CronTrigger`` in
  that zone, so daylight-saving changes move it with the wall clock): build
  the day's digest and site, and email it when ``smtp_host`` is set (at most
  once per day, which the send log enforces). ``schedule_build_every_s``
  replaces the daily trigger with an interval, for tests and trials.

Every job is ``coalesce=True`` and ``max_instances=1`` with a grace period: a
machine that slept through 07:00 builds once when it wakes, not once per
missed tick; a daemon started after the publication time catches up on a day
not yet built or sent (within the same grace). A failing job is logged with its
cause and the daemon goes on. One daemon per database: ``<db>.lock`` is held
with ``flock``, which the kernel releases when the process dies, however it
dies; on PostgreSQL a session advisory lock does the same across machines. SIGTERM or SIGINT stops the daemon between steps; a fetch round in
progress is cancelled at its next ``await``, where no transaction is open.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from . import run, tasks
from .cluster_keep import KeptIndex
from .config import Settings, load_sources
from .errors import ConfigError, PipelineError, StoreError
from .store import Store, locks
from .store.db import PostgresConnection, is_postgres

LOGGER = logging.getLogger(__name__)
T = TypeVar("T")

_POLL_S = 0.2  # how often the main thread and a running fetch round look for a stop request
_LOCK_WAIT_S = 1.0  # a `digest status` probing the lock must not make a starting daemon fail
_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def serve(settings: Settings) -> None:
    """Run the daemon until SIGTERM or SIGINT (blocks; call it from the main thread).

    Raises ``ConfigError`` for bad settings or an invalid sources file and
    ``StoreError`` when another daemon already serves this database; once
    running, errors are logged and the daemon goes on.
    """
    trigger = build_trigger(settings)
    with instance_lock(settings.db):
        store, counts = run.init(settings)
        with store:
            catch_up = _missed_today(store, settings, datetime.now(UTC))
        LOGGER.info("sources synced", extra={"file": settings.sources, **counts})
        _Daemon(settings).run(trigger, catch_up)


def build_trigger(settings: Settings) -> BaseTrigger:
    """When the build job runs: daily at the local publication time, or every N seconds."""
    try:
        zone = ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"timezone: unknown time zone {settings.timezone!r}") from None
    if settings.schedule_build_every_s:
        return IntervalTrigger(seconds=settings.schedule_build_every_s, timezone=zone)
    hour, minute = _publish_time(settings)
    return _OncePerDay(hour=hour, minute=minute, timezone=zone)


def next_build(settings: Settings, now: datetime) -> datetime | None:
    """The next time the daemon builds, computed from the settings alone (for ``digest status``)."""
    when: datetime | None = build_trigger(settings).get_next_fire_time(None, now)
    return when


@contextmanager
def instance_lock(db: str | Path) -> Iterator[None]:
    """Hold ``<db>.lock`` for as long as the block runs, or refuse: one daemon per database.

    ``flock`` is tied to the open file, so the kernel releases it when the
    process exits or is killed; a stale lock file is harmless. The holder's
    pid is written into it for the error message and ``digest status``. A
    PostgreSQL database is shared by machines, so there the lock is the
    database's own (``store.locks``).
    """
    if is_postgres(db):
        with locks.exclusive(str(db), locks.SCHEDULER, "schedule", wait_s=_LOCK_WAIT_S):
            yield
        return
    path = _lock_path(db)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise StoreError(f"{path}: cannot create the daemon's lock file: {exc.strerror}") from None
    try:
        deadline = time.monotonic() + _LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    holder = _read_pid(fd)
                    raise StoreError(
                        f"{db}: another `digest schedule` is already running on this database "
                        f"(pid {holder or 'unknown'}, lock {path})"
                    ) from None
                time.sleep(0.1)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # releases the lock


def running_pid(db: str | Path) -> int | None:
    """The pid of the daemon serving ``db`` (0 when it has not written it yet), or None.

    On PostgreSQL the pid is the one the holder named, on whichever machine it runs."""
    if is_postgres(db):
        with Store.open(db) as store:
            assert isinstance(store.db, PostgresConnection)
            label = locks.holder(store.db, locks.SCHEDULER)
        if label is None:
            return None
        found = re.search(r"pid=(\d+)", label)
        return int(found.group(1)) if found else 0
    path = _lock_path(db)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_pid(fd) or 0
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _lock_path(db: str | Path) -> Path:
    return Path(f"{db}.lock")


def _read_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


def _publish_time(settings: Settings) -> tuple[int, int]:
    hours, _, minutes = settings.publish_time.partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        raise ConfigError(f"publish_time must be HH:MM, got {settings.publish_time!r}")
    hour, minute = int(hours), int(minutes)
    if hour > 23 or minute > 59:
        raise ConfigError(f"publish_time must be HH:MM, got {settings.publish_time!r}")
    return hour, minute


class _OncePerDay(CronTrigger):  # type: ignore[misc]
    """A daily ``CronTrigger`` that fires once on the day clocks go back.

    APScheduler 3 fires a cron time inside the repeated hour twice (once per
    UTC offset); a second build of the same day would only redo work, so the
    later one is skipped. A time inside the skipped spring hour fires once,
    an hour later on the wall clock, as APScheduler already does.
    """

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        when: datetime | None = super().get_next_fire_time(previous_fire_time, now)
        if previous_fire_time is not None:
            last_day = previous_fire_time.astimezone(self.timezone).date()
            while when is not None and when.date() == last_day:
                when = super().get_next_fire_time(when, when)
        return when


def _missed_today(store: Store, settings: Settings, now: datetime) -> bool:
    """Whether today's publication time passed within the grace period with the day not
    built (or, when sending is configured, not sent): a daemon started late catches up."""
    if settings.schedule_build_every_s:
        return False
    zone = ZoneInfo(settings.timezone)
    local = now.astimezone(zone)
    published = datetime.combine(local.date(), clock(*_publish_time(settings)), tzinfo=zone)
    if not published <= local <= published + timedelta(minutes=settings.schedule_grace_min):
        return False
    day = local.date()
    if store.digests.story_ids(day) is None:
        return True
    return bool(settings.smtp_host) and store.digests.sent_at(day) is None


def _until_stopped(main: Coroutine[Any, Any, T], stop: threading.Event) -> T | None:
    """Run ``main`` to completion, or cancel it when ``stop`` is set and return None.

    Cancellation lands on an ``await``; the fetch round holds no transaction
    across an ``await``, so whatever it stored is whole.
    """

    async def watch() -> T | None:
        task = asyncio.ensure_future(main)
        while not task.done():
            await asyncio.wait({task}, timeout=_POLL_S)
            if stop.is_set() and not task.done():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    return None
        return task.result()

    return asyncio.run(watch())


class _Daemon:
    """The scheduler, its two jobs and the stop request they all watch."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.stop = threading.Event()
        self.signalled: int | None = None  # set by the signal handler, acted on by run()
        self._sources_seen: tuple[int, int] | None = None
        self._kept = KeptIndex()  # the window's stories, seeded once (see pipeline.cluster_keep)

    def run(self, build: BaseTrigger, catch_up: bool) -> None:
        settings = self.settings
        zone = ZoneInfo(settings.timezone)
        scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={"coalesce": True, "max_instances": 1},
            timezone=zone,
        )
        now = datetime.now(zone)
        every = settings.schedule_fetch_every_s
        scheduler.add_job(
            self._guarded("fetch", self._fetch),
            IntervalTrigger(seconds=every, timezone=zone),
            id="fetch",
            name="fetch",
            next_run_time=now,
            misfire_grace_time=every,
        )
        scheduler.add_job(
            self._guarded("build", self._build),
            build,
            id="build",
            name="build",
            misfire_grace_time=settings.schedule_grace_min * 60,
            **({"next_run_time": now} if catch_up else {}),
        )
        first_build = now if catch_up else build.get_next_fire_time(None, now)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _STOP_SIGNALS}
        try:
            LOGGER.info(
                "daemon started",
                extra={
                    "pid": os.getpid(),
                    "db": settings.db,
                    "fetch_every_s": every,
                    "next_build": _iso(first_build),
                    "catch_up": catch_up,
                },
            )
            scheduler.start()
            while self.signalled is None:
                time.sleep(_POLL_S)
            self.stop.set()
            LOGGER.info("stopping", extra={"signal": signal.Signals(self.signalled).name})
            scheduler.shutdown(wait=True)  # the running job returns at its next step
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        LOGGER.info("daemon stopped", extra={"pid": os.getpid()})

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.signalled = signum  # nothing else: handlers interrupt arbitrary code

    def _guarded(self, name: str, step: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
        """The job as APScheduler calls it: timed, logged as one line, never raising.

        ``step`` fills in the line's fields (and may lower or raise its ``level``).
        """

        def job() -> None:
            if self.stop.is_set():
                return
            fields: dict[str, Any] = {"job": name, "outcome": "ok"}
            started = time.monotonic()
            try:
                step(fields)
            except Exception as exc:
                fields.update(outcome="error", error=f"{type(exc).__name__}: {exc}")
                fields["ms"] = round((time.monotonic() - started) * 1000)
                # our own errors say all there is to say; anything else needs its traceback
                LOGGER.error(name, extra=fields, exc_info=not isinstance(exc, PipelineError))
                return
            fields["ms"] = round((time.monotonic() - started) * 1000)
            level = fields.pop("level", logging.INFO)
            LOGGER.log(level, name, extra=fields)

        return job

    def _fetch(self, fields: dict[str, Any]) -> None:
        settings = self.settings
        with Store.open(settings.db) as store:  # in the job's own thread
            self._sync_sources(store)
            if is_postgres(settings.db):  # `digest worker` processes do the work
                fields.update(tasks.enqueue_round(store, settings))
                return
            report = _until_stopped(run.fetch_round_async(store, settings), self.stop)
            if report is None:
                fields["outcome"] = "interrupted"
                return
            fields.update(
                sources=len(report.sources),
                new=report.new_articles,
                errors=report.errors,
                pages=report.pages_fetched,
            )
            if self.stop.is_set():
                fields["outcome"] = "interrupted"
                return
            stages = run.update_stories(store, settings, kept=self._kept)
            fields.update(clustered=stages[0].processed, stories=stages[0].created)
            if not (report.sources or report.pages_fetched or stages[0].processed):
                fields["level"] = logging.DEBUG  # a quiet minute is not news

    def _sync_sources(self, store: Store) -> None:
        """Bring the sources file's changes in; an invalid file is logged, and the round
        goes on with the sources stored before."""
        path = Path(self.settings.sources)
        try:
            stat = path.stat()
            seen = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            seen = (0, -1)
        if seen == self._sources_seen:
            return
        self._sources_seen = seen
        try:
            counts = store.sources.sync(load_sources(path))
        except ConfigError as exc:
            LOGGER.error(
                "sources file invalid; fetching the sources stored before",
                extra={"file": str(path), "outcome": "error", "error": str(exc)},
            )
            return
        if any(counts.values()):
            LOGGER.info("sources synced", extra={"file": str(path), **counts})

    def _build(self, fields: dict[str, Any]) -> None:
        settings = self.settings
        day: date = datetime.now(ZoneInfo(settings.timezone)).date()
        fields["day"] = day.isoformat()
        if is_postgres(settings.db):
            fields["queued"] = tasks.enqueue_build(settings, day)
            return
        with Store.open(settings.db) as store:  # in the job's own thread
            built = run.build_day(store, settings, day)
            fields.update(stories=len(built.digest.stories), files=len(built.paths))
            if not settings.smtp_host or self.stop.is_set():
                return
            sent = run.send_day(store, settings, day)
        if sent is None:
            fields["mail"] = "sent before"
        elif not isinstance(sent, Path):
            fields.update(mail="sent", recipients=len(sent.sent), failed=len(sent.failed))
            if sent.failed:
                fields.update(
                    outcome="partial" if sent.sent else "error",
                    error="; ".join(f"{f.recipient}: {f.error}" for f in sent.failed),
                    level=logging.ERROR,
                )


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None
