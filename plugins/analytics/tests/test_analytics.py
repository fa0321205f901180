"""The analytics plugin: searches recorded without personal data, the editors' page and its
CSV, retention, and a search that answers even when recording fails."""

from __future__ import annotations

import csv
import html
import io
import logging
import re
import secrets
from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import insert, inspect, select, text

from kb.cli import main
from kb.extensions import db
from kb.models import Role
from kb.services import accounts
from plugins.analytics import reports
from plugins.analytics.tables import metadata, months, searches
from tests.web_helpers import GOOD_PASSWORD, login

EDITOR = "editor@example.org"
#: Every column the plugin stores: none can point to a person.
SEARCH_COLUMNS = {
    "id",
    "token",
    "month",
    "language",
    "query",
    "filters",
    "results",
    "page",
    "opens",
}
MONTH_COLUMNS = {
    "month",
    "language",
    "query",
    "filters",
    "searches",
    "zero_results",
    "opened",
    "results",
}


def _as_editor(client: FlaskClient) -> FlaskClient:
    accounts.set_password(accounts.create_user(EDITOR, Role.EDITOR), GOOD_PASSWORD)
    login(client, EDITOR, GOOD_PASSWORD)
    return client


def _stored() -> list[dict[str, object]]:
    with db.engine.connect() as conn:
        return [
            dict(row) for row in conn.execute(select(searches).order_by(searches.c.id)).mappings()
        ]


def _lists(page: str) -> dict[str, list[list[str]]]:
    """The page's three tables: each row's cells as text."""
    found = {}
    for name in ("top", "zero", "unopened"):
        table = re.search(rf'<table class="table" data-list="{name}">(.*?)</table>', page, re.S)
        rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:] if table else []
        found[name] = [
            [
                html.unescape(re.sub(r"<[^>]+>", "", cell)).strip()
                for cell in re.findall(r"<td>(.*?)</td>", row, re.S)
            ]
            for row in rows
        ]
    return found


def test_the_stored_columns_hold_no_personal_data(app: Flask, client: FlaskClient) -> None:
    _as_editor(client)  # a logged-in visitor with a session cookie, from 127.0.0.1
    client.get(
        "/search",
        query_string={"q": "Helsefagarbeider  ÆRØ", "country": "NO"},
        headers={"Accept-Language": "nb", "User-Agent": "Secret Browser 1.0"},
    )

    assert {c["name"] for c in inspect(db.engine).get_columns("analytics_search")} == SEARCH_COLUMNS
    assert {c["name"] for c in inspect(db.engine).get_columns("analytics_month")} == MONTH_COLUMNS
    (row,) = _stored()
    assert row["query"] == "helsefagarbeider aero"  # folded as the search reads it
    assert (row["language"], row["filters"], row["page"], row["opens"]) == (
        "nb",
        "country=NO",
        1,
        0,
    )
    assert row["month"] == date.today().strftime("%Y-%m")  # no day, no time
    stored = repr(row)
    for personal in ("127.0.0.1", EDITOR, "Secret Browser", "session"):
        assert personal not in stored


def test_the_plugins_tables_are_what_its_migration_made(app: Flask) -> None:
    with db.engine.connect() as conn:
        mine = lambda _o, name, kind, *_: kind != "table" or name in metadata.tables  # noqa: E731
        context = MigrationContext.configure(conn, opts={"include_object": mine})
        assert compare_metadata(context, metadata) == []


def test_a_zero_result_search_is_listed_for_editors_with_a_link_to_it(
    client: FlaskClient, demo: None
) -> None:
    client.get("/search", query_string={"q": "Helsefagarbeider"}, headers={"Accept-Language": "sv"})
    client.get("/search", query_string={"q": "qwxyzzy"}, headers={"Accept-Language": "sv"})

    page = _as_editor(client).get("/editor/analytics").text

    lists = _lists(page)
    month = date.today().strftime("%Y-%m")
    assert lists["zero"] == [["qwxyzzy", month, "Swedish", "1", "1", "0", "0"]]
    assert [row[0] for row in lists["top"]] == ["helsefagarbeider", "qwxyzzy"]
    assert [row[0] for row in lists["unopened"]] == ["helsefagarbeider"]
    assert 'href="/search?q=qwxyzzy"' in page
    only_swedish = _lists(client.get("/editor/analytics?language=sv&month=" + month).text)
    assert only_swedish == lists
    assert _lists(client.get("/editor/analytics?language=fi").text)["top"] == []


