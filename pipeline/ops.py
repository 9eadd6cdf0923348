"""Operating a running installation: what state it is in, trimming it, copying it safely.

``status`` answers the questions asked of a daemon that runs unattended (is it
running, did the last fetch work, which sources fail, was today's digest built
and sent, what happens next) from the database and the settings alone, so it
works whether or not the daemon is up. ``prune`` applies a retention period;
``backup`` copies the live database while the daemon writes to it;
``migrate_db`` moves it to another backend.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from . import schedule
from .config import Settings
from .errors import ConfigError, StoreError
from .models import Source
from .store import Store, transfer
from .store.db import redact
from .store.ops import FetchTotals, Maintenance

RECENT = timedelta(hours=24)  # the period status totals cover


@dataclass(frozen=True, slots=True)
class Status:
    """A snapshot of one installation, for ``digest status``."""

    db: str
    size_bytes: int
    daemon_pid: int | None  # None: no daemon holds the lock; 0: one does, pid not yet written
    counts: dict[str, int]
    last_fetch_at: datetime | None
    recent: FetchTotals  # the last ``RECENT`` of the fetch log
    failing: tuple[Source, ...]  # enabled sources whose last fetch failed, worst first
    due_now: int  # enabled sources whose next fetch time has come
    next_fetch_at: datetime | None  # the earliest next fetch among enabled sources
    last_built: tuple[date, datetime | None] | None
    last_sent: tuple[date, datetime] | None
    next_build_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values, for monitoring scripts (``digest status --json``)."""

        def iso(value: date | datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "db": self.db,
            "size_bytes": self.size_bytes,
            "daemon_running": self.daemon_pid is not None,
            "daemon_pid": self.daemon_pid or None,
            "counts": self.counts,
            "last_fetch_at": iso(self.last_fetch_at),
            "last_24h": asdict(self.recent),
            "failing": [
                {
                    "name": s.name,
                    "url": s.url,
                    "failures": s.consecutive_failures,
                    "last_status": s.last_status,
                    "last_error": s.last_error,
                    "next_fetch_at": iso(s.next_fetch_at),
                }
                for s in self.failing
            ],
            "due_now": self.due_now,
            "next_fetch_at": iso(self.next_fetch_at),
            "last_built": {"date": iso(self.last_built[0]), "built_at": iso(self.last_built[1])}
            if self.last_built
            else None,
            "last_sent": {"date": iso(self.last_sent[0]), "sent_at": iso(self.last_sent[1])}
            if self.last_sent
            else None,
            "next_build_at": iso(self.next_build_at),
        }


def status(store: Store, settings: Settings, now: datetime | None = None) -> Status:
    """Collect the installation's state; nothing is written."""
    now = now or datetime.now(UTC)
    maintenance = Maintenance(store.db)
    enabled = [s for s in store.sources.all() if s.enabled]
    upcoming = [s.next_fetch_at for s in enabled if s.next_fetch_at is not None]
    due = [s for s in enabled if s.next_fetch_at is None or s.next_fetch_at <= now]
    latest = store.digests.latest()
    return Status(
        db=redact(settings.db),
        size_bytes=maintenance.size_bytes(),
        daemon_pid=schedule.running_pid(settings.db),
        counts=maintenance.counts(),
        last_fetch_at=maintenance.last_fetch_at(),
        recent=maintenance.fetch_totals(now - RECENT),
        failing=tuple(
            sorted(
                (s for s in enabled if s.consecutive_failures),
                key=lambda s: (-s.consecutive_failures, s.name),
            )
        ),
        due_now=len(due),
        next_fetch_at=now if due else min(upcoming, default=None),
        last_built=(latest[0], latest[1]) if latest else None,
        last_sent=maintenance.last_sent(),
        next_build_at=schedule.next_build(settings, now),
    )


@dataclass(frozen=True, slots=True)
class PruneReport:
    """What a prune removed and what the database weighs before and after."""

    cutoff: datetime
    fetches_deleted: int
    texts_dropped: int
    bytes_before: int
    bytes_after: int


def prune(
    store: Store, settings: Settings, older_than_days: float, now: datetime | None = None
) -> PruneReport:
    """Drop page texts and fetch log rows older than ``older_than_days``, then VACUUM.

    Stories, their stored summaries and citations, articles' URLs and titles,
    and digests stay. The retention must outlast the clustering window: the
    texts of articles whose stories can still grow are what new articles are
    compared with.
    """
    now = now or datetime.now(UTC)
    window_days = settings.cluster_window_hours / 24
    if not math.isfinite(older_than_days) or older_than_days < window_days:
        raise ConfigError(
            f"--older-than must be at least the clustering window ({window_days:g} days, "
            f"cluster_window_hours={settings.cluster_window_hours:g}), got {older_than_days:g}"
        )
    cutoff = now - timedelta(days=older_than_days)
    maintenance = Maintenance(store.db)
    before = maintenance.size_bytes()
    fetches = maintenance.drop_fetch_log(cutoff)
    texts = maintenance.drop_page_texts(cutoff)
    maintenance.vacuum()
    return PruneReport(cutoff, fetches, texts, before, maintenance.size_bytes())


@dataclass(frozen=True, slots=True)
class BackupReport:
    """Where the copy went, how big it is and how long it took."""

    path: Path
    size_bytes: int
    seconds: float


def backup(store: Store, target: Path) -> BackupReport:
    """Copy the live database to ``target`` consistently, even while the daemon writes.

    The copy is written next to ``target`` under a temporary name and renamed
    into place, so ``target`` is never a half-written file and an older backup
    there is replaced only by a complete, checked one.
    """
    target = Path(target)
    if not target.parent.is_dir():
        raise StoreError(f"{target}: folder {target.parent} does not exist")
    if target.is_dir():
        raise StoreError(f"{target}: is a folder; give a file name for the copy")
    maintenance = Maintenance(store.db)
    source = maintenance.path()
    if source is not None and target.exists() and target.samefile(source):
        raise StoreError(f"{target}: is the live database itself")
    started = time.monotonic()
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        maintenance.backup_to(Path(temporary))
        os.replace(temporary, target)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return BackupReport(target, target.stat().st_size, time.monotonic() - started)


def migrate_db(
    store: Store, target: str, on_rows: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy the whole database into the empty database ``target`` (a postgresql:// URL
    when an installation outgrows its SQLite file), migrating it first; returns the
    rows copied per table. The copy is one transaction: all of it or nothing."""
    if target == getattr(store.db, "dsn", None):
        raise StoreError(f"{redact(target)}: is the database being copied")
    with Store.open(target) as copy:
        return transfer.copy_all(store.db, copy.db, on_rows)


def table_rows(store: Store) -> dict[str, int]:
    """Rows per table, in the order ``migrate_db`` copies them (for its progress bar)."""
    return {
        name: int(store.db.execute(f'select count(*) from "{name}"').fetchone()[0])
        for name in transfer.tables(store.db)
    }
