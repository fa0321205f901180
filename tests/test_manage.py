"""The editors' management pages, used as an editor would use them in a browser."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, Event, Material, Organisation, Person, Role, Session, SessionPerson
from kb.services import accounts
from tests.web_helpers import GOOD_PASSWORD, csrf_token, login, post_form

EDITOR = "editor@example.org"
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def page_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def field_errors(html: str, field_id: str) -> str:
    """The error list tied to one field (what a screen reader announces with it)."""
    match = re.search(
        rf'<ul class="errors" id="{re.escape(field_id)}-errors">(.*?)</ul>', html, re.S
    )
    return page_text(match.group(1)) if match else ""


def account(email: str, role: Role) -> None:
    accounts.set_password(accounts.create_user(email, role), GOOD_PASSWORD)


@pytest.fixture
def editor(app: Flask, client: FlaskClient) -> FlaskClient:
    """The client, logged in as an editor."""
    account(EDITOR, Role.EDITOR)
    assert login(client, EDITOR, GOOD_PASSWORD).status_code == 302
    return client


def fresh() -> None:
    """End the test's own read transaction, so it sees what the requests committed since."""
    db.session.rollback()


def count(model: type) -> int:
    fresh()
    return db.session.scalar(select(func.count()).select_from(model))


def _id(model: type, **where: object) -> int:
    fresh()
    return db.session.scalar(
        select(model.id).where(*(getattr(model, k) == v for k, v in where.items()))
    )


def _location(response: Any) -> str:
    return response.headers["Location"]


