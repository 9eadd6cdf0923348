"""Which evidence tells a wrong join from a right one, at the moment the clusterer decides.

Runs the clusterer over labelled files in time order and, whenever a full
text joins a story that already has members, records the join: **right**
when the story holds its own event, **first wrong** when the story holds
none of its event yet (the moment two events merge; later arrivals of the
second event then join their own kind and look right). For each candidate
signal it prints the median for both kinds and the AUC: the chance that a
random right join scores higher than a random first wrong join (0.5: the
signal knows nothing; 1.0: a threshold separates them).

Signals, all computed on the story the clusterer chose:

- ``margin``: how far the similarity clears the bar (the clusterer's decision);
- ``runner-up gap``: that margin minus the next candidate story's margin;
- ``core - centroid``: cosine with the sum of the story's three most central
  members minus cosine with all of them (does the article match the core?);
- ``exclusive``: the part of the cosine carried by terms no other open story
  carries (a local IDF over the week's stories);
- ``without top 3``: cosine once the story's three heaviest terms are removed
  (agreement beyond the shared protagonists);
- ``name agreement`` and ``figure agreement``: cosine of the names and of the
  figures the article states with the story's (both already move the score);
- ``new names``: the weight of the article's names the story never stated,
  negated (a second event brings its own people and organisations);
- ``nearest member``: cosine with the closest single member (does one report
  of the story match, or only their sum?);
- ``cohesion gap``: cosine with the story minus its members' own mean cosine
  with the rest of it (is the article as close as the members are?);
- ``shared sequences``: the article's 4-word sequences (quotes, a statement's
  phrasing) that the story's members use and no other open story does.

Beside them, ``all, learned``: a logistic regression over every signal,
scored by 5-fold cross-validation, to show whether together they separate
what none does alone. A second table gives the core check at the end of a
run: members of the final stories that fail the join bar against the
story's three most central members, split into members of the story's main
event (a split would cut them off wrongly) and the others.

It is the measurement behind the decision not to add a core check or a
second-look split (issue #14): on the AI-news set, where same-lab events
merge, none of these separates the first wrong joins, alone or learned
together, and a core check at the end cuts off more members of the main
event than wrong ones on the full-text set.

    python benchmarks/join_signals.py [--data FILE.csv ...]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cluster import DATA, load  # noqa: E402

from pipeline import text  # noqa: E402
from pipeline.cluster import Clusterer, ClusterParams, FeatureCache  # noqa: E402
from pipeline.cluster_index import Features, StoryIndex, Vector  # noqa: E402
from pipeline.models import Article, Constraints  # noqa: E402

FILES = ("ai_news_dev.csv", "ecbplus_dev.csv")
CORE = 3  # members in a story's core
TOP = 3  # heaviest story terms left out by ``without top 3``
SEQUENCE = 4  # words in a shared sequence: the shingle size near-duplicate detection uses
FOLDS = 5


def _add(total: Vector, vector: Vector) -> None:
    for term, weight in vector.items():
        total[term] = total.get(term, 0.0) + weight


def _cosine(vector: Vector, total: Vector, keep: Callable[[str], bool] = lambda _: True) -> float:
    norm = math.sqrt(sum(w * w for t, w in total.items() if keep(t))) or 1.0
    return sum(vector[t] * total[t] for t in vector.keys() & total.keys() if keep(t)) / norm


def _centrality(vector: Vector, total: Vector) -> float:
    """Cosine of one member's ``vector`` with the sum of the rest of its story (``total`` less it)."""
    return _cosine(vector, {t: w - vector.get(t, 0.0) for t, w in total.items()})


def _signals(
    index: StoryIndex,
    features: Features,
    members: Sequence[Features],
    margins: list[float],
    sequences: int,
) -> dict[str, float]:
    """Every signal of one join: the article's ``features`` against the chosen story's ``members``.

    ``sequences`` is counted by the caller, which holds the texts.
    """
    total: Vector = {}
    names: Vector = {}
    figures: Vector = {}
    for member in members:
        _add(total, member.vector)
        _add(names, member.entities)
        _add(figures, member.numbers)

    core: Vector = {}
    for member in sorted(members, key=lambda m: _centrality(m.vector, total), reverse=True)[:CORE]:
        _add(core, member.vector)
    counts = index.spread.counts
    article = _cosine(features.vector, total)
    cohesion = sum(_centrality(member.vector, total) for member in members) / len(members)
    heaviest = {t for t, _ in sorted(total.items(), key=lambda item: -item[1])[:TOP]}
    norm = math.sqrt(sum(w * w for w in total.values())) or 1.0
    shared = features.vector.keys() & total.keys()
    return {
        "margin": margins[0],
        "runner-up gap": margins[0] - (margins[1] if len(margins) > 1 else -1.0),
        "core - centroid": _cosine(features.vector, core) - article,
        "exclusive": sum(features.vector[t] * total[t] for t in shared if counts.get(t) == 1)
        / norm,
        "without top 3": _cosine(
            {t: w for t, w in features.vector.items() if t not in heaviest},
            total,
            lambda t: t not in heaviest,
        ),
        "name agreement": _cosine(features.entities, names),
        "figure agreement": _cosine(features.numbers, figures),
        "new names": -sum(w * w for n, w in features.entities.items() if n not in names),
        "nearest member": max(_cosine(features.vector, member.vector) for member in members),
        "cohesion gap": article - cohesion if len(members) > 1 else 0.0,
        "shared sequences": float(sequences),
    }


def _sequences(article: Article) -> set[str]:
    """The ``SEQUENCE``-word sequences of the title and the lead the clusterer reads."""
    words = text.tokenize(f"{article.title}\n{article.text or ''}")
    return text.shingles(words[: ClusterParams().body_words], SEQUENCE)


