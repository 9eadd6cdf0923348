"""Publishing: summaries, entities and the day's digest, from stories to files and email.

The second half of the orchestrator (``run`` has fetching and clustering):
``summarize_stories`` and ``link_entities`` bring every changed story's
summary, score and topics up to date; ``build_day`` reads one day's
candidates as they stood at its publication time, compares them with what
earlier digests carried (``editions``: new, update or unchanged; a branch
split off), ranks, selects and renders them; ``send_day`` emails a built day;
``export_notes`` writes the notes vault. ``run`` re-exports these, so
``run.build_day`` stays the one name callers use.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from . import continuations, digest, editions, entities, llm, mail, params, rank, render, summarize
from .config import Settings
from .errors import ConfigError, PipelineError
from .models import Article, Digest, RankedStory, StageReport, Story, Summary
from .render import email, jsonout, notes, paths
from .store import Store

LOGGER = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _summarize(members: list[Article], settings: Settings) -> Summary:
    """The configured summarizer; the LLM path falls back to the extractive one by itself."""
    if settings.summarizer != "llm":
        return summarize.summarize(members)
    outcome = llm.summarize_llm(members, params.for_llm(settings))
    for problem in outcome.problems:
        LOGGER.info("llm summary of story with articles %s: %s", [a.id for a in members], problem)
    return outcome.summary


def summarize_stories(store: Store, settings: Settings) -> StageReport:
    """Headline, cited summary, section and score for every story whose membership changed.

    A story an editor edited keeps its headline and summary; its score and
    section still follow its new members.
    """
    stale = store.stories.needing_summary()
    tags = {s.id: s.tags for s in store.sources.all() if s.id is not None}
    for story, key in stale:
        summarize_story(store, settings, story, key, tags)
    return StageReport(stage="summarize", processed=len(stale))


def summarize_story(
    store: Store, settings: Settings, story: Story, key: str, tags: dict[int, tuple[str, ...]]
) -> None:
    """Summarize and score one story whose members are ``key`` (``stories.members_key``);
    ``tags`` are the sources' tags (source id → tags), for the rank stage. One
    ``digest worker`` task each, on PostgreSQL."""
    members = store.articles.get_many(story.article_ids)
    summary = _summarize(members, settings)
    score = rank.score(members, _now(), story.status, params.for_rank(settings), source_tags=tags)
    store.stories.set_generated(
        story.id,
        key,
        summary,
        score.value,
        score.explanation,
        score.section,
        score.relevance.value,
        score.included,
    )


def link_entities(store: Store) -> StageReport:
    """Find the entities of every story whose membership changed, and link them."""
    stale = store.stories.needing_entities()
    known = entities.gazetteer()
    for story, key in stale:
        mentions = entities.recognise(store.articles.get_many(story.article_ids), known)
        store.entities.link(story.id, [(m, entities.topic_slug(m.entity)) for m in mentions], key)
    return StageReport(stage="entities", processed=len(stale))


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What one day's build published and where."""

    day: date
    digest: Digest
    paths: tuple[Path, ...]
    candidates: int


