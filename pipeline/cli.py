"""The ``digest`` command line: a thin click layer over the library.

Each command resolves settings (defaults < DIGEST_CONFIG file < DIGEST_* env
< flags), calls one library function, and prints the result with rich. The
library raises typed ``PipelineError``s; they become one clear line here,
never a traceback.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import demo, listing, logs, opml, ops, params, run, tasks
from . import schedule as daemon
from .config import SETTINGS, Settings, load_settings, load_sources
from .errors import PipelineError
from .models import StageReport
from .render import jsonout
from .store import Store
from .store.db import redact
from .store.migrations import schema_names

F = TypeVar("F", bound=Callable[..., Any])
console = Console(soft_wrap=True)  # long paths and URLs stay on one line


def common_options(func: F) -> F:
    """--db, --sources and -v, shared by every command (like sqlite-utils' output_options)."""

    @click.option(
        "--db", "db", envvar=None, help="SQLite file or postgresql:// URL [env DIGEST_DB]"
    )
    @click.option("--sources", "sources", help="Sources file [env DIGEST_SOURCES]")
    @click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug)")
    @functools.wraps(func)
    def wrapper(
        *args: Any, db: str | None, sources: str | None, verbose: int, **kwargs: Any
    ) -> Any:
        try:
            settings, origins = load_settings({"db": db, "sources": sources})
        except PipelineError as exc:
            raise click.ClickException(str(exc)) from None
        level = ["WARNING", "INFO", "DEBUG"][min(verbose, 2)] if verbose else settings.log_level
        logs.configure(level, settings.log_format)
        try:
            return func(*args, settings=settings, origins=origins, **kwargs)
        except PipelineError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper  # type: ignore[return-value]


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """``digest --version``: the package and the two schemas it reads and writes."""
    if not value or ctx.resilient_parsing:
        return
    names = schema_names()
    click.echo(
        f"ai-news-digest {package_version('ai-news-digest')}\n"
        f"database schema {len(names)} ({names[-1]})\n"
        f"digest JSON schema_version {jsonout.SCHEMA_VERSION}"
    )
    ctx.exit()


@click.group()
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version, the database schema and the digest JSON schema, and exit.",
)
def cli() -> None:
    """AI-news digest: fetch curated feeds, cluster articles into stories, publish a digest."""


@cli.command()
@common_options
def init(settings: Settings, origins: dict[str, str]) -> None:
    """Create the database and load the sources file into it."""
    store, counts = run.init(settings)
    store.close()
    console.print(
        f"[green]{settings.db}[/]: {counts['added']} sources added, "
        f"{counts['updated']} updated, {counts['disabled']} disabled"
    )


@cli.command()
@click.option("--force", is_flag=True, help="Fetch every enabled source, due or not")
@common_options
def fetch(settings: Settings, origins: dict[str, str], force: bool) -> None:
    """Fetch due feeds and the pages of their new articles."""
    with Store.open(settings.db) as store:
        store.sources.sync(load_sources(settings.sources))
        with _fetch_progress() as callbacks:
            report = run.fetch_round(store, settings, force, **callbacks)
        _print_round(report)


