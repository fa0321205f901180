"""The read side of the API: published content only, for anyone, with CORS."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import TypeVar

from flask import Blueprint, Response, abort, current_app, request
from flask.typing import ResponseReturnValue

from kb.i18n import _
from kb.models import Vocabulary
from kb.search import facet_names, get_backend
from kb.search.backend import SearchRequest
from kb.services import catalogue, contacts, submissions, tokens
from kb.services.exchange.exporter import export_document
from kb.services.exchange.tabular import cases_csv
from kb.web.api import schemas, serialise
from kb.web.api.http import add_cors, conditional, error_response, json_response, page_links
from kb.web.api.spec import Api, Param
from kb.web.search_params import BadParameter, param_schema, search_request, value_schema
from kb.web.urls import as_id

T = TypeVar("T")
bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.after_request(add_cors)
api = Api(bp)
PEOPLE_PER_PAGE = 50
#: A page size that holds every match (the open-data CSV has them all).
ALL = 10**9


class _Refused(Exception):
    def __init__(self, bad: BadParameter) -> None:
        self.bad = bad


def _page_params() -> list[Param]:
    return [
        Param("page", param_schema("page"), "Page number."),
        Param("per_page", param_schema("per_page"), "Items per page (default 20)."),
    ]


def _search_params() -> list[Param]:
    """The search page's parameters; the facets include those the enabled plugins add."""
    facets = [
        Param(
            name,
            {"type": "array", "items": value_schema(name)},
            f"Only cases with this {name} (repeat for several: any of them).",
        )
        for name in facet_names()
    ]
    return [
        Param("q", param_schema("q"), "Search words, in any Nordic language."),
        Param(
            "sort",
            param_schema("sort"),
            "Order of the results: `confirmed` puts the most recently confirmed first.",
        ),
        Param(
            "confirmed",
            param_schema("confirmed"),
            "`recent`: only cases confirmed as still accurate in the last two years.",
        ),
        *_page_params(),
        *facets,
    ]


def _search(**defaults: object) -> SearchRequest:
    try:
        return search_request(request.args, facets=facet_names(), strict=True, **defaults)
    except BadParameter as bad:
        raise _Refused(bad) from None


@bp.errorhandler(_Refused)
def _refused(refused: _Refused) -> Response:
    return error_response(400, refused.bad.message, {"parameter": refused.bad.name})


def _found(item: T | None) -> T:
    if item is None:
        abort(404, description=_("There is no such item, or it is not public."))
    return item


@api.get(
    "/cases",
    summary="Published cases, filtered like the search page",
    response=schemas.CaseList,
    params=_search_params,
    errors=(400,),
    paginated=True,
)
def cases() -> ResponseReturnValue:
    """Newest first, or by relevance when there are search words (`q`)."""
    asked = _listing()
    items, total = catalogue.found_cases(asked)
    body = schemas.CaseList(
        items=[serialise.case(c) for c in items],
        page=asked.page,
        per_page=asked.per_page,
        total=total,
    )
    return json_response(body, page_links(asked.page, asked.per_page, total))


def _listing() -> SearchRequest:
    """The asked-for cases: by relevance when there are search words, else newest first."""
    asked = _search()
    if not asked.q and "sort" not in request.args:
        asked = replace(asked, sort="newest")
    return asked


@api.get(
    "/cases/<key>",
    summary="One published case, by id or slug",
    response=schemas.Case,
    errors=(404,),
)
def case(key: str) -> ResponseReturnValue:
    """With its sessions, key figures, materials, and contacts (details only with consent).
    With a token, also the unpublished cases its account may change."""
    number = as_id(key)
    if number is not None:
        found = next(iter(catalogue.published_by_ids([number])), None)
    else:
        found = catalogue.published_case(key)
    author = tokens.authenticate_header(request.headers.get("Authorization"))
    if found is None and number is not None and author is not None:
        candidate = catalogue.any_case(number)
        found = candidate if candidate and submissions.may_edit(author, candidate) else None
    response = json_response(serialise.case(_found(found)))
    response.vary.add("Authorization")
    return response


@api.get(
    "/cases.csv",
    summary="Published cases as CSV (open data)",
    response=None,
    media_type="text/csv",
    params=lambda: [p for p in _search_params() if p.name not in ("page", "per_page")],
    errors=(400,),
)
def cases_table() -> ResponseReturnValue:
    """Every matching case (or all of them), one row each; safe to open in spreadsheets."""
    every, _total = catalogue.found_cases(replace(_listing(), page=1, per_page=ALL))
    rows = cases_csv(every)
    disposition = {"Content-Disposition": 'attachment; filename="cases.csv"'}
    return conditional(rows, "text/csv", disposition)


