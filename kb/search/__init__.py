"""Full-text search: the interface (``backend``), the Whoosh engine, analysis and sync.

Views and services use ``get_backend()`` and the types of ``kb.search.backend`` only.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

from flask import Flask, current_app

from kb import plugins
from kb.database import on_commit
from kb.search import sync
from kb.search.backend import FACETS, SearchBackend
from kb.search.concepts import Vocabulary, default_vocabulary
from kb.search.whoosh_backend import WhooshBackend

EXTENSION = "kb.search"

__all__ = ["EXTENSION", "SearchBackend", "facet_names", "get_backend", "init_app"]


def init_app(app: Flask) -> None:
    """One backend per app; the outbox is drained into it after every commit."""
    taken = [f.name for f in plugins.state(app).facets if f.name in FACETS]
    if taken:
        raise plugins.PluginError(f"A plugin's facet uses a core facet's name: {taken[0]!r}.")
    concepts = app.config.get("SEARCH_CONCEPTS_FILE")
    vocabulary = Vocabulary.load(Path(concepts)) if concepts else default_vocabulary()
    backend = WhooshBackend(
        Path(app.config["SEARCH_INDEX_DIR"]),
        vocabulary,
        rebuild_procs=int(app.config["SEARCH_REBUILD_PROCS"]),
    )
    app.extensions[EXTENSION] = backend
    on_commit(app, partial(sync.drain, backend))


def get_backend() -> SearchBackend:
    return current_app.extensions[EXTENSION]


def facet_names() -> tuple[str, ...]:
    """The core's facets, then those the enabled plugins add."""
    return FACETS + tuple(f.name for f in plugins.facets())
