"""Migrations: `kb db upgrade` builds the whole schema from nothing, on both databases."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import inspect, select, text, update

from kb import schema
from kb.app import MIGRATIONS_DIR
from kb.cli import main
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseRevision, RevisionAction
from kb.services import revisions
from kb.services.exchange.importer import import_plan, plan_import
from kb.services.vocabulary import ensure_default_terms
from tests.conftest import make_app, throwaway_postgres
from tests.factories import case_record
from tests.web_helpers import search


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
            # The core's models; each plugin's tables are compared by its own tests.
            include = app.extensions["migrate"].configure_args["include_object"]
            context = MigrationContext.configure(conn, opts={"include_object": include})
            head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
            assert head in schema.applied(context.get_current_heads())
            assert schema.behind(context.get_current_heads()) == []
            assert compare_metadata(context, db.metadata) == []
        db.engine.dispose()


def _tables() -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_a_plugins_tables_come_with_it_and_stay_when_it_is_disabled(
    empty_database: dict[str, str], tmp_path: Path
) -> None:
    """Enabled, ``kb db upgrade`` creates the plugin's tables; disabled, they are left alone
    and the core still upgrades and checks; ``kb db downgrade-plugin`` removes them."""
    instance = tmp_path / "instance"
    enabled = make_app(instance, **empty_database)
    with enabled.app_context():
        _migrate(enabled, "upgrade")
        assert {"analytics_search", "analytics_month", "case_study"} <= _tables()
        db.engine.dispose()

    disabled = make_app(instance, PLUGINS="exports", **empty_database)
    with disabled.app_context():
        _migrate(disabled, "upgrade")
        _migrate(disabled, "check")
        assert {"analytics_search", "analytics_month"} <= _tables()

        _migrate(disabled, "downgrade-plugin", "analytics")

        left = _tables()
        assert not {"analytics_search", "analytics_month"} & left
        assert {"case_study", "event", "alembic_version"} <= left
        _migrate(disabled, "check")
        _migrate(disabled, "upgrade")
        assert "analytics_search" not in _tables()  # disabled: not brought back
        db.engine.dispose()

    with enabled.app_context():
        _migrate(enabled, "upgrade")
        assert "analytics_search" in _tables()
        _migrate(enabled, "check")
        db.engine.dispose()


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_no_migration_imports_live_code() -> None:
    """A migration runs the same steps on every database, whenever it runs: if it imported
    ``kb``, a later change there (a language added to the search) would change it silently."""
    plugins = Path(__file__).resolve().parents[1] / "plugins"
    migrations = sorted((MIGRATIONS_DIR / "versions").glob("*.py"))
    assert len(migrations) >= 11
    migrations += sorted(plugins.glob("*/migrations/*.py"))

    offenders = {
        path.name: sorted(m for m in _imported_modules(path) if m == "kb" or m.startswith("kb."))
        for path in migrations
    }

    assert {name: found for name, found in offenders.items() if found} == {}


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


def test_cases_stored_before_0014_keep_their_rows_with_the_template_empty(
    empty_database: dict[str, str], tmp_path: Path
) -> None:
    """0014 copies case_study on SQLite (to add its checks): the rows that refer to a case
    (key figures, links, revisions) must survive the copy, and down and up again."""
    app = make_app(tmp_path / "instance", **empty_database)
    with app.app_context():
        _migrate(app, "upgrade", "0013_restore_proposals")
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
                    "INSERT INTO key_figure (id, case_id, position, label, value, unit)"
                    " VALUES (1, 1, 0, 'i arbeid', 64, '%')"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO case_link (id, case_id, position, url, title)"
                    " VALUES (1, 1, 0, 'https://x.org', NULL)"
                )
            )

        _migrate(app, "upgrade")
        _migrate(app, "downgrade", "0013_restore_proposals")
        _migrate(app, "upgrade")

        with db.engine.connect() as conn:
            case = conn.execute(
                text("SELECT practice_status, practice_status_year, background FROM case_study")
            ).one()
            figure = conn.execute(text("SELECT label, year, source FROM key_figure")).one()
            links = conn.execute(text("SELECT count(*) FROM case_link")).scalar()
        assert tuple(case) == (None, None, None)
        assert tuple(figure) == ("i arbeid", None, None)
        assert links == 1
        db.engine.dispose()


def _migrate(app: Flask, *args: str) -> None:
    result = app.test_cli_runner().invoke(main, ["db", *args])
    assert result.exit_code == 0, result.output


def _kept_contacts() -> list[dict[str, object]]:
    """Read in a transaction of its own, ended at once: an open one would hold a lock that a
    migration altering the table waits for (on PostgreSQL) forever."""
    with db.engine.connect() as conn:
        return conn.scalar(select(CaseRevision.data))["contacts"]


def test_kept_revisions_get_the_ids_of_their_contacts(
    empty_database: dict[str, str], tmp_path: Path
) -> None:
    """0009 backfills ``person_id`` in revisions kept before it: by e-mail in any case, by
    name among the case's contacts, and leaves a contact that matches nobody without one."""
    app = make_app(tmp_path / "instance", **empty_database)
    with app.app_context():
        _migrate(app, "upgrade")
        ensure_default_terms()
        record = {"title": "T", "language": "sv", "country": "SE", "ref": "a"}
        contacts = [
            {"name": "Eva Lind", "email": "Eva@Ume.se"},
            {"name": "Per Holm", "organisation": "Umeå kommun"},
        ]
        import_plan(plan_import([record | {"contacts": contacts}]))
        case = db.session.scalar(select(Case))
        eva, per = (c.person_id for c in case.contacts)
        with write_transaction():
            revisions.record(case, RevisionAction.EDITED, None)
        before_ids = [
            {"name": "Eva Lindqvist", "email": "eva@ume.SE"},  # her name then; e-mail matches
            {"name": "Per Holm", "organisation": None},  # on the case now: matched by name
            {"name": "Nobody Known", "email": "nobody@example.org"},
        ]
        with db.engine.begin() as conn:
            conn.execute(
                update(CaseRevision.__table__).values(data={"title": "T", "contacts": before_ids})
            )

        _migrate(app, "downgrade", "0008_material_text")
        assert _kept_contacts() == before_ids
        _migrate(app, "upgrade")
        assert [c.get("person_id") for c in _kept_contacts()] == [eva, per, None]

        _migrate(app, "downgrade", "0008_material_text")
        assert _kept_contacts() == before_ids
        db.session.remove()
        db.engine.dispose()


