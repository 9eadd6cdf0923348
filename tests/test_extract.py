"""Article extraction: the recorded pages in fixtures/pages/, then hostile bodies.

Each recorded page starts with an HTML comment holding its expectations
(``URL:``, ``Content-Type:``, ``Expect-title:``, ``Expect-contains:`` …, or
``Expect-none:``); the page itself is the bytes after that comment, so a page
can be saved in any encoding while its header stays UTF-8. Adding a page adds
a test.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pipeline.extract import ExtractParams, extract
from pipeline.models import ExtractedPage
from pipeline.urls import preferred

PAGES_DIR = Path(__file__).parent / "fixtures" / "pages"
PAGES = sorted(PAGES_DIR.glob("*.html"))
KNOWN_KEYS = {
    "Description", "URL", "Content-Type", "Expect-none", "Expect-title", "Expect-author",
    "Expect-date", "Expect-language", "Expect-canonical", "Expect-preferred",
    "Expect-contains", "Expect-not-contains", "Expect-links", "Expect-not-links",
}  # fmt: skip


@dataclass
class RecordedPage:
    body: bytes
    url: str
    content_type: str | None
    expect: dict[str, list[str]]

    def one(self, key: str) -> str | None:
        values = self.expect.get(key)
        return values[0] if values else None


def load_page(path: Path) -> RecordedPage:
    raw = path.read_bytes()
    assert raw.startswith(b"<!--"), f"{path.name} must start with its expectation comment"
    end = raw.index(b"-->") + 3
    expect: dict[str, list[str]] = defaultdict(list)
    for line in raw[4 : end - 3].decode("utf-8").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and " " not in key.strip():
            expect[key.strip()].append(value.strip())
    unknown = set(expect) - KNOWN_KEYS
    assert not unknown, f"{path.name}: unknown header keys {sorted(unknown)}"
    url = expect.pop("URL")[0]
    content_type = expect.pop("Content-Type", [None])[0]
    return RecordedPage(raw[end:].lstrip(b"\r\n"), url, content_type, dict(expect))


def run(page: RecordedPage) -> ExtractedPage | None:
    return extract(page.body, page.url, page.content_type)


def test_corpus_has_the_required_pages() -> None:
    pages = [load_page(p) for p in PAGES]
    articles = [p for p in pages if "Expect-none" not in p.expect]
    assert len(articles) >= 8
    assert sum("Expect-none" in p.expect for p in pages) >= 2
    assert any(p.one("Expect-canonical") and "/amp" in p.url for p in pages)
    assert any("arxiv.org" in " ".join(p.expect.get("Expect-links", [])) for p in pages)


@pytest.mark.parametrize("path", PAGES, ids=[p.stem for p in PAGES])
def test_recorded_page(path: Path) -> None:
    page = load_page(path)
    result = run(page)
    if "Expect-none" in page.expect:
        assert result is None, page.one("Expect-none")
        return
    assert result is not None
    for key, actual in (("Expect-title", result.title), ("Expect-author", result.author)):
        if key in page.expect:
            assert actual == page.one(key)
    if "Expect-date" in page.expect:
        assert result.published_at == datetime.fromisoformat(page.one("Expect-date") or "")
    if "Expect-language" in page.expect:
        assert result.language == (
            None if page.one("Expect-language") == "none" else page.one("Expect-language")
        )
    if "Expect-canonical" in page.expect:
        assert result.canonical_url == page.one("Expect-canonical")
    if "Expect-preferred" in page.expect:
        assert preferred(page.url, result.canonical_url) == page.one("Expect-preferred")
    for snippet in page.expect.get("Expect-contains", []):
        assert snippet in result.text
    for snippet in page.expect.get("Expect-not-contains", []):
        assert snippet not in result.text
    expected_links = page.expect.get("Expect-links", [])
    assert [link for link in result.links if link in expected_links] == expected_links
    for link in page.expect.get("Expect-not-links", []):
        assert link not in result.links
    _assert_well_formed(result)


def _assert_well_formed(result: ExtractedPage) -> None:
    """What every extracted page guarantees, whatever the site."""
    assert len(result.text) >= ExtractParams().min_text_chars
    assert "](http" not in result.text  # no Markdown link syntax leaks into text
    assert result.text == result.text.strip()
    assert all(link.startswith(("http://", "https://")) for link in result.links)
    assert all("#" not in link for link in result.links)
    assert len(set(result.links)) == len(result.links)
    assert result.published_at is None or result.published_at.tzinfo is UTC


def _article(paragraphs: list[str], head: str = "", title: str = "Story") -> bytes:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!DOCTYPE html><html><head>{head}<title>{title}</title></head><body>"
        f"<nav><a href='/'>Home</a></nav><article><h1>{title}</h1>{body}</article>"
        "<footer>Contact us</footer></body></html>"
    ).encode()


PARAGRAPH = (
    "The lab said the new model was trained on a mix of licensed and public data, and that "
    "it would publish a system card describing its safety evaluations before a wider release."
)


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"", None, "empty body"),
        (b"   \n\t ", "text/html", "empty body"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>", None, "a PDF document"),
        (b"%PDF-1.7\n1 0 obj", "application/pdf", "content type application/pdf"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20, "image/png", "content type image/png"),
        (bytes(range(256)) * 40, None, "binary content"),
        (b"\x00" * 5000, "text/html", "binary content"),
    ],
    ids=["empty", "whitespace", "pdf-sniffed", "pdf-typed", "png", "binary", "nul-bytes"],
)
def test_bad_bodies_give_none_with_a_warning(
    body: bytes, content_type: str | None, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = "https://example.com/bad-page"
    with caplog.at_level(logging.WARNING, logger="pipeline.extract"):
        assert extract(body, url, content_type) is None
    messages = [r.getMessage() for r in caplog.records if r.name == "pipeline.extract"]
    assert any(url in m and reason in m for m in messages), messages


@pytest.mark.parametrize(
    "body",
    [
        b"<html",
        b"<<<>>>&&&;;;",
        b"<html><body>" + b"<div>" * 3000 + b"deep" + b"</div>" * 3000 + b"</body></html>",
        b"<?xml version='1.0' encoding='utf-8'?><html><body><p>x</p></body></html>",
        b"<html><body><p>" + "é".encode("utf-16-le") * 400 + b"</p></body></html>",
        b"\xff\xfe" + "<html><body><p>utf-16 page</p></body></html>".encode("utf-16-le"),
        _article([PARAGRAPH] * 3).replace(b"<p>", b"<p><a href='http://[::1'>x</a>", 1),
    ],
    ids=[
        "truncated",
        "symbols",
        "deep-nesting",
        "xml-declaration",
        "utf16-no-bom",
        "utf16",
        "bad-href",
    ],
)
def test_junk_never_raises(body: bytes) -> None:
    result = extract(body, "https://example.com/junk")
    assert result is None or isinstance(result, ExtractedPage)


def test_oversized_body_is_skipped(caplog: pytest.LogCaptureFixture) -> None:
    body = _article([f"Paragraph {i}. {PARAGRAPH}" for i in range(40)])
    small = ExtractParams(max_html_bytes=len(body) - 1)
    with caplog.at_level(logging.WARNING, logger="pipeline.extract"):
        assert extract(body, "https://example.com/huge", params=small) is None
    assert "exceeds" in caplog.text
    assert extract(body, "https://example.com/huge") is not None


def test_long_text_is_truncated_at_a_line_end() -> None:
    paragraphs = [f"Paragraph {i}. {PARAGRAPH}" for i in range(200)]
    result = extract(
        _article(paragraphs), "https://example.com/long", params=ExtractParams(max_text_chars=2000)
    )
    assert result is not None
    assert 1000 < len(result.text) <= 2000
    assert result.text.endswith(PARAGRAPH)


@pytest.mark.parametrize(
    ("encoding", "content_type", "meta"),
    [
        ("windows-1251", "text/html; charset=windows-1251", ""),
        ("windows-1251", "text/html", '<meta charset="windows-1251">'),
        ("koi8-r", "text/html; charset=KOI8-R", '<meta charset="windows-1251">'),
        (
            "iso-8859-7",
            None,
            '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-7">',
        ),
    ],
    ids=["header", "meta", "header-beats-meta", "http-equiv"],
)
def test_declared_charset_is_honoured(encoding: str, content_type: str | None, meta: str) -> None:
    words = {
        "windows-1251": "Новая языковая модель обучена на открытых данных",
        "koi8-r": "Новая языковая модель обучена на открытых данных",
        "iso-8859-7": "Το νέο γλωσσικό μοντέλο εκπαιδεύτηκε σε ανοιχτά δεδομένα",
    }[encoding]
    paragraphs = [f"{words}, {i}. {words}. {words}." for i in range(4)]
    html = _article(paragraphs, head=meta).decode()
    result = extract(html.encode(encoding), "https://example.com/charset", content_type)
    assert result is not None
    assert words in result.text


def test_mostly_utf8_page_with_a_stray_byte_stays_utf8() -> None:
    sentence = "Le modèle « GPT-4o » d’OpenAI arrive en Europe, annonce l’entreprise lundi."
    paragraphs = [f"{sentence} {i}" for i in range(6)]
    body = _article(paragraphs).replace(b"</p>", b"\x92</p>", 1)
    result = extract(body, "https://example.com/fr")
    assert result is not None
    assert sentence in result.text


def test_relative_links_resolve_against_the_page_and_base() -> None:
    paragraphs = [
        f"{PARAGRAPH} See <a href='notes/method.html'>the method</a>.",
        f"{PARAGRAPH} Code on <a href='//github.com/example/repo'>GitHub</a>.",
        f"{PARAGRAPH} Data in <a href='/data/set.csv'>the data set</a>.",
    ]
    page = extract(_article(paragraphs), "https://example.com/2024/story")
    assert page is not None
    assert page.links == (
        "https://example.com/2024/notes/method.html",
        "https://github.com/example/repo",
        "https://example.com/data/set.csv",
    )
    with_base = _article(paragraphs, head="<base href='https://mirror.example.org/a/'>")
    page = extract(with_base, "https://example.com/2024/story")
    assert page is not None
    assert page.links == (
        "https://mirror.example.org/a/notes/method.html",
        "https://github.com/example/repo",
        "https://mirror.example.org/data/set.csv",
    )


def test_boilerplate_patterns_only_touch_short_lines() -> None:
    long_read_more = (
        "Read more widely than the press release and a different picture emerges: the "
        "benchmark was run by the company itself, on a test set it built, with prompts it chose."
    )
    body = _article(
        [PARAGRAPH, "Advertisement", long_read_more, "Read more: Another story", PARAGRAPH]
    )
    result = extract(body, "https://example.com/story")
    assert result is not None
    assert long_read_more in result.text
    assert "Advertisement" not in result.text
    assert "Another story" not in result.text


def test_article_about_cookie_banners_is_not_a_consent_wall() -> None:
    paragraphs = [
        "France's data protection regulator fined the search company 150 million euros on "
        "Thursday over the way its websites ask visitors to agree to tracking.",
        "The regulator found that the banner offered an Accept all button on the first screen, "
        "while refusing required several clicks through menus, which it said nudged people "
        "into agreeing.",
        "Under the rules, declining must be as easy as agreeing, and many sites have since "
        "added a Reject all button next to the other one.",
        "The company said it would change its design within three months and that it "
        "disagreed with parts of the decision, which it is considering appealing.",
        "Analysts said the size of the fine showed that European regulators were prepared to "
        "use their powers against the largest technology groups, which have been accused of "
        "designing interfaces that steer users.",
        "Smaller publishers, who depend on targeted advertising for most of their revenue, "
        "warned that simpler refusal could cut their income sharply.",
    ]
    result = extract(_article(paragraphs), "https://example.com/banner-fine")
    assert result is not None
    assert "Reject all button" in result.text


def test_extract_runs_in_a_process_pool() -> None:
    # the orchestrator ships pages to worker processes: arguments and result must pickle
    page = load_page(PAGES_DIR / "deepseek-v2-arxiv-github.html")
    in_process = run(page)
    assert in_process is not None
    assert pickle.loads(pickle.dumps(in_process)) == in_process
    params = ExtractParams(max_text_chars=50_000)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        remote = pool.submit(extract, page.body, page.url, page.content_type, params).result(
            timeout=60
        )
    assert remote == in_process
