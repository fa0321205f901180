"""The web layer: blueprints, error pages, request guards and template helpers."""

from __future__ import annotations

from flask import Flask

from kb.web import (
    api,
    auth,
    contact,
    errors,
    exports,
    freshness,
    input_guard,
    manage,
    menus,
    page_sections,
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
    menus.init_app(app)
    page_sections.init_app(app)
    app.register_blueprint(public.bp)
    app.register_blueprint(search.bp)
    auth.init_app(app)
    contact.init_app(app)
    submission.init_app(app)
    review.init_app(app)
    freshness.init_app(app)
    manage.init_app(app)
    exports.init_app(app)
    api.init_app(app)
