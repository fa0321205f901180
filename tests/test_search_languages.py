"""Each content language analysed as its speakers write it, on Whoosh and PostgreSQL's search:
Icelandic inflection, Nynorsk and bokmål agent nouns, Swedish -stad plurals, Finnish
compounds, and compounds whose parts name concepts of the cross-language vocabulary."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kb.models.choices import CONTENT_LANGUAGES
from kb.search.analysis import ANALYZED_LANGUAGES
from kb.services.exchange.importer import import_plan, plan_import
from tests.conftest import database_config
from tests.factories import case_record
from tests.web_helpers import refs, search, strict_refs


@pytest.fixture(params=["sqlite", "postgresql-pgsearch"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    """Whoosh and PostgreSQL's search (Whoosh on PostgreSQL analyses as on SQLite)."""
    return database_config(request, tmp_path)


def publish(*cases: dict) -> None:
    import_plan(plan_import(list(cases)))


@pytest.mark.parametrize(
    "query", ["fiskvinnsla", "Hornafjörður", "flóttamenn", "íslenskukennsla", "vinnumarkaður"]
)
def test_an_icelandic_word_finds_its_other_inflected_forms(
    app: Flask, client: FlaskClient, query: str
) -> None:
    publish(
        case_record(
            "is1",
            "Íslenskukennslu fyrir flóttamönnum í fiskvinnslu á Höfn í Hornafirði",
            "is",
            "IS",
            body="Starfsmennirnir komust á vinnumarkaðinn.",
        ),
        case_record("is2", "Leikskólar á Akureyri", "is", "IS", body="Foreldrar lesa sögur."),
    )

    assert strict_refs(search(client, query, language="is")) == ["is1"]


@pytest.mark.parametrize(
    ("query", "language"),
    [
        ("lærar", "nn"),
        ("arbeidsgjevar", "nn"),
        ("ledighet", "nn"),
        ("lærere", "nb"),
        ("arbeidsgiverne", "nb"),
    ],
)
def test_an_agent_noun_finds_its_singular_plural_and_definite_forms(
    app: Flask, client: FlaskClient, query: str, language: str
) -> None:
    publish(
        case_record(
            "nn1",
            "Lærarane og arbeidsgjevarane i kommunane",
            "nn",
            "NO",
            body="Ledigheita blant unge gjekk ned.",
        ),
        case_record("nb1", "En lærer og en arbeidsgiver i Nærøy", "nb", "NO"),
        case_record("nb2", "Bibliotek for alle", "nb", "NO", body="Bøker og aviser."),
    )

    expected = "nn1" if language == "nn" else "nb1"
    assert strict_refs(search(client, query, language=language)) == [expected]


def test_bostad_and_bostader_find_the_same_cases(app: Flask, client: FlaskClient) -> None:
    publish(
        case_record("s1", "Bostäder för nyanlända", "sv", "SE"),
        case_record("s2", "En bostad i Krokom", "sv", "SE"),
        case_record("s3", "Bostaden som mötesplats", "sv", "SE"),
        case_record("s4", "Storstadens skolor", "sv", "SE"),
    )

    found = {q: sorted(refs(search(client, q, language="sv"))) for q in ("bostad", "bostäder")}

    assert found["bostad"] == found["bostäder"] == ["s1", "s2", "s3"]


def test_a_finnish_compound_finds_its_parts_written_apart(app: Flask, client: FlaskClient) -> None:
    publish(
        case_record("f1", "Etsivä työ tavoittaa nuoret maahanmuuttajat Turussa", "fi", "FI"),
        case_record(
            "f2", "Kirjasto kohtaamispaikkana", "fi", "FI", body="Lukupiiri eläkeläisille."
        ),
    )

    assert refs(search(client, "maahanmuuttajanuoret", language="fi"))[:1] == ["f1"]


def test_a_compound_of_two_concepts_finds_both_in_other_languages(
    app: Flask, client: FlaskClient
) -> None:
    """*flyktningfamilier* is no term of the vocabulary; its parts name *refugee* and
    *family*, so a Swedish case about refugee families is found, and one about refugees
    alone is not."""
    publish(
        case_record("s1", "Flyktingar och deras familjer i Sunne", "sv", "SE"),
        case_record("s2", "Flyktingar i jobb", "sv", "SE", body="Praktik på företag."),
    )

    assert strict_refs(search(client, "flyktningfamilier")) == ["s1"]


def test_an_inflected_icelandic_word_is_not_taken_for_a_misspelling(
    app: Flask, client: FlaskClient
) -> None:
    publish(
        case_record("is1", "Móttaka á Höfn", "is", "IS", body="Flóttamanni var boðin íbúð."),
    )

    data = search(client, "flóttamanns", language="is")

    assert refs(data) == ["is1"]
    assert data["suggestion"] is None


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.parametrize("query", ["nainen", "naiset", "naisille"])
def test_the_forms_of_a_finnish_nen_word_meet(app: Flask, client: FlaskClient, query: str) -> None:
    """(Whoosh: PostgreSQL's Snowball has no such rule, see docs/search.md.)"""
    publish(
        case_record("f1", "Maahanmuuttajanaisten verkosto", "fi", "FI", body="Naisten ryhmä."),
        case_record("f2", "Kirjasto kohtaamispaikkana", "fi", "FI", body="Lukupiiri."),
    )

    assert strict_refs(search(client, query, language="fi")) == ["f1"]


def test_every_content_language_is_analysed() -> None:
    """A case may be written in any content language, and the search analyses it in that
    language: a language added to the cases needs its stop words and stems there too."""
    assert ANALYZED_LANGUAGES == CONTENT_LANGUAGES
