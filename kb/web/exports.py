"""Downloads in the formats plugins add (``export_formats``): one case, or a search's results."""

from __future__ import annotations

from dataclasses import replace

from flask import Blueprint, Flask, Response, abort, request
from flask.typing import ResponseReturnValue

from kb import plugins
from kb.hookspecs import ExportFormat
from kb.models import Case
from kb.search import facet_names
from kb.services import catalogue
from kb.web.search_params import BadParameter, search_request

bp = Blueprint("exports", __name__)

#: A search export holds at most this many cases (the best matches).
MAX_EXPORTED = 1000


def _format(key: str) -> ExportFormat:
    export = plugins.export_formats().get(key)
    if export is None:
        abort(404)
    return export


def _download(export: ExportFormat, cases: list[Case], name: str) -> Response:
    response = Response(export.render(cases), mimetype=export.media_type)
    disposition = "inline" if export.inline else "attachment"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}.{export.extension}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/cases/<slug>/export/<key>")
def case(slug: str, key: str) -> ResponseReturnValue:
    export = _format(key)
    found = catalogue.published_case(slug)
    if found is None:
        abort(404)
    return _download(export, [found], found.slug)


@bp.get("/search/export/<key>")
def results(key: str) -> ResponseReturnValue:
    export = _format(key)
    try:
        asked = search_request(request.args, facets=facet_names())
    except BadParameter as bad:
        abort(400, description=bad.message)
    cases, _total = catalogue.found_cases(replace(asked, page=1, per_page=MAX_EXPORTED))
    return _download(export, cases, "cases")


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["export_formats"] = plugins.export_formats
