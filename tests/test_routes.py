"""Every route, for every kind of visitor: the status each one gets.

The table must list every endpoint of the app: a new route fails this test until its
access rules are written down here.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select

from kb.cli import main
from kb.extensions import db
from kb.models import Case, Material, Person, Role
from kb.services import accounts
from tests.web_helpers import GOOD_PASSWORD, login

VISITORS = ("anonymous", "speaker", "editor", "admin")
EVERYONE_200 = dict.fromkeys(VISITORS, 200)

#: endpoint -> (URL values, expected status per visitor) for a GET.
ROUTES: dict[str, tuple[dict[str, Any], dict[str, int]]] = {
    "static": ({"filename": "kb.css"}, EVERYONE_200),
    "public.home": ({}, EVERYONE_200),
    "public.cases": ({}, EVERYONE_200),
    "public.case": ({"slug": "{case}"}, EVERYONE_200),
    "public.events": ({}, EVERYONE_200),
    "public.event": ({"slug": "nyanlanda-i-jobb"}, EVERYONE_200),
    "public.session": (
        {"event_slug": "nyanlanda-i-jobb", "slug": "sysselsetting-av-innvandrere"},
        EVERYONE_200,
    ),
    "public.person": ({"slug": "{person}"}, EVERYONE_200),
    "public.organisation": ({"slug": "nordregio"}, EVERYONE_200),
    "public.theme": ({"key": "employment"}, EVERYONE_200),
    "public.about": ({}, EVERYONE_200),
    "public.language": ({"code": "sv"}, dict.fromkeys(VISITORS, 302)),
    "public.material_file": ({"material_id": "{material}", "filename": "x.pdf"}, EVERYONE_200),
    "search.page": ({}, EVERYONE_200),
    "search.api": ({}, EVERYONE_200),
    "auth.login": ({}, EVERYONE_200),
    "auth.logout": ({}, dict.fromkeys(VISITORS, 405)),
    "auth.forgot_password": ({}, EVERYONE_200),
    "auth.set_password": ({"token": "forged"}, dict.fromkeys(VISITORS, 400)),
    "auth.invitation": ({"token": "forged"}, dict.fromkeys(VISITORS, 400)),
    "auth.account": ({}, {"anonymous": 302, "speaker": 200, "editor": 200, "admin": 200}),
}


@pytest.fixture
def demo_values(app: Flask, runner: FlaskCliRunner) -> dict[str, str]:
    assert runner.invoke(main, ["demo"]).exit_code == 0
    for role in (Role.SPEAKER, Role.EDITOR, Role.ADMIN):
        accounts.set_password(accounts.create_user(f"{role}@example.org", role), GOOD_PASSWORD)
    return {
        "case": db.session.scalar(select(Case.slug).where(Case.ref == "c04")),
        "person": db.session.scalar(select(Person.slug).where(Person.name == "Lars Fredrik Mørch")),
        "material": str(
            db.session.scalar(select(Material.id).where(Material.stored_name.is_not(None)))
        ),
    }


def test_every_route_is_listed(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}

    assert endpoints - ROUTES.keys() == set(), "add the new routes to ROUTES with their rules"
    assert ROUTES.keys() - endpoints == set(), "ROUTES lists routes that no longer exist"


@pytest.mark.parametrize("visitor", VISITORS)
def test_each_visitor_gets_the_expected_status_everywhere(
    app: Flask, client: FlaskClient, demo_values: dict[str, str], visitor: str
) -> None:
    if visitor != "anonymous":
        assert login(client, f"{visitor}@example.org", GOOD_PASSWORD).status_code == 302
    wrong = {}
    for endpoint, (values, expected) in ROUTES.items():
        filled = {k: str(v).format(**demo_values) for k, v in values.items()}
        with app.test_request_context():
            url = url_for(endpoint, **filled)
        with client.get(url) as response:  # closes streamed files (static, downloads)
            status = response.status_code
        if status != expected[visitor]:
            wrong[endpoint] = (url, status, expected[visitor])
    assert not wrong, wrong
