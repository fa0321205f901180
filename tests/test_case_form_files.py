"""A file chosen on the case form survives Preview and every error, and is saved with the case;
every problem is found in one round and listed at the top, in the user's language."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import LANGUAGE_COOKIE
from kb.models import Case, PendingUpload, Role
from kb.models.base import utcnow
from kb.services import accounts
from kb.services.extraction import sandbox
from tests.factories import make_pdf
from tests.web_helpers import GOOD_PASSWORD, form_values, login, with_values

BODY = (
    "Kommunen og bedriftene i regionen laget sammen et løp der flyktninger får språkpraksis "
    "og fagopplæring i lokale bedrifter. Etter to år var de fleste i arbeid eller utdanning."
)


def _speaker(client: FlaskClient, email: str = "speaker@example.org") -> None:
    accounts.set_password(accounts.create_user(email, Role.SPEAKER), GOOD_PASSWORD)
    assert login(client, email, GOOD_PASSWORD).status_code == 302


def _form(client: FlaskClient) -> list[tuple[str, str]]:
    return form_values(client.get("/submissions/new").text, "/submissions/")


def _complete(**changes: Any) -> dict[str, Any]:
    return {
        "title": "Språkpraksis i lokale bedrifter",
        "summary": "Flyktninger lærer norsk på jobb i lokale bedrifter.",
        "body": BODY,
        "country": "NO",
        "themes": ["employment"],
        "contacts__0__name": "Kari Nordmann",
        "attachment_title": "Lysbilder",
        **changes,
    }


def _slides(tmp_path: Path) -> tuple[io.BytesIO, str]:
    pdf = make_pdf(tmp_path / "slides.pdf", "Lysbilder om språkpraksis")
    return io.BytesIO(pdf.read_bytes()), "slides.pdf"


def _files(app: Flask) -> set[str]:
    folder = Path(app.config["UPLOAD_DIR"])
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def _saved_case() -> Case:
    db.session.rollback()
    case = db.session.scalar(select(Case).where(Case.owner_id.is_not(None)))
    assert case is not None
    return case


def _held_line(html: str) -> str:
    match = re.search(r'<div class="field held-upload".*?</div>', html, re.S)
    assert match, "the chosen file is not shown"
    return re.sub(r"<[^>]+>|\s+", " ", match.group(0))


def test_a_file_survives_preview_and_an_error_and_is_saved_once_read(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    _speaker(client)
    read_before = sandbox.counter(app).children
    data = with_values(_form(client), **_complete(), preview="y")
    data["attachment"] = _slides(tmp_path)

    preview = client.post("/submissions/new", data=data)

    assert preview.status_code == 200
    assert "slides.pdf" in _held_line(preview.text) and "kB" in _held_line(preview.text)
    assert sandbox.counter(app).children == read_before + 1  # its text is read here, once

    # An error on the next round (the summary emptied): the file is still there.
    fields = form_values(preview.text, "/submissions/")
    failed = client.post("/submissions/new", data=with_values(fields, summary="", send="y"))
    assert failed.status_code == 422
    assert "slides.pdf" in _held_line(failed.text)
    assert 'href="#summary"' in failed.text

    fields = form_values(failed.text, "/submissions/")
    saved = client.post("/submissions/new", data=with_values(fields, **_complete(), send="y"))

    assert saved.status_code == 302
    case = _saved_case()
    [material] = case.materials
    assert (material.original_filename, material.title) == ("slides.pdf", "Lysbilder")
    assert "språkpraksis" in (material.extracted_text or "")
    assert sandbox.counter(app).children == read_before + 1  # not read again on saving
    assert (Path(app.config["UPLOAD_DIR"]) / material.stored_name).exists()
    assert db.session.scalar(select(PendingUpload)) is None  # no longer held


def test_every_problem_is_found_in_one_round_and_the_file_is_kept(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    _speaker(client)
    data = with_values(
        _form(client),
        **_complete(
            summary="",
            body="xq zv",  # too little to tell the language
            contacts__0__name="",
            contacts__0__email="kari@example.org",
        ),
        send="y",
    )
    data["attachment"] = _slides(tmp_path)

    failed = client.post("/submissions/new", data=data)

    assert failed.status_code == 422
    page = failed.text
    for field in ("summary", "language", "contacts-0-name"):
        assert f'id="{field}-errors"' in page, field
        assert f'href="#{field}"' in page, field  # listed in the summary, linked to the field
    assert "slides.pdf" in _held_line(page)


def test_a_refused_file_is_reported_with_the_other_problems(
    app: Flask, client: FlaskClient
) -> None:
    _speaker(client)
    data = with_values(_form(client), **_complete(summary=""), send="y")
    data["attachment"] = (io.BytesIO(b"#!/bin/sh\nrm -rf /\n"), "slides.pdf")

    failed = client.post("/submissions/new", data=data)

    assert failed.status_code == 422
    assert 'id="summary-errors"' in failed.text
    assert 'id="attachment-errors"' in failed.text and 'href="#attachment"' in failed.text
    assert "This type of file is not accepted" in failed.text
    assert _files(app) == set()


def test_a_chosen_file_can_be_removed_before_saving(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    _speaker(client)
    data = with_values(_form(client), **_complete(), preview="y")
    data["attachment"] = _slides(tmp_path)
    preview = client.post("/submissions/new", data=data)
    assert len(_files(app)) == 1

    fields = form_values(preview.text, "/submissions/")
    saved = client.post("/submissions/new", data=with_values(fields, discard_upload="y"))

    assert saved.status_code == 302
    assert _saved_case().materials == []
    assert _files(app) == set()


def test_another_users_or_a_forged_reference_attaches_nothing(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    _speaker(client)
    data = with_values(_form(client), **_complete(), preview="y")
    data["attachment"] = _slides(tmp_path)
    reference = dict(form_values(client.post("/submissions/new", data=data).text))["pending_upload"]
    other = app.test_client()
    _speaker(other, "other@example.org")

    for forged in (reference, reference[:-2] + "xx"):
        response = other.post(
            "/submissions/new", data=with_values(_form(other), **_complete(), pending_upload=forged)
        )
        assert response.status_code == 422
        assert "The file chosen earlier is no longer kept" in response.text
    assert db.session.scalar(select(Case)) is None
    assert len(_files(app)) == 1  # still the first speaker's


def test_an_abandoned_file_is_deleted_after_the_configured_hours(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    _speaker(client)
    data = with_values(_form(client), **_complete(), preview="y")
    data["attachment"] = _slides(tmp_path)
    client.post("/submissions/new", data=data)
    [abandoned] = _files(app)
    with write_transaction():
        db.session.execute(update(PendingUpload).values(created_at=utcnow() - timedelta(hours=25)))

    data = with_values(_form(client), **_complete(), preview="y")
    data["attachment"] = _slides(tmp_path)
    client.post("/submissions/new", data=data)

    assert abandoned not in _files(app) and len(_files(app)) == 1
    db.session.rollback()
    assert len(db.session.scalars(select(PendingUpload)).all()) == 1


def test_the_error_summary_speaks_the_users_language_and_takes_focus(
    app: Flask, client: FlaskClient
) -> None:
    _speaker(client)
    client.set_cookie(LANGUAGE_COOKIE, "fi")
    failed = client.post(
        "/submissions/new", data=with_values(_form(client), **_complete(title=""), send="y")
    )

    assert failed.status_code == 422
    summary = re.search(r"<div [^>]*data-error-summary.*?</div>", failed.text, re.S)
    assert summary is not None
    assert 'role="alert"' in summary.group(0) and 'tabindex="-1"' in summary.group(0)
    assert "autofocus" in summary.group(0)
    assert "Nothing was saved yet" not in summary.group(0)
    assert "Mitään ei ole vielä tallennettu" in summary.group(0)
    assert 'href="#title"' in summary.group(0)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _limits(app: Flask) -> None:
    """The real limits scaled down (50 MB file, 64 MiB body, 512 MiB form body)."""
    app.config.update(
        MATERIAL_MAX_BYTES=50 * 1024,
        MAX_CONTENT_LENGTH=64 * 1024,
        FORM_MAX_CONTENT_LENGTH=512 * 1024,
    )


def test_a_file_over_the_body_limit_comes_back_with_the_text_and_a_message(
    app: Flask, client: FlaskClient
) -> None:
    _limits(app)
    _speaker(client)
    data = with_values(_form(client), **_complete(body=BODY + " Et avsnitt som ikke går tapt."))
    data["attachment"] = (io.BytesIO(b"%PDF-1.4\n" + b"0" * 200 * 1024), "stor.pdf")

    refused = client.post("/submissions/new", data=data)

    assert refused.status_code == 422
    assert "Et avsnitt som ikke går tapt." in refused.text
    assert 'id="attachment-errors"' in refused.text and "The file is larger than" in refused.text
    assert _files(app) == set()
    assert db.session.scalar(select(Case)) is None


def test_a_body_beyond_even_the_form_limit_gives_the_form_not_a_bare_error_page(
    app: Flask, client: FlaskClient
) -> None:
    _limits(app)
    _speaker(client)
    client.set_cookie(LANGUAGE_COOKIE, "nb")
    data = with_values(_form(client), **_complete())
    fields = MultiDict([(k, v) for k, values in data.items() for v in _as_list(values)])
    fields["attachment"] = FileStorage(io.BytesIO(b"%PDF-1.4\n" + b"0" * 1024**2), "enorm.pdf")
    # Encoded in memory: the test client would spool it to a file the app never reads.
    boundary, body = encode_multipart(fields)
    assert len(body) > 1024**2

    refused = client.post(
        "/submissions/new", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )

    assert refused.status_code == 413
    assert 'id="attachment-errors"' in refused.text
    assert "Filen er større enn" in refused.text
    assert "Ingenting ble lagret: opplastingen var for stor" in refused.text
    assert form_values(refused.text, "/submissions/")  # the form, ready to fill in again
    assert _files(app) == set()


def test_the_file_field_tells_the_browser_the_types_and_the_size_limit(
    app: Flask, client: FlaskClient
) -> None:
    _speaker(client)
    page = client.get("/submissions/new").text

    field = re.search(r'<input[^>]*id="attachment"[^>]*>', page)
    assert field is not None
    assert 'accept=".pdf,.pptx,.docx' in field.group(0)
    assert f'data-max-bytes="{50 * 1024 * 1024}"' in field.group(0)
    assert "forms.js" in page


def test_the_form_libraries_own_messages_are_in_the_users_language_too(
    app: Flask, client: FlaskClient
) -> None:
    """WTForms has no Danish or Icelandic: its messages come from our catalogues."""
    _speaker(client)
    client.set_cookie(LANGUAGE_COOKIE, "da")
    failed = client.post(
        "/submissions/new",
        data=with_values(_form(client), **_complete(start_year="tjue", country="XX")),
    )

    assert failed.status_code == 422
    assert "Skriv et helt tal." in failed.text and "Vælg en af mulighederne." in failed.text
    assert "Not a valid" not in failed.text


def test_a_user_holds_only_the_newest_few_files(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    app.config["PENDING_UPLOADS_PER_USER"] = 2
    _speaker(client)
    references = []
    for _round in range(3):
        data = with_values(_form(client), **_complete(), preview="y")
        data["attachment"] = _slides(tmp_path)
        page = client.post("/submissions/new", data=data).text
        references.append(dict(form_values(page, "/submissions/"))["pending_upload"])

    assert len(_files(app)) == 2
    first = with_values(_form(client), **_complete(), pending_upload=references[0])
    assert (
        "The file chosen earlier is no longer kept"
        in client.post("/submissions/new", data=first).text
    )
    last = with_values(_form(client), **_complete(), pending_upload=references[2])
    assert client.post("/submissions/new", data=last).status_code == 302
    assert [m.original_filename for m in _saved_case().materials] == ["slides.pdf"]