@contextmanager
def _fetch_progress() -> Iterator[dict[str, Any]]:
    """A rich progress bar fed by the round's callbacks: sources done, new articles, errors."""
    columns = (
        TextColumn("[bold]fetching"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[new]} new, {task.fields[errors]} errors"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("sources", total=None, new=0, errors=0)
        counts = {"new": 0, "errors": 0}

        def on_start(total: int) -> None:
            progress.update(task, total=total)

        def on_source(r: run.SourceReport) -> None:
            counts["new"] += r.new_articles
            counts["errors"] += bool(r.error)
            progress.update(task, advance=1, new=counts["new"], errors=counts["errors"])

        yield {"on_start": on_start, "on_source": on_source}


def _print_round(report: run.RoundReport) -> None:
    table = Table(title="Fetch round", show_lines=False)
    for col in ("source", "status", "new", "ms", "problem"):
        table.add_column(col, overflow="fold")
    for r in sorted(report.sources, key=lambda r: (r.error is None, r.source.name)):
        status = "304" if r.status == 304 else str(r.status or "-")
        problem = r.error or "; ".join(r.problems[:1])
        style = "red" if r.error else ("yellow" if problem else "")
        table.add_row(
            r.source.name, status, str(r.new_articles), str(r.elapsed_ms), problem, style=style
        )
    console.print(table)
    console.print(
        f"{len(report.sources)} sources, {report.new_articles} new articles, "
        f"{report.errors} failing; pages: {report.pages_fetched} fetched, "
        f"{report.pages_extracted} extracted, {report.pages_failed} kept with the feed summary, "
        f"{report.pages_refused} refused, {report.merged_by_canonical} merged by rel=canonical"
    )


@cli.command()
@common_options
def sources(settings: Settings, origins: dict[str, str]) -> None:
    """Show every source with its health."""
    with Store.open(settings.db) as store:
        counts = store.sources.article_counts()
        table = Table(title=f"Sources in {settings.db}")
        for col in (
            "id",
            "name",
            "status",
            "fails",
            "articles",
            "last fetch",
            "next fetch",
            "error",
        ):
            table.add_column(col, overflow="fold")
        for s in store.sources.all():
            style = "dim" if not s.enabled else ("red" if s.consecutive_failures else "")
            table.add_row(
                str(s.id),
                s.name,
                str(s.last_status or "-"),
                str(s.consecutive_failures),
                str(counts.get(s.id or 0, 0)),
                _ago(s.last_fetch_at),
                _ago(s.next_fetch_at),
                s.last_error or "",
                style=style,
            )
        console.print(table)


def _ago(when: datetime | None) -> str:
    if when is None:
        return "-"
    return when.strftime("%Y-%m-%d %H:%M")


@cli.command("cluster")
@click.option("--rebuild", is_flag=True, help="Re-cluster every article from scratch (keeps ids)")
@common_options
def cluster_cmd(settings: Settings, origins: dict[str, str], rebuild: bool) -> None:
    """Deduplicate new articles, group them into stories, and refresh their summaries."""
    with Store.open(settings.db) as store:
        for report in run.update_stories(store, settings, rebuild):
            _print_stage(report)


def _print_run(report: run.RunReport) -> None:
    _print_round(report.fetched)
    for stage in report.stages:
        _print_stage(stage)
    if report.built is not None:
        _print_build(report.built)


def _print_stage(report: StageReport) -> None:
    extra = ", ".join(f"{v} {k}" for k, v in report.details.items())
    created = f", {report.created} new stories" if report.stage in {"cluster", "rebuild"} else ""
    console.print(
        f"{report.stage}: {report.processed} processed{created}" + (f", {extra}" if extra else "")
    )


@cli.command()
@click.option("--since", help="Only stories active since this date (YYYY-MM-DD) or '48h'")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a listing")
@click.option(
    "--min-sources", default=1, show_default=True, help="Only stories with this many outlets"
)
@common_options
def stories(
    settings: Settings, origins: dict[str, str], since: str | None, as_json: bool, min_sources: int
) -> None:
    """List stories with their member articles (outlet, title, URL) and what joined them."""
    columns = (TextColumn("[bold]explaining stories"), BarColumn(), MofNCompleteColumn())
    with (
        Store.open(settings.db) as store,
        Progress(*columns, console=Console(stderr=True), transient=True) as bar,
    ):
        task = bar.add_task("stories", total=None)
        views = listing.stories(
            store,
            _parse_since(since),
            min_sources,
            params.for_cluster(settings),
            lambda done, total: bar.update(task, completed=done, total=total),
        )
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in views], indent=2, ensure_ascii=False))
        return
    for s in views:
        console.print(
            f"[bold]#{s.story.id}[/] [cyan]{s.outlets} source{'s' if s.outlets != 1 else ''}[/] "
            f"{s.headline}",
            highlight=False,
        )
        for a in s.articles:
            copy = f" [dim](copy of #{a.duplicate_of})[/]" if a.duplicate_of else ""
            console.print(
                f"    {a.outlet}: {a.title}{copy}\n      [dim]{a.url}[/]", highlight=False
            )
            placement = s.placements.get(a.id)
            if placement and placement.shared:
                console.print(
                    f"      [dim]joined on: {escape(placement.joined_on)} "
                    f"(similarity {placement.similarity:.2f})[/]",
                    highlight=False,
                )


