"""Test helpers shared by every test: apps on temporary instances, SQLite and PostgreSQL.

The fixtures built on these (``app``, ``client``, ``demo``...) are in ``tests/fixtures.py``,
which the root ``conftest.py`` registers for ``tests/`` and the plugins' own tests alike.

PostgreSQL runs when ``KB_TEST_POSTGRES_URL`` points at a server where we may create a
throwaway database (e.g. ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``);
otherwise those tests are skipped with the reason. ``KB_REQUIRE_POSTGRES=1`` (set by CI)
turns the skip into a failure.

A test that asks for ``demo`` gets its own copy of a demo instance built once per run
(``DemoTemplates``): importing the demo takes seconds, copying it a fraction of one.
"""

from __future__ import annotations

import email
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.message import Message
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ProgrammingError
from werkzeug.test import TestResponse

from kb import create_app, schema
from kb.cli import main
from kb.extensions import db
from kb.search import get_backend
from kb.search.postgres import schema as search_schema
from kb.services.vocabulary import ensure_default_terms

POSTGRES_URL = os.environ.get("KB_TEST_POSTGRES_URL")
#: Database (and search backend) variants of the search tests: Whoosh on SQLite, Whoosh on
#: PostgreSQL, and PostgreSQL's own full-text search (``KB_SEARCH_BACKEND=postgres``).
SEARCH_VARIANTS = ["sqlite", "postgresql", "postgresql-pgsearch"]
WHOOSH_VARIANTS = ["sqlite", "postgresql"]
REQUIRE_POSTGRES = os.environ.get("KB_REQUIRE_POSTGRES") == "1"
SQLITE_FILE = "kb.sqlite3"


#: Tests run with every first-party plugin, so every route and hook is covered.
ALL_PLUGINS = "default,oai_pmh"


def make_app(instance: Path, **config: object) -> Flask:
    return create_app(
        {"INSTANCE_PATH": str(instance), "TESTING": True, "PLUGINS": ALL_PLUGINS, **config}
    )


