"""The contact form of a case or person page: the visitor's name, address and message.

``website`` is a honeypot: hidden from people (and from screen readers), it is filled in
only by programs that fill in every field; such a message is dropped, though it looks sent.
Name and address are checked as the exchange format checks a person's, so a line break
can never reach a mail header.
"""

from __future__ import annotations

from email.errors import HeaderDefect, HeaderParseError
from email.headerregistry import Address

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, Field, Form, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from kb.i18n import _l
from kb.services.contact_messages import VisitorMessage
from kb.services.exchange import schema
from kb.web.exchange_checks import Exchange, no_control_characters
from kb.web.form_messages import TranslatedMeta

#: The longest message the form takes: a letter, not a document.
MAX_MESSAGE = 5000
_NOT_AN_ADDRESS = _l("This does not look like an e-mail address.")


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def _one_line(value: object) -> object:
    """A name typed (or sent) with line breaks becomes one line: it goes into a header."""
    return " ".join(value.split()) if isinstance(value, str) else value


def _required() -> DataRequired:
    return DataRequired(message=_l("Please fill this in."))


def _mailable(_form: Form, field: Field) -> None:
    """The address must also read as one in a mail header (the exchange pattern lets
    through a few that do not, such as ``a,b@example.org``)."""
    try:
        Address(addr_spec=field.data)
    except (HeaderDefect, HeaderParseError, ValueError, IndexError):
        raise ValidationError(_NOT_AN_ADDRESS) from None


class ContactForm(FlaskForm):
    Meta = TranslatedMeta

    name = StringField(
        _l("Your name"),
        validators=[_required(), Exchange(schema.PersonIn, "name")],
        filters=[_one_line],
    )
    email = EmailField(
        _l("Your e-mail address"),
        validators=[_required(), Exchange(schema.PersonIn, "email", _NOT_AN_ADDRESS), _mailable],
        filters=[_strip],
        description=_l("Only the recipients see it, so that they can answer you."),
    )
    message = TextAreaField(
        _l("Message"),
        validators=[
            _required(),
            Length(max=MAX_MESSAGE, message=_l("At most %(max)d characters, please.")),
            no_control_characters,
        ],
        filters=[_strip],
    )
    copy = BooleanField(_l("Send me a copy"))
    website = StringField(_l("Leave this field empty"))

    def is_from_a_program(self) -> bool:
        """Whether the hidden field was filled in: no person sees it."""
        return bool(self.website.data)

    def visitor_message(self) -> VisitorMessage:
        return VisitorMessage(
            name=self.name.data or "",
            email=self.email.data or "",
            text=self.message.data or "",
            copy=bool(self.copy.data),
        )
