"""The XML of OAI-PMH responses, built with ElementTree: the envelope, headers, Dublin Core.

The OAI elements are written without a namespace under a literal ``xmlns`` declaration on
the root, which puts them in the OAI namespace for every reader. ElementTree can only
write a default namespace through its global prefix registry (shared with any other code
in the process) or its ``default_namespace`` option (which refuses plain attributes such
as ``verb``). The other vocabularies get their customary prefixes.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlsplit

from kb.toolkit import (
    Case,
    case_url,
    choice_label,
    event_url,
    external_url,
    session_url,
    xml_safe,
)

OAI = "http://www.openarchives.org/OAI/2.0/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
OAI_IDENTIFIER = "http://www.openarchives.org/OAI/2.0/oai-identifier"
DC = "http://purl.org/dc/elements/1.1/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SCHEMA_LOCATION = f"{{{XSI}}}schemaLocation"

for _prefix, _uri in (("oai_dc", OAI_DC), ("dc", DC), ("xsi", XSI)):
    ET.register_namespace(_prefix, _uri)

#: The one metadata format: prefix -> (schema, namespace).
METADATA_FORMATS = {"oai_dc": ("http://www.openarchives.org/OAI/2.0/oai_dc.xsd", OAI_DC)}
DATESTAMP = "%Y-%m-%dT%H:%M:%SZ"
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
DEFAULT_NAME = "Nordic Good Practice KB"
DEFAULT_PAGE_SIZE = 100
#: Case ids are database integers; a longer number names no case (and must not reach SQL).
LARGEST_ID = 2**31 - 1
#: What the oai-identifier scheme accepts as a repository identifier: a domain name.
_DOMAIN = re.compile(r"[a-zA-Z][a-zA-Z0-9\-]*(\.[a-zA-Z][a-zA-Z0-9\-]*)+")


@dataclass(frozen=True)
class Repository:
    """This site as a repository, from the app configuration (read at each request)."""

    name: str
    base_url: str
    admin_email: str
    identifier_host: str
    page_size: int

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Repository:
        """``OAI_*`` settings, defaulting to the site's ``BASE_URL`` and ``MAIL_SENDER``."""
        return cls(
            name=config.get("OAI_REPOSITORY_NAME") or DEFAULT_NAME,
            base_url=external_url("plugin_oai_pmh.oai"),
            admin_email=config.get("OAI_ADMIN_EMAIL") or parseaddr(config["MAIL_SENDER"])[1],
            identifier_host=config.get("OAI_REPOSITORY_IDENTIFIER")
            or (urlsplit(config["BASE_URL"]).hostname or "localhost"),
            page_size=max(1, int(config.get("OAI_PAGE_SIZE") or DEFAULT_PAGE_SIZE)),
        )

    def identifier(self, case_id: int) -> str:
        return f"oai:{self.identifier_host}:case/{case_id}"

    def case_id(self, identifier: str) -> int | None:
        """The case an identifier of this repository names, if it names one."""
        prefix = f"oai:{self.identifier_host}:case/"
        number = identifier.removeprefix(prefix)
        if number == identifier or not number.isascii() or not number.isdigit():
            return None
        return int(number) if int(number) <= LARGEST_ID else None


def datestamp(moment: datetime) -> str:
    return moment.strftime(DATESTAMP)


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = xml_safe(text)  # imported text might hold what XML cannot
    return element


# -- the envelope ----------------------------------------------------------------------


def response(repository: Repository, arguments: Mapping[str, str]) -> ET.Element:
    """The root with ``responseDate`` and ``request``; ``arguments`` become its attributes."""
    root = ET.Element("OAI-PMH", {"xmlns": OAI, SCHEMA_LOCATION: f"{OAI} {OAI}OAI-PMH.xsd"})
    _add(root, "responseDate", datetime.now(UTC).strftime(DATESTAMP))
    _add(root, "request", repository.base_url, **dict(arguments))
    return root


def error(root: ET.Element, code: str, message: str) -> None:
    _add(root, "error", message, code=code)


def serialize(root: ET.Element) -> bytes:
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


# -- verbs without records -------------------------------------------------------------


def identify(repository: Repository, earliest: datetime | None) -> ET.Element:
    element = ET.Element("Identify")
    _add(element, "repositoryName", repository.name)
    _add(element, "baseURL", repository.base_url)
    _add(element, "protocolVersion", "2.0")
    _add(element, "adminEmail", repository.admin_email)
    _add(element, "earliestDatestamp", datestamp(earliest or datetime.now(UTC)))
    _add(element, "deletedRecord", "transient")
    _add(element, "granularity", GRANULARITY)
    if _DOMAIN.fullmatch(repository.identifier_host):
        # The oai-identifier scheme needs a domain name: not offered for "localhost".
        description = _add(_add(element, "description"), "oai-identifier")
        description.attrib.update(
            {"xmlns": OAI_IDENTIFIER, SCHEMA_LOCATION: f"{OAI_IDENTIFIER} {OAI_IDENTIFIER}.xsd"}
        )
        _add(description, "scheme", "oai")
        _add(description, "repositoryIdentifier", repository.identifier_host)
        _add(description, "delimiter", ":")
        _add(description, "sampleIdentifier", repository.identifier(1))
    return element