def _parse_since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        if value.endswith("h"):
            return datetime.now(UTC) - timedelta(hours=float(value[:-1]))
        if value.endswith("d"):
            return datetime.now(UTC) - timedelta(days=float(value[:-1]))
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise click.BadParameter(
            f"{value!r}: use YYYY-MM-DD, 48h or 3d", param_hint="--since"
        ) from None


@cli.command("run")
@common_options
def run_cmd(settings: Settings, origins: dict[str, str]) -> None:
    """Fetch, deduplicate and cluster: one full pass of the pipeline."""
    with Store.open(settings.db) as store:
        store.sources.sync(load_sources(settings.sources))
        with _fetch_progress() as callbacks:
            report = run.run_all(store, settings, **callbacks)
        _print_run(report)


def _day(value: str | None, settings: Settings) -> date:
    if not value:
        return datetime.now(ZoneInfo(settings.timezone)).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use YYYY-MM-DD", param_hint="--date") from None


@cli.command()
@click.option("--date", "day", help="Day to publish (YYYY-MM-DD); default today in the time zone")
@click.option("--limit", type=int, help="Stories at most (0: every story of the day, for audits)")
@common_options
def build(settings: Settings, origins: dict[str, str], day: str | None, limit: int | None) -> None:
    """Summarize, rank and publish one day's digest: Markdown, JSON and the site."""
    with Store.open(settings.db) as store:
        _print_build(run.build_day(store, settings, _day(day, settings), limit))


def _print_build(report: run.BuildReport) -> None:
    console.print(
        f"{report.day}: {len(report.digest.stories)} of {report.candidates} stories published; "
        f"{len(report.paths)} files written"
    )
    for story in report.digest.stories[:5]:
        plural = "s" if story.outlets != 1 else ""
        console.print(
            f"  [cyan]{story.outlets} source{plural}[/] {story.headline}", highlight=False
        )


@cli.command()
@click.option("--date", "day", help="Day to send (YYYY-MM-DD); default today in the time zone")
@click.option("--force", is_flag=True, help="Send even if this day was sent already")
@click.option(
    "--preview",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the message to this .eml file instead of sending",
)
@common_options
def send(
    settings: Settings, origins: dict[str, str], day: str | None, force: bool, preview: Path | None
) -> None:
    """Email a built day's digest over SMTP, at most once per day unless --force."""
    when = _day(day, settings)
    with Store.open(settings.db) as store:
        outcome = run.send_day(store, settings, when, force, preview)
    if outcome is None:
        console.print(f"{when} was sent already; --force sends it again")
    elif isinstance(outcome, Path):
        console.print(f"wrote {outcome}")
    else:
        console.print(f"{when}: sent to {len(outcome.sent)} recipients")
        for failure in outcome.failed:
            console.print(f"[red]not sent to {failure.recipient}: {failure.error}[/]")
        if outcome.failed:
            raise click.ClickException(f"{len(outcome.failed)} recipients failed")


@cli.command()
@click.option("--host", help="Address to listen on [setting review_host, default 127.0.0.1]")
@click.option("--port", type=int, help="Port to listen on [setting review_port, default 8700]")
@common_options
def review(settings: Settings, origins: dict[str, str], host: str | None, port: int | None) -> None:
    """Serve the editors' review desk (accounts come from add-editor)."""
    from . import review as desk  # Starlette and uvicorn load only for this command

    with Store.open(settings.db) as store:
        if not store.editorial.editors():
            raise click.ClickException("no editor yet; create one with: digest add-editor NAME")
    host, port = host or settings.review_host, port or settings.review_port
    console.print(f"Review desk on http://{host}:{port}/ (Ctrl-C stops it)")
    desk.serve(settings, host, port, params.for_review(settings))


