"""The digest as an email: HTML with inlined CSS plus a plain-text alternative.

Mail clients ignore or strip ``<style>`` blocks and most layout CSS, so the
HTML is a 600 px table layout whose CSS css-inline copies onto each element;
only the phone-width media query stays in a ``<style>`` block (clients that
honour it get the narrow layout, the rest get 600 px). The plain-text part
carries the same content and the same ``[n]`` citations with the numbered
source list, for clients and readers that prefer text.

Citation marks link to the cited articles (an email has no story page to jump
within); headlines link to the story pages when the site has a ``base_url``.
Every header value is one line of plain text, so a feed title containing CR/LF
and "Bcc:" stays inside the Subject. ``List-Unsubscribe`` is always set when
there is a sender or an unsubscribe URL, with ``List-Unsubscribe-Post`` (RFC
8058 one-click) when that URL is https.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

import css_inline

from ..digest import groups
from ..mail import MailParams
from ..models import Digest, RankedStory
from ..sanitize import plain_text, safe_url
from .dates import edition_label, long_date
from .env import environment
from .files import write_atomic
from .paths import day_path, source_links, story_path
from .readable import published
from .site import SiteParams

_WIDTH = 76
_INLINER = css_inline.CSSInliner(load_remote_stylesheets=False, keep_at_rules=False)


def build_message(
    digest: Digest, params: MailParams, site: SiteParams | None = None
) -> EmailMessage:
    """The email for ``digest``: headers, plain text and HTML alternatives."""
    site = site or SiteParams()
    message = EmailMessage()
    message["Subject"] = subject(digest, site)
    if params.sender:
        message["From"] = params.sender
    if params.recipients:
        message["To"] = ", ".join(params.recipients)
    domain = parseaddr(params.sender)[1].rpartition("@")[2] or "localhost"
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = make_msgid(f"digest.{digest.day.isoformat()}", domain=domain)
    unsubscribe = _unsubscribe(params)
    if unsubscribe:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        if unsubscribe.startswith("https:"):
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text(digest, site, unsubscribe))
    message.add_alternative(html(digest, site, unsubscribe), subtype="html")
    return message


def subject(digest: Digest, site: SiteParams) -> str:
    """``AI news digest, Thursday 19 December 2024: <top headline>`` on one line."""
    line = f"{site.title}, {long_date(digest.day)}"
    if digest.stories:
        line += f": {digest.stories[0].headline}"
    return plain_text(line)


def html(digest: Digest, site: SiteParams, unsubscribe: str | None = None) -> str:
    """The HTML part, CSS inlined."""
    digest = published(digest)
    web = site.absolute(day_path(digest.day))

    def story_link(story: RankedStory) -> str | None:
        page = site.absolute(story_path(story))
        return page or next(iter(source_links(story).values()), None)

    top = digest.stories[0].headline if digest.stories else ""
    document = (
        environment()
        .get_template("email.html")
        .render(
            site=site,
            digest=digest,
            groups=groups(digest),
            subject=subject(digest, site),
            preheader=plain_text(top),
            web=web,
            feed=site.absolute("feed.xml"),
            archive=site.absolute("archive.html"),
            unsubscribe=unsubscribe,
            story_link=story_link,
            source_urls=source_links,
        )
    )
    inlined: str = _INLINER.inline(document)
    return inlined


def text(digest: Digest, site: SiteParams, unsubscribe: str | None = None) -> str:
    """The plain-text part: the same stories, citations and numbered sources."""
    digest = published(digest)
    count = len(digest.stories)
    lines = [
        plain_text(site.title).upper(),
        f"{long_date(digest.day)} · {count} stor{'y' if count == 1 else 'ies'}",
    ]
    web = site.absolute(day_path(digest.day))
    if web:
        lines.append(f"Read on the web: {web}")
    number = 0
    for group in groups(digest):
        title = plain_text(group.title).upper()
        lines += ["", "", title, "=" * len(title)]
        for story in group.stories:
            number += 1
            lines += ["", *_story_text(number, story)]
    if not digest.stories:
        lines += ["", "No stories met the bar today."]
    lines += ["", "-- "]
    lines.append(_wrap(plain_text(site.description), ""))
    if unsubscribe:
        lines.append(f"Unsubscribe: {unsubscribe}")
    return "\n".join(lines) + "\n"


def write_eml(message: EmailMessage, path: Path) -> Path:
    """Write the message as an ``.eml`` file (for ``digest send --preview``), atomically."""
    write_atomic(Path(path), message.as_bytes())
    return Path(path)


def _story_text(number: int, story: RankedStory) -> list[str]:
    indent = " " * (len(str(number)) + 2)
    sources = story.summary.sources
    outlets = " · ".join(plain_text(c.outlet) for c in sources)
    noun = "source" if len(sources) == 1 else "sources"
    lines = [_wrap(plain_text(story.headline), indent, f"{number}. ")]
    if label := edition_label(story):
        lines.append(f"{indent}{label}")
    lines.append(_wrap(f"{len(sources)} {noun}: {outlets}", indent))
    if story.whats_new:
        news = " ".join(_marked(s.text, s.citations) for s in story.whats_new)
        lines += ["", _wrap(f"What's new: {news}", indent)]
    if story.summary.lead:
        lead = " ".join(_marked(s.text, s.citations) for s in story.summary.lead)
        lines += ["", _wrap(lead, indent)]
    for label, points in story.summary.grouped():
        lines.append("")
        if label:
            lines.append(f"{indent}{label}:")
        lines += [_wrap(_marked(s.text, s.citations), indent + "  ", indent + "- ") for s in points]
    lines += ["", f"{indent}Sources:"]
    for citation in sources:
        label = f"[{citation.number}] "
        title = plain_text(citation.title) or "(untitled)"
        if citation.number in story.new_sources:
            title += " (new)"
        lines.append(
            _wrap(
                f"{plain_text(citation.outlet)}: {title}", indent + " " * len(label), indent + label
            )
        )
        url = safe_url(citation.url)
        lines.append(f"{indent}{' ' * len(label)}{url or '(link withheld: not a web address)'}")
    return lines


def _marked(sentence: str, citations: tuple[int, ...]) -> str:
    return f"{plain_text(sentence)} {''.join(f'[{n}]' for n in citations)}".rstrip()


def _wrap(body: str, indent: str, first: str | None = None) -> str:
    return textwrap.fill(
        body,
        width=_WIDTH,
        initial_indent=first if first is not None else indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _unsubscribe(params: MailParams) -> str | None:
    if params.unsubscribe:
        return params.unsubscribe
    address = parseaddr(params.sender)[1]
    return f"mailto:{address}?subject=unsubscribe" if "@" in address else None
