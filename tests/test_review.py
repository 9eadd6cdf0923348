"""The editors' desk over HTTP (httpx.ASGITransport), and its decisions through the pipeline.

A small real store (six articles from six outlets: one three-outlet story and
three single ones) is built once through the pipeline and copied for each
test. Every action is exercised through the app and checked in the database
(status, text, members, audit row, constraints), and so is every refusal: no
session, a wrong or missing CSRF token, another site's Origin, a stale
version, a citation number that names no source. Store-level tests then show
that re-clustering and ``run.build_day`` respect what the editors decided.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from pipeline import run
from pipeline.config import Settings
from pipeline.models import Entry, ExtractedPage, Source
from pipeline.review import add_editor, create_app, verify_password
from pipeline.store import Store
from pipeline.store.db import is_postgres
from pipeline.store.decisions import CANNOT_LINK, MUST_LINK
from pipeline.store.editorial import EditConflict
from tests.conftest import BACKENDS
from tests.test_stages import TEXTS

pytestmark = pytest.mark.anyio

T0 = datetime(2024, 12, 18, 9, 0, tzinfo=UTC)
DAY = date(2024, 12, 19)  # its window, 18 Dec 07:00 to 19 Dec 07:00 UTC, holds every article
PASSWORD = "correct horse battery"
SETTINGS = Settings()
ARTICLES = {
    **{name: (*TEXTS[name], hours) for name, hours in (("wire", 0), ("lab", 1), ("press", 2))},
    "chips": (
        "Sakura Silicon tapes out its first AI inference accelerator",
        "Sakura Silicon, an Osaka start-up founded in 2022, said on Thursday it had taped out "
        "its first product, an inference accelerator called SK-1, on a foundry's 4nm process. "
        "The company expects engineering samples in the spring.",
        3,
    ),
    "robots": (
        "Ferrous Robotics raises $210 million for warehouse humanoid robots",
        "Ferrous Robotics, a startup building humanoid robots for warehouse work, said it had "
        "raised $210 million in a Series B round led by Keystone Growth. Its first large "
        "customer is a European logistics group.",
        4,
    ),
    "policy": (
        "EU lawmakers agree on a code of practice for general-purpose AI models",
        "European Parliament negotiators agreed on Wednesday on a code of practice for providers "
        "of general-purpose AI models, with transparency and copyright obligations under the "
        "AI Act. The European Commission will publish the final text in May.",
        5,
    ),
}


def _build(target: str) -> dict[str, int]:
    store = Store.open(target)
    store.sources.sync(
        [Source(name=name, url=f"http://127.0.0.1/{name}.xml", weight=0.6) for name in ARTICLES]
    )
    sources = {s.name: s.id for s in store.sources.all()}
    ids = {}
    for name, (title, text, hours) in ARTICLES.items():
        url = f"http://127.0.0.1/{name}/story"
        entry = Entry(url=url, guid=url, title=title, published_at=T0 + timedelta(hours=hours))
        [article_id] = store.articles.insert_entries(sources[name], [(entry, url)], T0)
        store.articles.set_extracted(article_id, ExtractedPage(text=text), None, T0)
        ids[name] = article_id
    run.process_new(store, SETTINGS)
    run.summarize_stories(store, SETTINGS)
    for name in ("ada", "bob"):
        add_editor(store, name, PASSWORD)
    store.close()
    return ids


@pytest.fixture(scope="module", params=BACKENDS)
def template(request, tmp_path_factory) -> tuple[str, dict[str, int]]:
    """The desk's database, built once per backend: an SQLite file or a PostgreSQL database."""
    if request.param == "sqlite":
        target = str(tmp_path_factory.mktemp("review") / "desk.db")
    else:
        target = request.getfixturevalue("postgres_server").new_database()
    return target, _build(target)


@pytest.fixture
def db(request, template, tmp_path) -> str:
    """A copy of the desk's database for one test, on the template's backend."""
    if is_postgres(template[0]):
        return str(request.getfixturevalue("postgres_server").copy_database(template[0]))
    return str(shutil.copy(template[0], tmp_path / "desk.db"))


@pytest.fixture
def ids(template) -> dict[str, int]:
    return template[1]


