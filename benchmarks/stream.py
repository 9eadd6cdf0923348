"""Living-stories benchmark: 30 days of a synthetic news stream, digest by digest.

Usage::

    python benchmarks/stream.py                 # 30 days, seed 7
    python benchmarks/stream.py --days 60 --seed 3 --show

The stream is generated (like the demo corpus, from templates, never from
real reporting): storylines of invented companies, products, people and
figures, each covered by several outlets over days, with

- **continuations**: the same event covered again on later days by outlets
  that had not written about it yet, with new facts;
- **corrections**: an outlet correcting a figure it reported earlier;
- **branching follow-ups**: a new event from the same company a few days
  later (a product after a funding round): a new story, not an update;
- **look-alikes**: unrelated events of other companies told with the same
  words and shapes (two funding rounds on one day);
- singles: one-article stories, most never continued.

Articles go into a real store day by day, arrival order kept; each day runs
dedupe and clustering (``run.process_new``) and then ``run.build_day`` with
no story limit, exactly what the daily build does. Against the truth of the
generator, for each story of each digest:

- an **update** link is correct when the storyline of what joined the story
  was published in an earlier digest and the story's earlier articles are of
  that storyline; precision = correct update links / updates published;
- recall = correct update links / storylines that came back with a new
  outlet after an earlier digest carried them;
- repeats: stories carried again without a new source (must be 0);
- what's new: share of updates' sentences citing only new sources (must be 100%).
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline import run  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.models import UPDATE, Entry, ExtractedPage, Source  # noqa: E402
from pipeline.store import Store  # noqa: E402

CONSOLE = Console(width=120)
START = date(2025, 3, 3)
OUTLETS = [
    ("Aurora Wire", 0.9),
    ("Beacon Tech", 0.7),
    ("Cinder Weekly", 0.6),
    ("Delta Dispatch", 0.75),
    ("Ember Review", 0.5),
    ("Fathom News", 0.8),
    ("Gallery Ledger", 0.55),
    ("Harbor Daily", 0.65),
]
SYLLABLES = [
    "ka",
    "ru",
    "mi",
    "to",
    "lo",
    "ne",
    "sa",
    "vi",
    "da",
    "pe",
    "qu",
    "zo",
    "ri",
    "fa",
    "lu",
    "ba",
    "ko",
    "te",
    "xi",
]
FIRST = [
    "Ines",
    "Marek",
    "Priya",
    "Tomas",
    "Leila",
    "Jonah",
    "Sofia",
    "Dmitri",
    "Aiko",
    "Ruben",
    "Nadia",
    "Oscar",
]
LAST = [
    "Varga",
    "Okafor",
    "Lindqvist",
    "Moreau",
    "Tanaka",
    "Brennan",
    "Castillo",
    "Haddad",
    "Novak",
    "Quint",
]
KINDS = ("funding", "launch", "paper", "policy", "outage")


@dataclass
class Storyline:
    """One event as the generator knows it: who, what, the figures, and when it is covered."""

    key: str
    kind: str
    company: str
    product: str
    person: str
    figure: int
    city: str
    days: list[int] = field(default_factory=list)  # days of coverage, first is the event
    corrected: int | None = None  # the day a correction runs


@dataclass(frozen=True)
class Piece:
    """One generated article with the storyline it belongs to."""

    storyline: str
    outlet: str
    title: str
    text: str
    at: datetime
    url: str


def _name(rng: random.Random, parts: int = 2) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(parts)).capitalize()


LEADS = {
    "funding": [
        "{company} has raised ${figure} million in a new round led by {city} Partners, the company said.",
        "AI start-up {company} closed a ${figure} million round led by {city} Partners to scale {product}.",
        "Investors led by {city} Partners put ${figure} million into {company}, maker of {product}.",
    ],
    "launch": [
        "{company} released {product}, a model it says handles {figure} languages.",
        "{company} launched {product} on Tuesday, claiming support for {figure} languages.",
        "The new {product} from {company} covers {figure} languages, the company announced.",
    ],
    "paper": [
        "Researchers at {company} published a paper on {product}, reporting a {figure} percent error reduction.",
        "A {company} team led by {person} described {product} in a new paper with a {figure} percent gain.",
        "{person} and colleagues at {company} report that {product} cuts errors by {figure} percent.",
    ],
    "policy": [
        "Regulators in {city} proposed rules requiring {company} and rivals to audit {product} within {figure} days.",
        "A {city} draft rule would give {company} {figure} days to audit systems such as {product}.",
        "{city} officials want AI firms including {company} to file audits of {product} within {figure} days.",
    ],
    "outage": [
        "{company}'s {product} service went down for {figure} minutes, disrupting customers in {city}.",
        "An outage at {company} took {product} offline for {figure} minutes on Monday.",
        "Customers of {product} lost access for {figure} minutes after a failure at {company}.",
    ],
}
FACTS = [
    "{person}, who leads the work at {company}, said the team had planned this for a year.",
    "{company} employs about {staff} people, most of them in {city}.",
    "The company said {product} would reach more customers in the coming months.",
    "Analysts said the move puts {company} ahead of several rivals.",
    "{person} declined to give more detail about {product}.",
]
AI = [
    "{product} is built on a large language model that {company} trained on its own GPUs.",
    "The generative AI system behind {product} was trained by {company} researchers.",
    "{company} says {product} uses machine learning models fine-tuned for the task.",
]
FOLLOW = [
    "On day {n} of the story, {person} told reporters that {company} would publish more detail on {product}.",
    "Rivals responded on day {n}: two competitors said they would match {product}.",
    "New documents seen on day {n} show {company} had discussed {product} with {city} officials.",
    "Customers interviewed on day {n} said {product} had already changed their plans.",
]
TITLES = {
    "funding": "{company} raises ${figure} million for {product}",
    "launch": "{company} launches {product} with {figure} languages",
    "paper": "{company} paper: {product} cuts errors {figure}%",
    "policy": "{city} proposes {figure}-day audits for AI such as {product}",
    "outage": "{product} outage at {company} lasts {figure} minutes",
}


def generate(days: int, rng: random.Random) -> tuple[list[Piece], dict[str, Storyline]]:
    """The stream's articles in publication order, and the storylines they belong to."""
    lines: dict[str, Storyline] = {}
    for index in range(days * 2):
        start = rng.randrange(days - 1)
        kind = rng.choice(KINDS)
        line = Storyline(
            key=f"s{index}",
            kind=kind,
            company=f"{_name(rng)} {rng.choice(['AI', 'Labs', 'Systems'])}",
            product=f"{_name(rng)} {rng.randint(2, 9)}",
            person=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
            figure=rng.randint(12, 950),
            city=_name(rng, 3),
            days=[start],
        )
        if rng.random() < 0.45:  # continued: 1 to 4 more days of coverage, gaps of 1 or 2 days
            day = start
            for _ in range(rng.randint(1, 4)):
                day += rng.choice((1, 1, 2))
                if day < days:
                    line.days.append(day)
        if len(line.days) > 1 and rng.random() < 0.3:
            line.corrected = line.days[-1]
        lines[line.key] = line
        if rng.random() < 0.2 and start + 3 < days:  # a branch: a new event of the same company
            branch = replace(
                line,
                key=f"{line.key}b",
                kind=rng.choice([k for k in KINDS if k != kind]),
                product=f"{_name(rng)} {rng.randint(2, 9)}",
                figure=rng.randint(12, 950),
                days=[start + rng.randint(3, 6)],
                corrected=None,
            )
            if branch.days[0] < days:
                lines[branch.key] = branch
        if rng.random() < 0.3:  # a look-alike: another company, the same kind of event, same day
            twin = replace(
                line,
                key=f"{line.key}t",
                company=f"{_name(rng)} {rng.choice(['AI', 'Labs', 'Systems'])}",
                product=f"{_name(rng)} {rng.randint(2, 9)}",
                person=f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                figure=rng.randint(12, 950),
                days=[start],
                corrected=None,
            )
            lines[twin.key] = twin
    pieces = []
    for line in lines.values():
        unused = [o for o, _ in OUTLETS]
        rng.shuffle(unused)
        for number, day in enumerate(line.days):
            writers = [unused.pop() for _ in range(min(len(unused), rng.randint(1, 3)))]
            if line.corrected == day and not writers:
                writers = [OUTLETS[0][0]]
            for outlet in writers:
                pieces.append(_article(line, outlet, day, number, rng))
    pieces.sort(key=lambda p: p.at)
    return pieces, lines


