"""The daemon as a real process: `python -m pipeline schedule` against loopback feeds and SMTP.

Each test starts the daemon with a fast schedule (fetch every second, build every
few seconds) through ``DIGEST_*`` variables, reads its JSON log lines from
standard error, and checks the database and files it leaves. The trigger and
the lock are also checked in-process, where no process is needed.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from pipeline import demo, schedule
from pipeline.config import Settings
from pipeline.demo.server import CorpusServer
from pipeline.digest import DigestParams, window
from pipeline.errors import ConfigError, StoreError
from pipeline.store import Store
from tests.conftest import slow_demo_pages

REPO = Path(__file__).resolve().parents[1]
Event = dict[str, Any]


# --- a feed folder whose one story falls in today's digest --------------------------------

OUTLETS = ("orbit-wire", "tensor-times", "model-watch")
STORY = (
    "Orbital Labs releases Nimbus-7, an open language model for robotics",
    "Orbital Labs released Nimbus-7 on Tuesday, an open-weights language model trained "
    "for robot planning. The Nimbus-7 model has 40 billion parameters and ships under an "
    "Apache licence. Orbital Labs said Nimbus-7 beats earlier planners on household tasks.",
)


def _write_feeds(root: Path, published: datetime) -> None:
    """Three AI outlets covering the same release, each with its own extra item."""
    for n, outlet in enumerate(OUTLETS):
        items = [
            (f"{outlet}-nimbus", f"{STORY[0]} ({outlet})", STORY[1]),
            (
                f"{outlet}-other",
                f"{outlet} interview {n}: why GPU prices keep rising",
                f"An interview about datacenter GPU supply number {n} with chip analysts.",
            ),
        ]
        body = "".join(
            f"<item><title>{title}</title><link>{{base}}/{outlet}/{slug}.html</link>"
            f"<guid>{slug}</guid><pubDate>{format_datetime(published - timedelta(minutes=i))}"
            f"</pubDate><description>{text}</description></item>"
            for i, (slug, title, text) in enumerate(items)
        )
        (root / outlet).mkdir(parents=True)
        (root / outlet / "feed.xml").write_text(
            f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            f"<title>{outlet}</title><link>{{base}}/{outlet}/</link>{body}</channel></rss>",
            encoding="utf-8",
        )


def _sources_yaml(base_url: str, outlets: tuple[str, ...] = OUTLETS) -> str:
    return "sources:\n" + "".join(
        f'  - name: "{o}"\n    url: "{base_url}/{o}/feed.xml"\n    site_url: "{base_url}/{o}/"\n'
        f"    tags: [ai-only]\n"
        for o in outlets
    )


@pytest.fixture
def feeds(tmp_path: Path) -> Iterator[CorpusServer]:
    """Today's feeds: published inside today's digest window and before now."""
    now = datetime.now(UTC)
    start, end = window(now.date(), DigestParams(timezone="UTC", publish_time="07:00"))
    published = min(now, end) - timedelta(minutes=30)
    assert start < published - timedelta(minutes=5)
    _write_feeds(tmp_path / "feeds", published)
    with CorpusServer(tmp_path / "feeds") as server:
        yield server


# --- a local SMTP server ------------------------------------------------------------------


# --- the daemon process -------------------------------------------------------------------


def _env(tmp_path: Path, sources: Path, **extra: str) -> dict[str, str]:
    """A clean environment: none of the caller's DIGEST_* settings, a fast schedule."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    env.update(
        DIGEST_DB=str(tmp_path / "digest.db"),
        DIGEST_SOURCES=str(sources),
        DIGEST_DIGESTS_DIR=str(tmp_path / "digests"),
        DIGEST_SITE_DIR=str(tmp_path / "site"),
        DIGEST_TIMEZONE="UTC",
        DIGEST_LOG_LEVEL="INFO",
        DIGEST_LOG_FORMAT="json",
        DIGEST_SCHEDULE_FETCH_EVERY_S="1",
        DIGEST_SCHEDULE_BUILD_EVERY_S="2",
        DIGEST_EXTRACT_WORKERS="1",
        DIGEST_RETRIES="0",
    )
    env.update(extra)
    return env


