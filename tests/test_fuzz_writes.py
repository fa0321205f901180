"""Hypothesis fuzzing of the two ways to write a case: the web form (a logged-in speaker with
a CSRF token) and the API's JSON body (a speaker's token). Whatever is sent, the answer is
never a server error, and a refused write leaves every stored row as it was."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.extensions import db
from kb.models import Role
from kb.services import accounts, tokens
from tests.web_helpers import GOOD_PASSWORD, form_values, login, with_values

EXAMPLES = 60
#: Written by requests that change nothing else: a token's last use.
VOLATILE = {"api_tokens"}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)

#: Text as hostile users type it: control characters, NUL, padding, markup, huge numbers.
nasty_text = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(
        ["", " ", "\x00", "\x0b", "\r\n", "\u2028", "9" * 30, "-1", "1e309", "NaN", "<script>"]
    ),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | nasty_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(nasty_text, inner, max_size=3),
    max_leaves=8,
)
CASE_KEYS = (
    "title",
    "language",
    "country",
    "summary",
    "body",
    "period",
    "themes",
    "key_figures",
    "links",
    "contacts",
    "materials",
    "sessions",
    "status",
    "ref",
    "practice_status",
    "practice_status_year",
    "budget_band",
    "evaluation_url",
    "lessons_learned",
)
#: A case the form saves; each example changes a few of its fields.
GOOD_CASE = {
    "title": "Språkpraksis i lokale bedrifter",
    "summary": "Flyktninger lærer norsk på jobb i lokale bedrifter.",
    "body": "Kommunen og bedriftene laget sammen et løp med språkpraksis og fagopplæring.",
    "country": "NO",
    "themes": ["employment"],
    "contacts__0__name": "Kari Nordmann",
}
FORM_FIELDS = (
    "title",
    "country",
    "language",
    "summary",
    "body",
    "start_year",
    "end_year",
    "themes",
    "key_figures-0-label",
    "key_figures-0-value",
    "key_figures-0-year",
    "key_figures-0-source",
    "practice_status",
    "practice_status_year",
    "budget_band",
    "evaluation_url",
    "links-0-url",
    "contacts-0-name",
    "contacts-0-email",
    "contacts-0-phone",
    "presented_at",
    "csrf_token",
)


def _rows() -> dict[str, list[str]]:
    """Every stored row of every table (but VOLATILE), to compare before and after."""
    db.session.rollback()  # a fresh snapshot: see what the requests committed
    return {
        table.name: sorted(repr(tuple(row)) for row in db.session.execute(table.select()))
        for table in db.metadata.sorted_tables
        if table.name not in VOLATILE
    }


def _sent_and_checked(send: Any, seen: set[int]) -> None:
    """Send once; no 5xx, and a refused request (4xx) changed no stored row."""
    before = _rows()
    response = send()
    assert response.status_code < 500, response.get_data(as_text=True)[:500]
    if 400 <= response.status_code < 500:
        assert _rows() == before
    seen.add(response.status_code // 100)


@pytest.fixture
def speaker(app: Flask, demo: None) -> tuple[FlaskClient, str]:
    """A logged-in speaker's browser and the same speaker's API token."""
    user = accounts.create_user("fuzz@example.org", Role.SPEAKER)
    accounts.set_password(user, GOOD_PASSWORD)
    token = tokens.create_token(user, "fuzz")[1]
    client = app.test_client()
    assert login(client, "fuzz@example.org", GOOD_PASSWORD).status_code == 302
    return client, token


@pytest.mark.slow
def test_the_case_form_survives_anything(speaker: tuple[FlaskClient, str]) -> None:
    client, _token = speaker
    form = form_values(client.get("/submissions/new").text, "/submissions/")
    valid = with_values(form, **GOOD_CASE)

    @FUZZ
    @given(st.dictionaries(st.sampled_from(FORM_FIELDS), nasty_text, min_size=1, max_size=6))
    def post(changes: dict[str, str]) -> None:
        data = {**valid, **changes}
        _sent_and_checked(lambda: client.post("/submissions/new", data=data), seen)

    seen: set[int] = set()
    post()
    assert seen == {3, 4}  # some saved, some refused: both paths were taken


@pytest.mark.slow
def test_the_api_write_body_survives_anything(speaker: tuple[FlaskClient, str]) -> None:
    client, token = speaker
    headers = {"Authorization": f"Bearer {token}"}
    own = client.post(
        "/api/v1/cases",
        json={"title": "Fuzzed", "language": "en", "country": "SE"},
        headers=headers,
    )
    assert own.status_code == 201
    own_url = f"/api/v1/cases/{own.get_json()['id']}"

    @FUZZ
    @given(
        st.dictionaries(st.sampled_from(CASE_KEYS), json_values, max_size=6) | json_values,
        st.sampled_from(["POST", "PATCH"]),
    )
    def write(body: Any, method: str) -> None:
        url = "/api/v1/cases" if method == "POST" else own_url
        _sent_and_checked(lambda: client.open(url, method=method, json=body, headers=headers), seen)

    seen: set[int] = set()
    write()
    assert seen == {2, 4}  # some saved, some refused: both paths were taken
