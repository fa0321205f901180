"""What the server running this app lets it know: how many worker processes serve it, and
the gunicorn application loading it, if any (whose settings say whether it preloads)."""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any


def server_workers() -> int | None:
    """The worker processes of the server that is loading this app; None when unknown.

    Under gunicorn this is its effective ``workers`` setting, whatever set it (``--workers``,
    ``GUNICORN_CMD_ARGS``, a config file or ``WEB_CONCURRENCY``): gunicorn imports the app
    from its application object's ``load()``, with or without ``--preload``, so that object
    is on the call stack while the app is created. Elsewhere ``WEB_CONCURRENCY``, the usual
    way to tell a Python web server how many processes to start, is read when it is set.
    """
    application = loading_gunicorn_application()
    if application is not None:
        return int(application.cfg.workers)
    concurrency = os.environ.get("WEB_CONCURRENCY", "")
    return int(concurrency) if concurrency.isdigit() else None


def loading_gunicorn_application() -> Any | None:
    """The gunicorn application object (``gunicorn.app.base.BaseApplication``) that is
    loading this app, found on the call stack; None outside gunicorn's loading."""
    base = sys.modules.get("gunicorn.app.base")
    if base is None:
        return None
    frame = inspect.currentframe()
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, base.BaseApplication):
            return candidate
        frame = frame.f_back
    return None
