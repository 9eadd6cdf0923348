"""Atomic file writes for everything the render stage publishes.

A reader (a web server, rsync, a mail preview) must never see half a file, so
each file is written to a temporary file in the same folder and moved into
place with ``os.replace``, which is atomic on one file system. A file whose
bytes would not change is left alone: rebuilding the whole site every day
then rewrites only what changed, and mtimes stay meaningful for sync tools.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> bool:
    """Write ``data`` to ``path`` atomically; False when the file already held exactly it."""
    try:
        if path.stat().st_size == len(data) and path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
