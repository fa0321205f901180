"""The OAI-PMH endpoint (plugins/oai_pmh): what harvesters ask at /oai and what they get.

Every response is checked against the official OAI-PMH schema, together with the oai_dc
and oai-identifier schemas its strict wildcards call for (tests/data/ here, no network).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import func, select, update
from werkzeug.test import TestResponse

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseStatus, Person, Role, User
from kb.services import accounts, submissions
from kb.services.review import decide

SCHEMAS = Path(__file__).parent / "data"
NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "id": "http://www.openarchives.org/OAI/2.0/oai-identifier",
}
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SITE = "https://kb.example.org"
BASE_URL = f"{SITE}/oai"
Query = Sequence[tuple[str, str]]


@cache
def schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True)
    return etree.XMLSchema(etree.parse(str(SCHEMAS / "responses.xsd"), parser))


def valid(response: TestResponse) -> etree._Element:
    """The response as XML, after checking it is a valid OAI-PMH response."""
    assert response.status_code == 200
    assert response.content_type == "text/xml; charset=utf-8"
    root = etree.fromstring(response.data, etree.XMLParser(no_network=True))
    schema().assertValid(root)
    return root


def oai(client: FlaskClient, query: Query) -> etree._Element:
    return valid(client.get("/oai", query_string=list(query)))


def error(root: etree._Element) -> str | None:
    found = root.find("oai:error", NS)
    return None if found is None else found.get("code")


def texts(element: etree._Element, path: str) -> list[str]:
    return [found.text or "" for found in element.findall(path, NS)]


def identifier(case: Case) -> str:
    return f"oai:kb.example.org:case/{case.id}"


def case_with_ref(ref: str) -> Case:
    return db.session.scalar(select(Case).where(Case.ref == ref))


def published_cases() -> list[Case]:
    return list(db.session.scalars(select(Case).where(Case.status == CaseStatus.PUBLISHED)))


@pytest.fixture
def site(app: Flask, demo: None) -> Flask:
    """The demo site at a real domain name, with an editors' address to send mail from."""
    app.config.update(BASE_URL=SITE, MAIL_SENDER="KB editors <editors@kb.example.org>")
    return app


@pytest.fixture
def editor(site: Flask) -> User:
    return accounts.create_user("editor@example.org", Role.EDITOR)


def set_datestamp(case: Case, moment: datetime) -> None:
    """Pretend the case last changed at ``moment``; an ORM change would stamp it "now"."""
    with write_transaction():
        db.session.execute(update(Case).where(Case.id == case.id).values(updated_at=moment))
    db.session.expire(case)


def harvest(client: FlaskClient, verb: str, query: Query = ()) -> list[etree._Element]:
    """Every response of a complete list, following resumption tokens to the end."""
    pages = [oai(client, [("verb", verb), ("metadataPrefix", "oai_dc"), *query])]
    while (token := pages[-1].find(f"oai:{verb}/oai:resumptionToken", NS)) is not None:
        if not token.text:
            break
        pages.append(oai(client, [("verb", verb), ("resumptionToken", token.text)]))
    return pages


def headers(pages: list[etree._Element]) -> list[etree._Element]:
    return [h for page in pages for h in page.iterfind(".//oai:header", NS)]


# -- the six verbs -----------------------------------------------------------------------


