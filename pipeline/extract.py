"""Full text and metadata of article pages, with trafilatura.

A feed gives a title and a teaser; clustering and summaries need the article's
own text, its author and date, and the papers and repositories it links to.
``extract`` turns a fetched page into an ``ExtractedPage`` or, for pages with
nothing to extract (video pages, consent walls, PDFs, junk), into ``None``
after a warning naming the URL: bad pages are data, not exceptions.

It is a plain top-level function over picklable values because the
orchestrator runs it in a ``ProcessPoolExecutor``: parsing and extraction are
CPU-bound, about 25-55 ms of CPU for a 250 KB news page and up to ~100 ms for
a page without an article (trafilatura then tries its fallback extractors).

What we add on top of trafilatura, and why:

- decoding: trafilatura ignores the declared charset and guesses; we follow
  the HTTP header, then the ``<meta>`` tag, and guess only when both fail,
  except that a body which is valid UTF-8 is read as UTF-8 whatever a Latin-1
  label says (the commonest mislabelling; real Latin-1 text is almost never
  valid UTF-8);
- links: made absolute before extraction (trafilatura resolves ``#anchor``
  against the site root), then taken from its result tree, so the text itself
  carries no Markdown link syntax;
- the time of day: htmldate keeps it from meta tags and JSON-LD but not from
  ``<time datetime>``, which many sites use alone;
- a short, visible list of boilerplate lines trafilatura sometimes keeps, and
  a consent-wall check, since a wall of cookie text is not an article.
"""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urljoin

import charset_normalizer
from lxml import etree
from lxml.html import HtmlElement
from trafilatura import bare_extraction
from trafilatura.settings import Document
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from pipeline.models import ExtractedPage
from pipeline.urls import canonicalize

__all__ = ["ExtractParams", "extract"]

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ExtractParams:
    """Tunable limits of extraction; the defaults suit news articles."""

    max_html_bytes: int = 5_000_000  # bigger bodies are data dumps, not articles
    max_text_chars: int = 100_000  # a book-length page is truncated, not dropped
    min_text_chars: int = 200  # below this the "article" is a teaser or a caption
    favor_precision: bool = True  # less text, but no comments or related lists


# Whole lines or blocks that are page furniture, not article text. Only lines
# of up to _BOILERPLATE_MAX_LINE characters are tested, so a sentence of the
# article that happens to start with "Read more" is never removed.
_BOILERPLATE = tuple(
    re.compile(pattern, re.IGNORECASE)
    for pattern in (
        r"(story continues below )?advertisements?|sponsored( content)?",
        r".*\b(sign up|subscribe)\b.*\bnewsletters?\b.*",
        r"(subscribe|sign up)( now| today| for free| here)?( (to|for) .{0,60})?[.!]?",
        r"get (new|the latest|our) .{0,30}\b(by|via|in your|to your) (e-?mail|inbox)[.!]?",
        r"(read|see) (more|next|also)\b.*|also read\b.*|lire aussi\b.*",
        r"related( articles?| stories| coverage)?\s*:.*|continue reading.*|click here to .*",
        r"(image|photo|picture|video|illustration)s?( credits?| courtesy| source)?\s*:.*",
        r"(credits?|source)\s*:\s*(getty|reuters|ap\b|afp|shutterstock|bloomberg).*",
        r"(share|tweet|email|print|copy link|pin it|share this( article| story| post)?):?",
        r"((share|post) (on|to|via) )?(facebook|twitter|x|linkedin|reddit|whatsapp|email|"
        r"flipboard|threads|bluesky|mastodon)([\s,|/·•]+(facebook|twitter|x|linkedin|"
        r"reddit|whatsapp|email|flipboard|threads|bluesky|mastodon))*",
        r"follow us on .*",
    )
)
_BOILERPLATE_MAX_LINE = 160
_BLOCK_TAGS = ("p", "head", "item", "quote")

# A consent wall: short, consent vocabulary everywhere, and at least two of the
# dialog's button labels. A short article about cookie banners can trip it; it
# then falls back to the feed summary, which is the lesser harm.
_CONSENT_TERMS = re.compile(
    r"\b(cookies?|consent|partners|personal data|privacy|personali[sz]ed|advertising|"
    r"accept all|reject all)\b",
    re.IGNORECASE,
)
_CONSENT_BUTTONS = re.compile(
    r"accept all|reject all|agree and continue|manage (privacy|cookie) (settings|preferences)",
    re.IGNORECASE,
)
_CONSENT_DENSITY = 0.06  # consent terms per word: walls reach 0.1, privacy news about 0.03
_CONSENT_MAX_CHARS = 3000

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "application/xml", "text/xml"})
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.-]+)""", re.I)
_HEADER_CHARSET = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_:.-]+)""", re.I)
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f\ufffd]")
_LANGUAGE = re.compile(r"^([a-zA-Z]{2,3})(?:[-_][a-zA-Z0-9]+)*$")
_HAS_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def extract(
    body: bytes,
    url: str,
    content_type: str | None = None,
    params: ExtractParams | None = None,
) -> ExtractedPage | None:
    """The main text and metadata of a fetched page, or None when it has none.

    ``content_type`` is the HTTP header value (its charset is honoured). Never
    raises: an empty, binary, oversized or text-less page, or one that trips a
    parser bug, is logged with its URL and gives None.
    """
    try:
        return _extract(body, url, content_type, params or ExtractParams())
    except _NoText as reason:
        LOGGER.warning("no text extracted from %s: %s", url, reason)
    except Exception:  # a library bug on one page must not kill a worker process
        LOGGER.warning("extraction crashed on %s", url, exc_info=True)
    return None


