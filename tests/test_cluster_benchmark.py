"""benchmarks/cluster.py as its users run it: a labelled CSV in, a table and a score line out."""

from __future__ import annotations

import csv
import importlib.util
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "cluster.py"
LAST_LINE = re.compile(r"^B3-F1 (\d\.\d{3}) ARI (-?\d\.\d{3}) NMI (\d\.\d{3})$")
START_MS = 1_763_280_000_000
COLUMNS = ["ID", "TITLE", "URL", "PUBLISHER", "CATEGORY", "STORY", "HOSTNAME", "TIMESTAMP"]
STORIES = {
    "quake": [
        "Strong earthquake of magnitude 6.1 shakes Qeshm island in southern Iran",
        "Qeshm island earthquake: magnitude 6.1 tremor damages villages in Iran",
        "Iran says magnitude 6.1 earthquake on Qeshm island injured dozens",
    ],
    "pirates": [
        "Indian navy captures 23 pirates in the Gulf of Aden",
        "Gulf of Aden: Indian navy warship captures 23 Somali pirates",
        "Indian navy commandos capture 23 pirates after Gulf of Aden attack",
    ],
    "chips": [
        "Nvidia unveils Blackwell GPU with 208 billion transistors",
        "Blackwell: Nvidia's new GPU packs 208 billion transistors",
        "Nvidia Blackwell GPU arrives with 208 billion transistors for AI training",
    ],
}


def write_csv(
    path: Path,
    body: bool = False,
    rows: list[dict[str, str]] | None = None,
    text: Callable[[str, int], str] | None = None,
) -> Path:
    """A small labelled file in the shared data's format: three stories, interleaved in time."""
    columns = [*COLUMNS, "TEXT"] if body else COLUMNS
    if rows is None:
        rows = []
        for turn in range(3):
            for k, (story, titles) in enumerate(STORIES.items()):
                n = len(rows) + 1
                row = {
                    "ID": str(n),
                    "TITLE": titles[turn],
                    "URL": f"https://outlet{turn}.example/{story}",
                    "PUBLISHER": f"Outlet {turn}",
                    "CATEGORY": "t",
                    "STORY": story,
                    "HOSTNAME": f"outlet{turn}.example",
                    "TIMESTAMP": str(START_MS + (turn * 3 + k) * 600_000),
                }
                if text is not None:
                    row["TEXT"] = text(story, turn)
                elif body:
                    row["TEXT"] = " ".join(titles) + ". " + titles[turn]
                rows.append(row)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--no-baselines", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cluster_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_scores_a_labelled_file_and_ends_with_the_score_line(tmp_path: Path) -> None:
    done = run("--data", str(write_csv(tmp_path / "three.csv")))
    assert done.returncode == 0, done.stderr
    last = done.stdout.strip().splitlines()[-1]
    match = LAST_LINE.match(last)
    assert match, last
    assert float(match.group(1)) == 1.0  # three plainly different stories, each found whole
    assert "three.csv: 9 articles, 3 gold stories" in done.stdout
    assert "shuffled orders" not in done.stdout  # headlines only: the file's order is real
    assert "three.csv: ours B3-F1 1.000 in file order" in done.stdout.splitlines()


