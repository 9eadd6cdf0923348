"""Canonical URLs: the table in fixtures/urls.yaml, plus the properties behind it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline.urls import canonicalize, host_of, preferred

TABLE: dict[str, list[dict[str, Any]]] = yaml.safe_load(
    (Path(__file__).parent / "fixtures" / "urls.yaml").read_text(encoding="utf-8")
)
CANONICAL_CASES = TABLE["canonicalize"]
PREFERRED_CASES = TABLE["preferred"]


def _case_id(case: dict[str, Any]) -> str:
    return str(case.get("url", case.get("page")))[:70] or "<empty>"


def test_table_is_big_enough() -> None:
    assert len(CANONICAL_CASES) >= 40
    assert len(PREFERRED_CASES) >= 10


@pytest.mark.parametrize("case", CANONICAL_CASES, ids=_case_id)
def test_canonicalize_table(case: dict[str, Any]) -> None:
    result = canonicalize(case["url"], case.get("base"))
    assert result == case["canonical"]
    # canonical URLs are a fixed point: storing and re-reading never drifts
    assert canonicalize(result) == result


@pytest.mark.parametrize("case", PREFERRED_CASES, ids=_case_id)
def test_preferred_table(case: dict[str, Any]) -> None:
    assert preferred(case["page"], case["rel_canonical"]) == case["stored"]


def test_tracking_variants_share_one_canonical_url() -> None:
    article = "https://www.example.com/2024/05/13/openai-gpt-4o/"
    variants = [case["url"] for case in CANONICAL_CASES if case["canonical"] == article]
    assert len(variants) >= 10
    assert {canonicalize(v) for v in variants} == {article}


def test_distinct_pages_stay_distinct() -> None:
    # over-stripping would make the store drop the second page as a duplicate
    pages = [
        "https://news.example.org/gallery?gallery=2",
        "https://news.example.org/gallery?gallery=3",
        "https://news.example.org/article?id=1",
        "https://news.example.org/article?id=2",
        "https://news.example.org/search?source=homepage",
        "https://news.example.org/search?source=sidebar",
    ]
    assert len({canonicalize(p) for p in pages}) == len(pages)


@pytest.mark.parametrize(
    "junk",
    [
        "",
        " ",
        "\x00\x01",
        "http://",
        "https://[",
        "http://a b.com/",
        "%%%",
        "http://x:99999/",
        "💥",
    ],
)
def test_junk_never_raises(junk: str) -> None:
    assert canonicalize(junk) == junk.strip()
    assert preferred(junk, junk) == junk.strip()
    assert isinstance(host_of(junk), str)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://WWW.Example.COM:8443/a?b#c", "www.example.com"),
        ("http://127.0.0.1:8080/feed", "127.0.0.1"),
        ("http://[::1]:8080/feed", "::1"),
        ("https://münchen.example/", "xn--mnchen-3ya.example"),
        ("https://amp.example.com/story", "amp.example.com"),
        ("https://example.com./x", "example.com"),
        ("/relative", ""),
        ("not a url", ""),
        ("http://[::1", ""),
    ],
)
def test_host_of(url: str, host: str) -> None:
    assert host_of(url) == host


def test_host_of_agrees_with_canonicalize() -> None:
    # per-host limits key on host_of(raw URL); it must spell hosts as canonicalize does
    unwrapping = ("ampproject", "google.com/amp", "//amp.")
    checked = 0
    for case in CANONICAL_CASES:
        url, canonical = case["url"], case["canonical"]
        if (
            case.get("base")
            or not canonical.startswith("http")
            or any(u in url for u in unwrapping)
        ):
            continue
        assert host_of(url) == host_of(canonical)
        checked += 1
    assert checked >= 30
