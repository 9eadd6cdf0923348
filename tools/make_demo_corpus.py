"""Generate the bundled demo corpus from the structured content in tools/demo_corpus_src/.

Why a generator: the demo corpus is ~70 article pages and 15 feeds in four
formats, and every later stage is judged on it. Writing the text once, as data,
and rendering it through one template per outlet keeps the prose editable, the
markup consistent with what each outlet "publishes", and the answer key in step
with the pages (it is derived from the same records, never typed by hand).

Usage (from the repository root):
    .venv/bin/python tools/make_demo_corpus.py           # write pipeline/demo/corpus/
    .venv/bin/python tools/make_demo_corpus.py --check   # also validate with feedparser + trafilatura
"""

from __future__ import annotations

import argparse
import hashlib
import html
import io
import json
import re
import shutil
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import jinja2
import yaml
from markupsafe import Markup

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "tools" / "demo_corpus_src"
OUT = ROOT / "pipeline" / "demo" / "corpus"
FIRST_DAY, LAST_DAY = "2024-12-16", "2024-12-19"
BASE = "http://127.0.0.1:8123"  # what --check substitutes for {base}


# --- the content model --------------------------------------------------------------------------


@dataclass
class Outlet:
    """One fictional publication: its feed settings and the knobs of its page template."""

    slug: str
    name: str
    format: str  # rss | atom | rdf
    tz: str  # "+01:00"
    weight: float
    tags: list[str]
    description: str
    skin: dict[str, Any]
    interval: int | None = None
    rss_zone: str | None = None  # "GMT", "PST", ... instead of a numeric offset
    title_suffix: str = ""
    full_content: bool = False
    html_summary: bool = False

    @property
    def zone(self) -> timezone:
        sign = -1 if self.tz.startswith("-") else 1
        hours, minutes = (int(x) for x in self.tz[1:].split(":"))
        return timezone(sign * timedelta(hours=hours, minutes=minutes))


@dataclass
class Item:
    """One article page (or, with ``links_to``, one feed entry pointing at another outlet's page)."""

    outlet: Outlet
    slug: str
    when: datetime
    title: str
    summary: str
    author: str = ""
    body: str = ""
    story: str | None = None
    kind: str = "news"  # news | paper | linkpost | video
    topic: str = "ai"
    section: str = ""
    dek: str = ""
    feed_title: str | None = None  # a feed's rough-edged spelling of the title
    link_variant: str = ""  # "" | amp | relative
    syndicated_from: str | None = None
    links_to: str | None = None  # path of another outlet's page this feed entry links to
    comments: list[list[str]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def path(self) -> str:
        if self.links_to:
            return self.links_to
        return f"/{self.outlet.slug}/{self.when:%Y/%m/%d}/{self.slug}.html"

    @property
    def url(self) -> str:
        return "{base}" + self.path

    @property
    def feed_link(self) -> str:
        if self.links_to:
            return self.url + "?utm_source=rss&utm_medium=feed"
        if self.link_variant == "amp":
            return self.url + "?amp=1"
        if self.link_variant == "relative":
            return self.path
        return self.url

    @property
    def headline_only(self) -> bool:
        return self.kind in {"linkpost", "video"}


def load() -> tuple[dict[str, Outlet], dict[str, dict[str, str]], list[Item]]:
    """Read outlets, stories and articles; syndicated copies are derived from their originals."""
    outlets = {o["slug"]: Outlet(**o) for o in _yaml("outlets.yaml")["outlets"]}
    stories: dict[str, dict[str, str]] = {}
    items: list[Item] = []
    pool = _yaml("comments.yaml")
    for path in sorted((SRC / "articles").glob("*.yaml")):
        doc = _yaml(path.relative_to(SRC))
        for key, story in (doc.get("stories") or {}).items():
            stories[key] = story
        for raw in doc["articles"]:
            raw = dict(raw)
            outlet = outlets[raw.pop("outlet")]
            when = datetime.strptime(raw.pop("date"), "%Y-%m-%d %H:%M").replace(tzinfo=outlet.zone)
            raw.setdefault("story", doc.get("story"))
            items.append(Item(outlet=outlet, when=when, **raw))
    by_path = {i.path: i for i in items}
    for item in items:
        if item.syndicated_from:
            _syndicate(item, by_path[item.syndicated_from])
        if not item.comments and item.kind == "news":
            item.comments = _pick_comments(item, pool)
    return outlets, stories, items


def _yaml(rel: str | Path) -> Any:
    return yaml.safe_load((SRC / rel).read_text(encoding="utf-8"))


def _syndicate(copy: Item, original: Item) -> None:
    """A syndicated copy: the wire text with the partner's small edits and a credit line."""
    body = original.body
    for old, new in copy.extra.get("edits", []):
        if old not in body:
            raise SystemExit(f"{copy.path}: edit target not in original: {old!r}")
        body = body.replace(old, new)
    credit = f"*This story originally appeared on {original.outlet.name}.*"
    copy.body = body.rstrip() + "\n\n" + credit
    copy.author = copy.author or original.author
    copy.story = original.story
    copy.summary = copy.summary or original.summary


def _pick_comments(item: Item, pool: dict[str, list[list[str]]]) -> list[list[str]]:
    """Two or three reader comments, chosen deterministically from the pool for the item's topic."""
    kind = item.extra.get("comment_pool") or ("offtopic" if item.topic == "off-topic" else "ai")
    choices = pool[kind]
    seed = int(hashlib.sha1(item.path.encode()).hexdigest(), 16)
    count = 2 + seed % 2
    start = seed % len(choices)
    return [choices[(start + 5 * k) % len(choices)] for k in range(count)]


# --- body markup --------------------------------------------------------------------------------

_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def inline(text: str) -> str:
    """Escape text, then turn [t](url), **b** and *i* into markup."""
    out = html.escape(text, quote=False)
    out = _LINK.sub(lambda m: f'<a href="{html.escape(m[2])}">{m[1]}</a>', out)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])", r"<em>\1</em>", out)


