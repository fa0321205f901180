"""The addresses of the core's public pages, named by what they show (for ``kb.toolkit``).

Plugins link to a case, an event or a download through these functions instead of naming
an endpoint such as ``"public.case"``: when a core endpoint is renamed, it is renamed here
too, and a plugin keeps working. ``external=True`` gives an absolute URL on the configured
``BASE_URL`` (never the request's Host header), also outside a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask import has_request_context, request, url_for
from werkzeug.datastructures import MultiDict

from kb.models import Case, Event, Material, Session
from kb.services.mail import external_url

#: The pages ``current_page()`` tells apart, by endpoint.
PAGES = {
    "public.home": "home",
    "public.cases": "cases",
    "public.case": "case",
    "public.events": "events",
    "public.event": "event",
    "public.session": "session",
    "public.person": "person",
    "public.organisation": "organisation",
    "public.theme": "theme",
    "public.about": "about",
    "search.page": "search",
}

#: A search page's URL parameters: a request's ``args``, or ``{"q": "...", "theme": [...]}``.
SearchParams = Mapping[str, str | Sequence[str]] | MultiDict[str, str]


def _url(endpoint: str, external: bool, **values: Any) -> str:
    return external_url(endpoint, **values) if external else url_for(endpoint, **values)


def home_url(*, external: bool = False) -> str:
    return _url("public.home", external)


def case_url(case: Case, *, external: bool = False) -> str:
    return _url("public.case", external, slug=case.slug)


def event_url(event: Event, *, external: bool = False) -> str:
    return _url("public.event", external, slug=event.slug)


def session_url(session: Session, *, external: bool = False) -> str:
    return _url("public.session", external, event_slug=session.event.slug, slug=session.slug)


def material_url(material: Material, *, external: bool = False) -> str:
    """The download of a material's file, under the name it was uploaded with."""
    filename = material.original_filename or material.stored_name
    return _url("public.material_file", external, material_id=material.id, filename=filename)


def search_url(params: SearchParams | None = None, *, external: bool = False) -> str:
    """The search page with these URL parameters (``{"q": "...", "theme": [...]}``)."""
    return _url("search.page", external, **_values(params))


def case_export_url(case: Case, key: str, *, external: bool = False) -> str:
    """A case downloaded in the export format ``key`` (see ``export_formats()``)."""
    return _url("exports.case", external, slug=case.slug, key=key)


def search_export_url(
    key: str, params: SearchParams | None = None, *, external: bool = False
) -> str:
    """Every case a search finds, downloaded in the export format ``key``; ``params`` are
    the search page's URL parameters (a page number among them is ignored)."""
    values = {name: value for name, value in _values(params).items() if name != "page"}
    return _url("exports.results", external, **values, key=key)


def current_page() -> str | None:
    """Which core page this request shows (``"case"``, ``"theme"``, ``"search"``... as in
    ``PAGES``), or None for a plugin's page, an editor's page or outside a request."""
    return PAGES.get(request.endpoint or "") if has_request_context() else None


def _values(params: SearchParams | None) -> dict[str, Any]:
    if isinstance(params, MultiDict):
        return params.to_dict(flat=False)
    return dict(params or {})
