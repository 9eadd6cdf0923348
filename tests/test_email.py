"""email.build_message: both parts, headers, every citation, inlined CSS, header injection, inert HTML.

``check_message`` parses a message as a mail client would and checks it
against the digest; the SMTP tests reuse it on what the server received.
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage

import lxml.html
import pytest

from pipeline.digest import groups, select
from pipeline.errors import ConfigError
from pipeline.mail import MailParams
from pipeline.models import Digest
from pipeline.render import SiteParams, email
from pipeline.sanitize import safe_url
from tests.test_digest import BUILT, DAY, PARAMS, make_story, sample_digest
from tests.test_site import BASE, assert_inert, hostile_digest

MAIL = MailParams(
    sender="AI news digest <digest@news.example.org>",
    recipients=("ada@example.org", "grace@example.org"),
    unsubscribe="https://news.example.org/unsubscribe?list=daily",
)
SITE = SiteParams(base_url=BASE)


def _squash(text: str) -> str:
    return " ".join(text.split())


def check_message(message: EmailMessage, digest: Digest) -> None:
    """Both parts hold every story, every cited sentence with its marks, every numbered source."""
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    text = _squash(plain.get_content())
    document = lxml.html.document_fromstring(html.get_content())
    cards = document.xpath("//td[contains(concat(' ', @class, ' '), ' story ')]")
    assert len(cards) == len(digest.stories)
    number = 0
    for group in groups(digest):
        assert group.title.upper() in text
        for story, card in zip(group.stories, cards[number:], strict=False):
            number += 1
            sources = story.summary.sources
            urls = {c.number: safe_url(c.url) for c in sources}
            assert f"{number}. {_squash(story.headline)}" in text
            assert f"{len(sources)} source" in text
            for sentence in story.summary.sentences:
                marks = "".join(f"[{n}]" for n in sentence.citations)
                assert f"{_squash(sentence.text)} {marks}" in text
            for citation in sources:
                line = f"[{citation.number}] {_squash(citation.outlet)}: {_squash(citation.title)}"
                assert line in text
                assert (urls[citation.number] or "(link withheld") in text
            assert _squash(card.xpath("string(.//h3)")) == _squash(story.headline)
            marks = card.xpath(".//sup")
            cited = [n for s in story.summary.sentences for n in s.citations]
            assert [m.text_content() for m in marks] == [f"[{n}]" for n in cited]
            assert [m.xpath("string(.//a/@href)") or None for m in marks] == [
                urls[n] for n in cited
            ]
            chips = card.xpath(".//span[contains(@class, 'chip')]/text()")
            assert [_squash(c) for c in chips] == [_squash(c.outlet) for c in sources]
            listed = [_squash(p.text_content()) for p in card.xpath(".//div[@class='sources']/p")]
            assert [entry.split(" ", 1)[0] for entry in listed] == [
                f"[{c.number}]" for c in sources
            ]


def test_message_has_both_parts_and_every_citation():
    digest = sample_digest()
    message = email.build_message(digest, MAIL, SITE)
    check_message(message, digest)
    text = message.get_body(("plain",)).get_content()
    assert "Read on the web: https://news.example.org/digest/2024/12/19/" in text
    assert (
        "   [4] Guardrail: What alignment faking means for safety training\n       https://guardrail.example/what-it-means\n"
        in text
    )
    assert "Unsubscribe: https://news.example.org/unsubscribe?list=daily" in text
    assert max(len(line) for line in text.splitlines()) <= 76


def test_headers_subject_and_list_unsubscribe():
    digest = sample_digest()
    message = email.build_message(digest, MAIL, SITE)
    assert message["Subject"] == (
        "AI news digest, Thursday 19 December 2024: "
        "EU publishes second draft of the general-purpose AI code of practice"
    )
    assert message["From"] == "AI news digest <digest@news.example.org>"
    assert message["To"] == "ada@example.org, grace@example.org"
    assert message["List-Unsubscribe"] == "<https://news.example.org/unsubscribe?list=daily>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Message-ID"].endswith("@news.example.org>")
    assert message["Date"]
    mailto = email.build_message(digest, MailParams(sender="digest@news.example.org"), SITE)
    assert mailto["List-Unsubscribe"] == "<mailto:digest@news.example.org?subject=unsubscribe>"
    assert mailto["List-Unsubscribe-Post"] is None


def test_html_is_a_600px_table_layout_with_inlined_css():
    html = email.build_message(sample_digest(), MAIL, SITE).get_body(("html",)).get_content()
    document = lxml.html.document_fromstring(html)
    (container,) = document.xpath("//table[contains(@class, 'container')]")
    assert container.get("width") == "600"
    assert "width: 600px" in container.get("style")
    styles = document.xpath("//style")
    assert len(styles) == 1 and "@media" in styles[0].text  # only the phone layout stays a block
    for card in document.xpath("//td[contains(@class, 'story')]"):
        assert "padding" in card.get("style")
    assert all(h.get("style") for h in document.xpath("//h3"))
    assert all("color" in (a.get("style") or "") for a in document.xpath("//sup/a"))
    links = document.xpath("//h3/a/@href")
    assert links[0] == BASE + "stories/3.html"


def test_without_a_site_url_headlines_link_to_the_first_source():
    digest = sample_digest()
    message = email.build_message(digest, MAIL, SiteParams())
    document = lxml.html.document_fromstring(message.get_body(("html",)).get_content())
    assert document.xpath("//h3/a/@href")[0] == digest.stories[0].summary.sources[0].url
    assert "Read on the web" not in message.get_body(("plain",)).get_content()


def test_a_headline_with_line_breaks_cannot_add_headers():
    evil = make_story(
        1,
        "Big news\r\nBcc: victim@example.org\r\nX-Injected: yes\n\nbody text",
        sources=(("Outlet\r\nCc: other@example.org", "Title", "https://example.org/a"),),
    )
    digest = select([evil], DAY, PARAMS, BUILT)
    raw = email.build_message(digest, MAIL, SITE).as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None and parsed["Cc"] is None
    assert "Bcc: victim@example.org X-Injected: yes body text" in parsed["Subject"]
    head = raw.split(b"\n\n", 1)[0]
    assert not re.search(rb"^(Bcc|Cc|X-Injected):", head, re.MULTILINE)
    check_message(parsed, digest)


def test_feed_text_is_inert_in_the_email():
    digest = hostile_digest()
    message = email.build_message(digest, MAIL, SITE)
    html = message.get_body(("html",)).get_content()
    assert_inert(html)
    text = message.get_body(("plain",)).get_content()
    urls = [line.strip() for line in text.splitlines() if line.startswith(" " * 7)]
    assert urls.count("(link withheld: not a web address)") == 3
    assert not any(re.match(r"(?i)(java|vb)script:|data:", line) for line in urls)
    document = lxml.html.document_fromstring(html)
    headlines = [h.text_content() for h in document.xpath("//h3")]
    assert any(h.startswith('Breaking <script>alert("headline")</script>') for h in headlines)


def test_write_eml_round_trips(tmp_path):
    digest = sample_digest()
    message = email.build_message(digest, MAIL, SITE)
    path = email.write_eml(message, tmp_path / "preview" / "2024-12-19.eml")
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == message["Subject"]
    check_message(parsed, digest)
    assert [p.name for p in path.parent.iterdir()] == ["2024-12-19.eml"]


def test_an_empty_day_still_makes_a_message():
    digest = select([], DAY, PARAMS, BUILT)
    message = email.build_message(digest, MAIL, SITE)
    assert message["Subject"] == "AI news digest, Thursday 19 December 2024"
    assert "No stories met the bar today." in message.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"sender": "a@example.org\r\nBcc: x@example.org"},
        {"recipients": ("ok@example.org", "bad\n@example.org")},
        {"recipients": ("not-an-address",)},
        {"unsubscribe": "javascript:alert(1)"},
        {"security": "ssl3"},
        {"port": 0},
    ],
)
def test_bad_mail_params_are_config_errors(kwargs):
    with pytest.raises(ConfigError):
        MailParams(**kwargs)
