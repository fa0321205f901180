"""One result set behind every number of a search (docs/search.md, "What a search returns").

The total, each facet count, the pages, the downloads, the Atom feed and the case list of
the API must all describe the same cases, on Whoosh and on PostgreSQL's search alike.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import kb.data
from tests.conftest import DemoTemplates, shared_demo_app

VARIANTS = ["sqlite", "postgresql-pgsearch"]
#: One value per case: their counts add up to the total.
SINGLE_VALUED = ("country", "language")
#: At most one value per case (the municipality profile, where the case gives it).
AT_MOST_ONE = ("population_band", "urban_rural")
ALL = 100  # more than the demo's 52 cases: one page holds every result
BOM = "\ufeff"


def _demo_words() -> list[str]:
    """Words of the demo cases' titles, in every language they are written in."""
    cases = json.loads((Path(kb.data.__file__).parent / "cases.json").read_text("utf-8"))
    found = {
        word.lower()
        for case in cases
        for word in re.findall(r"\w+", case["title"])
        if len(word) >= 5 and not word.isdigit()
    }
    return [*sorted(found), "refugee", "volunteer", "mentoring", "employment", "housing"]


WORDS = _demo_words()


def _misspelt(word: str, at: int) -> str:
    """The word with one letter left out (what a hurried typist does)."""
    cut = 1 + at % (len(word) - 1)
    return word[:cut] + word[cut + 1 :]


_WORD = st.one_of(
    st.sampled_from(WORDS),
    st.builds(_misspelt, st.sampled_from(WORDS), st.integers(0, 20)),
)
_QUERY = st.one_of(st.just(""), st.lists(_WORD, min_size=1, max_size=3).map(" ".join))
_FILTERS = st.fixed_dictionaries(
    {},
    optional={
        "country": st.lists(
            st.sampled_from(["NO", "SE", "DK", "FI", "IS"]), min_size=1, max_size=2, unique=True
        ),
        "language": st.lists(
            st.sampled_from(["nb", "sv", "da", "fi", "en"]), min_size=1, max_size=1
        ),
        "theme": st.lists(
            st.sampled_from(["employment", "housing", "mentoring"]), min_size=1, max_size=1
        ),
        "population_band": st.lists(
            st.sampled_from(["under-5000", "5000-20000", "20000-50000", "over-100000"]),
            min_size=1,
            max_size=2,
            unique=True,
        ),
        "urban_rural": st.lists(
            st.sampled_from(["urban", "remote-rural", "intermediate"]), min_size=1, max_size=1
        ),
    },
)


@pytest.fixture(scope="module", params=VARIANTS)
def results_app(
    request: pytest.FixtureRequest,
    demo_templates: DemoTemplates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Flask]:
    """An instance with the demo loaded, for tests that only read."""
    folder = tmp_path_factory.mktemp(f"results-{request.param}")
    with shared_demo_app(request, demo_templates, folder) as app:
        yield app


@pytest.fixture
def results_client(results_app: Flask) -> FlaskClient:
    return results_app.test_client()


