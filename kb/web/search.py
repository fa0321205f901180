"""The search page: it asks the search interface, never the engine (the API has its own)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale
from werkzeug.datastructures import MultiDict

from kb import plugins
from kb.hookspecs import ResultLink
from kb.models import Vocabulary
from kb.search import facet_names, get_backend
from kb.services import catalogue
from kb.web.search_params import BadParameter, search_request

bp = Blueprint("search", __name__)


@bp.get("/search")
def page() -> ResponseReturnValue:
    try:
        search = search_request(request.args, facets=facet_names())
    except BadParameter as bad:
        return render_template("search.html", error=bad.message, results=None, **_labels()), 400
    results = get_backend().search(search)
    if search.page > results.pages:
        # Past the last page (an old link, or cases unpublished since): the last page,
        # under its own URL, rather than an empty "page 99 of 3".
        last = {"page": str(results.pages)} if results.pages > 1 else {}
        return redirect(_toggle_url(**last))
    link = plugins.searched(search, results, language=str(get_locale()))
    cases = {
        case.id: case
        for case in catalogue.published_by_ids([hit.id for hit in results.hits], whole=False)
    }
    return render_template(
        "search.html",
        error=None,
        results=results,
        cases=cases,
        toggle_url=_toggle_url,
        result_url=_result_url(link),
        **_labels(),
    )


def _labels() -> dict[str, Any]:
    """Readable names for facet values: vocabulary terms and event titles."""
    return {
        "facet_names": facet_names(),
        "plugin_facets": {facet.name: facet for facet in plugins.facets()},
        "terms": {
            "theme": {t.key: t for t in catalogue.vocabulary(Vocabulary.THEME)},
            "target_group": {t.key: t for t in catalogue.vocabulary(Vocabulary.TARGET_GROUP)},
        },
        "event_titles": {e.slug: e.title for e in catalogue.events()},
    }


def _result_url(link: ResultLink | None) -> Callable[[str], str]:
    """A result's link: the case page, or the view a plugin routes result links through."""
    if link is None:
        return lambda slug: url_for("public.case", slug=slug)
    return lambda slug: url_for(link.endpoint, **link.values, case=slug)


def _toggle_url(name: str | None = None, value: str | None = None, **changes: str) -> str:
    """This search with one filter value added or removed (and the page reset unless
    ``page`` is among the changes)."""
    args = MultiDict(request.args)
    args.pop("page", None)
    if name is not None and value is not None:
        values = args.getlist(name)
        args.setlist(
            name, [v for v in values if v != value] if value in values else [*values, value]
        )
    for key, new in changes.items():
        if new:
            args[key] = new
        else:  # an empty value takes the parameter away (a filter switched off)
            args.pop(key, None)
    query = urlencode(list(args.items(multi=True)))
    return url_for("search.page") + (f"?{query}" if query else "")
