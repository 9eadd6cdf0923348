"""The one place text and HTML from feeds become safe to publish.

Everything a feed gives us (titles, outlet names, summary sentences, URLs) is
untrusted. Templates escape text (Jinja2 autoescape), so text is never
markup; what remains dangerous is what escaping cannot fix:

- URLs: an escaped ``javascript:`` URL still runs when clicked, so every link
  target from a feed goes through ``safe_url``, which keeps only web and mail
  addresses.
- HTML we hand to other programs as HTML (the Atom feed's entry content, which
  feed readers render): ``clean_html`` passes it through nh3 with a small
  allowlist, so even a bug upstream cannot smuggle a script or an event
  handler into a reader's feed client.
- Control characters and line breaks: ``plain_text`` makes a one-line string
  that is valid in XML and cannot start a new email header or Markdown block.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import nh3
from markupsafe import Markup

# Web and mail addresses only: javascript:, data:, vbscript:, file: and friends never link.
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})

_TAGS = frozenset(
    {"a", "p", "ul", "ol", "li", "h2", "h3", "strong", "em", "sup", "span", "br", "time", "small"}
)
_ATTRIBUTES = {"a": {"href", "title"}, "time": {"datetime"}}
# C0/C1 controls except tab/newline/CR (handled as whitespace), plus the XML-forbidden
# non-characters; lxml and feedgen refuse them, and some mail clients choke on them.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_SPACE = re.compile(r"\s+")


def plain_text(text: str) -> str:
    """One line of text: control characters removed, every run of whitespace one space.

    CR and LF become spaces, so a title can never add a header to an email or
    a block to a Markdown file.
    """
    return _SPACE.sub(" ", _CONTROL.sub("", text)).strip()


def safe_url(url: str) -> str | None:
    """The URL if it is an absolute http(s) or mailto address, else None.

    Whitespace and control characters inside the scheme are a classic way past
    naive checks (``java\\tscript:``), so they are removed before the scheme
    is read, and a URL containing any is refused.
    """
    candidate = url.strip()
    if not candidate or _CONTROL.search(candidate) or any(c.isspace() for c in candidate):
        return None
    try:
        parts = urlsplit(candidate)
    except ValueError:
        return None
    if parts.scheme.lower() not in SAFE_SCHEMES:
        return None
    if parts.scheme.lower() != "mailto" and not parts.netloc:
        return None
    return candidate


def clean_html(html: str) -> Markup:
    """A sanitised HTML fragment: allowlisted tags, no scripts, handlers or unsafe URLs.

    ``script`` and ``style`` elements are dropped with their content; other
    unknown tags are dropped but keep their text.
    """
    cleaned = nh3.clean(
        _CONTROL.sub("", html),
        tags=set(_TAGS),
        attributes={tag: set(names) for tag, names in _ATTRIBUTES.items()},
        url_schemes=set(SAFE_SCHEMES),
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return Markup(cleaned)