def _article(line: Storyline, outlet: str, day: int, number: int, rng: random.Random) -> Piece:
    values = {
        "company": line.company,
        "product": line.product,
        "person": line.person,
        "figure": line.figure,
        "city": line.city,
        "staff": 40 + line.figure % 300,
        "n": number + 1,
    }
    sentences = [rng.choice(LEADS[line.kind]).format(**values)]
    sentences.append(rng.choice(AI).format(**values))
    sentences += [f.format(**values) for f in rng.sample(FACTS, 3)]
    title = TITLES[line.kind].format(**values)
    if number:
        sentences.insert(1, rng.choice(FOLLOW).format(**values))
        title = f"{line.product}: what happened next at {line.company}"
    if line.corrected == day:
        sentences.append(
            f"Correction: an earlier report misstated a figure about {line.product}; "
            f"{line.company} confirmed the number is {line.figure}."
        )
    at = datetime.combine(START + timedelta(days=day), datetime.min.time(), tzinfo=UTC)
    at += timedelta(hours=8 + rng.random() * 14)
    slug = f"{line.key}-{day}-{outlet.split()[0].lower()}"
    return Piece(line.key, outlet, title, " ".join(sentences), at, f"https://{slug}.example/a")


@dataclass
class Score:
    updates: int = 0
    correct: int = 0
    continued: int = 0
    repeats: int = 0
    sentences: int = 0
    clean: int = 0
    stories: int = 0