def test_full_texts_are_also_scored_over_shuffled_orders(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bodies.csv", body=True)
    table = run("--data", str(path))
    assert table.returncode == 0, table.stderr
    assert "ours, mean of 8 shuffled orders" in table.stdout
    mean = run("--data", str(path), "--orders", "3")
    assert mean.returncode == 0, mean.stderr
    assert "ours, mean of 3 shuffled orders" in mean.stdout
    last = LAST_LINE.match(mean.stdout.strip().splitlines()[-1])
    assert last
    # The line the quality gate reads: file order first, then the mean it also ends with.
    summary = re.search(
        r"^bodies\.csv: ours B3-F1 \d\.\d{3} in file order, (\d\.\d{3}) as the mean of 3 "
        r"shuffled orders$",
        mean.stdout,
        re.MULTILINE,
    )
    assert summary and summary.group(1) == last.group(1)


def test_shuffled_orders_keep_each_row_with_its_label_and_the_files_times(tmp_path: Path) -> None:
    module = bench()
    articles, gold = module.load(write_csv(tmp_path / "three.csv"))
    label_of = {a.id: g for a, g in zip(articles, gold, strict=True)}
    orders = set()
    for seed in range(4):
        moved, moved_gold = module.shuffled(articles, gold, seed)
        assert [label_of[a.id] for a in moved] == moved_gold
        assert [a.published_at for a in moved] == [a.published_at for a in articles]
        assert Counter(a.id for a in moved) == Counter(a.id for a in articles)
        orders.add(tuple(a.id for a in moved))
    assert len(orders) > 1
    assert module.shuffled(articles, gold, 1) == module.shuffled(articles, gold, 1)


def test_repeated_ids_and_seconds_are_read_row_by_row(tmp_path: Path) -> None:
    """IDs are the file's business; each row is scored once, in time order."""
    path = write_csv(tmp_path / "three.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["ID"] = "7"  # every ID the same
        row["TIMESTAMP"] = str(int(row["TIMESTAMP"]) // 1000)  # Unix seconds
    articles, gold = bench().load(write_csv(tmp_path / "same_ids.csv", rows=rows))
    assert len({a.id for a in articles}) == 9
    assert articles[0].published_at is not None
    assert articles[0].published_at.year == 2025
    assert Counter(gold) == Counter({"quake": 3, "pirates": 3, "chips": 3})


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda rows: [{k: v for k, v in r.items() if k != "STORY"} for r in rows], "STORY"),
        (
            lambda rows: [
                {**r, "TIMESTAMP": "yesterday"} if i == 4 else r for i, r in enumerate(rows)
            ],
            ":6: TIMESTAMP 'yesterday'",
        ),
    ],
    ids=["missing column", "bad timestamp"],
)
def test_a_broken_file_names_the_file_and_line(
    tmp_path: Path, edit: Callable[[list[dict[str, str]]], list[dict[str, str]]], message: str
) -> None:
    path = write_csv(tmp_path / "three.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = edit(list(csv.DictReader(handle)))
    broken = tmp_path / "broken.csv"
    with broken.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    done = run("--data", str(broken))
    assert done.returncode != 0
    assert str(broken) in done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr


PAGE_TEXT = {
    "quake": (
        "The quake struck at dawn near the port town, officials said. Rescue teams reached "
        "three villages by noon and counted dozens of injured people. Schools stay closed "
        "while engineers inspect the damage to older buildings on the island."
    ),
    "pirates": (
        "The warship answered a distress call from a merchant vessel. Commandos boarded the "
        "skiff and detained the crew without casualties. The navy said the captured men "
        "would be handed to the coast guard for prosecution."
    ),
    "chips": (
        "The company showed the processor at its developer conference. It pairs two dies in "
        "one package and is meant for training very large models. Cloud providers said "
        "they would offer it to customers later this year."
    ),
}


def test_a_labelled_file_served_as_feeds_scores_as_the_benchmark_does(tmp_path: Path) -> None:
    """tools/csv_site.py serves the rows over loopback; what the pipeline stores scores the same.

    Each row's text opens with its headline, as many real pages do: extraction keeps the
    heading out of the body, and the benchmark reads the row the same way.
    """

    def page(story: str, turn: int) -> str:
        titles = STORIES[story]
        return f"{titles[turn]}\n\n{PAGE_TEXT[story]} {titles[(turn + 1) % 3]}."

    path = write_csv(tmp_path / "served.csv", body=True, text=page)
    done = run("--pipeline", "--orders", "2", "--data", str(path))
    assert done.returncode == 0, done.stderr
    line = next(x for x in done.stdout.splitlines() if "through the pipeline" in x)
    match = re.search(
        r"B3-F1 (\d\.\d{3}) .* on (\d+)/(\d+) rows stored; benchmark (\d\.\d{3})", line
    )
    assert match, line
    assert match.group(2) == match.group(3) == "9"  # every row fetched, extracted and stored
    assert match.group(1) == match.group(4)


def test_the_benchmark_reads_a_row_without_the_lines_repeating_its_headline(tmp_path: Path) -> None:
    title = STORIES["chips"][0]
    rows = [
        {
            "ID": "1",
            "TITLE": title,
            "STORY": "chips",
            "TIMESTAMP": str(START_MS),
            "TEXT": f"{title}\n\n{PAGE_TEXT['chips']}\n{title} ",
        }
    ]
    articles, _ = bench().load(write_csv(tmp_path / "one.csv", body=True, rows=rows))
    assert articles[0].text.split("\n") == ["", PAGE_TEXT["chips"]]


def test_the_labels_referee_answers_by_the_core_and_counts_each_question_once(
    tmp_path: Path,
) -> None:
    module = bench()
    articles, gold = module.load(write_csv(tmp_path / "three.csv"))
    by_story: dict[str, list] = {}
    for article, label in zip(articles, gold, strict=True):
        by_story.setdefault(label, []).append(article)
    referee = module.LabelReferee(articles, gold)
    quake, pirates = by_story["quake"], by_story["pirates"]
    assert referee.same_event(quake[2], quake[:2]) is True
    assert referee.same_event(pirates[0], quake[:2]) is False
    assert referee.same_event(pirates[0], quake[:2]) is False  # asked again: one question
    assert (referee.calls, referee.said_no) == (2, 1)
    contrary = module.LabelReferee(articles, gold, errors=1.0)
    assert contrary.same_event(quake[2], quake[:2]) is False
    assert contrary.same_event(pirates[0], quake[:2]) is True


def test_a_referee_row_says_how_often_it_was_asked(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bodies.csv", body=True)
    done = run("--data", str(path), "--referee", "oracle", "--orders", "2")
    assert done.returncode == 0, done.stderr
    assert re.search(r"ours \+ referee \(labels\).*questions per", done.stdout)
    assert done.stdout.count("over orders") == 2  # ours over orders, and with the referee
    noisy = run("--data", str(path), "--referee", "oracle", "--referee-errors", "0.2")
    assert noisy.returncode == 0, noisy.stderr
    assert "ours + referee (labels, 20% wrong)" in noisy.stdout
    llm = run("--data", str(path), "--referee", "llm")
    assert llm.returncode != 0
    assert "--referee llm needs DIGEST_LLM_BASE_URL and DIGEST_LLM_MODEL" in llm.stderr
