"""The static site: layout, relative links that resolve, citations, archive, Atom feed, sitemap,
pruning, and feed text that cannot run script.

``assert_inert`` is shared with the email tests: it parses HTML and fails on
any script element, event-handler attribute or script-capable URL.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import lxml.etree
import lxml.html
import pytest

from pipeline.digest import select
from pipeline.models import Digest
from pipeline.render import SiteParams, site
from pipeline.render.site import build
from tests.test_digest import BUILT, DAY, PARAMS, make_story, sample_digest

DAYS = (date(2024, 11, 29), date(2024, 11, 30), date(2024, 12, 18), DAY)
BASE = "https://news.example.org/digest/"
_SCRIPT_URL = re.compile(r"^\s*(javascript|data|vbscript|file):", re.IGNORECASE)
_URL_ATTRIBUTES = (
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "srcset",
    "poster",
    "background",
)


def assert_inert(html: str) -> None:
    """No script elements, no on* attributes, no javascript:/data:/vbscript: URLs, no base,
    and no meta refresh but our own redirect pages' (to a relative page of the site)."""
    document = (
        lxml.html.document_fromstring(html)
        if "<html" in html[:300]
        else lxml.html.fragment_fromstring(html, create_parent="div")
    )
    assert not document.xpath("//script|//iframe|//object|//embed|//base"), "active element"
    for meta in document.xpath("//meta[@http-equiv]"):
        target = meta.get("content", "").partition("url=")[2]
        parts = urlsplit(target)
        assert meta.get("http-equiv") == "refresh", "meta http-equiv"
        assert target.endswith(".html") and not parts.scheme and not parts.netloc, "meta refresh"
    for element in document.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), f"event handler {name}={value!r}"
            if name.lower() in _URL_ATTRIBUTES:
                assert not _SCRIPT_URL.match(unquote(value).replace("\t", "").replace("\n", "")), (
                    f"{name}={value!r}"
                )
            if name.lower() == "style":
                assert "expression(" not in value and "url(" not in value.lower()


def hostile_digest(day: date = DAY) -> Digest:
    """Every trick feed text can try: script tags, handlers, script URLs, broken markup."""
    story = make_story(
        66,
        'Breaking <script>alert("headline")</script><img src=x onerror=alert(1)> news',
        "safety",
        9.0,
        sources=(
            (
                "<svg onload=alert(1)>Outlet</svg>",
                "<a href='javascript:alert(2)'>click</a>",
                "javascript:alert(3)",
            ),
            (
                "Data Outlet",
                "Broken <b><i>markup <p unclosed",
                "data:text/html,<script>alert(4)</script>",
            ),
            ("Tab Trick", 'title" onmouseover="alert(5)', "java\tscript:alert(6)"),
            ("Fine Outlet", "A fine title", "https://fine.example/story?a=1&b=<x>"),
        ),
        lead=(
            (
                'He said "</p><script>alert(7)</script>" and <iframe src=javascript:alert(8)>',
                (1, 2),
            ),
        ),
        points=(
            (
                '<a href="javascript:alert(9)" onclick=alert(10)>link</a> ]]> <!-- comment -->',
                (3, 4),
            ),
        ),
    )
    shift = day - DAY
    story = replace(
        story,
        article_urls=("javascript:alert(11)", "vbscript:msgbox(12)", "https://fine.example/story"),
        article_times=tuple(t + shift for t in story.article_times),
    )
    digest = select(
        [story, *sample_digest(day).stories], day, replace(PARAMS, limit=0), BUILT + shift
    )
    assert 66 in [s.id for s in digest.stories]
    return digest


def html_pages(root: Path) -> Iterator[Path]:
    yield from sorted(root.rglob("*.html"))


def is_redirect(page: Path) -> bool:
    return 'http-equiv="refresh"' in page.read_text(encoding="utf-8")


def content_pages(root: Path) -> Iterator[Path]:
    """The site's pages without the redirects that keep old links working."""
    yield from (p for p in html_pages(root) if not is_redirect(p))


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> tuple[Path, list[Digest]]:
    root = tmp_path_factory.mktemp("site")
    digests = [sample_digest(day) for day in DAYS]
    build(digests, root, SiteParams())
    return root, digests


