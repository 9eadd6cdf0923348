"""The schema as ordered migrations; only ever append a new function, never edit an old one."""

from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

migrations = Migrations("pipeline")


def schema_names() -> list[str]:
    """Every migration this code knows, in order: the last one names the schema version.

    ``digest --version`` prints it, so an operator can tell which schema a
    build writes before pointing it at a database.
    """
    return [m.name for m in migrations.pending(Database(memory=True))]


@migrations()
def m001_initial(db: Database) -> None:
    db.table("sources").create(
        {
            "id": int,
            "name": str,
            "declared_url": str,
            "feed_url": str,
            "site_url": str,
            "weight": float,
            "tags": str,
            "interval": int,
            "enabled": int,
            "etag": str,
            "last_modified": str,
            "last_fetch_at": str,
            "next_fetch_at": str,
            "last_status": int,
            "consecutive_failures": int,
            "last_error": str,
        },
        pk="id",
        not_null={"name", "declared_url", "feed_url"},
        defaults={"consecutive_failures": 0, "enabled": 1, "weight": 0.5},
    )
    db.table("sources").create_index(["declared_url"], unique=True)
    db.table("fetches").create(
        {
            "id": int,
            "source_id": int,
            "url": str,
            "kind": str,
            "started_at": str,
            "status": int,
            "new_entries": int,
            "bytes": int,
            "ms": int,
            "attempts": int,
            "error": str,
        },
        pk="id",
        foreign_keys=[("source_id", "sources", "id")],
    )
    db.table("fetches").create_index(["source_id", "started_at"])
    db.table("stories").create(
        {
            "id": int,
            "first_seen": str,
            "last_seen": str,
            "headline": str,
            "summary": str,
            "score": float,
            "score_explanation": str,
            "section": str,
            "status": str,
            "edited": int,
            "version": int,
        },
        pk="id",
        defaults={"status": "auto", "edited": 0, "version": 1},
    )
    db.table("stories").create_index(["last_seen"])
    db.table("articles").create(
        {
            "id": int,
            "source_id": int,
            "url": str,
            "canonical_url": str,
            "guid": str,
            "title": str,
            "author": str,
            "published_at": str,
            "fetched_at": str,
            "feed_summary": str,
            "text": str,
            "language": str,
            "links": str,
            "content_hash": str,
            "fingerprint": str,
            "duplicate_of": int,
            "duplicate_reason": str,
            "story_id": int,
            "extracted_at": str,
            "extract_error": str,
        },
        pk="id",
        not_null={"source_id", "url", "canonical_url"},
        foreign_keys=[
            ("source_id", "sources", "id"),
            ("duplicate_of", "articles", "id"),
            ("story_id", "stories", "id"),
        ],
    )
    db.table("articles").create_index(["canonical_url"], unique=True)
    db.table("articles").create_index(["source_id", "guid"])
    db.table("articles").create_index(["content_hash"])
    db.table("articles").create_index(["story_id"])
    db.table("articles").create_index(["published_at"])
    db.table("articles").enable_fts(["title", "text"], create_triggers=True, tokenize="porter")
    # Other URLs under which a stored article was reached (tracking variants resolved
    # by rel=canonical, AMP pages): a re-fetch of any of them adds nothing.
    db.table("url_aliases").create(
        {"url": str, "article_id": int},
        pk="url",
        foreign_keys=[("article_id", "articles", "id")],
    )
    db.table("decisions").create(
        {
            "id": int,
            "editor": str,
            "at": str,
            "action": str,
            "story_id": int,
            "article_ids": str,
            "before": str,
            "after": str,
        },
        pk="id",
    )
    db.table("constraints").create(
        {"id": int, "kind": str, "a": int, "b": int, "decision_id": int},
        pk="id",
        foreign_keys=[("decision_id", "decisions", "id")],
    )
    db.table("constraints").create_index(["kind", "a", "b"], unique=True)
    db.table("digests").create(
        {"date": str, "built_at": str, "story_ids": str, "sent_at": str},
        pk="date",
    )


