"""Municipalities like mine: a case's municipality profile (population band, urban-rural type)
as a speaker enters it, an integration writes and reads it, a reader sees it and searches by
it, and as related cases prefer it."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select, text

import kb.data
from kb.cli import main
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, KeyFigure, Material, Role
from kb.search import get_backend
from kb.services import accounts, tokens
from kb.services.exchange.exporter import case_record as exported_record
from kb.services.exchange.importer import ImportRejected, import_plan, plan_import
from kb.services.vocabulary import ensure_default_terms
from tests.conftest import SEARCH_VARIANTS, database_config, make_app, throwaway_postgres
from tests.factories import case_record
from tests.web_helpers import (
    GOOD_PASSWORD,
    case_fields,
    form_values,
    login,
    new_case_form,
    search,
    with_values,
)

SMALL_REMOTE = {"population_band": "under-5000", "urban_rural": "remote-rural"}
SMALL_NEAR = {"population_band": "under-5000", "urban_rural": "rural-near-town"}
CITY = {"population_band": "over-100000", "urban_rural": "urban"}


@pytest.fixture(params=SEARCH_VARIANTS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    """Every test here runs on Whoosh (SQLite, PostgreSQL) and on PostgreSQL's search."""
    return database_config(request, tmp_path)


def _import(*records: dict[str, Any]) -> None:
    ensure_default_terms()
    import_plan(plan_import(list(records)))


def _four_cases() -> None:
    """Two small remote municipalities, a small one near a town, a city, and one without."""
    body = "Flyktninger får språkpraksis i lokale bedrifter og norskopplæring på jobb."
    _import(
        case_record("a", "Språkpraksis i Vang", "nb", "NO", body, themes=["employment"])
        | SMALL_REMOTE,
        case_record("b", "Språkpraksis i Berg", "nb", "NO", body, themes=["employment"])
        | SMALL_REMOTE,
        case_record("c", "Språkpraksis i Rælingen", "nb", "NO", body, themes=["employment"])
        | SMALL_NEAR,
        case_record("d", "Språkpraksis i Oslo", "nb", "NO", body, themes=["employment"]) | CITY,
        case_record("e", "Språkpraksis i Fjordvik", "nb", "NO", body, themes=["employment"]),
    )


def _refs(data: dict[str, Any]) -> list[str]:
    return sorted(hit["ref"] for hit in data["results"])


# -- the case form -------------------------------------------------------------------------


def _speaker(client: FlaskClient, language: str = "") -> None:
    accounts.set_password(accounts.create_user("s@example.org", Role.SPEAKER), GOOD_PASSWORD)
    if language:
        client.set_cookie("kb_lang", language)
    assert login(client, "s@example.org", GOOD_PASSWORD).status_code == 302


def test_a_speaker_chooses_size_and_type_in_the_form_in_their_language(
    app: Flask, client: FlaskClient
) -> None:
    _speaker(client, language="sv")
    page = client.get("/submissions/new").text

    assert "Under 5 000 invånare" in page and "Landsbygd nära en tätort" in page
    fields = with_values(new_case_form(client), **case_fields(**SMALL_NEAR))
    preview = client.post("/submissions/new", data={**fields, "preview": "1"})
    facts = preview.text[preview.text.index('class="facts"') :]
    assert "Kommunens invånarantal" in facts and "Landsbygd nära en tätort" in facts
    response = client.post("/submissions/new", data=fields)

    assert response.status_code == 302, response.text
    db.session.rollback()
    case = db.session.scalar(select(Case).order_by(Case.id.desc()))
    assert (case.population_band, case.urban_rural) == ("under-5000", "rural-near-town")
    again = form_values(client.get(f"/submissions/{case.id}").text, "/submissions/")
    assert ("population_band", "under-5000") in again
    assert ("urban_rural", "rural-near-town") in again


def test_a_value_not_offered_is_refused_in_the_form(app: Flask, client: FlaskClient) -> None:
    _speaker(client)
    fields = with_values(new_case_form(client), **case_fields(population_band="about-4000"))

    response = client.post("/submissions/new", data=fields)

    assert response.status_code == 422  # the form again, with the problem named
    assert "Not a valid choice" in response.text
    assert db.session.scalar(select(func.count(Case.id))) == 0


