"""The ``/oai`` endpoint: one URL, a verb and its arguments in the query or a POSTed form.

Every answer is an OAI-PMH document with HTTP 200, errors included: harvesters read the
``error`` element, not the status. The request is checked in the order the protocol
implies: the verb (``badVerb``), then the arguments (``badArgument``; for both, the
``request`` element carries no attributes), then a resumption token, then what the
arguments ask for (``cannotDisseminateFormat``, ``idDoesNotExist``, ``noRecordsMatch``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import Blueprint, Response, current_app, request
from werkzeug.datastructures import MultiDict

from kb import toolkit
from kb.toolkit import Case, HarvestFilter, HarvestPosition, Vocabulary, csrf_exempt, is_xml_safe

from . import records, tokens

bp = Blueprint("plugin_oai_pmh", __name__)

_LISTS = (frozenset({"metadataPrefix"}), frozenset(tokens.CARRIED | {"resumptionToken"}))
#: verb -> (required arguments, optional arguments); ``resumptionToken`` is exclusive.
VERBS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset({"resumptionToken"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": _LISTS,
    "ListRecords": _LISTS,
}
#: The two kinds of sets; ``country:SE`` and ``theme:employment`` are inside them.
SET_GROUPS = {"country": "Cases by country", "theme": "Cases by theme"}
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECOND = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
# The patterns of the OAI-PMH schema, so that every echoed argument is valid there too.
_METADATA_PREFIX = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
_SET_SPEC = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(:[A-Za-z0-9\-_.!~*'()]+)*")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")


class OaiError(Exception):
    """An OAI-PMH error condition: ``code`` is the protocol's, ``message`` for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ListRequest:
    """A ListIdentifiers or ListRecords request, first or resumed."""

    verb: str
    arguments: dict[str, str]
    wanted: HarvestFilter
    after: HarvestPosition | None = None
    cursor: int = 0


@bp.route("/oai", methods=["GET", "POST"])
@csrf_exempt
def oai() -> Response:
    """Answer one OAI-PMH request (POST is read-only too, so it needs no CSRF token)."""
    repository = records.Repository.from_config(current_app.config)
    given = request.form if request.method == "POST" else request.args
    # Empty until the verb and arguments pass: badVerb and badArgument answers show only
    # the base URL in their request element, as the protocol asks.
    echo: dict[str, str] = {}
    try:
        verb = _verb(given)
        arguments = _arguments(verb, given)
        echo = {"verb": verb, **arguments}
        body = HANDLERS[verb](repository, arguments)
    except OaiError as problem:
        root = records.response(repository, echo)
        records.error(root, problem.code, problem.message)
    else:
        root = records.response(repository, echo)
        root.append(body)
    return Response(records.serialize(root), content_type="text/xml; charset=utf-8")


def _verb(given: MultiDict[str, str]) -> str:
    verbs = given.getlist("verb")
    if not verbs:
        raise OaiError("badVerb", "The verb argument is missing.")
    if len(verbs) > 1:
        raise OaiError("badVerb", "The verb argument is repeated.")
    if verbs[0] not in VERBS:
        raise OaiError("badVerb", "The value of the verb argument is not a legal OAI-PMH verb.")
    return verbs[0]


def _arguments(verb: str, given: MultiDict[str, str]) -> dict[str, str]:
    """The arguments besides the verb, each allowed, given once and well formed."""
    required, optional = VERBS[verb]
    arguments: dict[str, str] = {}
    for name, values in given.lists():
        if name == "verb":
            continue
        if name not in required | optional:
            raise OaiError("badArgument", f"{verb} does not take the argument {name!r}.")
        if len(values) > 1:
            raise OaiError("badArgument", f"The argument {name!r} is repeated.")
        if not is_xml_safe(values[0]):
            raise OaiError("badArgument", f"The argument {name!r} holds control characters.")
        arguments[name] = values[0]
    if "resumptionToken" in arguments:
        if len(arguments) > 1:
            raise OaiError(
                "badArgument", "resumptionToken cannot be combined with other arguments."
            )
        return arguments
    missing = sorted(required - arguments.keys())
    if missing:
        raise OaiError("badArgument", f"{verb} needs the argument {missing[0]!r}.")
    _check_forms(arguments)
    return arguments


def _check_forms(arguments: Mapping[str, str]) -> None:
    if "metadataPrefix" in arguments and not _METADATA_PREFIX.fullmatch(
        arguments["metadataPrefix"]
    ):
        raise OaiError("badArgument", "The metadataPrefix is not well formed.")
    if "set" in arguments and not _SET_SPEC.fullmatch(arguments["set"]):
        raise OaiError("badArgument", "The set is not a well-formed setSpec.")
    if "identifier" in arguments and not _URI.fullmatch(arguments["identifier"]):
        raise OaiError("badArgument", "The identifier is not a URI.")
    _period(arguments)


def _moment(name: str, value: str) -> tuple[datetime, timedelta]:
    """The moment a date or a UTC time names, and its granularity as a step."""
    for pattern, form, step in (
        (_DAY, "%Y-%m-%d", timedelta(days=1)),
        (_SECOND, "%Y-%m-%dT%H:%M:%SZ", timedelta(seconds=1)),
    ):
        if pattern.fullmatch(value):
            try:
                return datetime.strptime(value, form).replace(tzinfo=UTC), step
            except ValueError:
                break
    raise OaiError(
        "badArgument", f"{name} must be a date (YYYY-MM-DD) or a UTC time (YYYY-MM-DDThh:mm:ssZ)."
    )


