"""The declared public API: complete, sorted, and importable."""

from __future__ import annotations

import pipeline


def test_all_is_sorted_and_importable():
    assert list(pipeline.__all__) == sorted(pipeline.__all__)
    for name in pipeline.__all__:
        assert getattr(pipeline, name) is not None


def test_all_covers_the_stage_values_and_entry_points():
    expected = {
        "Article",
        "Entry",
        "Settings",
        "Source",
        "Store",
        "fetch_round",
        "load_settings",
        "load_sources",
        "process_new",
        "run_all",
    }
    assert expected <= set(pipeline.__all__)
