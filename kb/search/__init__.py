"""Full-text search engines: the interface (``backend``), Whoosh and PostgreSQL, analysis
and query planning.

Views and services use ``get_backend()`` and the types of ``kb.search.backend`` only.
``SEARCH_BACKEND`` picks the engine: ``whoosh`` (default, an index in the instance folder)
or ``postgres`` (the index in the PostgreSQL database). This package indexes the documents
it is given and never reads the models: building them and keeping the index in step with
the database is ``kb.services.indexing``'s job.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app
from sqlalchemy.engine import make_url

from kb.config import ConfigurationError
from kb.extensions import db
from kb.search.backend import FACETS, SearchBackend
from kb.search.concepts import Vocabulary, default_vocabulary
from kb.search.postgres import PostgresBackend
from kb.search.whoosh_backend import WhooshBackend

EXTENSION = "kb.search"
#: Where ``init_app`` keeps the names of the facets the enabled plugins add.
EXTRA_FACETS = "kb.search.extra_facets"

BACKENDS = ("whoosh", "postgres")

__all__ = [
    "BACKENDS",
    "EXTENSION",
    "SearchBackend",
    "facet_names",
    "get_backend",
    "init_app",
]


def init_app(app: Flask, extra_facets: tuple[str, ...] = ()) -> SearchBackend:
    """One backend per app, returned for the indexing to write to.

    ``extra_facets`` are the facets the enabled plugins add (the app factory asks them).
    """
    app.extensions[EXTRA_FACETS] = tuple(extra_facets)
    concepts = app.config.get("SEARCH_CONCEPTS_FILE")
    vocabulary = Vocabulary.load(Path(concepts)) if concepts else default_vocabulary()
    backend = _backend(app, vocabulary)
    app.extensions[EXTENSION] = backend
    return backend


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
    return FACETS + current_app.extensions.get(EXTRA_FACETS, ())
