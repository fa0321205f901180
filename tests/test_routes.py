"""Every route, for every kind of visitor: the status each one gets.

The tables must list every endpoint of the app: a new route fails this test until its
access rules are written down here. "speaker" is a speaker looking at another speaker's
case, "owner" the speaker who wrote it; routes of POST-only actions are also posted to
(with a valid CSRF token), so their access check is tested, not only the method.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from kb.extensions import db
from kb.models import Case, Material, Person, Role, Vocabulary
from kb.services import accounts, catalogue, submissions, tokens
from tests.web_helpers import GOOD_PASSWORD, csrf_token, login

VISITORS = ("anonymous", "speaker", "owner", "editor", "admin")
EVERYONE_200 = dict.fromkeys(VISITORS, 200)
ACCOUNTS_200 = {"anonymous": 302, "speaker": 200, "owner": 200, "editor": 200, "admin": 200}
EDITORS_200 = {"anonymous": 302, "speaker": 403, "owner": 403, "editor": 200, "admin": 200}
POST_ONLY = dict.fromkeys(VISITORS, 405)

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
    "public.favicon": ({}, EVERYONE_200),
    "public.language": ({"code": "sv"}, dict.fromkeys(VISITORS, 302)),
    "public.material_file": ({"material_id": "{material}", "filename": "x.pdf"}, EVERYONE_200),
    "search.page": ({}, EVERYONE_200),
    "contact.case_sent": ({"slug": "{case}"}, EVERYONE_200),
    "contact.person_sent": ({"slug": "{person}"}, EVERYONE_200),
    # Their URLs also answer GET (the confirmation page); the POST rules are in POSTS.
    "contact.case": ({"slug": "{case}"}, EVERYONE_200),
    "contact.person": ({"slug": "{person}"}, EVERYONE_200),
    "api.cases": ({}, EVERYONE_200),
    "api.case": ({"key": "{case}"}, EVERYONE_200),
    "api.cases_table": ({}, EVERYONE_200),
    "api.dump": ({}, EVERYONE_200),
    "api.events": ({}, EVERYONE_200),
    "api.event": ({"slug": "nyanlanda-i-jobb"}, EVERYONE_200),
    "api.session": (
        {"event_slug": "nyanlanda-i-jobb", "slug": "sysselsetting-av-innvandrere"},
        EVERYONE_200,
    ),
    "api.people": ({}, EVERYONE_200),
    "api.person": ({"slug": "{person}"}, EVERYONE_200),
    "api.organisations": ({}, EVERYONE_200),
    "api.organisation": ({"slug": "nordregio"}, EVERYONE_200),
    "api.vocabularies": ({}, EVERYONE_200),
    "api.search": ({}, EVERYONE_200),
    "api.openapi": ({}, EVERYONE_200),
    # Their URLs also answer GET (a case), so these are the write rules' own expectations.
    "api.create_case": ({}, EVERYONE_200),
    "api.update_case": ({"key": "{draft}"}, dict.fromkeys(VISITORS, 404)),
    "api.attach_material": ({"key": "{draft}"}, dict.fromkeys(VISITORS, 405)),
    "auth.login": ({}, EVERYONE_200),
    "auth.logout": ({}, dict.fromkeys(VISITORS, 405)),
    "auth.forgot_password": ({}, EVERYONE_200),
    "auth.set_password": ({"token": "forged"}, dict.fromkeys(VISITORS, 400)),
    "auth.invitation": ({"token": "forged"}, dict.fromkeys(VISITORS, 400)),
    "auth.account": ({}, ACCOUNTS_200),
    "auth.create_token": ({}, POST_ONLY),
    "auth.revoke_token": ({"token_id": "{token}"}, POST_ONLY),
    "submission.mine": ({}, ACCOUNTS_200),
    "submission.new": ({}, ACCOUNTS_200),
    "submission.edit": (
        {"case_id": "{draft}"},
        {"anonymous": 302, "speaker": 403, "owner": 200, "editor": 200, "admin": 200},
    ),
    "review.queue": ({}, EDITORS_200),
    "review.case": ({"case_id": "{draft}"}, EDITORS_200),
    "review.decide": ({"case_id": "{draft}"}, POST_ONLY),
    # The owner may restore their draft; another speaker may not.
    "review.restore": (
        {"case_id": "{draft}", "number": 1},
        {"anonymous": 302, "speaker": 403, "owner": 200, "editor": 200, "admin": 200},
    ),
    "review.proposal": ({"case_id": "{draft}"}, POST_ONLY),
    "submission.material_file": (
        {"case_id": "{draft}", "material_id": 999999, "filename": "x.pdf"},
        {"anonymous": 302, "speaker": 403, "owner": 404, "editor": 404, "admin": 404},
    ),
    "review.invite": ({}, EDITORS_200),
    "freshness.stale": ({}, EDITORS_200),
    "freshness.confirm": ({"case_id": "{case_id}"}, POST_ONLY),
    "freshness.confirm_link": ({"token": "forged"}, dict.fromkeys(VISITORS, 400)),
    "freshness.update_link": ({"token": "forged"}, dict.fromkeys(VISITORS, 400)),
    "review.delete": ({"case_id": "{draft}"}, EDITORS_200),
    "exports.case": ({"slug": "{case}", "key": "json"}, EVERYONE_200),
    "exports.results": ({"key": "csv"}, EVERYONE_200),
    "plugin_exports.static": ({"filename": "print.css"}, EVERYONE_200),
    "plugin_feeds.cases": ({}, EVERYONE_200),
    # A result link from a search: counts the opening (an unknown token changes nothing) and
    # redirects to the case itself.
    "plugin_analytics.opened": (
        {"token": "abcdefgh", "case": "{case}"},
        dict.fromkeys(VISITORS, 302),
    ),
    "plugin_analytics.report": ({}, EDITORS_200),
    "plugin_analytics.report_csv": ({}, EDITORS_200),
    "plugin_ical.programme": ({"slug": "integrering-i-norden-2018"}, EVERYONE_200),
    "plugin_ical.session": (
        {"event_slug": "integrering-i-norden-2018", "slug": "apning"},
        EVERYONE_200,
    ),
    # Without a verb: an OAI-PMH badVerb document, with 200 as the protocol wants.
    "plugin_oai_pmh.oai": ({}, EVERYONE_200),
    "manage.events": ({}, EDITORS_200),
    "manage.new_event": ({}, EDITORS_200),
    "manage.event": ({"event_id": "{event}"}, EDITORS_200),
    "manage.new_session": ({"event_id": "{event}"}, EDITORS_200),
    "manage.session": ({"session_id": "{session}"}, EDITORS_200),
    "manage.add_link": ({"session_id": "{session}"}, POST_ONLY),
    "manage.add_file": ({"session_id": "{session}"}, POST_ONLY),
    "manage.remove_material": ({"material_id": "{material}"}, POST_ONLY),
    "manage.people_list": ({}, EDITORS_200),
    "manage.new_person": ({}, EDITORS_200),
    "manage.person": ({"person_id": "{person_id}"}, EDITORS_200),
    "manage.export_person": ({"person_id": "{person_id}"}, EDITORS_200),
    "manage.erase_person": ({"person_id": "{person_id}"}, EDITORS_200),
    "manage.organisations": ({}, EDITORS_200),
    "manage.new_organisation": ({}, EDITORS_200),
    "manage.organisation": ({"organisation_id": "{organisation}"}, EDITORS_200),
    "manage.vocabularies": ({}, EDITORS_200),
    "manage.new_term": ({}, EDITORS_200),
    "manage.term": ({"term_id": "{term}"}, EDITORS_200),
}

#: POST-only endpoints -> (URL values, form data, expected status per visitor). The data is
#: harmless: an unknown decision, a revision that does not exist.
POSTS: dict[str, tuple[dict[str, Any], dict[str, str], dict[str, int]]] = {
    "review.decide": (
        {"case_id": "{draft}"},
        {"decision": "none"},
        {"anonymous": 302, "speaker": 403, "owner": 403, "editor": 409, "admin": 409},
    ),
    # A draft has no proposal to publish.
    "review.proposal": (
        {"case_id": "{draft}"},
        {"decision": "publish"},
        {"anonymous": 302, "speaker": 403, "owner": 403, "editor": 409, "admin": 409},
    ),
    "manage.add_link": (
        {"session_id": "{session}"},
        {"url": "not a link"},
        {"anonymous": 302, "speaker": 403, "owner": 403, "editor": 422, "admin": 422},
    ),
    "manage.add_file": (
        {"session_id": "{session}"},
        {},
        {"anonymous": 302, "speaker": 403, "owner": 403, "editor": 422, "admin": 422},
    ),
    "manage.remove_material": (
        {"material_id": "999999"},
        {},
        {"anonymous": 302, "speaker": 403, "owner": 403, "editor": 404, "admin": 404},
    ),
    # Editors confirm any published case; a speaker only their own (this one has no owner).
    "freshness.confirm": (
        {"case_id": "{case_id}"},
        {"back": "stale"},
        {"anonymous": 302, "speaker": 403, "owner": 403, "editor": 302, "admin": 302},
    ),
    # A token without a name is refused; only the owner's token is theirs to revoke.
    "auth.create_token": (
        {},
        {"name": ""},
        {"anonymous": 302, "speaker": 422, "owner": 422, "editor": 422, "admin": 422},
    ),
    "auth.revoke_token": (
        {"token_id": "{token}"},
        {},
        {"anonymous": 302, "speaker": 404, "owner": 302, "editor": 404, "admin": 404},
    ),
    # Anyone may write to the people behind a case; an empty form is refused at its fields.
    "contact.case": ({"slug": "{case}"}, {}, dict.fromkeys(VISITORS, 422)),
    "contact.person": ({"slug": "{person}"}, {}, dict.fromkeys(VISITORS, 422)),
    # The API takes no cookies: without a bearer token, everyone is refused.
    "api.create_case": ({}, {}, dict.fromkeys(VISITORS, 401)),
    "api.update_case": ({"key": "{draft}"}, {}, dict.fromkeys(VISITORS, 401)),
    "api.attach_material": ({"key": "{draft}"}, {}, dict.fromkeys(VISITORS, 401)),
    # Last: it ends the session.
    "auth.logout": ({}, {}, dict.fromkeys(VISITORS, 302)),
}


#: POSTS entries sent with another method than POST.
WRITE_METHODS = {"api.update_case": "PATCH"}


@pytest.fixture
def demo_values(app: Flask, demo: None) -> dict[str, str]:
    for visitor in VISITORS[1:]:
        role = Role.SPEAKER if visitor == "owner" else Role(visitor)
        accounts.set_password(accounts.create_user(f"{visitor}@example.org", role), GOOD_PASSWORD)
    owner = accounts.find_user("owner@example.org")
    draft = submissions.save(
        None,
        submissions.Submission(fields={"title": "Utkast", "language": "nb", "country": "NO"}),
        owner,
    )
    event = catalogue.event("nyanlanda-i-jobb")
    token, _secret = tokens.create_token(owner, "Portal")
    return {
        "token": str(token.id),
        "draft": str(draft.id),
        "event": str(event.id),
        "session": str(catalogue.session(event.slug, "sysselsetting-av-innvandrere").id),
        "person_id": str(
            db.session.scalar(select(Person.id).where(Person.name == "Lars Fredrik Mørch"))
        ),
        "organisation": str(catalogue.organisation("nordregio").id),
        "term": str(catalogue.term(Vocabulary.THEME, "employment").id),
        "case": db.session.scalar(select(Case.slug).where(Case.ref == "c04")),
        "case_id": str(db.session.scalar(select(Case.id).where(Case.ref == "c04"))),
        "person": db.session.scalar(select(Person.slug).where(Person.name == "Lars Fredrik Mørch")),
        "material": str(
            db.session.scalar(select(Material.id).where(Material.stored_name.is_not(None)))
        ),
    }


def test_every_route_is_listed(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}

    assert endpoints - ROUTES.keys() == set(), "add the new routes to ROUTES with their rules"
    assert ROUTES.keys() - endpoints == set(), "ROUTES lists routes that no longer exist"
    post_only = {r.endpoint for r in app.url_map.iter_rules() if "GET" not in (r.methods or ())}
    assert post_only == POSTS.keys(), "list POST-only routes in POSTS with their rules"


@pytest.mark.parametrize("visitor", VISITORS)
def test_each_visitor_gets_the_expected_status_everywhere(
    app: Flask, client: FlaskClient, demo_values: dict[str, str], visitor: str
) -> None:
    if visitor != "anonymous":
        assert login(client, f"{visitor}@example.org", GOOD_PASSWORD).status_code == 302
    wrong = {}
    for endpoint, (values, expected) in ROUTES.items():
        url = _url(app, endpoint, values, demo_values)
        with client.get(url) as response:  # closes streamed files (static, downloads)
            status = response.status_code
        if status != expected[visitor]:
            wrong[endpoint] = (url, status, expected[visitor])
    for endpoint, (values, data, expected) in POSTS.items():
        url = _url(app, endpoint, values, demo_values)
        token = csrf_token(client.get("/login").text)
        method = WRITE_METHODS.get(endpoint, "POST")
        status = client.open(url, method=method, data={"csrf_token": token, **data}).status_code
        if status != expected[visitor]:
            wrong[f"POST {endpoint}"] = (url, status, expected[visitor])
    assert not wrong, wrong


def _url(app: Flask, endpoint: str, values: dict[str, Any], demo_values: dict[str, str]) -> str:
    filled = {k: str(v).format(**demo_values) for k, v in values.items()}
    with app.test_request_context():
        return url_for(endpoint, **filled)
