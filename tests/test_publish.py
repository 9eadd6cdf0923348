"""Publishing the demo corpus: files checked against the corpus, rebuilds identical, email sent once."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import lxml.html
import pytest

from pipeline import demo, params, run
from pipeline.mail import SendReport
from pipeline.render import readable, render_all
from pipeline.render.email import build_message
from pipeline.urls import canonicalize
from tests.conftest import demo_store
from tests.test_email import check_message
from tests.test_render import check_json, check_markdown
from tests.test_site import assert_inert

DAY = date(2024, 12, 19)  # window 18 Dec 07:00 to 19 Dec 07:00 UTC: the alignment-faking day


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    store, settings = demo_store(
        tmp_path_factory.mktemp("publish"),
        smtp_security="none",
        mail_from="Digest <digest@127.0.0.1>",
        mail_to="ada@127.0.0.1, bob@127.0.0.1",
    )
    report = run.build_day(store, settings, DAY)
    yield store, settings, report
    store.close()


def test_files_hold_the_digest_field_by_field(published):
    _, settings, report = published
    folder = Path(settings.digests_dir)
    # The files hold the digest as readers get it: clean links, dated "on Wednesday".
    check_json(
        json.loads((folder / "2024-12-19.json").read_text()), readable.published(report.digest)
    )
    check_markdown((folder / "2024-12-19.md").read_text(), readable.published(report.digest))


def test_the_six_outlet_story_is_whole_with_its_sources_numbered(published):
    _, _, report = published
    key = [k for k in demo.answer_key() if k.story == "alignment-faking"]
    story = next(s for s in report.digest.stories if s.outlets == 6)
    assert sorted(c.outlet for c in story.summary.sources) == sorted(k.outlet for k in key)
    assert sorted(urlsplit(u).path for u in story.article_urls) == sorted(k.path for k in key)
    numbers = {c.number for c in story.summary.sources}
    assert numbers == set(range(1, 7))
    for sentence in story.summary.sentences:
        assert sentence.citations and set(sentence.citations) <= numbers
    assert len({n for s in story.summary.sentences for n in s.citations}) >= 2
    assert story.section == "safety"


def test_the_days_window_and_relevance_hold(published):
    _, _, report = published
    by_path = {k.path: k for k in demo.answer_key()}
    for story in report.digest.stories:
        topics = {by_path[urlsplit(u).path].topic for u in story.article_urls}
        assert topics != {"off-topic"}, story.headline
        assert any(t.date() in (date(2024, 12, 18), DAY) for t in story.article_times)


def test_a_rebuild_gives_the_same_files(published):
    store, settings, report = published
    before = {p: p.read_bytes() for p in report.paths}
    again = run.build_day(store, settings, DAY)
    assert {p: p.read_bytes() for p in again.paths} == before
    site_pages = list(Path(settings.site_dir).rglob("*.html"))
    assert site_pages
    for page in site_pages:
        assert_inert(page.read_text(encoding="utf-8"))


def test_send_delivers_once_unless_forced_and_preview_writes_eml(published, tmp_path, smtp_server):
    store, settings, report = published
    handler, port = smtp_server
    smtp = replace(settings, smtp_host="127.0.0.1", smtp_port=port)
    first = run.send_day(store, smtp, DAY)
    assert isinstance(first, SendReport) and first.ok and len(first.sent) == 2
    assert run.send_day(store, smtp, DAY) is None  # at most once per day
    forced = run.send_day(store, smtp, DAY, force=True)
    assert isinstance(forced, SendReport) and forced.ok
    assert len(handler.received) == 4
    message = message_from_bytes(handler.received[0][2], policy=policy.default)
    check_message(message, readable.published(report.digest))
    assert message["List-Unsubscribe"]
    preview = run.send_day(store, settings, DAY, preview=tmp_path / "day.eml")
    assert preview == tmp_path / "day.eml" and b"Subject:" in preview.read_bytes()


def _dropped_parameters(href: str) -> list[str]:
    """Query parameters of ``href`` that the identity rules strip as tracking."""
    kept = {k for k, _ in parse_qsl(urlsplit(canonicalize(href)).query, keep_blank_values=True)}
    return [k for k, _ in parse_qsl(urlsplit(href).query, keep_blank_values=True) if k not in kept]


def _json_urls(value: object) -> list[str]:
    if isinstance(value, dict):
        return [u for v in value.values() for u in _json_urls(v)]
    if isinstance(value, list):
        return [u for v in value for u in _json_urls(v)]
    return [value] if isinstance(value, str) and value.startswith(("http://", "https://")) else []


def _tracked(url: str) -> str:
    """``url`` as a feed or a share button hands it out."""
    return url + ("&" if "?" in url else "?") + "utm_source=rss&utm_medium=feed&fbclid=IwAR0x"


def test_published_links_carry_no_tracking_parameters(published, tmp_path):
    store, settings, report = published
    # Whichever link of the corpus's tagged page was stored first, every source and
    # coverage link of the day is handed to the renderers tagged.
    day = replace(
        report.digest,
        stories=tuple(
            replace(
                story,
                summary=replace(
                    story.summary,
                    sources=tuple(replace(c, url=_tracked(c.url)) for c in story.summary.sources),
                ),
                article_urls=tuple(_tracked(u) for u in story.article_urls),
            )
            for story in report.digest.stories
        ),
    )
    site_params = params.for_site(settings)
    render_all(day, tmp_path / "digests", tmp_path / "site", site_params)
    email = build_message(day, params.for_mail(settings), site_params)
    email_html = email.get_body(("html",)).get_content()
    hrefs = {
        "site": [
            href
            for page in (tmp_path / "site").rglob("*.html")
            for href in lxml.html.parse(str(page)).getroot().xpath("//a/@href")
        ],
        "email": lxml.html.fromstring(email_html).xpath("//a/@href"),
        "json": _json_urls(json.loads((tmp_path / "digests" / "2024-12-19.json").read_text())),
    }
    assert all(len(links) > 10 for links in hrefs.values())
    tracked = {
        where: [h for h in links if _dropped_parameters(h)] for where, links in hrefs.items()
    }
    assert tracked == {"site": [], "email": [], "json": []}
    # Markdown, Atom and the plain-text email say the same.
    texts = [(tmp_path / "digests" / "2024-12-19.md").read_text()]
    texts += [
        (tmp_path / "site" / "feed.xml").read_text(),
        email.get_body(("plain",)).get_content(),
    ]
    assert not any(marker in text for text in texts for marker in ("utm_", "fbclid"))