def test_identify_describes_the_repository(client: FlaskClient, site: Flask) -> None:
    root = oai(client, [("verb", "Identify")])

    request = root.find("oai:request", NS)
    assert request.text == BASE_URL
    assert dict(request.attrib) == {"verb": "Identify"}
    identify = root.find("oai:Identify", NS)
    assert identify.findtext("oai:repositoryName", namespaces=NS) == "Nordic Good Practice KB"
    assert identify.findtext("oai:baseURL", namespaces=NS) == BASE_URL
    assert identify.findtext("oai:protocolVersion", namespaces=NS) == "2.0"
    assert identify.findtext("oai:adminEmail", namespaces=NS) == "editors@kb.example.org"
    assert identify.findtext("oai:deletedRecord", namespaces=NS) == "transient"
    assert identify.findtext("oai:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    description = identify.find("oai:description/id:oai-identifier", NS)
    assert description.findtext("id:repositoryIdentifier", namespaces=NS) == "kb.example.org"
    assert description.findtext("id:sampleIdentifier", namespaces=NS).startswith(
        "oai:kb.example.org:case/"
    )
    earliest = identify.findtext("oai:earliestDatestamp", namespaces=NS)
    stamps = texts(
        oai(client, [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc")]), ".//oai:datestamp"
    )
    assert earliest == min(stamps)


def test_list_metadata_formats_offers_dublin_core(client: FlaskClient, site: Flask) -> None:
    for query in ([], [("identifier", identifier(case_with_ref("c04")))]):
        root = oai(client, [("verb", "ListMetadataFormats"), *query])

        formats = root.findall("oai:ListMetadataFormats/oai:metadataFormat", NS)
        assert [f.findtext("oai:metadataPrefix", namespaces=NS) for f in formats] == ["oai_dc"]
        assert formats[0].findtext("oai:metadataNamespace", namespaces=NS) == NS["oai_dc"]


def test_list_sets_names_countries_and_themes(client: FlaskClient, site: Flask) -> None:
    root = oai(client, [("verb", "ListSets")])

    names = {
        s.findtext("oai:setSpec", namespaces=NS): s.findtext("oai:setName", namespaces=NS)
        for s in root.iterfind("oai:ListSets/oai:set", NS)
    }
    assert names["country:SE"] == "Sweden"
    assert names["country:IS"] == "Iceland"
    assert names["theme:employment"] == "Employment"
    assert {"country", "theme"} <= names.keys()


def test_get_record_gives_a_case_in_dublin_core(client: FlaskClient, site: Flask) -> None:
    case = case_with_ref("c01")

    root = oai(
        client,
        [("verb", "GetRecord"), ("identifier", identifier(case)), ("metadataPrefix", "oai_dc")],
    )

    assert root.find("oai:request", NS).get("identifier") == identifier(case)
    record = root.find("oai:GetRecord/oai:record", NS)
    assert record.findtext("oai:header/oai:identifier", namespaces=NS) == identifier(case)
    assert record.find("oai:header", NS).get("status") is None
    specs = texts(record, "oai:header/oai:setSpec")
    assert specs == ["country:NO", *(f"theme:{term.key}" for term in case.themes)]
    dc = record.find("oai:metadata/oai_dc:dc", NS)
    title = dc.find("dc:title", NS)
    assert (title.text, title.get(XML_LANG)) == (case.title, "nb")
    assert texts(dc, "dc:identifier") == [f"{SITE}/cases/{case.slug}"]
    # The summary, then the practice template's texts and its evaluation in words.
    assert texts(dc, "dc:description") == [
        case.summary,
        case.background,
        case.evaluation_method,
        case.funding,
        case.staff,
        case.lessons_learned,
    ]
    assert texts(dc, "dc:language") == ["nb"]
    assert texts(dc, "dc:type") == ["Text", "case study"]
    assert texts(dc, "dc:publisher") == ["Nordic Good Practice KB"]
    assert texts(dc, "dc:date") == [case.published_at.date().isoformat()]
    assert {"Rural development", "rural-development", "Housing"} <= set(texts(dc, "dc:subject"))
    assert texts(dc, "dc:coverage")[:2] == ["Norway", case.municipality]
    assert set(texts(dc, "dc:relation")) == {
        f"{SITE}/events/nyanlanda-i-jobb",
        f"{SITE}/events/nyanlanda-i-jobb/sysselsetting-av-innvandrere",
    }


@pytest.mark.parametrize("verb", ["ListIdentifiers", "ListRecords"])
def test_a_list_in_pages_holds_every_published_case_once(
    client: FlaskClient, site: Flask, verb: str
) -> None:
    site.config["OAI_PAGE_SIZE"] = 7
    expected = {identifier(case) for case in published_cases()}

    pages = harvest(client, verb)

    found = [h.findtext("oai:identifier", namespaces=NS) for h in headers(pages)]
    assert sorted(found) == sorted(expected)
    assert len(pages) == -(-len(expected) // 7)
    tokens = [page.find(f"oai:{verb}/oai:resumptionToken", NS) for page in pages]
    assert [int(t.get("cursor")) for t in tokens] == [7 * n for n in range(len(pages))]
    assert {int(t.get("completeListSize")) for t in tokens} == {len(expected)}
    assert tokens[-1].text is None  # the last page says the list is complete
    if verb == "ListRecords":
        assert len(pages[0].findall(".//oai_dc:dc", NS)) == 7


def test_a_short_list_comes_whole_without_a_token(client: FlaskClient, site: Flask) -> None:
    root = oai(
        client, [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "country:IS")]
    )

    assert len(root.findall("oai:ListRecords/oai:record", NS)) == 6
    assert root.find("oai:ListRecords/oai:resumptionToken", NS) is None


# -- selective harvesting ------------------------------------------------------------------


def test_sets_select_cases_by_country_and_theme(client: FlaskClient, site: Flask) -> None:
    swedish = {identifier(c) for c in published_cases() if c.country == "SE"}
    employment = {
        identifier(c) for c in published_cases() if "employment" in {t.key for t in c.themes}
    }
    with_theme = {identifier(c) for c in published_cases() if c.themes}

    def harvested(set_spec: str) -> set[str]:
        found = headers(harvest(client, "ListIdentifiers", [("set", set_spec)]))
        return {h.findtext("oai:identifier", namespaces=NS) for h in found}

    assert harvested("country:SE") == swedish
    assert harvested("theme:employment") == employment
    assert harvested("theme") == with_theme
    assert harvested("country") == {identifier(c) for c in published_cases()}
    assert len(swedish) == 11 and len(employment) == 41


def test_from_and_until_select_by_datestamp(client: FlaskClient, site: Flask) -> None:
    first, second, third = (case_with_ref(ref) for ref in ("c10", "c20", "c30"))
    set_datestamp(first, datetime(2019, 3, 1, 10, 0, 0, tzinfo=UTC))
    set_datestamp(second, datetime(2019, 3, 2, 12, 0, 0, 500_000, tzinfo=UTC))
    set_datestamp(third, datetime(2019, 3, 3, 8, 30, 0, tzinfo=UTC))

    def between(*query: tuple[str, str]) -> list[str]:
        root = oai(client, [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), *query])
        return texts(root, ".//oai:header/oai:identifier")

    assert between(("from", "2019-03-02"), ("until", "2019-03-02")) == [identifier(second)]
    assert between(("from", "2019-03-01T10:00:00Z"), ("until", "2019-03-02T12:00:00Z")) == [
        identifier(first),
        identifier(second),
    ]
    assert between(("until", "2019-03-03")) == [identifier(c) for c in (first, second, third)]
    assert identifier(first) not in between(("from", "2019-03-01T10:00:01Z"))
    stamp = oai(client, [("verb", "Identify")]).findtext(".//oai:earliestDatestamp", namespaces=NS)
    assert stamp == "2019-03-01T10:00:00Z"
    record = oai(
        client,
        [("verb", "GetRecord"), ("identifier", identifier(second)), ("metadataPrefix", "oai_dc")],
    )
    assert record.findtext(".//oai:datestamp", namespaces=NS) == "2019-03-02T12:00:00Z"


# -- what is public, and who ---------------------------------------------------------------


def test_a_case_that_stopped_being_public_is_a_deleted_record(
    client: FlaskClient, site: Flask, editor: User
) -> None:
    archived, unpublished = case_with_ref("c04"), case_with_ref("c05")
    decide(archived, "archive", editor)
    decide(unpublished, "unpublish", editor)
    db.session.rollback()

    pages = harvest(client, "ListRecords")

    deleted = {
        h.findtext("oai:identifier", namespaces=NS)
        for h in headers(pages)
        if h.get("status") == "deleted"
    }
    assert deleted == {identifier(archived), identifier(unpublished)}
    record = oai(
        client,
        [("verb", "GetRecord"), ("identifier", identifier(archived)), ("metadataPrefix", "oai_dc")],
    ).find("oai:GetRecord/oai:record", NS)
    assert record.find("oai:header", NS).get("status") == "deleted"
    assert record.find("oai:metadata", NS) is None
    assert archived.title.encode() not in b"".join(etree.tostring(page) for page in pages)


def test_a_draft_never_appears(client: FlaskClient, site: Flask, editor: User) -> None:
    draft = submissions.save(
        None,
        submissions.Submission(
            fields={"title": "Utkast om sysselsetting", "language": "nb", "country": "NO"}
        ),
        editor,
    )

    pages = harvest(client, "ListRecords")
    root = oai(
        client,
        [("verb", "GetRecord"), ("identifier", identifier(draft)), ("metadataPrefix", "oai_dc")],
    )

    assert identifier(draft) not in [
        h.findtext("oai:identifier", namespaces=NS) for h in headers(pages)
    ]
    assert b"Utkast om sysselsetting" not in b"".join(etree.tostring(page) for page in pages)
    assert error(root) == "idDoesNotExist"


def test_only_contacts_who_consented_are_named(client: FlaskClient, site: Flask) -> None:
    consenting = db.session.scalar(select(Person).where(Person.name == "Lars Fredrik Mørch"))
    with write_transaction():
        consenting.set_consent(True)
    case = case_with_ref("c04")

    pages = harvest(client, "ListRecords")

    everything = b"".join(etree.tostring(page, encoding="utf-8") for page in pages).decode()
    for name in (
        "Marit Måøy Holm",
        "Christine Lunde Rasmussen",
        "Kasper Kyed",
        "Hrafnhildur Kvaran",
    ):
        assert name not in everything
    record = next(
        h.getparent()
        for h in headers(pages)
        if h.findtext("oai:identifier", namespaces=NS) == identifier(case)
    )
    assert texts(record, ".//dc:creator") == ["Lars Fredrik Mørch"]


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [[], [("verb", "Frobnicate")], [("verb", "Identify"), ("verb", "ListSets")]],
    ids=["missing", "unknown", "repeated"],
)
def test_a_missing_unknown_or_repeated_verb_is_bad_verb(
    client: FlaskClient, site: Flask, query: Query
) -> None:
    root = oai(client, [*query, ("metadataPrefix", "oai_dc")])

    assert error(root) == "badVerb"
    assert root.find("oai:request", NS).attrib == {}  # the spec: base URL only
    assert root.find("oai:request", NS).text == BASE_URL


@pytest.mark.parametrize(
    "query",
    [
        [("verb", "ListRecords")],
        [("verb", "GetRecord"), ("identifier", "oai:kb.example.org:case/1")],
        [("verb", "Identify"), ("metadataPrefix", "oai_dc")],
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("metadataPrefix", "oai_dc")],
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2019-02-30")],
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "yesterday")],
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "oai_dc"),
            ("from", "2019-03-01T10:00:00+01:00"),
        ],
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "oai_dc"),
            ("from", "2019-03-01"),
            ("until", "2019-03-02T00:00:00Z"),
        ],
        [
            ("verb", "ListRecords"),
            ("metadataPrefix", "oai_dc"),
            ("from", "2019-03-02"),
            ("until", "2019-03-01"),
        ],
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "Sweden please")],
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("resumptionToken", "abc")],
        [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("until", "2019-03-01\x01")],
        [("verb", "GetRecord"), ("identifier", "case 1"), ("metadataPrefix", "oai_dc")],
    ],
    ids=[
        "missing-prefix",
        "missing-identifier",
        "not-allowed",
        "repeated",
        "no-such-day",
        "not-a-date",
        "not-utc",
        "mixed-granularity",
        "from-after-until",
        "not-a-set",
        "token-and-more",
        "control-character",
        "not-a-uri",
    ],
)
def test_bad_arguments_are_named_without_echoing_them(
    client: FlaskClient, site: Flask, query: Query
) -> None:
    root = oai(client, query)

    assert error(root) == "badArgument"
    assert root.find("oai:request", NS).attrib == {}


