"""Search parameters from a URL, checked: a bad value is a clear 400, never a 500."""

from __future__ import annotations

import re

from werkzeug.datastructures import MultiDict

from kb.i18n import _
from kb.models import Vocabulary
from kb.models.choices import CONTENT_LANGUAGES, COUNTRIES
from kb.search.backend import FACETS, SORTS, SearchRequest
from kb.services.vocabulary import terms_by_key

MAX_Q = 5000
MAX_PAGE = 1000
MAX_PER_PAGE = 100
KEY_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
YEAR_PATTERN = r"^(?:19[0-9]{2}|20[0-9]{2}|2100)$"
MAX_KEY = 120
#: Facets whose values are the keys of a vocabulary: an unknown key is an error, not 0 hits.
TERM_FACETS = {"theme": Vocabulary.THEME, "target_group": Vocabulary.TARGET_GROUP}


class BadParameter(ValueError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message


def value_schema(name: str) -> dict[str, object]:
    """What a filter accepts, as JSON Schema: the one rule for checking and describing it."""
    if name == "country":
        return {"type": "string", "enum": list(COUNTRIES)}
    if name == "language":
        return {"type": "string", "enum": list(CONTENT_LANGUAGES)}
    if name == "year":
        return {"type": "string", "pattern": YEAR_PATTERN}
    if name in TERM_FACETS:
        return {"type": "string", "enum": sorted(terms_by_key(TERM_FACETS[name]))}
    return {"type": "string", "pattern": KEY_PATTERN, "maxLength": MAX_KEY}


def _valid(name: str, value: str) -> bool:
    schema = value_schema(name)
    if "enum" in schema:
        return value in schema["enum"]  # type: ignore[operator]
    return len(value) <= MAX_KEY and re.fullmatch(str(schema["pattern"]), value) is not None


def _needs_value(name: str) -> BadParameter:
    return BadParameter(name, _("%(name)s needs a value.", name=name))


def _int(
    args: MultiDict[str, str], name: str, default: int, low: int, high: int, *, strict: bool
) -> int:
    raw = args.get(name)
    if raw is None or (not strict and not raw.strip()):
        return default
    raw = raw if strict else raw.strip()
    if not re.fullmatch(r"[0-9]{1,9}", raw) or not low <= int(raw) <= high:
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
    args: MultiDict[str, str],
    *,
    facets: tuple[str, ...] = FACETS,
    per_page: int = 20,
    strict: bool = False,
) -> SearchRequest:
    """The search these URL parameters ask for; ``facets`` are the filters accepted.

    ``strict`` (the API) refuses the empty and padded values the search page forgives.
    """
    q = args.get("q", "")
    if len(q) > MAX_Q:
        raise BadParameter(
            "q", _("The search text is too long (at most %(n)d characters).", n=MAX_Q)
        )
    filters: dict[str, tuple[str, ...]] = {}
    for name in facets:
        given = [v if strict else v.strip() for v in args.getlist(name)]
        if strict and not all(given):
            raise _needs_value(name)
        values = tuple(dict.fromkeys(v for v in given if v))
        for value in values:
            if not _valid(name, value):
                raise BadParameter(
                    name,
                    _("%(value)s is not a valid value for %(name)s.", value=value[:60], name=name),
                )
        if values:
            filters[name] = values
    sort = args.get("sort")
    if strict and sort == "":
        raise _needs_value("sort")
    sort = sort or "relevance"
    if sort not in SORTS:
        raise BadParameter("sort", _("sort must be one of: %(choices)s.", choices=", ".join(SORTS)))
    return SearchRequest(
        q=q,
        filters=filters,
        sort=sort,
        page=_int(args, "page", 1, 1, MAX_PAGE, strict=strict),
        per_page=_int(args, "per_page", per_page, 1, MAX_PER_PAGE, strict=strict),
        facets=facets,
    )
