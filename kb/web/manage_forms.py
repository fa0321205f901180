"""Forms of the editors' management pages: labels, help texts and checks in one place.

Values are checked with the exchange format's own types (``kb/services/exchange/schema.py``),
so a form accepts exactly what an import file may hold: the same lengths, http(s) links
only, and no control characters.
"""

from __future__ import annotations

from typing import Any

from flask_babel import LazyString
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    EmailField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
    URLField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from kb.i18n import _, _l
from kb.models import CONTENT_LANGUAGES, COUNTRIES, MaterialKind, Vocabulary
from kb.services.contacts import OrganisationFields, PersonFields
from kb.services.exchange import schema
from kb.services.programme import EventFields, SessionFields
from kb.web.exchange_checks import Exchange, no_control_characters
from kb.web.template_helpers import country_name, language_name

#: Languages a vocabulary label can be given in, English (the fallback) first.
LABEL_LANGUAGES: tuple[str, ...] = ("en", *(c for c in CONTENT_LANGUAGES if c != "en"))
#: The longest Markdown text a form takes (as the exchange format).
MAX_TEXT = 100_000

KIND_LABELS = {
    MaterialKind.SLIDES: _l("Slides"),
    MaterialKind.REPORT: _l("Report"),
    MaterialKind.RECORDING: _l("Recording"),
    MaterialKind.LINK: _l("Link"),
    MaterialKind.OTHER: _l("Other"),
}
VOCABULARY_LABELS = {
    Vocabulary.THEME: _l("Themes"),
    Vocabulary.TARGET_GROUP: _l("Target groups"),
}


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _or_none(value: str | None) -> str | None:
    return value or None


def _line(model: type[schema.Record], name: str, label: Any, **kwargs: Any) -> StringField:
    """An optional one-line text, stored as NULL when left empty."""
    return StringField(
        label, validators=[Optional(), Exchange(model, name)], filters=[_strip, _or_none], **kwargs
    )


def _required_line(model: type[schema.Record], name: str, label: Any, **kwargs: Any) -> StringField:
    return StringField(
        label, validators=[DataRequired(), Exchange(model, name)], filters=[_strip], **kwargs
    )


def _url(model: type[schema.Record], name: str, label: Any, required: bool = False) -> URLField:
    message = _l("Write a web address starting with https:// or http://.")
    return URLField(
        label,
        validators=[DataRequired() if required else Optional(), Exchange(model, name, message)],
        filters=[_strip, _or_none],
    )


def _markdown(model: type[schema.Record], label: Any) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[Length(max=MAX_TEXT), Exchange(model, "description")],
        description=_l("Markdown: *italic*, **bold**, [link text](https://…), lists with “- ”."),
        filters=[lambda value: (value or "").strip()],
    )


