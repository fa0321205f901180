"""The related plugin: a case page ends with published cases like it, in any language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseStatus
from kb.search import get_backend
from kb.search.backend import SearchBackend
from kb.search.concepts import Vocabulary
from kb.search.postgres import PostgresBackend
from kb.search.whoosh_backend import WhooshBackend
from kb.services.exchange.importer import import_plan, plan_import
from kb.services.indexing.documents import document_for
from tests.conftest import SEARCH_VARIANTS, database_config


@pytest.fixture(params=SEARCH_VARIANTS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    """Related cases come from the search backend: run on each of them."""
    return database_config(request, tmp_path)


def without_vocabulary(backend: SearchBackend) -> SearchBackend:
    """The same index, searched without the cross-language vocabulary."""
    if isinstance(backend, PostgresBackend):
        return PostgresBackend(backend.engine, Vocabulary([], version=1))
    return WhooshBackend(backend.directory, Vocabulary([], version=1))


def case(ref: str) -> Case:
    found = db.session.scalar(select(Case).where(Case.ref == ref))
    assert found is not None, ref
    return found


def related_section(client: FlaskClient, ref: str) -> str | None:
    """The "Related cases" section of a case's page, or None when the page has none."""
    html = client.get(f"/cases/{case(ref).slug}", headers={"Accept-Language": "en"}).text
    start = html.find('<section aria-labelledby="related">')
    return None if start < 0 else html[start : html.index("</section>", start)]


def related_refs(client: FlaskClient, ref: str) -> list[str]:
    section = related_section(client, ref)
    assert section is not None, f"{ref} has no related cases"
    slugs = re.findall(r'href="/cases/([^"]+)"', section)
    db.session.rollback()
    return [db.session.scalar(select(Case.ref).where(Case.slug == slug)) for slug in slugs]


def themes(ref: str) -> set[str]:
    return {term.key for term in case(ref).themes}


def record(ref: str, title: str, body: str, status: str = "published") -> dict[str, object]:
    return {
        "ref": ref,
        "title": title,
        "language": "sv",
        "country": "SE",
        "summary": "",
        "body": body,
        "status": status,
        "themes": ["language-training"],
    }


def test_a_case_page_suggests_cases_on_the_same_topic(client: FlaskClient, demo: None) -> None:
    section = related_section(client, "c32")  # Danpo: Danish lessons in the factories
    shown = related_refs(client, "c32")

    assert section is not None and "Related cases" in section
    assert 1 <= len(shown) <= 4
    assert "c32" not in shown
    assert all(themes("c32") & themes(ref) for ref in shown)
    language_training = [ref for ref in shown if "language-training" in themes(ref)]
    assert len(language_training) >= 2, shown


def test_related_cases_cross_languages_where_the_vocabulary_bridges_them(
    client: FlaskClient, demo: None
) -> None:
    # Young refugees in Danish upper secondary ("ungdomsuddannelse", "gymnasiet") and
    # Norwegian combination classes ("videregående skole"): the concepts connect them.
    section = related_section(client, "c36")

    assert related_refs(client, "c36")[0] == "c12"
    assert "c36" in related_refs(client, "c12")
    assert section is not None
    assert f'lang="nb"><a href="/cases/{case("c12").slug}"' in section


def test_without_the_vocabulary_the_languages_stay_apart(app: Flask, demo: None) -> None:
    backend = get_backend()
    plain = without_vocabulary(backend)
    try:
        with_concepts = [hit.ref for hit in backend.related(case("c36").id)]
        words_only = [hit.ref for hit in plain.related(case("c36").id)]
    finally:
        plain.close()

    assert "c12" in with_concepts
    assert "c12" not in words_only


def test_unpublished_cases_are_never_suggested(client: FlaskClient, demo: None) -> None:
    first = related_refs(client, "c36")[0]
    with write_transaction():
        case(first).status = CaseStatus.DRAFT
    after = related_refs(client, "c36")
    from_index = [hit.id for hit in get_backend().related(case("c36").id)]
    # Even when the index lags behind the database, the database decides what is public.
    get_backend().index([document_for(case(first))])
    lagging = [hit.id for hit in get_backend().related(case("c36").id)]

    assert first not in after
    assert 1 <= len(after) <= 4
    assert case(first).id not in from_index
    assert case(first).id in lagging
    assert first not in related_refs(client, "c36")


def test_a_case_with_no_published_neighbours_has_no_related_section(
    app: Flask, client: FlaskClient
) -> None:
    text = "Språkpraktik på kommunens förskolor för nyanlända föräldrar."
    import_plan(
        plan_import(
            [
                record("s1", "Språkpraktik i förskolan", text),
                record("s2", "Språkpraktik i förskolan, utkast", text, status="draft"),
            ]
        )
    )

    alone = related_section(client, "s1")
    from_index = get_backend().related(case("s1").id)
    with write_transaction():
        case("s2").status = CaseStatus.PUBLISHED

    assert alone is None
    assert from_index == []
    assert related_refs(client, "s1") == ["s2"]


def test_the_backend_finds_nothing_for_a_case_it_has_not_indexed(app: Flask) -> None:
    import_plan(plan_import([record("d1", "Utkast", "Ett utkast.", status="draft")]))

    assert get_backend().related(case("d1").id) == []
    assert get_backend().related(987654) == []


def test_the_backend_returns_at_most_the_limit_best_first(app: Flask, demo: None) -> None:
    hits = get_backend().related(case("c32").id, limit=2)

    assert len(hits) == 2
    assert hits[0].score >= hits[1].score
    assert get_backend().related(case("c32").id, limit=0) == []
