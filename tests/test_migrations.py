"""Migrations: `kb db upgrade` builds the whole schema from nothing, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

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
            assert context.get_current_revision() == "0008_material_text"
            assert compare_metadata(context, db.metadata) == []
        db.engine.dispose()


def test_files_stored_before_0008_wait_for_their_text_to_be_read(
    empty_database: dict[str, str], tmp_path: Path
) -> None:
    app = make_app(tmp_path / "instance", **empty_database)
    with app.app_context():
        cli = app.test_cli_runner()
        assert cli.invoke(main, ["db", "upgrade", "0007"]).exit_code == 0
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
                    "INSERT INTO material (id, case_id, kind, title, position, stored_name, url,"
                    " created_at, updated_at) VALUES (1, 1, 'slides', 'F', 0, 'a.pdf', NULL,"
                    " '2026-01-01', '2026-01-01'), (2, 1, 'link', 'L', 1, NULL, 'https://x.org',"
                    " '2026-01-01', '2026-01-01')"
                )
            )

        assert cli.invoke(main, ["db", "upgrade"]).exit_code == 0

        with db.engine.connect() as conn:
            rows = conn.execute(text("SELECT id, text_status FROM material ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [(1, "pending"), (2, None)]
        db.engine.dispose()
