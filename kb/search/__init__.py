"""Full-text search: the interface (``backend``), the engines, analysis and sync.

Views and services use ``get_backend()`` and the types of ``kb.search.backend`` only.
``SEARCH_BACKEND`` picks the engine: ``whoosh`` (default, an index in the instance folder,
brought up to date after each commit) or ``postgres`` (the index in the PostgreSQL
database, written in the same transaction as the cases).
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy.engine import make_url

from kb.config import ConfigurationError
from kb.database import on_commit
from kb.extensions import db
from kb.search import sync
from kb.search.backend import FACETS, SearchBackend
from kb.search.concepts import Vocabulary, default_vocabulary
from kb.search.documents import PLUGIN_EXTRAS, PluginExtras, plugin_extras
from kb.search.postgres import PostgresBackend
from kb.search.whoosh_backend import WhooshBackend

EXTENSION = "kb.search"

BACKENDS = ("whoosh", "postgres")

__all__ = [
    "BACKENDS",
    "EXTENSION",
    "PluginExtras",
    "SearchBackend",
    "facet_names",
    "get_backend",
    "init_app",
]


def init_app(app: Flask, extras: PluginExtras | None = None) -> None:
    """One backend per app; the outbox is drained into it after every commit, within a
    budget in web requests (and, for PostgreSQL, applied inside the committing transaction).

    ``extras`` is what the enabled plugins add to the index (the app factory asks them).
    """
    app.extensions[PLUGIN_EXTRAS] = extras or PluginExtras()
    concepts = app.config.get("SEARCH_CONCEPTS_FILE")
    vocabulary = Vocabulary.load(Path(concepts)) if concepts else default_vocabulary()
    sync.Budget.from_config(app.config)  # a wrong setting stops the start, not each write
    backend = _backend(app, vocabulary)
    app.extensions[EXTENSION] = backend
    if isinstance(backend, PostgresBackend):
        app.extensions[sync.IN_TRANSACTION] = backend.write
    on_commit(app, partial(sync.drain_after_commit, backend))


def _backend(app: Flask, vocabulary: Vocabulary) -> SearchBackend:
    name = str(app.config.get("SEARCH_BACKEND") or "whoosh").strip().lower()
    if name == "whoosh":
        return WhooshBackend(
            Path(app.config["SEARCH_INDEX_DIR"]),
            vocabulary,
            rebuild_procs=int(app.config["SEARCH_REBUILD_PROCS"]),
        )
    if name != "postgres":
        raise ConfigurationError(
            f"SEARCH_BACKEND={name!r} is not a search backend. Set KB_SEARCH_BACKEND to "
            "'whoosh' (the default) or 'postgres'."
        )
    uri = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if uri.get_backend_name() != "postgresql":
        raise ConfigurationError(
            "KB_SEARCH_BACKEND=postgres needs a PostgreSQL database, but the database is "
            f"{uri.get_backend_name()}. Set KB_SQLALCHEMY_DATABASE_URI=postgresql+psycopg://"
            "user@host/dbname (then `kb init`), or use KB_SEARCH_BACKEND=whoosh."
        )
    with app.app_context():
        engine = db.engine
    return PostgresBackend(
        engine, vocabulary, read_engine=app.config.get("SEARCH_READ_DATABASE_URI") or None
    )


def get_backend() -> SearchBackend:
    return current_app.extensions[EXTENSION]


def facet_names() -> tuple[str, ...]:
    """The core's facets, then those the enabled plugins add."""
    return FACETS + plugin_extras().facets
