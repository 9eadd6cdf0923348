"""Summary benchmark: citation quality, clean sentences, redundancy and speed per story.

Input is the bundled demo corpus (``pipeline/demo/corpus/answer_key.json``
groups recorded article pages into stories; page text comes from trafilatura,
feed summaries and dates from each outlet's feed) or, with ``--data FILE``, a
CSV in the shared development format (``ID, TITLE, URL, PUBLISHER, STORY,
TIMESTAMP`` and optionally ``TEXT``); rows whose publisher is "unknown" count
as separate outlets, since ECB+ documents come from different papers.

Columns, per story and in total:
- precision: the share of summary sentences whose every cited source has one
  sentence that contains it or nearly paraphrases it, measured independently
  of the summarizer (rapidfuzz token_set_ratio ≥ 75, or 60% of its exact
  words, against one source sentence or two adjacent ones; no stemming or weights);
- verified: the same share by ``summarize.verify_citations`` (the LLM gate);
- multi: whether a multi-outlet story's summary cites two or more sources;
- bad: summary sentences that are boilerplate or fragments (``reject_reason``,
  which allows four-word sentences in stories of titles only, plus independent
  markers);
- redundancy: the highest cosine between two summary sentences;
- ms: time to summarize the story cold (its text never seen before).

With ``--facts``, the stories are the gold stories of the AI-news development
set (rows grouped by their story label, so clustering plays no part) that have
a key-facts file in ``benchmarks/facts/``, and the table gives nugget recall
(``benchmarks/nuggets.py``) of our summary beside two baselines held to the
same word budget, our summary's length: lead-3 (the earliest article's
opening sentences, cut at the budget) and centroid (the sentences closest to
the story's centroid, MEAD-style, skipping near repeats, cut at the budget).
Its last line is ``nugget recall <ours> lead3 <x> centroid <y>``.

    python benchmarks/summarize.py [--data FILE] [--limit N] [--show]
    python benchmarks/summarize.py --facts [--data FILE] [--show]
    python benchmarks/summarize.py --crowd 50 500 5000

With ``--crowd N …``, the cost of summarizing one enormous story: the demo
corpus's largest story told again by N outlets (each member a copy of one of
its articles under another outlet's name, as a viral event or a feed of
look-alike pages makes), timed cold with its peak memory; the summary reads
``SummaryParams.max_sources`` of them, so the time should stay nearly flat.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import statistics
import sys
import time
import tracemalloc
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import trafilatura
import yaml
from rapidfuzz import fuzz
from rich.console import Console
from rich.table import Table

# One BLAS thread: the similarity matrices are small, and on a shared 2-core
# machine OpenBLAS's second thread only adds spin-waiting and tail latency.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nuggets import FACTS, Fact, all_facts, recall, stated  # noqa: E402

from pipeline.models import Article, Summary  # noqa: E402
from pipeline.sentences import content_terms, reject_reason, split_sentences  # noqa: E402
from pipeline.summarize import (  # noqa: E402
    SummaryParams,
    source_texts,
    sources_read,
    summarize,
    verify_citations,
)

CORPUS = ROOT / "pipeline" / "demo" / "corpus"
ECBPLUS = ROOT / ".." / "shared" / "data" / "ecbplus_dev.csv"
AI_NEWS = ROOT / ".." / "shared" / "data" / "ai_news_dev.csv"
STOPWORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "but",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "from",
        "by",
        "with",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "has",
        "have",
        "had",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "they",
        "his",
        "her",
        "their",
        "said",
        "says",
        "will",
        "would",
        "not",
    ]
)
# Page furniture no summary sentence should contain, listed apart from the summarizer's own.
MARKERS = re.compile(
    r"(?i)newsletter|\bsubscribe\b|sign up|read more|click here|getty|shutterstock|credit:|"
    r"all rights reserved|©|https?://|appeared first|advertisement|^by [A-Z]"
)


def load_csv(path: Path) -> dict[str, list[Article]]:
    """Stories from a development CSV; the title is prepended when it is a full first sentence."""
    stories: dict[str, list[Article]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            title, text = row["TITLE"].strip(), (row.get("TEXT") or "").strip()
            if text and re.search(r"[.!?\"']$", title):
                text = f"{title} {text}"
            publisher = row.get("PUBLISHER") or "unknown"
            stories[row["STORY"]].append(
                Article(
                    id=int(row["ID"]),
                    source_id=int(row["ID"]),
                    outlet=publisher if publisher != "unknown" else f"doc-{row['ID']}",
                    url=row["URL"],
                    canonical_url=row["URL"],
                    title=title,
                    text=text,
                    published_at=datetime.fromtimestamp(int(row["TIMESTAMP"]) / 1000, UTC),
                )
            )
    return dict(stories)


def load_demo(corpus: Path) -> dict[str, list[Article]]:
    """Stories of the demo corpus: recorded pages, their feeds' summaries and dates."""
    key = json.loads((corpus / "answer_key.json").read_text(encoding="utf-8"))
    sources = yaml.safe_load((corpus / "sources.yaml").read_text(encoding="utf-8"))["sources"]
    weights = {s["name"]: float(s.get("weight", 0.5)) for s in sources}
    items: dict[str, tuple[str, str, datetime | None]] = {}
    for feed in corpus.glob("*/feed.xml"):
        for entry in feedparser.parse(feed.read_bytes()).entries:
            path = "/" + entry.get("link", "").split("}/", 1)[-1]
            when = entry.get("published_parsed")
            items[path] = (
                entry.get("title", ""),
                re.sub(r"<[^>]+>", " ", entry.get("summary", "")).strip(),
                datetime(*when[:6], tzinfo=UTC) if when else None,
            )
    ids = {a["path"]: n for n, a in enumerate(key["articles"], start=1)}
    stories: dict[str, list[Article]] = defaultdict(list)
    for entry in key["articles"]:
        path = entry["path"]
        title, summary, when = items.get(path, ("", "", None))
        page = corpus / path.lstrip("/")
        text = ""
        if not entry.get("headline_only") and page.is_file():
            text = trafilatura.extract(page.read_text(encoding="utf-8")) or ""
        stories[entry["story"] or path.rsplit("/", 1)[-1].removesuffix(".html")].append(
            Article(
                id=ids[path],
                source_id=ids[path],
                outlet=entry["outlet"],
                url=path,
                canonical_url=path,
                title=title or path.rsplit("/", 1)[-1],
                feed_summary=summary,
                text=text,
                published_at=when,
                duplicate_of=ids.get(entry.get("duplicate_of") or ""),
                source_weight=weights.get(entry["outlet"], 0.5),
            )
        )
    return dict(stories)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9][a-z0-9'-]+", text.lower()) if w not in STOPWORDS}


def contains(sentence: str, source_text: str) -> bool:
    """One source sentence (or two adjacent) holds this sentence or a near paraphrase of it.

    Near paraphrase: rapidfuzz token_set_ratio ≥ 75, or 60% of the sentence's
    words (exact, unstemmed, unweighted) in the source sentence.
    """
    claim = _words(sentence)
    sentences = split_sentences(source_text)
    pairs = [" ".join(sentences[i : i + 2]) for i in range(len(sentences))]
    return any(
        fuzz.token_set_ratio(sentence, s) >= 75 or len(claim & _words(s)) >= 0.6 * len(claim)
        for s in pairs
    )


def redundancy(summary: Summary) -> float:
    vectors = [content_terms(s.text) for s in summary.sentences]
    best = 0.0
    for i, a in enumerate(vectors):
        for b in vectors[i + 1 :]:
            dot = sum(v * b.get(t, 0.0) for t, v in a.items())
            norms = (sum(v * v for v in a.values()) * sum(v * v for v in b.values())) ** 0.5
            best = max(best, dot / norms if norms else 0.0)
    return best


def measure(members: list[Article]) -> dict[str, float | int | bool | Summary]:
    start = time.perf_counter()
    summary = summarize(members)
    elapsed_ms = (time.perf_counter() - start) * 1000
    texts = source_texts(members, summary.sources)
    sentences = summary.sentences
    precise = sum(
        all(n in texts and contains(s.text, texts[n]) for n in s.citations) and bool(s.citations)
        for s in sentences
    )
    failed = {(p.part, p.index) for p in verify_citations(summary, texts)}
    parts = [("lead", i) for i in range(len(summary.lead))]
    parts += [("points", i) for i in range(len(summary.points))]
    titles_only = not any(a.text or a.feed_summary for a in members)
    bad = sum(
        reject_reason(s.text, 4 if titles_only else 6) is not None or bool(MARKERS.search(s.text))
        for s in sentences
    )
    return {
        "summary": summary,
        "outlets": len(summary.sources),
        "sentences": len(sentences),
        "precise": precise,
        "verified": sum(p not in failed for p in parts),
        "cited": len({n for s in sentences for n in s.citations}),
        "bad": bad,
        "redundancy": redundancy(summary),
        "ms": elapsed_ms,
    }


def _words_of(text: str) -> list[str]:
    return text.split()


def _cut(sentences: list[str], budget: int) -> str:
    """Whole sentences in order while they fit, the next one cut at the word budget."""
    words: list[str] = []
    for sentence in sentences:
        words += _words_of(sentence)
        if len(words) >= budget:
            break
    return " ".join(words[:budget])


def lead_baseline(members: list[Article], budget: int) -> str:
    """Lead-3 and on: the earliest article's opening sentences, cut at the budget."""
    first = min(members, key=lambda a: a.time_order)
    return _cut(split_sentences(first.text or first.title), budget)


def centroid_baseline(members: list[Article], budget: int, redundancy: float = 0.5) -> str:
    """MEAD-style centroid: sentences by cosine to the story's centroid, near repeats skipped."""
    sentences = [s for a in members for s in split_sentences(a.text or a.title)]
    vectors = [content_terms(s) for s in sentences]
    units = [{t: v / n for t, v in vec.items()} for vec in vectors if (n := _norm(vec))]
    centroid: dict[str, float] = {}
    for unit in units:
        for term, value in unit.items():
            centroid[term] = centroid.get(term, 0.0) + value
    scored = sorted(
        ((_cosine(vec, centroid), i) for i, vec in enumerate(vectors) if vec), reverse=True
    )
    chosen: list[int] = []
    for _, index in scored:
        if all(_cosine(vectors[index], vectors[j]) <= redundancy for j in chosen):
            chosen.append(index)
        if sum(len(_words_of(sentences[j])) for j in chosen) >= budget:
            break
    return _cut([sentences[j] for j in chosen], budget)


def _norm(vector: dict[str, float]) -> float:
    return float(sum(v * v for v in vector.values()) ** 0.5)


def _cosine(a: dict[str, float], b: dict[str, float]) -> float:
    norms = _norm(a) * _norm(b)
    return sum(v * b.get(t, 0.0) for t, v in a.items()) / norms if norms else 0.0


def facts_run(path: Path, folder: Path, show: bool) -> None:
    """Nugget recall of ours, lead-3 and centroid per gold story, and citation precision."""
    if not path.is_file():
        raise SystemExit(f"{path}: no such file")
    try:
        facts = all_facts(folder)
    except ValueError as error:
        raise SystemExit(str(error)) from error
    stories = {k: v for k, v in load_csv(path).items() if k in facts}
    if not stories:
        raise SystemExit(f"{path}: no story has a facts file in {folder}")
    summarize(next(iter(stories.values()))[:1])  # load wordfreq's tables
    console = Console() if Console().is_terminal else Console(width=160)
    table = Table(title=f"Key facts stated, {len(stories)} stories of {path.name}")
    for column in ("story", "facts", "ours", "lead3", "centroid", "words", "precision"):
        table.add_column(column, justify="left" if column == "story" else "right")
    totals = {"ours": 0.0, "lead3": 0.0, "centroid": 0.0}
    precise = sentences = 0
    for key in sorted(stories):
        members, story_facts = stories[key], facts[key]
        result = measure(members)
        summary = result["summary"]
        assert isinstance(summary, Summary)
        ours = " ".join(s.text for s in summary.sentences)
        budget = len(_words_of(ours))
        got = {
            "ours": recall(ours, story_facts),
            "lead3": recall(lead_baseline(members, budget), story_facts),
            "centroid": recall(centroid_baseline(members, budget), story_facts),
        }
        for name, value in got.items():
            totals[name] += value
        precise += int(result["precise"])
        sentences += int(result["sentences"])
        n = max(int(result["sentences"]), 1)
        table.add_row(
            key,
            str(len(story_facts)),
            *(f"{got[name]:.2f}" for name in totals),
            str(budget),
            f"{int(result['precise']) / n:.0%}",
        )
        if show:
            _show(console, key, summary, story_facts, ours)
    means = {name: value / len(stories) for name, value in totals.items()}
    table.add_section()
    table.add_row(
        "mean",
        "",
        *(f"{means[name]:.3f}" for name in means),
        "",
        f"{precise / max(sentences, 1):.1%}",
    )
    console.print(table)
    print(f"citation-precision {precise / max(sentences, 1):.3f} sentences {sentences}")
    # The last line is read by benchmarks/eval_gate.py.
    print(
        f"nugget recall {means['ours']:.3f} lead3 {means['lead3']:.3f} centroid {means['centroid']:.3f}"
    )


def _show(console: Console, key: str, summary: Summary, facts: tuple[Fact, ...], text: str) -> None:
    found = {f.id for f in stated(text, facts)}
    console.print(f"{key}: {summary.headline}", markup=False, style="bold")
    for sentence in summary.sentences:
        console.print("  " + sentence.render(), markup=False)
    missed = [f.id for f in facts if f.id not in found]
    console.print(f"  missed: {', '.join(missed) or '-'}", markup=False, style="dim")


def crowd_run(sizes: list[int]) -> None:
    """Time and peak memory of one story told by each of ``sizes`` outlets."""
    stories = load_demo(CORPUS)
    told = max(stories.values(), key=len)
    summarize(told)  # load wordfreq's tables before timing
    table = Table(title=f"One story of {len(told)} articles, told again by N outlets")
    for column in ("members", "sources", "read", "sentences", "seconds", "peak MB"):
        table.add_column(column, justify="right")
    limit = SummaryParams().max_sources
    for size in sizes:
        members = [
            replace(
                told[i % len(told)],
                id=i + 1,
                source_id=i + 1,
                outlet=f"Outlet {i + 1}",
                duplicate_of=None,
                published_at=datetime(2024, 12, 18, tzinfo=UTC) + timedelta(minutes=i),
            )
            for i in range(size)
        ]
        tracemalloc.start()
        start = time.perf_counter()
        summary = summarize(members)
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        read = sources_read(members, summary.sources, limit)
        table.add_row(
            str(size),
            str(len(summary.sources)),
            str(len(read)),
            str(len(summary.sentences)),
            f"{seconds:.2f}",
            f"{peak / 1e6:.0f}",
        )
    Console().print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="CSV corpus (ID, TITLE, STORY, TEXT, ...)")
    parser.add_argument("--limit", type=int, default=0, help="only the first N stories")
    parser.add_argument("--show", action="store_true", help="print every summary")
    parser.add_argument(
        "--facts",
        action="store_true",
        help="nugget recall against benchmarks/facts/, with baselines",
    )
    parser.add_argument("--facts-dir", type=Path, default=FACTS, help="where the facts files are")
    parser.add_argument(
        "--crowd", type=int, nargs="+", metavar="N", help="time one story told by N outlets"
    )
    args = parser.parse_args()
    if args.crowd:
        crowd_run(args.crowd)
        return
    if args.facts:
        facts_run(args.data or AI_NEWS, args.facts_dir, args.show)
        return
    if args.data:
        stories, name = load_csv(args.data), args.data.name
    elif (CORPUS / "answer_key.json").is_file():
        stories, name = load_demo(CORPUS), "demo corpus"
    else:
        stories, name = load_csv(ECBPLUS), ECBPLUS.name
    keys = sorted(stories)[: args.limit or None]
    summarize(stories[keys[-1]][:1])  # load wordfreq's tables before timing
    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # a file or pipe gets the whole table
    table = Table(title=f"Summaries of {len(keys)} stories from {name}")
    for column in ("story", "outlets", "sentences", "precision", "verified", "multi", "bad"):
        table.add_column(column, justify="left" if column == "story" else "right")
    table.add_column("redundancy", justify="right")
    table.add_column("ms", justify="right")
    results = []
    for key in keys:
        result = measure(stories[key])
        results.append(result)
        n = max(int(result["sentences"]), 1)
        multi = "-" if int(result["outlets"]) < 2 else ("yes" if int(result["cited"]) > 1 else "NO")
        table.add_row(
            key,
            str(result["outlets"]),
            str(result["sentences"]),
            f"{int(result['precise']) / n:.0%}",
            f"{int(result['verified']) / n:.0%}",
            multi,
            str(result["bad"]),
            f"{float(result['redundancy']):.2f}",
            f"{float(result['ms']):.1f}",
        )
        if args.show:
            summary = result["summary"]
            assert isinstance(summary, Summary)
            console.print(f"{key}: {summary.headline}", markup=False, style="bold")
            for sentence in summary.sentences:
                console.print("  " + sentence.render(), markup=False)
    sentences = sum(int(r["sentences"]) for r in results) or 1
    multi_stories = [r for r in results if int(r["outlets"]) > 1]
    times = [float(r["ms"]) for r in results]
    table.add_section()
    table.add_row(
        "total",
        str(sum(int(r["outlets"]) for r in results)),
        str(sentences),
        f"{sum(int(r['precise']) for r in results) / sentences:.1%}",
        f"{sum(int(r['verified']) for r in results) / sentences:.1%}",
        f"{sum(int(r['cited']) > 1 for r in multi_stories) / max(len(multi_stories), 1):.0%}",
        str(sum(int(r["bad"]) for r in results)),
        f"max {max(float(r['redundancy']) for r in results):.2f}",
        f"median {statistics.median(times):.1f} / max {max(times):.1f}",
    )
    console.print(table)
    precision = sum(int(r["precise"]) for r in results) / sentences
    multi_rate = sum(int(r["cited"]) > 1 for r in multi_stories) / max(len(multi_stories), 1)
    bad = sum(int(r["bad"]) for r in results)
    # The last line is read by benchmarks/eval_gate.py.
    print(f"citation-precision {precision:.3f} multi-source {multi_rate:.3f} boilerplate {bad}")


if __name__ == "__main__":
    main()