def instance_from(template: Path, folder: Path) -> Path:
    """A new instance folder holding a copy of the migrated template database."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, folder / SQLITE_FILE)
    return folder


def migrate_and_seed(app: Flask) -> None:
    with app.app_context():
        schema.upgrade()  # the core and the enabled plugins' branches
        ensure_default_terms()
        db.session.remove()
        db.engine.dispose()


def _unavailable(reason: str) -> None:
    if REQUIRE_POSTGRES:
        pytest.fail(f"PostgreSQL is required (KB_REQUIRE_POSTGRES=1) but {reason}")
    pytest.skip(reason)


def create_postgres(template: str | None = None) -> str:
    """Create a new PostgreSQL database, empty or a copy of the database ``template`` (whose
    URL is given); returns its URL. Skips the test when there is no server to use."""
    if not POSTGRES_URL:
        _unavailable("KB_TEST_POSTGRES_URL is not set, so the PostgreSQL variant is skipped")
    admin_url = make_url(POSTGRES_URL)
    name = f"kb_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{make_url(template).database}"' if template else ""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
            # A throwaway database need not survive a crash: commits do not wait for the disk.
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    except Exception as exc:  # any connection failure means "not available"
        _unavailable(f"cannot create a database at {admin_url.render_as_string()}: {exc}")
    finally:
        admin.dispose()
    return admin_url.set(database=name).render_as_string(hide_password=False)


def drop_postgres(url: str) -> None:
    admin = create_engine(make_url(str(POSTGRES_URL)), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def throwaway_postgres(template: str | None = None) -> Iterator[str]:
    """A new database (see ``create_postgres``), dropped afterwards. Yields its URL."""
    url = create_postgres(template)
    try:
        yield url
    finally:
        drop_postgres(url)


def empty_postgres(app: Flask) -> None:
    """Remove every row but the migration version, restart the sequences, then restore the
    default vocabulary.

    Rows are deleted, not truncated: a test leaves a handful of rows, and ``TRUNCATE`` gives
    each of the ~30 tables new files (about 0.8 s a test, half of a PostgreSQL test's time),
    where ``DELETE`` takes about 20 ms. Foreign keys are not checked meanwhile
    (``session_replication_role``, which a superuser may set, as on the test servers);
    elsewhere it falls back to ``TRUNCATE``.
    """
    with app.app_context():
        # The core's, the search's and the plugins' own tables (analytics_search...).
        tables = [t for t in inspect(db.engine).get_table_names() if t != "alembic_version"]
        tables += search_schema.TABLES
        try:
            with db.engine.begin() as conn:
                conn.execute(text("SET LOCAL session_replication_role = replica"))
                for table in tables:
                    conn.execute(text(f"DELETE FROM {table}"))  # noqa: S608 - from the catalogue
                conn.execute(text(_RESTART_SEQUENCES))
        except ProgrammingError:  # not a superuser: no leave to skip the foreign keys
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        ensure_default_terms()
        db.session.remove()


#: Every sequence of the database's own schemas back to its start, as ``RESTART IDENTITY``.
_RESTART_SEQUENCES = """
SELECT setval(s.oid, seq.seqstart, false)
FROM pg_class s
JOIN pg_sequence seq ON seq.seqrelid = s.oid
JOIN pg_namespace n ON n.oid = s.relnamespace
WHERE s.relkind = 'S' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
"""


def database_config(
    request: pytest.FixtureRequest, tmp_path: Path, variant: str | None = None
) -> dict[str, object]:
    """Config for ``variant`` (one of SEARCH_VARIANTS; by default ``request.param``)."""
    variant = variant or request.param
    if variant.startswith("postgresql"):
        config: dict[str, object] = {
            "SQLALCHEMY_DATABASE_URI": request.getfixturevalue("postgres_migrated")
        }
        if variant == "postgresql-pgsearch":
            config["SEARCH_BACKEND"] = "postgres"
        return config
    instance_from(request.getfixturevalue("sqlite_template"), tmp_path / "instance")
    return {}


class RequestIsolatingClient(FlaskClient):
    """Each request runs in its own app context, so it gets its own ``g`` and database
    session as in production, although the test keeps an app context open around it."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        with self.application.app_context():
            return super().open(*args, **kwargs)


def load_demo(app: Flask) -> None:
    """Import the demo data (events, sessions, people, the sample cases) into ``app``."""
    result = app.test_cli_runner().invoke(main, ["demo"])
    assert result.exit_code == 0, result.output


def close_app(app: Flask) -> None:
    """Let go of the app's database connections and index files (in an app context)."""
    get_backend().close()
    db.session.remove()
    db.engine.dispose()


@dataclass(frozen=True)
class DemoTemplate:
    """An instance folder with the demo loaded (database file or PostgreSQL database,
    search index, uploaded files), copied for each test that asks for ``demo``."""

    instance: Path
    config: dict[str, object]


class DemoTemplates:
    """One demo template per database configuration and plugin set, built on first use.

    The plugins are part of the key because they add to the index (``index_extras``).
    PostgreSQL copies are made and dropped in the background: while a test runs, the copy
    for the next test of its template is made (half a second each), and a drop waits for a
    checkpoint, which no test need wait for.
    """

    def __init__(self, folder: Path, cleanup: ExitStack) -> None:
        self._folder = folder
        self._cleanup = cleanup
        self._built: dict[tuple[object, ...], DemoTemplate] = {}
        self._maker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy-database")
        self._next: dict[str, Future[str]] = {}
        self._dropper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="drop-database")
        self._drops: list[Future[None]] = []

    def close(self) -> None:
        """Drop the copies made for no test, wait for the background drops; a failed drop
        fails the run here."""
        self._maker.shutdown(wait=True)
        for unused in self._next.values():
            if unused.exception() is None:
                self._drops.append(self._dropper.submit(drop_postgres, unused.result()))
        self._dropper.shutdown(wait=True)
        for drop in self._drops:
            drop.result()

    def _database_copy(self, template: str) -> str:
        """A copy of the database ``template``: the one made since the last test asked, if
        any, and the next one started at once."""
        ready = self._next.pop(template, None)
        url = ready.result() if ready is not None else create_postgres(template=template)
        self._next[template] = self._maker.submit(create_postgres, template)
        return url

    @contextmanager
    def copy(
        self, database: dict[str, object], plugins: str, instance: Path
    ) -> Iterator[dict[str, object]]:
        """Put a copy of the demo instance for ``database`` and ``plugins`` in ``instance``
        (replacing what is there); yields the database config that reaches the copy."""
        key = (tuple(sorted(database.items())), plugins)
        if key not in self._built:
            self._built[key] = self._build(database, plugins, len(self._built))
        template = self._built[key]
        shutil.rmtree(instance, ignore_errors=True)
        shutil.copytree(template.instance, instance)
        url = template.config.get("SQLALCHEMY_DATABASE_URI")
        if not url:
            yield template.config
            return
        copy = self._database_copy(str(url))
        try:
            yield {**template.config, "SQLALCHEMY_DATABASE_URI": copy}
        finally:
            self._drops.append(self._dropper.submit(drop_postgres, copy))

    def _build(self, database: dict[str, object], plugins: str, number: int) -> DemoTemplate:
        instance = self._folder / f"demo-{number}" / "instance"
        config = dict(database)
        if database.get("SQLALCHEMY_DATABASE_URI"):
            url = self._cleanup.enter_context(throwaway_postgres())
            migrate_and_seed(make_app(instance.with_name("migrate"), SQLALCHEMY_DATABASE_URI=url))
            config["SQLALCHEMY_DATABASE_URI"] = url
        else:
            shutil.copytree(self._folder / "sqlite", instance)
        app = make_app(instance, PLUGINS=plugins, **config)
        with app.app_context():
            load_demo(app)
            close_app(app)
        return DemoTemplate(instance, config)


@contextmanager
def shared_demo_app(
    request: pytest.FixtureRequest,
    templates: DemoTemplates,
    folder: Path,
    variant: str | None = None,
) -> Iterator[Flask]:
    """One app on a copy of the demo for a module of tests that only read, in an app context
    (``variant``, by default ``request.param``, names the database variant)."""
    database = database_config(request, folder, variant)
    with templates.copy(database, ALL_PLUGINS, folder / "instance") as config:
        app = make_app(folder / "instance", **config)
        app.test_client_class = RequestIsolatingClient
        with app.app_context():
            yield app
            close_app(app)


class Inbox:
    """What a real SMTP server on localhost (aiosmtpd) received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        #: The client's (address, port) of each connection that delivered a message.
        self.connections: set[tuple[str, int]] = set()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=default))
        self.connections.add(tuple(session.peer))
        return "250 OK"

    def link(self) -> str:
        body = self.messages[-1].get_content()
        return re.search(r"https?://\S+", body).group(0)
