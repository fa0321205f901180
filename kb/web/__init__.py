"""The web layer: blueprints, error pages, request guards and template helpers."""

from __future__ import annotations

from flask import Flask

from kb.web import (
    auth,
    editor_menu,
    errors,
    input_guard,
    manage,
    public,
    review,
    search,
    security_headers,
    submission,
    template_helpers,
)


def init_app(app: Flask) -> None:
    input_guard.init_app(app)
    errors.init_app(app)
    security_headers.init_app(app)
    template_helpers.init_app(app)
    editor_menu.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(search.bp)
    auth.init_app(app)
    submission.init_app(app)
    review.init_app(app)
    manage.init_app(app)