def plain(text: str) -> str:
    """The same text without markup, for feeds, meta tags and word counts."""
    text = _LINK.sub(lambda m: m[1], text)
    return re.sub(r"\*\*?(.+?)\*\*?", r"\1", text)


def blocks(body: str) -> list[tuple[str, str]]:
    """Split a body into (kind, text) blocks: p, h2, quote, img, list."""
    out: list[tuple[str, str]] = []
    for chunk in re.split(r"\n\s*\n", body.strip()):
        chunk = (
            " ".join(line.strip() for line in chunk.strip().splitlines())
            if not chunk.lstrip().startswith("- ")
            else chunk.strip()
        )
        if chunk.startswith("## "):
            out.append(("h2", chunk[3:]))
        elif chunk.startswith("> "):
            out.append(("quote", chunk[2:]))
        elif chunk.startswith("!img "):
            out.append(("img", chunk[5:]))
        elif chunk.startswith("- "):
            out.append(("list", chunk))
        else:
            out.append(("p", chunk))
    return out


def body_html(item: Item, *, ads: bool) -> str:
    """The article body; with ``ads`` the outlet's ad slots and newsletter box are interleaved."""
    skin = item.outlet.skin
    parts: list[str] = []
    paragraphs = 0
    for kind, text in blocks(item.body):
        if kind == "p":
            parts.append(f"<p>{inline(text)}</p>")
            paragraphs += 1
            if ads and paragraphs == skin.get("newsletter_after", 3):
                parts.append(_newsletter(skin))
            elif ads and paragraphs % skin.get("ad_every", 4) == 0:
                parts.append(_ad(skin))
        elif kind == "h2":
            parts.append(f"<h2>{inline(text)}</h2>")
        elif kind == "quote":
            tag = skin.get("pull_tag", "blockquote")
            parts.append(
                f'<{tag} class="{skin["prefix"]}-pullquote pull-quote"><p>{inline(text)}'
                f"</p></{tag}>"
            )
        elif kind == "list":
            lis = "".join(f"<li>{inline(x[2:].strip())}</li>" for x in text.splitlines())
            parts.append(f"<ul>{lis}</ul>")
        else:
            caption, _, credit = text.partition("|")
            name = hashlib.sha1(caption.encode()).hexdigest()[:10]
            parts.append(
                f'<figure class="{skin["prefix"]}-figure"><img src="/{item.outlet.slug}/media/'
                f'{name}.jpg" alt="{html.escape(caption.strip())}" width="1200" height="675" '
                f'loading="lazy"><figcaption>{inline(caption.strip())} <span class="credit">'
                f"{inline(credit.strip())}</span></figcaption></figure>"
            )
    return "\n".join(parts)


def _ad(skin: dict[str, Any]) -> str:
    return (
        f'<div class="ad-slot {skin["prefix"]}-ad" data-ad-unit="incontent" '
        'aria-hidden="true"><span class="ad-label">Advertisement</span></div>'
    )


