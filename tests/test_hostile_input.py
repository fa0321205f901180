"""No input gives a 500: every route of the app, taken from its URL map, gets the inputs
that used to break it (issue 14): integers too large for a database id in the path and in
``page``, JSON nested 10,000 levels deep, and CR/LF in ``next``; anonymously, logged in as
an editor, and with an editor's API token."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from kb.models import Role
from kb.services import accounts, tokens
from tests.web_helpers import GOOD_PASSWORD, csrf_token, login

HUGE = "99999999999999999999999"
DEEP_JSON = "[" * 10_000 + "]" * 10_000
CRLF_NEXT = "/account%0d%0aSet-Cookie:%20evil=1"
#: Query parameters that name a page or a row by number.
NUMBER_PARAMS = ("page", "per_page", "session", "event", "session_id", "event_id")
WRITES = {"POST", "PUT", "PATCH", "DELETE"}
_ARGUMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?\w+>")


@pytest.fixture
def callers(app: Flask, demo: None) -> dict[str, tuple[FlaskClient, dict[str, str]]]:
    """A client per kind of caller, with the headers it sends."""
    editor = accounts.create_user("editor@example.org", Role.EDITOR)
    accounts.set_password(editor, GOOD_PASSWORD)
    token = tokens.create_token(editor, "hostile input")[1]
    logged_in = app.test_client()
    assert login(logged_in, "editor@example.org", GOOD_PASSWORD).status_code == 302
    return {
        "anonymous": (app.test_client(), {}),
        "editor": (logged_in, {}),
        "token": (app.test_client(), {"Authorization": f"Bearer {token}"}),
    }


def _rules(app: Flask) -> Iterator[Rule]:
    return (rule for rule in app.url_map.iter_rules() if rule.endpoint != "static")


def _path(rule: Rule, number: str = "1") -> str:
    """The rule's path with every int argument ``number`` and every other one ``x``."""
    return _ARGUMENT.sub(lambda m: number if m[1] == "int" else "x", rule.rule)


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _no_server_error(response: object, what: str) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500, f"{what}: {status}"


def test_the_url_map_is_covered(app: Flask) -> None:
    """The other tests reach what they claim: routes with int arguments, forms, the API."""
    with_int = [r for r in _rules(app) if "<int:" in r.rule]
    assert len(with_int) >= 15
    assert any(r.rule == "/language/<code>" for r in _rules(app))
    assert {"/api/v1/cases", "/submissions/new", "/login"} <= {r.rule for r in _rules(app)}


@pytest.mark.parametrize("caller", ["anonymous", "editor", "token"])
def test_integers_too_large_for_an_id_are_not_found(
    app: Flask, callers: dict[str, tuple[FlaskClient, dict[str, str]]], caller: str
) -> None:
    client, headers = callers[caller]
    rules = [r for r in _rules(app) if "<int:" in r.rule]
    for rule in rules:
        path = _path(rule, HUGE)
        for method in _methods(rule):
            response = client.open(path, method=method, headers=headers)
            assert response.status_code == 404, f"{method} {path}: {response.status_code}"
    for path in ("/api/v1/cases/" + HUGE, "/api/v1/cases/" + HUGE + "/materials"):
        for method in ("GET", "PATCH", "POST"):
            response = client.open(path, method=method, headers=headers, json={})
            _no_server_error(response, f"{method} {path}")


@pytest.mark.parametrize("caller", ["anonymous", "editor", "token"])
def test_huge_page_and_id_parameters_give_no_server_error(
    app: Flask, callers: dict[str, tuple[FlaskClient, dict[str, str]]], caller: str
) -> None:
    client, headers = callers[caller]
    query = "&".join(f"{name}={HUGE}" for name in NUMBER_PARAMS)
    pages = [r for r in _rules(app) if "GET" in (r.methods or ()) and not r.arguments]
    assert len(pages) >= 20
    for rule in pages:
        for one in (f"page={HUGE}", query, "page=-1", "page=0"):
            with client.get(f"{rule.rule}?{one}", headers=headers) as response:  # files close
                _no_server_error(response, f"GET {rule.rule}?{one}")
    assert client.get(f"/cases/?page={HUGE}").status_code == 404
    api = client.get(f"/api/v1/cases?page={HUGE}", headers=headers)
    assert api.status_code == 400 and api.get_json()["error"]["details"] == {"parameter": "page"}


@pytest.mark.parametrize("caller", ["anonymous", "editor", "token"])
def test_deeply_nested_json_is_refused_on_every_write(
    app: Flask, callers: dict[str, tuple[FlaskClient, dict[str, str]]], caller: str
) -> None:
    client, headers = callers[caller]
    writes = [(r, m) for r in _rules(app) for m in _methods(r) if m in WRITES]
    assert len(writes) >= 20
    for rule, method in writes:
        path = _path(rule)
        response = client.open(
            path,
            method=method,
            data=DEEP_JSON,
            content_type="application/json",
            headers=headers,
        )
        assert response.status_code == 400, f"{method} {path}: {response.status_code}"
    refused = client.post("/api/v1/cases", data=DEEP_JSON, content_type="application/json")
    assert "nested too deeply" in refused.get_json()["error"]["message"]


def test_json_within_the_depth_limit_is_read(
    client: FlaskClient, callers: dict[str, tuple[FlaskClient, dict[str, str]]]
) -> None:
    """32 levels pass the guard (and get the API's own answer: not a case)."""
    _client, headers = callers["token"]
    body = '{"title": ' + "[" * 31 + "]" * 31 + "}"
    response = client.post(
        "/api/v1/cases", data=body, content_type="application/json", headers=headers
    )
    assert response.status_code == 422


def test_control_characters_in_next_fall_back_to_a_page_of_this_site(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    accounts.set_password(accounts.create_user("nextuser@example.org", Role.EDITOR), GOOD_PASSWORD)
    takes_next = [r for r in _rules(app) if r.rule in ("/language/<code>", "/login")]
    assert len(takes_next) == 2
    for target in (CRLF_NEXT, "/%0a", "/cases/%09x", "/%e2%80%a8"):
        language = client.get(f"/language/sv?next={target}")
        assert language.status_code == 302 and language.headers["Location"] == "/"
        page = client.get(f"/login?next={target}")
        assert page.status_code == 200
        assert "Set-Cookie" not in page.headers or "evil" not in page.headers["Set-Cookie"]
    url = f"/login?next={CRLF_NEXT}"
    token = csrf_token(client.get(url).text)
    done = client.post(
        url,
        data={
            "csrf_token": token,
            "email": "nextuser@example.org",
            "password": GOOD_PASSWORD,
            "next": "/account\r\nSet-Cookie: evil=1",
        },
    )
    assert done.status_code == 302 and done.headers["Location"] == "/editor/"
    assert "evil" not in str(done.headers)
    assert client.get("/account").status_code == 200  # the login took effect, wholly
