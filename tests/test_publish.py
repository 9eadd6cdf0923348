"""Publishing the demo corpus: files checked against the corpus, rebuilds identical, email sent once."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import lxml.html
import pytest
import yaml

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


def test_the_six_outlet_story_is_new_then_an_update_citing_only_its_new_source(published):
    """The alignment-faking story as readers of consecutive digests meet it: five sources
    by 19 Dec 07:00, then on 20 Dec once more only because a sixth joined, marked as such."""
    store, settings, report = published
    key = [k for k in demo.answer_key() if k.story == "alignment-faking"]
    paths = {k.path for k in key}
    story = next(
        s for s in report.digest.stories if {urlsplit(u).path for u in s.article_urls} <= paths
    )
    assert story.edition == "new" and story.first_published is None
    assert story.outlets == 5 and not story.new_sources and not story.whats_new
    assert story.url.startswith(f"stories/{story.id}-") and story.section == "safety"
    following = run.build_day(store, settings, DAY + timedelta(days=1))
    update = next(s for s in following.digest.stories if s.id == story.id)
    assert update.edition == "update" and update.first_published == DAY
    assert update.url == story.url  # one permanent page
    assert sorted(c.outlet for c in update.summary.sources) == sorted(k.outlet for k in key)
    assert sorted(urlsplit(u).path for u in update.article_urls) == sorted(paths)
    numbers = {c.number for c in update.summary.sources}
    assert numbers == set(range(1, 7))
    for sentence in update.summary.sentences:
        assert sentence.citations and set(sentence.citations) <= numbers
    earlier = {c.outlet for c in story.summary.sources}
    joined = {c.number for c in update.summary.sources if c.outlet not in earlier}
    assert set(update.new_sources) == joined and len(joined) == 1
    assert 1 <= len(update.whats_new) <= 3
    for sentence in update.whats_new:
        assert sentence.citations and set(sentence.citations) <= joined
    carried = {s.id for s in report.digest.stories}
    for again in following.digest.stories:  # nothing comes back without a new source
        assert again.id not in carried or again.new_sources


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
    assert set(before) <= set(again.paths)
    assert {p: p.read_bytes() for p in before} == before
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


def test_topic_links_on_the_demo_corpus_are_precise(published):
    """Precision of story→topic links against the hand-labelled answer file (floor 0.95)."""
    store, _, _ = published
    labels = yaml.safe_load((Path(__file__).parent / "fixtures/topic_links.yaml").read_text())
    paths: dict[str, set[str]] = {}
    for key in demo.answer_key():
        if key.story:
            paths.setdefault(key.story, set()).add(key.path)
    by_path = {
        urlsplit(a.url).path: a.story_id for a in store.articles.all() if a.story_id is not None
    }
    catalogue = store.entities.catalogue()
    linked = right = 0
    for name, label in labels.items():
        story_id = max(
            {by_path[p] for p in paths[name] if p in by_path},
            key=lambda s: sum(by_path.get(p) == s for p in paths[name]),
        )
        names = {catalogue.topics[s].name for s in store.entities.topics_of([story_id])[story_id]}
        assert not names & set(label["not_about"]), name
        linked += len(names)
        right += len(names & set(label["about"]))
    assert linked >= 40  # the sample is big enough to mean something
    assert right / linked >= 0.95


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
