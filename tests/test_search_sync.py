"""Indexing after a commit is bounded in web requests; what it leaves is drained later.

The index lock is held by a real second Whoosh writer, as another worker or `kb reindex`
would hold it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import inspect, select
from whoosh.writing import IndexWriter

from kb.cli import main
from kb.config import ConfigurationError
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, Role, SearchOutbox
from kb.search import get_backend
from kb.services import accounts, tokens
from kb.services.exchange.importer import import_plan, plan_import
from kb.services.indexing import drainer, outbox
from tests.conftest import make_app
from tests.factories import case_record
from tests.web_helpers import refs, search

CASE = {
    "language": "nb",
    "country": "NO",
    "summary": "Flyktninger lærer norsk på jobb.",
    "body": "Kommunen og bedriftene laget et løp med språkpraksis.",
    "themes": ["employment"],
    "status": "published",
}


def pending() -> list[int]:
    """The cases waiting in the outbox."""
    found = list(db.session.scalars(select(SearchOutbox.case_id).order_by(SearchOutbox.id)))
    db.session.rollback()
    return found


@pytest.fixture
def editor(app: Flask) -> dict[str, str]:
    user = accounts.create_user("editor@example.org", Role.EDITOR)
    return {"Authorization": f"Bearer {tokens.create_token(user, 'sync')[1]}"}


@pytest.fixture
def index_lock(app: Flask) -> Iterator[IndexWriter]:
    """Another writer holds the Whoosh index's write lock until the test releases it."""
    holder = get_backend().ix.writer()
    yield holder
    if not holder.is_closed:
        holder.cancel()


def test_a_write_while_the_index_is_locked_succeeds_and_the_next_drain_indexes_it(
    app: Flask, client: FlaskClient, editor: dict[str, str], index_lock: IndexWriter
) -> None:
    app.config["SEARCH_SYNC_BUDGET_SECONDS"] = 0.2
    woken: list[bool] = []
    app.extensions[outbox.WAKE_DRAINER] = lambda: woken.append(True)  # the server's drainer

    first = client.post(
        "/api/v1/cases", json={**CASE, "ref": "vang", "title": "Jobbsjanse i Vang"}, headers=editor
    )

    assert first.status_code == 201, first.get_data(as_text=True)
    case_id = first.get_json()["id"]
    assert db.session.get(Case, case_id).title == "Jobbsjanse i Vang"
    assert pending() == [case_id]
    assert search(client, "jobbsjanse")["total"] == 0
    assert woken == [True]

    index_lock.cancel()  # the other writer is done
    second = client.post(
        "/api/v1/cases", json={**CASE, "ref": "hol", "title": "Jobbsjanse i Hol"}, headers=editor
    )

    assert second.status_code == 201
    assert pending() == []
    assert woken == [True]  # nothing was left this time
    assert sorted(refs(search(client, "jobbsjanse"))) == ["hol", "vang"]


def test_a_request_indexes_at_most_its_share_and_search_sync_does_the_rest(
    app: Flask, client: FlaskClient, runner: FlaskCliRunner
) -> None:
    import_plan(
        plan_import([case_record(f"m{i}", f"Mentorordning {i}", "nb", "NO") for i in range(5)])
    )
    ids = list(db.session.scalars(select(Case.id).order_by(Case.id)))
    db.session.rollback()
    app.config["SEARCH_SYNC_REQUEST_CASES"] = 2

    with app.test_request_context(), write_transaction() as session:
        outbox.touch_cases(session, ids)  # a change that shows on five cases

    assert pending() == ids[2:]
    check = runner.invoke(main, ["search-check"])
    assert check.exit_code == 1
    assert "3 case(s) stale in the index" in check.output
    drained = runner.invoke(main, ["search-sync"])
    assert drained.exit_code == 0, drained.output
    assert "Refreshed 3 case(s)" in drained.output
    assert pending() == []
    assert runner.invoke(main, ["search-check"]).exit_code == 0


def test_the_servers_drainer_applies_what_a_busy_index_left(
    app: Flask, client: FlaskClient, editor: dict[str, str], index_lock: IndexWriter
) -> None:
    app.config["SEARCH_SYNC_BUDGET_SECONDS"] = 0
    created = client.post(
        "/api/v1/cases", json={**CASE, "ref": "lom", "title": "Jobbsjanse i Lom"}, headers=editor
    )
    assert created.status_code == 201
    assert pending() == [created.get_json()["id"]]
    index_lock.cancel()

    assert drainer.Drainer(app).drain_once() == 1

    assert pending() == []
    assert refs(search(client, "jobbsjanse")) == ["lom"]


def test_the_drainer_waits_for_a_database_that_is_not_migrated(tmp_path: Path) -> None:
    app = make_app(tmp_path / "new")

    assert drainer.Drainer(app).drain_once() == 0

    with app.app_context():
        assert not inspect(db.engine).has_table(SearchOutbox.__tablename__)
        db.engine.dispose()


@pytest.mark.parametrize(
    "setting", [{"SEARCH_SYNC_BUDGET_SECONDS": "soon"}, {"SEARCH_SYNC_REQUEST_CASES": -1}]
)
def test_a_budget_that_is_not_a_number_stops_the_start(
    tmp_path: Path, setting: dict[str, object]
) -> None:
    with pytest.raises(ConfigurationError, match="KB_SEARCH_SYNC_BUDGET_SECONDS"):
        make_app(tmp_path / "instance", **setting)
