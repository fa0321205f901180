"""The shared pytest fixtures, for ``tests/`` and every plugin's ``plugins/<name>/tests/``.

The root ``conftest.py`` registers this module (``pytest_plugins``), so a plugin's tests get
the same ``app``, ``client``, ``demo``... as the core's, and session-scoped templates are
built once per run for both. The helpers they use live in ``tests/conftest.py``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner

from tests.conftest import (
    ALL_PLUGINS,
    SQLITE_FILE,
    WHOOSH_VARIANTS,
    DemoTemplates,
    Inbox,
    RequestIsolatingClient,
    close_app,
    database_config,
    empty_postgres,
    instance_from,
    make_app,
    migrate_and_seed,
    throwaway_postgres,
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, seeded database file, copied for each test (faster than migrating)."""
    instance = tmp_path_factory.mktemp("sqlite-template")
    migrate_and_seed(make_app(instance))
    return instance / SQLITE_FILE


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A throwaway PostgreSQL database shared by this test run."""
    with throwaway_postgres() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_migrated(postgres_database: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    migrate_and_seed(
        make_app(tmp_path_factory.mktemp("pg-migrate"), SQLALCHEMY_DATABASE_URI=postgres_database)
    )
    return postgres_database


@pytest.fixture(params=WHOOSH_VARIANTS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    """Config for the database under test; every test using ``app`` runs on both (the
    search tests override this fixture to add the PostgreSQL search backend)."""
    return database_config(request, tmp_path)


@pytest.fixture
def plugins() -> str:
    """The KB_PLUGINS setting of the ``app`` fixture; a test module may override it."""
    return ALL_PLUGINS


@pytest.fixture(scope="session")
def demo_templates(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoTemplates]:
    folder = tmp_path_factory.mktemp("demo-templates")
    instance_from(sqlite_template, folder / "sqlite")
    with ExitStack() as cleanup:
        templates = DemoTemplates(folder, cleanup)
        cleanup.callback(templates.close)
        yield templates


@pytest.fixture
def app(
    request: pytest.FixtureRequest, database: dict[str, object], plugins: str, tmp_path: Path
) -> Iterator[Flask]:
    """A fresh app on an empty database, or on a copy of the demo if the test asks for it."""
    instance = tmp_path / "instance"
    with ExitStack() as stack:
        from_demo = "demo" in request.fixturenames
        if from_demo:
            templates: DemoTemplates = request.getfixturevalue("demo_templates")
            database = stack.enter_context(templates.copy(database, plugins, instance))
        app = make_app(instance, PLUGINS=plugins, **database)
        app.test_client_class = RequestIsolatingClient
        if database and not from_demo:
            empty_postgres(app)
        with app.app_context():
            yield app
            close_app(app)


@pytest.fixture
def demo(app: Flask) -> None:
    """The demo data (events from the seed announcements and the sample cases) in ``app``.

    ``app`` starts from a copy of a demo instance when a test asks for this fixture, so a
    test may change the data freely: the next one gets a fresh copy.
    """


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    """Mail from ``app`` goes to a local SMTP server; links use https://kb.example.org."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, BASE_URL="https://kb.example.org")
    yield handler
    controller.stop()
