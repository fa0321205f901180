"""Indexing: what the search index holds of each case, kept in step with the database.

``documents`` builds the index documents from the models (with what plugins add);
``outbox`` notes in each transaction the cases it changes and drains them into the search
backend after the commit (or within it, for an index in the same database); ``drainer``
drains in the background of each serving process. The engines in ``kb.search`` only
receive documents.
"""

from __future__ import annotations

from functools import partial

from flask import Flask

from kb.database import on_commit
from kb.search import SearchBackend
from kb.search.postgres import PostgresBackend
from kb.services.indexing import outbox
from kb.services.indexing.documents import PLUGIN_EXTRAS, PluginExtras

__all__ = ["PluginExtras", "init_app"]


def init_app(app: Flask, backend: SearchBackend, extras: PluginExtras | None = None) -> None:
    """Drain the outbox into ``backend`` after every commit, within a budget in web requests
    (and, for PostgreSQL, apply it inside the committing transaction).

    ``extras`` is what the enabled plugins add to the index (the app factory asks them).
    """
    app.extensions[PLUGIN_EXTRAS] = extras or PluginExtras()
    outbox.Budget.from_config(app.config)  # a wrong setting stops the start, not each write
    if isinstance(backend, PostgresBackend):
        app.extensions[outbox.IN_TRANSACTION] = backend.write
    on_commit(app, partial(outbox.drain_after_commit, backend))
