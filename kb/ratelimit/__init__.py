"""Rate limits: Flask-Limiter, counting in a storage that every worker process shares.

The default storage is a SQLite file in the instance folder (``kb.ratelimit.sqlite``);
``redis://`` is the choice when several machines serve the site. A per-process storage
(``memory://``) with several workers multiplies every limit by the number of workers, so
outside debug and testing the app refuses to start with it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from limits.storage import MemoryStorage

from kb.config import ConfigurationError
from kb.extensions import limiter
from kb.ratelimit.sqlite import SQLiteStorage, database_path
from kb.server import server_workers

__all__ = ["SQLiteStorage", "init_app"]

log = logging.getLogger(__name__)

URI_KEY = "RATELIMIT_STORAGE_URI"


def init_app(app: Flask) -> None:
    """Bind the limiter to ``app``, its SQLite file (if any) in the instance folder."""
    _anchor_in_instance(app)
    limiter.init_app(app)
    _refuse_per_process_counts(app)


def _anchor_in_instance(app: Flask) -> None:
    uri = str(app.config[URI_KEY])
    if not uri.startswith("sqlite://"):
        return
    path = database_path(uri)
    if not path.is_absolute():
        app.config[URI_KEY] = f"sqlite:///{Path(app.instance_path) / path}"


def _refuse_per_process_counts(app: Flask) -> None:
    if not limiter.enabled or not isinstance(limiter.storage, MemoryStorage):
        return
    workers = server_workers()
    if workers == 1:
        return
    counted = f"{URI_KEY} is {app.config[URI_KEY]!r}, which counts in each process"
    remedy = (
        "Leave KB_RATELIMIT_STORAGE_URI unset (a SQLite file in the instance folder, shared "
        "by the workers) or set it to redis://host:6379."
    )
    if workers is None:
        if not (app.debug or app.testing):
            log.warning(
                "%s: if the server runs several worker processes, every rate limit is "
                "multiplied by their number. %s",
                counted,
                remedy,
            )
        return
    message = (
        f"{counted}: with {workers} workers every rate limit (logins, API writes) is "
        f"{workers} times what it should be. {remedy}"
    )
    if app.debug or app.testing:
        log.warning(message)
        return
    raise ConfigurationError(message)
