"""benchmarks/join_signals.py: the signals of each join, and the AUC that compares them."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path
from types import ModuleType

from tests.test_cluster_benchmark import START_MS, write_csv

ROOT = Path(__file__).resolve().parents[1]
SIGNALS = {
    "margin",
    "runner-up gap",
    "core - centroid",
    "exclusive",
    "without top 3",
    "name agreement",
    "figure agreement",
    "new names",
    "nearest member",
    "cohesion gap",
    "shared sequences",
}
WORDS = {
    "quake": "magnitude tremor epicentre villages rubble rescuers aftershock seismologists "
    "island shelters injured collapsed buildings coastline governor emergency tents",
    "pirates": "navy warship commandos hostages tanker crew hijacked skiff gulf patrol "
    "captured frigate rifles ransom coastguard convoy freighter",
    "chips": "transistors accelerator wafer foundry packaging memory bandwidth datacentre "
    "training inference shipments customers rack cooling interconnect yield",
}
# Everyday words every report has, so that each text is a full one (80 terms or more).
COMMON = [
    "people",
    "year",
    "time",
    "report",
    "week",
    "city",
    "country",
    "group",
    "number",
    "part",
    "place",
    "case",
    "point",
    "work",
    "government",
    "company",
    "system",
    "program",
    "question",
    "night",
    "home",
    "water",
    "room",
    "mother",
    "area",
    "money",
    "story",
    "fact",
    "month",
    "lot",
    "right",
    "study",
    "book",
    "eye",
    "job",
    "word",
    "business",
    "issue",
    "side",
    "kind",
    "head",
    "house",
    "service",
    "friend",
    "father",
    "power",
    "hour",
    "game",
    "line",
    "end",
    "member",
    "law",
    "car",
    "name",
    "president",
    "team",
    "minute",
    "idea",
    "kid",
    "body",
    "information",
    "back",
    "parent",
    "face",
    "others",
    "level",
    "office",
    "door",
    "health",
    "person",
    "art",
    "war",
    "history",
    "party",
    "result",
    "change",
    "morning",
    "reason",
    "research",
    "girl",
    "guy",
    "moment",
    "air",
    "teacher",
    "force",
]


def _module() -> ModuleType:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(
        "join_signals", ROOT / "benchmarks/join_signals.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _text(story: str, turn: int) -> str:
    """A full text of its story: the story's words in an order of the outlet's own, and more."""
    words = WORDS[story].split()
    words = words[turn:] + words[:turn]
    return " ".join(words + COMMON[turn * 5 :] + COMMON[: turn * 5] + words) + "."


def test_auc_is_the_chance_a_right_join_scores_above_a_wrong_one() -> None:
    signals = _module()
    assert signals.auc([0.9, 0.8], [0.1]) == 1.0
    assert signals.auc([0.1], [0.9, 0.8]) == 0.0
    assert signals.auc([0.5, 0.7], [0.5, 0.6]) == 0.625  # one tie counts half
    assert math.isnan(signals.auc([0.5], []))


def test_every_join_of_a_full_text_is_recorded_with_every_signal(tmp_path: Path) -> None:
    signals = _module()
    right, wrong = signals.joins(write_csv(tmp_path / "full.csv", body=True, text=_text))
    assert len(right) == 6 and wrong == []  # three stories of three: two joins each
    for found in right:
        assert set(found) == SIGNALS and all(math.isfinite(v) for v in found.values())
        assert found["margin"] >= 0.0 and found["runner-up gap"] >= found["margin"]
        assert found["shared sequences"] > 0  # the outlets reuse the story's own phrasing
        assert 0.0 < found["nearest member"] <= 1.0 + 1e-9


def test_learned_auc_is_cross_validated_and_needs_both_kinds() -> None:
    signals = _module()
    right = [{"margin": 0.5 + k / 100, "noise": (k * 7) % 5} for k in range(10)]
    wrong = [{"margin": 0.1 + k / 100, "noise": (k * 3) % 5} for k in range(5)]
    assert signals.learned_auc(right, wrong) == 1.0  # the margin alone separates them
    assert math.isnan(signals.learned_auc(right, wrong[:1]))  # one wrong join: no folds


def test_the_core_check_keeps_every_member_of_one_event(tmp_path: Path) -> None:
    signals = _module()
    rows = [
        {
            "ID": str(turn + 1),
            "TITLE": f"Quake report {turn}",
            "URL": f"https://outlet{turn}.example/quake",
            "PUBLISHER": f"Outlet {turn}",
            "CATEGORY": "t",
            "STORY": "quake",
            "HOSTNAME": f"outlet{turn}.example",
            "TIMESTAMP": str(START_MS + turn * 600_000),
            "TEXT": _text("quake", turn),
        }
        for turn in range(6)
    ]
    found = signals.core_check(write_csv(tmp_path / "one.csv", body=True, rows=rows))
    assert found == {(True, False): 3}  # six members, a core of three, the other three kept