@cli.command("add-editor")
@click.argument("name")
@click.password_option(help="The editor's password; asked twice when not given")
@common_options
def add_editor(settings: Settings, origins: dict[str, str], name: str, password: str) -> None:
    """Create an editor of the review desk, or give one a new password."""
    from .review import add_editor as save

    with Store.open(settings.db) as store:
        created = save(store, name, password)
    console.print(f"{'Created editor' if created else 'New password for'} {name}.")


@cli.command("import-opml")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@common_options
def import_opml(settings: Settings, origins: dict[str, str], file: Path) -> None:
    """Add the feeds of an OPML file to the sources file."""
    added = opml.append_sources(
        Path(settings.sources), opml.import_(file), comment=f"imported from {file.name}"
    )
    console.print(f"{len(added)} feeds added to {settings.sources}")


@cli.command("export-opml")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="File to write"
)
@common_options
def export_opml(settings: Settings, origins: dict[str, str], output: Path | None) -> None:
    """Write the sources file as OPML (to standard output by default)."""
    text = opml.export(load_sources(settings.sources))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}")


@cli.command("export-notes")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@common_options
def export_notes(settings: Settings, origins: dict[str, str], folder: Path) -> None:
    """Write every published story and topic as Markdown notes with [[wikilinks]] and YAML
    front matter into FOLDER (an Obsidian-style vault); re-running updates them in place."""
    with Store.open(settings.db) as store:
        report = run.export_notes(store, settings, folder)
    console.print(
        f"{report.written} notes written, {report.unchanged} unchanged, "
        f"{report.removed} removed in {folder}"
    )


@cli.command("config")
@common_options
def config_cmd(settings: Settings, origins: dict[str, str]) -> None:
    """Show every setting's effective value and where it came from."""
    table = Table(title="Settings")
    for col in ("setting", "value", "from", "env"):
        table.add_column(col, overflow="fold")
    for s in SETTINGS:
        table.add_row(s.name, repr(getattr(settings, s.name)), origins[s.name], s.env)
    console.print(table)


@cli.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("demo-output"),
    show_default=True,
    help="Folder for the demo database and sources file",
)
@click.option("--port", default=0, help="Port for the corpus server (0 picks a free one)")
@common_options
def demo_cmd(settings: Settings, origins: dict[str, str], out: Path, port: int) -> None:
    """Serve the bundled recorded feeds on 127.0.0.1 and run the whole pipeline on them,
    publishing a digest for each day of the corpus into the --out folder."""
    with demo.serve_corpus(port) as server:
        db, sources_file = demo.prepare(out, server.base_url)
        demo_settings = replace(
            settings,
            db=str(db),
            sources=str(sources_file),
            digests_dir=str(out / "digests"),
            site_dir=str(out / "site"),
        )
        console.print(f"serving the demo corpus at {server.base_url}")
        store, _ = run.init(demo_settings)
        with store:
            with _fetch_progress() as callbacks:
                fetched = run.fetch_round(store, demo_settings, force=True, **callbacks)
            _print_run(run.RunReport(fetched, run.update_stories(store, demo_settings)))
            for built in run.build_every_day(store, demo_settings):
                _print_build(built)
    console.print(
        f"digests: {out / 'digests'}  site: {out / 'site' / 'index.html'}  database: {db}\n"
        f"try: digest stories --db {db}"
    )


@cli.command("schedule")
@common_options
def schedule_cmd(settings: Settings, origins: dict[str, str]) -> None:
    """Run the daemon: fetch sources as they fall due, and build (and email) the digest daily
    at publish_time. One daemon per database; SIGTERM or Ctrl-C stops it between steps.
    On PostgreSQL it only queues that work, for `digest worker` processes."""
    daemon.serve(settings)


@cli.command("worker")
@click.option("--concurrency", type=int, help="Tasks at once [setting worker_concurrency]")
@click.option(
    "--queue",
    "queues",
    multiple=True,
    type=click.Choice(tasks.QUEUES),
    help="Take only this queue's tasks (repeatable); default every queue",
)
@common_options
def worker_cmd(
    settings: Settings, origins: dict[str, str], concurrency: int | None, queues: tuple[str, ...]
) -> None:
    """Take fetch, extract, cluster, summarize and build tasks from the queue in the
    PostgreSQL database; run any number, on any machines. SIGTERM lets the tasks in
    flight finish, then stops."""
    tasks.serve_worker(settings, concurrency or settings.worker_concurrency, queues or tasks.QUEUES)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text")
