"""The bundled demo: recorded feeds and pages served on 127.0.0.1, and the pipeline run on them.

The corpus ships inside the package (like Datasette's fixtures), so ``digest
demo`` works from an installed wheel with no network. ``answer_key()`` says
which article belongs to which story, so the demo doubles as a quality check.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .server import CorpusServer

CORPUS = Path(__file__).parent / "corpus"


def serve_corpus(port: int = 0) -> CorpusServer:
    """Start serving the bundled corpus on 127.0.0.1 (0 picks a free port)."""
    return CorpusServer(CORPUS, port=port).start()


def write_sources(base_url: str, path: Path) -> Path:
    """Write the demo's sources file with the server's real base URL filled in."""
    template = (CORPUS / "sources.yaml").read_text(encoding="utf-8")
    path.write_text(template.replace("{base}", base_url), encoding="utf-8")
    return path


@dataclass(frozen=True, slots=True)
class KeyedArticle:
    """One article of the answer key: its page path and the story it belongs to."""

    path: str
    outlet: str
    story: str | None
    duplicate_of: str | None
    topic: str
    headline_only: bool


def answer_key() -> list[KeyedArticle]:
    """The hand-made truth about the corpus: which pages cover which story."""
    data: dict[str, Any] = json.loads((CORPUS / "answer_key.json").read_text(encoding="utf-8"))
    return [
        KeyedArticle(
            path=a["path"],
            outlet=a["outlet"],
            story=a.get("story"),
            duplicate_of=a.get("duplicate_of"),
            topic=a.get("topic", "ai"),
            headline_only=bool(a.get("headline_only", False)),
        )
        for a in data["articles"]
    ]


def prepare(out_dir: Path, base_url: str) -> tuple[Path, Path]:
    """A fresh demo folder: an empty database path and the demo sources file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / "demo.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return db, write_sources(base_url, out_dir / "sources.yaml")
