"""Key-fact (nugget) recall: how many of a story's key facts a summary states.

Each multi-source story of the AI-news development set has a facts file in
``benchmarks/facts/<story>.yaml``: five to eight facts a good summary must
state (who did what, the figures, the finding), each a small case-insensitive
regular expression, or a list of alternatives of which any one counts. The
facts are written from the event, in our own words, not copied from articles;
a pattern allows the usual ways of putting one fact ("$2.75 billion",
"$2.75bn") and nothing a summary could match by accident of length.

Recall is the share of a story's facts whose pattern matches the summary's
text (citation markers removed, white space and typographic quotes folded), so
a longer text matches more: compare summaries at equal word budgets.

    python benchmarks/nuggets.py FACTS_FILE [TEXT_FILE]   # which facts a text states
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

FACTS = Path(__file__).resolve().parent / "facts"
_MARKERS = re.compile(r"\s*\[\d+\]")
_FOLD = str.maketrans({"’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "})


@dataclass(frozen=True, slots=True)
class Fact:
    """One key fact: an id, what it says in words, and the patterns that state it."""

    id: str
    about: str
    patterns: tuple[re.Pattern[str], ...]

    def stated_in(self, text: str) -> bool:
        return any(p.search(text) for p in self.patterns)


def load_facts(path: Path) -> tuple[Fact, ...]:
    """The facts of one file; a malformed file or pattern raises ValueError naming both."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise ValueError(f"{path}: not valid YAML ({error})") from error
    if not isinstance(data, dict) or not isinstance(data.get("facts"), list):
        raise ValueError(f"{path}: expected a mapping with a 'facts' list")
    facts = []
    for index, item in enumerate(data["facts"], start=1):
        if not isinstance(item, dict) or not item.get("id") or not item.get("pattern"):
            raise ValueError(f"{path}: fact {index} needs an 'id' and a 'pattern'")
        raw = item["pattern"]
        sources = [raw] if isinstance(raw, str) else raw
        try:
            patterns = tuple(re.compile(str(p), re.IGNORECASE) for p in sources)
        except re.error as error:
            raise ValueError(f"{path}: fact {item['id']!r} has a bad pattern ({error})") from error
        facts.append(Fact(str(item["id"]), str(item.get("about", "")), patterns))
    if not facts:
        raise ValueError(f"{path}: no facts")
    return tuple(facts)


def all_facts(folder: Path = FACTS) -> dict[str, tuple[Fact, ...]]:
    """Story label → its facts, for every facts file in ``folder``."""
    return {path.stem: load_facts(path) for path in sorted(folder.glob("*.yaml"))}


def normalize(text: str) -> str:
    """The text a pattern is matched against: no citation markers, folded quotes and space."""
    return " ".join(_MARKERS.sub("", text).translate(_FOLD).split())


def stated(text: str, facts: tuple[Fact, ...]) -> list[Fact]:
    """The facts the text states."""
    flat = normalize(text)
    return [fact for fact in facts if fact.stated_in(flat)]


def recall(text: str, facts: tuple[Fact, ...]) -> float:
    """The share of the facts the text states."""
    return len(stated(text, facts)) / len(facts) if facts else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("facts", type=Path, help="a facts file (YAML)")
    parser.add_argument("text", type=Path, nargs="?", help="the summary (default: stdin)")
    args = parser.parse_args()
    facts = load_facts(args.facts)
    text = args.text.read_text(encoding="utf-8") if args.text else sys.stdin.read()
    found = {f.id for f in stated(text, facts)}
    for fact in facts:
        print(f"{'yes' if fact.id in found else ' no'}  {fact.id}: {fact.about}")
    print(f"nugget recall {len(found) / len(facts):.3f}")


if __name__ == "__main__":
    main()