def _newsletter(skin: dict[str, Any]) -> str:
    return (
        f'<aside class="newsletter-signup {skin["prefix"]}-newsletter"><h3>Sign up for our '
        f'newsletter</h3><p>{html.escape(skin["newsletter"])}</p><form action="/subscribe" '
        'method="post"><input type="email" name="email" placeholder="you@example.com">'
        "<button>Subscribe</button></form></aside>"
    )


# --- pages --------------------------------------------------------------------------------------

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(SRC / "templates"),
    autoescape=True,
    trim_blocks=True,
    keep_trailing_newline=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)


def visible_date(when: datetime, fmt: str) -> str:
    """Format a date the way the outlet prints it (portable %-d / %-I / am-pm variants)."""
    hour12 = when.hour % 12 or 12
    out = fmt.replace("{d}", str(when.day)).replace("{I}", str(hour12))
    out = out.replace("{ampm}", "a.m." if when.hour < 12 else "p.m.")
    out = out.replace("{AMPM}", "AM" if when.hour < 12 else "PM")
    return when.strftime(out)


def render_page(item: Item, siblings: list[Item]) -> str:
    """One article page through its outlet's template (or the template of its kind)."""
    o = item.outlet
    skin = o.skin
    modified = item.when + timedelta(minutes=int(item.extra.get("updated_after_min", 0)))
    image = f"{{base}}/{o.slug}/media/{item.slug}-social.jpg"
    description = plain(item.dek or item.summary)
    related = [
        {"title": s.title, "url": s.url}
        for s in siblings
        if s is not item and not s.links_to and s.kind != "linkpost"
    ][:3]
    related += [
        {"title": t, "url": f"/{o.slug}/archive/{i}"}
        for i, t in enumerate(skin.get("archive", [])[:2])
    ]
    template = {
        "paper": "paper.html.j2",
        "linkpost": "linkpost.html.j2",
        "video": "video.html.j2",
    }.get(item.kind, f"{o.slug}.html.j2")
    return _ENV.get_template(template).render(
        item=item,
        o=o,
        url=item.url,
        description=description,
        image=image,
        section=item.section or skin.get("section", "Technology"),
        published_iso=item.when.isoformat(),
        modified_iso=modified.isoformat(),
        visible_date=visible_date(item.when, skin["date_fmt"]),
        visible_date_short=visible_date(item.when, "%b {d}, %Y"),
        body=Markup(body_html(item, ads=item.kind == "news")),
        comments=item.comments,
        related=related,
        jsonld=Markup(_jsonld(item, image, modified)),
        extra=item.extra,
    )


def _jsonld(item: Item, image: str, modified: datetime) -> str:
    """JSON-LD as the outlet's CMS emits it: a plain NewsArticle or a Yoast-style @graph."""
    o = item.outlet
    kind = {"paper": "ScholarlyArticle", "linkpost": "BlogPosting"}.get(item.kind, "NewsArticle")
    author: Any = (
        {"@type": "Person", "name": item.author}
        if item.author
        else {"@type": "Organization", "name": o.name}
    )
    article: dict[str, Any] = {
        "@type": kind,
        "headline": item.title,
        "description": plain(item.dek or item.summary),
        "datePublished": item.when.isoformat(),
        "dateModified": modified.isoformat(),
        "author": author if o.skin.get("jsonld") != "author-list" else [author],
        "publisher": {
            "@type": "Organization",
            "name": o.name,
            "logo": {"@type": "ImageObject", "url": f"{{base}}/{o.slug}/logo.png"},
        },
        "image": [image],
        "mainEntityOfPage": {"@type": "WebPage", "@id": item.url},
        "inLanguage": "en",
    }
    if o.skin.get("jsonld") == "graph":
        doc: dict[str, Any] = {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "WebSite", "@id": f"{{base}}/{o.slug}/#website", "name": o.name},
                article
                | {
                    "@id": item.url + "#article",
                    "isPartOf": {"@id": f"{{base}}/{o.slug}/#website"},
                },
            ],
        }
    else:
        doc = {"@context": "https://schema.org"} | article
    return json.dumps(doc, ensure_ascii=False).replace("</", "<\\/")


# --- feeds --------------------------------------------------------------------------------------


