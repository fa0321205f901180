"""Full-text search through the API and the search page, as municipal staff use it."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from kb.cli import main
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseStatus, MaterialKind, Session
from kb.search import get_backend
from kb.search.postgres import PostgresBackend
from kb.services.exchange.importer import import_plan, plan_import
from kb.services.indexing.documents import published_documents
from kb.services.materials import attach_file
from kb.services.programme import remove_material
from tests.conftest import (
    SEARCH_VARIANTS,
    WHOOSH_VARIANTS,
    DemoTemplates,
    database_config,
    shared_demo_app,
)
from tests.factories import case_record, make_pdf
from tests.web_helpers import refs, search, strict_refs


@pytest.fixture(params=SEARCH_VARIANTS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    """Every search test runs on Whoosh (SQLite, PostgreSQL) and on PostgreSQL's search."""
    return database_config(request, tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql-pgsearch"])
def demo_app(
    request: pytest.FixtureRequest,
    demo_templates: DemoTemplates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    """One instance with the demo loaded, for the tests that only read (on Whoosh and on
    PostgreSQL's search; Whoosh on PostgreSQL reads like Whoosh on SQLite)."""
    with shared_demo_app(request, demo_templates, tmp_path_factory.mktemp("search-demo")) as app:
        yield app


@pytest.fixture
def demo_client(demo_app: Flask) -> FlaskClient:
    return demo_app.test_client()


# -- language-aware matching ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "language", "expected_word"),
    [
        ("flyktning", "nb", "flyktningene"),
        ("flyktning", "nb", "flyktninger"),
        ("nyanländ", "sv", "nyanlända"),
        ("flygtning", "da", "flygtningene"),
        ("pakolainen", "fi", "pakolaiset"),
    ],
)
def test_a_word_finds_its_inflected_forms(
    demo_client: FlaskClient, query: str, language: str, expected_word: str
) -> None:
    data = search(demo_client, query, language=language)
    page = demo_client.get("/search", query_string={"q": query, "language": language}).text

    assert data["total"] > 0
    assert f"<mark>{expected_word}" in page.lower()
    texts = " ".join(hit["snippet"] + hit["title"] + hit["summary"] for hit in data["results"])
    assert expected_word in texts.lower().replace("<mark>", "").replace("</mark>", "")


def test_diacritics_are_folded_for_matching_but_shown_as_written(
    demo_client: FlaskClient,
) -> None:
    naeroy = search(demo_client, "Naeroy")
    morch = search(demo_client, "Morch")

    assert "c04" in refs(naeroy)
    assert "c04" in refs(morch)
    hit = next(h for h in naeroy["results"] if h["ref"] == "c04")
    assert "Nærøy" in hit["title"]


def test_a_word_finds_compounds_that_start_with_it(app: Flask, client: FlaskClient) -> None:
    import_plan(
        plan_import(
            [
                case_record("n1", "Veien inn i arbeidsmarkedet", "nb", "NO"),
                case_record("d1", "Unge med flygtningebaggrund", "da", "DK"),
            ]
        )
    )

    assert refs(search(client, "arbeid", language="nb")) == ["n1"]
    assert refs(search(client, "flygtning", language="da")) == ["d1"]


def test_a_compound_query_finds_its_parts_written_apart(app: Flask, client: FlaskClient) -> None:
    import_plan(
        plan_import(
            [
                case_record("s1", "Kommuner i glesbygden tar emot nyanlända", "sv", "SE"),
                case_record("s2", "Storstadens skolor", "sv", "SE", body="Kommuner i städer."),
            ]
        )
    )

    assert strict_refs(search(client, "glesbygdskommuner", language="sv")) == ["s1"]


# -- cross-language ------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["refugee employment", "flyktninger arbeid"])
def test_other_languages_find_the_swedish_case(app: Flask, client: FlaskClient, query: str) -> None:
    import_plan(
        plan_import(
            [
                case_record(
                    "sv1",
                    "Nyanlända i jobb",
                    "sv",
                    "SE",
                    body="Kommunen och företagen hjälper nyanlända till arbete.",
                ),
                case_record(
                    "sv2", "Bibliotekets bokcirkel", "sv", "SE", body="Läsning för pensionärer."
                ),
            ]
        )
    )

    assert refs(search(client, query)) == ["sv1"]
    page = client.get("/search", query_string={"q": query}).text
    # (Whoosh also marks the Swedish word the query was translated to.)
    assert "Nyanlända i jobb" in page.replace("<mark>", "").replace("</mark>", "")
    # It names no refugee, only newcomers at work: a match of some of the words.
    assert "Cases that match some of your words" in page


def test_expanded_hits_rank_below_direct_hits(app: Flask, client: FlaskClient) -> None:
    import_plan(
        plan_import(
            [
                case_record(
                    "sv1",
                    "Nyanlända i jobb",
                    "sv",
                    "SE",
                    body="Nyanlända flyktingar i arbete, arbete, arbete.",
                ),
                case_record("nb1", "Flyktninger i arbeid", "nb", "NO", body="Kort omtale."),
            ]
        )
    )

    data = search(client, "flyktninger arbeid")

    assert refs(data) == ["nb1", "sv1"]
    assert [hit["direct"] for hit in data["results"]] == [True, False]


# -- query syntax, filters, facets ----------------------------------------------------------


def test_words_are_anded_phrases_quoted_and_words_excluded(app: Flask, client: FlaskClient) -> None:
    import_plan(
        plan_import(
            [
                case_record(
                    "a", "Språkkafé på biblioteket", "nb", "NO", body="Frivillige møter nye."
                ),
                case_record("b", "Språkkafé i kirken", "nb", "NO", body="Biblioteket er stengt."),
                case_record("c", "Lesesirkel på biblioteket", "nb", "NO"),
            ]
        )
    )

    both = search(client, "språkkafé biblioteket", language="nb")
    assert sorted(strict_refs(both)) == ["a", "b"]
    # Cases with only some of the words follow, marked, when all-word matches are few.
    assert [hit["ref"] for hit in both["results"] if hit["partial"]] == ["c"]
    assert refs(search(client, '"språkkafé på biblioteket"', language="nb")) == ["a"]
    assert refs(search(client, "språkkafé -kirken", language="nb")) == ["a"]
    assert sorted(refs(search(client, "kirken OR lesesirkel", language="nb"))) == ["b", "c"]


def test_filters_narrow_and_facets_count(demo_client: FlaskClient) -> None:
    everything = search(demo_client, "", per_page=100)
    norway = search(demo_client, "", country="NO", per_page=100)

    assert everything["total"] == 52
    assert everything["facets"]["country"] == {"NO": 13, "DK": 12, "SE": 11, "FI": 10, "IS": 6}
    assert norway["total"] == 13
    assert {hit["country"] for hit in norway["results"]} == {"NO"}
    assert set(norway["facets"]["language"]) <= {"nb", "en"}
    sweden = search(demo_client, "", country="SE")
    employment = search(demo_client, "", theme="employment", country="SE", per_page=100)
    assert employment["total"] == sweden["facets"]["theme"]["employment"] > 0
    assert all(hit["country"] == "SE" for hit in employment["results"])


def test_event_and_year_filters(demo_client: FlaskClient) -> None:
    seminar = search(demo_client, "", event="nyanlanda-i-jobb", per_page=50)
    year = search(demo_client, "", year="1996", per_page=50)

    assert "c04" in refs(seminar) and seminar["total"] == 15
    assert "c47" in refs(year)  # Ísafjörður 1996


def test_newest_first_and_paging(demo_client: FlaskClient) -> None:
    first = search(demo_client, "", sort="newest", per_page=5)
    second = search(demo_client, "", sort="newest", per_page=5, page=2)

    assert len(first["results"]) == 5 and first["page"] == 1
    assert not set(refs(first)) & set(refs(second))
    assert refs(first)[0] == "c52"  # imported last, so published last


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"country": "XX"}, "country"),
        ({"language": "de"}, "language"),
        ({"year": "twenty"}, "year"),
        ({"page": "0"}, "page"),
        ({"per_page": "1000"}, "per_page"),
        ({"sort": "random"}, "sort"),
        ({"theme": "<script>"}, "theme"),
        ({"q": "x" * 6000}, "q"),
    ],
)
def test_bad_parameters_get_400_with_a_message(
    demo_client: FlaskClient, params: dict[str, str], parameter: str
) -> None:
    response = demo_client.get("/api/v1/search", query_string=params)

    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["details"]["parameter"] == parameter
    assert error["message"]
    assert demo_client.get("/search", query_string=params).status_code == 400


