"""Search parameters from a URL, checked: a bad value is a clear 400, never a 500."""

from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

from kb.i18n import _
from kb.models.choices import CONTENT_LANGUAGES, COUNTRIES
from kb.search.backend import FACETS, SORTS, SearchRequest

MAX_Q = 5000
MAX_PAGE = 1000
MAX_PER_PAGE = 100
_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


class BadParameter(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def _valid(name: str, value: str) -> bool:
    if name == "country":
        return value in COUNTRIES
    if name == "language":
        return value in CONTENT_LANGUAGES
    if name == "year":
        return value.isdigit() and 1900 <= int(value) <= 2100
    return bool(_KEY.match(value)) and len(value) <= 120


def _int(args: MultiDict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not low <= int(raw) <= high:
        raise BadParameter(
            name,
            _(
                "%(name)s must be a whole number from %(low)d to %(high)d.",
                name=name,
                low=low,
                high=high,
            ),
        )
    return int(raw)


def search_request(
    args: MultiDict[str, str], *, facets: tuple[str, ...] = FACETS, per_page: int = 20
) -> SearchRequest:
    """The search these URL parameters ask for; ``facets`` are the filters accepted."""
    q = args.get("q", "")
    if len(q) > MAX_Q:
        raise BadParameter(
            "q", _("The search text is too long (at most %(n)d characters).", n=MAX_Q)
        )
    filters: dict[str, tuple[str, ...]] = {}
    for name in facets:
        values = tuple(dict.fromkeys(v.strip() for v in args.getlist(name) if v.strip()))
        for value in values:
            if not _valid(name, value):
                raise BadParameter(
                    name,
                    _("%(value)s is not a valid value for %(name)s.", value=value[:60], name=name),
                )
        if values:
            filters[name] = values
    sort = args.get("sort", "relevance") or "relevance"
    if sort not in SORTS:
        raise BadParameter("sort", _("sort must be one of: %(choices)s.", choices=", ".join(SORTS)))
    return SearchRequest(
        q=q,
        filters=filters,
        sort=sort,
        page=_int(args, "page", 1, 1, MAX_PAGE),
        per_page=_int(args, "per_page", per_page, 1, MAX_PER_PAGE),
        facets=facets,
    )
