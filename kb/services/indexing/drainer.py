"""Drain the search outbox outside requests, in each serving process.

A web request indexes only within its budget (``outbox.Budget``), and a killed
server leaves committed changes in the outbox. A daemon thread in each worker drains what
is pending when the worker starts, when a request left work behind, and every
``POLL_SECONDS`` (for rows another process left). It runs beside the worker's requests,
so a long backlog never delays a worker's start (gunicorn kills a worker that is not
ready within its timeout). Workers starting together take turns on the index lock, and
each reads the outbox only while holding it, so the others find the rows gone (a batch
read just before its rows are deleted is applied twice, which is harmless). Only the
production entry point (``wsgi.py``) starts it; apps built in tests and CLI commands do
not.
"""

from __future__ import annotations

import logging
import threading

from flask import Flask
from sqlalchemy import inspect

from kb.extensions import db
from kb.models import SearchOutbox
from kb.search import get_backend
from kb.search.backend import IndexBusy
from kb.services.indexing import outbox

log = logging.getLogger(__name__)

#: How often a worker looks for changes another process left in the outbox.
POLL_SECONDS = 60.0


class Drainer:
    """One thread per process; ``wake()`` asks it to drain now."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="kb-search-drainer", daemon=True)

    def start(self) -> None:
        self._wake.set()  # drain what a crash or another process left, first thing
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        while True:
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            self.drain_once()

    def drain_once(self) -> int:
        """Drain everything pending; errors are logged (the next round retries)."""
        with self.app.app_context():
            try:
                if not inspect(db.engine).has_table(SearchOutbox.__tablename__):
                    return 0  # not migrated yet (`kb init`)
                count = outbox.drain(get_backend())
            except IndexBusy:
                log.warning("The search index stayed locked; pending changes wait a round.")
                return 0
            except Exception:  # the thread must outlive any one failure
                log.exception("Draining the search outbox failed; the next round retries.")
                return 0
        if count:
            log.info("Indexed %d pending case change(s).", count)
        return count


def start(app: Flask) -> Drainer:
    """Start this process's drainer for ``app`` and let after-commit drains wake it."""
    drainer = Drainer(app)
    app.extensions[outbox.WAKE_DRAINER] = drainer.wake
    drainer.start()
    return drainer
