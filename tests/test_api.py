"""The JSON API: reading what is public, writing with a token, errors, caching and CORS."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from kb.cli import main
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, Role
from kb.services import accounts, review, tokens

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
NEW_CASE = {
    "title": "Språkpraksis i lokale bedrifter i Vang",
    "language": "nb",
    "country": "NO",
    "summary": "Flyktninger lærer norsk på jobb.",
    "body": "Kommunen og bedriftene laget et løp med språkpraksis og fagopplæring.",
    "themes": ["employment", "language-training"],
    "ref": "vang-api-1",
    "status": "published",
}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def secrets_(app: Flask) -> dict[str, str]:
    """API tokens of a speaker, another speaker and an editor."""
    found = {}
    for name, role in (("speaker", Role.SPEAKER), ("other", Role.SPEAKER), ("editor", Role.EDITOR)):
        user = accounts.create_user(f"{name}@example.org", role)
        found[name] = tokens.create_token(user, "integration")[1]
    return found


def test_a_speakers_case_is_reviewed_then_found_by_search_and_in_the_csv(
    client: FlaskClient, demo: None, secrets_: dict[str, str]
) -> None:
    created = client.post("/api/v1/cases", json=NEW_CASE, headers=bearer(secrets_["speaker"]))

    assert created.status_code == 201
    case = created.get_json()
    assert case["status"] == "submitted"  # whatever status a speaker asks for
    assert created.headers["Location"].endswith(f"/api/v1/cases/{case['id']}")
    assert client.get(f"/api/v1/cases/{case['id']}").status_code == 404  # not public yet
    own = client.get(f"/api/v1/cases/{case['id']}", headers=bearer(secrets_["speaker"]))
    assert own.status_code == 200  # but its author may read it with their token
    others = client.get(f"/api/v1/cases/{case['id']}", headers=bearer(secrets_["other"]))
    assert others.status_code == 404

    db.session.rollback()
    stored = db.session.get(Case, case["id"])
    review.decide(stored, "publish", accounts.find_user("editor@example.org"))

    found = client.get("/api/v1/search", query_string={"q": "språkpraksis Vang"}).get_json()
    assert case["id"] in [hit["id"] for hit in found["results"]]
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/cases.csv").text.lstrip("\ufeff"))))
    assert NEW_CASE["title"] in [row["title"] for row in rows]
    public = client.get(f"/api/v1/cases/{case['id']}").get_json()
    assert public["status"] == "published" and public["ref"] == "vang-api-1"


def test_an_editors_token_may_publish_and_change_a_case(
    client: FlaskClient, demo: None, secrets_: dict[str, str]
) -> None:
    created = client.post("/api/v1/cases", json=NEW_CASE, headers=bearer(secrets_["editor"]))
    assert created.get_json()["status"] == "published"
    case_id = created.get_json()["id"]

    changed = client.patch(
        f"/api/v1/cases/{case_id}",
        json={"summary": "Ny oppsummering.", "status": "archived"},
        headers=bearer(secrets_["editor"]),
    )
    assert changed.status_code == 200
    assert changed.get_json()["summary"] == "Ny oppsummering."
    assert changed.get_json()["title"] == NEW_CASE["title"]  # what was not sent stays
    assert client.get(f"/api/v1/cases/{case_id}").status_code == 404  # archived


def test_write_errors_say_what_is_wrong(
    app: Flask, client: FlaskClient, demo: None, secrets_: dict[str, str]
) -> None:
    speaker = bearer(secrets_["speaker"])
    first = client.post("/api/v1/cases", json=NEW_CASE, headers=speaker).get_json()

    missing = client.post("/api/v1/cases", json=NEW_CASE)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert (
        client.post("/api/v1/cases", json=NEW_CASE, headers=bearer("kbt_forged")).status_code == 401
    )
    duplicate = client.post("/api/v1/cases", json=NEW_CASE, headers=speaker)
    assert duplicate.status_code == 409
    assert duplicate.get_json()["error"]["details"] == {"field": "ref"}
    invalid = client.post(
        "/api/v1/cases",
        json={"title": "x", "language": "xx", "country": "NO", "themes": ["nope"]},
        headers=speaker,
    )
    assert invalid.status_code == 422
    assert set(invalid.get_json()["error"]["details"]["fields"]) == {"language"}
    # A material needs a link (or an uploaded file): without one it is refused, not a 500.
    sourceless = client.post(
        "/api/v1/cases",
        json={**NEW_CASE, "ref": None, "materials": [{"kind": "link", "title": "Slides"}]},
        headers=speaker,
    )
    assert sourceless.status_code == 422, sourceless.get_data(as_text=True)
    assert "materials-0" in str(sourceless.get_json()["error"]["details"]["fields"])
    unknown_theme = client.post(
        "/api/v1/cases", json={**NEW_CASE, "ref": None, "themes": ["nope"]}, headers=speaker
    )
    assert unknown_theme.get_json()["error"]["details"]["fields"] == {
        "themes-0": "Unknown key nope."
    }
    not_json = client.post("/api/v1/cases", data="title=x", headers=speaker)
    assert not_json.status_code == 415
    others = client.patch(
        f"/api/v1/cases/{first['id']}", json={"title": "Mine"}, headers=bearer(secrets_["other"])
    )
    assert others.status_code == 403
    assert client.patch("/api/v1/cases/999999", json={}, headers=speaker).status_code == 404
    db.session.rollback()
    assert db.session.get(Case, first["id"]).title == NEW_CASE["title"]


def test_files_are_uploaded_to_a_case_and_refused_with_a_reason(
    app: Flask, client: FlaskClient, demo: None, secrets_: dict[str, str]
) -> None:
    speaker = bearer(secrets_["speaker"])
    case_id = client.post("/api/v1/cases", json=NEW_CASE, headers=speaker).get_json()["id"]
    url = f"/api/v1/cases/{case_id}/materials"

    added = client.post(
        url,
        data={"file": (io.BytesIO(PDF), "rapport.pdf"), "title": "Rapport", "kind": "report"},
        headers=speaker,
    )
    assert added.status_code == 201
    [material] = added.get_json()["materials"]
    assert material["kind"] == "report" and material["url"].endswith("/rapport.pdf")
    wrong = client.post(url, data={"file": (io.BytesIO(b"MZ\x90\x00"), "x.pdf")}, headers=speaker)
    assert wrong.status_code == 422
    assert "not accepted" in wrong.get_json()["error"]["message"]
    app.config["MATERIAL_MAX_BYTES"] = 10
    large = client.post(url, data={"file": (io.BytesIO(PDF), "big.pdf")}, headers=speaker)
    assert large.status_code == 413
    assert large.get_json()["error"]["code"] == "payload_too_large"


def test_writes_are_rate_limited_per_token(
    app: Flask, client: FlaskClient, secrets_: dict[str, str]
) -> None:
    app.config["API_WRITE_LIMIT"] = "2 per minute"
    statuses = [
        client.post("/api/v1/cases", json={"title": "x"}, headers=bearer(secrets_["speaker"]))
        for _ in range(3)
    ]

    assert [r.status_code for r in statuses] == [422, 422, 429]
    assert statuses[-1].get_json()["error"]["code"] == "too_many_requests"
    # The write routes share the count: changing a case is refused too.
    change = client.patch("/api/v1/cases/1", json={}, headers=bearer(secrets_["speaker"]))
    assert change.status_code == 429
    other = client.post("/api/v1/cases", json={"title": "x"}, headers=bearer(secrets_["other"]))
    assert other.status_code == 422


def test_lists_are_paged_with_links_and_cached_with_etags(client: FlaskClient, demo: None) -> None:
    first = client.get("/api/v1/cases", query_string={"per_page": 5, "country": "NO"})
    data = first.get_json()

    assert len(data["items"]) == 5 and data["total"] > 5
    assert first.headers["X-Total-Count"] == str(data["total"])
    links = first.headers["Link"]
    assert 'page=2>; rel="next"' in links and 'rel="last"' in links and 'rel="prev"' not in links
    assert all(item["country"] == "NO" for item in data["items"])
    second = client.get("/api/v1/cases", query_string={"per_page": 5, "country": "NO", "page": 2})
    assert not {c["id"] for c in data["items"]} & {c["id"] for c in second.get_json()["items"]}
    again = client.get(
        "/api/v1/cases",
        query_string={"per_page": 5, "country": "NO"},
        headers={"If-None-Match": first.headers["ETag"]},
    )
    assert again.status_code == 304 and again.data == b""
    bad = client.get("/api/v1/cases", query_string={"per_page": 1000})
    assert bad.status_code == 400
    assert bad.get_json()["error"]["details"] == {"parameter": "per_page"}


@pytest.mark.parametrize(
    ("path", "name"), [("/cases", "page"), ("/cases", "per_page"), ("/people", "per_page")]
)
def test_page_bounds_are_the_described_ones_and_refused_in_the_callers_language(
    client: FlaskClient, demo: None, path: str, name: str
) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    described = {p["name"]: p["schema"] for p in document["paths"][path]["get"]["parameters"]}
    highest = described[name]["maximum"]

    assert client.get(f"/api/v1{path}", query_string={name: highest}).status_code == 200
    refused = client.get(
        f"/api/v1{path}", query_string={name: highest + 1}, headers={"Accept-Language": "nb"}
    )
    assert refused.status_code == 400
    error = refused.get_json()["error"]
    assert error["details"] == {"parameter": name}
    assert error["message"] == f"{name} må være et heltall fra 1 til {highest}."


def test_contact_details_are_shown_only_with_consent(client: FlaskClient, demo: None) -> None:
    db.session.rollback()
    case = db.session.scalar(select(Case).where(Case.ref == "c04"))
    agreed, declined = (contact.person for contact in case.contacts[:2])
    with write_transaction():
        for person, consent in ((agreed, True), (declined, False)):
            person.email = f"{person.slug}@kommune.example"
            person.phone = "+47 900 00 000"
            person.set_consent(consent)
    emails = {agreed.name: agreed.email, declined.name: None}

    data = client.get(f"/api/v1/cases/{case.slug}").get_json()
    assert data == client.get(f"/api/v1/cases/{case.id}").get_json()
    shown = {c["name"]: c["email"] for c in data["contacts"]}
    assert shown == emails
    for person in (agreed, declined):
        listed = client.get(f"/api/v1/people/{person.slug}").get_json()
        assert listed["email"] == emails[person.name]
    assert "+47 900 00 000" in client.get(f"/api/v1/people/{agreed.slug}").text
    assert "+47 900 00 000" not in client.get(f"/api/v1/people/{declined.slug}").text


def test_the_open_data_dump_is_what_kb_export_writes(
    client: FlaskClient, runner: FlaskCliRunner, demo: None, tmp_path: Path
) -> None:
    target = tmp_path / "public.json"
    assert runner.invoke(main, ["export", "--public", str(target)]).exit_code == 0
    exported = json.loads(target.read_text())
    served = client.get("/api/v1/export.json").get_json()

    for document in (exported, served):
        document.pop("exported_at")
    assert served == exported


def test_other_sites_may_read_but_not_write(app: Flask, client: FlaskClient, demo: None) -> None:
    read = client.get("/api/v1/vocabularies", headers={"Origin": "https://portal.example"})
    assert read.headers["Access-Control-Allow-Origin"] == "*"
    assert "Link" in read.headers["Access-Control-Expose-Headers"]
    app.config["API_CORS_ORIGINS"] = "https://portal.example, https://kommune.example"
    allowed = client.options("/api/v1/cases", headers={"Origin": "https://kommune.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://kommune.example"
    assert allowed.headers["Access-Control-Allow-Methods"] == "GET, HEAD, OPTIONS"
    refused = client.get("/api/v1/cases", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in refused.headers


def test_errors_are_json_in_the_callers_language(client: FlaskClient) -> None:
    missing = client.get("/api/v1/nothing-here", headers={"Accept-Language": "sv"})

    assert missing.status_code == 404
    assert missing.mimetype == "application/json"
    assert missing.get_json()["error"]["code"] == "not_found"
    assert (
        missing.get_json()["error"]["message"]
        != "The page may have moved, or the address may be mistyped."
    )
    assert client.delete("/api/v1/cases").get_json()["error"]["code"] == "method_not_allowed"


def test_the_description_lists_every_api_route(app: Flask, client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    described = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    routes = {
        (
            method,
            rule.rule.removeprefix("/api/v1")
            .replace("<int:", "<")
            .replace("<", "{")
            .replace(">", "}"),
        )
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert document["openapi"] == "3.1.0"
    assert described == routes


def test_kb_export_writes_the_same_csv_as_the_api(
    client: FlaskClient, runner: FlaskCliRunner, demo: None, tmp_path: Path
) -> None:
    """One CSV writer serves the command line, the API and the exports plugin."""
    target = tmp_path / "cases.csv"
    result = runner.invoke(main, ["export", "--public", "--format", "csv", str(target)])

    assert result.exit_code == 0, result.output
    served = client.get("/api/v1/cases.csv", query_string={"sort": "newest"}).data
    by_id = sorted(target.read_bytes().split(b"\r\n")[1:])
    assert by_id == sorted(served.split(b"\r\n")[1:])
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")


def test_a_person_named_twice_among_the_contacts_is_one_contact(
    client: FlaskClient, secrets_: dict[str, str]
) -> None:
    """Found by the contract test: the same person twice (once by e-mail, once as the same
    entry again) was a 500 from the unique (case, person) key; it is one contact, with the
    first role."""
    eva = {"name": "Eva Lind", "email": "eva@example.org"}
    body = NEW_CASE | {
        "ref": "vang-api-twice",
        "contacts": [eva | {"role": "prosjektleder"}, eva | {"role": "kontakt"}],
    }
    created = client.post("/api/v1/cases", json=body, headers=bearer(secrets_["editor"]))

    assert created.status_code == 201, created.get_json()
    db.session.rollback()
    case = db.session.get(Case, created.get_json()["id"])
    assert [(c.person.email, c.role) for c in case.contacts] == [
        ("eva@example.org", "prosjektleder")
    ]
