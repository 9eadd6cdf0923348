"""Operations: status, prune and backup on real SQLite files, the CLI over them, and deploy/."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import threading
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from cogapp import Cog

from pipeline import ops, run, schedule
from pipeline.cli import cli
from pipeline.config import SETTINGS, Settings, load_settings
from pipeline.errors import ConfigError, StoreError
from pipeline.models import Entry, ExtractedPage, Source
from pipeline.store import Store

from . import postgres

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
NOW = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
SOURCES = [
    Source(name="Orbit Wire", url="http://127.0.0.1:9/orbit.xml"),
    Source(name="Tensor Times", url="http://127.0.0.1:9/tensor.xml"),
    Source(name="Model Watch", url="http://127.0.0.1:9/watch.xml"),
]


def _opened(path: Path) -> Store:
    store = Store.open(path)
    store.sources.sync(SOURCES)
    return store


def _ids(store: Store) -> dict[str, int]:
    return {s.name: s.id for s in store.sources.all() if s.id is not None}


# --- status --------------------------------------------------------------------------------


def test_status_reports_fetches_failures_digests_and_the_next_runs(db_target):
    store = _opened(db_target)
    ids = _ids(store)
    log = store.sources.log_fetch
    log(
        ids["Orbit Wire"],
        "http://127.0.0.1:9/orbit.xml",
        "feed",
        NOW - timedelta(days=3),
        200,
        9,
        1,
        5,
        1,
        None,
    )
    log(
        ids["Orbit Wire"],
        "http://127.0.0.1:9/orbit.xml",
        "feed",
        NOW - timedelta(hours=2),
        200,
        4,
        1,
        5,
        1,
        None,
    )
    log(
        ids["Orbit Wire"],
        "http://127.0.0.1:9/a.html",
        "page",
        NOW - timedelta(hours=2),
        200,
        0,
        1,
        5,
        1,
        None,
    )
    log(
        ids["Orbit Wire"],
        "http://127.0.0.1:9/b.html",
        "page",
        NOW - timedelta(hours=2),
        404,
        0,
        1,
        5,
        1,
        "HTTP 404",
    )
    log(
        ids["Tensor Times"],
        "http://127.0.0.1:9/tensor.xml",
        "feed",
        NOW - timedelta(hours=1),
        500,
        0,
        0,
        5,
        4,
        "HTTP 500",
    )
    healthy, failing, due = (
        store.sources.get(ids[n]) for n in ("Orbit Wire", "Tensor Times", "Model Watch")
    )
    store.sources.record_health(
        replace(healthy, last_status=200, next_fetch_at=NOW + timedelta(minutes=40))
    )
    store.sources.record_health(
        replace(
            failing,
            last_status=500,
            consecutive_failures=3,
            last_error="HTTP 500",
            next_fetch_at=NOW + timedelta(hours=2),
        )
    )
    store.sources.record_health(replace(due, next_fetch_at=NOW - timedelta(minutes=1)))
    store.digests.record_built(date(2025, 6, 1), [1, 2], NOW - timedelta(days=1))
    store.digests.mark_sent(date(2025, 6, 1), NOW - timedelta(days=1))
    store.digests.record_built(date(2025, 6, 2), [3], NOW - timedelta(hours=5))
    settings = replace(Settings(), db=db_target, timezone="Europe/Berlin", publish_time="07:00")

    status = ops.status(store, settings, now=NOW)

    assert status.daemon_pid is None
    assert status.last_fetch_at == NOW - timedelta(hours=1)
    assert (status.recent.feeds, status.recent.feeds_failed, status.recent.new_entries) == (2, 1, 4)
    assert (status.recent.pages, status.recent.pages_failed) == (2, 1)
    assert [s.name for s in status.failing] == ["Tensor Times"]
    assert status.failing[0].last_error == "HTTP 500"
    assert (status.due_now, status.next_fetch_at) == (1, NOW)
    assert status.last_built == (date(2025, 6, 2), NOW - timedelta(hours=5))
    assert status.last_sent == (date(2025, 6, 1), NOW - timedelta(days=1))
    # 14:00 in Berlin: the next build is tomorrow at 07:00 Berlin time
    assert status.next_build_at == datetime(2025, 6, 3, 7, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    assert status.counts["sources"] == 3 and status.counts["fetches"] == 5
    assert status.size_bytes > 0
    encoded = json.loads(json.dumps(status.as_dict()))
    assert encoded["failing"][0]["failures"] == 3
    assert encoded["last_sent"] == {"date": "2025-06-01", "sent_at": "2025-06-01T12:00:00+00:00"}
    assert encoded["daemon_running"] is False

    with schedule.instance_lock(settings.db):  # a daemon holds the database
        assert ops.status(store, settings, now=NOW).daemon_pid == os.getpid()
    store.close()


def test_status_of_an_empty_database(tmp_path):
    store = Store.open(tmp_path / "empty.db")
    status = ops.status(store, replace(Settings(), db=str(tmp_path / "empty.db")), now=NOW)
    assert (status.last_fetch_at, status.last_built, status.last_sent) == (None, None, None)
    assert (status.due_now, status.next_fetch_at, status.failing) == (0, None, ())
    assert status.next_build_at is not None
    store.close()


# --- prune ---------------------------------------------------------------------------------

OLD_TEXT = "Zebracorn telemetry " + "old page text that takes room. " * 4000
NEW_TEXT = "Quasarwing benchmark " + "fresh page text still in use. " * 50


def _article(store: Store, source: str, slug: str, title: str, text: str, when: datetime) -> int:
    ids = store.articles.insert_entries(
        _ids(store)[source],
        [
            (
                Entry(url=f"http://127.0.0.1:9/{slug}", guid=slug, title=title, published_at=when),
                f"http://127.0.0.1:9/{slug}",
            )
        ],
        when,
    )
    store.articles.set_extracted(ids[0], ExtractedPage(text=f"{title}. {text}"), None, when)
    return ids[0]


def test_prune_drops_old_texts_and_fetch_log_but_keeps_stories_citations_and_digests(db_target):
    store = _opened(db_target)
    old, new = NOW - timedelta(days=100), NOW - timedelta(days=1)
    old_ids = [
        _article(
            store, "Orbit Wire", "old-1", "Orbital Labs releases Nimbus-7 model", OLD_TEXT, old
        ),
        _article(
            store, "Tensor Times", "old-2", "Nimbus-7 model released by Orbital Labs", OLD_TEXT, old
        ),
    ]
    new_ids = [
        _article(store, "Model Watch", "new-1", "Quasarwing chip benchmark results", NEW_TEXT, new)
    ]
    settings = replace(Settings(), db=db_target)
    run.update_stories(store, settings)
    story_ids = sorted({a.story_id for a in store.articles.all()})
    summaries = {i: store.stories.generated(i) for i in story_ids}
    assert all(s["summary"] is not None for s in summaries.values())
    store.digests.record_built(date(2025, 2, 22), story_ids, old)
    source = _ids(store)["Orbit Wire"]
    for when in (old, old, new):
        store.sources.log_fetch(
            source, "http://127.0.0.1:9/orbit.xml", "feed", when, 200, 1, 1, 1, 1, None
        )
    assert store.articles.search("zebracorn")

    with pytest.raises(ConfigError, match="clustering window"):
        ops.prune(store, settings, 2, now=NOW)  # shorter than the 72-hour window
    report = ops.prune(store, settings, 30, now=NOW)

    assert (report.texts_dropped, report.fetches_deleted) == (2, 2)
    if store.db.dialect == "sqlite":
        assert report.bytes_after < report.bytes_before - 200_000  # VACUUM gave the room back
    assert report.cutoff == NOW - timedelta(days=30)
    by_id = {a.id: a for a in store.articles.all()}
    assert all(by_id[i].text == "" and by_id[i].title and by_id[i].url for i in old_ids)
    assert all(by_id[i].text.startswith("Quasarwing chip") for i in new_ids)
    assert {i: store.stories.generated(i) for i in story_ids} == summaries
    assert store.digests.story_ids(date(2025, 2, 22)) == story_ids
    assert store.articles.search("zebracorn") == []  # the full-text index followed
    assert [a.id for a in store.articles.search("nimbus")]  # titles stay searchable
    assert [a.id for a in store.articles.search("quasarwing")] == new_ids
    assert ops.status(store, settings, now=NOW).counts["fetches"] == 1
    again = ops.prune(store, settings, 30, now=NOW)
    assert (again.texts_dropped, again.fetches_deleted) == (0, 0)
    store.close()
    if not db_target.startswith("postgresql://"):
        assert _check(Path(db_target)) == "ok"


# --- backup --------------------------------------------------------------------------------


def _check(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(conn.execute("pragma integrity_check").fetchone()[0])
    finally:
        conn.close()


def _scalar(path: Path, sql: str) -> object:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def test_backup_is_consistent_while_another_process_writes(tmp_path):
    live = tmp_path / "live.db"
    store = _opened(live)
    source = _ids(store)["Orbit Wire"]
    stop = threading.Event()
    written = []

    def writer() -> None:
        """Pairs of fetch rows, each pair in one transaction, as fast as it can."""
        other = Store.open(live)
        try:
            while not stop.is_set():
                with other.atomic():
                    for _ in range(2):
                        other.sources.log_fetch(
                            source, "http://127.0.0.1:9/x", "feed", NOW, 200, 0, 1, 1, 1, None
                        )
                written.append(2)
        finally:
            other.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        counts = []
        target = tmp_path / "backups" / "copy.db"
        target.parent.mkdir()
        target.write_bytes(b"an older, unrelated file")
        while len(counts) < 5 or not written:
            report = ops.backup(store, target)
            assert report.path == target and report.size_bytes == target.stat().st_size
            assert _check(target) == "ok"
            assert _scalar(target, "pragma journal_mode") == "delete"  # one self-contained file
            count = int(_scalar(target, "select count(*) from fetches"))
            assert count % 2 == 0, "the copy caught a transaction half-way"
            counts.append(count)
    finally:
        stop.set()
        thread.join(10)
    assert counts == sorted(counts) and counts[-1] > 0
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.db"]  # no temporary left
    assert _scalar(target, "select count(*) from sources") == 3
    with pytest.raises(StoreError, match="live database"):
        ops.backup(store, live)
    with pytest.raises(StoreError, match="does not exist"):
        ops.backup(store, tmp_path / "missing" / "copy.db")
    store.close()


def test_a_postgres_backup_is_a_dump_that_restores_to_the_same_rows(postgres_server, tmp_path):
    live = postgres_server.new_database()
    store = _opened(live)
    _article(store, "Orbit Wire", "a-1", "Nimbus-7 released", "Body text.", NOW)
    target = tmp_path / "copy.dump"
    report = ops.backup(store, target)
    assert report.size_bytes == target.stat().st_size > 0
    restored = postgres_server.new_database()
    subprocess.run(
        [postgres.find_bin("pg_restore") or "pg_restore", f"--dbname={restored}", str(target)],
        check=True,
        capture_output=True,
    )
    with Store.open(restored) as copy:
        assert [a.title for a in copy.articles.all()] == ["Nimbus-7 released"]
        assert [s.name for s in copy.sources.all()] == [s.name for s in SOURCES]
        assert [a.title for a in copy.articles.search("nimbus")] == ["Nimbus-7 released"]
    with pytest.raises(StoreError, match="does not exist"):
        ops.backup(store, tmp_path / "missing" / "copy.dump")
    store.close()


# --- the commands --------------------------------------------------------------------------


def _digest(*args: str) -> object:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"}, catch_exceptions=False)


def test_status_prune_and_backup_commands(tmp_path):
    db = str(tmp_path / "digest.db")
    _opened(Path(db)).close()
    result = _digest("status", "--json", "--db", db)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["counts"]["sources"] == 3
    text = _digest("status", "--db", db)
    assert "not running" in text.output and "next build" in text.output
    refused = _digest("prune", "--older-than", "1", "--db", db)
    assert refused.exit_code == 1 and "clustering window" in refused.output
    pruned = _digest("prune", "--older-than", "30", "--db", db)
    assert pruned.exit_code == 0 and "0 page texts" in pruned.output
    copied = _digest("backup", str(tmp_path / "copy.db"), "--db", db)
    assert copied.exit_code == 0 and _check(tmp_path / "copy.db") == "ok"


def test_schedule_refuses_bad_settings_in_one_line(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["schedule", "--db", str(tmp_path / "digest.db")],
        env={"DIGEST_PUBLISH_TIME": "7 o'clock"},
    )
    assert result.exit_code == 1
    assert result.output.strip() == 'Error: publish_time must be HH:MM, got "7 o\'clock"'
    assert not (tmp_path / "digest.db").exists()


# --- deploy/ -------------------------------------------------------------------------------


def _env_file(text: str, commented: bool) -> dict[str, str]:
    """VARIABLE=value lines (the commented-out ones when ``commented``)."""
    pattern = r"^#(DIGEST_[A-Z0-9_]+)=(.*)$" if commented else r"^(DIGEST_[A-Z0-9_]+)=(.*)$"
    return dict(re.findall(pattern, text, flags=re.MULTILINE))


def test_the_example_environment_lists_every_setting_with_its_default():
    path = DEPLOY / "digest.env.example"
    assert Cog().main(["cog", "--check", str(path)]) == 0, "run: cog -r deploy/digest.env.example"
    text = path.read_text(encoding="utf-8")
    generated = text.split("# ]]]")[1].split("# [[[end]]]")[0]
    listed = _env_file(generated, commented=True)
    assert list(listed) == [s.env for s in SETTINGS]
    defaults, _ = load_settings(env=listed)  # every value parses back to its default
    assert defaults == replace(Settings(), log_level=Settings().log_level.upper())
    active, origins = load_settings(env=_env_file(text, commented=False))
    assert {n for n, o in origins.items() if o != "default"} == {
        "db",
        "sources",
        "digests_dir",
        "site_dir",
        "log_level",
    }
    unit = _unit(DEPLOY / "digest.service")
    writable = unit["ReadWritePaths"][0].split()
    for folder in (Path(active.db).parent, Path(active.digests_dir), Path(active.site_dir)):
        assert any(folder.is_relative_to(w) for w in writable), folder


def _unit(path: Path) -> dict[str, list[str]]:
    """A systemd unit's keys → values (a key may repeat, as ExecStart= does)."""
    values: dict[str, list[str]] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_the_daemon_unit_is_hardened_and_restarts_on_failure():
    unit = _unit(DEPLOY / "digest.service")
    expected = {
        "Restart": "on-failure",
        "User": "digest",
        "EnvironmentFile": "/etc/digest/digest.env",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "NoNewPrivileges": "yes",
        "KillMode": "mixed",
    }
    assert {k: unit[k][0] for k in expected} == expected
    assert unit["ExecStart"] == ["/opt/digest/.venv/bin/digest schedule"]
    timer, oneshot = _unit(DEPLOY / "digest-run.timer"), _unit(DEPLOY / "digest-run.service")
    assert oneshot["Type"] == ["oneshot"] and oneshot["ExecStart"][0].endswith("digest run")
    assert "digest send" in oneshot["ExecStart"][1]
    assert timer["Persistent"] == ["true"] and timer["Unit"] == ["digest-run.service"]
    assert timer["OnCalendar"][0].startswith("*-*-* 07:00")  # publish_time's default
    assert Settings().publish_time == "07:00"


