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


def test_embeddings_add_their_rows_and_a_mismatched_file_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ceiling = _module()
    path = write_csv(tmp_path / "full.csv", body=True, text=_text)
    articles, gold = ceiling.load(path)
    # One axis per event, in file order: the embeddings alone keep the events apart.
    rows = {a.id - 1: g for a, g in zip(articles, gold, strict=True)}
    events = sorted(set(gold))
    vectors = np.array([[float(rows[r] == e) for e in events] for r in range(len(rows))])
    folder = tmp_path / "emb"
    folder.mkdir()
    np.save(folder / "full.npy", vectors)
    found = ceiling.representations(articles, ceiling.ClusterParams(), folder / "full.npy")
    assert ceiling.ceiling(found["sentence embeddings"](), gold, "single") == pytest.approx(1.0)
    both = found["ours + sentence embeddings"]()
    assert np.allclose(both, found["ours"]() + found["sentence embeddings"]())
    ceiling.main(["--data", str(path), "--embeddings", str(folder)])
    assert "ours + sentence embeddings" in capsys.readouterr().out
    np.save(folder / "full.npy", vectors[:-1])
    with pytest.raises(SystemExit, match=r"full\.npy: 8 rows of embeddings for 9 CSV rows"):
        ceiling.main(["--data", str(path), "--embeddings", str(folder)])
