"""The JSON API, version 1, at ``/api/v1``: described by ``/api/v1/openapi.json``."""

from __future__ import annotations

from flask import Flask

from kb.web.api import read, write  # noqa: F401 - write adds its routes to read's blueprint
from kb.web.api.spec import PREFIX

__all__ = ["PREFIX", "init_app"]


def init_app(app: Flask) -> None:
    app.register_blueprint(read.bp)