def test_the_image_runs_the_daemon_unprivileged_with_volumes():
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM python:3\.11-slim\b", text, flags=re.MULTILINE)
    users = re.findall(r"^USER (\S+)", text, flags=re.MULTILINE)
    assert users and users[-1] not in {"root", "0"}
    assert 'VOLUME ["/data", "/site"]' in text
    assert re.search(r'^CMD \["schedule"\]', text, flags=re.MULTILINE)
    env = dict(re.findall(r"(DIGEST_[A-Z_]+)=(\S+)", text))
    assert env["DIGEST_DB"].startswith("/data/") and env["DIGEST_SITE_DIR"] == "/site"
    assert set(env) <= {s.env for s in SETTINGS}


def test_the_image_backs_up_the_compose_database_with_a_client_as_new_as_its_server():
    """`digest backup` on PostgreSQL runs pg_dump, which refuses a newer server than itself."""
    runtime = (DEPLOY / "Dockerfile").read_text(encoding="utf-8").rsplit("\nFROM ", 1)[1]
    assert runtime.startswith("python:3.11-slim") and "postgresql-client" in runtime
    server = re.search(r"image: postgres:(\d+)", (DEPLOY / "compose.yaml").read_text("utf-8"))
    assert server and int(server.group(1)) <= 15  # Debian 12's client, under python:3.11-slim


def test_nginx_caches_the_stylesheet_long_and_the_front_page_briefly():
    text = (DEPLOY / "nginx.conf").read_text(encoding="utf-8")
    ages = {
        path: int(age)
        for path, age in re.findall(
            r"^\s+(/\S+)\s+\"public, max-age=(\d+)", text, flags=re.MULTILINE
        )
    }
    assert ages["/style.css"] >= 7 * 86400
    assert max(ages[p] for p in ("/index.html", "/feed.xml", "/archive.html")) <= 300
    assert "add_header Cache-Control $digest_cache_control always;" in text
