"""The contact forms of case and person pages: POST a message, then a confirmation page.

Works without JavaScript: a sent message redirects to a confirmation page (so reloading
does not send it again); a problem shows the page again with the form as it was sent and
its errors at the fields. A visitor who sends too many is answered 429 with the same page,
the text kept. A filled-in honeypot gets the same confirmation, and nothing is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Blueprint, Flask, abort, current_app, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_limiter.util import get_remote_address

from kb.i18n import _
from kb.models import Case, Person
from kb.ratelimit.quota import spend
from kb.services import catalogue, contact_messages
from kb.services.contact_messages import NotSent, TooManyForRecipient
from kb.web.contact_form import ContactForm
from kb.web.public import case_page, person_page

bp = Blueprint("contact", __name__)

#: Where each visitor's count lives in the rate-limit storage (both forms share it).
VISITOR_SCOPE = "contact-visitor"


def _published_case(slug: str) -> Case:
    case = catalogue.published_case(slug)
    if case is None:
        abort(404)
    return case


def _public_person(slug: str) -> Person:
    person = catalogue.person(slug)
    if person is None:
        abort(404)
    return person


@bp.post("/cases/<slug>/contact")
def case(slug: str) -> ResponseReturnValue:
    case = _published_case(slug)
    form = ContactForm()
    refused = _answer(form, lambda: contact_messages.send_about_case(case, form.visitor_message()))
    if refused is not None:
        return case_page(case, form, refused.status, refused.headers)
    return redirect(url_for("contact.case_sent", slug=case.slug), 303)


@bp.get("/cases/<slug>/contact")
def case_sent(slug: str) -> ResponseReturnValue:
    case = _published_case(slug)
    return render_template(
        "contact_sent.html",
        title=case.title,
        title_lang=case.language,
        back=url_for("public.case", slug=case.slug),
        editors=contact_messages.goes_to_editors(case),
    )


@bp.post("/people/<slug>/contact")
def person(slug: str) -> ResponseReturnValue:
    person = _public_person(slug)
    form = ContactForm()
    language = _known_for(person)
    refused = _answer(
        form, lambda: contact_messages.send_to_person(person, language, form.visitor_message())
    )
    if refused is not None:
        return person_page(person, form, refused.status, refused.headers)
    return redirect(url_for("contact.person_sent", slug=person.slug), 303)


@bp.get("/people/<slug>/contact")
def person_sent(slug: str) -> ResponseReturnValue:
    person = _public_person(slug)
    return render_template(
        "contact_sent.html",
        title=person.name,
        title_lang=None,
        back=url_for("public.person", slug=person.slug),
        editors=contact_messages.goes_to_editors(person),
    )


def _known_for(person: Person) -> str | None:
    """The language of the content a person is a contact for: their first case's."""
    cases = catalogue.cases_with_contact(person)
    return cases[0].language if cases else None


@dataclass(frozen=True)
class Refused:
    """The page comes back with this status (and headers), the form as it was sent."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def wait(cls, seconds: int) -> Refused:
        return cls(429, {"Retry-After": str(seconds)})


def _answer(form: ContactForm, send: Callable[[], object]) -> Refused | None:
    """Check and send; None when done (or dropped as a program's), else why not."""
    if not form.validate_on_submit():
        return Refused(422)
    wait = spend(_visitor_limit(), VISITOR_SCOPE, [get_remote_address()])
    if wait:
        form.form_errors.append(
            _(
                "You have sent several messages in a short time. Please wait a minute and "
                "send this one again; your text is still here."
            )
        )
        return Refused.wait(wait)
    if form.is_from_a_program():
        return None
    try:
        send()
    except TooManyForRecipient as refused:
        form.form_errors.append(str(refused))
        return Refused.wait(refused.retry_after)
    except NotSent as failed:
        form.form_errors.append(str(failed))
        return Refused(503)
    return None


def _visitor_limit() -> str:
    return str(current_app.config["CONTACT_LIMIT_PER_VISITOR"])


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
