"""Story clustering quality and speed, ours beside two tuned baselines, on labelled CSVs.

Usage::

    python benchmarks/cluster.py                    # the shared dev sets and the demo corpus
    python benchmarks/cluster.py --data FILE.csv    # one labelled file (format of uci_dev_1500.csv)
    python benchmarks/cluster.py --no-baselines     # ours only
    python benchmarks/cluster.py --scale 100000     # a synthetic stream: time and memory
    python benchmarks/cluster.py --orders 8 --data F  # mean over 8 shuffled arrival orders
    python benchmarks/cluster.py --referee oracle   # with a referee on borderline joins (or llm)

Rows are fed in time order through ``pipeline.cluster.assign``, the code the
pipeline runs. Baselines (scikit-learn is a bench-only dependency) get their
threshold tuned on the very file they are scored on, so they are upper bounds
of themselves; ours runs with its defaults. Scores: B-cubed precision, recall
and F1, adjusted Rand index and NMI. The last line printed is always
``B3-F1 x ARI y NMI z`` for our method (with several files, their mean).
"""

from __future__ import annotations

import argparse
import csv
import random
import resource
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.cluster import Clusterer, ClusterParams, FeatureCache, assign  # noqa: E402
from pipeline.cluster_keep import KeptIndex  # noqa: E402
from pipeline.models import Article, Constraints  # noqa: E402
from pipeline.referee import Referee, question_key  # noqa: E402

DATA = ROOT / ".." / "shared" / "data"
DEMO = ROOT / "pipeline" / "demo" / "corpus" / "answer_key.json"
CONSOLE = Console(width=150)
T = TypeVar("T")


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    ari: float
    nmi: float
    clusters: int


@dataclass(frozen=True)
class Result:
    method: str
    scores: Scores
    seconds: float
    peak_mb: float
    note: str = ""


REQUIRED = ("TITLE", "STORY", "TIMESTAMP")
# Below this a TIMESTAMP is in seconds, not milliseconds (1e11 ms is 1973, 1e11 s is year 5138).
SECONDS_BELOW = 1e11


