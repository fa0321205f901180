"""Case, session, theme and organisation pages lead to one another: a speaker's slides
attached to their case show under the session they presented in, the session's material
shows on the case page, and an organisation page lists the cases of its people."""

from __future__ import annotations

import io
import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, Session
from kb.services.exchange.importer import import_plan, plan_import
from kb.services.materials import attach_file
from tests.factories import case_record, make_pdf

SESSION_URL = "/events/seminar-bodo/jobb-forst"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _load(*cases: dict) -> None:
    import_plan(
        plan_import(
            {
                "format": "nordic-good-practice-kb",
                "version": 1,
                "organisations": [
                    {"name": "Bodø kommune", "country": "NO", "website": "https://bodo.kommune.no"}
                ],
                "events": [
                    {
                        "title": "Seminar i Bodø",
                        "slug": "seminar-bodo",
                        "start_date": "2024-05-04",
                        "sessions": [
                            {
                                "title": "Jobb først",
                                "slug": "jobb-forst",
                                "materials": [
                                    {
                                        "title": "Opptak av seminaret",
                                        "url": "https://example.org/opptak",
                                    }
                                ],
                            }
                        ],
                    }
                ],
                "cases": list(cases),
            }
        )
    )


def _presented(ref: str, status: str = "published") -> dict:
    return case_record(
        ref,
        f"Kvalifisering i Bodø ({ref})",
        "nb",
        "NO",
        status=status,
        themes=["employment"],
        sessions=[{"event": "Seminar i Bodø", "session": "Jobb først"}],
        contacts=[{"name": f"Kari {ref}", "organisation": "Bodø kommune"}],
    )


def _attach_slides(ref: str, tmp_path) -> None:
    case = db.session.scalar(select(Case).where(Case.ref == ref))
    pdf = make_pdf(tmp_path / f"{ref}.pdf", "Lysark fra Bodø")
    attach_file(
        case,
        io.BytesIO(pdf.read_bytes()),
        title=f"Lysark {ref}",
        original_filename=f"lysark-{ref}.pdf",
    )


def test_a_published_cases_slides_show_under_its_session_marked_with_the_case(
    app: Flask, client: FlaskClient, tmp_path
) -> None:
    _load(_presented("pub"))
    _attach_slides("pub", tmp_path)

    html = client.get(SESSION_URL, headers={"Accept-Language": "en"}).text
    materials = _text(html.split('id="materials"')[1].split("</section>")[0])

    assert "Opptak av seminaret" in materials  # the session's own
    assert "Lysark pub" in materials
    assert "From the case Kvalifisering i Bodø (pub)" in materials
    assert "No follow-up material" not in materials
    link = re.search(r'href="(/materials/\d+/lysark-pub\.pdf)"', html).group(1)
    with client.get(link) as download:
        assert download.status_code == 200


def test_a_session_with_only_case_material_does_not_say_nothing_was_published(
    app: Flask, client: FlaskClient, tmp_path
) -> None:
    _load(_presented("pub"))
    _attach_slides("pub", tmp_path)
    with write_transaction():
        session = db.session.scalar(select(Session).where(Session.slug == "jobb-forst"))
        session.materials.clear()

    text = _text(client.get(SESSION_URL, headers={"Accept-Language": "en"}).text)

    assert "Lysark pub" in text
    assert "No follow-up material" not in text


def test_the_case_page_shows_its_sessions_material_and_links_its_themes(
    app: Flask, client: FlaskClient
) -> None:
    _load(_presented("pub"))
    slug = db.session.scalar(select(Case.slug).where(Case.ref == "pub"))

    html = client.get(f"/cases/{slug}", headers={"Accept-Language": "en"}).text
    section = html.split('id="session-materials"')[1].split("</section>")[0]

    assert "From the session" in section
    assert f'href="{SESSION_URL}"' in section
    assert 'href="https://example.org/opptak"' in section
    assert 'href="/themes/employment"' in html
    assert client.get("/themes/employment").status_code == 200


def test_a_draft_cases_material_appears_nowhere_public(
    app: Flask, client: FlaskClient, tmp_path
) -> None:
    _load(_presented("pub"), _presented("draft", status="draft"))
    _attach_slides("draft", tmp_path)
    draft = db.session.scalar(select(Case).where(Case.ref == "draft"))
    material_id = draft.materials[0].id
    slug = draft.slug

    pages = [SESSION_URL, "/events/seminar-bodo", "/organisations/bodo-kommune", "/"]
    for url in pages:
        html = client.get(url).text
        assert "Lysark draft" not in html, url
        assert "Kvalifisering i Bodø (draft)" not in html, url
    assert client.get(f"/cases/{slug}").status_code == 404
    assert client.get(f"/materials/{material_id}/lysark-draft.pdf").status_code == 404


def test_an_organisation_page_shows_its_country_website_and_published_cases(
    app: Flask, client: FlaskClient
) -> None:
    _load(_presented("pub"), _presented("draft", status="draft"))

    html = client.get("/organisations/bodo-kommune", headers={"Accept-Language": "en"}).text
    text = _text(html)

    assert "Norway" in text
    assert 'href="https://bodo.kommune.no"' in html
    assert "Kvalifisering i Bodø (pub)" in text
    assert "Kvalifisering i Bodø (draft)" not in text