def test_every_page_links_the_stylesheet_by_its_content_hash(built):
    """A new stylesheet is a new URL, so a year-long cache never serves a stale one."""
    root, _ = built
    version = hashlib.sha256((root / "style.css").read_bytes()).hexdigest()[:12]
    pages = list(content_pages(root))
    assert pages
    for page in pages:
        (link,) = lxml.html.parse(str(page)).xpath('//link[@rel="stylesheet"]/@href')
        path, _, query = link.partition("?")
        assert query == f"v={version}", page
        assert (page.parent / path).resolve() == (root / "style.css").resolve(), page


def test_layout_pages_exist_and_nothing_needs_javascript(built):
    root, digests = built
    expected = {
        "index.html",
        "archive.html",
        "feed.xml",
        "sitemap.xml",
        "style.css",
        "2024/11/index.html",
        "2024/12/index.html",
        "topics/index.html",
        "graph.json",
    }
    for digest in digests:
        expected.add(site.day_path(digest.day))
        expected |= {site.story_path(s) for s in digest.stories}
        expected |= {site.story_path(s).replace(".html", ".json") for s in digest.stories}
        expected |= {site.day_story_path(digest.day, s.id) for s in digest.stories}
    produced = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert produced == expected
    for page in content_pages(root):
        document = lxml.html.parse(str(page)).getroot()
        assert document.get("lang") == "en"
        assert not document.xpath("//script"), page
        assert len(document.xpath("//h1")) == 1, page
        assert len(document.xpath("//main")) == 1, page
        assert document.xpath("//header//nav[@aria-label]") and document.xpath(
            "//footer//a[@href]"
        ), page
        assert document.xpath("//meta[@name='viewport']"), page


def test_every_internal_link_is_relative_and_resolves_with_its_anchor(built):
    root, _ = built
    ids: dict[Path, set[str]] = {}
    checked = 0
    for page in html_pages(root):
        document = lxml.html.parse(str(page)).getroot()
        for element, attribute, link, _ in document.iterlinks():
            if (
                attribute not in ("href", "src")
                or element.tag == "a"
                and link.startswith(("http://", "https://"))
            ):
                continue
            parts = urlsplit(link)
            assert not parts.scheme and not link.startswith("/"), f"{page}: {link}"
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            assert target.is_file(), f"{page}: {link}"
            if parts.fragment and target.suffix == ".html":
                if target not in ids:
                    ids[target] = set(lxml.html.parse(str(target)).getroot().xpath("//@id"))
                assert parts.fragment in ids[target], f"{page}: {link}"
            checked += 1
    assert checked > 500


def test_home_is_the_latest_day(built):
    root, digests = built
    home = lxml.html.parse(str(root / "index.html")).getroot()
    day = lxml.html.parse(str(root / site.day_path(DAY))).getroot()
    assert home.xpath("string(//h1)") == day.xpath("string(//h1)") == "Thursday 19 December 2024"
    assert home.xpath("//h3[@class='story-title']/a/text()") == [
        s.headline for s in digests[-1].stories
    ]
    assert home.xpath("//a[@rel='prev']/@href") == ["2024/12/18/index.html"]


def test_story_page_has_sources_block_cited_summary_and_source_list(built):
    root, digests = built
    story = next(s for s in digests[-1].stories if s.id == 7)
    page = lxml.html.parse(str(root / site.story_path(story))).getroot()
    assert page.xpath("string(//h1)") == story.headline
    assert page.xpath("normalize-space(//*[@class='sources-count'])") == "4 Sources"
    assert page.xpath("//ul[@class='chips']//a/text()") == [c.outlet for c in story.summary.sources]
    marks = page.xpath("//section[@class='summary']//sup[@class='cite']/a")
    expected = [n for s in story.summary.sentences for n in s.citations]
    assert [a.text for a in marks] == [f"[{n}]" for n in expected]
    assert [a.get("href") for a in marks] == [f"#source-{n}" for n in expected]
    lead = page.xpath("//p[@class='lead']")[0].text_content()
    assert story.summary.lead[0].text + "[1][2][3]" in lead
    for citation in story.summary.sources:
        (entry,) = page.xpath(f"//li[@id='source-{citation.number}']")
        assert entry.xpath("string(.//*[@class='outlet'])") == citation.outlet
        assert entry.xpath(".//a[@class='title']/@href") == [citation.url]
        assert entry.xpath("string(.//a[@class='title'])") == citation.title
        assert entry.xpath(".//time/@datetime") == [citation.published_at.isoformat()]
    assert story.explanation in page.xpath("string(//p[@class='why'])")
    assert page.xpath("//details[@class='coverage']//a/@href") == list(story.article_urls)


