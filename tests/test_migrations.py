"""Migrations: `kb db upgrade` builds the whole schema from nothing, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from kb.app import MIGRATIONS_DIR
from kb.cli import main
from kb.extensions import db
from tests.conftest import make_app, throwaway_postgres


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
    else:
        with throwaway_postgres() as url:
            yield {"SQLALCHEMY_DATABASE_URI": url}


def test_db_upgrade_from_empty_creates_a_schema_equal_to_the_models(
    empty_database: dict[str, str], tmp_path: Path
) -> None:
    app = make_app(tmp_path / "instance", **empty_database)
    with app.app_context():
        assert inspect(db.engine).get_table_names() == []

        result = app.test_cli_runner().invoke(main, ["db", "upgrade"])

        assert result.exit_code == 0, result.output
        tables = set(inspect(db.engine).get_table_names())
        assert {"case_study", "event", "programme_session", "person", "material"} <= tables
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn)
            head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
            assert context.get_current_revision() == head
            assert compare_metadata(context, db.metadata) == []
        db.engine.dispose()