def render_feed(o: Outlet, items: list[Item]) -> str:
    """The outlet's feed in its own format (feed.rss/atom/rdf.j2), newest entry first."""
    entries = []
    for item in items:
        permalink = bool(o.skin.get("guid_permalink")) and not item.links_to
        digest = hashlib.sha1(item.path.encode()).hexdigest()[:10]
        updated = item.when + timedelta(minutes=int(item.extra.get("updated_after_min", 0)))
        summary = f"<p>{inline(item.summary)}</p>" if o.html_summary else plain(item.summary)
        full = o.full_content and item.kind == "news" and not item.links_to
        entries.append(
            {
                "item": item,
                "when": item.when,
                # feed_title is already XML text: entities and shouting kept as published
                "title_xml": item.feed_title
                or html.escape(item.title + o.title_suffix, quote=False),
                "permalink": permalink,
                "guid": item.url if permalink else f"{o.slug}-{item.when:%Y%m%d}-{digest}",
                "rfc822": item.when.strftime("%a, %d %b %Y %H:%M:%S ")
                + (o.rss_zone or item.when.strftime("%z")),
                "updated": updated.isoformat(),
                "summary": summary,
                "content": body_html(item, ads=False) if full else "",
            }
        )
    host = o.skin.get("tag_host", o.slug + ".example")
    return _ENV.get_template(f"feed.{o.format}.j2").render(o=o, entries=entries, host=host)


# --- answer key and README ----------------------------------------------------------------------


def answer_key(stories: dict[str, dict[str, str]], items: list[Item]) -> dict[str, Any]:
    """The answer key: each linked page once, by path, with its story and duplicate link."""
    articles: dict[str, dict[str, Any]] = {}
    for item in sorted(items, key=lambda i: (i.when.astimezone(UTC), i.path)):
        if item.links_to:
            continue
        dup = item.syndicated_from
        articles[item.path] = {
            "path": item.path,
            "outlet": item.outlet.name,
            "story": item.story,
            "duplicate_of": dup,
            "topic": item.topic,
            "headline_only": item.headline_only,
        }
    used = {a["story"] for a in articles.values()}
    return {
        "stories": {k: v for k, v in stories.items() if k in used},
        "articles": list(articles.values()),
    }


def sources_yaml(outlets: dict[str, Outlet]) -> str:
    lines = [
        "# The demo's sources: fictional outlets served from this folder.",
        "# {base} is replaced with the demo server's base URL before loading.",
        "sources:",
    ]
    for o in outlets.values():
        lines += [
            f"  - name: {json.dumps(o.name)}",
            f'    url: "{{base}}/{o.slug}/feed.xml"',
            f'    site_url: "{{base}}/{o.slug}/"',
            f"    weight: {o.weight}",
            f"    tags: [{', '.join(o.tags)}]",
        ]
        if o.interval:
            lines.append(f"    interval: {o.interval}")
    return "\n".join(lines) + "\n"


def write(outlets: dict[str, Outlet], stories: dict[str, dict[str, str]], items: list[Item]) -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    by_outlet: dict[str, list[Item]] = {slug: [] for slug in outlets}
    for item in items:
        by_outlet[item.outlet.slug].append(item)
    total = 0
    for slug, entries in by_outlet.items():
        if not entries:
            print(f"warning: outlet {slug} has no entries")
            continue
        entries.sort(key=lambda i: i.when.astimezone(UTC), reverse=True)
        total += _put(f"{slug}/feed.xml", render_feed(outlets[slug], entries))
        for item in entries:
            if not item.links_to:
                total += _put(item.path, render_page(item, by_outlet[slug]))
    key = answer_key(stories, items)
    total += _put("answer_key.json", json.dumps(key, indent=2, ensure_ascii=False) + "\n")
    total += _put("sources.yaml", sources_yaml(outlets))
    readme = (SRC / "README.md").read_text(encoding="utf-8")
    total += _put("README.md", readme.replace("{contents}", _contents(outlets, key)))
    return total


def _contents(outlets: dict[str, Outlet], key: dict[str, Any]) -> str:
    """The README's generated tables: outlets and stories with their article counts."""
    arts = key["articles"]
    lines = [
        "## Contents (generated)",
        "",
        f"{len(arts)} article pages in {len(outlets)} feeds.",
        "",
        "| outlet | feed | weight | tags | articles |",
        "|---|---|---|---|---|",
    ]
    for o in outlets.values():
        count = sum(a["outlet"] == o.name for a in arts)
        lines.append(f"| {o.name} | {o.format} | {o.weight} | {', '.join(o.tags)} | {count} |")
    lines += ["", "| story | articles | outlets | event |", "|---|---|---|---|"]
    for k, story in key["stories"].items():
        members = [a for a in arts if a["story"] == k]
        outlets_n = len({a["outlet"] for a in members})
        lines.append(f"| `{k}` | {len(members)} | {outlets_n} | {story['event']} |")
    singles = sum(a["story"] is None and a["topic"] == "ai" for a in arts)
    lines += [
        "",
        f"Single-outlet AI articles: {singles}. Off-topic: "
        f"{sum(a['topic'] == 'off-topic' for a in arts)}. Near duplicates: "
        f"{sum(bool(a['duplicate_of']) for a in arts)}. Headline-only: "
        f"{sum(a['headline_only'] for a in arts)}.",
    ]
    return "\n".join(lines) + "\n"


