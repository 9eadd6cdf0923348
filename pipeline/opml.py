"""OPML import and export: moving a feed list between this digest and any feed reader.

Feed readers (Feedly, Inoreader, NetNewsWire, Miniflux, …) all speak OPML: an
``<outline>`` per feed with ``xmlUrl``, nested inside folder outlines. Import
turns folder names into tags; export groups feeds into folders by their first
tag and keeps every tag in the OPML 2.0 ``category`` attribute, so a round trip
loses nothing a reader can hold. ``append_sources`` adds imported feeds to the
end of a sources file as new YAML entries, without rewriting (and so without
losing) the comments a person wrote there.

OPML files come from elsewhere, so parsing is defensive: a DOCTYPE is refused
outright (no entity can then be declared, which rules out billion-laughs and
external-entity tricks), and every error names the file and line.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from xml.parsers import expat

import yaml

from .config import load_sources
from .errors import SourcesFileError
from .models import Source

LOGGER = logging.getLogger(__name__)

__all__ = ["append_sources", "export", "import_"]


# --- import ---------------------------------------------------------------------------------


@dataclass(slots=True)
class _Element:
    """One parsed XML element: just what OPML needs, plus the line it started on."""

    tag: str
    attrs: dict[str, str]
    line: int
    children: list[_Element] = field(default_factory=list)


class _Refused(Exception):
    """Raised inside expat callbacks to stop at a construct we do not accept."""


def import_(path: str | Path) -> list[Source]:
    """Read the feeds of an OPML 1.0/2.0 file as sources.

    Every outline with an ``xmlUrl`` is a feed; outlines without one are folders
    (their names become the tags of the feeds inside) or are skipped. A feed
    listed in several folders is returned once, with the tags of all of them.
    Imported feeds get the default weight; edit the sources file to rank them.
    """
    path_str = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise SourcesFileError(path_str, None, "file not found") from None
    except OSError as exc:
        raise SourcesFileError(path_str, None, f"cannot read: {exc}") from None
    root = _parse(path_str, data)
    if root.tag.lower() != "opml":
        raise SourcesFileError(path_str, root.line, f"not an OPML file: root is <{root.tag}>")
    body = next((c for c in root.children if c.tag.lower() == "body"), None)
    if body is None:
        raise SourcesFileError(path_str, root.line, "OPML file has no <body>")
    found: dict[str, Source] = {}
    _collect(path_str, body.children, (), found)
    return list(found.values())


def _parse(path: str, data: bytes) -> _Element:
    """Parse with expat, refusing any DOCTYPE; errors carry the line number."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_Element] = []
    roots: list[_Element] = []

    def refuse_doctype(*_: Any) -> None:
        raise _Refused("DOCTYPE declarations are not allowed in OPML (entity expansion risk)")

    def start(tag: str, attrs: dict[str, str]) -> None:
        element = _Element(tag, attrs, parser.CurrentLineNumber)
        (stack[-1].children if stack else roots).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop()

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(data, True)
    except _Refused as exc:
        raise SourcesFileError(path, parser.CurrentLineNumber, str(exc)) from None
    except expat.ExpatError as exc:
        message = f"invalid XML: {expat.ErrorString(exc.code)}"
        raise SourcesFileError(path, exc.lineno, message) from None
    return roots[0]


def _collect(
    path: str, outlines: list[_Element], folders: tuple[str, ...], found: dict[str, Source]
) -> None:
    """Walk outlines depth-first, turning feeds into sources under their folders' tags."""
    for outline in outlines:
        if outline.tag.lower() != "outline":
            continue
        attrs = {k.lower(): v.strip() for k, v in outline.attrs.items()}
        label = " ".join((attrs.get("text") or attrs.get("title") or "").split())
        feed_url = attrs.get("xmlurl", "")
        if not feed_url:
            tag = _tag(label)
            _collect(path, outline.children, folders + (tag,) if tag else folders, found)
            continue
        if not _is_http(feed_url):
            LOGGER.warning(
                "%s:%d: skipping feed with a non-http URL %r", path, outline.line, feed_url
            )
            continue
        categories = (_tag(c.rsplit("/", 1)[-1]) for c in attrs.get("category", "").split(","))
        tags = tuple(dict.fromkeys(t for t in (*folders, *categories) if t))
        key = _url_key(feed_url)
        if key in found:
            old = found[key]
            found[key] = replace(old, tags=tuple(dict.fromkeys(old.tags + tags)))
            continue
        site_url = attrs.get("htmlurl", "")
        found[key] = Source(
            name=label or urlsplit(feed_url).hostname or feed_url,
            url=feed_url,
            site_url=site_url if _is_http(site_url) else "",
            tags=tags,
        )


def _tag(label: str) -> str:
    """A folder or category name as a tag in the sources file's style: lower-case-hyphenated."""
    return "-".join(label.lower().split())


def _is_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
        spaced = any(c.isspace() for c in url)
        return parts.scheme in {"http", "https"} and bool(parts.hostname) and not spaced
    except ValueError:
        return False


def _url_key(url: str) -> str:
    """The duplicate test of ``load_sources``: the same feed URL up to case and a final slash."""
    return url.rstrip("/").lower()