def load(path: Path) -> tuple[list[Article], list[str]]:
    """Articles (in time order) and their gold story labels from a labelled CSV.

    Rows get their position as article id, so a file with repeated or
    non-numeric IDs is still scored row by row; ties in time keep file order.
    TIMESTAMP is Unix milliseconds as in uci_dev_1500.csv (Unix seconds are
    recognised by their size). A missing column or a bad value stops the run
    with the file and line at fault.
    """
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise SystemExit(
                    f"{path}: missing column(s) {', '.join(missing)} "
                    "(expected ID, TITLE, URL, PUBLISHER, STORY, TIMESTAMP and optionally TEXT)"
                )
            rows = [(reader.line_num, row) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SystemExit(f"{path}: cannot read labelled CSV: {exc}") from exc
    if not rows:
        raise SystemExit(f"{path}: no rows to cluster")
    outlets: dict[str, int] = {}
    pairs = []
    for position, (line, row) in enumerate(rows, start=1):
        try:
            stamp = float(row["TIMESTAMP"])
        except (TypeError, ValueError):
            raise SystemExit(
                f"{path}:{line}: TIMESTAMP {row['TIMESTAMP']!r} is not a Unix time"
            ) from None
        if not row["STORY"]:
            raise SystemExit(f"{path}:{line}: empty STORY")
        outlet = row.get("PUBLISHER") or row.get("HOSTNAME") or ""
        url = row.get("URL") or ""
        article = Article(
            id=position,
            source_id=outlets.setdefault(outlet, len(outlets) + 1),
            outlet=outlet,
            url=url,
            canonical_url=url,
            title=row["TITLE"] or "",
            published_at=datetime.fromtimestamp(
                stamp if abs(stamp) < SECONDS_BELOW else stamp / 1000.0, UTC
            ),
            text=_as_extracted(row.get("TEXT") or "", row["TITLE"] or ""),
        )
        pairs.append((article, row["STORY"]))
    pairs.sort(key=lambda p: p[0].time_order)
    return [a for a, _ in pairs], [g for _, g in pairs]


def _as_extracted(text: str, title: str) -> str:
    """The row's text as the pipeline stores it: without the lines that repeat the headline.

    On a page the headline is the heading, and extraction (trafilatura) keeps
    it out of the body; rows that open with it would otherwise count its words
    twice and score a text the pipeline never sees (``--pipeline`` checks this).
    """
    heading = title.strip()
    if not heading:
        return text
    return "\n".join(line for line in text.split("\n") if line.strip() != heading)


def b_cubed(predicted: Sequence[int], gold: Sequence[str]) -> tuple[float, float, float]:
    """B-cubed precision, recall and F1 (Bagga and Baldwin 1998): per article, then averaged."""
    n = len(gold)
    in_pred, in_gold = Counter(predicted), Counter(gold)
    both = Counter(zip(predicted, gold, strict=True))
    precision = sum(both[p, g] / in_pred[p] for p, g in zip(predicted, gold, strict=True)) / n
    recall = sum(both[p, g] / in_gold[g] for p, g in zip(predicted, gold, strict=True)) / n
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score(predicted: Sequence[int], gold: Sequence[str]) -> Scores:
    """B-cubed P/R/F1 (Bagga and Baldwin 1998) plus ARI and NMI."""
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    precision, recall, f1 = b_cubed(predicted, gold)
    return Scores(
        precision,
        recall,
        f1,
        float(adjusted_rand_score(gold, predicted)),
        float(normalized_mutual_info_score(gold, predicted)),
        len(set(predicted)),
    )


def measure(run: Callable[[], T]) -> tuple[T, float, float]:
    """Result, wall time (untraced run) and peak traced memory in MB (second, traced run)."""
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    tracemalloc.start()
    run()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak / 1e6


def ours(
    articles: list[Article], params: ClusterParams, referee: Referee | None = None
) -> list[int]:
    mapping = assign(articles, [], Constraints(), 1, params, referee=referee)
    return [mapping[a.id] for a in articles]


class LabelReferee:
    """A perfect referee (``pipeline.referee``): the labels say whether a report shares the core's event.

    What a language model playing referee could reach at best, and how many
    questions it would be asked: ``calls`` counts distinct questions, so runs
    repeating the same ones (as ``measure`` does) count them once. With
    ``errors``, that share of the questions gets the wrong answer, each
    question's fate fixed by ``seed``: how good must a model be?
    """

    def __init__(
        self, articles: Sequence[Article], gold: Sequence[str], errors: float = 0.0, seed: int = 0
    ) -> None:
        self._label = {a.id: g for a, g in zip(articles, gold, strict=True)}
        self._asked: dict[tuple[int, tuple[int, ...]], bool] = {}
        self._errors = errors
        self._seed = seed

    @property
    def calls(self) -> int:
        return len(self._asked)

    @property
    def said_no(self) -> int:
        return sum(not same for same in self._asked.values())

    def same_event(self, article: Article, core: Sequence[Article]) -> bool:
        event = Counter(self._label[member.id] for member in core).most_common(1)[0][0]
        key = question_key(article, core)
        wrong = random.Random(f"{self._seed}:{key}").random() < self._errors
        same = (self._label[article.id] == event) != wrong
        self._asked[key] = same
        return same


def llm_referee() -> Referee:
    """The referee the pipeline would use: the LLM of ``DIGEST_LLM_*`` settings (env or file).

    It is shown each report's day, as in the pipeline. On a file whose times
    are synthetic (a week for events months apart), those days mislead a model
    that trusts them, so its score there is a lower bound.
    """
    from pipeline import params as pipeline_params
    from pipeline.config import load_settings
    from pipeline.referee import LLMReferee

    settings, _ = load_settings()
    if not (settings.llm_base_url and settings.llm_model):
        raise SystemExit("--referee llm needs DIGEST_LLM_BASE_URL and DIGEST_LLM_MODEL")
    return LLMReferee(pipeline_params.for_llm(settings), max_calls=1_000_000)


def ours_in_runs(
    articles: list[Article], params: ClusterParams, minutes: float = 15, kept: bool = True
) -> list[int]:
    """As the scheduled pipeline sees the stream: one clustering run per ``minutes`` of arrivals.

    Stored stories may be extended but never reshaped, so this is what stable
    ids cost in quality. With ``kept``, one ``KeptIndex`` serves every run as
    in the daemon and the clustering worker: seeded once, then each run places
    only what is new. Without it, each run seeds a fresh index with the stories
    stored so far that are still open at its earliest article (what
    ``run.process_new`` reads), with one feature cache across runs.
    """
    runs: dict[int, list[Article]] = {}
    start = articles[0].when.timestamp() if articles and articles[0].when else 0.0
    for article in articles:
        moment = article.when.timestamp() if article.when else start
        runs.setdefault(int((moment - start) // (minutes * 60)), []).append(article)
    stored: dict[int, list[Article]] = {}  # story id → its members
    last: dict[int, float] = {}  # story id → its latest article's time
    mapping: dict[int, int] = {}
    features, index = FeatureCache(), KeptIndex()
    window = params.window_hours * 3600.0
    for epoch, key in enumerate(sorted(runs)):
        batch = runs[key]
        next_id = max(stored, default=0) + 1
        earliest = min(a.when.timestamp() if a.when else start for a in batch)

        def recent(earliest: float = earliest) -> tuple[list[Article], Constraints]:
            open_ = (s for s, t in last.items() if t >= earliest - window)
            return [a for s in open_ for a in stored[s]], Constraints()

        if kept:
            got = index.assign(batch, epoch, next_id, params, recent)
            index.stored(epoch + 1)
        else:
            got = assign(batch, recent()[0], Constraints(), next_id, params, features)
        mapping.update(got)
        for article in batch:
            story_id = got[article.id]
            stored.setdefault(story_id, []).append(replace(article, story_id=story_id))
            moment = article.when.timestamp() if article.when else start
            last[story_id] = max(last.get(story_id, moment), moment)
    return [mapping[a.id] for a in articles]


def _tuned(
    labels_at: Callable[[float], list[int]], grid: Sequence[float], gold: Sequence[str]
) -> tuple[list[int], float]:
    best: tuple[float, float, list[int]] = (-1.0, 0.0, [])
    for threshold in grid:
        labels = labels_at(threshold)
        f1 = score(labels, gold).f1
        if f1 > best[0]:
            best = (f1, threshold, labels)
    return best[2], best[1]


def tfidf_matrix(articles: Sequence[Article]) -> Any:
    """The baseline's representation: TF-IDF over title and body, fitted on the file itself."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = [f"{a.title} {a.body}" for a in articles]
    return TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(docs)


def tfidf_agglomerative(articles: list[Article], gold: Sequence[str]) -> tuple[list[int], float]:
    """TF-IDF (fitted on the file) + average-link agglomerative clustering, threshold tuned."""
    from sklearn.cluster import AgglomerativeClustering
    from sklearn.metrics.pairwise import cosine_distances

    distances = cosine_distances(tfidf_matrix(articles))

    def labels_at(threshold: float) -> list[int]:
        model = AgglomerativeClustering(
            n_clusters=None, metric="precomputed", linkage="average", distance_threshold=threshold
        )
        return [int(x) for x in model.fit_predict(distances)]

    return _tuned(labels_at, [x / 100 for x in range(30, 100, 3)], gold)


def fuzzy_components(articles: list[Article], gold: Sequence[str]) -> tuple[list[int], float]:
    """rapidfuzz token_set_ratio on title + lead, connected components, threshold tuned."""
    from rapidfuzz import fuzz, process
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    docs = [f"{a.title} {' '.join(a.body.split()[:40])}".lower() for a in articles]
    similarity = process.cdist(docs, docs, scorer=fuzz.token_set_ratio, dtype=np.uint8)

    def labels_at(threshold: float) -> list[int]:
        graph = csr_matrix(similarity >= threshold)
        return [int(x) for x in connected_components(graph, directed=False)[1]]

    return _tuned(labels_at, list(range(40, 100, 3)), gold)


NO_TIME = {"time_bonus": 0.0, "stale_penalty": 0.0}
NO_BRIDGE = {"bridge_margin": float("inf")}
DEFAULT_ORDERS = 8
# The shared development files scored when no --data is given: headlines, full texts with
# same-kind hard negatives, and AI news with confusable neighbours from the same labs.
DEFAULT_FILES = ("uci_dev_1500.csv", "ecbplus_dev.csv", "ai_news_dev.csv")


def interleaved(
    articles: list[Article], gold: Sequence[str], seed: int = 1
) -> tuple[list[Article], list[str]]:
    """The same rows as a live stream sees them: each story's arrivals spread over 4 hours.

    Headline files such as uci_dev_1500 were crawled story by story, so each
    story arrives as one burst and never overlaps another; in a live feed
    stream stories overlap. Every story gets a random start within a day and
    its rows random times within 4 hours of it, which tests that nothing in
    the method leans on crawl order.
    """
    rng = random.Random(seed)
    start = {story: rng.uniform(0, 24 * 3600) for story in sorted(set(gold))}
    moved = [
        (
            replace(
                a, published_at=a.when + timedelta(seconds=start[g] + rng.uniform(0, 4 * 3600))
            ),
            g,
        )
        for a, g in zip(articles, gold, strict=True)
        if a.when is not None
    ]
    moved.sort(key=lambda pair: pair[0].time_order)
    return [a for a, _ in moved], [g for _, g in moved]


def shuffled(
    articles: list[Article], gold: Sequence[str], seed: int
) -> tuple[list[Article], list[str]]:
    """The rows in a seeded random order, handed the file's own times in that order.

    Where a file's times are synthetic (ecbplus_dev), its row order is one
    draw among many equally likely ones, and an online clusterer's score moves
    by ±0.02 with that draw alone; the mean over several draws measures the
    method rather than the draw.
    """
    order = list(range(len(articles)))
    random.Random(seed).shuffle(order)
    times = sorted(a.published_at for a in articles if a.published_at is not None)
    if len(times) < len(articles):
        raise SystemExit("shuffled orders need a TIMESTAMP on every row")
    moved = [replace(articles[i], published_at=t) for i, t in zip(order, times, strict=True)]
    return moved, [gold[i] for i in order]


def over_orders(
    articles: list[Article],
    gold: Sequence[str],
    params: ClusterParams,
    orders: int,
    referee: Callable[[], Referee] | None = None,
) -> tuple[Scores, str]:
    """Mean scores of ours over ``orders`` seeded arrival orders, and their F1 range.

    ``referee`` makes a fresh referee for each order.
    """
    runs = []
    for seed in range(orders):
        moved, moved_gold = shuffled(articles, gold, seed)
        judge = referee() if referee is not None else None
        runs.append(score(ours(moved, params, judge), moved_gold))
    mean = Scores(
        *(sum(getattr(r, k) for r in runs) / orders for k in ("precision", "recall", "f1")),
        *(sum(getattr(r, k) for r in runs) / orders for k in ("ari", "nmi")),
        round(sum(r.clusters for r in runs) / orders),
    )
    low, high = min(r.f1 for r in runs), max(r.f1 for r in runs)
    return mean, f"F1 {low:.3f}–{high:.3f} over orders"


def evaluate(
    path: Path,
    baselines: bool,
    orders: int = 0,
    pipeline: bool = False,
    referee: str | None = None,
    referee_errors: float = 0.0,
) -> Scores:
    """Score ours (and the baselines) on one labelled file and print the table.

    Ours is also run without the time feature and without bridging (same
    defaults otherwise), in 15-minute runs as the scheduler would (see
    ``ours_in_runs``), and on the rows re-timed as an interleaved stream (see
    ``interleaved``), so what each part contributes, and whether any of it
    leans on the file's crawl order, is in plain view. Files of full texts
    also get the mean over ``orders`` (default 8) shuffled arrival orders (see
    ``shuffled``); with ``orders`` given, that mean is the score returned.
    With ``pipeline``, the file is also served as feeds and scored through the
    pipeline beside the file-order figure (see ``csv_through_pipeline``).
    With ``referee`` (``oracle``: the labels answer; ``llm``: the configured
    model), ours is also run with a referee on borderline joins, and the
    questions it was asked are counted (see ``pipeline.referee``); the labels'
    referee answers ``referee_errors`` of them wrongly.
    """
    articles, gold = load(path)
    params = ClusterParams()
    ours(articles, params)  # warm the word priors' caches, so no row pays for them
    labels, seconds, peak = measure(lambda: ours(articles, params))
    results = [Result("ours (pipeline.cluster)", score(labels, gold), seconds, peak, "defaults")]
    variants = (
        ("ours (no time feature)", replace(params, **NO_TIME), "defaults, no time"),
        ("ours (no bridging)", replace(params, **NO_BRIDGE), "defaults, no bridging"),
    )
    for name, variant, note in variants:
        labels, seconds, peak = measure(partial(ours, articles, variant))
        results.append(Result(name, score(labels, gold), seconds, peak, note))
    labels, seconds, peak = measure(partial(ours_in_runs, articles, params))
    reseeded, reseed_seconds, reseed_peak = measure(
        partial(ours_in_runs, articles, params, kept=False)
    )
    same = "same stories" if reseeded == labels else "STORIES DIFFER from"
    note = f"kept index; {same} as re-seeding each run"
    results.append(Result("ours, in 15-minute runs", score(labels, gold), seconds, peak, note))
    results.append(
        Result(
            "ours, 15-minute runs re-seeded",
            score(reseeded, gold),
            reseed_seconds,
            reseed_peak,
            "each run seeds a fresh index with the open stories",
        )
    )
    mixed, mixed_gold = interleaved(articles, gold)
    for name, variant, note in (
        ("ours, interleaved stream", params, "defaults; stories overlap in time"),
        ("ours (no bridging), interleaved", replace(params, **NO_BRIDGE), "stories overlap"),
    ):
        labels, seconds, peak = measure(partial(ours, mixed, variant))
        results.append(Result(name, score(labels, mixed_gold), seconds, peak, note))
    reported = results[0].scores
    summary = f"{path.name}: ours B3-F1 {reported.f1:.3f} in file order"
    count = orders or (DEFAULT_ORDERS if any(a.text for a in articles) else 0)
    if count:
        (mean, spread), seconds, peak = measure(partial(over_orders, articles, gold, params, count))
        name = f"ours, mean of {count} shuffled orders"
        results.append(Result(name, mean, seconds / count, peak, spread))
        summary += f", {mean.f1:.3f} as the mean of {count} shuffled orders"
        if orders:
            reported = mean
    if referee:
        results.extend(_refereed(articles, gold, params, referee, count, referee_errors))
    if baselines:
        for name, method in (
            ("tf-idf + agglomerative", tfidf_agglomerative),
            ("rapidfuzz token_set + components", fuzzy_components),
        ):
            (base_labels, threshold), base_seconds, base_peak = measure(
                partial(method, articles, gold)
            )
            note = f"threshold {threshold:g}, tuned on this file"
            results.append(Result(name, score(base_labels, gold), base_seconds, base_peak, note))
    table = Table(title=f"{path.name}: {len(articles)} articles, {len(set(gold))} gold stories")
    for column in (
        "method",
        "B3-P",
        "B3-R",
        "B3-F1",
        "ARI",
        "NMI",
        "clusters",
        "time s",
        "peak MB",
    ):
        table.add_column(column, justify="left" if column == "method" else "right")
    table.add_column("note")
    for r in results:
        s = r.scores
        table.add_row(
            r.method,
            *(f"{x:.3f}" for x in (s.precision, s.recall, s.f1, s.ari, s.nmi)),
            str(s.clusters),
            f"{r.seconds:.2f}",
            f"{r.peak_mb:.1f}",
            r.note,
        )
    CONSOLE.print(table)
    print(summary)  # plain, one line: what the quality gate reads
    if pipeline:
        csv_through_pipeline(path, results[0].scores.f1)
    return reported


def _through_pipeline(server_root: Path | None) -> list[tuple[str, int | None]]:
    """Fetch, extract, dedupe and cluster a served corpus exactly as ``digest run`` does.

    ``server_root`` is a folder written by ``tools/csv_site.py`` (its sources
    template beside it); ``None`` serves the bundled demo corpus. Returns each
    stored article's page path and story id.
    """
    import tempfile
    from urllib.parse import urlsplit

    from pipeline import demo, run
    from pipeline.config import Settings
    from pipeline.demo.server import CorpusServer

    served = demo.serve_corpus() if server_root is None else CorpusServer(server_root).start()
    with tempfile.TemporaryDirectory() as tmp, served as server:
        db, sources_file = demo.prepare(Path(tmp), server.base_url)
        if server_root is not None:
            template = (server_root / "sources.template.yaml").read_text(encoding="utf-8")
            sources_file.write_text(template.replace("{base}", server.base_url), encoding="utf-8")
        settings = replace(Settings(), db=str(db), sources=str(sources_file))
        store, _ = run.init(settings)
        try:
            run.fetch_round(store, settings, force=True)
            run.process_new(store, settings)
            return [(urlsplit(a.canonical_url).path, a.story_id) for a in store.articles.all()]
        finally:
            store.close()


def csv_through_pipeline(path: Path, benchmark_f1: float) -> Scores:
    """Serve a labelled CSV as feeds and pages on loopback, run the pipeline, score its stories.

    Rows the pipeline did not store (a page it could not fetch or extract)
    are counted and left out of the score; the line printed compares the
    pipeline's B3-F1 with the benchmark's on the same file.
    """
    import tempfile

    sys.path.insert(0, str(ROOT / "tools"))
    import csv_site

    rows = csv_site.read_rows(path)
    with tempfile.TemporaryDirectory() as site:
        csv_site.write_site(rows, Path(site))
        stored = _through_pipeline(Path(site))
    gold = {row.path: row.story for row in rows}
    pairs = [
        (sid if sid is not None else -i, gold[p])
        for i, (p, sid) in enumerate(stored, start=1)
        if p in gold
    ]
    s = score([sid for sid, _ in pairs], [g for _, g in pairs])
    print(
        f"{path.name} through the pipeline (loopback feeds → fetch → extract → dedupe → cluster): "
        f"B3-F1 {s.f1:.3f} (P {s.precision:.3f}, R {s.recall:.3f}) on {len(pairs)}/{len(rows)} "
        f"rows stored; benchmark {benchmark_f1:.3f}, difference {s.f1 - benchmark_f1:+.3f}"
    )
    return s


def demo_corpus() -> None:
    """Run the real pipeline over the bundled corpus (loopback HTTP) and score its stories.

    Fetch, extract, dedupe and cluster run exactly as in ``digest demo``; stored
    articles are matched to the answer key by the path of their canonical URL.
    Beside B-cubed, it prints how many multi-outlet stories were found whole (in
    one cluster, with nothing else in it) and how many clusters merged stories.
    """
    from pipeline import demo

    key = {k.path: k for k in demo.answer_key()}
    stored = _through_pipeline(None)
    # An article outside every keyed story is a story of its own.
    pairs = [(sid or -1, key[p].story or f"single:{p}") for p, sid in stored if p in key]
    s = score([sid for sid, _ in pairs], [g for _, g in pairs])
    members: dict[str, set[int]] = {}
    outlets: dict[str, set[str]] = {}
    for (sid, gold), (path, _) in zip(pairs, [x for x in stored if x[0] in key], strict=True):
        members.setdefault(gold, set()).add(sid)
        outlets.setdefault(gold, set()).add(key[path].outlet)
    holders: dict[int, set[str]] = {}
    for sid, gold in pairs:
        holders.setdefault(sid, set()).add(gold)
    multi = [g for g in members if len(outlets[g]) >= 2]
    whole = sum(1 for g in multi if len(members[g]) == 1 and holders[next(iter(members[g]))] == {g})
    merged = sum(1 for golds in holders.values() if len(golds) > 1)
    CONSOLE.print(
        f"demo corpus ({len(pairs)} articles through fetch → extract → dedupe → cluster): "
        f"B3-F1 {s.f1:.3f} (P {s.precision:.3f}, R {s.recall:.3f}); multi-outlet stories found "
        f"whole {whole}/{len(multi)}, clusters merged across stories {merged}"
    )


def _refereed(
    articles: list[Article],
    gold: Sequence[str],
    params: ClusterParams,
    kind: str,
    orders: int,
    errors: float = 0.0,
) -> list[Result]:
    """Rows of ours with a referee: in file order, and over ``orders`` for the labels' referee."""
    make: Callable[[], Any] = (
        (lambda: LabelReferee(articles, gold, errors)) if kind == "oracle" else llm_referee
    )
    judge = make()
    labels, seconds, peak = measure(lambda: ours(articles, params, judge))
    name = "ours + referee (LLM)"
    if kind == "oracle":
        name = (
            f"ours + referee (labels, {errors:.0%} wrong)" if errors else "ours + referee (labels)"
        )
    asked = f"{judge.calls / len(articles):.2f} questions per article, {judge.said_no} said no"
    rows = [Result(name, score(labels, gold), seconds, peak, asked)]
    if orders and kind == "oracle":
        (mean, spread), seconds, peak = measure(
            partial(over_orders, articles, gold, params, orders, make)
        )
        rows.append(
            Result(f"{name}, mean of {orders} orders", mean, seconds / orders, peak, spread)
        )
    return rows


def synthetic_stream(n: int, seed: int = 7) -> tuple[list[Article], list[int]]:
    """A realistic-looking stream: many stories of varying size over days, shared vocabulary.

    Story sizes follow a heavy-tailed law (most stories have one to three
    articles, a few have dozens), each story has its own rare terms (made-up
    names) on top of words drawn from a shared pool of ordinary English, and
    about 2,000 articles arrive per day; a third are headline-only.
    """
    import wordfreq

    rng = random.Random(seed)
    pool = [w for w in wordfreq.top_n_list("en", 6000)[300:] if w.isalpha()]
    consonants, vowels = "bdfgklmnprstvz", "aeiou"
    syllables = [c + v for c in consonants for v in vowels]  # 70: names rarely collide
    per_day = 2000.0
    start = datetime(2025, 1, 1, tzinfo=UTC)
    items: list[tuple[float, int]] = []
    story = 0
    while len(items) < n:
        size = min(int(rng.paretovariate(1.3)), 80)
        begin = len(items) / per_day + rng.random() * 0.2
        items.extend((begin + rng.expovariate(1 / 0.4), story) for _ in range(size))
        story += 1
    items = sorted(items[:n])
    vocab: dict[int, list[str]] = {}
    articles: list[Article] = []
    for i, (day, sid) in enumerate(items):
        if sid not in vocab:
            vocab[sid] = [
                "".join(rng.choice(syllables) for _ in range(rng.randint(3, 4))) for _ in range(6)
            ]
        own = vocab[sid]
        title = rng.sample(own, 2) + rng.sample(pool, 6)
        rng.shuffle(title)
        body = "" if rng.random() < 0.33 else " ".join(rng.sample(own, 4) + rng.sample(pool, 40))
        articles.append(
            Article(
                id=i + 1,
                source_id=rng.randint(1, 300),
                outlet="",
                url=f"https://example.org/{i}",
                canonical_url=f"https://example.org/{i}",
                title=" ".join(title).capitalize(),
                published_at=start + timedelta(days=day),
                feed_summary=body,
            )
        )
    return articles, [sid for _, sid in items]


def scale(n: int) -> None:
    """Time and memory of placing ``n`` synthetic articles, with time per article as it grows."""
    articles, gold = synthetic_stream(n)
    checkpoints = sorted({c for c in (10_000, 50_000, 100_000, n) if c <= n})
    clusterer = Clusterer(ClusterParams(), Constraints(), 1)
    table = Table(title=f"synthetic stream: {n} articles, {len(set(gold))} true stories")
    columns = ("articles", "elapsed s", "CPU µs/article (last 2k)", "open stories", "peak RSS MB")
    for column in columns:
        table.add_column(column, justify="right")
    started = time.perf_counter()
    window_start, window_time = 0, time.process_time()
    per_article = 0.0
    for i, article in enumerate(articles, 1):
        clusterer.place(article)
        if i % 2000 == 0:
            now = time.process_time()  # CPU time: other processes on the machine do not count
            per_article = (now - window_time) / (i - window_start) * 1e6
            window_start, window_time = i, now
        if i in checkpoints:
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            table.add_row(
                str(i),
                f"{time.perf_counter() - started:.1f}",
                f"{per_article:.0f}",
                str(len(clusterer.index)),
                f"{rss:.0f}",
            )
    settling = time.perf_counter()
    clusterer.settle()  # the end of the run, as ``assign`` does
    table.caption = f"end-of-run second look: {time.perf_counter() - settling:.1f} s more"
    CONSOLE.print(table)
    labels = [clusterer.story_of[a.id] for a in articles]  # final ids: bridges may have merged
    s = score(labels, [str(g) for g in gold])
    CONSOLE.print(f"synthetic quality: B3-F1 {s.f1:.3f} (P {s.precision:.3f}, R {s.recall:.3f})")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, action="append", help="labelled CSV (repeatable)")
    parser.add_argument("--no-baselines", action="store_true", help="score our method only")
    parser.add_argument("--scale", type=int, help="also time a synthetic stream of N articles")
    parser.add_argument(
        "--orders",
        type=int,
        default=0,
        metavar="N",
        help="score ours as the mean over N shuffled arrival orders (for synthetic times)",
    )
    parser.add_argument(
        "--referee",
        choices=("oracle", "llm"),
        help="also run ours with a referee on borderline joins: the labels, or the configured LLM",
    )
    parser.add_argument(
        "--referee-errors",
        type=float,
        default=0.0,
        metavar="P",
        help="the labels' referee answers this share of its questions wrongly",
    )
    parser.add_argument(
        "--pipeline",
        action="store_true",
        help="also serve each file as feeds on loopback and score what the pipeline stores",
    )
    args = parser.parse_args(argv)
    files = args.data or [DATA / name for name in DEFAULT_FILES]
    ours_scores = []
    for path in files:
        if not path.exists():
            CONSOLE.print(f"[yellow]skipped {path}: not found[/yellow]")
            continue
        ours_scores.append(
            evaluate(
                path,
                not args.no_baselines,
                args.orders,
                args.pipeline,
                args.referee,
                args.referee_errors,
            )
        )
    if not args.data:
        if DEMO.exists():
            demo_corpus()
        else:
            CONSOLE.print("demo corpus: pipeline/demo/corpus/answer_key.json not there; skipped")
    if args.scale:
        scale(args.scale)
    if not ours_scores:
        return 1
    f1, ari, nmi = (
        sum(getattr(s, k) for s in ours_scores) / len(ours_scores) for k in ("f1", "ari", "nmi")
    )
    if len(ours_scores) > 1:
        CONSOLE.print(f"ours, mean over {len(ours_scores)} files:")
    print(f"B3-F1 {f1:.3f} ARI {ari:.3f} NMI {nmi:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