def build_day(store: Store, settings: Settings, day: date, limit: int | None = None) -> BuildReport:
    """Publish one day: refresh summaries, rank the day's stories at its publication time,
    choose and order them, and write the Markdown, JSON and the site.

    Ranking at the publication time (not now) makes a rebuild of a past day
    give the same files, and each story is shown as it stood then (members
    published later wait for a later day). A story an earlier digest carried
    comes back only as an update, when a source joined since, and then ranks
    by what joined (see ``editions``).
    """
    summarize_stories(store, settings)
    link_entities(store)
    digest_params = params.for_digest(settings, limit)
    start, end = digest.window(day, digest_params)
    rank_params = params.for_rank(settings)
    tags = {s.id: s.tags for s in store.sources.all() if s.id is not None}
    published = store.editions.published_before(day)
    moved = split_branches(store, start, end, published)
    if moved + join_continuations(store, settings, day, start, end, published):
        summarize_stories(store, settings)
        link_entities(store)
    active = store.stories.active_between(start, end)
    slugs = store.editions.slugs(s.id for s in active)
    topics = store.entities.topics_of(s.id for s in active)
    candidates: list[RankedStory] = []
    scores: dict[int, tuple[float, str, bool]] = {}
    for story in active:
        every = store.articles.get_many(story.article_ids)
        members = _until(every, end)
        stored = store.stories.generated(story.id)
        whole = len(members) == len(every)  # else: shown as it stood at publication
        summary: Summary = (stored["summary"] if whole else None) or summarize.summarize(members)
        edition = editions.classify(summary.sources, published, story.status == "pinned")
        if edition is None:
            continue  # carried before and nothing moved since
        score = rank.score(members, end, story.status, rank_params, source_tags=tags)
        fresh = editions.new_members(members, summary.sources, edition)
        value, explanation = score.value, score.explanation
        primary = editions.primary_sources(members, summary.sources)
        if fresh:  # an update ranks by what joined, not by the story's whole size
            news = rank.score(fresh, end, story.status, rank_params, source_tags=tags)
            value, explanation = news.value, f"update: {news.explanation}"
            if set(primary) & set(edition.new_sources):  # the paper or announcement itself
                value = round(value * (1 + editions.PRIMARY_BONUS), 4)
                explanation += "; a primary source joined"
        scores[story.id] = (value, explanation, score.included)
        headline = (stored["headline"] if whole or story.edited else "") or summary.headline
        slug = slugs.get(story.id) or editions.page_slug(headline, story.id)
        candidates.append(
            RankedStory(
                id=story.id,
                headline=headline,
                section=stored["section"] if stored["section_locked"] else score.section,
                score=value,
                explanation=explanation,
                status=story.status,
                summary=summary,
                outlets=len(summary.sources),
                article_urls=tuple(a.url for a in members),
                article_times=tuple(a.when for a in members if a.when is not None),
                first_seen=story.first_seen,
                last_seen=story.last_seen,
                included=score.included,
                edition=edition.kind,
                first_published=edition.first_published,
                new_sources=edition.new_sources,
                whats_new=editions.whats_new(members, summary, edition),
                url=paths.story_page(slug),
                primary_sources=primary,
                topics=topics.get(story.id, ()),
            )
        )
    store.stories.set_scores(scores)
    chosen = digest.select(candidates, day, digest_params, built_at=_now())
    paths_written = render.render_all(
        chosen,
        Path(settings.digests_dir),
        Path(settings.site_dir),
        params.for_site(settings),
        store.editions.merged(),
        store.entities.catalogue(),
    )
    store.digests.record_built(day, [s.id for s in chosen.stories], _now())
    store.editions.record(
        day,
        [
            (s.id, s.edition, [a for c in s.summary.sources for a in c.article_ids])
            for s in chosen.stories
        ],
    )
    store.editions.fix_slugs({s.id: paths.slug_of(s.url) for s in chosen.stories})
    return BuildReport(
        day=day, digest=chosen, paths=tuple(paths_written), candidates=len(candidates)
    )


def split_branches(
    store: Store, start: datetime, end: datetime, published: Mapping[int, date]
) -> int:
    """Give a new event that clustering joined to a published story a story of its own.

    When the articles that joined a published story name none of its core
    (``editions.is_branch``: the same lab's next paper, the same company's
    next product), they move to a new story, as an editor's split would, and
    cannot-link constraints keep clustering from joining them again. Articles
    an editor tied together are left alone. Returns how many stories split.
    """
    tied = {a for pair in store.decisions.constraints().must_link for a in pair}
    split = 0
    for story in store.stories.active_between(start, end):
        members = _until(store.articles.get_many(story.article_ids), end)
        earlier = [a for a in members if a.id in published]
        fresh = [a for a in members if a.id not in published]
        if not earlier or not fresh or tied & {a.id for a in fresh}:
            continue
        if editions.is_branch(fresh, earlier):
            record = store.stories.record(story.id)
            version = record.version if record else 1
            moved = [a.id for a in fresh]
            store.editorial.move("pipeline", story.id, version, moved, None, None, _now())
            LOGGER.info("story %s: articles %s tell a new event, split off", story.id, moved)
            split += 1
    return split