@pytest.fixture
def store(db) -> Iterator[Store]:
    """A second connection to the desk's database, to check what the app wrote."""
    opened = Store.open(db)
    yield opened
    opened.close()


@pytest.fixture
async def app(db) -> AsyncIterator[object]:
    application = create_app(db, SETTINGS)
    yield application
    application.state.desk.close()


class Editor:
    """One browser: its own cookies, logging in and posting forms with the page's token."""

    def __init__(self, app: object) -> None:
        transport = httpx.ASGITransport(app=app)
        self.client = httpx.AsyncClient(transport=transport, base_url="http://desk.test")
        self.token = ""

    async def login(self, name: str = "ada", password: str = PASSWORD) -> httpx.Response:
        page = await self.client.get("/login")
        form = {"csrf": _token(page.text), "name": name, "password": password, "next": "/"}
        response = await self.client.post("/login", data=form)
        if response.status_code == 303:
            self.token = _token((await self.client.get("/search")).text)
        return response

    async def post(self, path: str, **data: object) -> httpx.Response:
        return await self.client.post(path, data={"csrf": self.token, **data})


@pytest.fixture
async def ada(app) -> AsyncIterator[Editor]:
    editor = Editor(app)
    assert (await editor.login("ada")).status_code == 303
    yield editor
    await editor.client.aclose()


