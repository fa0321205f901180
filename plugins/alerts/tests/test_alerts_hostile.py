"""The alerts routes under hostile input: the core's url_map tests run without this plugin
(it is off by default), so its routes get the same treatment here: CR/LF, huge numbers,
over-long and nested values, forged tokens give a 4xx or a page, never a 5xx."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from kb import schema
from tests.conftest import ALL_PLUGINS
from tests.web_helpers import csrf_token

HOSTILE = (
    "a@example.org\r\nBcc: victim@example.org",
    "9" * 400,
    "x" * 100_000,
    '{"a": ' * 500 + "1" + "}" * 500,
    "\x00\x1b[31m",
)


@pytest.fixture
def plugins() -> str:
    return f"{ALL_PLUGINS},alerts"


@pytest.fixture(autouse=True)
def alerts_table(app: Flask) -> Iterator[None]:
    schema.upgrade()
    yield


def _alert_rules(app: Flask) -> list[str]:
    return sorted(
        rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("plugin_alerts.")
    )


def test_every_alerts_route_answers_hostile_input_without_a_server_error(
    app: Flask, client: FlaskClient, demo: None
) -> None:
    rules = _alert_rules(app)
    assert len(rules) >= 5, rules
    token = csrf_token(client.get("/login").text)
    wrong = {}
    for rule in rules:
        for value in HOSTILE:
            path = rule.replace("<token>", value[:2000])
            fields = {
                "csrf_token": token,
                "email": value,
                "alert-email": value,
                "alert-kind": value,
                "alert-target": value,
                "alert-frequency": value,
                "kind": value,
                "target": value,
            }
            for method in ("GET", "POST"):
                response = client.open(path, method=method, query_string=fields, data=fields)
                if response.status_code >= 500:
                    wrong[f"{method} {rule} {value[:20]!r}"] = response.status_code
    assert not wrong, wrong