def join_continuations(
    store: Store,
    settings: Settings,
    day: date,
    start: datetime,
    end: datetime,
    published: Mapping[int, date],
) -> int:
    """Fold a story about to be published as new into the published story it continues.

    More coverage of a published event after the clustering window closed
    (see ``continuations``) joins the earlier story, as an editor's merge
    would, so it keeps its id and permanent page and is published as an
    update. The stories compared are those holding an article that a digest
    of the last ``continuation_days`` first carried (0 turns this off).
    Rejected stories, stories an editor edited and articles an editor kept
    apart are left alone. Returns how many stories were folded.
    """
    since = day - timedelta(days=settings.continuation_days)
    shown = [a for a, first in published.items() if first >= since]
    earlier: dict[int, list[Article]] = {}
    for story_id in sorted({a.story_id for a in store.articles.get_many(shown) if a.story_id}):
        story = store.stories.get(story_id)
        if story.status != "rejected":
            earlier[story_id] = _until(store.articles.get_many(story.article_ids), end)
    if not earlier:
        return 0
    later: dict[int, list[Article]] = {}
    for story in store.stories.active_between(start, end):
        members = _until(store.articles.get_many(story.article_ids), end)
        fresh = not any(a.id in published for a in members)
        if fresh and story.id not in earlier and story.status != "rejected" and not story.edited:
            later[story.id] = members
    apart = store.decisions.constraints().cannot_link
    found = continuations.find(earlier, later, params.for_cluster(settings), apart)
    for link in found:
        into, gone = store.stories.record(link.earlier), store.stories.record(link.later)
        if into is None or gone is None:
            continue
        store.editorial.merge(
            "pipeline", link.earlier, into.version, link.later, gone.version, _now()
        )
        LOGGER.info("story %s continues published story %s, merged", link.later, link.earlier)
    return len(found)


def _until(members: list[Article], end: datetime) -> list[Article]:
    """The members published before ``end``: the story as it stood at publication time."""
    return [a for a in members if a.when is None or _utc(a.when) < end]


def _utc(moment: datetime) -> datetime:
    """Stored times without a zone are UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def build_every_day(store: Store, settings: Settings) -> list[BuildReport]:
    """Build the digest of every day whose window holds an article (the demo, a backfill)."""
    times = [a.when for a in store.articles.all() if a.when is not None]
    if not times:
        return []
    digest_params = params.for_digest(settings)
    zone = ZoneInfo(settings.timezone)
    day, last = min(times).astimezone(zone).date(), max(times).astimezone(zone).date()
    reports = []
    while day <= last + timedelta(days=1):
        start, end = digest.window(day, digest_params)
        if any(start <= t < end for t in times):
            reports.append(build_day(store, settings, day))
        day += timedelta(days=1)
    return reports


def export_notes(store: Store, settings: Settings, folder: Path) -> notes.NotesReport:
    """Write every published story and topic as Markdown notes with wikilinks into ``folder``."""
    return notes.export(
        render.read_digests(Path(settings.digests_dir)),
        store.entities.catalogue(),
        store.editions.merged(),
        Path(folder),
    )


def send_day(
    store: Store, settings: Settings, day: date, force: bool = False, preview: Path | None = None
) -> mail.SendReport | Path | None:
    """Email a built day's digest: at most once per day unless ``force``.

    With ``preview`` the message is written there as an ``.eml`` file instead.
    Returns the send report, the preview path, or None when the day was sent already.
    """
    path = Path(settings.digests_dir) / f"{day.isoformat()}.json"
    if not path.is_file():
        raise PipelineError(f"{path}: no digest built for {day}; run: digest build --date {day}")
    mail_params = params.for_mail(settings)
    message = email.build_message(jsonout.read(path), mail_params, params.for_site(settings))
    if preview is not None:
        return email.write_eml(message, preview)
    if not settings.smtp_host or not mail_params.recipients or not mail_params.sender:
        raise ConfigError("sending needs smtp_host, mail_from and mail_to (DIGEST_SMTP_HOST, ...)")
    if store.digests.sent_at(day) is not None and not force:
        return None
    report = mail.send(message, mail_params)
    if report.sent:
        store.digests.mark_sent(day, _now())
    return report
