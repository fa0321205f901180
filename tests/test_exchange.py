"""Import and export: round trip, idempotency, all-or-nothing with a clear report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from kb.cli import main
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, Event, Person, Session
from kb.services.exchange.exporter import export_document
from kb.services.exchange.importer import (
    ImportRejected,
    import_plan,
    plan_import,
    read_document,
)
from kb.services.vocabulary import ensure_default_terms

SAMPLES = Path(__file__).resolve().parent.parent / "kb" / "data" / "cases.json"


def samples() -> list[dict[str, Any]]:
    return json.loads(SAMPLES.read_text("utf-8"))


def case_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Case)) or 0


def comparable(document: dict[str, Any]) -> dict[str, Any]:
    """An export without the moment it was made."""
    return {k: v for k, v in document.items() if k != "exported_at"}


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_import_of_the_sample_file_creates_every_case_with_its_details(app: Flask) -> None:
    result = import_plan(plan_import(samples()))

    assert (result.cases_created, result.cases_updated) == (52, 0)
    heroy = db.session.scalar(select(Case).where(Case.ref == "c01"))
    assert heroy.title.startswith("Herøy")
    assert (
        heroy.slug
        == "heroy-tilflyttere-frivilligsentral-og-grunderstotte-snudde-befolkningsutviklingen"
    )
    assert (heroy.start_year, heroy.end_year, heroy.period) == (2011, 2014, "2011-2014")
    assert [t.key for t in heroy.themes] == [
        "language-training",
        "housing",
        "rural-development",
        "volunteering",
        "entrepreneurship",
    ]
    assert heroy.links[0].url.startswith("https://distriktssenteret.no/")
    naeroy = db.session.scalar(select(Case).where(Case.ref == "c04"))
    assert {c.person.name for c in naeroy.contacts} == {"Lars Fredrik Mørch", "Marit Måøy Holm"}
    assert all(c.person.public_contact() is None for c in naeroy.contacts)


def test_importing_the_same_file_twice_changes_nothing(app: Flask) -> None:
    import_plan(plan_import(samples()))
    first = comparable(export_document())

    again = import_plan(plan_import(samples()))

    assert (again.cases_created, again.cases_updated) == (0, 52)
    assert case_count() == 52
    assert comparable(export_document()) == first
    assert db.session.scalar(select(func.count()).select_from(Person)) == 5


def test_reimport_updates_a_case_in_place_and_keeps_its_slug(app: Flask) -> None:
    data = samples()
    import_plan(plan_import(data))
    slug = db.session.scalar(select(Case.slug).where(Case.ref == "c02"))
    data[1]["title"] = "A new title for Vesterålen"
    data[1]["themes"] = ["employment"]

    import_plan(plan_import(data))

    case = db.session.scalar(select(Case).where(Case.ref == "c02"))
    assert case.title == "A new title for Vesterålen"
    assert case.slug == slug
    assert [t.key for t in case.themes] == ["employment"]


def test_export_then_import_into_an_empty_instance_gives_the_same_content(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, demo: None
) -> None:
    exported = tmp_path / "export.json"
    result = runner.invoke(main, ["export", str(exported)])
    assert result.exit_code == 0, result.output
    original = comparable(json.loads(exported.read_text("utf-8")))

    wipe_database()
    assert case_count() == 0
    result = runner.invoke(main, ["import", str(exported)])

    assert result.exit_code == 0, result.output
    assert "52 case(s) created" in result.output
    copy = comparable(export_document())
    assert copy == original
    assert len(copy["cases"]) == 52
    assert len(copy["events"]) == 5
    assert any(m.get("file") for e in copy["events"] for s in e["sessions"] for m in s["materials"])


def wipe_database() -> None:
    """Delete every row, as in a new instance (the uploads folder stays, as if copied)."""
    with write_transaction():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    ensure_default_terms()


def test_one_bad_record_changes_nothing_and_is_named(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    data = samples()
    data[6]["country"] = "XX"
    data[6]["ref"] = "c07"
    before = comparable(export_document())

    result = runner.invoke(main, ["import", str(write_json(tmp_path / "bad.json", data))])

    assert result.exit_code == 1
    assert "Nothing was imported: 1 problem(s)" in result.output
    assert "case #7 (ref c07): country:" in result.output
    assert case_count() == 0
    assert comparable(export_document()) == before


def test_the_report_lists_every_bad_record_with_position_and_reason(app: Flask) -> None:
    data = samples()
    data[0]["colour"] = "blue"
    data[2]["themes"] = ["employment", "knitting"]
    data[3]["summary"] = "bad \x00 byte"
    data[4]["period"] = "2019-2015"
    data[5]["key_figures"] = [{"label": "in work", "value": "lots", "unit": "%"}]
    data[51]["ref"] = "c02"

    with pytest.raises(ImportRejected) as rejected:
        plan_import(data)

    lines = [str(p) for p in rejected.value.problems]
    assert "case #1 (ref c01): colour: unknown key (not part of the format)" in lines
    assert any(line.startswith("case #4 (ref c04): summary: contains a NUL") for line in lines)
    assert "case #5 (ref c05): period: ends before it starts" in lines
    assert any(line.startswith("case #6 (ref c06): key_figures.0.value:") for line in lines)
    assert any("case #3 (ref c03): themes.1: unknown vocabulary key 'knitting'" in x for x in lines)
    assert "case #52 (ref c02): ref: 'c02' is also used by case #2" in lines
    assert len(lines) == 6


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'[{"title": "x"', "not valid JSON"),
        (b'["\xff"]', "not valid UTF-8 at byte 2"),
        (b'"just a string"', "expected a JSON list of cases or a full dump"),
    ],
)
def test_a_broken_file_is_rejected_with_the_reason(app: Flask, raw: bytes, message: str) -> None:
    with pytest.raises(ImportRejected) as rejected:
        plan_import(read_document(raw))

    assert message in str(rejected.value.problems[0])


def test_cases_name_new_events_and_sessions_which_are_created_once(app: Flask) -> None:
    base = samples()[0]
    records = [
        base | {"ref": "a", "sessions": [{"event": "Vinterseminar 2027", "session": "Workshop 1"}]},
        base
        | {
            "ref": "b",
            "title": "Other",
            "sessions": [
                {"event": "Vinterseminar 2027", "session": "Workshop 1"},
                {"event": "Vinterseminar 2027", "session": None},
            ],
        },
    ]

    import_plan(plan_import(records))

    event = db.session.scalar(select(Event).where(Event.title == "Vinterseminar 2027"))
    assert [s.title for s in event.sessions] == ["Workshop 1"]
    session = db.session.scalar(select(Session).where(Session.title == "Workshop 1"))
    assert sorted(c.ref for c in _cases_in(session)) == ["a", "b"]
    other = db.session.scalar(select(Case).where(Case.ref == "b"))
    assert [(p.event.title, p.session and p.session.title) for p in other.presentations] == [
        ("Vinterseminar 2027", "Workshop 1"),
        ("Vinterseminar 2027", None),
    ]


def _cases_in(session: Session) -> list[Case]:
    return [p.case for p in session.presentations]


def test_public_export_leaves_out_contact_details_without_consent(app: Flask, demo: None) -> None:

    people = {
        p["name"]: p
        for e in export_document(public=True)["events"]
        for s in e["sessions"]
        for p in s["people"]
    }
    full = {
        p["name"]: p
        for e in export_document()["events"]
        for s in e["sessions"]
        for p in s["people"]
    }

    assert people["Marianne Solbakken"]["email"] == "marianne.solbakken@kdu.no"
    assert people["Lars Fredrik Mørch"]["email"] is None
    assert full["Marianne Solbakken"]["phone"] == "+47 48168247"


def test_people_with_the_same_name_in_different_organisations_stay_apart(app: Flask) -> None:
    base = {"title": "T", "language": "sv", "country": "SE"}
    records = [
        base | {"ref": "a", "contacts": [{"name": "Anna Svensson"}]},
        base
        | {
            "ref": "b",
            "title": "U",
            "contacts": [{"name": "Anna Svensson", "organisation": "Ny kommun"}],
        },
        base | {"ref": "c", "title": "V", "contacts": [{"name": "Anna Svensson"}]},
    ]

    import_plan(plan_import(records))

    people = db.session.scalars(select(Person).order_by(Person.id)).all()
    assert [(p.name, p.organisation and p.organisation.name) for p in people] == [
        ("Anna Svensson", None),
        ("Anna Svensson", "Ny kommun"),
    ]


def test_an_email_added_to_a_person_known_by_name_and_organisation_updates_them(
    app: Flask,
) -> None:
    base = {"title": "T", "language": "sv", "country": "SE"}
    known = {"name": "Eva Lind", "organisation": "Umeå kommun"}
    import_plan(plan_import([base | {"ref": "a", "contacts": [known]}]))

    import_plan(plan_import([base | {"ref": "a", "contacts": [known | {"email": "eva@ume.se"}]}]))

    people = db.session.scalars(select(Person)).all()
    assert [(p.name, p.email) for p in people] == [("Eva Lind", "eva@ume.se")]


def test_email_matches_in_any_case_and_the_stored_form_is_kept(app: Flask) -> None:
    base = {"title": "T", "language": "sv", "country": "SE"}
    first = {"name": "Eva Lind", "email": "Eva.Lind@Ume.se"}
    import_plan(plan_import([base | {"ref": "a", "contacts": [first]}]))

    again = {"name": "Eva Lind", "email": "eva.lind@ume.se", "phone": "+46 90 16 10 00"}
    import_plan(plan_import([base | {"ref": "b", "title": "U", "contacts": [again]}]))

    people = db.session.scalars(select(Person)).all()
    assert [(p.email, p.phone) for p in people] == [("Eva.Lind@Ume.se", "+46 90 16 10 00")]
    cases = db.session.scalars(select(Case).order_by(Case.ref)).all()
    assert [c.contacts[0].person_id for c in cases] == [people[0].id, people[0].id]


def test_without_an_organisation_a_name_does_not_take_over_someone_elses_email(
    app: Flask,
) -> None:
    base = {"title": "T", "language": "sv", "country": "SE"}
    records = [
        base | {"ref": "a", "contacts": [{"name": "Anna Svensson", "email": "anna@a.se"}]},
        base
        | {"ref": "b", "title": "U", "contacts": [{"name": "Anna Svensson", "email": "a@b.se"}]},
    ]

    import_plan(plan_import(records))

    emails = db.session.scalars(select(Person.email).order_by(Person.id)).all()
    assert emails == ["anna@a.se", "a@b.se"]