class _NoText(Exception):
    """Internal: the page has nothing to extract; the message says why."""


def _extract(
    body: bytes, url: str, content_type: str | None, params: ExtractParams
) -> ExtractedPage:
    """``extract`` without the safety net, so the steps read top to bottom."""
    _check_body(body, content_type, params)
    html = _decode(body, content_type)
    if len(_CONTROL_CHARS.findall(html[:4096])) > 40:
        raise _NoText("binary content")
    tree = load_html(html)
    if tree is None:
        raise _NoText("not parseable as HTML")
    _absolutize_links(tree, url)
    document = bare_extraction(
        tree,
        url=url,
        with_metadata=True,
        include_links=True,
        include_comments=False,
        include_images=False,
        include_tables=True,
        favor_precision=params.favor_precision,
        date_extraction_params=_date_params(),
    )
    if not isinstance(document, Document) or document.body is None:
        raise _NoText("no main content found")
    title = (document.title or "").strip()
    _drop_boilerplate_blocks(document.body, title)
    links = _links(document.body, url)
    etree.strip_tags(document.body, "ref")
    text = _clean_text(xmltotxt(document.body, include_formatting=False), params.max_text_chars)
    if len(text) < params.min_text_chars:
        raise _NoText(f"only {len(text)} characters of text")
    if _is_consent_wall(text):
        raise _NoText("a cookie consent wall")
    return ExtractedPage(
        text=text,
        title=title,
        author=(document.author or "").strip(),
        published_at=_published_at(document.date, tree),
        language=_language(tree),
        canonical_url=_canonical_href(tree, url),
        links=links,
    )


def _check_body(body: bytes, content_type: str | None, params: ExtractParams) -> None:
    """Refuse bodies not worth parsing: empty, oversized, not HTML, a PDF."""
    if not body.strip():
        raise _NoText("empty body")
    if len(body) > params.max_html_bytes:
        raise _NoText(f"body of {len(body)} bytes exceeds {params.max_html_bytes}")
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type and media_type not in _HTML_TYPES:
        raise _NoText(f"content type {media_type}")
    if body.lstrip()[:5] == b"%PDF-":
        raise _NoText("a PDF document")


def _decode(body: bytes, content_type: str | None) -> str:
    """Text of the body: BOM, valid UTF-8, header charset, meta charset, nearly UTF-8, a guess."""
    for bom, bom_encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                              (codecs.BOM_UTF16_BE, "utf-16")):  # fmt: skip
        if body.startswith(bom):
            return body.decode(bom_encoding, errors="replace")
    declared = [
        _codec(_HEADER_CHARSET.search(content_type or "")),
        _codec(_META_CHARSET.search(body[:8192])),
    ]
    if not any(d and d.startswith(("utf-16", "utf-32")) for d in declared):
        try:
            return body.decode("utf-8")
        except UnicodeDecodeError:
            pass
    for encoding in declared:
        if encoding:
            try:
                return body.decode(encoding)
            except (LookupError, UnicodeDecodeError):
                continue
    # no usable label: UTF-8 with a few broken bytes is still UTF-8 (legacy
    # encodings decoded as UTF-8 give almost nothing but errors), else guess
    lenient = body.decode("utf-8", errors="replace")
    sample = lenient[:65536]
    broken = sample.count("\ufffd")
    if sum(ord(char) > 0x7F for char in sample) - broken > 4 * broken:
        return lenient
    guess = charset_normalizer.from_bytes(body[:65536]).best()
    return body.decode(guess.encoding if guess else "cp1252", errors="replace")


def _codec(match: re.Match[Any] | None) -> str | None:
    """A declared charset as a Python codec name; None when absent or unknown.

    Browsers read "iso-8859-1" and "ascii" as windows-1252, a superset that also
    decodes the curly quotes such pages really contain.
    """
    if match is None:
        return None
    label = match[1].decode("ascii", "replace") if isinstance(match[1], bytes) else match[1]
    try:
        name = codecs.lookup(label.strip().lower()).name
    except LookupError:
        return None
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def _date_params() -> dict[str, Any]:
    """htmldate settings: original (not updated) date, with time, no free-text guessing.

    The extensive text search finds "March 2023" in any article that mentions
    it; a wrong date is worse than none, since the feed's date is the fallback.
    """
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    return {
        "original_date": True,
        "extensive_search": False,
        "deferred_url_extractor": True,  # a full timestamp beats the URL's bare date
        "outputformat": "%Y-%m-%dT%H:%M:%S%z",
        "max_date": tomorrow.strftime("%Y-%m-%d"),
    }


