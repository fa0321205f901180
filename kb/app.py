"""The application factory: config -> plugins -> extensions -> blueprints -> plugins' hooks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from kb import database, i18n, models, plugins, ratelimit, schema, search, web
from kb.config import load_config
from kb.extensions import csrf
from kb.services import case_events, indexing
from kb.web import urls

__all__ = ["create_app", "models"]

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATE_DIR = PACKAGE_DIR.parent / "templates"
MIGRATIONS_DIR = schema.MIGRATIONS_DIR


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build a configured app.

    ``config`` overrides everything else; ``INSTANCE_PATH`` in it (or ``KB_INSTANCE_PATH``
    in the environment) moves all state: database, search index and uploaded files.
    """
    config = dict(config or {})
    instance_path = config.pop("INSTANCE_PATH", None) or os.environ.get("KB_INSTANCE_PATH")
    app = Flask(
        "kb",
        instance_path=str(Path(instance_path).resolve()) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(TEMPLATE_DIR),
        static_folder=str(PACKAGE_DIR / "static"),
    )
    app.jinja_env.add_extension("jinja2.ext.do")
    # Before any route is added (plugins add some first): bounded <int:...> everywhere.
    urls.init_app(app)
    load_config(app, config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)

    # First, because translations, search facets and templates include what plugins add.
    plugins.init_app(app)
    database.init_app(app)
    schema.init_app(app)  # the core's migrations and the plugins' branches
    i18n.init_app(app)
    extras = plugins.search_extras(app)
    backend = search.init_app(app, extras.facets)
    indexing.init_app(app, backend, extras)  # after each commit, the changes into the backend
    web.init_app(app)
    # After the web layer's request guard, so malformed input is refused before CSRF checks.
    csrf.init_app(app)
    ratelimit.init_app(app)
    case_events.init_app(app)
    # Last: plugins' blueprints, commands and Jinja additions, then their startup hook.
    plugins.wire(app)
    return app
