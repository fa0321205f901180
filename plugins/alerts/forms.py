"""The plugin's forms (Flask-WTF, so each carries its CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, DataRequired, Length, Regexp

from kb.toolkit import _l

from .mailing import FREQUENCY_LABELS
from .subscriptions import FREQUENCIES, KINDS
from .tables import EMAIL_LENGTH, TARGET_LENGTH

#: Enough to refuse what is plainly no address; the confirmation mail checks the rest.
ADDRESS = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def _email_field() -> EmailField:
    return EmailField(
        _l("Your e-mail address"),
        validators=[
            DataRequired(),
            Length(max=EMAIL_LENGTH),
            Regexp(ADDRESS, message=_l("Enter an e-mail address such as name@example.org.")),
        ],
    )


class SubscribeForm(FlaskForm):
    email = _email_field()
    frequency = RadioField(
        _l("How often"),
        choices=[SelectChoice(key, label) for key, label in FREQUENCY_LABELS.items()],
        default="weekly",
        validators=[AnyOf(FREQUENCIES)],
    )
    kind = HiddenField(validators=[AnyOf(KINDS)])
    target = HiddenField(validators=[Length(max=TARGET_LENGTH)])


class AskManageForm(FlaskForm):
    email = _email_field()


class ConfirmForm(FlaskForm):
    """Only the CSRF token: a POST that confirms an alert."""


class CancelForm(FlaskForm):
    """Which alert to cancel on the manage page: an id, or ``all``."""

    subscription = HiddenField(validators=[DataRequired()])
