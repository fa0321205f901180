"""Personal data, exactly: a contact is public only through a published case or a session,
erasure leaves no trace anywhere, and only editors create events and sessions."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest
import whoosh.index
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import MetaData, func, inspect, select

from kb.cli import main
from kb.extensions import db
from kb.models import Case, Event, Organisation, Person, Role, Session
from kb.search.whoosh_schema import INDEX_NAME
from kb.services import accounts, contacts, tokens
from tests.web_helpers import csrf_token, form_values, login, with_values

PASSWORD = "lingonberry tractor 41 harbour"
#: What the API's write needs; the contact is added by each test.
CASE = {
    "title": "Språkpraksis i lokale bedrifter i Vang",
    "language": "nb",
    "country": "NO",
    "summary": "Flyktninger lærer norsk på jobb.",
    "body": "Kommunen og bedriftene laget et løp med språkpraksis og fagopplæring.",
    "themes": ["employment"],
    "ref": "vang-people-1",
}
#: ASCII on purpose: JSON and HTML leave it as it is, so a plain search finds every copy.
CONTACT = {
    "name": "Ingrid Vesteraas",
    "title": "Prosjektleder",
    "organisation": "Vang kommune",
    "email": "Ingrid.Vesteraas@vang.example",
    "phone": "+47 912 34 567",
    "consent_to_publish_contact": True,
    "role": "project lead",
}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def secrets_(app: Flask) -> dict[str, str]:
    """API tokens of a speaker and an editor; the editor may also log in."""
    found = {}
    for name, role in (("speaker", Role.SPEAKER), ("editor", Role.EDITOR)):
        user = accounts.create_user(f"{name}@example.org", role)
        accounts.set_password(user, PASSWORD)
        found[name] = tokens.create_token(user, "integration")[1]
    return found


def _a_session() -> Session:
    return db.session.scalars(select(Session).order_by(Session.id)).first()


def _person(name: str) -> Person | None:
    db.session.rollback()
    return db.session.scalar(select(Person).where(Person.name == name))


def _public_urls(app: Flask, values: dict[str, list[str]], query: str) -> Iterator[str]:
    """Every GET route of the app, its arguments filled with each candidate value, and the
    routes that search or harvest with the query strings they need."""
    adapter = app.url_map.bind("localhost")
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or rule.endpoint.endswith("static"):
            continue
        arguments = sorted(rule.arguments)
        for combination in itertools.product(*(values.get(a, ["1"]) for a in arguments)):
            yield adapter.build(rule.endpoint, dict(zip(arguments, combination, strict=True)))
    yield f"/search?q={query}"
    yield f"/api/v1/search?q={query}"
    yield f"/search/export/json?q={query}"
    yield "/api/v1/people?page=1"
    for verb in ("ListRecords", "ListIdentifiers"):
        yield f"/oai?verb={verb}&metadataPrefix=oai_dc"


def _candidates(case: Case, person_slug: str, person_id: int) -> dict[str, list[str]]:
    """Values for the routes' arguments: the case's and person's, and the demo's others."""
    session = _a_session()
    organisation = db.session.scalar(select(Organisation).limit(1))
    slugs = [person_slug, case.slug, session.slug, session.event.slug]
    slugs += list(db.session.scalars(select(Organisation.slug)))
    ids = ["1", str(case.id), str(person_id)]
    return {
        "slug": slugs,
        "event_slug": [session.event.slug],
        "key": [*ids, "json", "csv", "markdown", "html"],
        "case_id": ids,
        "person_id": ids,
        "organisation_id": [str(organisation.id)] if organisation else ids,
        "code": ["nb"],
    }


def _leaks(client: FlaskClient, urls: Iterator[str], secrets: list[str]) -> dict[str, str]:
    """Each URL whose answer holds one of ``secrets``, with the secret found (a page may
    repeat its own address, e.g. in its language links, so a secret in the URL is not one)."""
    found = {}
    for url in urls:
        with client.get(url) as response:  # closes what a file route opened
            body = response.get_data(as_text=True).lower()
        for secret in secrets:
            if secret.lower() in body and secret.lower() not in url.lower():
                found[url] = secret
    return found


def _database_text() -> str:
    """Every row of every table (SQLite: the whole dump), as one text to search in."""
    db.session.rollback()
    if db.engine.dialect.name == "sqlite":
        connection = db.engine.raw_connection()
        try:
            return "\n".join(connection.driver_connection.iterdump())
        finally:
            connection.close()
    rows = []
    for schema in inspect(db.engine).get_schema_names():
        if schema in ("information_schema", "pg_catalog") or schema.startswith("pg_"):
            continue
        metadata = MetaData(schema=schema)
        metadata.reflect(db.engine)
        with db.engine.connect() as conn:
            for table in metadata.tables.values():
                rows += [repr(tuple(row)) for row in conn.execute(table.select())]
    return "\n".join(rows)


def _index_text(app: Flask) -> str:
    """Every stored field and every term of the Whoosh index (terms of deleted documents
    stay until a merge, so they count too), to search in."""
    if app.config.get("SEARCH_BACKEND", "whoosh") != "whoosh":
        return ""
    index = whoosh.index.open_dir(app.config["SEARCH_INDEX_DIR"], indexname=INDEX_NAME)
    with index.reader() as reader:
        stored = [repr(fields) for fields in reader.all_stored_fields()]
        terms = [f"{field}:{term!r}" for field, term in reader.all_terms()]
    index.close()
    return "\n".join(stored + terms)


def test_a_drafts_contact_is_public_nowhere_until_the_case_is_published(
    app: Flask, demo: None, client: FlaskClient, secrets_: dict[str, str]
) -> None:
    session = _a_session()
    where = {"event": session.event.title, "session": session.title}
    body = CASE | {"contacts": [CONTACT], "sessions": [where]}
    created = client.post("/api/v1/cases", json=body, headers=bearer(secrets_["speaker"]))
    assert created.status_code == 201, created.get_json()
    person = _person(CONTACT["name"])
    slug = person.slug
    case = db.session.get(Case, created.get_json()["id"])
    secrets = [CONTACT["name"], CONTACT["email"], CONTACT["phone"], f"/people/{slug}"]

    urls = list(_public_urls(app, _candidates(case, slug, person.id), "Vesteraas"))
    assert len(urls) > 60
    assert _leaks(client, iter(urls), secrets) == {}
    assert client.get(f"/people/{slug}").status_code == 404
    assert client.get(f"/api/v1/people/{slug}").status_code == 404

    published = client.patch(
        f"/api/v1/cases/{case.id}", json={"status": "published"}, headers=bearer(secrets_["editor"])
    )
    assert published.status_code == 200
    page = client.get(f"/people/{slug}")
    assert page.status_code == 200
    assert CONTACT["name"] in page.text and CONTACT["email"] in page.text
    listed = client.get("/api/v1/people", query_string={"per_page": 100}).get_json()
    mine = [p for p in listed["items"] if p["slug"] == slug]
    assert [(p["name"], p["email"]) for p in mine] == [(CONTACT["name"], CONTACT["email"])]
    organisation = client.get(f"/organisations/{person.organisation.slug}")
    assert CONTACT["name"] in organisation.text


def test_without_consent_a_published_contact_shows_the_name_only(
    app: Flask, client: FlaskClient, secrets_: dict[str, str]
) -> None:
    contact = CONTACT | {"consent_to_publish_contact": False}
    body = CASE | {"contacts": [contact], "status": "published"}
    assert client.post("/api/v1/cases", json=body, headers=bearer(secrets_["editor"])).status_code
    slug = _person(CONTACT["name"]).slug

    page = client.get(f"/people/{slug}").text
    api = client.get(f"/api/v1/people/{slug}").get_json()

    assert CONTACT["name"] in page and CONTACT["email"] not in page
    assert CONTACT["phone"] not in page
    assert (api["name"], api["email"], api["phone"]) == (CONTACT["name"], None, None)


def _save_again(client: FlaskClient, case_id: int, headers: dict[str, str], summary: str) -> None:
    changed = client.patch(f"/api/v1/cases/{case_id}", json={"summary": summary}, headers=headers)
    assert changed.status_code == 200, changed.get_json()


def _rename(person_id: int, name: str, email: str, phone: str) -> None:
    person = contacts.find_person(person_id)
    fields = contacts.PersonFields(
        name=name,
        title=person.title,
        organisation_id=person.organisation_id,
        email=email,
        phone=phone,
        consent=True,
    )
    contacts.update_person(person, fields, None)


def test_erasure_leaves_no_trace_of_any_name_or_email_the_person_had(
    app: Flask, demo: None, client: FlaskClient, runner: FlaskCliRunner, secrets_: dict[str, str]
) -> None:
    editor = bearer(secrets_["editor"])
    body = CASE | {"contacts": [CONTACT]}
    case_id = client.post(
        "/api/v1/cases", json=body, headers=bearer(secrets_["speaker"])
    ).get_json()["id"]
    client.patch(f"/api/v1/cases/{case_id}", json={"status": "published"}, headers=editor)
    person = _person(CONTACT["name"])
    person_id, slugs = person.id, [person.slug]
    # Two more names, e-mails and phones, each kept by a later revision of the case.
    lives = [
        (CONTACT["name"], CONTACT["email"], CONTACT["phone"]),
        ("Ingrid Vesteraas Berg", "ingrid.berg@vang.example", "+47 913 00 111"),
        ("Ingrid Berg", "iberg@post.example", "+47 914 22 333"),
    ]
    for number, (name, email, phone) in enumerate(lives[1:], start=1):
        _rename(person_id, name, email, phone)
        _save_again(client, case_id, editor, f"Flyktninger lærer norsk på jobb ({number}).")
    # The importer's writer (an editor's token here) finds her by e-mail in any case.
    again = CASE | {"ref": "vang-people-2", "title": "Fagopplæring i Vang", "status": "published"}
    again["contacts"] = [{"name": "Ingrid Berg", "email": "IBERG@post.example"}]
    imported = client.post("/api/v1/cases", json=again, headers=editor)
    assert imported.status_code == 201, imported.get_json()
    assert (
        db.session.scalar(
            select(func.count()).select_from(Person).where(Person.name.like("Ingrid%"))
        )
        == 1
    )

    db.session.rollback()  # the command reads in this test's session: start it afresh
    exported = runner.invoke(main, ["people", "export", str(person_id)])
    assert exported.exit_code == 0, exported.output
    kept = json.loads(exported.output)["case_revisions"]
    assert {entry["contact"]["name"] for entry in kept} == {name for name, _, _ in lives}
    assert {entry["contact"]["email"] for entry in kept} == {email for _, email, _ in lives}

    erased = runner.invoke(main, ["people", "erase", str(person_id), "--yes"])
    assert erased.exit_code == 0, erased.output

    secrets = [value for life in lives for value in life] + slugs + ["Vesteraas", "iberg"]
    stored = _database_text().lower()
    assert [s for s in secrets if s.lower() in stored] == []
    index = _index_text(app).lower()
    assert [s for s in secrets if s.lower() in index] == []
    assert index == "" or CASE["ref"] in index  # the case is there; only she is not
    case = db.session.get(Case, case_id)
    urls = list(_public_urls(app, _candidates(case, slugs[0], person_id), "Vesteraas"))
    assert _leaks(client, iter(urls), secrets) == {}
    exported_all = runner.invoke(main, ["export", "-"])
    assert exported_all.exit_code == 0
    assert [s for s in secrets if s.lower() in exported_all.output.lower()] == []
    login(client, "editor@example.org", PASSWORD)
    history = [f"/editor/cases/{case_id}", "/editor/people/", f"/submissions/{case_id}"]
    assert _leaks(client, iter(history), secrets) == {}
    assert runner.invoke(main, ["search-check"]).exit_code == 0


def _places() -> tuple[int, int, int]:
    db.session.rollback()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (Event, Session, Case)
    )


@pytest.mark.parametrize(
    ("where", "field"),
    [
        ({"event": "Et seminar ingen har holdt"}, "sessions-0-event"),
        ({"event": None, "session": "En sesjon ingen har holdt"}, "sessions-0-session"),
    ],
)
def test_a_speaker_cannot_create_events_or_sessions_but_an_editor_can(
    app: Flask,
    demo: None,
    client: FlaskClient,
    secrets_: dict[str, str],
    where: dict[str, str | None],
    field: str,
) -> None:
    where = {**where, "event": where["event"] or _a_session().event.title}
    body = CASE | {"sessions": [where]}
    before = _places()

    refused = client.post("/api/v1/cases", json=body, headers=bearer(secrets_["speaker"]))

    assert refused.status_code == 422
    problems = refused.get_json()["error"]["details"]["fields"]
    assert list(problems) == [field]
    assert "Et seminar" in problems[field] or "En sesjon" in problems[field]
    assert _places() == before

    created = client.post("/api/v1/cases", json=body, headers=bearer(secrets_["editor"]))
    assert created.status_code == 201
    assert created.get_json()["sessions"][0]["event"] == where["event"]
    assert _places() != before


def test_the_case_form_offers_only_existing_sessions(
    app: Flask, demo: None, client: FlaskClient, secrets_: dict[str, str]
) -> None:
    login(client, "speaker@example.org", PASSWORD)
    fields = form_values(client.get("/submissions/new").text, "/submissions/")
    before = _places()

    refused = client.post(
        "/submissions/new",
        data=with_values(
            fields,
            title="Mentorer for nyankomne",
            summary="Flyktninger lærer norsk på jobb.",
            body="Kommunen og bedriftene laget et løp med språkpraksis.",
            country="NO",
            presented_at="s999999",
            save="y",
        ),
    )

    assert refused.status_code == 422
    assert 'id="presented_at-errors"' in refused.text
    assert _places() == before


def test_restoring_an_old_version_keeps_the_person_as_they_are_now(
    app: Flask, client: FlaskClient, secrets_: dict[str, str]
) -> None:
    editor = bearer(secrets_["editor"])
    body = CASE | {"contacts": [CONTACT], "status": "published"}
    case_id = client.post("/api/v1/cases", json=body, headers=editor).get_json()["id"]
    person_id = _person(CONTACT["name"]).id
    _rename(person_id, "Ingrid Berg", "iberg@post.example", "+47 914 22 333")
    _save_again(client, case_id, editor, "Ny oppsummering.")

    login(client, "editor@example.org", PASSWORD)
    review_page = client.get(f"/editor/cases/{case_id}")
    assert "Ingrid Berg" in review_page.text and "person_id" not in review_page.text
    restored = client.post(
        f"/editor/cases/{case_id}/revisions/1/restore",
        data={"csrf_token": csrf_token(review_page.text), "mode": "publish"},
    )

    assert restored.status_code == 302
    db.session.rollback()
    case = db.session.get(Case, case_id)
    assert case.summary == CASE["summary"]
    assert [(c.person_id, c.person.name) for c in case.contacts] == [(person_id, "Ingrid Berg")]
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1


def test_a_speaker_who_names_someone_known_does_not_see_their_stored_details(
    app: Flask, client: FlaskClient, secrets_: dict[str, str]
) -> None:
    """Naming a known person links them to the draft, but their phone, e-mail and title are
    theirs: the speaker's form shows them empty, and saving it empty keeps them."""
    known = CASE | {"contacts": [CONTACT], "status": "published", "ref": "vang-known"}
    assert client.post("/api/v1/cases", json=known, headers=bearer(secrets_["editor"])).status_code
    by_name = {"name": CONTACT["name"], "organisation": CONTACT["organisation"]}
    draft = CASE | {"contacts": [by_name], "ref": "vang-draft"}
    created = client.post("/api/v1/cases", json=draft, headers=bearer(secrets_["speaker"]))
    assert created.status_code == 201, created.get_json()
    case_id = created.get_json()["id"]
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1

    login(client, "speaker@example.org", PASSWORD)
    form = client.get(f"/submissions/{case_id}").text
    assert CONTACT["name"] in form
    for detail in (CONTACT["email"], CONTACT["phone"], CONTACT["title"]):
        assert detail not in form
    saved = client.post(
        f"/submissions/{case_id}",
        data=with_values(form_values(form, f"/submissions/{case_id}"), save="y"),
    )
    assert saved.status_code in (200, 302, 303), saved.text
    db.session.expire_all()
    person = _person(CONTACT["name"])
    assert (person.email, person.phone, person.title) == (
        CONTACT["email"],
        CONTACT["phone"],
        CONTACT["title"],
    )

    client.post("/logout", data={"csrf_token": csrf_token(form)})
    login(client, "editor@example.org", PASSWORD)
    assert CONTACT["phone"] in client.get(f"/submissions/{case_id}").text