def replay(pieces: list[Piece], days: int, folder: Path, show: bool) -> tuple[Score, float]:
    """Feed the stream into a fresh store day by day, build each digest, score it."""
    settings = replace(
        Settings(),
        db=str(folder / "stream.db"),
        digests_dir=str(folder / "digests"),
        site_dir=str(folder / "site"),
        timezone="UTC",
    )
    store = Store.open(settings.db)
    store.sources.sync(
        [
            Source(name, f"https://{name.split()[0].lower()}.example/feed", weight=w)
            for name, w in OUTLETS
        ]
    )
    source_of = {s.name: s.id for s in store.sources.all()}
    truth: dict[int, str] = {}
    published: set[str] = set()  # storylines an earlier digest carried
    seen_outlets: dict[str, set[str]] = {}
    score = Score()
    started = time.perf_counter()
    for offset in range(days + 1):
        day = START + timedelta(days=offset)
        cutoff = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=7)
        arriving = [p for p in pieces if cutoff - timedelta(days=1) <= p.at < cutoff]
        for piece in arriving:
            entry = Entry(url=piece.url, guid=piece.url, title=piece.title, published_at=piece.at)
            (article_id,) = store.articles.insert_entries(
                source_of[piece.outlet] or 0, [(entry, piece.url)], piece.at
            )
            store.articles.set_extracted(
                article_id, ExtractedPage(text=piece.text, title=piece.title), None, piece.at
            )
            truth[article_id] = piece.storyline
        run.process_new(store, settings)
        report = run.build_day(store, settings, day, limit=0)
        carried_now: set[str] = set()
        for story in report.digest.stories:
            score.stories += 1
            ids = [a for c in story.summary.sources for a in c.article_ids]
            new_ids = [
                a
                for c in story.summary.sources
                if c.number in story.new_sources
                for a in c.article_ids
            ]
            lines = Counter(truth[a] for a in ids)
            main = lines.most_common(1)[0][0]
            carried_now.update(lines)
            if story.edition == UPDATE:
                score.updates += 1
                if not story.new_sources:
                    score.repeats += 1
                joined = Counter(truth[a] for a in new_ids).most_common(1)
                earlier = Counter(truth[a] for a in ids if a not in new_ids).most_common(1)
                if (
                    joined
                    and earlier
                    and joined[0][0] == earlier[0][0]
                    and joined[0][0] in published
                ):
                    score.correct += 1
                elif show:
                    CONSOLE.print(f"{day} wrong update #{story.id}: {dict(lines)}")
                for sentence in story.whats_new:
                    score.sentences += 1
                    score.clean += set(sentence.citations) <= set(story.new_sources)
            elif show and main in published:
                CONSOLE.print(f"{day} missed update #{story.id}: {dict(lines)}")
        for line in {p.storyline for p in arriving}:
            outlets = {p.outlet for p in arriving if p.storyline == line}
            if line in published and outlets - seen_outlets.get(line, set()):
                score.continued += 1
        for piece in arriving:
            seen_outlets.setdefault(piece.storyline, set()).add(piece.outlet)
        published |= carried_now
    elapsed = time.perf_counter() - started
    store.close()
    return score, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--show", action="store_true", help="print every wrong or missed link")
    args = parser.parse_args()
    pieces, lines = generate(args.days, random.Random(args.seed))
    folder = Path(tempfile.mkdtemp(prefix="stream-"))
    try:
        score, elapsed = replay(pieces, args.days, folder, args.show)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    precision = score.correct / score.updates if score.updates else 1.0
    recall = score.correct / score.continued if score.continued else 1.0
    table = Table(title=f"Living stories over {args.days} days (seed {args.seed})")
    for column in ("measure", "value", "target"):
        table.add_column(column)
    kinds = Counter(
        "branch" if k.endswith("b") else "look-alike" if k.endswith("t") else "line" for k in lines
    )
    table.add_row("articles / storylines", f"{len(pieces)} / {len(lines)} ({dict(kinds)})", "")
    table.add_row("stories published", str(score.stories), "")
    table.add_row("updates published", str(score.updates), "")
    table.add_row("storylines back with a new outlet", str(score.continued), "")
    table.add_row("update-link precision", f"{precision:.3f}", "≥ 0.95")
    table.add_row("update-link recall", f"{recall:.3f}", "≥ 0.85")
    table.add_row("repeated without a new source", str(score.repeats), "0")
    clean = score.clean / score.sentences if score.sentences else 1.0
    table.add_row("what's new citing only new sources", f"{clean:.1%} of {score.sentences}", "100%")
    table.add_row("time (cluster + build, all days)", f"{elapsed:.1f} s", "")
    CONSOLE.print(table)


if __name__ == "__main__":
    main()