# --- export ---------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def export(
    sources: Sequence[Source],
    *,
    title: str = "AI news digest sources",
    now: datetime | None = None,
) -> str:
    """Write sources as an OPML 2.0 document, grouped into folders by their first tag.

    Feeds without tags sit at the top level. All tags travel in ``category``, so
    importing the result gives back the same feeds with the same tags.
    """
    created = now or datetime.now(UTC)
    opml = ET.Element("opml", version="2.0")
    head = ET.SubElement(opml, "head")
    ET.SubElement(head, "title").text = _clean(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(created)
    body = ET.SubElement(opml, "body")
    folders: dict[str, ET.Element] = {}
    for source in sources:
        parent = body
        if source.tags:
            folder = source.tags[0]
            if folder not in folders:
                label = _clean(folder)
                folders[folder] = ET.SubElement(body, "outline", text=label, title=label)
            parent = folders[folder]
        attrs = {
            "type": "rss",
            "text": _clean(source.name),
            "title": _clean(source.name),
            "xmlUrl": _clean(source.url),
        }
        if source.site_url:
            attrs["htmlUrl"] = _clean(source.site_url)
        if source.tags:
            attrs["category"] = ",".join(_clean(t) for t in source.tags)
        ET.SubElement(parent, "outline", attrs)
    ET.indent(opml)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(opml, "unicode") + "\n"


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


# --- appending to a sources file ------------------------------------------------------------


def append_sources(
    sources_path: Path, new: Sequence[Source], *, comment: str | None = None
) -> list[Source]:
    """Append the feeds not yet in the sources file, as YAML entries at its end.

    Existing text, comments included, is kept byte for byte: new entries are
    added below it in the same indentation (and blank-line spacing) as the
    existing list. A feed already listed (same URL up to case and a final
    slash) is skipped; a name already taken gets its host added in brackets.
    The result is checked with ``load_sources`` before it replaces the file,
    so a failure leaves the file as it was. Returns the sources appended.
    """
    path = Path(sources_path)
    text = path.read_text(encoding="utf-8") if path.exists() else "sources: []\n"
    existing = load_sources(path) if path.exists() else []
    urls = {_url_key(s.url) for s in existing}
    names = {s.name.casefold() for s in existing}
    added: list[Source] = []
    for source in new:
        if _url_key(source.url) in urls:
            continue
        urls.add(_url_key(source.url))
        name = source.name
        if name.casefold() in names:
            name = f"{name} ({urlsplit(source.url).hostname})"
        names.add(name.casefold())
        added.append(replace(source, name=name))
    if not added:
        return []
    text, dash, key, spaced = _list_style(str(path), text)
    if not text.endswith("\n"):
        text += "\n"
    chunks = [f"\n{dash}# {' '.join(comment.split())}\n"] if comment else []
    for i, source in enumerate(added):
        blank = spaced and not (i == 0 and comment)  # a comment heads the first entry directly
        chunks.append(("\n" if blank else "") + _entry(source, dash, key))
    _replace_checked(path, text + "".join(chunks))
    return load_sources(path)[-len(added) :]


def _list_style(path: str, text: str) -> tuple[str, str, str, bool]:
    """Indentation of the ``sources:`` list's dashes and keys, and whether entries are spaced.

    An empty flow list (``sources: []``) is turned into a block list header so that
    entries can follow it; any other flow list cannot be appended to in place.
    """
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    listing = next(v for k, v in root.value if k.value == "sources") if root else None
    if isinstance(listing, yaml.SequenceNode) and listing.value and not listing.flow_style:
        lines = text.splitlines()
        first = listing.value[0].start_mark
        dash_col = lines[first.line].rfind("-", 0, first.column)
        if dash_col < 0:  # "-" alone on the line above the entry's first key
            dash_col = max(first.column - 2, 0)
        spaced = any(not lines[i.start_mark.line - 1].strip() for i in listing.value[1:])
        return text, " " * dash_col, " " * first.column, spaced
    if isinstance(listing, yaml.SequenceNode) and not listing.value:
        start, end = listing.start_mark.index, listing.end_mark.index
        return text[:start].rstrip(" ") + text[end:], "  ", "    ", True
    line = listing.start_mark.line + 1 if listing else 1
    raise SourcesFileError(path, line, "can only append to a block list ('- name: …' entries)")


def _entry(source: Source, dash: str, key: str) -> str:
    """One source as a YAML block mapping, in the key order of the curated file."""
    fields: list[tuple[str, Any]] = [("name", source.name), ("url", source.url)]
    if source.site_url:
        fields.append(("site_url", source.site_url))
    fields.append(("weight", source.weight))
    if source.tags:
        fields.append(("tags", list(source.tags)))
    if source.interval is not None:
        fields.append(("interval", source.interval))
    if not source.enabled:
        fields.append(("enabled", False))
    out = []
    for i, (name, value) in enumerate(fields):
        indent = dash + "- " + " " * (len(key) - len(dash) - 2) if i == 0 else key
        out.append(f"{indent}{name}: {_scalar(value)}\n")
    return "".join(out)


def _scalar(value: Any) -> str:
    """A value in YAML flow style on one line, quoted only where YAML needs it.

    Text with line breaks or control characters is double-quoted, where YAML
    escapes them, because any other style would spill onto further lines.
    """
    style = '"' if isinstance(value, str) and not value.isprintable() else None
    dumped: str = yaml.safe_dump(
        value, default_flow_style=True, default_style=style, allow_unicode=True, width=1 << 30
    )
    return dumped.removesuffix("\n...\n").rstrip("\n")


def _replace_checked(path: Path, text: str) -> None:
    """Write next to the file, validate the copy, then swap it in (atomic on POSIX)."""
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            load_sources(tmp)
        except SourcesFileError as exc:  # name the real file, not the temporary copy
            message = f"appending would make the file invalid: {exc.message}"
            raise SourcesFileError(str(path), exc.line, message) from None
        if path.exists():
            shutil.copymode(path, tmp)
        else:
            tmp.chmod(0o644)  # mkstemp's 0600 would hide a new sources file from the daemon
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