def _published_at(found: str | None, tree: HtmlElement) -> datetime | None:
    """htmldate's date as aware UTC, with the time of a same-day ``<time datetime>``.

    A date without a zone is taken as UTC, and a bare day as its UTC midnight.
    """
    date = _parse_iso(found or "")
    if date is None or found and found[10:] not in ("", "T00:00:00"):
        return date
    for element in tree.iter("time"):
        value = str(element.get("datetime") or "").strip()
        precise = _parse_iso(value) if _HAS_TIME.match(value) else None
        if precise is not None and value[:10] == date.date().isoformat():
            return precise
    return date


def _parse_iso(value: str) -> datetime | None:
    """An ISO 8601 timestamp as aware UTC (naive ones taken as UTC), or None."""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _language(tree: HtmlElement) -> str | None:
    """Primary language subtag the page declares (``lang``, Content-Language, og:locale)."""
    candidates = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    for meta in tree.iter("meta"):
        key = (meta.get("http-equiv") or meta.get("property") or meta.get("name") or "").lower()
        if key in ("content-language", "og:locale", "language"):
            candidates.append(meta.get("content"))
    for candidate in candidates:
        match = _LANGUAGE.match(str(candidate or "").split(",")[0].strip())
        if match:
            return match[1].lower()
    return None


def _canonical_href(tree: HtmlElement, url: str) -> str | None:
    """The ``<link rel="canonical">`` href, made absolute; ``urls.preferred`` judges it."""
    for link in tree.iter("link"):
        rel = str(link.get("rel") or "").lower().split()
        href = str(link.get("href") or "").strip()
        if "canonical" in rel and href:
            try:
                return urljoin(url, href)
            except ValueError:
                return None
    return None


def _absolutize_links(tree: HtmlElement, url: str) -> None:
    """Resolve the ``<a href>`` that trafilatura would resolve wrongly.

    It joins every relative link to the site root, so ``#section`` and
    ``../other-post`` come out wrong, and it gives ``//host/x`` the scheme
    http. Root-relative and absolute links (most of a page's hundreds of
    navigation links) are left to it, which keeps this step cheap, unless a
    ``<base href>`` changes what they mean.
    """
    base = url
    for element in tree.iter("base"):
        if element.get("href"):
            base = urljoin(url, str(element.get("href")).strip())
            break
    for anchor in tree.iter("a"):
        href = str(anchor.get("href") or "").strip()
        if not href or href.startswith(("http://", "https://")):
            continue
        if base == url and href.startswith("/") and not href.startswith("//"):
            continue
        try:
            anchor.set("href", urljoin(base, href))
        except ValueError:  # e.g. "http://[::1": trafilatura drops it later
            continue


def _drop_boilerplate_blocks(body: etree._Element, title: str) -> None:
    """Remove furniture blocks (and their links) and a heading repeating the title."""
    blocks = [el for el in body.iter(*_BLOCK_TAGS) if el.getparent() is not None]
    for index, block in enumerate(blocks):
        text = " ".join("".join(block.itertext()).split())
        if _is_boilerplate(text) or (index == 0 and block.tag == "head" and text == title):
            _remove_keeping_tail(block)


def _remove_keeping_tail(element: etree._Element) -> None:
    """Detach ``element`` without losing the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail and element.tail.strip():
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + element.tail
        else:
            parent.text = (parent.text or "") + element.tail
    parent.remove(element)


def _links(body: etree._Element, url: str) -> tuple[str, ...]:
    """Outbound http(s) links of the main text, canonicalized, deduplicated, in order."""
    page = canonicalize(url)
    seen: dict[str, None] = {}
    for ref in body.iter("ref"):
        target = canonicalize(str(ref.get("target") or ""), base=url)
        if target.startswith(("http://", "https://")) and target != page:
            seen.setdefault(target, None)
    return tuple(seen)


def _clean_text(text: str, max_chars: int) -> str:
    """Drop boilerplate lines, squeeze blank lines, cut at a line end past ``max_chars``."""
    kept = [line for line in text.splitlines() if not _is_boilerplate(line.strip())]
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    if len(cleaned) > max_chars:
        cut = cleaned.rfind("\n", 0, max_chars)
        cleaned = cleaned[: cut if cut > max_chars // 2 else max_chars].rstrip()
    return cleaned


def _is_boilerplate(line: str) -> bool:
    """Whether a short line matches one of the furniture patterns."""
    if len(line) > _BOILERPLATE_MAX_LINE:
        return False
    return any(pattern.fullmatch(line) for pattern in _BOILERPLATE)


def _is_consent_wall(text: str) -> bool:
    """Whether the "article" is a cookie consent dialog served instead of the page."""
    if len(text) > _CONSENT_MAX_CHARS:
        return False
    buttons = {match.group(0).lower() for match in _CONSENT_BUTTONS.finditer(text)}
    terms = len(_CONSENT_TERMS.findall(text))
    return len(buttons) >= 2 and terms >= _CONSENT_DENSITY * len(text.split())
