"""Friendly error pages with the reason in the user's language."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from kb.i18n import _l
from kb.services.mail import MailNotSent
from kb.web import api
from kb.web.api.http import from_http_exception

TITLES = {
    400: _l("The request could not be understood"),
    403: _l("You do not have access to this page"),
    404: _l("Page not found"),
    405: _l("This action is not allowed here"),
    413: _l("The upload is too large"),
    429: _l("Too many attempts"),
    500: _l("Something went wrong on our side"),
    503: _l("The e-mail could not be sent"),
}

# Werkzeug's own English descriptions are replaced; a message a view gave is kept.
DEFAULT_MESSAGES = {
    400: _l("Please check the address or the form and try again."),
    403: _l("If you think you should have access, ask an editor."),
    404: _l("The page may have moved, or the address may be mistyped."),
    405: _l("Go back and try again."),
    413: _l("Please upload a smaller file."),
    429: _l("Please wait a few minutes and try again."),
    500: _l("The error has been logged. Please try again in a moment."),
    503: _l("Our mail server could not be reached just now. Please try again in a few minutes."),
}


CSRF_MESSAGE = _l(
    "The form had expired or did not come from this site. Go back, reload the page and try again."
)
#: Extensions (Flask-Limiter) describe these in English; the user gets our message.
_OWN_MESSAGE_ONLY = {429}


def render_error(error: HTTPException) -> ResponseReturnValue:
    """An HTML page, or a JSON error for the API (even for a URL that matches no route)."""
    code = error.code or 500
    default = type(error).description
    if isinstance(error, CSRFError):
        message = CSRF_MESSAGE
    elif error.description != default and code not in _OWN_MESSAGE_ONLY:
        message = error.description
    else:
        message = DEFAULT_MESSAGES.get(code)
    if request.path.startswith(api.PREFIX + "/"):
        return from_http_exception(error, str(message or TITLES.get(code, error.name)))
    title = TITLES.get(code, error.name)
    return render_template("error.html", code=code, title=title, message=message), code


def mail_not_sent(_error: MailNotSent) -> ResponseReturnValue:
    """A mail the page had to send could not go (the server is down or refused it): the
    visitor learns to try again later instead of seeing "something went wrong"."""
    page, code = render_error(ServiceUnavailable())
    return page, code, {"Retry-After": "300"}


def init_app(app: Flask) -> None:
    # Unhandled exceptions arrive here as InternalServerError, after Flask logged them.
    app.register_error_handler(HTTPException, render_error)
    app.register_error_handler(MailNotSent, mail_not_sent)