def test_day_page_citations_point_at_the_story_pages_sources(built):
    root, digests = built
    page = lxml.html.parse(str(root / site.day_path(DAY))).getroot()
    card = page.xpath("//article[@id='story-7']")[0]
    hrefs = card.xpath(".//sup[@class='cite']/a/@href")
    page_of_7 = "../../../stories/7.html"
    assert hrefs[:3] == [f"{page_of_7}#source-{n}" for n in (1, 2, 3)]
    assert card.xpath("normalize-space(.//*[@class='sources-count'])") == "4 Sources"
    sections = page.xpath("//section[@class='section']/h2/text()")
    assert sections == [
        "Editors' picks",
        "Safety",
        "Open source",
        "Business & funding",
        "Models & products",
        "Research",
    ]


def test_archive_by_month_leads_to_each_day(built):
    root, digests = built
    archive = lxml.html.parse(str(root / "archive.html")).getroot()
    assert archive.xpath("//ul[@class='months']//a/text()") == ["December 2024", "November 2024"]
    assert archive.xpath("//ul[@class='months']//a/@href") == [
        "2024/12/index.html",
        "2024/11/index.html",
    ]
    month = lxml.html.parse(str(root / "2024/11/index.html")).getroot()
    assert month.xpath("//ol[@class='days']//h2/a/@href") == ["30/index.html", "29/index.html"]
    assert month.xpath("//a[@rel='next']/@href") == ["../12/index.html"]
    tops = month.xpath("//ol[@class='days']/li[1]//ul[@class='tops']//a/text()")
    assert tops == [s.headline for s in digests[1].stories[:3]]


def test_atom_feed_has_one_entry_per_story_updated_when_carried_again(tmp_path):
    digests = [sample_digest(day) for day in DAYS]
    build(digests, tmp_path, SiteParams(base_url=BASE, feed_entries=3))
    data = (tmp_path / "feed.xml").read_bytes()
    lxml.etree.fromstring(data)  # well-formed
    feed = feedparser.parse(data)
    assert not feed.bozo
    assert feed.version == "atom10"
    newest = digests[-1].stories
    # every story of the sample is carried every day: its entry is the newest day's
    assert [e.link for e in feed.entries] == [BASE + site.story_path(s) for s in newest]
    assert len({e.id for e in feed.entries}) == len(newest)
    first = feed.entries[0]
    assert first.title == newest[0].headline
    assert first.id == BASE + site.story_path(newest[0])
    assert first.updated == "2024-12-19T07:00:00+00:00"
    assert first.published == "2024-11-29T07:00:00+00:00"  # the first digest that carried it
    assert feed.feed.updated == "2024-12-19T07:00:00+00:00"
    seven = next(e for e in feed.entries if e.link == BASE + "stories/7.html")
    content = seven.content[0].value
    assert 'href="https://frontier.example/alignment-faking"' in content
    assert BASE + "2024/12/19/" in content
    assert_inert(content)


def test_sitemap_lists_every_page_with_absolute_urls(tmp_path):
    build([sample_digest(day) for day in DAYS], tmp_path, SiteParams(base_url=BASE))
    tree = lxml.etree.parse(str(tmp_path / "sitemap.xml"))
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9"}
    locs = tree.xpath("//s:url/s:loc/text()", namespaces=ns)
    pages = {p.relative_to(tmp_path).as_posix() for p in content_pages(tmp_path)}
    assert len(locs) == len(set(locs)) == len(pages)
    assert all(loc.startswith(BASE) for loc in locs)
    assert BASE + "stories/7.html" in locs and BASE in locs
    assert BASE + "2024/12/19/story-7.html" not in locs  # a redirect, not a page
    lastmod = tree.xpath("//s:url[s:loc='" + BASE + "2024/11/30/']/s:lastmod/text()", namespaces=ns)
    assert lastmod == ["2024-11-30"]
    canonical = (
        lxml.html.parse(str(tmp_path / "stories/7.html"))
        .getroot()
        .xpath("//link[@rel='canonical']/@href")
    )
    assert canonical == [BASE + "stories/7.html"]


