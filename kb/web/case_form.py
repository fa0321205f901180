"""The case form: every field of a case with its help text, and its translation to and from
the exchange format the submission service takes.

Rows (key figures, links, contacts) come with blank rows to fill in; rows left blank are
ignored. The form checks what a person can fix in the form, with messages in their
language; the exchange format's own validation stays the last word in the service.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask_babel import format_decimal
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Length, NumberRange, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from kb.i18n import _l
from kb.models import (
    CONTENT_LANGUAGES,
    COUNTRIES,
    Case,
    CaseContact,
    Event,
    MaterialKind,
    Person,
    VocabularyTerm,
)
from kb.models.case import FIRST_YEAR, LAST_YEAR
from kb.services.exchange.schema import TEMPLATE_KEYS, CaseIn, ContactIn, LinkIn
from kb.web.exchange_checks import Exchange, no_control_characters
from kb.web.form_messages import TranslatedMeta
from kb.web.municipality_profile import HEADINGS, profile_choices
from kb.web.practice_words import form_choices
from kb.web.template_helpers import country_name, language_name, term_label

_NUMBER = re.compile(r"^-?\d+(?:[.,]\d+)?$")

BLANK_ROWS = 2
#: What the file picker offers; the server decides by content (kb.services.materials).
ACCEPTED_FILES = ",".join(
    [".pdf", ".pptx", ".docx", ".odp", ".odt", ".png", ".jpg", ".jpeg", ".webp", ".gif"]
)


def _max(n: int) -> Length:
    return Length(max=n, message=_l("At most %(max)d characters, please."))


def _text(
    label: Any, limit: int, description: Any = None, checked: Exchange | None = None, **kwargs: Any
) -> StringField:
    """An optional one-line text; ``checked`` adds the exchange format's rule for the value."""
    return StringField(
        label,
        [Optional(), _max(limit), no_control_characters, *([checked] if checked else [])],
        description=description,
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
        **kwargs,
    )


def _prose(label: Any, description: Any = None) -> TextAreaField:
    return TextAreaField(
        label, [Optional(), _max(100_000), no_control_characters], description=description
    )


def _year(label: Any, description: Any = None) -> IntegerField:
    return IntegerField(
        label,
        [
            Optional(),
            NumberRange(FIRST_YEAR, LAST_YEAR, message=_l("A year between 1900 and 2100.")),
        ],
        description=description,
    )


class _Row(Form):
    """A row of a repeated group; a row left blank is ignored."""

    required: tuple[str, ...] = ()

    def is_blank(self) -> bool:
        return not any(
            (f.data.strip() if isinstance(f.data, str) else f.data)
            for f in self
            if not isinstance(f, BooleanField)
        )

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.is_blank():
            return valid
        for name in self.required:
            if not (self[name].data or "").strip():
                self[name].errors = [*self[name].errors, _l("Please fill this in.")]
                valid = False
        return valid


class KeyFigureForm(_Row):
    required = ("label", "value")
    label = _text(_l("What was measured"), 300)
    value = _text(_l("Number"), 40)
    unit = _text(_l("Unit"), 40)
    year = _year(_l("Year of the figure"))
    source = _text(
        _l("Source"),
        300,
        _l("E.g. Statistics Norway, or an evaluation. Leave empty for your own figure."),
    )

    def validate_value(self, field: Field) -> None:
        if field.data and not _NUMBER.match(field.data.replace(" ", "").replace("\u00a0", "")):
            raise ValidationError(_l("Write a number, e.g. 64 or 64,5."))


class LinkForm(_Row):
    required = ("url",)
    url = _text(
        _l("Address"),
        1000,
        checked=Exchange(
            LinkIn, "url", _l("Write a web address starting with https:// or http://.")
        ),
    )
    title = _text(_l("Link text"), 300)


class ContactForm(_Row):
    required = ("name",)
    name = _text(_l("Name"), 200)
    role = _text(_l("Role in the case"), 200, _l("For example: project lead."))
    title = _text(_l("Job title"), 300)
    organisation = _text(_l("Organisation"), 300)
    email = _text(
        _l("E-mail"),
        320,
        checked=Exchange(ContactIn, "email", _l("This is not an e-mail address.")),
    )
    phone = _text(
        _l("Phone"),
        50,
        checked=Exchange(
            ContactIn, "phone", _l("Write the number with digits, e.g. +47 22 33 44 55.")
        ),
    )
    consent = BooleanField(
        _l("This person agrees that their e-mail and phone are shown publicly"),
        description=_l("Without this, only the name, job title and organisation are shown."),
    )


