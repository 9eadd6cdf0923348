"""The ``login_failures`` table: failed desk logins counted per name and per address.

A guesser is slowed by what the desk remembers, not by scrypt alone. Counts live
in the database, not in a process, so a restarted desk and every desk process
serving the same database refuse the same guesser. Each change is one
write transaction (``BEGIN IMMEDIATE`` on SQLite): two processes counting the same key at once
both get counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .convert import from_iso, to_iso
from .db import Connection


@dataclass(frozen=True, slots=True)
class Throttle:
    """How many failures a key may have in a window, and how long it is then refused."""

    attempts: int = 5
    """Failed logins allowed per name, and per address, within ``window``."""
    window: timedelta = timedelta(minutes=15)
    """Failures older than this are forgotten (unless a cool-down followed them)."""
    cooldown: timedelta = timedelta(minutes=1)
    """The first cool-down; each further one for the same key doubles it."""
    max_cooldown: timedelta = timedelta(hours=1)
    """The longest cool-down."""

    def cooldown_for(self, strikes: int) -> timedelta:
        """The cool-down after the ``strikes``-th run of ``attempts`` failures (1, 2, …)."""
        factor: int = 2 ** min(strikes - 1, 30)
        return min(self.cooldown * factor, self.max_cooldown)


class Logins:
    """Failure counts and cool-downs keyed by ``name:…`` and ``address:…``."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def locked_until(self, keys: Sequence[str], now: datetime) -> datetime | None:
        """The latest cool-down end among ``keys`` still ahead of ``now``; None when none is."""
        marks = ",".join("?" * len(keys))
        row = self.db.execute(
            f"select max(locked_until) from login_failures where key in ({marks})", list(keys)
        ).fetchone()
        until = from_iso(row[0]) if row else None
        return until if until is not None and until > now else None

    def fail(self, keys: Sequence[str], now: datetime, throttle: Throttle) -> datetime | None:
        """Count one failed login against every key; the cool-down it started, if any.

        A key's failures within ``throttle.window`` of its first one are counted;
        reaching ``throttle.attempts`` starts a cool-down that doubles with each
        strike, and counting starts again after it. A key with no failure for
        ``window + max_cooldown`` is forgotten.
        """
        started: datetime | None = None
        with self.db.write():
            # Keys quiet for a window after their last cool-down are forgotten, strikes
            # too: the table stays small under a spray of names, and an editor who
            # mistyped last week starts with a short cool-down.
            quiet = throttle.window + throttle.max_cooldown
            self.db.execute(
                "delete from login_failures where window_start < ?", [to_iso(now - quiet)]
            )
            for key in keys:
                row = self.db.execute(
                    "select failures, window_start, strikes from login_failures where key = ?",
                    [key],
                ).fetchone()
                failures, window_start, strikes = (
                    (int(row[0]), from_iso(row[1]), int(row[2])) if row else (0, None, 0)
                )
                if window_start is None or now - window_start >= throttle.window:
                    failures, window_start = 0, now
                failures += 1
                locked_until = None
                if failures >= throttle.attempts:
                    strikes += 1
                    locked_until = now + throttle.cooldown_for(strikes)
                    failures, window_start = 0, locked_until
                    started = max(started, locked_until) if started else locked_until
                self.db.execute(
                    "insert into login_failures (key, failures, window_start, strikes, "
                    "locked_until) values (?, ?, ?, ?, ?) on conflict(key) do update set "
                    "failures = excluded.failures, window_start = excluded.window_start, "
                    "strikes = excluded.strikes, "
                    "locked_until = coalesce(excluded.locked_until, login_failures.locked_until)",
                    [key, failures, to_iso(window_start), strikes, to_iso(locked_until)],
                )
        return started

    def succeed(self, keys: Sequence[str]) -> None:
        """A successful login: forget every failure, cool-down and strike of ``keys``."""
        marks = ",".join("?" * len(keys))
        with self.db.write():
            self.db.execute(f"delete from login_failures where key in ({marks})", list(keys))
