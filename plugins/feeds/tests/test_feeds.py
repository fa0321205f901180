"""The feeds plugin: Atom feeds of new cases, overall and per search, as feed readers see them."""

from __future__ import annotations

import re
from datetime import datetime
from xml.etree import ElementTree

from flask.testing import FlaskClient
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, Role, User
from kb.services import accounts, submissions
from kb.services.review import decide

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
HOSTILE = "Tom & Jerry <script>alert(\"x\")</script> 'quoted' ]]> &amp;"


def _feed(client: FlaskClient, query: str = "", **headers: str) -> ElementTree.Element:
    response = client.get(f"/feeds/cases.atom{query}", headers=headers)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    return ElementTree.fromstring(response.data)  # noqa: S314 (our own output)


def _entries(feed: ElementTree.Element) -> list[ElementTree.Element]:
    return feed.findall(f"{ATOM}entry")


def _slug(entry: ElementTree.Element) -> str:
    return entry.find(f"{ATOM}link[@rel='alternate']").get("href").rsplit("/", 1)[1]


def _editor() -> User:
    return accounts.create_user("editor@example.org", Role.EDITOR)


def _new_case(editor: User, title: str, **fields: object) -> Case:
    submission = submissions.Submission(
        fields={"title": title, "language": "sv", "country": "SE", **fields}
    )
    return submissions.save(None, submission, editor)


def test_the_feed_is_atom_with_every_required_element(client: FlaskClient, demo: None) -> None:
    feed = _feed(client)

    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id") == "http://localhost/feeds/cases.atom"
    assert feed.findtext(f"{ATOM}title") == "New cases"
    datetime.fromisoformat(feed.findtext(f"{ATOM}updated"))
    links = {link.get("rel"): link.get("href") for link in feed.findall(f"{ATOM}link")}
    assert links == {
        "self": "http://localhost/feeds/cases.atom",
        "alternate": "http://localhost/search?sort=newest",
    }
    assert feed.findtext(f"{ATOM}author/{ATOM}name") == "Nordic Good Practice KB"
    entries = _entries(feed)
    assert len(entries) == 50
    assert len({entry.findtext(f"{ATOM}id") for entry in entries}) == 50
    for entry in entries:
        for name in ("id", "title", "published", "updated", "content"):
            assert entry.findtext(f"{ATOM}{name}"), name
        assert datetime.fromisoformat(entry.findtext(f"{ATOM}published")).tzinfo is not None
        assert entry.find(f"{ATOM}title").get(XML_LANG) in {"nb", "sv", "da", "fi", "is", "en"}
        assert entry.find(f"{ATOM}content").get("type") == "html"
        assert entry.find(f"{ATOM}link").get("href").startswith("http://localhost/cases/")


def test_a_filtered_feed_holds_the_matching_cases_newest_first(
    client: FlaskClient, demo: None
) -> None:
    feed = _feed(client, "?theme=employment&country=SE")
    search = client.get("/api/v1/search?country=SE&theme=employment&sort=newest&per_page=50")

    assert feed.findtext(f"{ATOM}title") == "New cases: Sweden · Employment"
    assert feed.findtext(f"{ATOM}id") == (
        "http://localhost/feeds/cases.atom?country=SE&theme=employment"
    )
    entries = _entries(feed)
    assert [_slug(e) for e in entries] == [hit["slug"] for hit in search.json["results"]]
    assert 0 < len(entries) < 50
    published = [datetime.fromisoformat(e.findtext(f"{ATOM}published")) for e in entries]
    assert published == sorted(published, reverse=True)
    for entry in entries:
        assert "employment" in {c.get("term") for c in entry.findall(f"{ATOM}category")}
        case = db.session.scalar(select(Case).where(Case.slug == _slug(entry)))
        assert case.country == "SE"


def test_the_same_filters_in_another_order_are_the_same_feed(
    client: FlaskClient, demo: None
) -> None:
    one = _feed(client, "?theme=employment&country=SE&q=%20spr%C3%A5k%20")
    other = _feed(client, "?country=SE&q=spr%C3%A5k&theme=employment")

    assert one.findtext(f"{ATOM}id") == other.findtext(f"{ATOM}id")
    assert one.findtext(f"{ATOM}title") == "New cases: “språk” · Sweden · Employment"


def test_the_feed_title_speaks_the_reader_language(client: FlaskClient, demo: None) -> None:
    feed = _feed(client, "?country=SE&theme=employment", **{"Accept-Language": "sv"})

    assert "Sverige" in feed.findtext(f"{ATOM}title")


