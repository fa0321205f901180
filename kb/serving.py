"""gunicorn's hooks for workers forked from a master that loaded the app once
(``preload_app``; ``gunicorn.conf.py`` at the repository root sets both).

A forked worker shares each page of the master's memory until one of them writes to it.
Loaded in every worker, the app's modules, compiled templates, translations and search
analysers cost each worker its own heap (~160 MB); loaded once in the master, they are in
memory once for all. So the master loads the app and what a worker would otherwise load on
its first requests (``warm``), then lets go of what must not cross a fork (``release``):

- database connections: parent and child would share one socket or one SQLite file
  handle, and SQLite's locks belong to a process;
- the search index's open files: a forked descriptor shares its file offset, so two
  workers' reads would interleave;
- threads: a fork copies only the thread that forks, and a lock another thread held stays
  locked in the child for ever (the search drainer and the array builder are threads).

It freezes what it loaded out of the garbage collector's reach (``gc.freeze``): a
collection in a worker writes to every object it visits, which would copy every shared
page. Each worker then opens its own connections and searcher and starts its own search
drainer (``post_fork``).

Without ``preload_app`` (a plain ``gunicorn wsgi:app``) these hooks do nothing: each worker
loads the app itself and ``wsgi.py`` starts its drainer, as before, with a heap of its own.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
from collections.abc import Callable
from typing import Any

from babel import localedata
from flask import Flask
from flask_babel import force_locale, get_locale, get_translations

from kb.config import ConfigurationError
from kb.extensions import db, limiter
from kb.models.choices import UI_LANGUAGES
from kb.search import EXTENSION, facet_names, get_backend
from kb.search.backend import SearchRequest
from kb.server import loading_gunicorn_application
from kb.services.indexing import drainer

log = logging.getLogger(__name__)

#: glibc's ``malloc_trim`` (None where the C library has none, e.g. musl or macOS).
_MALLOC_TRIM = getattr(ctypes.CDLL(ctypes.util.find_library("c")), "malloc_trim", None)

#: Searched in the master before forking: a word every analyser sees (all languages are
#: asked), so each language's stemmer and lexicon are loaded there, once.
WARM_QUERY = "arbeid"

__all__ = [
    "on_starting",
    "post_fork",
    "pre_fork",
    "preloading",
    "release",
    "warm",
]


def preloading() -> bool:
    """Whether gunicorn is loading the app in its master to fork the workers from it.

    ``wsgi.py`` then leaves the drainer to ``post_fork``: a thread started in the master
    would run in no worker. A preload without this module's hooks (``gunicorn --preload``
    without ``gunicorn.conf.py``) is refused: no worker would start its drainer, and the
    master's connections would cross the fork.
    """
    application = loading_gunicorn_application()
    if application is None or not application.cfg.preload_app:
        return False
    if application.cfg.post_fork is not post_fork or application.cfg.pre_fork is not pre_fork:
        raise ConfigurationError(
            "gunicorn preloads the app (preload_app/--preload) without the hooks in "
            "gunicorn.conf.py, so no worker would start its search drainer and database "
            "connections would cross the fork. Start gunicorn with -c gunicorn.conf.py, or "
            "without --preload."
        )
    return True


# -- gunicorn's hooks -----------------------------------------------------------------------


def on_starting(server: Any) -> None:
    """In the master, the app loaded, before it listens: load what workers share."""
    app = _preloaded_app(server)
    if app is not None:
        warm(app)
        release(app)
        _report_threads()
        gc.collect()
        gc.freeze()
        _trim()


def pre_fork(server: Any, _worker: Any) -> None:
    """In the master, before each fork (a worker replaced later too)."""
    app = _preloaded_app(server)
    if app is not None:
        release(app)
        gc.freeze()


def post_fork(server: Any, _worker: Any) -> None:
    """In each new worker: its own connection pools and search drainer, and its searcher
    opened by one search, so that its first request does not wait for it."""
    app = _preloaded_app(server)
    if app is None:
        return
    with app.app_context():
        for engine in db.engines.values():
            engine.dispose(close=False)  # SQLAlchemy's advice: the child's pool starts empty
    drainer.start(app)
    _each(app, (_search_once,), "in a new worker")


def _trim() -> None:
    """The C heap's free pages given back to the system (glibc): the master's warm-up
    search freed about 15 MB at 100,000 cases that it would keep, and every worker with it.

    Not after each request in the workers: it saved 11 MB per worker at 100,000 cases but
    cost 3 ms of CPU per search page (the next search faults the pages in again)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


def _preloaded_app(server: Any) -> Flask | None:
    """The knowledge base app gunicorn's master loaded; None without ``preload_app`` (then
    ``server.app.wsgi()`` would load it in the master) or for another app."""
    if not server.cfg.preload_app:
        return None
    app = server.app.wsgi()
    return app if isinstance(app, Flask) and EXTENSION in app.extensions else None


# -- what they do ---------------------------------------------------------------------------


def warm(app: Flask) -> None:
    """Load what every worker would load on its first requests: the templates compiled, the
    translations of every UI language, and one search (the analysers, the vocabulary, the
    search's modules). Nothing here may stop the server: a failure is logged, and the
    worker loads that part itself when it needs it."""
    _each(app, (_compile_templates, _load_translations, _search_once), "before forking")


def release(app: Flask) -> None:
    """Close what must not cross a fork: the search index's files and background build, the
    database connections (the pools start again empty) and the rate-limit storage's."""
    with app.app_context():
        get_backend().close()
        for engine in db.engines.values():
            engine.dispose()
    close = getattr(limiter.storage, "close", None) if limiter.enabled else None
    if close is not None:
        close()


def _each(app: Flask, parts: tuple[Callable[[Flask], None], ...], when: str) -> None:
    for part in parts:
        try:
            part(app)
        except Exception:
            log.exception("%s failed %s; it is done on first use instead", part.__name__, when)


def _compile_templates(app: Flask) -> None:
    for name in app.jinja_env.list_templates(extensions=("html", "txt", "xml")):
        app.jinja_env.get_template(name)


def _load_translations(app: Flask) -> None:
    """The catalogues (the core's merged with the plugins') and the CLDR data (names,
    date and number formats) of every UI language."""
    with app.app_context():
        for language in UI_LANGUAGES:
            with force_locale(language):
                get_translations()
                localedata.load(str(get_locale()))


def _search_once(app: Flask) -> None:
    with app.app_context():
        get_backend().search(SearchRequest(q=WARM_QUERY, facets=facet_names()))


def _report_threads() -> None:
    """A thread alive at a fork is a bug (see the module's docstring): say which."""
    others = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if others:
        log.error("Threads alive in gunicorn's master before forking: %s", ", ".join(others))
