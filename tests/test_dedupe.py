"""Duplicate detection: exact copies by GUID and text hash, near copies by shingles."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from pipeline.dedupe import find_duplicates, fingerprint
from pipeline.models import Article

T0 = datetime(2024, 12, 18, 9, 0, tzinfo=UTC)

WIRE = (
    "Quillmark, the start-up behind an AI coding assistant used by more than 40,000 companies, "
    "said on Tuesday it had raised $640 million in a Series C round led by Harborline Capital, "
    "valuing the company at $5.2 billion. The San Francisco firm plans to spend the money on "
    "hiring engineers and on computing power to train its own code models, chief executive "
    "Arjun Mehta said in an interview. Revenue tripled over the past year, he added, as large "
    "banks and retailers moved from pilots to company-wide deployments. Existing investors "
    "Northgate Ventures and Ridgeline also took part in the round, which is one of the largest "
    "for an AI developer-tools company this year. Quillmark competes with assistants built into "
    "code editors by much larger rivals and says its edge is an agent that can open and test "
    "pull requests on its own."
)
# The same wire copy re-published: new headline, a few words changed, a syndication line.
SYNDICATED = (
    WIRE.replace("said on Tuesday", "announced Tuesday")
    .replace("he added", "Mehta added")
    .replace("this year", "in 2024")
    + " This story originally appeared on Meridian Wire."
)
# An independent report of the same event: same facts, different words.
OTHER_REPORT = (
    "AI coding assistant maker Quillmark has closed a $640 million Series C. Harborline Capital "
    "led the deal, which puts the company's valuation at $5.2 billion, more than double its "
    "price a year ago. In a blog post, CEO Arjun Mehta wrote that the funds will go to model "
    "training and to a new office in London. Analysts said the round shows investors still "
    "back developer tools despite fierce competition from the big cloud platforms, and that "
    "Quillmark's agent, which writes and tests code changes, set it apart from plain "
    "autocomplete products."
)


def _article(article_id: int, title: str, text: str = "", **kw: object) -> Article:
    values: dict[str, object] = {
        "id": article_id,
        "source_id": article_id,
        "outlet": f"outlet{article_id}",
        "url": f"https://outlet{article_id}.example/a/{article_id}",
        "canonical_url": f"https://outlet{article_id}.example/a/{article_id}",
        "title": title,
        "text": text,
        "published_at": T0 + timedelta(minutes=article_id),
    }
    values.update(kw)
    article = Article(**values)  # type: ignore[arg-type]
    content_hash, print_ = fingerprint(article)
    return replace(article, content_hash=content_hash, fingerprint=print_)


def test_fingerprint_is_stable_and_text_sensitive() -> None:
    a = _article(1, "Quillmark raises $640M", WIRE)
    assert fingerprint(a) == fingerprint(replace(a, id=99, url="https://elsewhere.example/x"))
    assert fingerprint(a)[0] != fingerprint(replace(a, text=OTHER_REPORT))[0]


def test_guid_shared_across_sources_links_to_the_earliest() -> None:
    guid = "https://halcyon.example/blog/introducing-kestrel-2"
    original = _article(1, "Introducing Kestrel 2", "Short post.", guid=guid)
    copy = _article(2, "Kestrel 2 is here", "Different words entirely.", guid=guid)
    links = find_duplicates([copy], [original])
    assert [(link.article_id, link.original_id, link.reason) for link in links] == [(2, 1, "guid")]


def test_feed_local_guids_do_not_collide() -> None:
    one = _article(1, "Headline one", "Body one.", guid="1234")
    two = _article(2, "Headline two", "Body two.", guid="1234")
    assert find_duplicates([two], [one]) == []


def test_exact_copy_by_content_hash_despite_formatting() -> None:
    original = _article(1, "Quillmark raises $640 million", WIRE)
    copy = _article(2, "Quillmark raises $640 million", WIRE.replace("'", "\u2019") + "  ")
    links = find_duplicates([copy], [original])
    assert [(x.article_id, x.original_id, x.reason) for x in links] == [(2, 1, "content_hash")]


def test_syndicated_copy_with_new_headline_is_a_near_duplicate() -> None:
    original = _article(1, "Quillmark raises $640 million at $5.2 billion valuation", WIRE)
    copy = _article(2, "AI coding start-up lands huge Series C", SYNDICATED)
    links = find_duplicates([copy], [original])
    assert len(links) == 1
    assert (links[0].article_id, links[0].original_id) == (2, 1)
    assert links[0].reason == "near_duplicate"
    assert 0.5 <= links[0].similarity < 1.0


def test_two_reports_of_the_same_event_are_not_duplicates() -> None:
    one = _article(1, "Quillmark raises $640 million", WIRE)
    two = _article(2, "Quillmark raises $640 million", OTHER_REPORT)
    assert find_duplicates([two], [one]) == []


def test_the_original_is_the_earliest_even_when_it_arrives_later() -> None:
    late_copy = _article(5, "Syndicated", SYNDICATED)
    early_original = _article(1, "Original", WIRE)
    links = find_duplicates([early_original], [late_copy])
    assert [(x.article_id, x.original_id) for x in links] == [(5, 1)]


def test_chains_resolve_to_the_root_and_nothing_is_its_own_duplicate() -> None:
    root = _article(1, "Original", WIRE)
    stored_copy = replace(_article(2, "Copy", SYNDICATED), duplicate_of=1)
    new_copy = _article(3, "Copy of the copy", SYNDICATED + " Updated.")
    links = find_duplicates([new_copy, root], [root, stored_copy])
    assert [(x.article_id, x.original_id) for x in links] == [(3, 1)]
    assert all(x.article_id != x.original_id for x in links)


def test_copies_among_new_articles_are_found_too() -> None:
    a = _article(1, "Original", WIRE)
    b = _article(2, "Copy", SYNDICATED)
    assert [(x.article_id, x.original_id) for x in find_duplicates([a, b], [])] == [(2, 1)]


def test_short_items_use_title_and_summary() -> None:
    summary = "Halcyon Research released Kestrel 2, open-weights models in 8B and 34B sizes."
    one = _article(1, "Halcyon releases Kestrel 2 open-weights models", feed_summary=summary)
    two = _article(2, "Halcyon releases Kestrel 2 open weights models", feed_summary=summary)
    other = _article(
        3,
        "Kestrel 2 review: a strong mid-size open model",
        feed_summary="We tested Halcyon's Kestrel 2 34B on coding and maths.",
    )
    links = find_duplicates([two, other], [one])
    assert [(x.article_id, x.original_id, x.reason) for x in links] == [(2, 1, "near_duplicate")]


def test_identical_bare_headlines_are_not_enough() -> None:
    one = _article(1, "Business Highlights")
    two = _article(2, "Business Highlights")
    assert find_duplicates([two], [one]) == []