@api.get(
    "/export.json",
    summary="Everything public in the exchange format (as `kb export --public`)",
    response=schemas.Dump,
)
def dump() -> ResponseReturnValue:
    """Published cases, events with their programmes, organisations; contact details only with
    consent. The file `kb import` reads."""
    document = export_document(public=True)
    return json_response(schemas.Dump.model_validate(document))


@api.get("/events", summary="Every event, newest first", response=schemas.EventList)
def events() -> ResponseReturnValue:
    found = [_found(catalogue.event(e.slug)) for e in catalogue.events()]
    return json_response(schemas.EventList(items=[serialise.event(e) for e in found]))


@api.get(
    "/events/<slug>", summary="One event with its programme", response=schemas.Event, errors=(404,)
)
def event(slug: str) -> ResponseReturnValue:
    return json_response(serialise.event(_found(catalogue.event(slug))))


@api.get(
    "/events/<event_slug>/sessions/<slug>",
    summary="One session with its speakers and follow-up material",
    response=schemas.SessionOut,
    errors=(404,),
)
def session(event_slug: str, slug: str) -> ResponseReturnValue:
    return json_response(serialise.session(_found(catalogue.session(event_slug, slug))))


@api.get(
    "/people",
    summary="People with a public page: speakers, moderators and contacts",
    response=schemas.PersonList,
    params=_page_params,
    errors=(400,),
    paginated=True,
)
def people() -> ResponseReturnValue:
    """E-mail and phone only of those who consented to their publication."""
    asked = _search(per_page=PEOPLE_PER_PAGE)
    page = catalogue.people(asked.page, asked.per_page)
    body = schemas.PersonList(
        items=[serialise.contact(p) for p in page.items],
        page=page.page,
        per_page=page.per_page,
        total=page.total,
    )
    return json_response(body, page_links(page.page, page.per_page, page.total))


@api.get("/people/<slug>", summary="One person", response=schemas.Contact, errors=(404,))
def person(slug: str) -> ResponseReturnValue:
    return json_response(serialise.contact(_found(catalogue.person(slug))))


@api.get("/organisations", summary="Every organisation", response=schemas.OrganisationList)
def organisations() -> ResponseReturnValue:
    items = [serialise.organisation(o) for o in contacts.organisations()]
    return json_response(schemas.OrganisationList(items=items))


@api.get(
    "/organisations/<slug>",
    summary="One organisation",
    response=schemas.Organisation,
    errors=(404,),
)
def organisation(slug: str) -> ResponseReturnValue:
    return json_response(serialise.organisation(_found(catalogue.organisation(slug))))


@api.get("/vocabularies", summary="The themes and target groups", response=schemas.Vocabularies)
def vocabularies() -> ResponseReturnValue:
    """Each term's key (used in filters and records) and its name in every language."""

    def terms(kind: Vocabulary) -> list[schemas.Term]:
        return [schemas.Term(key=t.key, labels=t.labels or {}) for t in catalogue.vocabulary(kind)]

    body = schemas.Vocabularies(
        themes=terms(Vocabulary.THEME), target_groups=terms(Vocabulary.TARGET_GROUP)
    )
    return json_response(body)


@api.get(
    "/search",
    summary="Search published cases",
    response=schemas.SearchResults,
    params=_search_params,
    errors=(400,),
    paginated=True,
)
def search() -> ResponseReturnValue:
    """Matches in any Nordic language, with highlighted snippets and facet counts."""
    asked = _search()
    found = get_backend().search(asked)
    body = schemas.SearchResults(
        query=asked.q,
        total=found.total,
        page=asked.page,
        per_page=asked.per_page,
        results=[
            schemas.SearchHit(
                id=hit.id,
                ref=hit.ref,
                slug=hit.slug,
                url=serialise.case_url(hit.slug),
                title=hit.title,
                summary=hit.summary,
                snippet=hit.snippet_html,
                language=hit.language,
                country=hit.country,
                score=hit.score,
                direct=hit.direct,
                partial=hit.partial,
            )
            for hit in found.hits
        ],
        facets=found.facets,
        suggestion=found.suggestion,
    )
    return json_response(body, page_links(asked.page, asked.per_page, found.total))


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    """This API's OpenAPI 3.1 description, with this site's facets."""
    document = api.document(
        title="Nordic Good Practice KB API",
        version="1",
        server=current_app.config["BASE_URL"].rstrip("/") + "/api/v1",
    )
    return conditional(json.dumps(document, ensure_ascii=False), "application/json")
