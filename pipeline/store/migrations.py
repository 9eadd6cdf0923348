"""The schema as ordered migrations; only ever append a new function, never edit an old one."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from .db import Connection, PostgresConnection, SqliteConnection

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


@migrations()
def m006_clustering_epoch(db: Database) -> None:
    """One counter moved by every write that changes what the clustering index holds.

    The clustering consumer keeps its story index between runs; it reads this
    number at the start of a run and rebuilds the index only when someone else
    (an editor's merge or split, a rebuild, another clusterer, a prune) moved it
    since its own last write: one row read instead of the whole window re-seeded.
    """
    db.table("clustering").insert({"id": 1, "epoch": 0}, pk="id", not_null={"epoch"})


@migrations()
def m007_term_spread(db: Database) -> None:
    """What the clustering window's stories all name, for explanations outside the clusterer.

    ``term_spread`` holds, as of the last clustering run, each term carried by
    enough of the open stories to weigh measurably less than its prior (see
    ``pipeline.spread``), and ``spread_state`` how many stories were open;
    hundreds to a few thousand rows, replaced by each run.
    """
    db.table("term_spread").create({"term": str, "stories": int}, pk="term", not_null={"stories"})
    db.table("spread_state").create(
        {"id": int, "open_stories": int, "saved_at": str}, pk="id", not_null={"open_stories"}
    )


# -- PostgreSQL ----------------------------------------------------------------------
#
# The same schema for PostgreSQL, one SQL script per SQLite migration and under the
# same name (tests/test_store.py checks the two lists match), so a database moved
# from one to the other (``digest migrate-db``) has the same tables and columns.
# A new migration is added to both: an ``@migrations()`` function above and a
# script here. Integers are ``bigint`` (SQLite's are 64-bit), times are ISO 8601
# text in the ``C`` collation so that text order is time order whatever the
# server's locale, and the full-text index is a table of stored ``tsvector``s kept
# by a trigger (as SQLite's FTS5 table is by its triggers), so ranking reads them
# instead of re-parsing every matching text.

_TIME = 'text collate "C"'
_ID = "bigint generated by default as identity primary key"

POSTGRES_MIGRATIONS: dict[str, str] = {
    "m001_initial": f"""
create table sources (
  id {_ID}, name text not null, declared_url text not null, feed_url text not null,
  site_url text, weight double precision default 0.5, tags text, "interval" bigint,
  enabled bigint default 1, etag text, last_modified text, last_fetch_at {_TIME},
  next_fetch_at {_TIME}, last_status bigint, consecutive_failures bigint default 0,
  last_error text
);
create unique index idx_sources_declared_url on sources (declared_url);
create table fetches (
  id {_ID}, source_id bigint references sources (id), url text, kind text,
  started_at {_TIME}, status bigint, new_entries bigint, bytes bigint, ms bigint,
  attempts bigint, error text
);
create index idx_fetches_source_id_started_at on fetches (source_id, started_at);
create table stories (
  id bigint primary key, first_seen {_TIME}, last_seen {_TIME}, headline text, summary text,
  score double precision, score_explanation text, section text, status text default 'auto',
  edited bigint default 0, version bigint default 1
);
create index idx_stories_last_seen on stories (last_seen);
create table articles (
  id {_ID}, source_id bigint not null references sources (id), url text not null,
  canonical_url text not null, guid text, title text, author text, published_at {_TIME},
  fetched_at {_TIME}, feed_summary text, text text, language text, links text,
  content_hash text, fingerprint text, duplicate_of bigint references articles (id),
  duplicate_reason text, story_id bigint references stories (id), extracted_at {_TIME},
  extract_error text
);
create unique index idx_articles_canonical_url on articles (canonical_url);
create index idx_articles_source_id_guid on articles (source_id, guid);
create index idx_articles_content_hash on articles (content_hash);
create index idx_articles_story_id on articles (story_id);
create index idx_articles_published_at on articles (published_at);
create table articles_fts (
  id bigint primary key references articles (id) on delete cascade, document tsvector not null
);
create index idx_articles_fts_document on articles_fts using gin (document);
create function articles_fts_sync() returns trigger language plpgsql as $$
begin
  insert into articles_fts (id, document)
  values (new.id, to_tsvector('english', coalesce(new.title, '') || ' ' || coalesce(new.text, '')))
  on conflict (id) do update set document = excluded.document;
  return null;
end $$;
create trigger articles_fts_sync after insert or update of title, text on articles
  for each row execute function articles_fts_sync();
create table url_aliases (url text primary key, article_id bigint references articles (id));
create table decisions (
  id {_ID}, editor text, at {_TIME}, action text, story_id bigint, article_ids text,
  before text, after text
);
create table constraints (
  id {_ID}, kind text, a bigint, b bigint, decision_id bigint references decisions (id)
);
create unique index idx_constraints_kind_a_b on constraints (kind, a, b);
create table digests (date text collate "C" primary key, built_at {_TIME}, story_ids text,
  sent_at {_TIME});
""",
    "m002_story_summaries": """
alter table stories add column members_key text, add column included bigint,
  add column relevance double precision;
""",
    "m003_review": f"""
create table editors (name text primary key, password_hash text not null, created_at {_TIME},
  updated_at {_TIME});
create table app_secrets (name text primary key, value text not null);
alter table stories add column generated_headline text, add column generated_summary text,
  add column generated_section text, add column section_locked bigint not null default 0,
  add column edit_members text, add column new_sources_since_edit bigint not null default 0,
  add column merged_into bigint, add column changed_by text, add column changed_at {_TIME};
update stories set generated_headline = headline, generated_summary = summary,
  generated_section = section where edited = 0;
update stories set generated_section = section where generated_section is null;
create index idx_decisions_story_id_at on decisions (story_id, at);
""",
    "m004_login_failures": f"""
create table login_failures (key text primary key, failures bigint not null default 0,
  window_start {_TIME} not null, strikes bigint not null default 0, locked_until {_TIME});
""",
    "m005_living_stories": """
create table editions (date text collate "C", story_id bigint, edition text, article_ids text,
  primary key (date, story_id));
create index idx_editions_story_id_date on editions (story_id, date);
alter table stories add column slug text, add column entities_key text;
create table entities (
  id bigint generated by default as identity primary key, key text not null, kind text not null,
  name text not null, slug text not null, hidden bigint default 0, merged_into bigint,
  renamed bigint default 0
);
create unique index idx_entities_key on entities (key);
create unique index idx_entities_slug on entities (slug);
create table story_entities (story_id bigint, entity_id bigint references entities (id),
  mentions bigint, primary key (story_id, entity_id));
create index idx_story_entities_entity_id on story_entities (entity_id);
""",
    "m006_clustering_epoch": """
create table clustering (id bigint primary key, epoch bigint not null);
insert into clustering (id, epoch) values (1, 0);
""",
    "m007_term_spread": f"""
create table term_spread (term text primary key, stories bigint not null);
create table spread_state (id bigint primary key, open_stories bigint not null,
  saved_at {_TIME});
""",
}

# Any number for pg_advisory_xact_lock, fixed: processes opening the same database at
# once apply its migrations one after the other.
_MIGRATION_LOCK = 0x6469676573740001


def apply_postgres(db: PostgresConnection) -> list[str]:
    """Apply the PostgreSQL scripts not yet applied, each in its own transaction with its
    record in ``_migrations``; returns the names applied."""
    db.script(
        'create table if not exists _migrations (name text primary key, applied_at text collate "C")'
    )
    applied: list[str] = []
    for name, script in POSTGRES_MIGRATIONS.items():
        with db.atomic():
            db.execute("select pg_advisory_xact_lock(?)", [_MIGRATION_LOCK])
            if db.execute("select 1 from _migrations where name = ?", [name]).fetchone():
                continue
            db.script(script)
            db.execute(
                "insert into _migrations (name, applied_at) values (?, ?)",
                [name, datetime.now(UTC).isoformat(timespec="seconds")],
            )
            applied.append(name)
    return applied


def apply(db: Connection) -> None:
    """Bring the schema of either backend up to date."""
    if isinstance(db, PostgresConnection):
        apply_postgres(db)
    elif isinstance(db, SqliteConnection):
        migrations.apply(db.utils)
