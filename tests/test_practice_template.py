"""The practice template (issue 18): what a municipal officer asks after finding a case (did
it work and how do we know, what did it cost, where does it stand, what would they do
differently), through every door a case goes: the form, the case page, the review's
changes and restore, the API, import and export, JSON-LD, OAI-PMH and search."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseStatus, KeyFigure, Role
from kb.services import accounts, review, submissions, tokens
from kb.services.exchange.exporter import cases_document
from kb.services.exchange.importer import ImportRejected, import_plan, plan_import
from tests.conftest import SEARCH_VARIANTS
from tests.factories import case_record
from tests.web_helpers import (
    GOOD_PASSWORD,
    case_fields,
    csrf_token,
    form_values,
    login,
    new_case_form,
    search,
    with_values,
)

#: Every field of the template, as the exchange format (and the API) writes it.
TEMPLATE: dict[str, Any] = {
    "background": "Mange nyankomne sto uten jobb etter introduksjonsprogrammet.",
    "evaluation_method": "Spørreundersøkelse blant deltakerne etter ett år, og registerdata.",
    "evaluated_by": "external",
    "evaluation_url": "https://evaluering.example.org/rapport.pdf",
    "funding": "Kommunens budsjett og statlig tilskudd fra IMDi.",
    "budget_band": "100k-500k",
    "staff": "To koordinatorer i halv stilling.",
    "practice_status": "permanent",
    "practice_status_year": 2021,
    "lessons_learned": "Mentorordningen fungerte ikke uten avsatt tid hos bedriftene.",
    "transferability": "Krever en fast kontaktperson i næringslivet.",
}
FIGURES = [
    {"label": "I arbeid etter to år", "value": 64, "unit": "%", "year": 2020, "source": "SSB"},
    {"label": "Bedrifter med", "value": 9, "unit": None, "year": None, "source": None},
]
LD_JSON = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)
OAI_NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dc": "http://purl.org/dc/elements/1.1/",
}


def _import(*records: dict[str, Any]) -> None:
    import_plan(plan_import(list(records)))


def _full_case(ref: str = "t1", **changes: Any) -> Case:
    _import(
        case_record(
            ref,
            "Jobbvenner i Fjordvik",
            "nb",
            "NO",
            body="Kommunen og bedriftene laget et løp med språkpraksis.",
            summary="Nyankomne får en jobbvenn i en lokal bedrift.",
            key_figures=FIGURES,
            **(TEMPLATE | changes),
        )
    )
    return db.session.scalar(select(Case).where(Case.ref == ref))


# -- the model: closed lists and a year that belongs to a status ---------------------------


def test_the_choices_are_closed_lists(app: Flask) -> None:
    case = Case()
    for field in ("practice_status", "evaluated_by", "budget_band"):
        with pytest.raises(ValueError, match=field):
            setattr(case, field, "sometimes")
    with pytest.raises(ValueError, match="year"):
        case.practice_status_year = 1850
    with pytest.raises(ValueError, match="year"):
        KeyFigure(label="x", value=1, year=3000)


def test_a_status_year_without_a_status_is_refused_by_the_database_and_the_format(
    app: Flask,
) -> None:
    case = _full_case()
    with pytest.raises(IntegrityError), write_transaction():
        case.practice_status = None
    db.session.rollback()

    with pytest.raises(ImportRejected) as rejected:
        plan_import([case_record("t2", "T", "nb", "NO", practice_status_year=2020)])

    assert [p.field for p in rejected.value.problems] == ["practice_status_year"]


def test_existing_cases_keep_working_with_the_template_empty(
    app: Flask, client: FlaskClient
) -> None:
    _import(case_record("old", "Et eldre eksempel", "nb", "NO", body="Tekst."))
    case = db.session.scalar(select(Case).where(Case.ref == "old"))

    page = client.get(f"/cases/{case.slug}")

    assert page.status_code == 200
    for heading in ("Background", "Evaluation", "Resources and funding", "Lessons learned"):
        assert f">{heading}<" not in page.text
    assert client.get(f"/api/v1/cases/{case.id}").get_json()["practice_status"] is None


# -- the form ----------------------------------------------------------------------------


def _speaker(client: FlaskClient) -> None:
    accounts.set_password(accounts.create_user("speaker@example.org", Role.SPEAKER), GOOD_PASSWORD)
    assert login(client, "speaker@example.org", GOOD_PASSWORD).status_code == 302


def _form_template() -> dict[str, Any]:
    figure = FIGURES[0]
    return {
        **{k: str(v) for k, v in TEMPLATE.items()},
        "key_figures__0__label": figure["label"],
        "key_figures__0__value": "64",
        "key_figures__0__unit": "%",
        "key_figures__0__year": "2020",
        "key_figures__0__source": "SSB",
    }


def test_a_speaker_fills_in_the_template_and_finds_it_again_in_the_form(
    app: Flask, client: FlaskClient
) -> None:
    _speaker(client)
    fields = new_case_form(client)
    for name in (*TEMPLATE, "key_figures-0-year", "key_figures-0-source"):
        assert name in dict(fields), name

    sent = client.post(
        "/submissions/new", data=with_values(fields, **case_fields(**_form_template()))
    )

    assert sent.status_code == 302, sent.text
    db.session.rollback()
    case = db.session.scalar(select(Case).where(Case.owner_id.is_not(None)))
    assert {k: getattr(case, k) for k in TEMPLATE} == TEMPLATE
    figure = case.key_figures[0]
    assert (figure.year, figure.source) == (2020, "SSB")
    again = dict(form_values(client.get(f"/submissions/{case.id}").text, "/submissions/"))
    assert {k: again[k] for k in TEMPLATE} == {k: str(v) for k, v in TEMPLATE.items()}
    assert (again["key_figures-0-year"], again["key_figures-0-source"]) == ("2020", "SSB")


def test_the_form_explains_a_status_year_without_a_status_in_the_speakers_language(
    app: Flask, client: FlaskClient
) -> None:
    _speaker(client)
    client.set_cookie("kb_lang", "nb")
    fields = new_case_form(client)

    sent = client.post(
        "/submissions/new",
        data=with_values(fields, **case_fields(practice_status="", practice_status_year="2020")),
    )

    assert sent.status_code == 422
    assert "Velg statusen dette året gjelder." in sent.text
    assert "Hvordan resultatene ble målt" in sent.text  # the template's labels, in Norwegian
    assert "Kilde" in sent.text


# -- the case page -----------------------------------------------------------------------


def test_the_case_page_shows_the_whole_template_in_words(app: Flask, client: FlaskClient) -> None:
    case = _full_case()

    page = client.get(f"/cases/{case.slug}").text

    for text in (
        TEMPLATE["background"],
        TEMPLATE["evaluation_method"],
        TEMPLATE["funding"],
        TEMPLATE["staff"],
        TEMPLATE["lessons_learned"],
        TEMPLATE["transferability"],
        "Made permanent or scaled up (2021)",
        "By an external evaluator",
        'href="https://evaluering.example.org/rapport.pdf"',
        "100,000 to 500,000 euros",
        '2020 · Source: <span lang="nb">SSB</span>',
        "Figure from those behind the case",  # the figure without a source
    ):
        assert text in page, text
    for heading in ("Background", "Evaluation", "Resources and funding", "Lessons learned"):
        assert f">{heading}</h2>" in page
    assert ">What it takes to do it elsewhere</h3>" in page


def test_the_case_page_speaks_the_readers_language(app: Flask, client: FlaskClient) -> None:
    case = _full_case()
    client.set_cookie("kb_lang", "sv")

    page = client.get(f"/cases/{case.slug}").text

    assert "Permanentad eller uppskalad (2021)" in page
    assert "Lärdomar" in page and "100 000 till 500 000 euro" in page


# -- the review's changes and restore ----------------------------------------------------


def test_the_review_shows_template_changes_in_words_and_restore_brings_them_back(
    app: Flask, client: FlaskClient
) -> None:
    speaker = accounts.create_user("speaker@example.org", Role.SPEAKER)
    editor = accounts.create_user("editor@example.org", Role.EDITOR)
    accounts.set_password(editor, GOOD_PASSWORD)
    fields = {
        "title": "Jobbvenner",
        "language": "nb",
        "country": "NO",
        "themes": ["employment"],
        "summary": "S.",
        "body": "B.",
        **TEMPLATE,
    }
    case = submissions.save(None, submissions.Submission(fields, submit=True), speaker)
    review.decide(case, "publish", editor)
    changed = fields | {
        "lessons_learned": "Mentorordningen fungerte godt med avsatt tid.",
        "practice_status": "discontinued",
        "budget_band": "over-2m",
    }
    submissions.save(case, submissions.Submission(changed), editor)
    login(client, "editor@example.org", GOOD_PASSWORD)

    page = client.get(f"/editor/cases/{case.id}/revisions/1/restore").text

    assert "<dt>Lessons learned</dt>" in page
    assert "fungerte <del>godt</del><ins>ikke</ins> <del>med</del><ins>uten</ins>" in page
    assert "<del>Discontinued</del> → <ins>Made permanent or scaled up</ins>" in page
    assert "<del>Over 2 million euros</del> → <ins>100,000 to 500,000 euros</ins>" in page

    client.post(
        f"/editor/cases/{case.id}/revisions/1/restore",
        data={"csrf_token": csrf_token(page), "mode": "publish"},
    )

    db.session.rollback()
    restored = db.session.get(Case, case.id)
    assert {k: getattr(restored, k) for k in TEMPLATE} == TEMPLATE


# -- the API ---------------------------------------------------------------------------


def test_the_api_shows_and_writes_every_field(app: Flask, client: FlaskClient) -> None:
    case = _full_case()

    shown = client.get(f"/api/v1/cases/{case.id}").get_json()

    assert {k: shown[k] for k in TEMPLATE} == TEMPLATE
    assert shown["key_figures"][0] | {} == FIGURES[0] | {"value": 64.0}
    assert shown["key_figures"][1]["source"] is None

    editor = accounts.create_user("editor@example.org", Role.EDITOR)
    secret = tokens.create_token(editor, "test")[1]
    auth = {"Authorization": f"Bearer {secret}"}
    written = client.post(
        "/api/v1/cases",
        json={
            "title": "Via API",
            "language": "nb",
            "country": "NO",
            "key_figures": FIGURES,
            **TEMPLATE,
        },
        headers=auth,
    )
    assert written.status_code == 201, written.text
    assert {k: written.get_json()[k] for k in TEMPLATE} == TEMPLATE

    refused = client.patch(
        f"/api/v1/cases/{written.get_json()['id']}",
        json={"practice_status": None, "practice_status_year": 2020},
        headers=auth,
    )
    assert refused.status_code == 422
    assert "practice_status_year" in refused.get_json()["error"]["details"]["fields"]
    bad_band = client.patch(
        f"/api/v1/cases/{written.get_json()['id']}", json={"budget_band": "a lot"}, headers=auth
    )
    assert bad_band.status_code == 422


def test_the_api_description_lists_the_choices(app: Flask, client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    case = spec["components"]["schemas"]["Case"]["properties"]

    assert "practice_status" in case and "lessons_learned" in case
    search_params = {p["name"]: p for p in spec["paths"]["/search"]["get"]["parameters"]}
    assert search_params["practice_status"]["schema"]["items"]["enum"] == [
        "planned",
        "running",
        "ended",
        "permanent",
        "discontinued",
    ]
    assert "budget_band" in search_params


# -- import and export -------------------------------------------------------------------


def test_import_then_export_gives_every_field_back(app: Flask) -> None:
    case = _full_case()

    record = cases_document([case], public=True)["cases"][0]

    assert {k: record[k] for k in TEMPLATE} == TEMPLATE
    assert record["key_figures"] == [f | {"value": float(f["value"])} for f in FIGURES]
    # The exported record imports again to the same case.
    again = {k: v for k, v in record.items() if k != "slug"} | {"ref": "t1"}
    _import(again)
    assert cases_document([case], public=True)["cases"][0] == record


def test_an_unknown_choice_in_a_file_is_reported_by_field(app: Flask) -> None:
    with pytest.raises(ImportRejected) as rejected:
        plan_import([case_record("x", "X", "nb", "NO", budget_band="a lot", evaluated_by="me")])

    assert sorted(p.field for p in rejected.value.problems) == ["budget_band", "evaluated_by"]


def test_the_markdown_and_printable_downloads_carry_the_template(
    app: Flask, client: FlaskClient
) -> None:
    case = _full_case()

    markdown = client.get(f"/cases/{case.slug}/export/markdown").text
    printable = client.get(f"/cases/{case.slug}/export/html").text

    assert "- **Status of the practice:** Made permanent or scaled up (2021)" in markdown
    assert f"## Background\n\n{TEMPLATE['background']}" in markdown
    assert "- **Evaluated:** By an external evaluator" in markdown
    assert "**64 %** (2020 · Source: SSB)" in markdown
    assert "- **Total budget:** 100,000 to 500,000 euros" in markdown
    assert f"### What it takes to do it elsewhere\n\n{TEMPLATE['transferability']}" in markdown
    for text in (TEMPLATE["lessons_learned"], TEMPLATE["funding"], "Figure from those behind"):
        assert text in printable
    table = client.get(f"/cases/{case.slug}/export/csv").text.splitlines()
    assert table[0].endswith('"practice_status","practice_status_year","budget_band"')
    assert table[1].endswith('"permanent","2021","100k-500k"')


# -- JSON-LD and OAI-PMH ---------------------------------------------------------------


def test_json_ld_carries_the_template(app: Flask, client: FlaskClient) -> None:
    case = _full_case()

    data = json.loads(LD_JSON.search(client.get(f"/cases/{case.slug}").text).group(1))

    assert data["creativeWorkStatus"] == "Made permanent or scaled up (2021)"
    assert data["funding"]["description"] == TEMPLATE["funding"]
    assert data["funding"]["amount"] | {} == {
        "@type": "MonetaryAmount",
        "currency": "EUR",
        "minValue": 100_000,
        "maxValue": 500_000,
        "description": "100,000 to 500,000 euros",
    }
    assert data["citation"] == {
        "@type": "Report",
        "url": TEMPLATE["evaluation_url"],
        "description": "By an external evaluator",
    }
    parts = {part["name"]: part["text"] for part in data["hasPart"]}
    assert parts == {
        "Background": TEMPLATE["background"],
        "How the results were measured": TEMPLATE["evaluation_method"],
        "Staff": TEMPLATE["staff"],
        "Lessons learned": TEMPLATE["lessons_learned"],
        "What it takes to do it elsewhere": TEMPLATE["transferability"],
    }
    assert {part["inLanguage"] for part in data["hasPart"]} == {"nb"}


def test_oai_pmh_dublin_core_carries_the_template(app: Flask, client: FlaskClient) -> None:
    case = _full_case()
    app.config["BASE_URL"] = "https://kb.example.org"

    answer = client.get(
        "/oai",
        query_string={
            "verb": "GetRecord",
            "identifier": f"oai:kb.example.org:case/{case.id}",
            "metadataPrefix": "oai_dc",
        },
    )

    dc = etree.fromstring(answer.data).find(".//oai_dc:dc", OAI_NS)
    descriptions = [d.text for d in dc.findall("dc:description", OAI_NS)]
    for name in ("background", "evaluation_method", "funding", "staff"):
        assert TEMPLATE[name] in descriptions
    assert TEMPLATE["lessons_learned"] in descriptions
    assert TEMPLATE["transferability"] in descriptions
    assert "Status of the practice: Made permanent or scaled up (2021)" in descriptions
    assert "Total budget: 100,000 to 500,000 euros" in descriptions
    relations = [r.text for r in dc.findall("dc:relation", OAI_NS)]
    assert TEMPLATE["evaluation_url"] in relations


# -- search, on Whoosh and on PostgreSQL ------------------------------------------------


STATUSES = ("running", "running", "ended", "permanent")


@pytest.mark.parametrize("database", SEARCH_VARIANTS, indirect=True)
def test_a_word_only_in_the_lessons_learned_finds_the_case(app: Flask, client: FlaskClient) -> None:
    _import(
        case_record(
            "l1",
            "Språkpraksis",
            "nb",
            "NO",
            body="Praksis i bedrifter.",
            lessons_learned="Tolketjenesten var altfor treg i starten.",
        ),
        case_record("l2", "Noe annet", "nb", "NO", body="Praksis i skolen."),
    )

    found = search(client, "tolketjenesten")

    assert [hit["ref"] for hit in found["results"]] == ["l1"]
    assert "<mark>" in found["results"][0]["snippet"]
    assert search(client, "tolketjeneste")["total"] == 1  # stemmed in the case's language


@pytest.mark.parametrize("database", SEARCH_VARIANTS, indirect=True)
def test_the_status_facet_counts_what_its_filter_finds(app: Flask, client: FlaskClient) -> None:
    _import(
        *(
            case_record(
                f"s{i}",
                f"Arbeidstrening {i}",
                "nb",
                "NO",
                body="Arbeidstrening for nyankomne.",
                practice_status=status,
                practice_status_year=2020 + i,
                budget_band="under-100k" if i % 2 else None,
            )
            for i, status in enumerate(STATUSES)
        ),
        case_record("s9", "Arbeidstrening uten status", "nb", "NO", body="Arbeidstrening."),
    )

    everything = search(client, "arbeidstrening")

    assert everything["total"] == 5
    counts = everything["facets"]["practice_status"]
    assert counts == {"running": 2, "ended": 1, "permanent": 1}
    assert everything["facets"]["budget_band"] == {"under-100k": 2}
    for status, count in counts.items():
        filtered = search(client, "arbeidstrening", practice_status=status)
        assert filtered["total"] == count
    both = search(client, "arbeidstrening", practice_status=["ended", "permanent"])
    assert sorted(hit["ref"] for hit in both["results"]) == ["s2", "s3"]
    bad = client.get("/api/v1/search", query_string={"practice_status": "sometimes"})
    assert bad.status_code == 400

    page = client.get("/search", query_string={"q": "arbeidstrening", "practice_status": "running"})
    assert page.status_code == 200
    assert "Status of the practice" in page.text
    assert "Running ×" in page.text  # the active filter, in words
    assert "2 cases found" in page.text
    assert "Under 100,000 euros" in page.text


def test_an_unpublished_case_is_not_counted(app: Flask, client: FlaskClient) -> None:
    _import(
        case_record(
            "d1",
            "Arbeidstrening",
            "nb",
            "NO",
            status=CaseStatus.DRAFT.value,
            practice_status="running",
        ),
    )

    assert search(client, "arbeidstrening")["facets"].get("practice_status", {}) == {}