def test_only_editors_and_admins_may_use_the_management_pages(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    event_id = _id(Event, slug="nyanlanda-i-jobb")
    session_id = db.session.scalar(select(Session.id).where(Session.event_id == event_id))
    person_id = _id(Person, name="Lars Fredrik Mørch")
    pages = [
        "/editor/events/",
        "/editor/events/new",
        f"/editor/events/{event_id}",
        f"/editor/events/{event_id}/sessions/new",
        f"/editor/sessions/{session_id}",
        "/editor/people/",
        "/editor/people/new",
        f"/editor/people/{person_id}",
        f"/editor/people/{person_id}/export",
        f"/editor/people/{person_id}/erase",
        "/editor/organisations/",
        "/editor/organisations/new",
        f"/editor/organisations/{_id(Organisation, slug='nordregio')}",
        "/editor/vocabularies/",
        "/editor/vocabularies/new",
        "/editor/vocabularies/1",
    ]
    posts = [
        f"/editor/sessions/{session_id}/links",
        f"/editor/sessions/{session_id}/files",
        f"/editor/materials/{_id(Material, session_id=session_id) or 1}/remove",
        f"/editor/people/{person_id}/erase",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in _location(response)

    account("speaker@example.org", Role.SPEAKER)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    token = csrf_token(client.get("/login").text)
    for url in pages:
        assert client.get(url).status_code == 403, url
    for url in posts:
        assert client.post(url, data={"csrf_token": token}).status_code == 403, url
    assert _id(Person, name="Lars Fredrik Mørch") == person_id

    account("admin@example.org", Role.ADMIN)
    login(client, "admin@example.org", GOOD_PASSWORD)
    for url in pages:
        assert client.get(url).status_code == 200, url
    menu = client.get("/editor/events/").text
    for label in ("Events", "People", "Organisations", "Vocabularies"):
        assert f">{label}</a>" in menu
    assert client.get("/editor/events/99999").status_code == 404
    assert client.get("/editor/people/99999/export").status_code == 404


def test_an_editor_creates_an_event_with_a_session_that_the_public_sees(
    app: Flask, editor: FlaskClient
) -> None:
    created = post_form(
        editor, "/editor/organisations/new", name="Malmö stad", country="SE", website=""
    )
    assert created.status_code == 302
    organisation_id = _id(Organisation, name="Malmö stad")
    person = post_form(
        editor, "/editor/people/new", name="Åsa Lind", organisation=str(organisation_id)
    )
    assert person.status_code == 302
    person_id = _id(Person, name="Åsa Lind")

    response = post_form(
        editor,
        "/editor/events/new",
        title="Integrering i Malmö 2025",
        place="Slagthuset",
        city="Malmö",
        country="SE",
        start_date="2025-03-04",
        end_date="2025-03-05",
        description="Två dagar om **arbete**.",
        language="sv",
        registration_url="https://example.org/anmalan",
        organisers=str(organisation_id),
    )
    assert response.status_code == 302
    event_id = _id(Event, title="Integrering i Malmö 2025")
    assert _location(response).endswith(f"/editor/events/{event_id}")
    edit_page = editor.get(_location(response)).text
    assert "Your changes have been saved." in edit_page
    assert f'href="/editor/events/{event_id}/sessions/new"' in edit_page

    session = post_form(
        editor,
        f"/editor/events/{event_id}/sessions/new",
        title="Mentorer på arbetsplatsen",
        starts_at="2025-03-04T10:30",
        ends_at="2025-03-04T11:15",
        room="Sal A",
        description="",
        position="0",
        speakers=str(person_id),
    )
    assert session.status_code == 302
    session_id = _id(Session, title="Mentorer på arbetsplatsen")
    edit_page = editor.get(f"/editor/events/{event_id}").text
    assert f'href="/editor/invitations?session_id={session_id}"' in edit_page

    event_page = editor.get("/events/integrering-i-malmo-2025")
    assert event_page.status_code == 200
    text = page_text(event_page.text)
    assert "Integrering i Malmö 2025" in text
    assert "Malmö stad" in text and "Slagthuset" in text
    assert "Mentorer på arbetsplatsen" in text and "10:30" in text
    assert "https://example.org/anmalan" in event_page.text
    session_page = editor.get("/events/integrering-i-malmo-2025/mentorer-pa-arbetsplatsen")
    assert "Åsa Lind" in page_text(session_page.text)

    # Renaming keeps the public address; dropping the speaker removes them from the page.
    form = editor.get(f"/editor/sessions/{session_id}").text
    renamed = editor.post(
        f"/editor/sessions/{session_id}",
        data={"csrf_token": csrf_token(form), "title": "Mentorer i arbetslivet", "position": "0"},
    )
    assert renamed.status_code == 302
    session_page = editor.get("/events/integrering-i-malmo-2025/mentorer-pa-arbetsplatsen")
    assert "Mentorer i arbetslivet" in session_page.text
    assert "Åsa Lind" not in session_page.text


def test_a_refused_event_form_says_why_and_keeps_what_was_typed(
    app: Flask, editor: FlaskClient
) -> None:
    response = post_form(
        editor,
        "/editor/events/new",
        title="Seminar\x07 om bolig",
        city="Tromsø",
        start_date="2025-05-02",
        end_date="2025-05-01",
        registration_url="javascript:alert(1)",
    )

    assert response.status_code == 422
    html = response.text
    assert "control characters" in field_errors(html, "title")
    assert "cannot be before the first day" in field_errors(html, "end_date")
    assert "https://" in field_errors(html, "registration_url")
    assert 'value="Tromsø"' in html and 'value="2025-05-02"' in html
    assert count(Event) == 0


def test_a_name_or_title_in_use_is_an_error_next_to_the_field(
    app: Flask, editor: FlaskClient, demo: None
) -> None:
    nordregio = _id(Organisation, slug="nordregio")
    name = db.session.get(Organisation, nordregio).name
    organisations = count(Organisation)

    created = post_form(editor, "/editor/organisations/new", name=name, country="SE")
    assert created.status_code == 422
    assert "already exists" in field_errors(created.text, "name")
    assert count(Organisation) == organisations

    other = _id(Organisation, name="innvandringstjenesten i Nærøy")
    renamed = post_form(editor, f"/editor/organisations/{other}", name=name)
    assert renamed.status_code == 422
    assert "already exists" in field_errors(renamed.text, "name")

    event = post_form(
        editor,
        f"/editor/events/{_id(Event, slug='integrering-i-norden-2018')}",
        title="Nyanlända i jobb – en tillväxtfaktor för kommuner",
    )
    assert event.status_code == 422
    assert "already exists" in field_errors(event.text, "title")

    morch = db.session.get(Person, _id(Person, name="Lars Fredrik Mørch"))
    person = post_form(
        editor, "/editor/people/new", name=morch.name, organisation=str(morch.organisation_id)
    )
    assert person.status_code == 422
    assert "already exists" in field_errors(person.text, "name")


def test_consent_is_recorded_with_who_and_when_and_governs_the_public_page(
    app: Flask, editor: FlaskClient
) -> None:
    created = post_form(
        editor,
        "/editor/people/new",
        name="Jonas Berg",
        title="Prosjektleder",
        email="jonas.berg@example.no",
        phone="+47 22 33 44 55",
    )
    fresh()
    person = db.session.scalar(select(Person).where(Person.name == "Jonas Berg"))
    edit_url = _location(created)
    assert edit_url.endswith(f"/editor/people/{person.id}")
    # Public only through a session or a published case: on a programme, without his details.
    assert editor.get(f"/people/{person.slug}").status_code == 404
    with write_transaction():
        event = Event(title="Arbeidsmarkedsdagen", slug="arbeidsmarkedsdagen")
        session = Session(event=event, title="Mentorordninger", slug="mentorordninger")
        db.session.add(SessionPerson(session=session, person_id=person.id))
    assert "jonas.berg@example.no" not in editor.get(f"/people/{person.slug}").text
    assert "No consent" in editor.get(edit_url).text

    fields = {"name": "Jonas Berg", "email": "jonas.berg@example.no", "phone": "+47 22 33 44 55"}
    assert post_form(editor, edit_url, consent="y", **fields).status_code == 302

    page = page_text(editor.get(edit_url).text)
    assert re.search(r"Consent recorded .*\d{4}.* by editor@example\.org", page)
    public = editor.get(f"/people/{person.slug}").text
    assert "jonas.berg@example.no" in public and "+47 22 33 44 55" in public

    assert post_form(editor, edit_url, **fields).status_code == 302  # consent withdrawn
    assert "jonas.berg@example.no" not in editor.get(f"/people/{person.slug}").text
    assert "No consent" in editor.get(edit_url).text

    refused = post_form(editor, edit_url, name="Jonas Berg", email="jonas at example", phone="x")
    assert refused.status_code == 422
    assert "e-mail address" in field_errors(refused.text, "email")
    assert "digits" in field_errors(refused.text, "phone")


def test_a_person_is_exported_and_erased_but_their_cases_stay(
    app: Flask, editor: FlaskClient, demo: None
) -> None:
    person = db.session.scalar(select(Person).where(Person.name == "Lars Fredrik Mørch"))
    person_id, slug = person.id, person.slug
    case_slug = db.session.scalar(select(Case.slug).where(Case.ref == "c04"))
    assert f"/people/{slug}" in editor.get(f"/cases/{case_slug}").text

    export = editor.get(f"/editor/people/{person_id}/export")
    assert export.status_code == 200
    assert export.mimetype == "application/json"
    assert export.headers["Content-Disposition"].startswith("attachment")
    data = json.loads(export.data)
    assert data["name"] == "Lars Fredrik Mørch"
    assert [c["ref"] for c in data["case_contacts"]] == ["c04"]

    confirm = editor.get(f"/editor/people/{person_id}/erase")
    assert confirm.status_code == 200
    text = page_text(confirm.text)
    assert "cannot be undone" in text
    assert data["case_contacts"][0]["case"] in text
    assert data["sessions"][0]["session"] in text
    assert _id(Person, id=person_id) == person_id  # looking is not erasing

    erased = editor.post(
        f"/editor/people/{person_id}/erase", data={"csrf_token": csrf_token(confirm.text)}
    )
    assert erased.status_code == 302
    assert _location(erased).endswith("/editor/people/")
    assert "Lars Fredrik Mørch has been erased" in editor.get(_location(erased)).text
    case_page = editor.get(f"/cases/{case_slug}")
    assert case_page.status_code == 200
    assert f"/people/{slug}" not in case_page.text
    assert editor.get(f"/people/{slug}").status_code == 404
    assert editor.get(f"/editor/people/{person_id}").status_code == 404


def test_the_people_list_can_be_searched(app: Flask, editor: FlaskClient, demo: None) -> None:
    page = page_text(editor.get("/editor/people/?q=m%C3%B8rch").text)
    assert "Lars Fredrik Mørch" in page
    assert "Marianne Solbakken" not in page
    assert "Nobody's name contains" in page_text(editor.get("/editor/people/?q=zzz%25").text)


def _session_with_event(editor: FlaskClient) -> tuple[int, str]:
    event = post_form(editor, "/editor/events/new", title="Webinar om bosetting")
    event_id = int(_location(event).rsplit("/", 1)[1])
    session = post_form(
        editor, f"/editor/events/{event_id}/sessions/new", title="Erfaringer", position="0"
    )
    return int(_location(session).rsplit("/", 1)[1]), "/events/webinar-om-bosetting/erfaringer"


def post_from(client: FlaskClient, page: str, url: str, **fields: object) -> Any:
    """Post to ``url`` a form shown on ``page`` (forms that have no page of their own)."""
    return client.post(url, data={"csrf_token": csrf_token(client.get(page).text), **fields})


def _upload(editor: FlaskClient, session_id: int, content: bytes, filename: str) -> Any:
    token = csrf_token(editor.get(f"/editor/sessions/{session_id}").text)
    return editor.post(
        f"/editor/sessions/{session_id}/files",
        data={
            "file-csrf_token": token,
            "file-title": "Lysbilder",
            "file-kind": "slides",
            "file-file": (io.BytesIO(content), filename),
        },
        content_type="multipart/form-data",
    )


def test_session_material_is_uploaded_linked_and_removed(app: Flask, editor: FlaskClient) -> None:
    session_id, public_url = _session_with_event(editor)
    uploads = Path(app.config["UPLOAD_DIR"])

    mislabelled = _upload(editor, session_id, b"#!/bin/sh\necho hello\n", "slides.pdf")
    assert mislabelled.status_code == 422
    assert "type of file is not accepted" in field_errors(mislabelled.text, "file-file")
    assert 'value="Lysbilder"' in mislabelled.text
    empty = _upload(editor, session_id, b"", "empty.pdf")
    assert empty.status_code == 422
    assert "empty" in field_errors(empty.text, "file-file")
    assert count(Material) == 0
    assert not [p for p in uploads.iterdir() if p.is_file()] if uploads.exists() else True

    assert _upload(editor, session_id, PDF, "lysbilder.pdf").status_code == 302
    page = editor.get(public_url).text
    assert "Lysbilder" in page
    download = re.search(r'href="(/materials/\d+/lysbilder\.pdf)"', page)
    assert download
    with editor.get(download.group(1)) as file:
        assert file.data == PDF

    session_page = f"/editor/sessions/{session_id}"
    bad_link = post_from(
        editor, session_page, f"/editor/sessions/{session_id}/links", **{"link-title": "Opptak"}
    )
    assert bad_link.status_code == 422
    assert field_errors(bad_link.text, "link-url")
    link = post_from(
        editor,
        session_page,
        f"/editor/sessions/{session_id}/links",
        **{"link-title": "Opptak", "link-kind": "recording", "link-url": "https://example.org/v"},
    )
    assert link.status_code == 302
    page = page_text(editor.get(public_url).text)
    assert page.index("Lysbilder") < page.index("Opptak")

    fresh()
    stored = db.session.scalar(select(Material).where(Material.title == "Lysbilder"))
    stored_path = uploads / stored.stored_name
    assert stored_path.exists()
    removed = post_from(editor, session_page, f"/editor/materials/{stored.id}/remove")
    assert removed.status_code == 302
    assert "Lysbilder" not in editor.get(public_url).text
    assert not stored_path.exists()


def test_editors_add_and_relabel_vocabulary_terms(app: Flask, editor: FlaskClient) -> None:
    added = post_form(
        editor,
        "/editor/vocabularies/new",
        vocabulary="theme",
        key="digital-inclusion",
        label_en="Digital inclusion",
        label_sv="Digital delaktighet",
    )
    assert added.status_code == 302
    assert editor.get("/themes/digital-inclusion").status_code == 200
    assert "Digital delaktighet" in editor.get("/editor/vocabularies/").text

    again = post_form(
        editor, "/editor/vocabularies/new", vocabulary="theme", key="employment", label_en="Jobs"
    )
    assert again.status_code == 422
    assert "already has a term" in field_errors(again.text, "key")
    bad_key = post_form(
        editor, "/editor/vocabularies/new", vocabulary="theme", key="Bad Key", label_en="X"
    )
    assert bad_key.status_code == 422
    assert field_errors(bad_key.text, "key")

    term_url = re.search(
        r'href="(/editor/vocabularies/\d+)">Employment<', editor.get("/editor/vocabularies/").text
    ).group(1)
    labels = {f"label_{code}": "" for code in ("nb", "sv", "da", "fi", "is")}
    assert (
        post_form(editor, term_url, label_en="Work", label_nn="Arbeid", **labels).status_code == 302
    )
    listing = editor.get("/editor/vocabularies/").text
    assert ">Work<" in listing and "nn: Arbeid" in listing
    assert "Arbeid og sysselsetting" not in listing  # labels left empty are removed