def test_a_case_is_in_the_feed_only_while_published_and_new_ones_come_first(
    client: FlaskClient, demo: None
) -> None:
    editor = _editor()
    case = _new_case(editor, "Nyanlända startar företag", themes=["employment"])
    query = "?theme=employment&country=SE"

    assert case.slug not in [_slug(e) for e in _entries(_feed(client, query))]

    decide(case, "publish", editor)
    db.session.rollback()
    assert _slug(_entries(_feed(client, query))[0]) == case.slug
    assert _slug(_entries(_feed(client))[0]) == case.slug

    decide(case, "unpublish", editor)
    db.session.rollback()
    assert case.slug not in [_slug(e) for e in _entries(_feed(client))]


def test_hostile_text_is_escaped_and_the_feed_stays_well_formed(
    client: FlaskClient, demo: None
) -> None:
    editor = _editor()
    body = 'Före <script>alert("x")</script> & **efter**'
    case = _new_case(editor, HOSTILE, summary="Kort & <b>gott</b>", body=body)
    decide(case, "publish", editor)
    with write_transaction():  # control characters XML cannot carry, e.g. from an old import
        db.session.add(case)
        case.summary = "Kort\x0b & <b>gott</b>\x1f"

    entry = _entries(_feed(client))[0]

    assert entry.findtext(f"{ATOM}title") == HOSTILE
    assert entry.find(f"{ATOM}title").get(XML_LANG) == "sv"
    assert entry.findtext(f"{ATOM}summary") == "Kort & <b>gott</b>"
    content = entry.findtext(f"{ATOM}content")
    assert "<strong>efter</strong>" in content
    assert "<script" not in content


def test_a_bad_parameter_is_a_400_with_its_reason(client: FlaskClient, demo: None) -> None:
    response = client.get("/feeds/cases.atom?country=XX")

    assert response.status_code == 400
    assert "XX is not a valid value for country." in response.text
    assert client.get("/feeds/cases.atom?theme=%3Cscript%3E").status_code == 400


def test_a_reader_polling_an_unchanged_feed_gets_304(client: FlaskClient, demo: None) -> None:
    first = client.get("/feeds/cases.atom?theme=employment")
    etag = first.headers["ETag"]

    again = client.get("/feeds/cases.atom?theme=employment", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    since = {"If-Modified-Since": first.headers["Last-Modified"]}
    assert client.get("/feeds/cases.atom?theme=employment", headers=since).status_code == 304

    editor = _editor()
    decide(_new_case(editor, "Ny arbetsmarknadsinsats", themes=["employment"]), "publish", editor)
    changed = client.get("/feeds/cases.atom?theme=employment", headers={"If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


def _head_feeds(html: str) -> dict[str, str]:
    head = html.split("</head>")[0]
    found = re.findall(
        r'<link rel="alternate" type="application/atom\+xml" title="([^"]*)" href="([^"]*)">',
        head,
    )
    return {href.replace("&amp;", "&"): title for title, href in found}


def test_pages_announce_the_feeds_that_fit_them(client: FlaskClient, demo: None) -> None:
    home = client.get("/").text
    assert _head_feeds(home) == {"/feeds/cases.atom": "New cases"}
    assert '<a href="/feeds/cases.atom">New cases (Atom feed)</a>' in home

    search = client.get("/search?theme=employment&country=SE").text
    assert _head_feeds(search) == {
        "/feeds/cases.atom": "New cases",
        "/feeds/cases.atom?country=SE&theme=employment": "New cases: Sweden · Employment",
    }
    subscribe = re.search(r'<a href="([^"]+)" type="application/atom\+xml">([^<]+)</a>', search)
    assert subscribe.group(1).replace("&amp;", "&") == (
        "/feeds/cases.atom?country=SE&theme=employment"
    )
    assert subscribe.group(2) == "Subscribe to new cases matching this search (Atom)"

    theme = client.get("/themes/employment").text
    assert "/feeds/cases.atom?theme=employment" in _head_feeds(theme)
    assert _head_feeds(client.get("/search?country=XX").text) == {"/feeds/cases.atom": "New cases"}
    missing_theme = client.get("/themes/no-such-theme")
    assert missing_theme.status_code == 404
    assert _head_feeds(missing_theme.text) == {"/feeds/cases.atom": "New cases"}
