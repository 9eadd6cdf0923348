"""Turn a labelled CSV (the format of the shared dev files) into a site the pipeline can fetch.

Why: the clustering benchmark feeds CSV rows straight into ``pipeline.cluster``;
the product fetches RSS, extracts pages with trafilatura, deduplicates and only
then clusters. Serving the same rows as real feeds and pages over loopback and
running ``digest fetch`` and ``digest cluster`` on them checks that what is
measured is what runs.

One RSS feed per outlet (``PUBLISHER`` or ``HOSTNAME``) lists its rows with the
row's ``TIMESTAMP`` as publication time; each row becomes one HTML page with
its ``TITLE`` as headline and its ``TEXT`` as paragraphs. Rows without text
become headline-only items. Page URLs keep the row number (``/<outlet>/<n>.html``)
so stored articles map back to their gold ``STORY``.

Usage (from the repository root)::

    .venv/bin/python tools/csv_site.py FILE.csv --out DIR          # write the site
    .venv/bin/python tools/csv_site.py FILE.csv --out DIR --serve  # and serve it on 127.0.0.1

Serving writes ``DIR/sources.yaml`` with the server's real address; then
``digest fetch --sources DIR/sources.yaml --db DIR/site.db`` and so on (private
addresses must be allowed: ``DIGEST_ALLOW_PRIVATE_NETWORKS=1``).
"""

from __future__ import annotations

import argparse
import csv
import html
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# Below this a TIMESTAMP is in seconds, not milliseconds (as in benchmarks/cluster.py).
SECONDS_BELOW = 1e11
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Row:
    """One labelled row as served: where its page lives and which story it belongs to."""

    number: int
    outlet: str
    path: str  # "/<outlet slug>/<number>.html", relative to the site root
    title: str
    text: str
    published: datetime
    story: str


def read_rows(path: Path) -> list[Row]:
    """The CSV's rows with their served paths; a bad row stops with file and line."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = {"TITLE", "STORY", "TIMESTAMP"} - set(reader.fieldnames or [])
            if missing:
                raise SystemExit(f"{path}: missing column(s) {', '.join(sorted(missing))}")
            rows = []
            for number, record in enumerate(reader, start=1):
                rows.append(_row(path, reader.line_num, number, record))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SystemExit(f"{path}: cannot read labelled CSV: {exc}") from exc
    return rows


def _row(path: Path, line: int, number: int, record: dict[str, str]) -> Row:
    try:
        stamp = float(record["TIMESTAMP"])
    except (TypeError, ValueError):
        raise SystemExit(
            f"{path}:{line}: TIMESTAMP {record['TIMESTAMP']!r} is not a Unix time"
        ) from None
    outlet = record.get("PUBLISHER") or record.get("HOSTNAME") or "unknown"
    slug = _SLUG.sub("-", outlet.lower()).strip("-") or "outlet"
    return Row(
        number=number,
        outlet=outlet,
        path=f"/{slug}/{number}.html",
        title=(record.get("TITLE") or "").strip(),
        text=(record.get("TEXT") or "").strip(),
        published=datetime.fromtimestamp(
            stamp if abs(stamp) < SECONDS_BELOW else stamp / 1000.0, UTC
        ),
        story=record["STORY"],
    )


def write_site(rows: list[Row], out: Path) -> Path:
    """Write pages, one feed per outlet and a sources file template; the template's path.

    Links use ``{base}``, which the demo server replaces with its own address.
    """
    by_outlet: dict[str, list[Row]] = {}
    for row in rows:
        by_outlet.setdefault(row.path.split("/")[1], []).append(row)
        page = out / row.path.lstrip("/")
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(_page(row), encoding="utf-8")
    sources = []
    for slug, members in sorted(by_outlet.items()):
        (out / slug / "feed.xml").write_text(_feed(slug, members), encoding="utf-8")
        sources.append(
            {
                "name": members[0].outlet,
                "url": f"{{base}}/{slug}/feed.xml",
                "site_url": f"{{base}}/{slug}/",
                "interval": 15,
            }
        )
    template = out / "sources.template.yaml"
    template.write_text(yaml.safe_dump({"sources": sources}, allow_unicode=True), encoding="utf-8")
    return template


def _page(row: Row) -> str:
    paragraphs = "\n".join(
        f"<p>{html.escape(p.strip())}</p>" for p in row.text.split("\n") if p.strip()
    )
    title = html.escape(row.title)
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head>\n<body><article><h1>{title}</h1>\n"
        f'<time datetime="{row.published.isoformat()}"></time>\n{paragraphs}\n'
        "</article></body></html>\n"
    )


def _feed(slug: str, rows: list[Row]) -> str:
    items = "\n".join(
        "<item>"
        f"<title>{html.escape(row.title)}</title>"
        f"<link>{{base}}{row.path}</link>"
        f'<guid isPermaLink="true">{{base}}{row.path}</guid>'
        f"<pubDate>{format_datetime(row.published)}</pubDate>"
        "</item>"
        for row in sorted(rows, key=lambda r: r.published, reverse=True)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{html.escape(rows[0].outlet)}</title><link>{{base}}/{slug}/</link>"
        f"<description>Rows of a labelled file</description>\n{items}\n</channel></rss>\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", type=Path, help="labelled CSV (ID, TITLE, STORY, TIMESTAMP, TEXT…)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write the site into")
    parser.add_argument("--serve", action="store_true", help="serve it on 127.0.0.1 until Ctrl-C")
    parser.add_argument("--port", type=int, default=0, help="port to serve on (0: any free one)")
    args = parser.parse_args(argv)
    rows = read_rows(args.csv)
    template = write_site(rows, args.out)
    print(f"{len(rows)} rows written to {args.out}")
    if args.serve:
        sys.path.insert(0, str(ROOT))
        from pipeline.demo.server import CorpusServer

        server = CorpusServer(args.out, port=args.port)
        sources = args.out / "sources.yaml"
        sources.write_text(
            template.read_text(encoding="utf-8").replace("{base}", server.base_url),
            encoding="utf-8",
        )
        print(f"serving {server.base_url}; sources file {sources}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
