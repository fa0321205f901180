"""Configuration: defaults that need no server, overridable from the environment.

Order of precedence (last wins): the defaults below, ``<instance>/config.py``,
``KB_*`` environment variables, and the mapping given to ``create_app``.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)

ENV_PREFIX = "KB"

#: Keys too well known to protect anything; refused outside debug and testing.
WEAK_SECRET_KEYS = frozenset(
    {"dev", "development", "secret", "changeme", "change-me", "password", "test", "kb"}
)
MIN_SECRET_KEY_LENGTH = 32


class ConfigurationError(RuntimeError):
    """The configuration cannot run safely; the message says what to change."""


DEFAULTS: dict[str, Any] = {
    # A relative SQLite path lives in the instance folder (Flask-SQLAlchemy resolves it there).
    "SQLALCHEMY_DATABASE_URI": "sqlite:///kb.sqlite3",
    "SQLITE_BUSY_TIMEOUT_MS": 15_000,
    # Whole request bodies; a single uploaded file has its own, smaller limit.
    "MAX_CONTENT_LENGTH": 64 * 1024 * 1024,
    "MATERIAL_MAX_BYTES": 50 * 1024 * 1024,
    # The case form reads bodies up to this size, keeping only the first MATERIAL_MAX_BYTES
    # of a file, so a too-large file is answered with the form and the user's text rather
    # than a bare error page (kb/web/uploads.py).
    "FORM_MAX_CONTENT_LENGTH": 512 * 1024 * 1024,
    # A file chosen on the case form is stored at once and held for its uploader until the
    # case is saved, so Preview and form errors never lose it; unsaved, it is deleted after
    # this many hours (docs/editorial.md).
    "PENDING_UPLOAD_HOURS": 24,
    # ...and each user has at most this many held at once (the oldest goes first).
    "PENDING_UPLOADS_PER_USER": 5,
    "SEARCH_INDEX_DIR": "search-index",
    # Processes indexing at once in `kb reindex` (2 halves the time on two cores).
    "SEARCH_REBUILD_PROCS": 2,
    # "whoosh" (an index in SEARCH_INDEX_DIR) or "postgres" (full-text search in the
    # PostgreSQL database itself; several app machines can share it).
    "SEARCH_BACKEND": "whoosh",
    # With "postgres": an optional read replica for searches (writes go to the primary).
    "SEARCH_READ_DATABASE_URI": None,
    # Indexing after a commit in a web request: at most this many seconds (waiting for the
    # index lock included) and cases; the rest is indexed by the next drain, so a busy index
    # never makes a saved change answer late or with an error (docs/search.md).
    "SEARCH_SYNC_BUDGET_SECONDS": 2.0,
    "SEARCH_SYNC_REQUEST_CASES": 100,
    "UPLOAD_DIR": "uploads",
    # The text of an uploaded file is read once, at upload, in a child process with these
    # limits (docs/search.md, "Text of attached files"); past one, the file is kept and
    # marked as not searchable. The upload waits at most EXTRACT_TIMEOUT_SECONDS for it.
    "EXTRACT_CPU_SECONDS": 5,
    "EXTRACT_MEMORY_MB": 512,
    "EXTRACT_TIMEOUT_SECONDS": 10,
    "EXTRACT_MAX_CHARS": 200_000,
    "BABEL_DEFAULT_LOCALE": "en",
    "BABEL_DEFAULT_TIMEZONE": "Europe/Copenhagen",
    "SESSION_COOKIE_HTTPONLY": True,
    # Links in e-mails start with this; required outside debug and testing.
    "BASE_URL": None,
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USE_TLS": False,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_SENDER": "Nordic Good Practice KB <noreply@localhost>",
    # Where rate limits count: a SQLite file in the instance folder, shared by every worker
    # on this machine (kb/ratelimit); redis://host:6379 when several machines serve the site.
    # memory:// counts per process and is refused with several workers outside debug.
    "RATELIMIT_STORAGE_URI": "sqlite:///ratelimits.sqlite3",
    "RATELIMIT_HEADERS_ENABLED": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    # Origins whose web pages may read the JSON API (comma-separated; "*" for any).
    "API_CORS_ORIGINS": "*",
    # Messages through the contact form of a case or person page (Flask-Limiter notation,
    # counted in the rate-limit storage): per visitor's address, and per recipient's
    # e-mail address (a contact, each editor, and the visitor's own for a copy).
    "CONTACT_LIMIT_PER_VISITOR": "5 per minute;30 per day",
    "CONTACT_LIMIT_PER_RECIPIENT": "20 per day",
    # Writes through the JSON API, per token (Flask-Limiter notation).
    "API_WRITE_LIMIT": "60 per minute;1000 per hour",
    # Plugins to enable, comma-separated; unset means kb.plugins.DEFAULT_PLUGINS, and the
    # word "default" in the list stands for those (KB_PLUGINS=default,oai_pmh).
    "PLUGINS": None,
    # Write every hook call with its arguments and results to stderr (for plugin authors).
    "PLUGINS_TRACE": False,
}


def load_config(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` from defaults, instance file, environment and overrides."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env(ENV_PREFIX)
    if overrides:
        app.config.from_mapping(overrides)
    _resolve_state_paths(app)
    _ensure_secret_key(app)
    _ensure_base_url(app)


def _resolve_state_paths(app: Flask) -> None:
    """Anchor every piece of state in the instance folder unless given as absolute."""
    for key in ("SEARCH_INDEX_DIR", "UPLOAD_DIR"):
        path = Path(app.config[key])
        if not path.is_absolute():
            path = Path(app.instance_path) / path
        app.config[key] = str(path)


def _ensure_base_url(app: Flask) -> None:
    if app.config.get("BASE_URL"):
        return
    if app.testing:
        app.config["BASE_URL"] = "http://localhost"
    elif app.debug:
        app.config["BASE_URL"] = "http://127.0.0.1:5000"
    else:
        raise ConfigurationError(
            "BASE_URL is not set. Set KB_BASE_URL to the address users reach the site at, "
            "e.g. KB_BASE_URL=https://kb.example.org (links in e-mails are built from it)."
        )


#: In debug mode without a configured key, the key kept here (in the instance folder).
DEBUG_KEY_FILE = "secret_key"


def _debug_secret_key(instance: Path) -> str:
    """One key for every process of a local trial (server and CLI alike), made on first use,
    so that links printed by `kb invite` and `kb users create` work in the running server."""
    path = instance / DEBUG_KEY_FILE
    try:
        key = path.read_text().strip()
    except FileNotFoundError:
        key = ""
    if key:
        return key
    instance.mkdir(parents=True, exist_ok=True)
    candidate = instance / f".{DEBUG_KEY_FILE}-{os.getpid()}"
    fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    try:
        # A hard link never replaces: when two processes start at once, the first key wins.
        os.link(candidate, path)
    except FileExistsError:
        pass
    finally:
        candidate.unlink()
    log.warning("No SECRET_KEY configured; debug mode uses the one kept in %s.", path)
    return path.read_text().strip()


def _ensure_secret_key(app: Flask) -> None:
    key = app.config.get("SECRET_KEY")
    if app.testing and not key:
        app.config["SECRET_KEY"] = secrets.token_urlsafe(32)
        return
    if app.debug:
        if not key:
            app.config["SECRET_KEY"] = _debug_secret_key(Path(app.instance_path))
        return
    if not key:
        raise ConfigurationError(
            "SECRET_KEY is not set. Set the environment variable KB_SECRET_KEY to a long random "
            "value, e.g. KB_SECRET_KEY=\"$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))')\"."
        )
    if str(key).lower() in WEAK_SECRET_KEYS or len(str(key)) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"SECRET_KEY is unsafe: use a random value of at least {MIN_SECRET_KEY_LENGTH} "
            "characters in KB_SECRET_KEY."
        )
