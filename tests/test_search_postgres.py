"""The PostgreSQL search backend: its configuration, and an index that commits with the cases.

The search behaviour itself, `kb search-check` and `kb reindex` are tested on every backend
in tests/test_search.py.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from kb.cli import main
from kb.database import AFTER_COMMIT, write_transaction
from kb.extensions import db
from kb.models import Case, CaseStatus, SearchOutbox
from kb.search import get_backend, plan
from kb.search.analysis import stem
from kb.search.postgres import backend as postgres_backend
from kb.search.postgres.compile import Conditions, tsquery
from kb.services.exchange.importer import import_plan, plan_import
from kb.services.indexing.documents import published_versions
from kb.services.indexing.outbox import IN_TRANSACTION
from tests.conftest import make_app
from tests.factories import case_record
from tests.web_helpers import refs, search

pytestmark = pytest.mark.parametrize("database", ["postgresql-pgsearch"], indirect=True)


def search_rows() -> dict[str, str]:
    """ref -> indexed version, read straight from the search table."""
    rows = db.session.execute(
        text(
            "SELECT s.ref, d.version FROM kb_search.documents AS d "
            "JOIN kb_search.shown AS s ON s.case_id = d.case_id"
        )
    ).all()
    db.session.rollback()
    return dict(rows)


def outbox() -> int:
    count = db.session.scalar(select(func.count()).select_from(SearchOutbox)) or 0
    db.session.rollback()
    return count


def test_the_search_row_commits_with_the_case(app: Flask, client: FlaskClient) -> None:
    # No after-commit drain: the row must come from the transaction itself.
    app.extensions[AFTER_COMMIT] = []

    import_plan(plan_import([case_record("m", "Mentorordning for flyktninger", "nb", "NO")]))

    assert search_rows() == {"m": next(iter(published_versions().values()))}
    assert outbox() == 0
    assert refs(search(client, "mentorordning")) == ["m"]
    with write_transaction():
        db.session.scalar(select(Case).where(Case.ref == "m")).title = "Fadderordning"
    assert search_rows()["m"] == next(iter(published_versions().values()))
    assert refs(search(client, "fadderordning")) == ["m"]
    assert outbox() == 0


def test_a_rolled_back_transaction_leaves_neither_case_nor_search_row(
    app: Flask, client: FlaskClient
) -> None:
    import_plan(plan_import([case_record("k", "Kvalifisering av kvinner", "nb", "NO")]))

    with pytest.raises(RuntimeError), write_transaction():
        db.session.scalar(select(Case).where(Case.ref == "k")).title = "Lærlinger"
        db.session.flush()
        raise RuntimeError("the service failed after writing")

    assert db.session.scalar(select(Case.title).where(Case.ref == "k")) == (
        "Kvalifisering av kvinner"
    )
    assert refs(search(client, "kvalifisering")) == ["k"]
    assert search(client, "lærlinger")["total"] == 0
    assert outbox() == 0


def test_a_failing_index_write_rolls_back_the_case(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError("the search table is unavailable")

    monkeypatch.setitem(app.extensions, IN_TRANSACTION, broken)
    with pytest.raises(OSError, match="unavailable"):
        import_plan(plan_import([case_record("x", "Språkkafé", "nb", "NO")]))
    monkeypatch.undo()

    assert db.session.scalar(select(func.count()).select_from(Case)) == 0
    assert search_rows() == {}
    assert outbox() == 0


def test_words_of_removed_cases_leave_the_suggestions(app: Flask, client: FlaskClient) -> None:
    import_plan(
        plan_import(
            [
                case_record("a", "Bolystvenner i bygda", "nb", "NO"),
                case_record("b", "Bolystvenner og jobbmatching", "nb", "NO"),
            ]
        )
    )
    assert get_backend().suggest("jobbmatchin") == ["jobbmatching"]

    with write_transaction():
        db.session.scalar(select(Case).where(Case.ref == "b")).status = CaseStatus.ARCHIVED

    assert get_backend().suggest("jobbmatchin") == []
    assert get_backend().suggest("bolystvener") == ["bolystvenner"]
    counts = db.session.execute(
        text("SELECT ndoc FROM kb_search.words WHERE word = 'bolystvenner'")
    ).scalar()
    assert counts == 1


def test_many_matches_are_ranked_by_titles_and_summaries(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_backend, "RANK_ALL", 1)
    import_plan(
        plan_import(
            [
                case_record("body", "Et prosjekt", "nb", "NO", body="Flyktninger i arbeid."),
                case_record("title", "Flyktninger i arbeid", "nb", "NO", body="Kort omtale."),
                case_record("sv", "Nyanlända i jobb", "sv", "SE", body="Flyktingar i arbete."),
            ]
        )
    )

    data = search(client, "flyktninger arbeid")

    assert refs(data) == ["title", "body", "sv"]
    assert [hit["direct"] for hit in data["results"]] == [True, True, False]
    assert data["results"][0]["score"] > data["results"][1]["score"]


def test_a_filtered_search_counts_and_ranks_only_the_cases_it_shows(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The filters are tested on the narrow rows the word's index scan finds: the total,
    the facet counts and the ranking by titles (many matches) cover the filtered cases."""
    monkeypatch.setattr(postgres_backend, "RANK_ALL", 1)
    import_plan(
        plan_import(
            [
                case_record("no-body", "Et prosjekt", "nb", "NO", body="Flyktninger i arbeid."),
                case_record("no-title", "Flyktninger i arbeid", "nb", "NO", body="Kort."),
                case_record("dk", "Flygtninge i arbejde", "da", "DK", body="Flyktninger."),
                case_record("other", "Mentorer", "nb", "NO", body="Lærlinger."),
            ]
        )
    )

    everywhere = search(client, "flyktninger")
    norway = search(client, "flyktninger", country="NO")

    assert everywhere["total"] == 3
    assert refs(norway) == ["no-title", "no-body"]
    assert norway["total"] == everywhere["facets"]["country"]["NO"] == 2
    assert norway["facets"]["country"] == {"NO": 2}


