"""The demo shows the features off: dated events with a timed programme, key figures,
handouts generated at load time (none kept in git), link labels in the reader's language."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

import kb.data
from kb.extensions import db
from kb.models import Case, Event


def test_the_seminar_has_its_date_place_and_a_timed_programme(
    client: FlaskClient, demo: None
) -> None:
    seminar = db.session.scalar(select(Event).where(Event.slug == "nyanlanda-i-jobb"))

    assert seminar.start_date.isoformat() == "2017-05-04"
    assert seminar.city == "Luleå"
    assert seminar.sessions and all(s.starts_at for s in seminar.sessions)


def test_a_demo_cases_slides_are_a_readable_pdf_under_its_session(
    client: FlaskClient, demo: None
) -> None:
    html = client.get("/events/nyanlanda-i-jobb/naeroy", headers={"Accept-Language": "nb"}).text

    assert "Fra eksempelet" in html
    assert "Lysark: hurtigspor fra første dag" in html
    case = db.session.scalar(select(Case).where(Case.ref == "c04"))
    slides = case.materials[0]
    assert slides.text_status == "ok"
    assert "9 av 10 i jobb eller utdanning" in slides.extracted_text


def test_a_demo_case_shows_key_figures_and_a_translated_link_label(
    client: FlaskClient, demo: None
) -> None:
    slug = db.session.scalar(select(Case.slug).where(Case.ref == "c04"))

    html = client.get(f"/cases/{slug}", headers={"Accept-Language": "fi"}).text

    assert "deltakere over i jobb eller utdanning, 2014" in html
    assert "9 av 10" in html
    assert "Lähde: " in html
    assert ">Source<" not in html


def test_the_demo_keeps_no_binary_files_in_the_repository() -> None:
    shipped = [p for p in Path(kb.data.__file__).parent.rglob("*") if p.is_file()]

    assert {p.suffix for p in shipped} <= {".json", ".py", ".pyc"}