def test_an_opened_result_is_counted_and_leads_to_the_case(client: FlaskClient, demo: None) -> None:
    page = client.get("/search", query_string={"q": "helsefagarbeider"}).text
    link = html.unescape(re.search(r'<h3 lang="\w+"><a href="([^"]+)"', page).group(1))
    assert link.startswith("/analytics/opened/")

    opened = client.get(link)

    assert opened.status_code == 302
    assert opened.headers["Location"] == "/cases/" + link.rsplit("/", 1)[1]
    assert opened.headers["Cache-Control"] == "no-store"
    assert client.get(opened.headers["Location"]).status_code == 200
    assert [row["opens"] for row in _stored()] == [1]
    assert client.get(link.rsplit("/", 1)[0] + "/no-such-case").status_code == 404
    listed = _lists(_as_editor(client).get("/editor/analytics").text)
    assert listed["unopened"] == []
    assert listed["top"][0][5] == "1"


def test_only_editors_see_the_page(client: FlaskClient) -> None:
    assert client.get("/editor/analytics").status_code == 302  # to the login page
    assert client.get("/editor/analytics.csv").status_code == 302
    accounts.set_password(accounts.create_user("speaker@example.org", Role.SPEAKER), GOOD_PASSWORD)
    login(client, "speaker@example.org", GOOD_PASSWORD)
    assert client.get("/editor/analytics").status_code == 403
    assert client.get("/editor/analytics.csv").status_code == 403


def test_the_csv_holds_the_numbers_of_the_page(client: FlaskClient, demo: None) -> None:
    for q, lang in [("arbeid", "nb"), ("arbeid", "nb"), ("nothing-like-this", "da"), ("", "nb")]:
        client.get("/search", query_string={"q": q}, headers={"Accept-Language": lang})
    _as_editor(client)

    for scope in ("", "?language=nb"):
        page = _lists(client.get("/editor/analytics" + scope).text)
        download = client.get("/editor/analytics.csv" + scope)
        assert download.mimetype == "text/csv"
        rows = list(csv.DictReader(io.StringIO(download.text)))
        from_csv = {
            name: [
                [
                    r["query"] or "(no words)",
                    r["month"],
                    r["language"],
                    r["searches"],
                    r["zero_results"],
                    r["opened"],
                    r["results"],
                ]
                for r in rows
                if r["list"] == name
            ]
            for name in ("top", "zero", "unopened")
        }
        names = {"nb": "Norwegian Bokmål", "da": "Danish"}
        shown = {k: [[c[0], c[1], c[2], *c[3:]] for c in v] for k, v in page.items()}
        assert {
            k: [[r[0], r[1], names[r[2]], *r[3:]] for r in v] for k, v in from_csv.items()
        } == shown
        assert rows


def _old_search(month: str, query: str, results: int, opens: int = 0) -> dict[str, object]:
    return {
        "token": secrets.token_urlsafe(6),
        "month": month,
        "language": "nb",
        "query": query,
        "filters": "",
        "results": results,
        "page": 1,
        "opens": opens,
    }


def test_retention_drops_raw_rows_and_keeps_monthly_totals(app: Flask, client: FlaskClient) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            insert(searches),
            [
                _old_search("2024-03", "eldre", 4, opens=1),
                _old_search("2024-03", "eldre", 4),
                _old_search("2024-03", "tomt", 0),
                _old_search("2026-11", "nylig", 2),
            ],
        )
    before = reports.report()

    assert reports.prune(date(2026, 12, 7), retention_months=13) == 3

    assert [row["query"] for row in _stored()] == ["nylig"]
    with db.engine.connect() as conn:
        kept = {r.query: r for r in conn.execute(select(months))}
    assert (kept["eldre"].searches, kept["eldre"].opened, kept["eldre"].results) == (2, 1, 4)
    assert (kept["tomt"].searches, kept["tomt"].zero_results) == (1, 1)
    assert reports.report() == before  # the page shows the same numbers
    assert reports.prune(date(2026, 12, 7), retention_months=13) == 0  # idempotent
    assert reports.report() == before
    result = app.test_cli_runner().invoke(main, ["analytics", "prune"])
    assert result.exit_code == 0, result.output
    assert "0 search(es) from before" in result.output


def test_a_search_answers_when_recording_fails(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The table is renamed away (and back: the PostgreSQL database is shared by tests)."""
    db.session.remove()
    with db.engine.begin() as conn:
        conn.execute(text("ALTER TABLE analytics_search RENAME TO analytics_search_away"))
    try:
        with caplog.at_level(logging.ERROR):
            page = client.get("/search", query_string={"q": "arbeid"})
    finally:
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE analytics_search_away RENAME TO analytics_search"))

    assert page.status_code == 200
    assert "/analytics/opened/" not in page.text  # the plain case links
    assert "the search could not be recorded" in caplog.text


def test_the_csv_never_holds_a_formula(client: FlaskClient) -> None:
    client.get("/search", query_string={"q": '=HYPERLINK("https://evil.example")'})

    rows = list(csv.DictReader(io.StringIO(_as_editor(client).get("/editor/analytics.csv").text)))

    assert {row["query"] for row in rows} == {'\'=hyperlink("https://evil.example")'}