def test_rebuild_rewrites_only_changes_and_prunes_only_our_stale_pages(tmp_path):
    digests = [sample_digest(day) for day in DAYS]
    build(digests, tmp_path, SiteParams())
    (tmp_path / "2024/12/19/notes.txt").write_text("keep me")
    (tmp_path / "robots.txt").write_text("keep me too")
    stamps = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()}
    build(digests, tmp_path, SiteParams())
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*") if p.is_file()} == stamps
    shorter = replace(digests[-1], stories=digests[-1].stories[:2])
    build([*digests[:2], shorter], tmp_path, SiteParams())  # 18 Dec gone, 19 Dec lost stories
    assert not (tmp_path / "2024/12/19/story-12.html").exists()
    assert (tmp_path / "2024/12/19/story-7.html").exists()
    assert not (tmp_path / "2024/12/18").exists()
    assert (tmp_path / "2024/12/19/notes.txt").read_text() == "keep me"
    assert (tmp_path / "robots.txt").exists()


def test_an_empty_archive_still_has_a_home_page(tmp_path):
    paths = build([], tmp_path, SiteParams())
    assert tmp_path / "index.html" in paths
    assert "No digests yet." in (tmp_path / "index.html").read_text(encoding="utf-8")
    assert not feedparser.parse((tmp_path / "feed.xml").read_bytes()).bozo


def test_feed_text_cannot_run_script_anywhere_on_the_site(tmp_path):
    build(
        [hostile_digest(), sample_digest(date(2024, 12, 18))], tmp_path, SiteParams(base_url=BASE)
    )
    for page in html_pages(tmp_path):
        assert_inert(page.read_text(encoding="utf-8"))
    story = lxml.html.parse(str(tmp_path / "stories/66.html")).getroot()
    # Shown as text, not run: the headline still reads as the feed wrote it.
    assert story.xpath("string(//h1)").startswith('Breaking <script>alert("headline")</script>')
    # Unsafe source links are withheld; the safe one is kept, percent-encoded.
    assert story.xpath("//li[starts-with(@id, 'source-')]//a/@href") == [
        "https://fine.example/story?a=1&b=%3Cx%3E"
    ]
    assert len(story.xpath("//*[@class='withheld']")) == 3
    assert story.xpath("//details//a/@href") == ["https://fine.example/story"]
    feed = feedparser.parse((tmp_path / "feed.xml").read_bytes())
    assert not feed.bozo
    for entry in feed.entries:
        assert_inert(entry.content[0].value)
    raw = (tmp_path / "feed.xml").read_text(encoding="utf-8")
    entry_html = lxml.etree.fromstring(raw.encode()).xpath("//*[local-name()='content']/text()")
    for fragment in entry_html:
        assert_inert(fragment)


def test_contrast_of_the_palette_meets_wcag_aa():
    css = (Path(site.__file__).with_name("templates") / "style.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-f]{6})", css))

    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(a: str, b: str) -> float:
        high, low = sorted((luminance(colours[a]), luminance(colours[b])), reverse=True)
        return (high + 0.05) / (low + 0.05)

    for text, background in [
        ("ink", "paper"),
        ("muted", "paper"),
        ("accent", "paper"),
        ("accent-ink", "chip"),
        ("muted", "card"),
    ]:
        assert contrast(text, background) >= 4.5, (text, background)
    assert contrast("ink", "paper") >= 7


@pytest.mark.parametrize(
    "html",
    [
        "<p>x<script>alert(1)</script></p>",
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        '<a href=" JaVaScRiPt:alert(1)">x</a>',
        '<a href="java&#9;script:alert(1)">x</a>',
        '<iframe src="https://example.org"></iframe>',
        '<html><head><meta http-equiv="refresh" content="0;url=javascript:alert(1)"></head><body></body></html>',
    ],
)
def test_the_inertness_check_catches_active_html(html):
    with pytest.raises(AssertionError):
        assert_inert(html)
