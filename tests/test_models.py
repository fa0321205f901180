"""The domain model keeps its invariants, in Python and in the database."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from kb.database import WriteOutsideTransactionError, write_transaction
from kb.extensions import db
from kb.models import (
    Case,
    CaseContact,
    CasePresentation,
    Event,
    KeyFigure,
    MaterialKind,
    Person,
    Session,
    Vocabulary,
)
from kb.services.materials import MaterialRejected, attach_file, path_of
from kb.services.slugs import unique_slug
from kb.services.vocabulary import terms_by_key

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def new_case(title: str = "Hurtigspor i Nærøy", **fields: object) -> Case:
    case = Case(slug=unique_slug(Case, title), title=title, language="nb", country="NO", **fields)
    db.session.add(case)
    return case


def test_slugs_are_readable_and_unique(app: Flask) -> None:
    with write_transaction():
        first = new_case("Nærøy: tidlig i arbeid")
    with write_transaction():
        second = new_case("Nærøy: tidlig i arbeid")

    assert first.slug == "naeroy-tidlig-i-arbeid"
    assert second.slug == "naeroy-tidlig-i-arbeid-2"


@pytest.mark.parametrize(
    ("field", "value"), [("language", "de"), ("country", "DE"), ("slug", "Not A Slug")]
)
def test_a_case_refuses_values_outside_the_domain(app: Flask, field: str, value: str) -> None:
    case = Case(slug="ok", title="x", language="nb", country="NO")

    with pytest.raises(ValueError, match=r"unknown|invalid"):
        setattr(case, field, value)


def test_themes_take_only_theme_terms(app: Flask) -> None:
    case = Case(slug="ok", title="x", language="sv", country="SE")
    refugees = terms_by_key(Vocabulary.TARGET_GROUP)["refugees"]

    with pytest.raises(ValueError, match="target_group, not a theme"):
        case.themes.append(refugees)


def test_the_database_refuses_an_unknown_status(app: Flask) -> None:
    with pytest.raises(IntegrityError), write_transaction():
        new_case(status="lost")
    assert db.session.scalar(select(func.count()).select_from(Case)) == 0


def test_a_presentation_takes_its_event_from_the_session(app: Flask) -> None:
    seminar = Event(title="Seminar", slug="seminar")
    other = Event(title="Other", slug="other")
    workshop = Session(title="Workshop", slug="workshop", event=seminar)

    presentation = CasePresentation(session=workshop)

    assert presentation.event is seminar
    with pytest.raises(ValueError, match="another event"):
        presentation.event = other


def test_deleting_a_case_removes_its_parts_but_not_the_people(app: Flask) -> None:
    with write_transaction():
        case = new_case()
        case.key_figures.append(KeyFigure(label="i arbeid etter to år", value=64, unit="%"))
        person = Person(name="Kari Nordmann", slug="kari-nordmann")
        case.contacts.append(CaseContact(person=person, role="prosjektleder"))
    with write_transaction():
        db.session.delete(case)

    assert db.session.scalar(select(func.count()).select_from(KeyFigure)) == 0
    assert db.session.scalar(select(func.count()).select_from(CaseContact)) == 0
    assert db.session.scalar(select(Person.name)) == "Kari Nordmann"


def test_contact_details_are_public_only_with_consent(app: Flask) -> None:
    person = Person(name="Kari Nordmann", slug="kari", email="kari@example.org", phone="+47 1234")
    assert person.public_contact() is None

    person.set_consent(True)

    assert person.public_contact().email == "kari@example.org"
    assert person.consent_given_at is not None
    person.set_consent(False)
    assert person.public_contact() is None
    assert person.consent_given_at is None


def test_writes_outside_a_write_transaction_are_refused(app: Flask) -> None:
    new_case()
    with pytest.raises(WriteOutsideTransactionError, match="write_transaction"):
        db.session.flush()
    db.session.rollback()


def test_an_uploaded_pdf_is_stored_under_a_generated_name(app: Flask) -> None:
    with write_transaction():
        case = new_case()

    material = attach_file(
        case,
        io.BytesIO(PDF),
        title="Slides",
        original_filename="../../x.pdf",
        kind=MaterialKind.SLIDES,
    )

    stored = path_of(material)
    assert stored.read_bytes() == PDF
    assert stored.parent == Path(app.config["UPLOAD_DIR"])
    assert material.stored_name != "x.pdf" and material.stored_name.endswith(".pdf")
    assert material.original_filename == "x.pdf"
    assert material.content_type == "application/pdf"


def test_a_presentation_is_recognised_by_its_package_manifest(app: Flask) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr(
            "[Content_Types].xml",
            '<Types><Override ContentType="application/vnd.openxmlformats-officedocument.'
            'presentationml.presentation.main+xml"/></Types>',
        )
    buffer.seek(0)
    with write_transaction():
        case = new_case()

    material = attach_file(case, buffer, title="Slides", original_filename="talk.pptx")

    assert material.stored_name.endswith(".pptx")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"<script>alert(1)</script>", "not accepted"),
        (b"PK\x03\x04 not really a zip", "not accepted"),
        (b"", "empty"),
        (PDF + b"x" * 2048, "larger than"),
    ],
)
def test_files_are_checked_by_content_and_size(app: Flask, content: bytes, reason: str) -> None:
    app.config["MATERIAL_MAX_BYTES"] = 1024
    with write_transaction():
        case = new_case()

    with pytest.raises(MaterialRejected, match=reason):
        attach_file(case, io.BytesIO(content), title="Slides", original_filename="slides.pdf")

    assert case.materials == []
    assert list(Path(app.config["UPLOAD_DIR"]).iterdir()) == []


def test_moments_come_back_as_aware_utc_whatever_zone_they_were_given_in(app: Flask) -> None:
    """SQLite keeps no offset and PostgreSQL answers in its session's zone: both read back the
    same instant as an aware UTC datetime, and a query in another zone finds it."""
    oslo_noon = datetime(2024, 6, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    with write_transaction():
        case = new_case(published_at=oslo_noon)
    db.session.expire_all()

    stored = db.session.get(Case, case.id)
    assert stored is not None
    assert stored.published_at == oslo_noon
    assert stored.published_at.tzinfo == UTC
    assert stored.created_at.tzinfo == UTC
    found = db.session.scalar(select(Case.id).where(Case.published_at >= oslo_noon))
    assert found == case.id
    earliest = db.session.scalar(select(func.min(Case.published_at)))
    assert earliest == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