def test_search_rows_indexed_before_0019_are_found_after_the_upgrade(tmp_path: Path) -> None:
    """0019 splits PostgreSQL's search rows in two and copies them: an upgraded deployment
    finds, counts and shows what it did before, with no reindex, and down and up again."""
    with throwaway_postgres() as url:
        app = make_app(
            tmp_path / "instance", SQLALCHEMY_DATABASE_URI=url, SEARCH_BACKEND="postgres"
        )
        with app.app_context():
            _migrate(app, "upgrade")
            ensure_default_terms()
            import_plan(
                plan_import(
                    [
                        case_record("a", "Lærlinger i kommunen", "nb", "NO", body="Arbeid."),
                        case_record("b", "Lärlingar i kommunen", "sv", "SE", body="Arbete."),
                        case_record("c", "Mentorer for nyankomne", "nb", "NO"),
                    ]
                )
            )
            client = app.test_client()
            before = [search(client, q) for q in ("lærlinger", "kommunen arbeid", "mentorer")]
            assert [found["total"] for found in before] == [2, 2, 1]
            db.session.remove()

            _migrate(app, "downgrade", "0018_cache_generation")
            with db.engine.connect() as conn:
                assert conn.scalar(text("SELECT count(*) FROM kb_search.documents")) == 3
            _migrate(app, "upgrade")

            after = [search(client, q) for q in ("lærlinger", "kommunen arbeid", "mentorer")]
            assert after == before
            assert app.test_cli_runner().invoke(main, ["search-check"]).exit_code == 0
            db.session.remove()
            db.engine.dispose()
