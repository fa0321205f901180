"""The search page: it asks the search interface, never the engine (the API has its own).

The page is drawn on every search, so what it names (themes, events) comes from the labels
kept in memory (``kb.services.labels``), and its links are built from the request's
parameters read once, not once per link.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlencode

from flask import Blueprint, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import get_locale

from kb import plugins
from kb.hookspecs import ResultLink
from kb.search import facet_names, get_backend
from kb.search.backend import SearchRequest
from kb.services import catalogue, labels
from kb.web.municipality_profile import HEADINGS, LABELS, PROFILE_PARTS, profile_label
from kb.web.practice_words import CHOICE_LABELS, choice_label
from kb.web.search_params import TERM_FACETS, BadParameter, search_request
from kb.web.template_helpers import country_name, language_name

bp = Blueprint("search", __name__)
#: Stands for a slug in the one case URL built per page.
_SLUG = "0-slug-0"


@bp.get("/search")
def page() -> ResponseReturnValue:
    try:
        search = search_request(request.args, facets=facet_names())
    except BadParameter as bad:
        return render_template("search.html", error=bad.message, results=None, **_labels()), 400
    results = get_backend().search(search)
    toggle_url = _toggler()
    if search.page > results.pages:
        # Past the last page (an old link, or cases unpublished since): the last page,
        # under its own URL, rather than an empty "page 99 of 3".
        last = {"page": str(results.pages)} if results.pages > 1 else {}
        return redirect(toggle_url(**last))
    link = plugins.searched(search, results, language=str(get_locale()))
    cases = catalogue.hit_cards([hit.id for hit in results.hits])
    shown = _labels()
    return render_template(
        "search.html",
        error=None,
        results=results,
        cases=cases,
        toggle_url=toggle_url,
        result_url=_result_url(link),
        filter_links=_filter_links(search, toggle_url, shown["facet_label"]),
        **shown,
    )


def _labels() -> dict[str, Any]:
    return {
        "facet_names": facet_names(),
        "plugin_facets": {facet.name: facet for facet in plugins.facets()},
        "facet_label": _facet_labeller(),
    }


#: The values a facet lists among the filters.
FACET_VALUES_SHOWN = 12


class FilterLink(NamedTuple):
    """One value among the filters: what it links to, its name, how many cases it has, and
    whether the search asks for it."""

    url: str
    label: str
    count: int
    active: bool


def _filter_links(
    search: SearchRequest, toggle_url: Callable[..., str], label: Callable[[str, str], str]
) -> Callable[[str, Mapping[str, int]], list[FilterLink]]:
    """``filter_links(name, counts)``: a facet's links as the filters show them, made here
    rather than by the template (a few calls per value instead of a dozen steps, on up to a
    hundred values a page)."""

    def filter_links(name: str, counts: Mapping[str, int]) -> list[FilterLink]:
        asked = search.filters.get(name, ())
        return [
            FilterLink(toggle_url(name, value), label(name, value), count, value in asked)
            for value, count in facet_values(name, counts)[:FACET_VALUES_SHOWN]
        ]

    return filter_links


#: Facets whose values are bands or steps with an order of their own (smallest first, most
#: urban first): listed in that order, where other facets list the most frequent first.
ORDERED_FACETS: dict[str, tuple[str, ...]] = {
    **{part: tuple(map(str, LABELS[part])) for part in PROFILE_PARTS},
    "budget_band": tuple(map(str, CHOICE_LABELS["budget_band"])),
}


def facet_values(name: str, counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """A facet's (value, count) pairs as the filters list them."""
    order = ORDERED_FACETS.get(name)
    if order is None:
        return list(counts.items())
    return sorted(
        counts.items(),
        key=lambda item: (order.index(item[0]) if item[0] in order else len(order), item[0]),
    )


def _facet_labeller() -> Callable[[str, str], str]:
    """A facet value's readable name in the reader's language: a country, a language, a
    theme, an event's title..., or the value itself when it has none."""
    known = labels.current()
    terms = {
        name: known.terms.get(vocabulary.value, {}) for name, vocabulary in TERM_FACETS.items()
    }
    locale = get_locale()
    code = str(locale) if locale else None
    plugin_labels = {f.name: f.value_label for f in plugins.facets() if f.value_label}

    def label(name: str, value: str) -> str:
        if name == "country":
            return country_name(value)
        if name == "language":
            return language_name(value)
        if name in HEADINGS:
            return profile_label(name, value)
        if name in terms and value in terms[name]:
            return terms[name][value].label(code)
        if name == "event":
            return known.event_titles.get(value, value)
        if name in ("practice_status", "budget_band"):
            return choice_label(value, name)
        if name in plugin_labels:
            return plugin_labels[name](value)
        return value

    return label


def _result_url(link: ResultLink | None) -> Callable[[str], str]:
    """A result's link: the case page, or the view a plugin routes result links through.

    Slugs are URL-safe by their pattern, so one URL is built and the others around it.
    """
    if link is None:
        url = url_for("public.case", slug=_SLUG)
    else:
        url = url_for(link.endpoint, **link.values, case=_SLUG)
    head, _, tail = url.partition(_SLUG)
    return lambda slug: f"{head}{slug}{tail}"


def _toggler() -> Callable[..., str]:
    """``toggle_url``: this search with one filter value added or removed (and the page reset
    unless ``page`` is among the changes); an empty change takes a parameter away."""
    base = url_for("search.page")
    # The parameters as a MultiDict keeps them: grouped by name, in order of first use.
    asked: dict[str, list[str]] = {}
    for key, value in request.args.items(multi=True):
        if key != "page":
            asked.setdefault(key, []).append(value)

    encoded: dict[tuple[str, str], str] = {}

    def pair(key: str, value: str) -> str:
        """One parameter as ``urlencode`` writes it, encoded once per page."""
        if (key, value) not in encoded:
            encoded[key, value] = urlencode([(key, value)])
        return encoded[key, value]

    everything = "&".join(pair(key, v) for key, values in asked.items() for v in values)

    def toggle_url(name: str | None = None, value: str | None = None, **changes: str) -> str:
        if name is not None and value is not None and name not in asked and not changes:
            # Most links of the filters: a value of a facet not yet asked for, added last.
            added = pair(name, value)
            return f"{base}?{everything}&{added}" if everything else f"{base}?{added}"
        args = dict(asked)
        if name is not None and value is not None:
            values = args.get(name, [])
            args[name] = [v for v in values if v != value] if value in values else [*values, value]
        for key, new in changes.items():
            if new:
                args[key] = [new]
            else:
                args.pop(key, None)
        query = "&".join(pair(key, v) for key, values in args.items() for v in values)
        return base + (f"?{query}" if query else "")

    return toggle_url