@common_options
def status(settings: Settings, origins: dict[str, str], as_json: bool) -> None:
    """Show the daemon, the last fetches, failing sources, the last digest and the next runs."""
    with Store.open(settings.db) as store:
        report = ops.status(store, settings)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        return
    zone = ZoneInfo(settings.timezone)

    def at(when: datetime | None) -> str:  # every time in the publication time zone
        return _ago(when.astimezone(zone)) if when is not None else "-"

    pid, recent = report.daemon_pid, report.recent
    running = "not running" if pid is None else f"running (pid {pid or '?'})"
    built = (
        f"{report.last_built[0]} (built {at(report.last_built[1])})" if report.last_built else "-"
    )
    sent = f"{report.last_sent[0]} (sent {at(report.last_sent[1])})" if report.last_sent else "-"
    console.print(
        f"database     {report.db} ({report.size_bytes / 1e6:.1f} MB; "
        + ", ".join(f"{n} {table}" for table, n in report.counts.items())
        + ")\n"
        f"daemon       {running}\n"
        f"last fetch   {at(report.last_fetch_at)}; last 24 h: {recent.feeds} feed fetches "
        f"({recent.feeds_failed} failed, {recent.new_entries} new), {recent.pages} pages "
        f"({recent.pages_failed} failed)\n"
        f"last digest  {built}; last sent {sent}\n"
        f"next fetch   {'now' if report.due_now else at(report.next_fetch_at)} "
        f"({report.due_now} sources due)\n"
        f"next build   {at(report.next_build_at)}  (times in {settings.timezone})",
        highlight=False,
    )
    for s in report.failing:
        console.print(
            f"[red]failing[/]      {s.name}: {s.consecutive_failures} times, {s.last_error}; "
            f"next try {at(s.next_fetch_at)}",
            highlight=False,
        )


@cli.command()
@click.option(
    "--older-than",
    "days",
    type=float,
    required=True,
    help="Retention in days (at least the clustering window)",
)
@common_options
def prune(settings: Settings, origins: dict[str, str], days: float) -> None:
    """Drop page texts and fetch log rows older than the retention, then VACUUM.
    Stories, their summaries and citations, articles' URLs and titles, and digests stay."""
    with Store.open(settings.db) as store:
        report = ops.prune(store, settings, days)
    console.print(
        f"before {_ago(report.cutoff)}: {report.texts_dropped} page texts and "
        f"{report.fetches_deleted} fetch log rows dropped; "
        f"{report.bytes_before / 1e6:.1f} MB → {report.bytes_after / 1e6:.1f} MB"
    )


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@common_options
def backup(settings: Settings, origins: dict[str, str], file: Path) -> None:
    """Write a consistent copy of the database to FILE, safe while the daemon writes
    (of a PostgreSQL database: a pg_dump custom-format file)."""
    with Store.open(settings.db) as store:
        report = ops.backup(store, file)
    console.print(
        f"wrote {report.path} ({report.size_bytes / 1e6:.1f} MB in {report.seconds:.1f} s)"
    )


@cli.command("migrate-db")
@click.option("--to", "target", required=True, help="The empty database to fill: postgresql://…")
@common_options
def migrate_db(settings: Settings, origins: dict[str, str], target: str) -> None:
    """Copy every table of the database (normally the SQLite file) into an empty one
    (normally PostgreSQL), ids included; stop the daemon first, then point DIGEST_DB at it."""
    with Store.open(settings.db) as store:
        totals = ops.table_rows(store)
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
        with Progress(*columns, console=console, transient=True) as progress:
            task = progress.add_task("rows", total=sum(totals.values()))
            copied = ops.migrate_db(
                store,
                target,
                lambda table, n: progress.update(task, advance=n, description=table),
            )
    console.print(f"copied {sum(copied.values())} rows of {len(copied)} tables to {redact(target)}")