class Daemon:
    """`python -m pipeline schedule` in a subprocess, with its log lines parsed as they come."""

    def __init__(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "schedule"],
            env=env,
            cwd=REPO,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.events: list[Event] = []
        self.other: list[str] = []  # lines that are not JSON (a crash would show here)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.other.append(line.rstrip())

    def wait_for(
        self, check: Callable[[Event], bool], timeout: float = 15.0, since: int = 0
    ) -> Event:
        """The first event from index ``since`` on that passes ``check``."""
        deadline = time.monotonic() + timeout
        seen = since
        while time.monotonic() < deadline:
            events = list(self.events)
            for event in events[seen:]:
                if check(event):
                    return event
            seen = len(events)
            if self.proc.poll() is not None:
                self._reader.join(2)
                pytest.fail(f"daemon exited with {self.proc.returncode}: {self._tail()}")
            time.sleep(0.05)
        pytest.fail(f"no matching event within {timeout} s: {self._tail()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> float:
        """Send ``sig`` and wait for the exit of the daemon and all its processes.

        Returns the seconds the daemon took. Its extraction workers must follow
        it even after a SIGKILL (they arm a parent-death signal); any left after
        a few seconds fails the test.
        """
        family = _descendants(self.proc.pid)
        started = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(timeout)
        took = time.monotonic() - started
        deadline = time.monotonic() + 5
        while (left := [pid for pid in family if _alive(pid)]) and time.monotonic() < deadline:
            time.sleep(0.05)
        _kill(left)
        assert not left, f"processes outlived the daemon ({sig!r}): {left}"
        self._close()
        return took

    def _close(self) -> None:
        """Close our end of the log pipe once every writer (daemon, workers) has gone."""
        self._reader.join(10)
        assert self.proc.stderr is not None
        if self._reader.is_alive():  # closing under a blocked reader would hang
            pytest.fail(f"something still writes to the daemon's log: {_descendants(os.getpid())}")
        self.proc.stderr.close()

    def errors(self) -> list[Event]:
        return [e for e in self.events if e["level"] == "error"]

    def _tail(self) -> str:
        return "\n".join([json.dumps(e) for e in self.events[-8:]] + self.other[-20:])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.stop(signal.SIGKILL)


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren, ...), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie awaiting its reaper counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _kill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def daemons() -> Iterator[Callable[[dict[str, str]], Daemon]]:
    """Start daemons; any still running at the end of the test is killed."""
    started: list[Daemon] = []

    def start(env: dict[str, str]) -> Daemon:
        started.append(Daemon(env))
        return started[-1]

    yield start
    for daemon in started:
        daemon.kill()


def _job(name: str, outcome: str = "ok", **fields: Any) -> Callable[[Event], bool]:
    def check(event: Event) -> bool:
        return (
            event.get("job") == name
            and event.get("outcome") == outcome
            and all(event.get(k) == v for k, v in fields.items())
        )

    return check


def _integrity(db: Path) -> str:
    conn = sqlite3.connect(f"file:{db}?mode=rw", uri=True)  # never creates an empty one
    try:
        return str(conn.execute("pragma integrity_check").fetchone()[0])
    finally:
        conn.close()


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# --- the daemon end to end ----------------------------------------------------------------