def api(client: FlaskClient, url: str, **params: Any) -> dict[str, Any]:
    response = client.get(url, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def ids(data: dict[str, Any], key: str = "results") -> list[int]:
    return [item["id"] for item in data[key]]


def export_ids(client: FlaskClient, **params: Any) -> list[int]:
    response = client.get("/search/export/csv", query_string=params)
    assert response.status_code == 200
    rows = csv.DictReader(io.StringIO(response.text.removeprefix(BOM), newline=""))
    return [int(row["id"]) for row in rows]


def feed_ids(client: FlaskClient, **params: Any) -> list[int]:
    response = client.get("/feeds/cases.atom", query_string=params)
    assert response.status_code == 200
    return [int(found) for found in re.findall(r"<id>tag:[^<]*:case:(\d+)</id>", response.text)]


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(q=_QUERY, filters=_FILTERS, sort=st.sampled_from(["relevance", "newest"]), data=st.data())
def test_every_number_describes_the_same_cases(
    results_client: FlaskClient,
    q: str,
    filters: dict[str, list[str]],
    sort: str,
    data: st.DataObject,
) -> None:
    client = results_client
    params: dict[str, Any] = {"q": q, "sort": sort, **filters}
    found = api(client, "/api/v1/search", per_page=ALL, **params)
    listed = ids(found)
    total = found["total"]

    assert total == len(listed) == len(set(listed))
    for name in SINGLE_VALUED:
        assert sum(found["facets"][name].values()) == total, name
    for name in AT_MOST_ONE:
        assert sum(found["facets"][name].values()) <= total, name
    # Clicking a facet value gives exactly the count it showed (every country and
    # language, one value of each other facet); a country's cases keep their order.
    by_country = {hit["id"]: hit["country"] for hit in found["results"]}
    for name, counts in found["facets"].items():
        assert all(0 < n <= total for n in counts.values()), (name, counts)
        if name in filters or not counts:
            continue
        values = (
            counts
            if name in SINGLE_VALUED
            else [data.draw(st.sampled_from(sorted(counts)), label=name)]
        )
        for value in values:
            clicked = api(client, "/api/v1/search", per_page=ALL, **params, **{name: value})
            assert clicked["total"] == counts[value], (name, value)
            if name == "country":
                assert ids(clicked) == [i for i in listed if by_country[i] == value]
    # Pages of any size, one after another, are the whole list.
    size = data.draw(st.integers(3, 25), label="per_page")
    paged: list[int] = []
    for page in range(1, max(1, -(-total // size)) + 1):
        part = api(client, "/api/v1/search", per_page=size, page=page, **params)
        assert part["total"] == total
        paged += ids(part)
    assert paged == listed
    # The downloads, the case list of the API and the feed hold exactly these cases.
    assert export_ids(client, **params, page=2) == listed
    cases = api(client, "/api/v1/cases", per_page=ALL, **params)
    assert (cases["total"], ids(cases, "items")) == (total, listed)
    if sort == "newest":
        assert feed_ids(client, **params) == listed[:50]


# -- the small things a reader notices ---------------------------------------------------------


def search(client: FlaskClient, q: str, **params: Any) -> dict[str, Any]:
    return api(client, "/api/v1/search", q=q, **params)


def test_a_misspelt_word_is_corrected_although_other_words_match(
    results_client: FlaskClient,
) -> None:
    found = search(results_client, "flyktninger arbied")

    assert found["total"] > 0  # cases with "flyktninger" alone follow as partial matches
    assert found["suggestion"] == "flyktninger arbeid"


def test_years_are_offered_newest_first(results_client: FlaskClient) -> None:
    years = list(search(results_client, "")["facets"]["year"])

    assert len(years) > 5
    assert years == sorted(years, key=int, reverse=True)


def _fragments(snippet: str) -> list[str]:
    plain = re.sub("</?mark>", "", snippet).replace("&#39;", "'").replace("&amp;", "&")
    return [part.strip() for part in plain.removesuffix(" …").split(" … ") if part.strip()]


@pytest.mark.parametrize("q", ["forankret", "læring", "kommuneplanen", "flyktning"])
def test_a_snippet_shows_whole_words(results_client: FlaskClient, q: str) -> None:
    """A window never starts or ends inside a word, however long ("olketallsutviklingen.")."""
    data = Path(kb.data.__file__).parent
    cases = json.loads((data / "cases.json").read_text("utf-8"))
    stated = json.loads((data / "demo-template.json").read_text("utf-8"))
    # The indexed body also holds the outcomes and other texts of the case, and the demo's
    # practice template fields its text states.
    bodies = {
        case["ref"]: "\n".join(
            v for v in (*case.values(), *stated.get(case["ref"], {}).values()) if isinstance(v, str)
        )
        for case in cases
    }
    found = search(results_client, q, per_page=ALL)

    assert found["results"]
    for hit in found["results"]:
        body = bodies[hit["ref"]]
        for fragment in _fragments(hit["snippet"]):
            lines = fragment.splitlines()
            at = body.find(lines[0])
            end = body.find(lines[-1]) + len(lines[-1])
            assert at >= 0 and end >= len(lines[-1]), fragment
            assert at == 0 or not body[at - 1].isalnum(), (hit["ref"], fragment[:40])
            assert end == len(body) or not body[end].isalnum(), (hit["ref"], fragment[-40:])


@pytest.mark.parametrize("q", ["flyktninger i arbeid", "refugee employment", "kotoutuminen työ"])
def test_cross_language_hits_mark_no_stray_words_of_concept_terms(
    results_client: FlaskClient, q: str
) -> None:
    """ "refugee background" and "employment rate" find cases as concept terms; their words
    alone are not what the reader asked for."""
    found = search(results_client, q, per_page=ALL)
    marked = {
        word.lower()
        for hit in found["results"]
        for word in re.findall(r"<mark>([^<]*)</mark>", hit["snippet"] + hit["title"])
    }

    assert not marked & {"background", "get", "rate", "two", "getting"}, marked


def test_a_page_past_the_end_shows_the_last_page(results_client: FlaskClient) -> None:
    pages = -(-search(results_client, "flyktning")["total"] // 20)
    response = results_client.get("/search?q=flyktning&country=NO&page=99")
    last = search(results_client, "flyktning", country="NO")
    last_pages = max(1, -(-last["total"] // 20))

    assert pages > 1
    assert response.status_code == 302
    expected = "/search?q=flyktning&country=NO" + (f"&page={last_pages}" if last_pages > 1 else "")
    assert response.headers["Location"] == expected
    page = results_client.get(response.headers["Location"]).text
    assert "Next page" not in page
    assert results_client.get("/search?q=flyktning&page=99").headers["Location"] == (
        f"/search?q=flyktning&page={pages}"
    )


def test_hits_show_municipality_period_and_themes_in_the_readers_language(
    results_client: FlaskClient,
) -> None:
    html = results_client.get(
        "/search?q=Herøy frivilligsentral", headers={"Accept-Language": "nb"}
    ).text

    assert '<span lang="nb">Herøy kommune, Helgeland (Nordland)</span>' in html
    assert ">2011-2014</span>" in html
    assert "<li>Frivillighet</li>" in html  # the theme "volunteering", in Norwegian


def test_partial_matches_are_counted_under_their_own_heading(
    results_client: FlaskClient,
) -> None:
    found = search(results_client, "volunteer mentoring", per_page=ALL)
    html = results_client.get("/search?q=volunteer+mentoring").text
    partial = sum(hit["partial"] for hit in found["results"])
    whole = found["total"] - partial

    assert whole > 0 and partial > 0
    assert found["results"][-1]["partial"] and not found["results"][0]["partial"]
    assert f"{whole} case{'s' if whole > 1 else ''} match" in html
    assert f"{partial} more match some of them." in html
    assert "Cases that match some of your words" in html
