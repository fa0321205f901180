"""Speakers submit cases, editors review them: the whole path through the web, as users do it."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from pydantic import ValidationError
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from kb.cli import main
from kb.extensions import db
from kb.models import Case, CaseRevision, CaseStatus, Material, Person, Role, Session
from kb.services import accounts, catalogue, submissions
from kb.services.exchange.schema import ContactIn, LinkIn
from kb.web.case_form import ContactForm, LinkForm
from tests.conftest import Inbox
from tests.web_helpers import (
    CASE_BODY,
    GOOD_PASSWORD,
    case_fields,
    csrf_token,
    form_values,
    login,
    new_case_form,
    path_of,
    post_form,
    with_values,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _account(email: str, role: Role) -> None:
    accounts.set_password(accounts.create_user(email, role), GOOD_PASSWORD)


def _naeroy() -> Session:
    session = catalogue.session("nyanlanda-i-jobb", "naeroy")
    assert session is not None
    return session


def _stored_files(app: Flask) -> set[str]:
    folder = Path(app.config["UPLOAD_DIR"])
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def _case_count() -> int:
    db.session.rollback()  # a new snapshot: the requests committed in their own sessions
    return db.session.scalar(select(func.count()).select_from(Case)) or 0


def test_invite_submit_review_change_publish_and_find(
    app: Flask, client: FlaskClient, demo: None, inbox: Inbox
) -> None:
    _account("editor@example.org", Role.EDITOR)
    session = _naeroy()
    editor = app.test_client()

    # The editor invites the speaker of the Nærøy session from the editors' pages.
    assert login(editor, "editor@example.org", GOOD_PASSWORD).status_code == 302
    invite_page = editor.get(f"/editor/invitations?session_id={session.id}")
    assert f'<option selected value="s{session.id}">' in invite_page.text
    sent = editor.post(
        "/editor/invitations",
        data={
            "csrf_token": csrf_token(invite_page.text),
            "email": "speaker@example.org",
            "place": f"s{session.id}",
        },
    )
    assert sent.status_code == 302

    # The mail arrives; the speaker sets a password and lands on the case form for the session.
    assert inbox.messages[-1]["To"] == "speaker@example.org"
    link = path_of(inbox.link())
    landed = post_form(client, link, password=GOOD_PASSWORD, confirm=GOOD_PASSWORD)
    assert landed.status_code == 302
    assert landed.headers["Location"] == f"/submissions/new?session={session.id}"
    fields = new_case_form(client, landed.headers["Location"])
    assert (("presented_at", f"s{session.id}")) in fields
    assert ("contacts-0-email", "speaker@example.org") in fields
    assert ("country", "") in fields  # not the event's (Sweden): the speaker chooses

    # They submit the case with an attachment.
    data = with_values(
        fields,
        **case_fields(contacts__0__name="Kari Nordmann"),
        contacts__0__role="prosjektleder",
        key_figures__0__label="I arbeid eller utdanning etter to år",
        key_figures__0__value="64,5",
        key_figures__0__unit="%",
        attachment_title="Lysbilder",
        send="y",
    )
    data["attachment"] = (io.BytesIO(PDF), "lysbilder.pdf")
    submitted = client.post(f"/submissions/new?session={session.id}", data=data)
    assert submitted.status_code == 302, submitted.text
    db.session.rollback()
    case = db.session.scalar(select(Case).where(Case.title == "Språkpraksis i lokale bedrifter"))
    assert case.status == CaseStatus.SUBMITTED and case.owner.email == "speaker@example.org"
    assert case.language == "nb"  # proposed from the text
    assert [s.slug for s in case.sessions] == ["naeroy"]
    assert [m.original_filename for m in case.materials] == ["lysbilder.pdf"]
    assert case.key_figures[0].value == 64.5
    assert client.get(f"/cases/{case.slug}").status_code == 404  # not public yet

    # The editor finds it in the queue and asks for a change; the speaker is e-mailed.
    queue = editor.get("/editor/")
    assert "Språkpraksis i lokale bedrifter" in queue.text
    review_page = editor.get(f"/editor/cases/{case.id}")
    asked = editor.post(
        f"/editor/cases/{case.id}/decision",
        data={
            "csrf_token": csrf_token(review_page.text),
            "decision": "request_changes",
            "message": "Skriv gjerne hvor mange som deltok.",
        },
    )
    assert asked.status_code == 302
    mail = inbox.messages[-1]
    assert mail["To"] == "speaker@example.org"
    assert "Skriv gjerne hvor mange som deltok." in mail.get_content()
    assert f"https://kb.example.org/submissions/{case.id}" in mail.get_content()
    assert "Språkpraksis i lokale bedrifter" not in editor.get("/editor/").text

    # The speaker sees the request, edits and submits again.
    edit_page = client.get(f"/submissions/{case.id}")
    assert "Skriv gjerne hvor mange som deltok." in edit_page.text
    fields = form_values(edit_page.text, f"/submissions/{case.id}")
    resent = client.post(
        f"/submissions/{case.id}",
        data=with_values(fields, body=CASE_BODY + " Det deltok 40 personer.", send="y"),
    )
    assert resent.status_code == 302

    # The editor sees exactly what changed since the request, and publishes.
    review_page = editor.get(f"/editor/cases/{case.id}")
    assert "<ins> Det deltok 40 personer.</ins>" in review_page.text
    published = editor.post(
        f"/editor/cases/{case.id}/decision",
        data={"csrf_token": csrf_token(review_page.text), "decision": "publish", "message": ""},
    )
    assert published.status_code == 302

    # Now it is public: on its page, on the session page, and found by search.
    assert client.get(f"/cases/{case.slug}").status_code == 200
    assert f"/cases/{case.slug}" in client.get("/events/nyanlanda-i-jobb/naeroy").text
    found = client.get("/api/v1/search", query_string={"q": "språkpraksis deltok"}).get_json()
    assert case.slug in [hit["slug"] for hit in found["results"]]
    # The speaker can no longer change it on their own: the form proposes an update, which
    # waits for the editors (tests/test_freshness.py), and the live case stays as it is.
    assert client.get(f"/submissions/{case.id}").status_code == 200
    db.session.rollback()
    actions = [r.action for r in db.session.scalars(select(CaseRevision).order_by("number"))]
    assert actions == ["submitted", "changes_requested", "submitted", "published"]


def test_a_failed_save_keeps_everything_typed_and_marks_the_fields(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _account("speaker@example.org", Role.SPEAKER)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    fields = new_case_form(client)
    response = client.post(
        "/submissions/new",
        data=with_values(
            fields,
            title="Mentorer for nyankomne",
            body="Et langt avsnitt som ikke skal gå tapt.",
            links__0__url="javascript:alert(1)",
            key_figures__0__label="Deltakere",
            key_figures__0__value="mange",
            end_year="2015",
            send="y",
        ),
    )
    assert response.status_code == 422
    page = response.text
    assert "Nothing was saved yet" in page
    assert "Mentorer for nyankomne" in page and "Et langt avsnitt som ikke skal gå tapt." in page
    assert 'id="summary-errors"' in page  # required to submit
    assert 'id="country-errors"' in page
    assert 'id="links-0-url-errors"' in page
    assert 'id="key_figures-0-value-errors"' in page
    assert 'id="end_year-errors"' in page
    assert _case_count() == 52


def test_the_language_is_proposed_from_the_text_and_can_be_changed(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _account("speaker@example.org", Role.SPEAKER)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    fields = new_case_form(client)
    swedish = (
        "Kommunen och företagen i regionen har tillsammans byggt en väg till arbete för nyanlända."
    )
    preview = client.post(
        "/submissions/new",
        data=with_values(fields, title="Vägen till jobb", body=swedish, preview="y"),
    )
    assert preview.status_code == 200
    assert '<option selected value="sv">' in preview.text
    assert "<p>Kommunen och företagen" in preview.text  # the Markdown preview

    chosen = with_values(
        form_values(preview.text, "/submissions/"), **case_fields(body=swedish), language="da"
    )
    assert client.post("/submissions/new", data=chosen).status_code == 302
    db.session.rollback()
    assert db.session.scalar(select(Case.language).where(Case.owner_id.is_not(None))) == "da"


def test_script_and_javascript_links_in_markdown_never_run(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _account("speaker@example.org", Role.SPEAKER)
    _account("editor@example.org", Role.EDITOR)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    hostile = (
        '<script>alert("x")</script>\n\n[klikk](javascript:alert(1)) '
        "<img src=x onerror=alert(1)> [ok](https://example.org)"
    )
    fields = new_case_form(client)
    preview = client.post(
        "/submissions/new", data=with_values(fields, **case_fields(body=hostile), preview="y")
    )
    saved = client.post("/submissions/new", data=with_values(fields, **case_fields(body=hostile)))
    assert saved.status_code == 302
    db.session.rollback()
    case = db.session.scalar(select(Case).where(Case.owner_id.is_not(None)))
    editor = app.test_client()
    login(editor, "editor@example.org", GOOD_PASSWORD)
    review_page = editor.get(f"/editor/cases/{case.id}")
    editor.post(
        f"/editor/cases/{case.id}/decision",
        data={"csrf_token": csrf_token(review_page.text), "decision": "publish"},
    )
    public = client.get(f"/cases/{case.slug}")
    for page in (preview.text, review_page.text, public.text):
        assert "<script>alert" not in page
        assert 'href="javascript:' not in page
        assert "<img" not in page
    assert '<a href="https://example.org"' in public.text


@pytest.mark.parametrize(
    ("content", "filename", "message"),
    [
        (b"#!/bin/sh\nrm -rf /\n", "slides.pdf", "This type of file is not accepted"),
        (PDF + b"0" * 4096, "big.pdf", "The file is larger than"),
        (b"", "empty.pdf", "The file is empty"),
    ],
    ids=["mislabelled", "oversized", "empty"],
)
def test_a_refused_upload_stores_nothing_and_keeps_the_form(
    app: Flask, client: FlaskClient, demo: None, content: bytes, filename: str, message: str
) -> None:
    app.config["MATERIAL_MAX_BYTES"] = 2048 if filename == "big.pdf" else 1024 * 1024
    _account("speaker@example.org", Role.SPEAKER)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    before = _stored_files(app)
    data = with_values(new_case_form(client), **case_fields())
    data["attachment"] = (io.BytesIO(content), filename)
    response = client.post("/submissions/new", data=data)
    assert response.status_code == 422
    assert message in response.text
    assert "Språkpraksis i lokale bedrifter" in response.text
    assert _case_count() == 52
    assert _stored_files(app) == before


def test_a_path_traversal_file_name_is_only_a_label(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _account("speaker@example.org", Role.SPEAKER)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    data = with_values(new_case_form(client), **case_fields())
    data["attachment"] = (io.BytesIO(PDF), "../../../../etc/cron.d/evil.pdf")
    assert client.post("/submissions/new", data=data).status_code == 302
    db.session.rollback()
    material = db.session.scalar(
        select(Material).where(Material.case_id.is_not(None)).order_by(Material.id.desc())
    )
    assert material.original_filename == "evil.pdf"
    assert "/" not in material.stored_name and material.stored_name.endswith(".pdf")
    assert (Path(app.config["UPLOAD_DIR"]) / material.stored_name).read_bytes() == PDF


def test_a_forged_csrf_token_is_refused_and_nothing_changes(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _account("speaker@example.org", Role.SPEAKER)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    data = with_values(new_case_form(client), **case_fields(), csrf_token="forged")
    response = client.post("/submissions/new", data=data)
    assert response.status_code == 400
    assert "did not come from this site" in response.text
    assert _case_count() == 52


def test_speakers_edit_only_their_own_unpublished_cases(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _account("one@example.org", Role.SPEAKER)
    _account("two@example.org", Role.SPEAKER)
    login(client, "one@example.org", GOOD_PASSWORD)
    fields = new_case_form(client)
    assert (
        client.post("/submissions/new", data=with_values(fields, **case_fields())).status_code
        == 302
    )
    db.session.rollback()
    case = db.session.scalar(select(Case).where(Case.owner_id.is_not(None)))
    assert client.get(f"/submissions/{case.id}").status_code == 200

    other = app.test_client()
    login(other, "two@example.org", GOOD_PASSWORD)
    assert other.get(f"/submissions/{case.id}").status_code == 403
    forged = other.post(
        f"/submissions/{case.id}",
        data=with_values(
            fields,
            **case_fields(title="Overtatt"),
            csrf_token=csrf_token(other.get("/submissions/new").text),
        ),
    )
    assert forged.status_code == 403
    db.session.rollback()
    assert db.session.get(Case, case.id).title == "Språkpraksis i lokale bedrifter"
    assert "Språkpraksis" not in other.get("/submissions/").text
    assert other.get("/editor/").status_code == 403


def test_a_speaker_cannot_rewrite_someone_elses_contact_details(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _account("speaker@example.org", Role.SPEAKER)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    data = with_values(
        new_case_form(client),
        **case_fields(contacts__0__name="Helena Lagercrantz"),
        contacts__0__organisation="Nordregio",
        contacts__0__email="helena.lagercrantz@nordregio.se",
        contacts__0__phone="+46 000 00 00",
    )
    assert client.post("/submissions/new", data=data).status_code == 302
    db.session.rollback()
    helena = db.session.scalar(select(Person).where(Person.name == "Helena Lagercrantz"))
    assert helena.phone != "+46 000 00 00"
    db.session.rollback()
    case = db.session.scalar(select(Case).where(Case.owner_id.is_not(None)))
    assert [c.person.name for c in case.contacts] == ["Helena Lagercrantz"]


def test_consent_records_when_and_by_whom(app: Flask, client: FlaskClient, demo: None) -> None:
    _account("speaker@example.org", Role.SPEAKER)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    data = with_values(
        new_case_form(client),
        **case_fields(contacts__0__name="Ola Testperson"),
        contacts__0__email="ola@example.org",
        contacts__0__consent="y",
        contacts__1__name="Kari Testperson",
        contacts__1__email="kari@example.org",
    )
    assert client.post("/submissions/new", data=data).status_code == 302
    db.session.rollback()
    ola = db.session.scalar(select(Person).where(Person.name == "Ola Testperson"))
    kari = db.session.scalar(select(Person).where(Person.name == "Kari Testperson"))
    assert ola.consent_to_publish_contact and ola.consent_given_at is not None
    assert ola.consent_recorded_by.email == "speaker@example.org"
    assert not kari.consent_to_publish_contact and kari.consent_recorded_by is None


def test_an_editor_restores_an_earlier_version(app: Flask, client: FlaskClient, demo: None) -> None:
    _account("editor@example.org", Role.EDITOR)
    login(client, "editor@example.org", GOOD_PASSWORD)
    case = db.session.scalar(select(Case).where(Case.ref == "c04"))
    original_title = case.title
    fields = form_values(client.get(f"/submissions/{case.id}").text, f"/submissions/{case.id}")
    edited = client.post(
        f"/submissions/{case.id}", data=with_values(fields, title="Feil tittel", save="y")
    )
    assert edited.status_code == 302
    db.session.rollback()
    assert db.session.get(Case, case.id).status == CaseStatus.PUBLISHED  # an edit keeps it
    assert "Feil tittel" in client.get(f"/cases/{case.slug}").text

    review_page = client.get(f"/editor/cases/{case.id}")
    assert "<del>" in review_page.text and "Feil tittel" in review_page.text
    confirm = client.get(f"/editor/cases/{case.id}/revisions/1/restore")
    restored = client.post(
        f"/editor/cases/{case.id}/revisions/1/restore",
        data={"csrf_token": csrf_token(confirm.text), "mode": "publish"},
    )
    assert restored.status_code == 302
    db.session.rollback()
    assert db.session.get(Case, case.id).title == original_title
    assert original_title in client.get(f"/cases/{case.slug}").text
    history = client.get(f"/editor/cases/{case.id}").text
    assert "editor@example.org" in history and "an earlier version restored" in history


def test_unpublishing_and_archiving_take_a_case_off_the_site_and_out_of_search(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _account("editor@example.org", Role.EDITOR)
    login(client, "editor@example.org", GOOD_PASSWORD)
    case = db.session.scalar(select(Case).where(Case.ref == "c04"))

    def decide(decision: str) -> int:
        page = client.get(f"/editor/cases/{case.id}")
        return client.post(
            f"/editor/cases/{case.id}/decision",
            data={"csrf_token": csrf_token(page.text), "decision": decision},
        ).status_code

    def found() -> bool:
        hits = client.get("/api/v1/search", query_string={"q": case.title}).get_json()
        return case.slug in [hit["slug"] for hit in hits["results"]]

    assert found()
    assert decide("unpublish") == 302
    assert client.get(f"/cases/{case.slug}").status_code == 404 and not found()
    assert case.title in client.get("/editor/").text  # back in the queue
    assert decide("unpublish") == 409  # not published any more
    assert decide("archive") == 302
    assert client.get(f"/cases/{case.slug}").status_code == 404 and not found()
    assert decide("publish") == 302
    assert client.get(f"/cases/{case.slug}").status_code == 200 and found()
    assert decide("request_changes") == 409


def test_asking_for_changes_needs_a_message(app: Flask, client: FlaskClient, demo: None) -> None:
    _account("editor@example.org", Role.EDITOR)
    login(client, "editor@example.org", GOOD_PASSWORD)
    case = db.session.scalar(select(Case).where(Case.ref == "c04"))
    page = client.get(f"/editor/cases/{case.id}")
    client.post(
        f"/editor/cases/{case.id}/decision",
        data={"csrf_token": csrf_token(page.text), "decision": "unpublish"},
    )
    page = client.get(f"/editor/cases/{case.id}")
    response = client.post(
        f"/editor/cases/{case.id}/decision",
        data={"csrf_token": csrf_token(page.text), "decision": "request_changes", "message": " "},
    )
    assert response.status_code == 409
    assert "Write what the speaker should change." in response.text
    db.session.rollback()
    assert db.session.get(Case, case.id).status == CaseStatus.SUBMITTED


def test_erasing_a_person_removes_them_from_kept_revisions(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, demo: None
) -> None:
    _account("speaker@example.org", Role.SPEAKER)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    data = with_values(
        new_case_form(client),
        **case_fields(contacts__0__name="Ola Testperson"),
        contacts__0__email="ola@example.org",
    )
    client.post("/submissions/new", data=data)
    db.session.rollback()
    ola = db.session.scalar(select(Person).where(Person.name == "Ola Testperson"))
    result = runner.invoke(main, ["people", "erase", str(ola.id), "--yes"])
    assert result.exit_code == 0, result.output
    assert "1 kept revision(s) cleaned" in result.output
    db.session.rollback()
    for revision in db.session.scalars(select(CaseRevision)):
        assert "Ola Testperson" not in str(revision.data)


def test_an_editor_deletes_a_case_with_its_files_after_confirming(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    _account("speaker@example.org", Role.SPEAKER)
    _account("editor@example.org", Role.EDITOR)
    speaker = accounts.find_user("speaker@example.org")
    upload = submissions.Upload(io.BytesIO(PDF), "rapport.pdf", "Rapport")
    fields = case_fields(language="nb")
    case = submissions.save(
        None, submissions.Submission(fields, submit=True, upload=upload), speaker
    )
    case_id, title = case.id, case.title
    stored = Path(app.config["UPLOAD_DIR"]) / case.materials[0].stored_name
    assert stored.exists()

    login(client, "speaker@example.org", GOOD_PASSWORD)
    page = client.get("/submissions/new")
    refused = client.post(
        f"/editor/cases/{case_id}/delete", data={"csrf_token": csrf_token(page.text)}
    )
    assert refused.status_code == 403

    client = app.test_client()
    login(client, "editor@example.org", GOOD_PASSWORD)
    confirm = client.get(f"/editor/cases/{case_id}/delete")
    assert confirm.status_code == 200
    assert title in confirm.text and "Delete for good" in confirm.text
    before = _case_count()
    deleted = client.post(
        f"/editor/cases/{case_id}/delete", data={"csrf_token": csrf_token(confirm.text)}
    )

    assert deleted.status_code == 302
    assert _case_count() == before - 1
    revisions = select(func.count()).where(CaseRevision.case_id == case_id)
    assert db.session.scalar(revisions.select_from(CaseRevision)) == 0
    assert not stored.exists()
    assert client.get(f"/editor/cases/{case_id}").status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "ana@example.org"),
        ("email", " ana@example.org "),
        ("email", "ana@example"),
        ("email", "ana @example.org"),
        ("phone", "+47 22 33 44 55"),
        ("phone", "ring meg"),
        ("url", "https://example.org/rapport"),
        ("url", "javascript:alert(1)"),
        ("url", "https://exa mple.org"),
    ],
)
def test_the_case_form_takes_what_an_import_takes(app: Flask, field: str, value: str) -> None:
    """One rule for links, e-mail addresses and phone numbers: the exchange format's."""
    row = {"name": "Ana", field: value} if field != "url" else {field: value}
    model = LinkIn if field == "url" else ContactIn
    form_class = LinkForm if field == "url" else ContactForm
    try:
        model.model_validate(row)
        imported = True
    except ValidationError:
        imported = False

    with app.test_request_context(headers={"Accept-Language": "sv"}):
        form = form_class(MultiDict(row))
        assert form.validate() is imported
        assert bool(form[field].errors) is not imported
