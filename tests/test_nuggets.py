"""Key-fact files and nugget recall (benchmarks/nuggets.py), and the summary benchmark's
``--facts`` run as its users run it: a CSV and facts files in, a table and a score line out."""

from __future__ import annotations

import csv
import importlib.util
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAST_LINE = re.compile(r"^nugget recall (\d\.\d{3}) lead3 (\d\.\d{3}) centroid (\d\.\d{3})$")


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("nuggets", ROOT / "benchmarks" / "nuggets.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["nuggets"] = module
    spec.loader.exec_module(module)
    return module


nuggets = _module()

FACTS = """\
story: kestrel
facts:
  - id: who-what
    about: Halcyon released Kestrel 2
    pattern:
      - 'halcyon.{0,40}released.{0,20}kestrel 2'
      - 'kestrel 2.{0,20}was released by halcyon'
  - id: sizes
    about: 8B and 34B parameters
    pattern: '8 billion.{0,30}34 billion'
  - id: licence
    about: Apache 2.0
    pattern: 'apache 2\\.0'
"""


def test_every_committed_facts_file_loads_with_five_to_eight_facts() -> None:
    folder = ROOT / "benchmarks" / "facts"
    files = sorted(folder.glob("*.yaml"))
    assert len(files) == 24
    for path in files:
        facts = nuggets.load_facts(path)
        assert 5 <= len(facts) <= 8, path.name
        assert len({f.id for f in facts}) == len(facts), path.name
        assert all(f.about for f in facts), path.name


def test_recall_counts_facts_stated_and_ignores_citation_marks(tmp_path: Path) -> None:
    path = tmp_path / "kestrel.yaml"
    path.write_text(FACTS, encoding="utf-8")
    facts = nuggets.load_facts(path)
    text = (
        "Halcyon Research on Monday released Kestrel 2 [1][2], in 8 billion and 34 billion sizes."
    )
    assert [f.id for f in nuggets.stated(text, facts)] == ["who-what", "sizes"]
    assert nuggets.recall(text, facts) == pytest.approx(2 / 3)
    # The second alternative counts; "Apache 2.0 [3]" matches with its marker removed.
    other = "Kestrel 2 was released by Halcyon under Apache 2.0 [3]."
    assert [f.id for f in nuggets.stated(other, facts)] == ["who-what", "licence"]
    assert nuggets.recall("Nothing about it.", facts) == 0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("facts: [{id: a, pattern: '(unclosed'}]", "fact 'a' has a bad pattern"),
        ("facts: [{about: no id}]", "fact 1 needs an 'id' and a 'pattern'"),
        ("story: x", "expected a mapping with a 'facts' list"),
        ("facts: [", "not valid YAML"),
    ],
)
def test_a_bad_facts_file_is_named_with_what_is_wrong(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as caught:
        nuggets.load_facts(path)
    assert str(path) in str(caught.value)


def test_facts_run_prints_a_table_and_the_score_line(tmp_path: Path) -> None:
    """Our summary states the release and its sizes; the baselines get the same budget."""
    facts = tmp_path / "facts"
    facts.mkdir()
    (facts / "kestrel.yaml").write_text(FACTS, encoding="utf-8")
    texts = [
        (
            "Kestrel 2 is here",
            "Everyone has been waiting for this one, and the wait is finally over for fans. "
            "Halcyon Research on Monday released Kestrel 2, open-weights models with "
            "8 billion and 34 billion parameters. The models ship under the Apache 2.0 licence.",
        ),
        (
            "Halcyon releases Kestrel 2",
            "Halcyon Research released Kestrel 2 on Monday, with 8 billion and 34 billion "
            "parameters, under the Apache 2.0 licence. Testers ran the 34B model on one GPU.",
        ),
    ]
    data = tmp_path / "stories.csv"
    with data.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ID", "TITLE", "URL", "PUBLISHER", "STORY", "TIMESTAMP", "TEXT"])
        for n, (title, text) in enumerate(texts, start=1):
            writer.writerow(
                [
                    n,
                    title,
                    f"https://s{n}.example/a",
                    f"s{n}.example",
                    "kestrel",
                    1_763_280_000_000 + n,
                    text,
                ]
            )
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "summarize.py"),
            "--facts",
            "--data",
            str(data),
            "--facts-dir",
            str(facts),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    lines = done.stdout.strip().splitlines()
    match = LAST_LINE.match(lines[-1])
    assert match, lines[-1]
    ours, lead3, _ = (float(g) for g in match.groups())
    assert ours == 1.0 and lead3 < ours  # the earliest article opens with a teaser
    assert lines[-2].startswith("citation-precision 1.000")
    assert any("kestrel" in line for line in lines)


def test_facts_run_without_matching_stories_says_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "summarize.py"),
            "--facts",
            "--data",
            str(ROOT / "tests" / "fixtures" / "missing.csv"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode != 0
    assert "missing.csv: no such file" in done.stderr
