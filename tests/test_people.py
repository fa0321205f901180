"""Personal data: a person's data can be exported, and the person erased."""

from __future__ import annotations

import json

from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from kb.cli import main
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseContact, Person, Role, SessionPerson, User
from kb.services import accounts, personal_data


def _person(name: str) -> Person:
    return db.session.scalar(select(Person).where(Person.name == name))


def test_export_holds_everything_about_a_person(
    app: Flask, runner: FlaskCliRunner, demo: None
) -> None:
    morch = _person("Lars Fredrik Mørch")

    result = runner.invoke(main, ["people", "export", str(morch.id)])

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["name"] == "Lars Fredrik Mørch"
    assert data["organisation"] == "innvandringstjenesten i Nærøy"
    assert data["sessions"] == [
        {
            "event": "Nyanlända i jobb – en tillväxtfaktor för kommuner",
            "session": "Nærøy: samarbeid med næringslivet får flyktninger raskt i arbeid "
            "og utdanning",
            "role": "speaker",
        }
    ]
    assert [c["ref"] for c in data["case_contacts"]] == ["c04"]


def test_erasing_a_person_keeps_the_cases_and_sessions(
    app: Flask, runner: FlaskCliRunner, client: FlaskClient, demo: None
) -> None:
    person = _person("Marianne Solbakken")
    slug, person_id = person.slug, person.id
    user = accounts.create_user("marianne@example.org", Role.SPEAKER, person=person)
    cases_before = db.session.scalar(select(func.count()).select_from(Case))

    refused = runner.invoke(main, ["people", "erase", str(person_id)], input="n\n")
    assert refused.exit_code == 1
    assert _person("Marianne Solbakken") is not None

    result = runner.invoke(main, ["people", "erase", str(person_id), "--yes"])

    assert result.exit_code == 0, result.output
    assert "1 session role(s) removed, 1 account(s) unlinked" in result.output
    assert _person("Marianne Solbakken") is None
    assert db.session.scalar(select(func.count()).select_from(Case)) == cases_before
    assert not db.session.scalar(
        select(func.count()).select_from(SessionPerson).where(SessionPerson.person_id == person_id)
    )
    assert not db.session.scalar(
        select(func.count()).select_from(CaseContact).where(CaseContact.person_id == person_id)
    )
    assert db.session.get(User, user.id).person_id is None
    assert client.get(f"/people/{slug}").status_code == 404
    session_page = client.get("/events/nyanlanda-i-jobb/sysselsetting-av-innvandrere").text
    # Free text an editor wrote may still name her; the person record and details are gone.
    assert f"/people/{slug}" not in session_page
    assert "marianne.solbakken@kdu.no" not in session_page


def test_an_unknown_person_is_a_clear_error(app: Flask, runner: FlaskCliRunner) -> None:
    for command in (["people", "export", "999"], ["people", "erase", "999", "--yes"]):
        result = runner.invoke(main, command)
        assert result.exit_code == 1
        assert "There is no person with id 999." in result.output


def _versions(case_refs: list[str]) -> dict[str, object]:
    db.session.rollback()
    rows = db.session.execute(select(Case.ref, Case.updated_at).where(Case.ref.in_(case_refs)))
    return dict(rows.all())


def test_a_contacts_consent_or_erasure_gives_their_cases_a_new_version(
    app: Flask, runner: FlaskCliRunner, demo: None
) -> None:
    """Harvesters fetch what changed since their last visit: they must see the name go."""
    morch = _person("Lars Fredrik Mørch")
    before = _versions(["c04", "c05"])

    with write_transaction():
        db.session.add(morch)
        morch.set_consent(not morch.consent_to_publish_contact)
    after_consent = _versions(["c04", "c05"])
    assert after_consent["c04"] > before["c04"]
    assert after_consent["c05"] == before["c05"]  # not his case

    personal_data.erase_person(_person("Lars Fredrik Mørch"))
    assert _versions(["c04"])["c04"] > after_consent["c04"]
    check = runner.invoke(main, ["search-check"])
    assert check.exit_code == 0, check.output
