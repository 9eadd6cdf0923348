"""The ``articles`` and ``url_aliases`` tables: one row per distinct article, with its text."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..models import Article, DuplicateLink, Entry, ExtractedPage
from .convert import from_iso, from_json, to_iso, to_json
from .db import POSTGRESQL, SQLITE, Connection, as_dicts

_SELECT = """
select a.*, s.name as outlet, s.weight as source_weight
from articles a join sources s on s.id = a.source_id
"""


def _to_article(row: Mapping[str, Any]) -> Article:
    return Article(
        id=row["id"],
        source_id=row["source_id"],
        outlet=row["outlet"],
        url=row["url"],
        canonical_url=row["canonical_url"],
        title=row["title"] or "",
        guid=row["guid"] or "",
        author=row["author"] or "",
        published_at=from_iso(row["published_at"]),
        fetched_at=from_iso(row["fetched_at"]),
        feed_summary=row["feed_summary"] or "",
        text=row["text"] or "",
        language=row["language"],
        links=tuple(from_json(row["links"])),
        content_hash=row["content_hash"] or "",
        fingerprint=row["fingerprint"] or "",
        duplicate_of=row["duplicate_of"],
        story_id=row["story_id"],
        source_weight=row["source_weight"] if row["source_weight"] is not None else 0.5,
    )


class Articles:
    """Stored articles; the unique canonical URL keeps each article once."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def _query(
        self, where: str = "true", args: Sequence[Any] = (), order: str = "a.id"
    ) -> list[Article]:
        cursor = self.db.execute(f"{_SELECT} where {where} order by {order}", list(args))
        return [_to_article(row) for row in as_dicts(cursor)]

    def known(self, canonical_url: str) -> int | None:
        """The id of the article stored under this canonical URL or one of its aliases."""
        row = self.db.execute(
            "select id from articles where canonical_url = ? "
            "union all select article_id from url_aliases where url = ? limit 1",
            [canonical_url, canonical_url],
        ).fetchone()
        return int(row[0]) if row else None

    def insert_entries(
        self,
        source_id: int,
        entries: Iterable[tuple[Entry, str]],
        fetched_at: datetime,
        site_url: str = "",
    ) -> list[int]:
        """Store new entries given with their canonical URLs; return the ids of those added.

        An entry is skipped when its canonical URL (or an alias of a stored article)
        is known, or when the same source already gave an article with its GUID.
        When a link blog reached an article first, the article moves to the outlet
        that published it once that outlet's own feed (its ``site_url``) lists it,
        whichever feed happened to answer first.

        The insert itself leaves out a row whose canonical URL is already stored
        (the unique index decides, not the check before it), so workers fetching
        the same feed at the same time store each article once.
        """
        added: list[int] = []
        with self.db.write():
            for entry, canonical in entries:
                existing = self.known(canonical)
                if existing is not None:
                    if site_url and canonical.startswith(site_url):
                        self._claim(existing, source_id)
                    continue
                if (
                    entry.guid
                    and self.db.execute(
                        "select 1 from articles where source_id = ? and guid = ?",
                        [source_id, entry.guid],
                    ).fetchone()
                ):
                    continue
                article_id = self.db.insert(
                    "articles",
                    {
                        "source_id": source_id,
                        "url": entry.url,
                        "canonical_url": canonical,
                        "guid": entry.guid,
                        "title": entry.title,
                        "author": entry.author,
                        "published_at": to_iso(entry.published_at),
                        "fetched_at": to_iso(fetched_at),
                        "feed_summary": entry.summary,
                        "text": "",
                        "links": "[]",
                    },
                    ignore=True,
                )
                if article_id is not None:  # None: another writer stored it first
                    added.append(int(article_id))
        return added

    def _claim(self, article_id: int, source_id: int) -> None:
        """Credit an article to the source whose site published it, unless that one already is."""
        row = self.db.execute(
            "select s.site_url from articles a join sources s on s.id = a.source_id where a.id = ?",
            [article_id],
        ).fetchone()
        current_site = row[0] if row else ""
        url = self.db.get("articles", article_id)["canonical_url"]
        if not (current_site and url.startswith(current_site)):
            self.db.update("articles", article_id, {"source_id": source_id})

    def needing_extraction(self) -> list[Article]:
        """Articles whose page has not been fetched and extracted yet, oldest first."""
        return self._query("a.extracted_at is null")

    def set_extracted(
        self,
        article_id: int,
        page: ExtractedPage | None,
        error: str | None,
        at: datetime,
        canonical_url: str | None = None,
    ) -> int | None:
        """Store an extraction result and return the id the article lives under.

        When the page names (through rel=canonical) a URL that another stored
        article already has, the two are one article: this row becomes an alias
        of the older one and ``None`` is returned.
        """
        with self.db.write():
            row = self.db.get("articles", article_id)
            if canonical_url and canonical_url != row["canonical_url"]:
                other = self.known(canonical_url)
                if other is not None and other != article_id:
                    self._fold_into(row, other)
                    return None
            values: dict[str, Any] = {"extracted_at": to_iso(at), "extract_error": error}
            if canonical_url and canonical_url != row["canonical_url"]:
                self.db.upsert(
                    "url_aliases", {"url": row["canonical_url"], "article_id": article_id}, pk="url"
                )
                values["canonical_url"] = canonical_url
            if page is not None:
                values.update(
                    text=page.text,
                    language=page.language,
                    links=to_json(page.links),
                    author=row["author"] or page.author,
                    title=row["title"] or page.title,
                    published_at=row["published_at"] or to_iso(page.published_at),
                )
            self.db.update("articles", article_id, values)
        return article_id

    def _fold_into(self, row: Mapping[str, Any], keep_id: int) -> None:
        for url in {row["canonical_url"], row["url"]}:
            self.db.upsert("url_aliases", {"url": url, "article_id": keep_id}, pk="url")
        self.db.execute(
            "update url_aliases set article_id = ? where article_id = ?", [keep_id, row["id"]]
        )
        self.db.delete("articles", row["id"])

    def is_extracted(self, article_id: int) -> bool:
        """Whether the article's page was extracted (or given up on); False when it is gone."""
        row = self.db.execute(
            "select extracted_at from articles where id = ?", [article_id]
        ).fetchone()
        return bool(row and row[0])

    def get(self, article_id: int) -> Article:
        found = self._query("a.id = ?", [article_id])
        if not found:
            raise KeyError(article_id)
        return found[0]

    def get_many(self, ids: Iterable[int]) -> list[Article]:
        ids = list(ids)
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        return self._query(f"a.id in ({marks})", ids)

    def all(self) -> list[Article]:
        return self._query()

    def since(self, when: datetime) -> list[Article]:
        """Articles published (or fetched, when undated) at or after ``when``, in time order."""
        return self._query(
            "coalesce(a.published_at, a.fetched_at) >= ?",
            [to_iso(when)],
            order="coalesce(a.published_at, a.fetched_at), a.id",
        )

    def unclustered(self) -> list[Article]:
        """Articles ready for clustering (extracted or given up on) but in no story yet."""
        return self._query(
            "a.story_id is null and a.extracted_at is not null",
            order="coalesce(a.published_at, a.fetched_at), a.id",
        )

    def undeduplicated(self) -> list[Article]:
        return self._query("a.content_hash is null and a.extracted_at is not null")

    def set_hashes(self, hashes: Iterable[tuple[int, str, str]]) -> None:
        """Store (article id, content hash, fingerprint) triples."""
        with self.db.atomic():
            for article_id, content_hash, fingerprint in hashes:
                self.db.update(
                    "articles",
                    article_id,
                    {"content_hash": content_hash, "fingerprint": fingerprint},
                )

    def set_duplicates(self, links: Iterable[DuplicateLink]) -> None:
        with self.db.atomic():
            for link in links:
                self.db.update(
                    "articles",
                    link.article_id,
                    {"duplicate_of": link.original_id, "duplicate_reason": link.reason},
                )

    def set_stories(self, assignments: Mapping[int, int | None]) -> None:
        """Store article id → story id (``None`` takes an article out of every story)."""
        with self.db.atomic():
            for article_id, story_id in assignments.items():
                self.db.update("articles", article_id, {"story_id": story_id})

    def count(self) -> int:
        return int(self.db.execute("select count(*) from articles").fetchone()[0])

    def search(self, query: str, limit: int = 50) -> list[Article]:
        """Full-text search over titles and texts, ranked: SQLite's FTS5 with porter
        stemming (its query syntax), or PostgreSQL's English ``tsvector`` (web search
        syntax: words, "quoted phrases", ``or``, ``-word``)."""
        ids = [
            int(r[0]) for r in self.db.execute(_SEARCH[self.db.dialect], [query, limit]).fetchall()
        ]
        by_id = {a.id: a for a in self.get_many(ids)}
        return [by_id[i] for i in ids if i in by_id]


_SEARCH = {
    SQLITE: "select rowid from articles_fts where articles_fts match ? order by rank limit ?",
    POSTGRESQL: "select id from articles_fts, websearch_to_tsquery('english', ?) as q "
    "where document @@ q order by ts_rank(document, q) desc, id limit ?",
}
