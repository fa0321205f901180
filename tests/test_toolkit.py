"""``kb.toolkit``, the plugins' one door into the core: its links reach the pages they name,
its removed names say what replaces them, and every name it exports is documented."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict

from kb import toolkit
from kb.extensions import db
from kb.models import Case, CaseStatus, Material, Session

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"


def published_case() -> Case:
    case = db.session.scalars(
        select(Case).where(Case.status == CaseStatus.PUBLISHED).order_by(Case.id)
    ).first()
    assert case is not None
    return case


def a_session() -> Session:
    session = db.session.scalars(select(Session).order_by(Session.id)).first()
    assert session is not None
    return session


def test_page_links_reach_the_pages_they_name(app: Flask, client: FlaskClient, demo: None) -> None:
    case, session = published_case(), a_session()
    with app.test_request_context():
        links = {
            case.title: toolkit.case_url(case),
            session.event.title: toolkit.event_url(session.event),
            session.title: toolkit.session_url(session),
            "<html": toolkit.home_url(),
        }
        search = toolkit.search_url({"q": "arbeid", "country": ["NO", "SE"]})

    for shown, url in links.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert shown in response.get_data(as_text=True), url
    assert search == "/search?q=arbeid&country=NO&country=SE"
    assert client.get(search).status_code == 200


def test_download_links_give_the_case_and_the_whole_search(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    case = published_case()
    asked = MultiDict([("q", "arbeid"), ("page", "3"), ("country", "NO")])
    with app.test_request_context():
        one = toolkit.case_export_url(case, "json")
        every = toolkit.search_export_url("json", asked)

    document = json.loads(client.get(one).data)
    assert [record["ref"] for record in document["cases"]] == [case.ref]
    assert "page=" not in every
    assert every.startswith("/search/export/json?")
    assert client.get(every).status_code == 200


def test_absolute_links_use_the_base_url_also_outside_a_request(app: Flask, demo: None) -> None:
    app.config["BASE_URL"] = "https://kb.example.org/"
    case = published_case()
    material = Material(id=7, title="Rapport", original_filename="slutt rapport.pdf")

    assert toolkit.case_url(case, external=True) == f"https://kb.example.org/cases/{case.slug}"
    assert toolkit.material_url(material, external=True) == (
        "https://kb.example.org/materials/7/slutt%20rapport.pdf"
    )
    assert toolkit.current_page() is None


def test_current_page_names_the_core_page_a_request_shows(app: Flask) -> None:
    pages = {
        "/": "home",
        "/cases/any-slug": "case",
        "/themes/employment": "theme",
        "/search": "search",
        "/feeds/cases.atom": None,
        "/editor/": None,
    }
    for path, page in pages.items():
        with app.test_request_context(path):
            assert toolkit.current_page() == page, path


def test_a_removed_name_says_what_replaces_it() -> None:
    with pytest.raises(AttributeError, match=r"removed in 0\.2\.0; use published_case"):
        toolkit.catalogue  # noqa: B018
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        toolkit.nothing_here  # noqa: B018


def test_every_exported_name_is_documented() -> None:
    documented = set(re.findall(r"`([A-Za-z_]+)[`(]", DOCS.read_text(encoding="utf-8")))

    assert [name for name in toolkit.__all__ if name not in documented] == []
    assert [name for name in toolkit.REMOVED if name not in documented] == []
