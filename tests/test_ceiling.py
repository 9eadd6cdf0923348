"""benchmarks/ceiling.py: the best cut of one clustering, and the representations it is run on."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from tests.test_cluster_benchmark import write_csv
from tests.test_join_signals import _text

ROOT = Path(__file__).resolve().parents[1]


def _module() -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location("ceiling", ROOT / "benchmarks/ceiling.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("method", ["single", "average", "complete"])
def test_the_ceiling_is_whole_when_events_are_apart_and_capped_when_they_are_not(
    method: str,
) -> None:
    ceiling = _module().ceiling
    gold = ["a", "a", "b", "b"]
    apart = np.array(
        [[1, 0.9, 0.1, 0.0], [0.9, 1, 0.0, 0.1], [0.1, 0.0, 1, 0.8], [0.0, 0.1, 0.8, 1]]
    )
    assert ceiling(apart, gold, method) == pytest.approx(1.0)
    # Every pair alike: all apart or all together, B3-F1 2/3 either way, whatever the cut.
    assert ceiling(np.full((4, 4), 0.5), gold, method) == pytest.approx(2 / 3)
    # One article of b closer to a than to its own event: no cut separates the events.
    crossed = apart.copy()
    crossed[1, 2] = crossed[2, 1] = 0.95
    assert ceiling(crossed, gold, method) < 1.0


def test_nearest_neighbour_counts_articles_of_multi_article_events_only() -> None:
    nearest = _module().nearest_neighbour
    similarity = np.array(
        [[1, 0.9, 0.1, 0.2], [0.9, 1, 0.3, 0.1], [0.1, 0.3, 1, 0.8], [0.2, 0.1, 0.8, 1]]
    )
    assert nearest(similarity, ["a", "a", "b", "b"]) == 1.0
    assert nearest(similarity, ["a", "b", "b", "c"]) == 0.0  # 1 and 2 each find another event
    assert np.isnan(nearest(similarity, ["a", "b", "c", "d"]))


def test_three_stories_of_distinct_words_are_whole_in_every_representation(tmp_path: Path) -> None:
    ceiling = _module()
    articles, gold = ceiling.load(write_csv(tmp_path / "full.csv", body=True, text=_text))
    found = {
        name: get()
        for name, get in ceiling.representations(articles, ceiling.ClusterParams()).items()
    }
    assert set(found) == {"ours", "ours, words only", "TF-IDF"}
    for name, similarity in found.items():
        assert similarity.shape == (9, 9)
        assert np.allclose(similarity, similarity.T), name
        assert ceiling.nearest_neighbour(similarity, gold) == 1.0, name
        assert ceiling.ceiling(similarity, gold, "average") == pytest.approx(1.0), name
    ours = found["ours"]
    same = [ours[i, j] for i in range(9) for j in range(9) if i != j and gold[i] == gold[j]]
    other = [ours[i, j] for i in range(9) for j in range(9) if gold[i] != gold[j]]
    assert min(same) > 0.0 > max(other)  # the clusterer's margin: the bar sits between them


def test_the_table_names_every_representation_and_the_online_score(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _module().main(["--data", str(write_csv(tmp_path / "full.csv", body=True, text=_text))])
    out = capsys.readouterr().out
    for name in ("ours", "words only", "TF-IDF", "ours online", "full.csv"):
        assert name in out
