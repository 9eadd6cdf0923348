"""Structured logs: one line per event, fields as logfmt or JSON, the level from settings."""

from __future__ import annotations

import io
import json
import logging
import shlex
import sys
from collections.abc import Iterator

import pytest

from pipeline import logs

LOGGER = logging.getLogger("pipeline.test_logs")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Leave the root logger as pytest set it up, whatever a test configured."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {name: logging.getLogger(name).level for name in ("apscheduler", "httpx", "httpcore")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, value in quiet.items():
        logging.getLogger(name).setLevel(value)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_logfmt_puts_the_fields_of_one_event_on_one_line(capsys):
    logs.configure("INFO", "logfmt")
    LOGGER.info(
        "feed",
        extra={
            "source": "Meridian Wire",
            "url": "http://127.0.0.1:8000/feed.xml?a=1&b=2",
            "status": 200,
            "new": 3,
            "ms": 41,
            "outcome": "ok",
            "error": 'quote " and\nnewline',
        },
    )
    [line] = _lines(capsys)
    fields = dict(part.split("=", 1) for part in shlex.split(line))
    assert fields["level"] == "info"
    assert fields["logger"] == "pipeline.test_logs"
    assert fields["msg"] == "feed"
    assert fields["source"] == "Meridian Wire"  # quoted, because of the space
    assert fields["url"] == "http://127.0.0.1:8000/feed.xml?a=1&b=2"
    assert (fields["status"], fields["new"], fields["ms"], fields["outcome"]) == (
        "200",
        "3",
        "41",
        "ok",
    )
    assert 'error="quote \\" and\\nnewline"' in line  # escaped, still one line
    assert fields["ts"].endswith("+00:00")


def test_json_lines_parse_and_a_traceback_stays_on_the_line(capsys):
    logs.configure("INFO", "json")
    try:
        raise ValueError("broken\nin two lines")
    except ValueError:
        LOGGER.error("job failed", extra={"job": "build", "ms": 12}, exc_info=True)
    [line] = _lines(capsys)
    event = json.loads(line)
    assert event["msg"] == "job failed"
    assert event["level"] == "error"
    assert (event["job"], event["ms"]) == ("build", 12)
    assert "ValueError: broken" in event["traceback"]
    assert "Traceback" in event["traceback"]


def test_the_level_filters_and_a_second_configure_replaces_the_first(capsys):
    logs.configure("WARNING", "logfmt")
    logs.configure("WARNING", "json")
    ours = [h for h in logging.getLogger().handlers if type(h).__module__ == logs.__name__]
    assert len(ours) == 1
    LOGGER.info("hidden")
    LOGGER.warning("shown %s", "once", extra={"url": "http://127.0.0.1/x"})
    lines = _lines(capsys)
    assert [json.loads(line)["msg"] for line in lines] == ["shown once"]


def test_chatty_libraries_stay_at_warning_unless_debugging(capsys):
    logs.configure("INFO", "logfmt")
    logging.getLogger("apscheduler.scheduler").info("Added job")
    logging.getLogger("apscheduler.scheduler").warning("Run time of job was missed")
    assert [line.split("msg=")[1] for line in _lines(capsys)] == ['"Run time of job was missed"']
    logs.configure("DEBUG", "logfmt")
    logging.getLogger("apscheduler.scheduler").info("Added job")
    assert len(_lines(capsys)) == 1


def test_the_handler_writes_to_the_current_stderr(capsys, monkeypatch):
    """Test runners swap and close standard error; lines go to whichever is current."""
    logs.configure("INFO", "logfmt")
    swapped = io.StringIO()
    monkeypatch.setattr(sys, "stderr", swapped)
    LOGGER.info("while swapped")
    monkeypatch.undo()
    assert "while swapped" in swapped.getvalue()
    swapped.close()  # a handler bound to it would now fail
    LOGGER.info("after the swap")
    err = capsys.readouterr().err
    assert "after the swap" in err
    assert "while swapped" not in err
    assert "Logging error" not in err