def _token(payload: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def test_a_garbled_or_foreign_resumption_token_is_refused(client: FlaskClient, site: Flask) -> None:
    site.config["OAI_PAGE_SIZE"] = 10
    issued = harvest(client, "ListIdentifiers")[0].findtext(".//oai:resumptionToken", namespaces=NS)
    decoded = json.loads(base64.urlsafe_b64decode(issued + "=" * (-len(issued) % 4)))
    forged_format = {**decoded, "arguments": {**decoded["arguments"], "metadataPrefix": "marc21"}}

    for verb, token in [
        ("ListIdentifiers", "not-a-token"),
        ("ListIdentifiers", issued[:-5]),
        ("ListIdentifiers", _token({"verb": "ListIdentifiers"})),
        ("ListIdentifiers", _token({**decoded, "cursor": -1})),
        ("ListIdentifiers", _token({**decoded, "case": 10**30})),
        ("ListIdentifiers", _token(forged_format)),
        ("ListRecords", issued),  # issued for another verb
        ("ListSets", issued),  # the list of sets never needs one
    ]:
        root = oai(client, [("verb", verb), ("resumptionToken", token)])

        assert error(root) == "badResumptionToken", token
        assert root.find("oai:request", NS).get("resumptionToken") == token


def test_an_unknown_metadata_format_cannot_be_disseminated(
    client: FlaskClient, site: Flask
) -> None:
    case = case_with_ref("c04")
    for query in (
        [("verb", "ListRecords"), ("metadataPrefix", "marc21")],
        [("verb", "GetRecord"), ("identifier", identifier(case)), ("metadataPrefix", "marc21")],
    ):
        root = oai(client, query)

        assert error(root) == "cannotDisseminateFormat"
        assert root.find("oai:request", NS).get("metadataPrefix") == "marc21"


def test_an_unknown_identifier_does_not_exist(client: FlaskClient, site: Flask) -> None:
    highest = db.session.scalar(select(func.max(Case.id)))
    for unknown in (
        f"oai:kb.example.org:case/{highest + 1}",
        f"oai:kb.example.org:case/{10**30}",
        "oai:kb.example.org:case/-1",
        "oai:elsewhere.org:case/1",
        "urn:isbn:0451450523",
    ):
        for query in (
            [("verb", "GetRecord"), ("identifier", unknown), ("metadataPrefix", "oai_dc")],
            [("verb", "ListMetadataFormats"), ("identifier", unknown)],
        ):
            root = oai(client, query)

            assert error(root) == "idDoesNotExist"
            assert root.find("oai:request", NS).get("identifier") == unknown


def test_no_records_match_an_empty_selection(client: FlaskClient, site: Flask) -> None:
    for query in (
        [("from", "2999-01-01")],
        [("set", "country:GL")],
        [("set", "theme:no-such-theme")],
        [("set", "region")],
        [("until", "2000-01-01T00:00:00Z")],
    ):
        root = oai(client, [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), *query])

        assert error(root) == "noRecordsMatch"
        assert root.find("oai:request", NS).get("metadataPrefix") == "oai_dc"


# -- HTTP ------------------------------------------------------------------------------------


def test_post_works_without_a_csrf_token(client: FlaskClient, site: Flask) -> None:
    response = client.post(
        "/oai", data={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "country:SE"}
    )

    root = valid(response)
    assert error(root) is None
    assert len(root.findall(".//oai:header", NS)) == 11
    assert dict(root.find("oai:request", NS).attrib) == {
        "verb": "ListIdentifiers",
        "metadataPrefix": "oai_dc",
        "set": "country:SE",
    }