class _Checkboxes(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class GroupedCheckboxes(_Checkboxes):
    """Checkboxes in named groups (``choices`` a dict of group -> choices), so that a
    click adds a choice instead of replacing the others, as in a multi-select box."""

    def option_groups(self) -> list[tuple[str, list[Field]]]:
        """Each group's name with its boxes, ready to render (``{{ box() }} {{ box.label() }}``)."""
        boxes = iter(self)
        return [
            (str(name), [next(boxes) for _choice in choices])
            for name, choices in self.iter_groups()
        ]


class CaseForm(FlaskForm):
    Meta = TranslatedMeta

    title = _text(
        _l("Title"),
        300,
        _l("A short name for what you did, e.g. “Language practice in local companies”."),
    )
    language = SelectField(
        _l("Language of the text"),
        description=_l("Leave it to be detected from the text, or choose it."),
        validate_choice=True,
    )
    country = SelectField(_l("Country"), validate_choice=True)
    municipality = _text(_l("Municipality"), 300, _l("Or several, separated by commas."))
    region = _text(_l("Region or county"), 300)
    # The municipality's profile (kb.web.municipality_profile), a section of its own.
    population_band = SelectField(
        HEADINGS["population_band"],
        description=_l("How many people live in the municipality. Leave it empty if unsure."),
        validate_choice=True,
    )
    urban_rural = SelectField(
        HEADINGS["urban_rural"],
        description=_l(
            "Urban: a city and its suburbs. Intermediate: a town with its surroundings. "
            "Rural near a town: countryside within commuting distance of a town. "
            "Remote rural: far from the nearest town."
        ),
        validate_choice=True,
    )
    themes = _Checkboxes(_l("Themes"), description=_l("Choose all that fit."))
    target_groups = _Checkboxes(_l("Target groups"))
    target_description = _prose(
        _l("Who the work was for"), _l("In your own words, e.g. “young refugees aged 16–24”.")
    )
    start_year = _year(_l("Started (year)"))
    end_year = _year(_l("Ended (year)"), _l("Leave empty while the work is still running."))
    practice_status = SelectField(
        _l("Status of the practice"),
        description=_l("Made permanent or scaled up: it became part of ordinary services."),
        validate_choice=True,
    )
    practice_status_year = _year(
        _l("Status since (year)"), _l("The year it started, ended or was made permanent.")
    )
    summary = _prose(
        _l("Summary"), _l("Two or three sentences: what was done, for whom, and what came of it.")
    )
    background = _prose(
        _l("Background: the problem it answers"),
        _l("The situation before you started, and why something had to be done."),
    )
    body = _prose(
        _l("Description"),
        _l(
            "What was done, how, and who took part. "
            "Markdown: **bold**, *italic*, lists with -, links as [text](https://…)."
        ),
    )
    outcomes = _prose(_l("Results"), _l("What changed, with numbers where you have them."))
    evaluation_method = _prose(
        _l("How the results were measured"),
        _l("E.g. a survey of the participants after a year, register data, interviews."),
    )
    evaluated_by = SelectField(_l("Who evaluated it"), validate_choice=True)
    evaluation_url = _text(
        _l("Evaluation report (link)"),
        1000,
        checked=Exchange(
            CaseIn, "evaluation_url", _l("Write a web address starting with https:// or http://.")
        ),
    )
    funding = _prose(
        _l("Funding"), _l("Who paid for it: the municipality's budget, a state grant, EU funds …")
    )
    budget_band = SelectField(
        _l("Total budget"),
        description=_l("For the whole period, all funders together."),
        validate_choice=True,
    )
    staff = _prose(_l("Staff"), _l("The people it took, e.g. “two coordinators, half time”."))
    lessons_learned = _prose(
        _l("Lessons learned"),
        _l("What worked, and just as useful to others: what did not work, and why."),
    )
    transferability = _prose(
        _l("What it takes to do it elsewhere"),
        _l("Conditions for success: partners, skills, money, local circumstances."),
    )
    presented_at = GroupedCheckboxes(
        _l("Presented at"),
        description=_l("The session (or event) where the case was presented."),
        validate_choice=True,
    )
    key_figures = FieldList(FormField(KeyFigureForm), label=_l("Key figures"))
    links = FieldList(FormField(LinkForm), label=_l("Links"))
    contacts = FieldList(FormField(ContactForm), label=_l("Contact people"))
    attachment = FileField(
        _l("Attach a file"),
        description=_l("PDF, PowerPoint, Word, OpenDocument or an image; at most %(mb)d MB."),
    )
    #: The signed reference to a file stored on an earlier post (kb.services.pending_uploads).
    pending_upload = HiddenField()
    #: Set once the speaker was shown the existing cases like this one: send anyway.
    similar_seen = HiddenField()
    discard_upload = BooleanField(_l("remove"))
    attachment_title = _text(_l("Title of the file"), 300)
    attachment_kind = SelectField(_l("Kind of file"), validate_choice=True)
    remove_materials = _Checkboxes(_l("Remove attached files"), coerce=int)
    preview = SubmitField(_l("Preview"))
    save = SubmitField(_l("Save draft"))
    send = SubmitField(_l("Submit for review"))

    def validate_end_year(self, field: Field) -> None:
        if field.data is None:
            return
        if self.start_year.data is None:
            raise ValidationError(_l("Give the start year too."))
        if field.data < self.start_year.data:
            raise ValidationError(_l("The work cannot end before it started."))

    def validate_practice_status_year(self, field: Field) -> None:
        if field.data is not None and not self.practice_status.data:
            raise ValidationError(_l("Choose the status this year is for."))

    def validate(self, extra_validators: Any = None) -> bool:
        """Always a title; to submit for review, also a summary, a description and a theme."""
        valid = super().validate(extra_validators)
        needed = [self.title, self.country]
        if self.send.data:
            needed += [self.summary, self.body, self.themes]
        for f in needed:
            if not f.data:
                f.errors = [*f.errors, _REQUIRED_MESSAGE.get(f.name, _l("Please fill this in."))]
                valid = False
        return valid


#: What to do about a required field left empty, where "fill this in" does not fit.
_REQUIRED_MESSAGE = {
    "country": _l("Choose a country."),
    "themes": _l("Choose at least one theme."),
}


def fill_choices(
    form: CaseForm,
    *,
    events: list[Event],
    themes: list[VocabularyTerm],
    target_groups: list[VocabularyTerm],
    case: Case | None,
    max_bytes: int,
) -> None:
    """Choices in the reader's language, and the data the form needs from the database."""
    form.language.choices = [("", _l("Detect from the text"))] + [
        (code, language_name(code)) for code in CONTENT_LANGUAGES
    ]
    form.country.choices = [("", _l("Choose a country"))] + [
        (code, country_name(code)) for code in COUNTRIES
    ]
    for part in ("population_band", "urban_rural"):
        form[part].choices = profile_choices(part, _l("Not given"))
    for name in ("practice_status", "evaluated_by", "budget_band"):
        form[name].choices = form_choices(name)
    form.themes.choices = [(t.key, term_label(t)) for t in themes]
    form.target_groups.choices = [(t.key, term_label(t)) for t in target_groups]
    form.presented_at.choices = {
        event.title: [(f"e{event.id}", _l("The event as a whole"))]
        + [(f"s{s.id}", s.title) for s in event.sessions]
        for event in events
    }
    form.attachment_kind.choices = [
        (MaterialKind.SLIDES.value, _l("Slides")),
        (MaterialKind.REPORT.value, _l("Report")),
        (MaterialKind.OTHER.value, _l("Other")),
    ]
    form.remove_materials.choices = [
        (m.id, m.title) for m in (case.materials if case is not None else [])
    ]
    max_mb = max_bytes // (1024 * 1024)
    form.attachment.description = form.attachment.description % {"mb": max_mb}
    # The browser refuses a file of the wrong type or size before sending it (static/forms.js).
    form.attachment.render_kw = {
        "accept": ACCEPTED_FILES,
        "data-max-bytes": str(max_bytes),
        "data-too-large": _l("The file is larger than %(mb)d MB.") % {"mb": max_mb},
    }


def add_blank_rows(form: CaseForm) -> None:
    for rows in (form.key_figures, form.links, form.contacts):
        for _ in range(BLANK_ROWS):
            rows.append_entry()


def form_data(
    record: dict[str, Any], case: Case, *, shows_details: Callable[[Person], bool]
) -> dict[str, Any]:
    """The form's initial data for a case (its exchange-format record).

    A contact's stored e-mail, phone, title and consent are filled in only where
    ``shows_details`` allows; otherwise those fields start empty, and saving them empty
    changes nothing (the importer keeps details the writer may not change).
    """
    return {
        **{k: record.get(k) for k in ("title", "municipality", "region", "themes")},
        **{k: record.get(k) or "" for k in ("population_band", "urban_rural")},
        "target_groups": record.get("target_groups"),
        "language": case.language,
        "country": case.country,
        "target_description": case.target_description or "",
        "summary": case.summary,
        "body": case.body,
        "outcomes": case.outcomes,
        **{key: _empty_as_blank(key, getattr(case, key)) for key in TEMPLATE_KEYS},
        "start_year": case.start_year,
        "end_year": case.end_year,
        "presented_at": [
            f"s{p.session_id}" if p.session_id else f"e{p.event_id}" for p in case.presentations
        ],
        "key_figures": [
            {
                "label": k.label,
                "value": _number_text(k.value),
                "unit": k.unit or "",
                "year": k.year,
                "source": k.source or "",
            }
            for k in case.key_figures
        ],
        "links": [{"url": link.url, "title": link.title or ""} for link in case.links],
        "contacts": [_contact_data(c, shows_details(c.person)) for c in case.contacts],
    }


def _empty_as_blank(key: str, value: Any) -> Any:
    """A form starts an empty text or choice as "", an empty year as None."""
    return value if key.endswith("_year") else (value or "")


def _contact_data(contact: CaseContact, details: bool) -> dict[str, Any]:
    person = contact.person
    return {
        "name": person.name,
        "role": contact.role or "",
        "organisation": person.organisation.name if person.organisation else "",
        "title": (person.title or "") if details else "",
        "email": (person.email or "") if details else "",
        "phone": (person.phone or "") if details else "",
        "consent": person.consent_to_publish_contact if details else False,
    }


def _number_text(value: float) -> str:
    """A number as the reader writes it ("75,5" in Norwegian), without thousands separators
    that would only get in the way of editing; the form reads both "75,5" and "75.5"."""
    return format_decimal(value, format="0.##########")


def _or_none(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def record_fields(form: CaseForm, language: str | None, places: dict[str, Any]) -> dict[str, Any]:
    """The exchange-format keys the form sets; ``places`` maps choice values to
    ``{"event": title, "session": title | None}``."""
    start, end = form.start_year.data, form.end_year.data
    period = None
    if start is not None:
        period = f"{start}-{end}" if end not in (None, start) else str(start)
        if end is None:
            period = f"{start}-"
    return {
        "title": form.title.data,
        "language": language,
        "country": form.country.data or None,
        "municipality": _or_none(form.municipality.data),
        "region": _or_none(form.region.data),
        "population_band": form.population_band.data or None,
        "urban_rural": form.urban_rural.data or None,
        "themes": list(form.themes.data or []),
        "target_groups": list(form.target_groups.data or []),
        "target_description": _or_none(form.target_description.data),
        "period": period,
        "summary": form.summary.data or "",
        "body": form.body.data or "",
        "outcomes": form.outcomes.data or "",
        **{
            key: form[key].data if key.endswith("_year") else _or_none(form[key].data)
            for key in TEMPLATE_KEYS
        },
        "sessions": [places[v] for v in form.presented_at.data or [] if v in places],
        "key_figures": [
            {
                "label": r.label.data,
                "value": r.value.data,
                "unit": _or_none(r.unit.data),
                "year": r.year.data,
                "source": _or_none(r.source.data),
            }
            for r in (entry.form for entry in form.key_figures)
            if not r.is_blank()
        ],
        "links": [
            {"url": r.url.data.strip(), "title": _or_none(r.title.data)}
            for r in (entry.form for entry in form.links)
            if not r.is_blank()
        ],
        "contacts": [
            {
                "name": r.name.data,
                "role": _or_none(r.role.data),
                "title": _or_none(r.title.data),
                "organisation": _or_none(r.organisation.data),
                "email": _or_none(r.email.data),
                "phone": _or_none(r.phone.data),
                "consent_to_publish_contact": bool(r.consent.data),
            }
            for r in (entry.form for entry in form.contacts)
            if not r.is_blank()
        ],
    }
