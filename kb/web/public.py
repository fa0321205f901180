"""Public pages: what participants and municipal staff read without an account."""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue

from kb.i18n import LANGUAGE_COOKIE, ui_language
from kb.models import Case, Person, Vocabulary
from kb.paging import page_count
from kb.services import catalogue, contact_messages
from kb.web.contact_form import ContactForm
from kb.web.downloads import send_material
from kb.web.search_params import MAX_PAGE
from kb.web.urls import is_local_path

bp = Blueprint("public", __name__)
T = TypeVar("T")


def _found(item: T | None) -> T:
    if item is None:
        abort(404)
    return item


@bp.get("/")
def home() -> ResponseReturnValue:
    return render_template(
        "home.html",
        cases=catalogue.latest_cases(),
        events=catalogue.events()[:6],
        themes=catalogue.vocabulary(Vocabulary.THEME),
    )


@bp.get("/cases/")
def cases() -> ResponseReturnValue:
    number = request.args.get("page", 1, type=int)
    if number < 1 or number > MAX_PAGE:
        abort(404)
    page = catalogue.published_cases(number)
    if number > page_count(page.total, page.per_page):
        abort(404)
    return render_template("cases.html", page=page)


@bp.get("/cases/<slug>")
def case(slug: str) -> ResponseReturnValue:
    return case_page(_found(catalogue.published_case(slug)))


def case_page(
    case: Case,
    contact_form: ContactForm | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> ResponseReturnValue:
    """A published case's page; ``contact_form``: as the visitor sent it (with its errors)."""
    return _with_contact_form("case.html", case, contact_form, status, headers, case=case)


@bp.get("/events/")
def events() -> ResponseReturnValue:
    today = date.today()
    return render_template("events.html", events=catalogue.events(), today=today)


@bp.get("/events/<slug>")
def event(slug: str) -> ResponseReturnValue:
    event = _found(catalogue.event(slug))
    return render_template("event.html", event=event, cases=catalogue.cases_presented(event=event))


@bp.get("/events/<event_slug>/<slug>")
def session(event_slug: str, slug: str) -> ResponseReturnValue:
    session = _found(catalogue.session(event_slug, slug))
    return render_template(
        "session.html", session=session, cases=catalogue.cases_presented(session=session)
    )


@bp.get("/people/<slug>")
def person(slug: str) -> ResponseReturnValue:
    return person_page(_found(catalogue.person(slug)))


def person_page(
    person: Person,
    contact_form: ContactForm | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> ResponseReturnValue:
    """A public person's page; ``contact_form``: as the visitor sent it (with its errors)."""
    return _with_contact_form(
        "person.html",
        person,
        contact_form,
        status,
        headers,
        person=person,
        cases=catalogue.cases_with_contact(person),
        sessions=catalogue.sessions_with(person),
    )


def _with_contact_form(
    template: str,
    about: Case | Person,
    contact_form: ContactForm | None,
    status: int,
    headers: dict[str, str] | None,
    **context: object,
) -> ResponseReturnValue:
    """A page that carries the contact form: blank, or as sent with its errors and status."""
    return (
        render_template(
            template,
            contact_form=contact_form or ContactForm(),
            contact_editors=contact_messages.goes_to_editors(about),
            **context,
        ),
        status,
        headers or {},
    )


@bp.get("/organisations/<slug>")
def organisation(slug: str) -> ResponseReturnValue:
    organisation = _found(catalogue.organisation(slug))
    return render_template(
        "organisation.html",
        organisation=organisation,
        people=catalogue.people_of(organisation),
        cases=catalogue.cases_of(organisation),
    )


@bp.get("/themes/<key>")
def theme(key: str) -> ResponseReturnValue:
    term = _found(catalogue.term(Vocabulary.THEME, key))
    return render_template("theme.html", term=term, cases=catalogue.cases_with_term(term))


@bp.get("/about")
def about() -> ResponseReturnValue:
    return render_template("about.html")


@bp.get("/favicon.ico")
def favicon() -> ResponseReturnValue:
    """Browsers ask for /favicon.ico whatever the page links: they get the SVG icon
    (and no 404 in the log on every first visit)."""
    return current_app.send_static_file("favicon.svg")


@bp.get("/language/<code>")
def language(code: str) -> ResponseReturnValue:
    """Remember the reader's UI language and go back to the page they were on."""
    chosen = ui_language(code)
    if chosen is None:
        abort(404)
    target = request.args.get("next", "")
    if not is_local_path(target):
        target = url_for("public.home")
    response = redirect(target)
    response.set_cookie(
        LANGUAGE_COOKIE,
        chosen,
        max_age=365 * 24 * 3600,
        secure=request.is_secure,
        httponly=True,
        samesite="Lax",
    )
    return response


@bp.get("/materials/<int:material_id>/<path:filename>")
def material_file(material_id: int, filename: str) -> ResponseReturnValue:
    """Serve a stored file as a download, never inline, under the name it was uploaded with."""
    material = _found(catalogue.public_material(material_id))
    if not material.is_file:
        abort(404)
    return send_material(material, max_age=3600)
