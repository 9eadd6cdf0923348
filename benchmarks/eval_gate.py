"""Quality gate: measured figures against the floors pinned in benchmarks/baseline.json.

Runs the clustering benchmark on each labelled file (our method only), the
summary benchmark on the demo corpus, and the key-fact benchmark on the AI-news
stories (nugget recall of our summaries, their citation precision, and our
margin over the better of the lead-3 and centroid baselines), prints a table,
and exits non-zero when a figure falls below its floor by more than the stated
epsilon. ``--update``
raises floors to what was measured; it never lowers one unless
``--allow-regression`` is given, so floors only move up.

    python benchmarks/eval_gate.py [--update [--allow-regression]]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
BASELINE = HERE / "baseline.json"
DATA = HERE.parent.parent / "shared" / "data"
# Files whose times are synthetic: their row order is one draw, so the mean over
# shuffled arrival orders is gated too (see ``shuffled`` in benchmarks/cluster.py).
ORDER_FREE = frozenset({"ecbplus_dev", "ai_news_dev"})
ORDERS = 8


def _output(args: list[str]) -> list[str]:
    done = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=HERE.parent, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()


def _summary(name: str, lines: list[str]) -> re.Match[str]:
    """The per-file summary line of benchmarks/cluster.py: file order, then the order mean."""
    pattern = re.compile(
        rf"^{re.escape(name)}\.csv: ours B3-F1 (\d\.\d+) in file order"
        r"(?:, (\d\.\d+) as the mean of \d+ shuffled orders)?$"
    )
    for line in lines:
        match = pattern.match(line)
        if match:
            return match
    raise SystemExit(f"benchmarks/cluster.py printed no summary line for {name}")


def _numbers(line: str) -> dict[str, float]:
    """``name value name value ...`` → {name: value}."""
    pairs = re.findall(r"([A-Za-z][\w-]*)\s+(-?\d+(?:\.\d+)?)", line)
    return {name.lower(): float(value) for name, value in pairs}


def measure() -> dict[str, float]:
    """Every gated figure, keyed as in baseline.json (``section.item.metric``)."""
    figures: dict[str, float] = {}
    for name in ("uci_dev_1500", "ecbplus_dev", "ai_news_dev"):
        path = DATA / f"{name}.csv"
        if not path.is_file():
            print(f"skipping {name}: {path} not found")
            continue
        command = ["benchmarks/cluster.py", "--no-baselines", "--data", str(path)]
        if name in ORDER_FREE:
            command += ["--orders", str(ORDERS)]
        summary = _summary(name, _output(command))
        figures[f"cluster.{name}.b3_f1"] = float(summary.group(1))
        if name in ORDER_FREE:
            figures[f"cluster.{name}.b3_f1_orders"] = float(summary.group(2))
    got = _numbers(_output(["benchmarks/summarize.py"])[-1])
    figures["summarize.demo.citation_precision"] = got["citation-precision"]
    figures["summarize.demo.multi_source_rate"] = got["multi-source"]
    if not (DATA / "ai_news_dev.csv").is_file():
        print("skipping nugget recall: ai_news_dev.csv not found")
        return figures
    lines = _output(["benchmarks/summarize.py", "--facts", "--data", str(DATA / "ai_news_dev.csv")])
    nuggets, cited = _numbers(lines[-1]), _numbers(lines[-2])
    figures["summarize.ai_news_dev.nugget_recall"] = nuggets["recall"]
    figures["summarize.ai_news_dev.nugget_margin"] = nuggets["recall"] - max(
        nuggets["lead3"], nuggets["centroid"]
    )
    figures["summarize.ai_news_dev.citation_precision"] = cited["citation-precision"]
    return figures


def _get(tree: dict[str, object], key: str) -> float | None:
    node: object = tree
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, int | float) else None


def _set(tree: dict[str, object], key: str, value: float) -> None:
    *parents, leaf = key.split(".")
    node = tree
    for part in parents:
        node = node.setdefault(part, {})  # type: ignore[assignment]
    node[leaf] = round(value, 3)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--update", action="store_true", help="raise floors to the measured figures"
    )
    parser.add_argument(
        "--allow-regression", action="store_true", help="with --update, also lower floors"
    )
    args = parser.parse_args()
    baseline = json.loads(BASELINE.read_text(encoding="utf-8"))
    epsilon = float(baseline.get("epsilon", baseline.get("cluster", {}).get("epsilon", 0.005)))
    figures = measure()
    table = Table(title="Quality gate")
    for col in ("figure", "measured", "floor", "verdict"):
        table.add_column(col)
    failed = []
    for key, value in figures.items():
        floor = _get(baseline, key)
        if floor is None:
            verdict = "new"
        elif value < floor - epsilon:
            verdict = "[red]below floor[/]"
            failed.append(key)
        else:
            verdict = "[green]ok[/]" if value <= floor + epsilon else "[green]above floor[/]"
        table.add_row(key, f"{value:.3f}", "-" if floor is None else f"{floor:.3f}", verdict)
        if args.update and (floor is None or value > floor or args.allow_regression):
            _set(baseline, key, value)
    Console().print(table)
    if args.update:
        BASELINE.write_text(json.dumps(baseline, indent=2) + "\n", encoding="utf-8")
        print(f"floors written to {BASELINE.name}")
    if failed and not args.update:
        print(f"FAILED: {', '.join(failed)} fell below the floor (epsilon {epsilon})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