def _period(arguments: Mapping[str, str]) -> tuple[datetime | None, datetime | None]:
    """``from`` and ``until`` as a start and an end (exclusive) that takes in the whole day
    or second ``until`` names: a case changed at 12:00:00.5 has the datestamp 12:00:00."""
    start = end = None
    if "from" in arguments:
        start, start_step = _moment("from", arguments["from"])
    if "until" in arguments:
        end, end_step = _moment("until", arguments["until"])
    if start is not None and end is not None:
        if start_step != end_step:
            raise OaiError("badArgument", "from and until must have the same granularity.")
        if start > end:
            raise OaiError("badArgument", "from is later than until.")
    try:
        return start, (end + end_step if end is not None else None)
    except OverflowError:  # until the last day of year 9999: no end at all
        return start, None


def _filter(arguments: Mapping[str, str]) -> HarvestFilter:
    """The cases a list request asks for (well-formed arguments assumed)."""
    changed_from, changed_before = _period(arguments)
    group, _, key = arguments.get("set", "country").partition(":")
    if group not in SET_GROUPS:
        raise OaiError("noRecordsMatch", f"There is no set {arguments['set']!r}.")
    return HarvestFilter(
        changed_from=changed_from,
        changed_before=changed_before,
        country=key if group == "country" and key else None,
        theme=key if group == "theme" and key else None,
        any_theme=group == "theme" and not key,
    )


# -- the verbs ---------------------------------------------------------------------------


def _metadata_prefix(prefix: str) -> None:
    if prefix not in records.METADATA_FORMATS:
        raise OaiError(
            "cannotDisseminateFormat", f"This repository has no metadata format {prefix!r}."
        )


def _case(repository: records.Repository, identifier: str) -> Case:
    case_id = repository.case_id(identifier)
    case = toolkit.harvestable_case(case_id) if case_id is not None else None
    if case is None:
        raise OaiError("idDoesNotExist", f"This repository has no item {identifier!r}.")
    return case


def identify(repository: records.Repository, _arguments: dict[str, str]) -> ET.Element:
    return records.identify(repository, toolkit.earliest_change())


def list_metadata_formats(repository: records.Repository, arguments: dict[str, str]) -> ET.Element:
    if "identifier" in arguments:
        _case(repository, arguments["identifier"])
    return records.metadata_formats()


def list_sets(_repository: records.Repository, arguments: dict[str, str]) -> ET.Element:
    if "resumptionToken" in arguments:
        raise OaiError(
            "badResumptionToken", "The list of sets is always complete; no token applies."
        )
    countries = toolkit.country_names()
    themes = toolkit.vocabulary_terms(Vocabulary.THEME)
    return records.sets(
        [
            ("country", SET_GROUPS["country"]),
            *((f"country:{code}", name) for code, name in countries.items()),
            ("theme", SET_GROUPS["theme"]),
            *((f"theme:{term.key}", term.label("en")) for term in themes),
        ]
    )


def get_record(repository: records.Repository, arguments: dict[str, str]) -> ET.Element:
    _metadata_prefix(arguments["metadataPrefix"])
    case = _case(repository, arguments["identifier"])
    element = ET.Element("GetRecord")
    records.record(element, repository, case, toolkit.country_names())
    return element


def _list_request(verb: str, arguments: dict[str, str]) -> ListRequest:
    """The request a harvester made, or the one its resumption token continues."""
    if "resumptionToken" not in arguments:
        _metadata_prefix(arguments["metadataPrefix"])
        return ListRequest(verb, arguments, _filter(arguments))
    try:
        resumed = tokens.decode(arguments["resumptionToken"])
        if resumed.verb != verb or "metadataPrefix" not in resumed.arguments:
            raise tokens.BadToken("issued for another request")
        _check_forms(resumed.arguments)
        _metadata_prefix(resumed.arguments["metadataPrefix"])
    except (tokens.BadToken, OaiError) as exc:
        raise OaiError(
            "badResumptionToken", "The resumption token is invalid or was not issued here."
        ) from exc
    return ListRequest(
        verb, resumed.arguments, _filter(resumed.arguments), resumed.after, resumed.cursor
    )


def list_items(verb: str) -> Callable[[records.Repository, dict[str, str]], ET.Element]:
    """The handler of ListIdentifiers (headers only) or ListRecords (whole records)."""

    def handle(repository: records.Repository, arguments: dict[str, str]) -> ET.Element:
        asked = _list_request(verb, arguments)
        page = toolkit.harvest_page(asked.wanted, asked.after, repository.page_size + 1)
        if not page:
            raise OaiError("noRecordsMatch", "No items match the arguments.")
        more, page = len(page) > repository.page_size, page[: repository.page_size]
        element = ET.Element(verb)
        countries = toolkit.country_names()
        for case in page:
            if verb == "ListRecords":
                records.record(element, repository, case, countries)
            else:
                records.header(element, repository, case)
        if more or asked.cursor:
            seen = asked.cursor + len(page)
            token = ""
            if more:
                last = HarvestPosition(page[-1].updated_at, page[-1].id)
                token = tokens.encode(tokens.Resumption(verb, asked.arguments, last, seen))
            size = max(toolkit.harvest_count(asked.wanted), seen)
            records.resumption_token(element, token, complete_list_size=size, cursor=asked.cursor)
        return element

    return handle


HANDLERS: dict[str, Callable[[records.Repository, dict[str, str]], ET.Element]] = {
    "Identify": identify,
    "ListMetadataFormats": list_metadata_formats,
    "ListSets": list_sets,
    "GetRecord": get_record,
    "ListIdentifiers": list_items("ListIdentifiers"),
    "ListRecords": list_items("ListRecords"),
}