_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    q=st.one_of(
        _TEXT,
        st.sampled_from(
            [
                '"unbalanced',
                "AND OR",
                "title:",
                "*",
                "-",
                "- -",
                "OR",
                "NOT",
                '""',
                "x" * 2000,
                "🇳🇴 flyktning 🙂",
                "a -a",
                "-flyktning",
            ]
        ),
        st.lists(
            st.sampled_from(
                [
                    '"',
                    "-",
                    "OR",
                    "AND",
                    "NOT",
                    "*",
                    "flyktning",
                    "jobb",
                    "(",
                    ")",
                    ":",
                    "\\",
                    "~",
                    "^2",
                ]
            ),
            max_size=12,
        ).map(" ".join),
    )
)
def test_any_query_string_gives_results_or_a_helpful_message(
    demo_client: FlaskClient, q: str
) -> None:
    api = demo_client.get("/api/v1/search", query_string={"q": q})
    page = demo_client.get("/search", query_string={"q": q})

    # A NUL byte is refused at the door with a message (test_web); all else is searched.
    assert api.status_code == page.status_code == (400 if "\x00" in q else 200)
    if "\x00" not in q:
        data = api.get_json()
        assert data["total"] >= len(data["results"])


@pytest.mark.parametrize(
    ("typed", "meant"), [("flyktnnger", "flyktninger"), ("nyanläda", "nyanlända")]
)
def test_a_misspelled_word_gets_a_did_you_mean(
    demo_client: FlaskClient, typed: str, meant: str
) -> None:
    data = search(demo_client, typed)

    assert data["total"] == 0
    assert data["suggestion"] == meant
    assert search(demo_client, data["suggestion"])["total"] > 0


