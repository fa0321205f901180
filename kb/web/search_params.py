"""Search parameters from a URL, checked: a bad value is a clear 400, never a 500.

``SearchParams`` is the one rule for what a search may ask: the search page, the API and
the exports check with it, and the API's OpenAPI description is generated from it.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator
from pydantic import ValidationError as _Invalid
from pydantic_core import ErrorDetails, PydanticCustomError
from werkzeug.datastructures import MultiDict

from kb.i18n import _
from kb.models import PopulationBand, UrbanRural, Vocabulary
from kb.models.choices import CONTENT_LANGUAGES, COUNTRIES, BudgetBand, PracticeStatus
from kb.search.backend import FACETS, SORTS, SearchRequest
from kb.services import freshness, labels
from kb.web.input_guard import NO_NUL_PATTERN

MAX_Q = 5000
MAX_PAGE = 1000
MAX_PER_PAGE = 100
KEY_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
YEAR_PATTERN = r"^(?:19[0-9]{2}|20[0-9]{2}|2100)$"
MAX_KEY = 120
#: The values of the freshness filter: cases confirmed within ``STALE_AFTER_YEARS``.
CONFIRMED_CHOICES = ("recent",)
#: Facets whose values are the keys of a vocabulary: an unknown key is an error, not 0 hits.
TERM_FACETS = {"theme": Vocabulary.THEME, "target_group": Vocabulary.TARGET_GROUP}
#: Facets whose values are a closed list: the practice template's and the municipality
#: profile's.
CHOICE_FACETS = {
    "practice_status": PracticeStatus,
    "budget_band": BudgetBand,
    "population_band": PopulationBand,
    "urban_rural": UrbanRural,
}


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
        return {"type": "string", "enum": sorted(labels.terms(TERM_FACETS[name]))}
    if name in CHOICE_FACETS:
        return {"type": "string", "enum": [choice.value for choice in CHOICE_FACETS[name]]}
    return {"type": "string", "pattern": KEY_PATTERN, "maxLength": MAX_KEY}


def _valid(name: str, value: str) -> bool:
    schema = value_schema(name)
    if "enum" in schema:
        return value in schema["enum"]  # type: ignore[operator]
    return len(value) <= MAX_KEY and re.fullmatch(str(schema["pattern"]), value) is not None


def _digits(value: Any) -> Any:
    """A page number is written in digits only (no sign, no "1e3", no "1_000")."""
    if isinstance(value, str) and not re.fullmatch(r"[0-9]{1,9}", value):
        raise PydanticCustomError("whole_number", "not a whole number")
    return value


WholeNumber = Annotated[int, BeforeValidator(_digits)]


class SearchParams(BaseModel):
    """A search as its URL parameters ask for it; ``filters`` maps a facet to its values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    q: str = Field("", max_length=MAX_Q, json_schema_extra={"pattern": NO_NUL_PATTERN})
    filters: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    sort: Literal[SORTS] = "relevance"  # type: ignore[valid-type]
    #: ``recent``: only cases confirmed as still accurate within the last two years.
    confirmed: Literal[CONFIRMED_CHOICES] | None = None  # type: ignore[valid-type]
    page: WholeNumber = Field(1, ge=1, le=MAX_PAGE)
    per_page: WholeNumber = Field(20, ge=1, le=MAX_PER_PAGE)

    @field_validator("filters")
    @classmethod
    def _known_values(cls, filters: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        """Each value of a facet is one that facet can hold (a known theme, country...)."""
        for name, values in filters.items():
            for value in values:
                if not _valid(name, value):
                    raise PydanticCustomError(
                        "facet_value", "not a value of this facet", {"name": name, "value": value}
                    )
        return filters


def param_schema(name: str) -> dict[str, Any]:
    """A parameter's JSON Schema, for the API's description: as ``SearchParams`` checks it."""
    schema = dict(SearchParams.model_json_schema()["properties"][name])
    if "anyOf" in schema:  # an optional choice: described by its values alone
        schema = next(s for s in schema["anyOf"] if s.get("type") != "null")
    if "const" in schema:
        schema["enum"] = [schema.pop("const")]
    for described_elsewhere in ("title", "default"):
        schema.pop(described_elsewhere, None)
    if "enum" in schema:
        schema["type"] = "string"
    return schema


def _bad(problem: ErrorDetails) -> BadParameter:
    """The first thing wrong, said in the user's language and naming the parameter."""
    name = str(problem["loc"][0])
    if name == "q":
        return BadParameter(
            "q", _("The search text is too long (at most %(n)d characters).", n=MAX_Q)
        )
    if name == "filters":
        facet, value = problem["ctx"]["name"], problem["ctx"]["value"]
        return BadParameter(
            facet, _("%(value)s is not a valid value for %(name)s.", value=value[:60], name=facet)
        )
    if name == "sort":
        return BadParameter(
            "sort", _("sort must be one of: %(choices)s.", choices=", ".join(SORTS))
        )
    if name == "confirmed":
        return BadParameter(
            "confirmed",
            _("confirmed must be one of: %(choices)s.", choices=", ".join(CONFIRMED_CHOICES)),
        )
    schema = param_schema(name)
    return BadParameter(
        name,
        _(
            "%(name)s must be a whole number from %(low)d to %(high)d.",
            name=name,
            low=schema["minimum"],
            high=schema["maximum"],
        ),
    )


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
    given: dict[str, Any] = {"q": args.get("q", ""), "per_page": per_page}
    sort = args.get("sort")
    if strict and sort == "":
        raise BadParameter("sort", _("%(name)s needs a value.", name="sort"))
    if sort:
        given["sort"] = sort
    confirmed = args.get("confirmed")
    if strict and confirmed == "":
        raise BadParameter("confirmed", _("%(name)s needs a value.", name="confirmed"))
    if confirmed if strict else (confirmed or "").strip():
        given["confirmed"] = confirmed if strict else (confirmed or "").strip()
    for name in ("page", "per_page"):
        raw = args.get(name)
        if raw is not None and (strict or raw.strip()):
            given[name] = raw if strict else raw.strip()
    filters: dict[str, tuple[str, ...]] = {}
    for name in facets:
        values = [v if strict else v.strip() for v in args.getlist(name)]
        if strict and not all(values):
            raise BadParameter(name, _("%(name)s needs a value.", name=name))
        if any(values):
            filters[name] = tuple(dict.fromkeys(v for v in values if v))
    given["filters"] = filters
    try:
        params = SearchParams.model_validate(given)
    except _Invalid as invalid:
        raise _bad(invalid.errors()[0]) from None
    return SearchRequest(
        q=params.q,
        filters=dict(params.filters),
        sort=params.sort,
        page=params.page,
        per_page=params.per_page,
        facets=facets,
        confirmed_since=freshness.stale_since() if params.confirmed else None,
    )