class OptionalSelectField(SelectField):
    """A select with a "(not given)" option, which is also what a missing value means."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist or [""])


def _none_choice() -> tuple[str, str]:
    return ("", _("(not given)"))


def _country_choices() -> list[tuple[str, str]]:
    return [_none_choice(), *((code, country_name(code)) for code in COUNTRIES)]


def _language_choices() -> list[tuple[str, str]]:
    return [_none_choice(), *((code, language_name(code)) for code in CONTENT_LANGUAGES)]


def _kind_choices() -> list[tuple[str, str]]:
    return [(kind.value, str(KIND_LABELS[kind])) for kind in MaterialKind]


class EventForm(FlaskForm):
    title = _required_line(schema.EventIn, "title", _l("Title"))
    place = _line(
        schema.EventIn, "place", _l("Venue"), description=_l("For example the name of the hotel.")
    )
    city = _line(schema.EventIn, "city", _l("City"))
    country = OptionalSelectField(_l("Country"))
    start_date = DateField(_l("First day"), validators=[Optional()])
    end_date = DateField(
        _l("Last day"), validators=[Optional()], description=_l("Leave empty for a one-day event.")
    )
    description = _markdown(schema.EventIn, _l("Description"))
    language = OptionalSelectField(
        _l("Language"),
        description=_l("The language the event is held in, and its title and description use."),
    )
    registration_url = _url(schema.EventIn, "registration_url", _l("Registration page"))
    organisers = SelectMultipleField(
        _l("Organisers"),
        coerce=int,
        description=_l("Hold down Ctrl (or ⌘) to choose more than one."),
    )

    def __init__(self, *args: Any, organisations: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = _country_choices()
        self.language.choices = _language_choices()
        self.organisers.choices = organisations

    def validate_end_date(self, field: DateField) -> None:
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_("The last day cannot be before the first day."))

    def fields(self) -> EventFields:
        return EventFields(
            title=self.title.data,
            place=self.place.data,
            city=self.city.data,
            country=self.country.data or None,
            start_date=self.start_date.data,
            end_date=self.end_date.data,
            description=self.description.data,
            language=self.language.data or None,
            registration_url=self.registration_url.data,
            organiser_ids=list(self.organisers.data or []),
        )


_DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]


class SessionForm(FlaskForm):
    title = _required_line(schema.SessionIn, "title", _l("Title"))
    starts_at = DateTimeLocalField(
        _l("Starts"),
        validators=[Optional()],
        format=_DATETIME_FORMATS,
        description=_l("Local time at the event."),
    )
    ends_at = DateTimeLocalField(_l("Ends"), validators=[Optional()], format=_DATETIME_FORMATS)
    room = _line(schema.SessionIn, "room", _l("Room"))
    description = _markdown(schema.SessionIn, _l("Description"))
    position = IntegerField(
        _l("Position in the programme"),
        default=0,
        validators=[Optional(), NumberRange(min=0, max=1000)],
        description=_l("Sessions are listed by this number, then by their start time."),
    )
    speakers = SelectMultipleField(
        _l("Speakers"), coerce=int, description=_l("Hold down Ctrl (or ⌘) to choose more than one.")
    )
    moderators = SelectMultipleField(
        _l("Moderators"),
        coerce=int,
        description=_l("Hold down Ctrl (or ⌘) to choose more than one."),
    )

    def __init__(self, *args: Any, people: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.speakers.choices = people
        self.moderators.choices = people

    def validate_ends_at(self, field: DateTimeLocalField) -> None:
        if field.data and self.starts_at.data and field.data < self.starts_at.data:
            raise ValidationError(_("The session cannot end before it starts."))

    def fields(self) -> SessionFields:
        return SessionFields(
            title=self.title.data,
            starts_at=self.starts_at.data,
            ends_at=self.ends_at.data,
            room=self.room.data,
            description=self.description.data,
            position=self.position.data or 0,
            speaker_ids=list(self.speakers.data or []),
            moderator_ids=list(self.moderators.data or []),
        )


class LinkForm(FlaskForm):
    """Material that lives elsewhere: a link. Shown with the prefix ``link``."""

    title = _required_line(schema.MaterialIn, "title", _l("Title"))
    kind = SelectField(_l("Kind"), default=MaterialKind.LINK.value)
    url = _url(schema.MaterialIn, "url", _l("Web address"), required=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="link", **kwargs)
        self.kind.choices = _kind_choices()


class UploadForm(FlaskForm):
    """A file to store with the session. Shown with the prefix ``file``."""

    title = _required_line(schema.MaterialIn, "title", _l("Title"))
    kind = SelectField(_l("Kind"), default=MaterialKind.SLIDES.value)
    file = FileField(
        _l("File"),
        validators=[FileRequired(_l("Choose a file."))],
        description=_l(
            "PDF, PowerPoint (PPTX), Word (DOCX), OpenDocument, PNG, JPEG, WebP or GIF."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, prefix="file", **kwargs)
        self.kind.choices = _kind_choices()


class PersonForm(FlaskForm):
    name = _required_line(schema.PersonIn, "name", _l("Name"))
    title = _line(
        schema.PersonIn, "title", _l("Job title"), description=_l("For example “Project manager”.")
    )
    organisation = OptionalSelectField(_l("Organisation"))
    email = EmailField(
        _l("E-mail"),
        validators=[
            Optional(),
            Exchange(schema.PersonIn, "email", _l("This does not look like an e-mail address.")),
        ],
        filters=[_strip, _or_none],
    )
    phone = TelField(
        _l("Phone"),
        validators=[
            Optional(),
            Exchange(
                schema.PersonIn,
                "phone",
                _l("Use digits, spaces and + ( ) . / - only, for example +47 22 33 44 55."),
            ),
        ],
        filters=[_strip, _or_none],
    )
    consent = BooleanField(
        _l("The person agrees to publish their e-mail and phone"),
        description=_l(
            "Tick only with their consent. We record when, and that you recorded it; "
            "without consent the public pages show no contact details."
        ),
    )

    def __init__(self, *args: Any, organisations: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organisation.choices = [
            _none_choice(),
            *((str(org_id), name) for org_id, name in organisations),
        ]

    def fields(self) -> PersonFields:
        return PersonFields(
            name=self.name.data,
            title=self.title.data,
            organisation_id=int(self.organisation.data) if self.organisation.data else None,
            email=self.email.data,
            phone=self.phone.data,
            consent=bool(self.consent.data),
        )


class OrganisationForm(FlaskForm):
    name = _required_line(schema.OrganisationIn, "name", _l("Name"))
    country = OptionalSelectField(_l("Country"))
    website = _url(schema.OrganisationIn, "website", _l("Website"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = _country_choices()

    def fields(self) -> OrganisationFields:
        return OrganisationFields(
            name=self.name.data, country=self.country.data or None, website=self.website.data
        )


def _label_in(code: str) -> str:
    return _("Label in %(language)s", language=language_name(code))


class TermForm(FlaskForm):
    """A vocabulary term's labels, one per language (fields ``label_en``, ``label_nb``…)."""

    def labels(self) -> dict[str, str]:
        return {code: self[f"label_{code}"].data or "" for code in LABEL_LANGUAGES}


class NewTermForm(TermForm):
    vocabulary = SelectField(_l("Vocabulary"))
    key = StringField(
        _l("Key"),
        validators=[
            DataRequired(),
            Length(max=60),
            Regexp(
                r"^[a-z0-9]+(?:-[a-z0-9]+)*$",
                message=_l("Use lowercase letters a–z, digits and single hyphens."),
            ),
        ],
        filters=[_strip],
        description=_l(
            "The term's stable name in addresses and import files, e.g. “digital-inclusion”. "
            "It cannot be changed later."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.vocabulary.choices = [(v.value, str(VOCABULARY_LABELS[v])) for v in Vocabulary]


# Added after NewTermForm, so its vocabulary and key come before the labels.
for _code in LABEL_LANGUAGES:
    setattr(
        TermForm,
        f"label_{_code}",
        StringField(
            LazyString(_label_in, _code),
            validators=[
                DataRequired() if _code == "en" else Optional(),
                Length(max=200),
                no_control_characters,
            ],
            filters=[_strip],
        ),
    )


class ConfirmForm(FlaskForm):
    """Only the CSRF token: a POST that confirms an action (erase, remove)."""
