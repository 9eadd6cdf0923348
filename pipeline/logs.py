"""Structured logging: one line per event, as logfmt (``key=value``) or JSON lines.

A daemon's log is read by grep, journald and log shippers, not by people
scrolling a terminal, so every line carries the fields that matter (source,
URL, status, duration, outcome) as keys rather than prose. Modules log as
usual and pass their fields with ``extra=``::

    LOGGER.info("feed fetched", extra={"source": name, "url": url, "ms": 120, "outcome": "ok"})

becomes ``ts=… level=info logger=pipeline.run msg="feed fetched" source=… url=… ms=120
outcome=ok``. A traceback stays on the same line (escaped), so one event is
always one line.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

FORMATS = ("logfmt", "json")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_QUIET = ("apscheduler", "httpx", "httpcore")  # chatty at INFO; their warnings still show


def configure(level: str = "WARNING", fmt: str = "logfmt") -> None:
    """Send every log record to standard error, one structured line each, at ``level``.

    Calling it again replaces the handler it installed before (the CLI calls it
    once per command), and leaves handlers others installed (pytest's) alone.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _StderrHandler)]:
        root.removeHandler(handler)
    handler = _StderrHandler()
    handler.setFormatter(_JsonFormatter() if fmt == "json" else _LogfmtFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    # A logger's own level decides what reaches the root's handler, so the quiet
    # ones must be at least as strict as the root.
    quiet = logging.DEBUG if root.level <= logging.DEBUG else max(logging.WARNING, root.level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(quiet)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time, like ``logging.lastResort``.

    Test runners swap and close standard error between tests; a handler that
    kept the old stream would write to a closed file.
    """

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # StreamHandler.__init__ assigns it; the property always answers sys.stderr


def _fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, Any]:
    """The event as ordered fields: time, level, logger, message, the extras, the traceback."""
    fields: dict[str, Any] = {
        "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
        "level": record.levelname.lower(),
        "logger": record.name,
        "msg": record.getMessage(),
    }
    for key, value in record.__dict__.items():
        if key not in _STANDARD and not key.startswith("_"):
            fields[key] = value
    if record.exc_info:
        fields["traceback"] = formatter.formatException(record.exc_info)
    elif record.stack_info:
        fields["stack"] = record.stack_info
    return fields


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record, self), ensure_ascii=False, default=str)


class _LogfmtFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return " ".join(
            f"{key}={_logfmt_value(value)}" for key, value in _fields(record, self).items()
        )


def _logfmt_value(value: Any) -> str:
    """A bare word when it is one, else a double-quoted string with escapes (one line always)."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text and not any(c in text for c in ' ="\\') and text.isprintable():
        return text
    return json.dumps(text, ensure_ascii=False)