# -- what is visible, and staying in sync ------------------------------------------------------


def test_only_published_cases_are_found_and_changes_follow_commits(
    app: Flask, client: FlaskClient
) -> None:
    import_plan(
        plan_import(
            [
                case_record("p", "Mentorordning for flyktninger", "nb", "NO"),
                case_record("d", "Mentorordning i utkast", "nb", "NO", status="draft"),
            ]
        )
    )
    assert refs(search(client, "mentorordning")) == ["p"]

    with write_transaction():
        case = db.session.scalar(select(Case).where(Case.ref == "d"))
        case.status = CaseStatus.PUBLISHED
    assert sorted(refs(search(client, "mentorordning"))) == ["d", "p"]

    with write_transaction():
        db.session.scalar(select(Case).where(Case.ref == "p")).title = "Fadderordning"
    assert refs(search(client, "mentorordning")) == ["d"]
    assert refs(search(client, "fadderordning")) == ["p"]

    with write_transaction():
        db.session.scalar(select(Case).where(Case.ref == "d")).status = CaseStatus.ARCHIVED
        db.session.delete(db.session.scalar(select(Case).where(Case.ref == "p")))
    assert search(client, "ordning OR fadderordning OR mentorordning")["total"] == 0


# Whoosh's after-commit path and index files (PostgreSQL: tests/test_search_postgres.py).
@pytest.mark.parametrize("database", WHOOSH_VARIANTS, indirect=True)
def test_a_failed_index_write_keeps_the_change_and_catches_up(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = get_backend()

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("disk full")

    monkeypatch.setattr(backend, "writer", broken)
    import_plan(plan_import([case_record("k", "Kvalifisering av kvinner", "nb", "NO")]))
    monkeypatch.undo()

    assert (
        db.session.scalar(select(Case.title).where(Case.ref == "k")) == "Kvalifisering av kvinner"
    )
    assert search(client, "kvalifisering")["total"] == 0
    check = runner.invoke(main, ["search-check"])
    assert check.exit_code == 1
    assert "1 case(s) missing from the index" in check.output
    assert "1 change(s) waiting in the search outbox" in check.output

    assert runner.invoke(main, ["search-sync"]).exit_code == 0
    assert refs(search(client, "kvalifisering")) == ["k"]
    assert runner.invoke(main, ["search-check"]).exit_code == 0


def lose_the_index(app: Flask) -> None:
    """The index is gone (its files deleted, or its rows)."""
    backend = get_backend()
    if isinstance(backend, PostgresBackend):
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM kb_search.documents"))
    else:
        shutil.rmtree(app.config["SEARCH_INDEX_DIR"])
        backend.close()


def test_reindex_rebuilds_the_index_from_the_database(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    import_plan(plan_import([case_record("r", "Lærlingeordning i industrien", "nb", "NO")]))
    ghost = next(published_documents())
    lose_the_index(app)
    get_backend().index([replace(ghost, id=999, title="Spøkelse")])

    check = runner.invoke(main, ["search-check"])
    assert check.exit_code == 1
    assert "1 case(s) missing from the index: 1" in check.output
    assert "1 case(s) in the index but not published: 999" in check.output
    result = runner.invoke(main, ["reindex"])

    assert result.exit_code == 0, result.output
    assert "Indexed 1 published case(s)." in result.output
    assert runner.invoke(main, ["search-check"]).exit_code == 0
    assert refs(search(client, "lærlingeordning")) == ["r"]
    assert search(client, "spøkelse")["total"] == 0


def test_the_text_of_attached_slides_is_searchable(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    import_plan(plan_import([case_record("f", "Et prosjekt", "nb", "NO")]))
    case = db.session.scalar(select(Case).where(Case.ref == "f"))
    pdf = make_pdf(tmp_path / "lysark.pdf", "Bolystvenner og jobbmatching").read_bytes()
    attach_file(
        case,
        io.BytesIO(pdf),
        title="Lysark",
        original_filename="lysark.pdf",
        kind=MaterialKind.SLIDES,
    )

    assert refs(search(client, "bolystvenner")) == ["f"]
    # Phrases are matched in titles, summaries and bodies, whose words keep their positions;
    # a phrase of a file's words is no error (it was one on Whoosh, found by Hypothesis).
    assert refs(search(client, '"bolystvenner jobbmatching"')) == []


def test_a_sessions_slides_find_the_cases_presented_in_it(
    app: Flask, client: FlaskClient, tmp_path: Path
) -> None:
    where = {"event": "Bosettingskonferansen 2026", "session": "Arbeid først"}
    import_plan(
        plan_import(
            [
                case_record("s1", "Et prosjekt", "nb", "NO", sessions=[where]),
                case_record("s2", "Et annet prosjekt", "nb", "NO", sessions=[where]),
                case_record("s3", "Et tredje prosjekt", "nb", "NO"),
                case_record("s4", "Et utkast", "nb", "NO", status="draft", sessions=[where]),
            ]
        )
    )
    session = db.session.scalar(select(Session).where(Session.title == "Arbeid først"))
    pdf = make_pdf(tmp_path / "lysark.pdf", "Bolystvenner og jobbmatching").read_bytes()
    slides = attach_file(session, io.BytesIO(pdf), title="Lysark", original_filename="lysark.pdf")

    assert sorted(refs(search(client, "bolystvenner"))) == ["s1", "s2"]

    remove_material(slides)

    assert search(client, "bolystvenner")["total"] == 0


def test_the_search_page_shows_highlights_facets_and_filters(demo_client: FlaskClient) -> None:
    html = demo_client.get("/search", query_string={"q": "flyktning", "country": "NO"}).text

    assert "<mark>" in html
    assert 'aria-label="Remove filter Norway"' in html
    assert "cases found" in html


def test_snippets_mark_matches_and_escape_everything_else(app: Flask, client: FlaskClient) -> None:
    filler = "Kommunen samarbeider med næringslivet om språkopplæring. " * 60
    import_plan(
        plan_import(
            [
                case_record(
                    "h",
                    "Flyktninger <b>i</b> arbeid & bolig",
                    "nb",
                    "NO",
                    body=f"{filler}Til slutt: <script>alert(1)</script> flyktningene fikk jobb.",
                )
            ]
        )
    )

    hit = search(client, "flyktning", language="nb")["results"][0]
    page = client.get("/search", query_string={"q": "flyktning"}).text

    assert "<mark>Flyktninger</mark> &lt;b&gt;i&lt;/b&gt; arbeid &amp; bolig" in page
    # The only match lies far into a long text: the snippet is taken from there.
    assert "<mark>flyktningene</mark> fikk jobb." in hit["snippet"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hit["snippet"]
    assert "<script>alert" not in page


# Whoosh's after-commit path and index files (PostgreSQL: tests/test_search_postgres.py).
@pytest.mark.parametrize("database", WHOOSH_VARIANTS, indirect=True)
def test_a_searcher_is_reused_until_the_index_changes(app: Flask, client: FlaskClient) -> None:
    import_plan(plan_import([case_record("y", "Første sak", "nb", "NO")]))
    backend = get_backend()
    search(client, "x")
    first = backend._searcher()
    search(client, "y")
    assert backend._searcher() is first

    import_plan(plan_import([case_record("z", "Ny sak", "nb", "NO")]))

    assert backend._searcher() is not first


# -- evaluation over arrays ------------------------------------------------------------------


@pytest.mark.parametrize("demo_app", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("q", "language"),
    [
        ("flyktning", None),
        ("arbeid språk", "nb"),
        ('"nye innbyggere"', "nb"),
        ("refugee employment", None),
        ("kommune OR kunta", None),
        ("nyanlända -stockholm", "sv"),
        ("glesbygdskommuner", "sv"),
    ],
)
def test_array_evaluation_matches_and_scores_as_whoosh_does(
    demo_app: Flask, q: str, language: str | None
) -> None:
    """The backend evaluates Whoosh query trees over arrays; Whoosh's own searcher must
    find the same cases with the same scores."""
    from kb.search.plan import all_of
    from kb.search.planner import Planner
    from kb.search.query import parse
    from kb.search.whoosh_backend import _Lexicon, whoosh_query

    backend = get_backend()
    matcher = backend._matcher()
    plan = backend.vocabulary.plan(parse(q), language)
    planner = Planner(backend.vocabulary, _Lexicon(matcher))
    query = whoosh_query(all_of(planner.parts(plan, expanded=True)))

    found = matcher.evaluate(query)
    expected = {hit.docnum: hit.score for hit in matcher.searcher.search(query, limit=None)}

    assert expected, "the query should match some demo cases"
    assert set(np.flatnonzero(found.mask).tolist()) == set(expected)
    for docnum, score in expected.items():
        assert found.score[docnum] == pytest.approx(score, rel=1e-4)


@pytest.mark.parametrize("demo_app", ["sqlite"], indirect=True)
@pytest.mark.parametrize("q", ["arbeid språk", "refugee employment", "nyanlända -stockholm"])
def test_a_searchs_queries_sharing_parts_score_as_each_alone(demo_app: Flask, q: str) -> None:
    """A search's strict query, direct hits and relaxations share the parts the planner
    built once, and each part is evaluated once (``Matcher.evaluate``'s ``parts``): each
    query must still find and score what it finds alone, and no query may change what an
    earlier one found."""
    from kb.search.planner import Planner
    from kb.search.query import parse
    from kb.search.whoosh_backend import _Lexicon, whoosh_query

    backend = get_backend()
    matcher = backend._matcher()
    plan = Planner(backend.vocabulary, _Lexicon(matcher)).search(parse(q))
    built: dict = {}
    parts: dict = {}
    shared = []
    for node in [plan.strict, plan.direct, *plan.relaxations]:
        found = matcher.evaluate(whoosh_query(node, built), parts)
        shared.append((node, found, found.mask.copy(), found.score.copy()))

    assert parts, "the queries should have compound parts"
    for node, found, mask, score in shared:
        alone = matcher.evaluate(whoosh_query(node))
        assert np.array_equal(found.mask, mask) and np.array_equal(found.score, score)
        assert np.array_equal(alone.mask, mask) and np.array_equal(alone.score, score)