def joins(path: Path) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    """The signals of every right join and every first wrong join of full texts in ``path``."""
    articles, gold = load(path)
    label = {a.id: g for a, g in zip(articles, gold, strict=True)}
    cache = FeatureCache()  # placing the article reuses the features read here
    clusterer = Clusterer(ClusterParams(), Constraints(), 1, cache)
    index = clusterer.index
    placed: dict[int, Features] = {}
    members: dict[int, list[int]] = defaultdict(list)
    said: dict[int, set[str]] = {}  # each story's sequences
    right, wrong = [], []
    for article in articles:
        features = cache.features(index, article)
        sequences = _sequences(article)
        when = article.when.timestamp() if article.when else 0.0
        index.expire(when)
        margins = sorted((index.margin(s, features, when), s) for s in index.candidates(features))
        margins.reverse()
        chosen = margins[0][1] if margins and margins[0][0] >= 0.0 else None
        if chosen is not None and members[chosen] and index.longness(features.length) >= 1.0:
            kinds = Counter(label[m] for m in members[chosen])
            own = [placed[m] for m in members[chosen]]
            elsewhere = set().union(*(said[s] for s in said if s != chosen and index.is_open(s)))
            shared = len(sequences & said[chosen] - elsewhere)
            found = _signals(index, features, own, [m for m, _ in margins], shared)
            if label[article.id] not in kinds:
                wrong.append(found)
            elif kinds.most_common(1)[0][0] == label[article.id]:
                right.append(found)
        placed[article.id] = features
        story = clusterer.place(article)
        members[story].append(article.id)
        said.setdefault(story, set()).update(sequences)
    return right, wrong


def auc(right: Sequence[float], wrong: Sequence[float]) -> float:
    """P(a random right join scores above a random first wrong join); ties count half."""
    if not right or not wrong:
        return math.nan
    above = sum((r > w) + 0.5 * (r == w) for r in right for w in wrong)
    return above / (len(right) * len(wrong))


def learned_auc(right: Sequence[dict[str, float]], wrong: Sequence[dict[str, float]]) -> float:
    """Cross-validated AUC of a logistic regression over every signal at once."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folds = min(FOLDS, len(right), len(wrong))
    if folds < 2:
        return math.nan
    names = sorted(right[0])
    rows = [[found[name] for name in names] for found in [*right, *wrong]]
    labels = [1] * len(right) + [0] * len(wrong)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    split = StratifiedKFold(folds, shuffle=True, random_state=0)
    scores = cross_val_predict(model, rows, labels, cv=split, method="predict_proba")[:, 1]
    return float(roc_auc_score(labels, scores))


def core_check(path: Path) -> Counter[tuple[bool, bool]]:
    """Members of the final stories by (of the story's main event, fails the core check).

    The core is the story's ``CORE`` most central members; a member outside
    it fails when it does not clear the join bar against their sum. Only
    stories of at least twice the core's size are checked.
    """
    articles, gold = load(path)
    label = {a.id: g for a, g in zip(articles, gold, strict=True)}
    params = ClusterParams()
    cache = FeatureCache()
    clusterer = Clusterer(params, Constraints(), 1, cache)
    placed: dict[int, Features] = {}
    for article in articles:
        placed[article.id] = cache.features(clusterer.index, article)
        clusterer.place(article)
    clusterer.settle()
    stories: dict[int, list[int]] = defaultdict(list)
    for article_id, story in clusterer.story_of.items():
        stories[story].append(article_id)
    found: Counter[tuple[bool, bool]] = Counter()
    for ids in stories.values():
        if len(ids) < 2 * CORE:
            continue
        total: Vector = {}
        for article_id in ids:
            _add(total, placed[article_id].vector)
        core = sorted(ids, key=lambda i: _centrality(placed[i].vector, total), reverse=True)[:CORE]
        index = StoryIndex(params)
        for article_id in core:
            index.add(0, placed[article_id], 0.0)
        main = Counter(label[i] for i in ids).most_common(1)[0][0]
        for article_id in set(ids) - set(core):
            fails = index.margin(0, placed[article_id], 0.0) < 0.0
            found[label[article_id] == main, fails] += 1
    return found


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2] if ordered else math.nan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, action="append", help="labelled CSV (repeatable)")
    args = parser.parse_args()
    paths = args.data or [DATA / name for name in FILES]
    table = Table(title="Right joins against first wrong joins (full texts)")
    for column in ("file", "signal", "right", "first wrong", "median right", "median wrong"):
        table.add_column(column, justify="left" if column in ("file", "signal") else "right")
    table.add_column("AUC", justify="right")
    checks = Table(
        title=f"Core check at the end of the run (core of {CORE}, stories of {2 * CORE}+)"
    )
    for column in (
        "file",
        "main event: kept",
        "main event: cut off",
        "others: kept",
        "others: cut off",
    ):
        checks.add_column(column, justify="left" if column == "file" else "right")
    for path in paths:
        right, wrong = joins(path)
        for signal in right[0] if right else ():
            ours, theirs = [r[signal] for r in right], [w[signal] for w in wrong]
            table.add_row(
                path.name,
                signal,
                str(len(ours)),
                str(len(theirs)),
                f"{_median(ours):.3f}",
                f"{_median(theirs):.3f}",
                f"{auc(ours, theirs):.2f}",
            )
        if right:
            counts = (str(len(right)), str(len(wrong)), "", "")
            table.add_row(path.name, "all, learned", *counts, f"{learned_auc(right, wrong):.2f}")
        found = core_check(path)
        checks.add_row(
            path.name,
            *(str(found[k]) for k in ((True, False), (True, True), (False, False), (False, True))),
        )
    console = Console(width=120)
    console.print(table)
    console.print(checks)


if __name__ == "__main__":
    main()