def _put(rel: str, text: str) -> int:
    target = OUT / rel.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    target.write_bytes(data)
    return len(data)


# --- validation ---------------------------------------------------------------------------------


def check(items: list[Item]) -> list[str]:
    """Parse every feed, extract every page and compare both with the answer key."""
    import feedparser

    key = json.loads((OUT / "answer_key.json").read_text(encoding="utf-8"))
    keyed = [a["path"] for a in key["articles"]]
    problems = ["answer key lists a path twice"] if len(keyed) != len(set(keyed)) else []
    low = datetime.fromisoformat(FIRST_DAY + "T00:00Z")
    high = datetime.fromisoformat(LAST_DAY + "T23:59:59Z")
    linked: set[str] = set()
    for feed in sorted(OUT.glob("*/feed.xml")):
        url = f"{BASE}/{feed.parent.name}/feed.xml"
        body = feed.read_bytes().replace(b"{base}", BASE.encode())
        headers = {"content-location": url, "content-type": "application/xml; charset=utf-8"}
        parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
        if parsed.bozo or not parsed.entries:
            problems.append(f"{feed.parent.name}: bozo={parsed.get('bozo_exception')!r}")
        for entry in parsed.entries:
            path = urlsplit(urljoin(url, entry.link)).path
            linked.add(path)
            if not (OUT / path.lstrip("/")).is_file():
                problems.append(f"{feed.parent.name}: missing page {path}")
            stamp = entry.get("published_parsed") or entry.get("updated_parsed")
            when = datetime(*stamp[:6], tzinfo=UTC) if stamp else None
            if when is None or not low <= when <= high or not entry.get("title"):
                problems.append(f"{feed.parent.name}: bad date or title on {path}: {when}")
    if linked != set(keyed):
        problems.append(f"answer key vs feeds: {sorted(linked ^ set(keyed))}")
    return problems + [p for item in items if not item.links_to for p in _check_page(item, items)]


def _check_page(item: Item, items: list[Item]) -> list[str]:
    """The page's body extracts (and nothing else of the page does), at a realistic length."""
    import trafilatura

    page = (OUT / item.path.lstrip("/")).read_text(encoding="utf-8").replace("{base}", BASE)
    text = trafilatura.extract(page, url=BASE + item.path, include_comments=False) or ""
    flat = " ".join(text.split())
    if item.headline_only:
        too_long = len(flat) > (0 if item.kind == "video" else 400)
        return [f"{item.path}: headline-only page extracts {len(flat)} chars"] if too_long else []
    problems = []
    paragraphs = [" ".join(plain(t).split()) for k, t in blocks(item.body) if k == "p"]
    for para in (paragraphs[0], paragraphs[-1]):
        if para[:80] not in flat:
            problems.append(f"{item.path}: body not extracted: {para[:50]!r}")
    banned = [c[1] for c in item.comments] + [item.outlet.skin["cookie"], "Advertisement"]
    banned += ["Sign up for our newsletter", item.outlet.skin["newsletter"] or "\0"]
    banned += [s.title for s in items if s.outlet is item.outlet and s is not item]
    problems += [f"{item.path}: extracted {b[:50]!r}" for b in banned if b[:60] in flat]
    words = len(plain(item.body).split())
    if item.kind == "news" and not 300 <= words <= 900:
        problems.append(f"{item.path}: {words} words")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="validate the written corpus")
    args = parser.parse_args()
    outlets, stories, items = load()
    size = write(outlets, stories, items)
    print(
        f"wrote {OUT.relative_to(ROOT)}: {size / 1024:.0f} KiB in "
        f"{sum(1 for p in OUT.rglob('*') if p.is_file())} files"
    )
    if args.check:
        problems = check(items)
        print("\n".join(f"PROBLEM {p}" for p in problems) or "check: all clean")
        print(_contents(outlets, answer_key(stories, items)))
        sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