@migrations()
def m002_story_summaries(db: Database) -> None:
    """What the summarize stage needs to recompute only when membership changes."""
    stories = db.table("stories")
    stories.add_column("members_key", str)  # member ids when the summary was made
    stories.add_column("included", int)  # relevance and mute rules let it into digests
    stories.add_column("relevance", float)


@migrations()
def m003_review(db: Database) -> None:
    """What the editors' desk needs: accounts, a session secret, and edit bookkeeping.

    ``generated_*`` keep what the pipeline last made, so an editor can go back
    to it; ``edit_members`` are the member ids an editor's text was written
    for, and ``new_sources_since_edit`` counts members that joined since;
    ``section_locked`` keeps an editor's section; ``merged_into`` points from a
    story emptied by a merge to the story that took its articles; ``changed_by``
    and ``changed_at`` say who moved ``version`` on last, for a clear conflict message.
    """
    db.table("editors").create(
        {"name": str, "password_hash": str, "created_at": str, "updated_at": str},
        pk="name",
        not_null={"password_hash"},
    )
    db.table("app_secrets").create({"name": str, "value": str}, pk="name", not_null={"value"})
    stories = db.table("stories")
    stories.add_column("generated_headline", str)
    stories.add_column("generated_summary", str)
    stories.add_column("generated_section", str)
    stories.add_column("section_locked", int, not_null_default=0)
    stories.add_column("edit_members", str)
    stories.add_column("new_sources_since_edit", int, not_null_default=0)
    stories.add_column("merged_into", int)
    stories.add_column("changed_by", str)  # who moved the version on last: an editor or "pipeline"
    stories.add_column("changed_at", str)
    db.execute(
        "update stories set generated_headline = headline, generated_summary = summary, "
        "generated_section = section where edited = 0"
    )
    db.execute("update stories set generated_section = section where generated_section is null")
    db.table("decisions").create_index(["story_id", "at"])


@migrations()
def m004_login_failures(db: Database) -> None:
    """Failed desk logins per editor name and per client address, so every desk process
    sees the same counts and a restart forgets nothing: ``failures`` within the window
    that began at ``window_start``, ``strikes`` (cool-downs so far, which lengthen the
    next one) and ``locked_until`` (no login is checked for this key before then)."""
    db.table("login_failures").create(
        {
            "key": str,
            "failures": int,
            "window_start": str,
            "strikes": int,
            "locked_until": str,
        },
        pk="key",
        not_null={"failures", "window_start", "strikes"},
        defaults={"failures": 0, "strikes": 0},
    )


@migrations()
def m005_living_stories(db: Database) -> None:
    """What living stories and topics need.

    ``editions`` records, per published day, each story it carried, as "new"
    or "update", and the member articles it had then: what a later digest
    compares against to carry only what moved. ``stories.slug`` fixes the
    permanent page's name at first publication, so a later headline edit
    never moves it. ``entities`` are the organisations, people, models,
    papers and concepts found in stories (an editor's rename, merge or hide
    is kept in ``name``, ``merged_into`` and ``hidden``; their slugs, the
    topic pages' names, never change) and ``story_entities`` the links.
    ``stories.entities_key`` is the members' key when entities were found.
    """
    db.table("editions").create(
        {"date": str, "story_id": int, "edition": str, "article_ids": str},
        pk=("date", "story_id"),
    )
    db.table("editions").create_index(["story_id", "date"])
    db.table("stories").add_column("slug", str)
    db.table("stories").add_column("entities_key", str)  # members_key when entities were found
    db.table("entities").create(
        {
            "id": int,
            "key": str,
            "kind": str,
            "name": str,
            "slug": str,
            "hidden": int,
            "merged_into": int,
            "renamed": int,
        },
        pk="id",
        not_null={"key", "kind", "name", "slug"},
        defaults={"hidden": 0, "renamed": 0},
    )
    db.table("entities").create_index(["key"], unique=True)
    db.table("entities").create_index(["slug"], unique=True)
    db.table("story_entities").create(
        {"story_id": int, "entity_id": int, "mentions": int},
        pk=("story_id", "entity_id"),
        foreign_keys=[("entity_id", "entities", "id")],
    )
    db.table("story_entities").create_index(["entity_id"])