@pytest.mark.parametrize("rank_all", [1, 1500])
def test_pages_walk_the_order_of_one_long_page(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch, rank_all: int
) -> None:
    """Only the matches of the groups a page falls in are ranked (every word, direct or
    not, then each relaxation): page after page still gives the order of one long page,
    ranked by titles and summaries (many matches) or by whole texts (few)."""
    monkeypatch.setattr(postgres_backend, "RANK_ALL", rank_all)
    import_plan(
        plan_import(
            [
                case_record("t1", "Flyktninger i arbeid", "nb", "NO", body="Kort."),
                case_record("t2", "Flyktninger og arbeid i kommunen", "nb", "NO", body="Kort."),
                case_record("b1", "Et prosjekt", "nb", "NO", body="Flyktninger i arbeid."),
                case_record("b2", "Mentorer", "nb", "NO", body="Arbeid for flyktninger, arbeid."),
                case_record("s1", "Flyktingar i arbete", "sv", "SE", body="Nyanlända."),
                case_record("s2", "Nyanlända i jobb", "sv", "SE", body="Flyktingar i arbete."),
                case_record("p1", "Flyktninger", "nb", "NO", body="Språkopplæring."),
                case_record("p2", "Arbeid", "nb", "NO", body="Lærlinger."),
            ]
        )
    )

    whole = search(client, "flyktninger arbeid", per_page=50)
    pages = [search(client, "flyktninger arbeid", per_page=3, page=n) for n in (1, 2, 3)]

    assert len(refs(whole)) == whole["total"] >= 7
    assert [ref for page in pages for ref in refs(page)] == refs(whole)
    assert [h["score"] for p in pages for h in p["results"]] == [
        h["score"] for h in whole["results"]
    ]


def test_at_least_some_words_is_answered_by_the_index(app: Flask) -> None:
    """A relaxation "at least k of these words" is one tsquery of every k of them (GIN
    finds the cases); with more words asked than given, no case matches."""
    import_plan(
        plan_import(
            [
                case_record("ab", "Mentorer og fadder", "nb", "NO"),
                case_record("bc", "Fadder i kommunen", "nb", "NO"),
                case_record("a", "Mentorer", "nb", "NO"),
            ]
        )
    )
    mentor, fadder, kommune = (
        plan.Term("title_nb", stem(w, "nb")) for w in ("mentorer", "fadder", "kommunen")
    )

    def found(node: plan.Node) -> set[str]:
        conditions = Conditions()
        where = conditions.match(node)  # its values are bound parameters
        statement = (
            "SELECT s.ref FROM kb_search.documents AS d "  # noqa: S608
            f"JOIN kb_search.shown AS s ON s.case_id = d.case_id WHERE {where}"
        )
        rows = db.session.execute(text(statement), conditions.params)
        return {ref for (ref,) in rows}

    two_of_three = plan.Any((mentor, fadder, kommune), at_least=2)
    assert tsquery(two_of_three) is not None
    assert found(two_of_three) == {"ab", "bc"}
    assert found(plan.Any((mentor, fadder), at_least=3)) == set()