def _token(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def _story(store: Store, article_id: int) -> int:
    story_id = store.articles.get(article_id).story_id
    assert story_id is not None
    return story_id


def _version(store: Store, story_id: int) -> int:
    record = store.stories.record(story_id)
    assert record is not None
    return record.version


def _decisions(store: Store) -> list[dict[str, object]]:
    """The audit log, oldest first, with its JSON columns read."""
    rows = store.db.rows("decisions", order_by="id")
    return [
        {**r, **{k: json.loads(r[k]) for k in ("article_ids", "before", "after")}} for r in rows
    ]


async def _status(editor: Editor, store: Store, story: int, action: str, **extra: object):
    return await editor.post(
        f"/story/{story}/status", action=action, version=_version(store, story), **extra
    )


async def _edit(
    editor: Editor, store: Store, story: int, headline: str, lead: str, **extra: object
):
    data = {"points": "", "version": _version(store, story), **extra}
    return await editor.post(f"/story/{story}/edit", headline=headline, lead=lead, **data)


def _constraints(store: Store, kind: str) -> set[tuple[int, int]]:
    found = store.decisions.constraints()
    return set(found.must_link if kind == MUST_LINK else found.cannot_link)


def _pair(a: int, b: int) -> tuple[int, int]:
    return (min(a, b), max(a, b))


async def _move(editor: Editor, store: Store, story: int, articles: list[int], target: str):
    return await editor.post(
        f"/story/{story}/move", article=articles, target=target, version=_version(store, story)
    )


def _publish(store: Store, folder: Path) -> dict[int, dict[str, object]]:
    """Build the test day into ``folder``; the published stories by id, in order."""
    settings = replace(SETTINGS, digests_dir=str(folder / "digests"), site_dir=str(folder / "site"))
    run.build_day(store, settings, DAY)
    published = json.loads((folder / "digests" / f"{DAY}.json").read_text())
    return {s["id"]: s for s in published["stories"]}


# -- access ------------------------------------------------------------------------------


async def test_every_page_but_login_needs_a_session(app, store, ids):
    anonymous = Editor(app)
    story = _story(store, ids["wire"])
    page = await anonymous.client.get(f"/day/{DAY}")
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2Fday%2F2024-12-19"
    for path in (f"/story/{story}", "/search?q=chip", f"/story/{story}/edit", "/"):
        assert (await anonymous.client.get(path)).headers["location"].startswith("/login")
    refused = await anonymous.client.post(f"/story/{story}/status", data={"action": "reject"})
    assert refused.status_code == 403 and store.stories.get(story).status == "auto"
    assert (await anonymous.client.get("/static/desk.css")).status_code == 200
    assert (await anonymous.client.get("/login")).status_code == 200


async def test_login_checks_the_password_and_sets_a_strict_cookie(app, store):
    editor = Editor(app)
    wrong = await editor.login("ada", "not the password")
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    assert (await editor.login("mallory", PASSWORD)).status_code == 401
    right = await editor.login("ada")
    assert right.status_code == 303
    cookie = right.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "ada" in (await editor.client.get(f"/day/{DAY}")).text
    stored = store.editorial.password_hash("ada")
    assert stored and stored.startswith("scrypt$") and PASSWORD not in stored
    assert verify_password(PASSWORD, stored) and not verify_password("nope", stored)


async def test_logout_and_a_new_password_end_the_session(app, store):
    first, second = Editor(app), Editor(app)
    for editor in (first, second):
        await editor.login("ada")
    assert (await first.post("/logout")).status_code == 303
    assert (await first.client.get(f"/day/{DAY}")).status_code == 303
    add_editor(store, "ada", "a brand new password")
    assert (await second.client.get(f"/day/{DAY}")).status_code == 303


async def test_a_wrong_or_missing_csrf_token_is_refused(ada, store, ids):
    story = _story(store, ids["chips"])
    data = {"action": "reject", "version": _version(store, story)}
    wrong = await ada.client.post(f"/story/{story}/status", data={**data, "csrf": "forged"})
    missing = await ada.client.post(f"/story/{story}/status", data=data)
    assert wrong.status_code == missing.status_code == 403 and "expired" in wrong.text
    assert store.stories.get(story).status == "auto" and not _decisions(store)


async def test_requests_from_another_site_are_refused_even_with_the_token(ada, store, ids):
    story = _story(store, ids["chips"])
    data = {"csrf": ada.token, "action": "reject", "version": _version(store, story)}
    for headers in (
        {"Origin": "http://evil.test"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
    ):
        response = await ada.client.post(f"/story/{story}/status", data=data, headers=headers)
        assert response.status_code == 403, headers
    same = {"Origin": "http://desk.test", "Sec-Fetch-Site": "same-origin"}
    response = await ada.client.post(f"/story/{story}/status", data=data, headers=same)
    assert response.status_code == 303
    assert store.stories.get(story).status == "rejected"


async def test_pages_carry_security_headers_and_big_forms_are_refused(ada):
    page = await ada.client.get(f"/day/{DAY}")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["cache-control"] == "no-store"
    assert (await ada.post("/merge", story="1:1" * 400_000)).status_code == 413


# -- reading ------------------------------------------------------------------------------


async def test_day_view_lists_stories_in_rank_order_with_filters(ada, store, ids):
    big = _story(store, ids["wire"])
    page = await ada.client.get(f"/day/{DAY}")
    assert page.status_code == 200
    rows = re.findall(r'<tr class="row is-(\w+)" data-row id="story-(\d+)"', page.text)
    assert len(rows) == 4 and int(rows[0][1]) == big  # three outlets rank first
    record = store.stories.record(big)
    assert record and record.summary
    assert record.summary.lead[0].text in page.text
    assert record.explanation.split(";")[0] in page.text  # "3 outlets, ..."
    assert '>3<span class="of">/3</span>' in page.text
    chips = _story(store, ids["chips"])
    await _status(ada, store, chips, "reject")
    rejected = await ada.client.get(f"/day/{DAY}?status=rejected")
    assert re.findall(r'id="story-(\d+)"', rejected.text) == [str(chips)]
    section = record.section
    by_section = await ada.client.get(f"/day/{DAY}?section={section}")
    assert f'id="story-{big}"' in by_section.text
    assert all(
        store.stories.record(int(i)).section == section
        for i in re.findall(r'id="story-(\d+)"', by_section.text)
    )
    # the rejected story sinks to the bottom of the unfiltered list
    everything = (await ada.client.get(f"/day/{DAY}")).text
    assert re.findall(r'id="story-(\d+)"', everything)[-1] == str(chips)


async def test_story_view_shows_members_summary_and_explanation(ada, store, ids):
    story = _story(store, ids["wire"])
    page = await ada.client.get(f"/story/{story}")
    assert page.status_code == 200
    for name in ("wire", "lab", "press"):
        title, text, _ = ARTICLES[name]
        assert title in page.text and text.split(".")[0][:60] in page.text
        assert f'href="http://127.0.0.1/{name}/story"' in page.text
    record = store.stories.record(story)
    assert record and record.summary
    for number in {n for s in record.summary.sentences for n in s.citations}:
        assert f'href="#source-{number}"' in page.text and f'id="source-{number}"' in page.text
    assert "Why this rank" in page.text and record.explanation.split(";")[0] in page.text
    # per member, what joined it: the figures and the model name the reports share
    joined = re.findall(r'<p class="joined".*?</p>', page.text, re.S)
    assert len(joined) == 3 and all("Joined on:" in j for j in joined)
    assert all(re.search(r">(14|78)%</span>", j) for j in joined)
    assert sum(">Claude 3 Opus</span>" in j for j in joined) == 2  # the third says "Claude"
    alone = await ada.client.get(f"/story/{_story(store, ids['chips'])}")
    assert alone.status_code == 200 and "Joined on:" not in alone.text
    assert (await ada.client.get("/story/99999")).status_code == 404


async def test_search_finds_articles_and_survives_fts_syntax(ada, store, ids):
    page = await ada.client.get("/search", params={"q": "inference accelerator"})
    assert ARTICLES["chips"][0] in page.text and ARTICLES["robots"][0] not in page.text
    for odd in ('"unbalanced', "AND OR (", "robot*", "-x NEAR("):
        assert (await ada.client.get("/search", params={"q": odd})).status_code == 200
    assert ARTICLES["robots"][0] in (await ada.client.get("/search?q=robot*")).text


# -- one-story actions ------------------------------------------------------------------


async def test_status_actions_are_stored_and_audited(ada, store, ids):
    story = _story(store, ids["robots"])
    actions = ("approve", "pin", "unpin", "reject")
    for action, status in zip(actions, ("approved", "pinned", "approved", "rejected"), strict=True):
        response = await _status(ada, store, story, action, next="/x")
        assert response.status_code == 303 and response.headers["location"] == "/x"
        assert store.stories.get(story).status == status
    log = _decisions(store)
    assert [d["action"] for d in log] == list(actions)
    assert {d["editor"] for d in log} == {"ada"} and all(d["at"] for d in log)
    assert log[1]["before"] == {"status": "approved"}
    assert log[1]["after"] == {"status": "pinned"}
    history = await ada.client.get(f"/story/{story}")
    assert "<strong>reject</strong> by ada" in history.text


async def test_a_stale_version_is_refused_and_names_who_changed_it(app, ada, store, ids):
    bob = Editor(app)
    await bob.login("bob")
    story = _story(store, ids["chips"])
    seen = _version(store, story)  # both editors rendered the page at this version
    assert (await _status(ada, store, story, "approve")).status_code == 303
    late = await bob.post(f"/story/{story}/status", action="reject", version=seen)
    assert late.status_code == 409
    assert "changed by ada" in late.text and "not saved" in late.text
    assert store.stories.get(story).status == "approved"
    assert [d["editor"] for d in _decisions(store)] == ["ada"]


async def test_edit_saves_headline_and_summary_with_checked_citations(ada, store, ids):
    story = _story(store, ids["wire"])
    form = await ada.client.get(f"/story/{story}/edit")
    assert form.status_code == 200 and "Sources you can cite" in form.text
    lead = "Claude 3 Opus pretended to comply with a new training objective. [1][2]"
    points = "Alignment-faking reasoning rose to 78% under reinforcement learning. [2][3]"
    saved = await _edit(
        ada, store, story, "  Claude faked   alignment, study finds ", lead, points=points
    )
    assert saved.status_code == 303
    stored = store.stories.generated(story)
    assert stored["headline"] == "Claude faked alignment, study finds"
    summary = stored["summary"]
    assert [s.citations for s in summary.lead] == [(1, 2)]
    assert summary.points[0].text.startswith("Alignment-faking reasoning rose to 78%")
    assert [c.number for c in summary.sources] == [1, 2, 3]
    assert store.stories.get(story).edited
    log = _decisions(store)[-1]
    assert log["action"] == "edit"
    assert log["after"]["headline"] == stored["headline"]
    assert log["before"]["headline"] != stored["headline"]


async def test_a_citation_that_names_no_source_is_refused_and_the_text_kept(ada, store, ids):
    story = _story(store, ids["wire"])
    before = store.stories.generated(story)
    version = _version(store, story)
    refused = await _edit(ada, store, story, "New", "Claude 3 Opus pretended to comply. [7]")
    assert refused.status_code == 422
    assert "[7] names no source; this story has 3" in refused.text
    assert "Claude 3 Opus pretended to comply. [7]" in refused.text  # the editor's text is kept
    uncited = await _edit(ada, store, story, "New", "No source here.")
    assert uncited.status_code == 422 and "needs at least one source number" in uncited.text
    assert store.stories.generated(story) == before and _version(store, story) == version


async def test_an_edit_over_a_newer_version_is_refused_with_both_texts_shown(app, ada, store, ids):
    bob = Editor(app)
    await bob.login("bob")
    story = _story(store, ids["wire"])
    seen = _version(store, story)
    await _status(ada, store, story, "pin")
    late = await _edit(bob, store, story, "Bob's headline", "Claude pretended. [1]", version=seen)
    assert late.status_code == 409
    assert "changed by ada" in late.text and "Bob&#39;s headline" in late.text
    assert f'name="version" value="{seen + 1}"' in late.text  # saving again is a choice
    assert store.stories.generated(story)["headline"] != "Bob's headline"


async def test_reset_goes_back_to_the_generated_text(ada, store, ids):
    story = _story(store, ids["wire"])
    generated = store.stories.generated(story)
    await _edit(ada, store, story, "Edited", "Claude 3 Opus pretended to comply. [1]")
    assert store.stories.generated(story)["headline"] == "Edited"
    response = await ada.post(f"/story/{story}/reset", version=_version(store, story))
    assert response.status_code == 303
    after = store.stories.generated(story)
    assert after["headline"] == generated["headline"] and after["summary"] == generated["summary"]
    assert not store.stories.get(story).edited
    assert _decisions(store)[-1]["action"] == "reset"


async def test_section_change_sticks_until_set_back_to_automatic(ada, store, ids):
    story = _story(store, ids["chips"])
    automatic = store.stories.generated(story)["section"]
    await ada.post(f"/story/{story}/section", section="policy", version=_version(store, story))
    stored = store.stories.generated(story)
    assert stored["section"] == "policy" and stored["section_locked"]
    version = _version(store, story)
    assert (
        await ada.post(f"/story/{story}/section", section="x", version=version)
    ).status_code == 422
    # a new summary (membership changed) keeps the editor's section
    store.db.execute("update stories set members_key = 'old' where id = ?", [story])
    run.summarize_stories(store, SETTINGS)
    assert store.stories.generated(story)["section"] == "policy"
    await ada.post(f"/story/{story}/section", section="auto", version=_version(store, story))
    assert store.stories.generated(story)["section"] == automatic
    assert [d["action"] for d in _decisions(store)] == ["section", "section"]


# -- membership -----------------------------------------------------------------------


async def test_merge_from_the_story_page_moves_every_article_and_links_them(ada, store, ids):
    into, other = _story(store, ids["robots"]), _story(store, ids["chips"])
    response = await ada.post(
        f"/story/{into}/merge",
        other=f"{other}:{_version(store, other)}",
        version=_version(store, into),
    )
    assert response.status_code == 303 and response.headers["location"] == f"/story/{into}"
    assert set(store.stories.get(into).article_ids) == {ids["robots"], ids["chips"]}
    assert store.stories.get(other).article_ids == ()
    assert _pair(ids["robots"], ids["chips"]) in _constraints(store, MUST_LINK)
    merged = store.stories.generated(into)["summary"]
    assert len(merged.sources) == 2  # the summary was remade for the merged story
    gone = await ada.client.get(f"/story/{other}")
    assert gone.status_code == 303 and gone.headers["location"] == f"/story/{into}"
    log = _decisions(store)[-1]
    assert log["action"] == "merge" and log["article_ids"] == [ids["chips"]]


async def test_merge_ticked_stories_from_the_day_view(ada, store, ids):
    stories = [_story(store, ids[n]) for n in ("policy", "chips", "robots")]
    ticked = [f"{s}:{_version(store, s)}" for s in stories]
    response = await ada.post("/merge", story=ticked, next=f"/day/{DAY}")
    assert response.status_code == 303
    merged = set(store.stories.get(stories[0]).article_ids)
    assert merged == {ids["policy"], ids["chips"], ids["robots"]}
    one = await ada.post("/merge", story=ticked[:1])
    assert one.status_code == 422 and "at least two" in one.text


async def test_split_moves_articles_to_a_new_story_and_keeps_them_apart(ada, store, ids):
    story = _story(store, ids["wire"])
    assert (await _move(ada, store, story, [ids["press"]], "new")).status_code == 303
    new = _story(store, ids["press"])
    assert new != story and store.stories.get(story).article_ids == (ids["wire"], ids["lab"])
    cannot = _constraints(store, CANNOT_LINK)
    assert {_pair(ids["press"], ids["wire"]), _pair(ids["press"], ids["lab"])} <= cannot
    assert _decisions(store)[-1]["action"] == "split"
    everything = await _move(ada, store, story, [ids["wire"], ids["lab"]], "new")
    assert everything.status_code == 422 and "merge the story instead" in everything.text
    assert (await _move(ada, store, story, [ids["chips"]], "new")).status_code == 422


async def test_move_articles_into_another_story(ada, store, ids):
    story, target = _story(store, ids["wire"]), _story(store, ids["policy"])
    response = await _move(ada, store, story, [ids["lab"]], f"{target}:{_version(store, target)}")
    assert response.status_code == 303
    assert store.stories.get(target).article_ids == (ids["lab"], ids["policy"])
    must = _constraints(store, MUST_LINK)
    assert _pair(ids["lab"], ids["policy"]) in must
    stale = await _move(ada, store, story, [ids["press"]], f"{target}:1")
    assert stale.status_code == 409 and store.articles.get(ids["press"]).story_id == story


async def test_add_an_article_found_by_search(ada, store, ids):
    story, old = _story(store, ids["wire"]), _story(store, ids["chips"])
    page = await ada.client.get("/search", params={"q": "Sakura", "into": story})
    assert f'action="/story/{story}/add"' in page.text
    response = await ada.post(
        f"/story/{story}/add", article=ids["chips"], version=_version(store, story)
    )
    assert response.status_code == 303
    assert ids["chips"] in store.stories.get(story).article_ids
    assert store.stories.get(old).article_ids == ()
    assert _decisions(store)[-1]["action"] == "add"
    again = await ada.post(
        f"/story/{story}/add", article=ids["chips"], version=_version(store, story)
    )
    assert again.status_code == 422 and "already in story" in again.text


# -- decisions stick --------------------------------------------------------------------


def _grouping(store: Store, ids: dict[str, int]) -> dict[str, int]:
    return {name: _story(store, article_id) for name, article_id in ids.items()}


def test_reclustering_keeps_every_editors_placement(db, store, ids):
    now = datetime.now(UTC)
    edit = store.editorial
    big = _story(store, ids["wire"])
    split = edit.move("ada", big, _version(store, big), [ids["press"]], None, None, now)
    robots, chips = _story(store, ids["robots"]), _story(store, ids["chips"])
    edit.merge("ada", robots, _version(store, robots), chips, _version(store, chips), now)
    edit.add_article("ada", ids["policy"], big, _version(store, big), now)
    decided = _grouping(store, ids)
    assert decided["press"] == split and decided["chips"] == decided["robots"] == robots
    assert decided["policy"] == decided["wire"] == decided["lab"] == big

    run.rebuild_stories(store, SETTINGS)
    assert _grouping(store, ids) == decided  # same groups, same ids

    # an incremental run with a new article changes nothing the editors placed
    source = store.sources.all()[0]
    url = "http://127.0.0.1/late/story"
    entry = Entry(url=url, guid=url, title=TEXTS["lab"][0], published_at=T0 + timedelta(hours=6))
    [late] = store.articles.insert_entries(source.id or 0, [(entry, url)], T0)
    store.articles.set_extracted(late, ExtractedPage(text=TEXTS["lab"][1]), None, T0)
    run.process_new(store, SETTINGS)
    run.rebuild_stories(store, SETTINGS)
    assert _grouping(store, ids) == decided
    # editors change their minds (split off, put back): the latest decision wins
    edit.add_article("bob", ids["press"], big, _version(store, big), now)
    edit.move("bob", big, _version(store, big), [ids["lab"]], None, None, now)
    edit.add_article("bob", ids["lab"], big, _version(store, big), now)
    run.rebuild_stories(store, SETTINGS)
    assert {_story(store, ids[n]) for n in ("wire", "lab", "press", "policy")} == {big}


async def test_an_edited_story_keeps_its_text_and_flags_new_sources(ada, store, ids):
    now = datetime.now(UTC)
    story = _story(store, ids["wire"])
    base = store.stories.generated(story)["summary"]
    store.editorial.edit("ada", story, _version(store, story), "Editors' words", base, now)
    store.editorial.add_article("bob", ids["chips"], story, _version(store, story), now)
    run.summarize_stories(store, SETTINGS)
    stored = store.stories.generated(story)
    assert stored["headline"] == "Editors' words" and stored["summary"] == base
    record = store.stories.record(story)
    assert record and record.new_sources == 1
    assert "1 new source since your edit" in (await ada.client.get(f"/story/{story}")).text
    with pytest.raises(EditConflict):
        store.editorial.set_status("bob", story, 1, "approve", now)


def test_build_day_publishes_what_the_editors_decided(db, store, ids, tmp_path):
    now = datetime.now(UTC)
    edit = store.editorial
    big, chips, robots = (_story(store, ids[n]) for n in ("wire", "chips", "robots"))
    edit.set_status("ada", chips, _version(store, chips), "pin", now)
    edit.set_status("ada", robots, _version(store, robots), "reject", now)
    base = store.stories.generated(big)["summary"]
    edit.edit("ada", big, _version(store, big), "The editors' headline", base, now)
    by_id = _publish(store, tmp_path)
    assert list(by_id)[0] == chips and by_id[chips]["status"] == "pinned"
    assert robots not in by_id
    assert by_id[big]["headline"] == "The editors' headline"


def test_build_day_publishes_the_editors_section(db, store, ids, tmp_path):
    big = _story(store, ids["wire"])
    store.editorial.set_section("ada", big, _version(store, big), "business", datetime.now(UTC))
    assert _publish(store, tmp_path)[big]["section"] == "business"


async def test_editors_rename_merge_and_hide_topics_and_the_next_build_shows_it(
    ada, store, tmp_path
):
    run.link_entities(store)
    records = {r.name: r for r in store.entities.records()}
    assert len(records) >= 2  # the six articles name organisations, products and concepts
    first, second = sorted(records.values(), key=lambda r: r.id)[:2]
    page = await ada.client.get("/topics")
    assert page.status_code == 200 and first.name in page.text
    response = await ada.post(f"/topic/{first.id}/rename", name="  A  better   name ")
    assert response.status_code == 303
    assert store.entities.record(first.id).name == "A better name"
    assert (await ada.post(f"/topic/{first.id}/rename", name="   ")).status_code == 422
    assert (await ada.post(f"/topic/{first.id}/merge", into=first.id)).status_code == 422
    assert (await ada.post(f"/topic/{second.id}/merge", into=first.id)).status_code == 303
    assert store.entities.catalogue().moved == {second.slug: first.slug}
    assert (await ada.post(f"/topic/{first.id}/hide", hidden="1")).status_code == 303
    assert first.slug not in store.entities.catalogue().topics
    no_token = await ada.client.post(f"/topic/{first.id}/hide", data={"hidden": "0"})
    assert no_token.status_code == 403
    assert store.entities.record(first.id).hidden
    run.link_entities(store)  # recognition again keeps every decision
    assert store.entities.record(first.id).name == "A better name"
    actions = [d["action"] for d in _decisions(store) if str(d["action"]).startswith("entity")]
    assert actions == ["entity-rename", "entity-merge", "entity-hide"]