def test_fetches_builds_and_sends_on_schedule_then_stops_cleanly(
    tmp_path, feeds, smtp_server, daemons
):
    inbox, port = smtp_server
    sources = tmp_path / "sources.yaml"
    sources.write_text(_sources_yaml(feeds.base_url), encoding="utf-8")
    env = _env(
        tmp_path,
        sources,
        DIGEST_FETCH_PAGES="false",
        DIGEST_SMTP_HOST="127.0.0.1",
        DIGEST_SMTP_PORT=str(port),
        DIGEST_SMTP_SECURITY="none",
        DIGEST_MAIL_FROM="digest@127.0.0.1",
        DIGEST_MAIL_TO="reader@127.0.0.1",
    )
    daemon = daemons(env)
    daemon.wait_for(lambda e: e["msg"] == "daemon started")
    fetched = daemon.wait_for(_job("fetch", new=6))
    assert fetched["sources"] == 3 and fetched["errors"] == 0
    feed_lines = [e for e in daemon.events if e["msg"] == "feed"]
    assert {e["source"] for e in feed_lines} == set(OUTLETS)
    for line in feed_lines:  # one line per source: who, where, how it went, how long
        assert line["url"].startswith(feeds.base_url)
        assert (line["status"], line["outcome"], line["new"]) == (200, "ok", 2)
        assert isinstance(line["ms"], int)

    sent = daemon.wait_for(_job("build", mail="sent"))
    assert sent["stories"] >= 1 and sent["recipients"] == 1
    today = datetime.now(UTC).date().isoformat()
    digest = json.loads((tmp_path / "digests" / f"{today}.json").read_text(encoding="utf-8"))
    assert any("Nimbus-7" in s["headline"] for s in digest["stories"])
    assert (tmp_path / "site" / "index.html").is_file()
    # the next builds publish again but never email the same day twice
    daemon.wait_for(_job("build", mail="sent before"))
    assert len(inbox.received) == 1
    _, recipients, raw = inbox.received[0]
    assert recipients == ["reader@127.0.0.1"]
    assert (
        "Nimbus-7"
        in message_from_bytes(raw, policy=policy.default).get_body(("plain",)).get_content()
    )

    second = subprocess.run(
        [sys.executable, "-m", "pipeline", "schedule"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert second.returncode != 0
    assert "already running" in second.stderr
    assert f"pid {daemon.proc.pid}" in second.stderr
    assert schedule.running_pid(tmp_path / "digest.db") == daemon.proc.pid

    took = daemon.stop(signal.SIGTERM)
    assert took < 5, f"SIGTERM took {took:.1f} s"
    assert daemon.proc.returncode == 0
    messages = [e["msg"] for e in daemon.events]
    assert messages[-1] == "daemon stopped" and "stopping" in messages
    # a job already running may finish its step and log it; nothing new starts after the signal
    assert set(messages[messages.index("stopping") + 1 : -1]) <= {"feed", "fetch", "build"}
    assert daemon.errors() == [] and daemon.other == []
    assert _integrity(tmp_path / "digest.db") == "ok"
    assert schedule.running_pid(tmp_path / "digest.db") is None  # the lock went with it


def test_a_failing_job_is_logged_with_its_cause_and_the_daemon_goes_on(tmp_path, feeds, daemons):
    sources = tmp_path / "sources.yaml"
    sources.write_text(_sources_yaml(feeds.base_url), encoding="utf-8")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the site folder should go", encoding="utf-8")
    daemon = daemons(
        _env(
            tmp_path,
            sources,
            DIGEST_FETCH_PAGES="false",
            DIGEST_SCHEDULE_BUILD_EVERY_S="1",
            DIGEST_SITE_DIR=str(blocker / "site"),
        )
    )
    failed = daemon.wait_for(_job("build", outcome="error"))
    assert "not-a-folder" in failed["error"]
    assert failed["day"] == datetime.now(UTC).date().isoformat()

    # the sources file turns invalid: the error names file and line, fetching goes on
    sources.write_text("sources:\n  - name: broken\n    url: not a url\n", encoding="utf-8")
    invalid = daemon.wait_for(lambda e: e["msg"].startswith("sources file invalid"))
    assert f"{sources}:3" in invalid["error"]
    enabled = _query(tmp_path / "digest.db", "select name from sources where enabled = 1")
    assert sorted(name for (name,) in enabled) == sorted(OUTLETS)  # the stored ones stay

    blocker.unlink()  # the operator fixes the folder: the next build succeeds
    daemon.wait_for(_job("build"))
    assert daemon.proc.poll() is None
    assert (blocker / "site" / "index.html").is_file()
    assert daemon.stop() < 5
    assert daemon.proc.returncode == 0
    assert _integrity(tmp_path / "digest.db") == "ok"


def _stored(db: Path) -> dict[str, int]:
    """Every URL an article is stored or known under → its article id."""
    urls = {urlsplit(u).path: i for u, i in _query(db, "select canonical_url, id from articles")}
    aliases = _query(db, "select url, article_id from url_aliases")
    return urls | {urlsplit(u).path: i for u, i in aliases}


def _extracted(db: Path) -> int:
    return int(_query(db, "select count(*) from articles where extracted_at is not null")[0][0])


def test_sigterm_and_sigkill_mid_round_lose_and_duplicate_nothing(tmp_path, daemons):
    with demo.serve_corpus() as server:
        slow_demo_pages(server, 0.05)
        db, sources = demo.prepare(tmp_path, server.base_url)
        env = _env(tmp_path, sources, DIGEST_DB=str(db), DIGEST_SCHEDULE_BUILD_EVERY_S="3600")

        # 1. SIGTERM while pages are being fetched: out within seconds, nothing half-written
        first = daemons(env)
        first.wait_for(lambda e: e["msg"] == "feed")
        took = first.stop(signal.SIGTERM)
        assert took < 5, f"SIGTERM took {took:.1f} s"
        assert first.proc.returncode == 0
        assert any(_job("fetch", outcome="interrupted")(e) for e in first.events)
        assert _integrity(db) == "ok"
        after_term = _stored(db)
        assert after_term, "the first round stored nothing before the signal"

        # 2. SIGKILL in the middle of extraction: the kernel's lock and SQLite's journal
        second = daemons(env)
        second.wait_for(lambda e: e["msg"] == "daemon started")
        baseline = _extracted(db)
        deadline = time.monotonic() + 15
        while _extracted(db) <= baseline and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _extracted(db) > baseline, "the second round never extracted a page"
        second.stop(signal.SIGKILL)
        assert _integrity(db) == "ok"
        after_kill = _stored(db)
        assert after_term.keys() <= after_kill.keys()

        # 3. a fresh start finishes the work: every article once, none lost
        third = daemons(env)
        third.wait_for(lambda e: e["msg"] == "daemon started")
        deadline = time.monotonic() + 25
        while time.monotonic() < deadline:
            pending = _query(
                db,
                "select (select count(*) from sources where last_fetch_at is null) + "
                "(select count(*) from articles where extracted_at is null or story_id is null)",
            )[0][0]
            if not pending and any(_job("fetch")(e) for e in third.events):
                break
            time.sleep(0.1)
        assert third.stop() < 5
        assert third.errors() == []
    assert _integrity(db) == "ok"
    final = _stored(db)
    assert after_kill.keys() <= final.keys()
    canonical = [urlsplit(u).path for (u,) in _query(db, "select canonical_url from articles")]
    assert len(canonical) == len(set(canonical))
    assert sorted(canonical) == sorted(k.path for k in demo.answer_key())


def test_a_daemon_started_after_the_publication_time_catches_up_once(tmp_path, feeds, daemons):
    """Started 10 minutes after today's publication time with nothing built: it builds at once."""
    now = datetime.now(UTC)
    offset = 12 - now.hour  # a fixed zone where it is about noon, far from midnight
    zone = f"Etc/GMT{-offset:+d}" if offset else "UTC"
    local = now.astimezone(ZoneInfo(zone))
    sources = tmp_path / "sources.yaml"
    sources.write_text(_sources_yaml(feeds.base_url), encoding="utf-8")
    env = _env(
        tmp_path,
        sources,
        DIGEST_FETCH_PAGES="false",
        DIGEST_TIMEZONE=zone,
        DIGEST_PUBLISH_TIME=(local - timedelta(minutes=10)).strftime("%H:%M"),
        DIGEST_SCHEDULE_BUILD_EVERY_S="0",
        DIGEST_SCHEDULE_FETCH_EVERY_S="60",
    )
    daemon = daemons(env)
    started = daemon.wait_for(lambda e: e["msg"] == "daemon started")
    assert started["catch_up"] is True
    assert datetime.fromisoformat(started["next_build"]) <= datetime.now(UTC)
    built = daemon.wait_for(_job("build"))
    assert built["day"] == local.date().isoformat()
    assert daemon.stop(signal.SIGINT) < 5  # Ctrl-C stops it as cleanly as SIGTERM
    assert daemon.proc.returncode == 0
    assert [e["signal"] for e in daemon.events if e["msg"] == "stopping"] == ["SIGINT"]
    # a restart the same day finds it built: no second catch-up
    again = daemons(env)
    restarted = again.wait_for(lambda e: e["msg"] == "daemon started")
    assert restarted["catch_up"] is False
    assert datetime.fromisoformat(restarted["next_build"]).date() == local.date() + timedelta(1)
    assert again.stop() < 5


# --- the trigger, the catch-up rule and the lock, in-process ------------------------------


def _fires(settings: Settings, start: datetime, count: int) -> list[datetime]:
    trigger = schedule.build_trigger(settings)
    fires: list[datetime] = []
    previous, now = None, start
    for _ in range(count):
        when = trigger.get_next_fire_time(previous, now)
        fires.append(when)
        previous = now = when
    return fires


@pytest.mark.parametrize("publish_time", ["02:30", "07:00"])
def test_the_build_follows_the_local_clock_once_a_day_across_daylight_saving(publish_time):
    settings = replace(Settings(), timezone="Europe/Berlin", publish_time=publish_time)
    zone = ZoneInfo("Europe/Berlin")
    for start in (datetime(2025, 3, 28, 12, tzinfo=zone), datetime(2025, 10, 24, 12, tzinfo=zone)):
        fires = _fires(settings, start, 5)
        days = [f.astimezone(zone).date() for f in fires]
        assert days == [start.date() + timedelta(days=n) for n in range(1, 6)], fires
        if publish_time == "07:00":  # an existing wall-clock time is kept on both sides
            assert {f.astimezone(zone).strftime("%H:%M") for f in fires} == {"07:00"}
        offsets = {f.astimezone(zone).utcoffset() for f in fires}
        assert len(offsets) == 2  # the change happened inside the span


def test_next_build_from_settings_alone():
    settings = replace(Settings(), timezone="America/New_York", publish_time="06:15")
    now = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)  # 07:00 in New York: today's has passed
    assert schedule.next_build(settings, now) == datetime(
        2025, 1, 11, 6, 15, tzinfo=ZoneInfo("America/New_York")
    )
    fast = replace(settings, schedule_build_every_s=30)
    assert schedule.next_build(fast, now) is not None


@pytest.mark.parametrize(
    "change",
    [{"timezone": "Mars/Olympus"}, {"publish_time": "7am"}, {"publish_time": "24:00"}],
)
def test_bad_schedule_settings_are_refused_with_their_name(change):
    with pytest.raises(ConfigError, match="timezone|publish_time"):
        schedule.build_trigger(replace(Settings(), **change))


def test_catch_up_only_within_the_grace_period_and_only_for_unfinished_days():
    settings = replace(Settings(), timezone="UTC", publish_time="07:00", schedule_grace_min=60)
    store = Store.memory()
    today = date(2025, 6, 2)
    at = lambda hh, mm: datetime(2025, 6, 2, hh, mm, tzinfo=UTC)  # noqa: E731
    assert not schedule._missed_today(store, settings, at(6, 59))  # not yet time
    assert schedule._missed_today(store, settings, at(7, 30))
    assert not schedule._missed_today(store, settings, at(8, 1))  # past the grace period
    store.digests.record_built(today, [], at(7, 1))
    assert not schedule._missed_today(store, settings, at(7, 30))  # built already
    mailing = replace(settings, smtp_host="127.0.0.1")
    assert schedule._missed_today(store, mailing, at(7, 30))  # built but not sent
    store.digests.mark_sent(today, at(7, 2))
    assert not schedule._missed_today(store, mailing, at(7, 30))
    assert not schedule._missed_today(store, replace(settings, schedule_build_every_s=5), at(7, 30))


def test_the_lock_names_its_holder_and_is_released_on_exit(db_target):
    """A lock file beside an SQLite database, an advisory lock in a PostgreSQL one."""
    Store.open(db_target).close()
    assert schedule.running_pid(db_target) is None
    with schedule.instance_lock(db_target):
        assert schedule.running_pid(db_target) == os.getpid()
        with (
            pytest.raises(StoreError, match=f"already running.*{os.getpid()}"),
            schedule.instance_lock(db_target),
        ):
            pass
    assert schedule.running_pid(db_target) is None


def test_a_lock_file_that_cannot_be_made_is_a_clear_error(tmp_path):
    missing = tmp_path / "missing" / "digest.db"
    with pytest.raises(StoreError, match="lock file"), schedule.instance_lock(missing):
        pass