def metadata_formats() -> ET.Element:
    element = ET.Element("ListMetadataFormats")
    for prefix, (schema, namespace) in METADATA_FORMATS.items():
        entry = _add(element, "metadataFormat")
        _add(entry, "metadataPrefix", prefix)
        _add(entry, "schema", schema)
        _add(entry, "metadataNamespace", namespace)
    return element


def sets(named_sets: Iterable[tuple[str, str]]) -> ET.Element:
    element = ET.Element("ListSets")
    for spec, name in named_sets:
        entry = _add(element, "set")
        _add(entry, "setSpec", spec)
        _add(entry, "setName", name)
    return element


# -- records ---------------------------------------------------------------------------


def set_specs(case: Case) -> list[str]:
    """The sets a case is in; only the deepest level (``country:SE`` implies ``country``)."""
    return [f"country:{case.country}", *(f"theme:{term.key}" for term in case.themes)]


def header(parent: ET.Element, repository: Repository, case: Case) -> None:
    element = _add(parent, "header")
    if not case.is_published:
        element.set("status", "deleted")
    _add(element, "identifier", repository.identifier(case.id))
    _add(element, "datestamp", datestamp(case.updated_at))
    for spec in set_specs(case):
        _add(element, "setSpec", spec)


def record(
    parent: ET.Element, repository: Repository, case: Case, countries: dict[str, str]
) -> None:
    """A case's header, and its Dublin Core unless it is no longer public."""
    element = _add(parent, "record")
    header(element, repository, case)
    if case.is_published:
        dublin_core(_add(element, "metadata"), repository, case, countries)


def dublin_core(
    parent: ET.Element, repository: Repository, case: Case, countries: dict[str, str]
) -> None:
    """Simple Dublin Core; people appear only when they consented to be shown."""
    dc = ET.SubElement(
        parent, f"{{{OAI_DC}}}dc", {SCHEMA_LOCATION: f"{OAI_DC} {METADATA_FORMATS['oai_dc'][0]}"}
    )

    def add(name: str, text: str | None, lang: str | None = None) -> None:
        if text:
            _add(dc, f"{{{DC}}}{name}", text, **({XML_LANG: lang} if lang else {}))

    add("title", case.title, case.language)
    consenting = [c.person for c in case.contacts if c.person.consent_to_publish_contact]
    for person in consenting:
        add("creator", person.name)
    for organisation in dict.fromkeys(p.organisation.name for p in consenting if p.organisation):
        add("contributor", organisation)
    for term in case.themes:
        label = term.label("en")
        add("subject", label, "en")
        if label != term.key:
            add("subject", term.key)
    add("description", case.summary, case.language)
    for text in _template_texts(case):
        add("description", text, case.language)
    add("description", _status(case), "en")
    if case.budget_band:
        add(
            "description",
            f"Total budget: {choice_label(case.budget_band, 'budget_band', 'en')}",
            "en",
        )
    add("publisher", repository.name)
    if case.published_at is not None:
        add("date", case.published_at.date().isoformat())
    add("type", "Text")
    add("type", "case study", "en")
    add("identifier", case_url(case, external=True))
    add("language", case.language)
    add("coverage", countries.get(case.country, case.country), "en")
    add("coverage", case.municipality, case.language)
    add("coverage", case.region, case.language)
    add("relation", case.evaluation_url)
    for link in _presented_at(case):
        add("relation", link)


#: The practice template's texts, each a description in the case's language.
TEMPLATE_TEXTS = (
    "background",
    "evaluation_method",
    "funding",
    "staff",
    "lessons_learned",
    "transferability",
)


def _template_texts(case: Case) -> list[str]:
    return [text for name in TEMPLATE_TEXTS if (text := getattr(case, name))]


def _status(case: Case) -> str | None:
    """ "Status of the practice: Ended (2019)", in English as the other codes' words are."""
    if not case.practice_status:
        return None
    status = choice_label(case.practice_status, "practice_status", "en")
    year = f" ({case.practice_status_year})" if case.practice_status_year else ""
    return f"Status of the practice: {status}{year}"


def _presented_at(case: Case) -> list[str]:
    """The pages of the events and sessions where the case was presented."""
    links = [event_url(event, external=True) for event in case.events]
    links += [session_url(session, external=True) for session in case.sessions]
    return list(dict.fromkeys(links))


def resumption_token(
    parent: ET.Element, token: str, *, complete_list_size: int, cursor: int
) -> None:
    """``token`` is empty on the last page of a list that needed several."""
    element = _add(parent, "resumptionToken", token)
    element.set("completeListSize", str(complete_list_size))
    element.set("cursor", str(cursor))