def test_left_empty_the_profile_stays_unknown(app: Flask, client: FlaskClient) -> None:
    _speaker(client)
    response = client.post(
        "/submissions/new", data=with_values(new_case_form(client), **case_fields())
    )

    assert response.status_code == 302
    db.session.rollback()
    case = db.session.scalar(select(Case))
    assert (case.population_band, case.urban_rural) == (None, None)


# -- the API, import and export --------------------------------------------------------------


def _bearer(role: Role = Role.EDITOR) -> dict[str, str]:
    user = accounts.create_user(f"{role}@example.org", role)
    return {"Authorization": f"Bearer {tokens.create_token(user, 'integration')[1]}"}


def test_the_api_writes_reads_and_refuses_the_profile(app: Flask, client: FlaskClient) -> None:
    ensure_default_terms()
    headers = _bearer()
    new = {
        "title": "Språkpraksis i Vang",
        "language": "nb",
        "country": "NO",
        "summary": "Flyktninger lærer norsk på jobb.",
        "body": "Kommunen og bedriftene laget et løp med språkpraksis.",
        "themes": ["employment"],
        "status": "published",
        **SMALL_REMOTE,
    }
    created = client.post("/api/v1/cases", json=new, headers=headers)

    assert created.status_code == 201, created.text
    case_id = created.get_json()["id"]
    public = client.get(f"/api/v1/cases/{case_id}").get_json()
    assert (public["population_band"], public["urban_rural"]) == ("under-5000", "remote-rural")
    changed = client.patch(
        f"/api/v1/cases/{case_id}", json={"urban_rural": "rural-near-town"}, headers=headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.get_json()["urban_rural"] == "rural-near-town"
    assert changed.get_json()["population_band"] == "under-5000"  # a patch keeps the rest
    bad = client.patch(f"/api/v1/cases/{case_id}", json={"urban_rural": "rural"}, headers=headers)
    assert bad.status_code == 422
    assert "urban_rural" in json.dumps(bad.get_json()["error"])
    spec = client.get("/api/v1/openapi.json").get_json()
    search_params = {p["name"]: p for p in spec["paths"]["/search"]["get"]["parameters"]}
    assert search_params["urban_rural"]["schema"]["items"]["enum"] == [
        "urban",
        "intermediate",
        "rural-near-town",
        "remote-rural",
    ]


def test_import_export_and_csv_carry_the_profile(app: Flask, client: FlaskClient) -> None:
    _import(case_record("a", "Språkpraksis i Vang", "nb", "NO") | SMALL_REMOTE)
    case = db.session.scalar(select(Case))

    record = exported_record(case, public=True)
    assert {k: record[k] for k in SMALL_REMOTE} == SMALL_REMOTE
    with write_transaction():
        case.population_band = case.urban_rural = None
    _import(record)  # importing the export again restores it
    db.session.refresh(case)
    assert (case.population_band, case.urban_rural) == ("under-5000", "remote-rural")
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/cases.csv").text.lstrip("\ufeff"))))
    assert {k: rows[0][k] for k in SMALL_REMOTE} == SMALL_REMOTE


def test_an_import_with_an_unknown_band_names_the_field(app: Flask) -> None:
    ensure_default_terms()
    with pytest.raises(ImportRejected) as rejected:
        plan_import([case_record("a", "Vang", "nb", "NO", population_band="4000")])

    assert "population_band" in str(rejected.value.problems[0])


# -- the case page, search and the home page ----------------------------------------------------


def test_the_case_page_shows_the_profile_linked_to_like_municipalities(
    app: Flask, client: FlaskClient
) -> None:
    _four_cases()
    client.set_cookie("kb_lang", "nb")
    page = client.get("/cases/sprakpraksis-i-vang").text

    assert "Under 5 000 innbyggere" in page and "Landlig, langt fra by" in page
    link = re.search(r'href="(/search\?urban_rural=[^"]+)"', page)
    assert link is not None
    found = client.get(link.group(1).replace("&amp;", "&"))
    assert found.status_code == 200
    assert "Språkpraksis i Berg" in found.text and "Språkpraksis i Oslo" not in found.text


def test_facets_count_and_filters_narrow_through_the_api(app: Flask, client: FlaskClient) -> None:
    _four_cases()
    everything = search(client, "")

    assert everything["facets"]["population_band"] == {"under-5000": 3, "over-100000": 1}
    assert everything["facets"]["urban_rural"] == {
        "remote-rural": 2,
        "rural-near-town": 1,
        "urban": 1,
    }
    small = search(client, "språkpraksis", population_band="under-5000")
    assert _refs(small) == ["a", "b", "c"]
    assert small["facets"]["urban_rural"] == {"remote-rural": 2, "rural-near-town": 1}
    like_mine = search(client, "", population_band="under-5000", urban_rural="remote-rural")
    assert _refs(like_mine) == ["a", "b"]
    either = client.get(
        "/api/v1/search", query_string=[("urban_rural", "urban"), ("urban_rural", "remote-rural")]
    ).get_json()
    assert _refs(either) == ["a", "b", "d"]
    assert client.get("/api/v1/search", query_string={"urban_rural": "rural"}).status_code == 400


def test_the_search_page_offers_and_applies_the_filters_in_the_readers_language(
    app: Flask, client: FlaskClient
) -> None:
    _four_cases()
    client.set_cookie("kb_lang", "fi")
    page = client.get("/search", query_string={"q": "språkpraksis"}).text

    assert "Kunnan asukasluku" in page and "Alle 5 000 asukasta" in page
    filtered = client.get("/search", query_string={"urban_rural": "remote-rural"})
    assert filtered.status_code == 200
    assert "Språkpraksis i Vang" in filtered.text and "Språkpraksis i Berg" in filtered.text
    assert "Språkpraksis i Rælingen" not in filtered.text


def test_the_filters_list_bands_and_types_in_their_own_order_not_by_count(
    app: Flask, client: FlaskClient
) -> None:
    """Remote rural has the most cases here, yet the types read from urban to remote, as in
    the case form; the counts stay those the API gives."""
    _four_cases()
    page = client.get("/search", query_string={"q": "språkpraksis"}).text
    listed = [
        page.index(f'>{label}</a> <span class="count">{count}<')
        for label, count in (("Urban", 1), ("Rural, near a town", 1), ("Remote rural", 2))
    ]
    assert listed == sorted(listed)
    assert page.index(">Under 5,000 inhabitants</a>") < page.index(">Over 100,000 inhabitants</a>")
    assert search(client, "språkpraksis")["facets"]["urban_rural"] == {
        "remote-rural": 2,
        "rural-near-town": 1,
        "urban": 1,
    }


@pytest.mark.parametrize("language", ["en", "nb", "sv", "da", "fi", "is"])
def test_the_home_page_entry_leads_to_the_filtered_search(
    app: Flask, client: FlaskClient, language: str
) -> None:
    _four_cases()
    client.set_cookie("kb_lang", language)
    home = client.get("/").text
    section = home[home.index('id="like-yours"') :]
    form = re.search(r'<form[^>]*action="([^"]+)"[^>]*method="get"', section)

    assert form is not None and form.group(1) == "/search"
    assert 'name="population_band"' in section and 'name="urban_rural"' in section
    assert 'value="rural-near-town"' in section
    # The browser sends both selects; one left at "any" is an empty value.
    found = client.get(form.group(1) + "?population_band=under-5000&urban_rural=")
    assert found.status_code == 200
    for title in ("Vang", "Berg", "Rælingen"):
        assert f"Språkpraksis i {title}" in found.text
    assert "Språkpraksis i Oslo" not in found.text


def test_the_home_page_entry_is_translated(app: Flask, client: FlaskClient) -> None:
    headings = set()
    for language in ("en", "nb", "sv", "da", "fi", "is"):
        client.set_cookie("kb_lang", language)
        home = client.get("/").text
        headings.add(re.search(r'<h2 id="like-yours">([^<]+)</h2>', home).group(1))
    assert len(headings) == 6


# -- related cases -------------------------------------------------------------------------------


def test_related_cases_prefer_a_municipality_like_this_one_when_scores_are_close(
    app: Flask,
) -> None:
    body = (
        "Kommunen bosatte flyktninger og ga dem språkpraksis i fiskeindustrien. Fiskeindustrien "
        "trengte arbeidskraft, og språkpraksis i fiskeindustrien ga jobb."
    )
    twin = case_record(
        "t1", "Fiskeindustrien og språkpraksis", "nb", "NO", body, themes=["employment"]
    )
    _import(
        case_record("me", "Språkpraksis i fiskeindustrien", "nb", "NO", body, themes=["employment"])
        | SMALL_REMOTE,
        twin | CITY,  # the same text: as related, but from a city
        twin | {"ref": "t2"} | SMALL_REMOTE,  # and from a municipality like this one
    )
    ids = dict(db.session.execute(select(Case.ref, Case.id)).all())

    related = get_backend().related(ids["me"], limit=4)

    assert [hit.ref for hit in related] == ["t2", "t1"]
    assert related[0].score == pytest.approx(related[1].score * 1.1, rel=1e-3)


# -- the migration and the demo ----------------------------------------------------------------


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_the_migration_keeps_every_case_and_what_hangs_on_it(tmp_path: Path, engine: str) -> None:
    """0017 adds the columns in place: on SQLite a copied table would take the cases'
    materials and key figures with it when the old one is dropped."""
    if engine == "sqlite":
        _migrate_round_trip(tmp_path, {})
    else:
        with throwaway_postgres() as url:
            _migrate_round_trip(tmp_path, {"SQLALCHEMY_DATABASE_URI": url})


def _migrate_round_trip(tmp_path: Path, config: dict[str, str]) -> None:
    app = make_app(tmp_path / "instance", **config)
    with app.app_context():
        cli = app.test_cli_runner()
        assert cli.invoke(main, ["db", "upgrade", "0013_restore_proposals"]).exit_code == 0
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO case_study (id, slug, title, language, country, status, summary,"
                    " body, outcomes, created_at, updated_at) VALUES (1, 'c', 'C', 'nb', 'NO',"
                    " 'published', '', '', '', '2026-01-01', '2026-01-01')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO key_figure (id, case_id, position, label, value) "
                    "VALUES (1, 1, 0, 'jobs', 12)"
                )
            )
        assert cli.invoke(main, ["db", "upgrade"]).exit_code == 0
        assert db.session.scalar(select(func.count(KeyFigure.id))) == 1
        with write_transaction():
            db.session.get(Case, 1).population_band = "under-5000"
        with pytest.raises(Exception, match="ck_case_study_urban_rural"), write_transaction():
            db.session.get(Case, 1).urban_rural = "suburban"
        db.session.rollback()
        db.session.remove()
        assert cli.invoke(main, ["db", "downgrade", "0013_restore_proposals"]).exit_code == 0
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM key_figure")) == 1
            assert conn.scalar(text("SELECT count(*) FROM case_study")) == 1
        db.engine.dispose()


def test_the_demo_gives_a_profile_only_where_the_text_states_it(app: Flask, demo: None) -> None:
    folder = Path(kb.data.__file__).parent
    texts = {
        case["ref"]: "\n".join(v for v in case.values() if isinstance(v, str))
        for case in json.loads((folder / "cases.json").read_text("utf-8"))
    }
    stated = json.loads((folder / "demo-municipality-profiles.json").read_text("utf-8"))

    for ref, profile in stated.items():
        assert all(words in texts[ref] for words in profile["stated"]), ref
    profiled = db.session.execute(
        select(Case.ref, Case.population_band, Case.urban_rural).where(
            (Case.population_band.is_not(None)) | (Case.urban_rural.is_not(None))
        )
    ).all()
    assert {ref: (band, kind) for ref, band, kind in profiled} == {
        ref: (p.get("population_band"), p.get("urban_rural")) for ref, p in stated.items()
    }
    assert len(profiled) == 7
    assert db.session.scalar(select(func.count(Material.id))) > 0  # the demo is whole
