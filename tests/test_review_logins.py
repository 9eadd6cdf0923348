"""Login throttling: the counts in a real SQLite file, and real ``digest review`` processes.

The store tests move the clock by hand (windows, growing cool-downs, a reset
on success); the server tests guess passwords over HTTP against desk
processes started as an operator starts them, to show that the state lives in
the database: a second process, and a restarted one, refuse the same guesser.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from pipeline.review import add_editor
from pipeline.store import Store
from pipeline.store.logins import Throttle

REPO = Path(__file__).resolve().parents[1]
PASSWORD = "correct horse battery"
T0 = datetime(2024, 12, 18, 9, 0, tzinfo=UTC)
KEYS = ("name:ada", "address:127.0.0.1")


@pytest.fixture
def logins(tmp_path) -> Iterator[Store]:
    with Store.open(tmp_path / "desk.db") as store:
        yield store


def _fail(store: Store, times: int, at: datetime, keys=KEYS) -> datetime | None:
    started = None
    for _ in range(times):
        started = store.logins.fail(keys, at, Throttle()) or started
    return started


def test_five_failures_start_a_cool_down_that_ends(logins):
    assert _fail(logins, 4, T0) is None
    assert logins.logins.locked_until(KEYS, T0) is None
    until = _fail(logins, 1, T0)
    assert until == T0 + timedelta(minutes=1)
    assert logins.logins.locked_until(KEYS, T0 + timedelta(seconds=59)) == until
    assert logins.logins.locked_until(KEYS, T0 + timedelta(seconds=61)) is None


def test_each_further_cool_down_is_longer_up_to_the_cap(logins):
    at, lengths = T0, []
    for _ in range(8):
        until = _fail(logins, 5, at)
        assert until is not None
        lengths.append(until - at)
        at = until + timedelta(seconds=1)
    assert lengths == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)]


def test_a_long_quiet_forgets_the_strikes(logins):
    first = _fail(logins, 5, T0)
    assert _fail(logins, 5, first + timedelta(minutes=1)) == first + timedelta(minutes=3)
    # Quiet for longer than the window and the longest cool-down: back to one minute.
    later = first + timedelta(hours=2)
    assert _fail(logins, 5, later) == later + timedelta(minutes=1)
    assert logins.db.execute("select count(*) from login_failures").fetchone()[0] == 2


def test_failures_outside_the_window_are_forgotten(logins):
    _fail(logins, 4, T0)
    assert _fail(logins, 4, T0 + timedelta(minutes=16)) is None
    assert logins.logins.locked_until(KEYS, T0 + timedelta(minutes=16)) is None


def test_one_address_guessing_many_names_is_refused_for_every_name(logins):
    for number in range(5):
        logins.logins.fail((f"name:user{number}", "address:10.0.0.9"), T0, Throttle())
    assert logins.logins.locked_until(("name:ada", "address:10.0.0.9"), T0) is not None
    assert logins.logins.locked_until(("name:ada", "address:10.0.0.8"), T0) is None


def test_a_successful_login_resets_the_count_and_the_strikes(logins):
    _fail(logins, 5, T0)
    logins.logins.succeed(KEYS)
    later = T0 + timedelta(minutes=2)
    assert _fail(logins, 4, later) is None
    assert _fail(logins, 1, later) == later + timedelta(minutes=1)  # a first strike again


# -- real desk processes -----------------------------------------------------------


class DeskProcess:
    """``python -m pipeline review`` on a free loopback port, its log kept."""

    def __init__(self, db: Path, log: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log = log
        env = {**os.environ, "DIGEST_LOG_FORMAT": "logfmt", "DIGEST_REVIEW_SECRET": "s" * 32}
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "review", "--db", str(db)]
                + ["--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
            )
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, log.read_text()
            try:
                httpx.get(f"{self.url}/login", timeout=1)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError(f"the desk did not start: {log.read_text()}")

    def login(self, name: str, password: str) -> httpx.Response:
        """One login as a browser makes it: the form page (for its token), then the post."""
        with httpx.Client(base_url=self.url, timeout=10) as client:
            page = client.get("/login")
            found = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert found, page.text
            form = {"csrf": found.group(1), "name": name, "password": password, "next": "/"}
            return client.post("/login", data=form)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


@pytest.fixture
def desk_db(tmp_path) -> Path:
    path = tmp_path / "desk.db"
    with Store.open(path) as store:
        add_editor(store, "ada", PASSWORD)
    return path


@pytest.fixture
def desks(desk_db, tmp_path) -> Iterator[list[DeskProcess]]:
    started: list[DeskProcess] = []
    yield started
    for desk in started:
        if desk.proc.poll() is None:
            desk.stop()


def test_twenty_wrong_passwords_check_five_and_refuse_the_rest(desk_db, desks, tmp_path):
    log = tmp_path / "desk.log"
    first = DeskProcess(desk_db, log)
    second = DeskProcess(desk_db, log)
    desks += [first, second]
    answers = [first.login("ada", f"guess number {n}") for n in range(20)]
    statuses = [a.status_code for a in answers]
    assert statuses == [401] * 5 + [429] * 15
    waits = [int(a.headers["retry-after"]) for a in answers[5:]]
    assert all(0 < wait <= 60 for wait in waits)
    assert "try again in" in answers[-1].text

    # The right password is refused during the cool-down, by this desk and by another one.
    assert first.login("ada", PASSWORD).status_code == 429
    assert second.login("ada", PASSWORD).status_code == 429
    # ... and by a restarted one: the state lives in the database.
    first.stop()
    restarted = DeskProcess(desk_db, log)
    desks.append(restarted)
    refused = restarted.login("ada", PASSWORD)
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) <= waits[0]

    refusals = [line for line in log.read_text().splitlines() if "login refused" in line]
    assert len(refusals) == 15 + 3
    assert all("'ada'" in line and "127.0.0.1" in line for line in refusals)


def test_a_good_login_still_works_below_the_limit_and_resets_it(desk_db, desks, tmp_path):
    desk = DeskProcess(desk_db, tmp_path / "desk.log")
    desks.append(desk)
    assert [desk.login("ada", "wrong password").status_code for _ in range(4)] == [401] * 4
    assert desk.login("ada", PASSWORD).status_code == 303
    # The count started again: four more failures are checked, not refused.
    assert [desk.login("ada", "wrong password").status_code for _ in range(4)] == [401] * 4
    assert desk.login("ada", PASSWORD).status_code == 303