def test_search_sync_applies_rows_left_in_the_outbox(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    # Rows written while the app used Whoosh (or by hand) are applied by `kb search-sync`.
    import_plan(plan_import([case_record("o", "Opplæring i norsk", "nb", "NO")]))
    case_id = db.session.scalar(select(Case.id).where(Case.ref == "o"))
    db.session.rollback()
    with db.engine.begin() as conn:
        conn.execute(text("DELETE FROM kb_search.documents"))
        conn.execute(
            text("INSERT INTO search_outbox (case_id, enqueued_at) VALUES (:id, now())"),
            {"id": case_id},
        )

    check = runner.invoke(main, ["search-check"])
    assert check.exit_code == 1
    assert "1 change(s) waiting in the search outbox" in check.output
    assert runner.invoke(main, ["search-sync"]).exit_code == 0

    assert runner.invoke(main, ["search-check"]).exit_code == 0
    assert refs(search(client, "opplæring")) == ["o"]


def test_searches_go_to_the_read_replica(
    app: Flask, database: dict[str, Any], tmp_path: Path
) -> None:
    import_plan(plan_import([case_record("l", "Lesesirkel på biblioteket", "nb", "NO")]))
    primary = make_url(database["SQLALCHEMY_DATABASE_URI"])

    def searched_through(replica: str) -> list[str]:
        instance = tmp_path / f"replicated-{len(list(tmp_path.iterdir()))}"
        replicated = make_app(instance, SEARCH_READ_DATABASE_URI=replica, **database)
        with replicated.app_context():
            try:
                return refs(search(replicated.test_client(), "lesesirkel"))
            finally:
                get_backend().close()

    # The primary stands in for a replica that is up to date: the case is found.
    assert searched_through(primary.render_as_string(hide_password=False)) == ["l"]
    # A replica that cannot be reached fails the search: searches really go there.
    missing = primary.set(database="kb_no_such_replica").render_as_string(hide_password=False)
    with pytest.raises(OperationalError):
        searched_through(missing)


def test_concurrent_writers_keep_the_counts_exact(app: Flask, runner: FlaskCliRunner) -> None:
    words = [
        "kommune",
        "flyktninger",
        "arbeid",
        "språk",
        "opplæring",
        "bolig",
        "skole",
        "helse",
        "frivillig",
    ]
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            with app.app_context():
                for i in range(8):
                    body = " ".join(words[(worker + i + k) % len(words)] for k in range(5))
                    title = f"Sak {worker}-{i} om {words[i]}"
                    import_plan(
                        plan_import([case_record(f"w{worker}-{i}", title, "nb", "NO", body)])
                    )
                    with write_transaction():
                        case = db.session.scalar(select(Case).where(Case.ref == f"w{worker}-0"))
                        case.title += " (endret)"
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert runner.invoke(main, ["search-check"]).exit_code == 0
    # The document frequencies equal a recount from the rows.
    drift = db.session.execute(
        text(
            "SELECT count(*) FROM (SELECT field, term, count(*) AS n FROM ("
            "  SELECT DISTINCT d.case_id, CASE WHEN strpos(u.lexeme, ':') > 0 THEN "
            "    CASE w WHEN 'A' THEN 'title' WHEN 'B' THEN 'summary' ELSE 'body' END "
            "    || '_' || split_part(u.lexeme, ':', 1) "
            "    WHEN strpos(u.lexeme, '/') > 0 THEN 'files_' || split_part(u.lexeme, '/', 1) "
            "    ELSE 'text_all' END AS field, "
            "    substr(u.lexeme, greatest(strpos(u.lexeme, ':'), strpos(u.lexeme, '/')) + 1) "
            "    AS term "
            "  FROM kb_search.documents AS d, unnest(d.vector) AS u, unnest(u.weights) AS w"
            ") AS f GROUP BY 1, 2) AS a "
            "FULL JOIN (SELECT * FROM kb_search.terms WHERE ndoc > 0) AS b "
            "USING (field, term) WHERE a.n IS DISTINCT FROM b.ndoc"
        )
    ).scalar()
    assert drift == 0


def test_a_search_asks_the_database_a_few_statements(app: Flask, client: FlaskClient) -> None:
    """The planner's questions (hundreds of term lookups for a compound asked in seven
    languages) are answered in rounds, not one round trip each: a query with a compound,
    concepts, partial matches and a "did you mean" stays within a dozen statements."""
    import_plan(
        plan_import(
            [
                case_record("a", "Flyktninger i arbeid", "nb", "NO", body="Språkopplæring."),
                case_record("b", "Glesbygdskommuner", "sv", "SE", body="Nyanlända i jobb."),
                case_record("c", "Refugees at work", "en", "FI", body="Language training."),
            ]
        )
    )
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = get_backend().read_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        data = search(client, "flyktningarbeid språkopplæring")
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert data["total"] >= 1
    assert len(statements) <= 12, "; ".join(" ".join(s.split()[:3]) for s in statements)
