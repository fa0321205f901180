"""The exchange format (import, export, demo data), validated with pydantic.

A file is either a JSON list of case objects (the format of the shared sample data) or a
full dump: ``{"format": "nordic-good-practice-kb", "version": 1, "organisations": [...],
"events": [...], "cases": [...]}``. ``docs/import-format.md`` describes every key. Unknown
keys are errors, so nothing a user wrote is silently dropped.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kb.models.base import is_valid_slug
from kb.models.case import FIRST_YEAR, LAST_YEAR
from kb.models.choices import (
    CONTENT_LANGUAGES,
    COUNTRIES,
    BudgetBand,
    CaseStatus,
    EvaluatedBy,
    MaterialKind,
    PracticeStatus,
)
from kb.models.municipality import PopulationBand, UrbanRural
from kb.text import CONTROL_CHARACTERS, has_control_characters

FORMAT_NAME = "nordic-good-practice-kb"
FORMAT_VERSION = 1

_PERIOD = re.compile(r"^(\d{4})(?:-(\d{4})?)?$")

# The same rules as JSON Schema patterns, for the API's description (which must accept
# exactly what the code accepts). Written with \u escapes and explicit classes, so they
# mean the same in ECMA-262, Python and Rust: whitespace is what ``str.strip()`` removes; no
# text holds NUL, and text refuses the other control characters.
_WS = (
    r"\t\n\u000b\u000c\r\u001c-\u001f \u0085\u00a0\u1680\u2000-\u200a"
    r"\u2028\u2029\u202f\u205f\u3000"
)
_NEVER = r"\u0000"
_CONTROLS = CONTROL_CHARACTERS
TEXT_PATTERN = f"^[^{_CONTROLS}]*$"
#: Something left after trimming, and no control character inside.
LINE_PATTERN = f"^[{_WS}]*[^{_WS}{_CONTROLS}](?:[^{_CONTROLS}]*[^{_WS}{_CONTROLS}])?[{_WS}]*$"
_EMAIL_CHAR = f"[^@{_WS}{_CONTROLS}]"
EMAIL_PATTERN = rf"^[{_WS}]*{_EMAIL_CHAR}+@{_EMAIL_CHAR}+\.{_EMAIL_CHAR}+[{_WS}]*$"
PHONE_PATTERN = (
    rf"^[{_WS}]*(?:\+[0-9 ()./-]{{3,}}[0-9()./-]|[0-9()./-][0-9 ()./-]{{2,}}[0-9()./-])[{_WS}]*$"
)
URL_PATTERN = f"^[{_WS}]*[hH][tT][tT][pP][sS]?://[^{_WS}{_NEVER}/$.?#][^{_WS}{_NEVER}]*[{_WS}]*$"
#: A period's form (that it does not end before it starts, JSON Schema cannot say).
PERIOD_PATTERN = f"^[{_WS}]*[0-9]{{4}}(?:-(?:[0-9]{{4}})?)?[{_WS}]*$"
MAX_TEXT = 100_000


def _described(pattern: str) -> Any:
    return Field(json_schema_extra={"pattern": pattern})


def _clean_text(value: str) -> str:
    """Refuse NUL and other control characters (PostgreSQL refuses NUL in text too)."""
    if has_control_characters(value):
        raise ValueError("contains a NUL or other control character")
    return value


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _slug(value: str) -> str:
    if not is_valid_slug(value):
        raise ValueError("must be lowercase letters, digits and single hyphens (max 120)")
    return value


def _http_url(value: str) -> str:
    if not re.match(r"^https?://[^\s/$.?#][^\s]*$", value, re.IGNORECASE):
        raise ValueError("must be an http(s) URL")
    return value


def _number(value: Any) -> Any:
    """Accept 64, 64.5, "64" and the Nordic "64,5"."""
    if isinstance(value, str):
        return value.strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    return value


def _not_before(start_field: str) -> Any:
    """A validator for an end (date or time) that may not come before ``start_field``."""

    def check(end: Any, info: Any) -> Any:
        start = info.data.get(start_field)
        if end and start and end < start:
            raise ValueError("ends before it starts")
        return end

    return check


Text = Annotated[
    str,
    AfterValidator(_clean_text),
    Field(json_schema_extra={"pattern": TEXT_PATTERN, "maxLength": MAX_TEXT}),
]
Line = Annotated[
    str,
    BeforeValidator(_strip),
    AfterValidator(_clean_text),
    Field(min_length=1, json_schema_extra={"pattern": LINE_PATTERN}),
]
Slug = Annotated[str, AfterValidator(_slug)]


def _at_most(limit: int) -> Any:
    """The length limit on the value as sent, before trimming: what the API's description
    (``maxLength``) says, so a long run of spaces around a short title is refused too."""

    def check(value: Any) -> Any:
        if isinstance(value, str) and len(value) > limit:
            raise ValueError(f"is longer than {limit} characters")
        return value

    return BeforeValidator(check)


def line(limit: int) -> Any:
    """A ``Line`` of at most ``limit`` characters, counted as sent and after trimming."""
    return Annotated[Line, Field(max_length=limit), _at_most(limit)]


Url = Annotated[
    str,
    BeforeValidator(_strip),
    _at_most(1000),  # before validators run last-first: this one sees the value as sent
    AfterValidator(_http_url),
    Field(max_length=1000, json_schema_extra={"pattern": URL_PATTERN}),
]
Key = Annotated[str, BeforeValidator(_strip), AfterValidator(_clean_text)]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=MAX_TEXT)


class PersonIn(Record):
    name: line(200)
    title: line(300) | None = None
    organisation: line(300) | None = None
    email: (
        Annotated[
            Line,
            Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
            _described(EMAIL_PATTERN),
        ]
        | None
    ) = None
    phone: (
        Annotated[
            Line, Field(max_length=50, pattern=r"^\+?[0-9 ()./-]{4,}$"), _described(PHONE_PATTERN)
        ]
        | None
    ) = None
    consent_to_publish_contact: bool | None = None


class ContactIn(PersonIn):
    """A case's contact: a person plus their role in the case, e.g. "project lead"."""

    role: line(200) | None = None


class SessionPersonIn(PersonIn):
    role: Literal["speaker", "moderator"] = "speaker"


class MaterialIn(Record):
    kind: MaterialKind = MaterialKind.LINK
    title: line(300)
    language: Literal[CONTENT_LANGUAGES] | None = None  # type: ignore[valid-type]
    url: Url | None = None
    file: line(100) | None = None
    original_filename: line(255) | None = None

    @model_validator(mode="after")
    def _one_source(self) -> MaterialIn:
        """A link or a file, never both and never neither (a field validator of ``file``
        would not run when neither is given)."""
        if (self.file is None) == (self.url is None):
            raise ValueError("give either url or file")
        return self


class OrganisationIn(Record):
    name: line(300)
    slug: Slug | None = None
    country: Literal[COUNTRIES] | None = None  # type: ignore[valid-type]
    website: Url | None = None


class SessionIn(Record):
    title: line(300)
    slug: Slug | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    room: line(200) | None = None
    description: Text = ""
    people: list[SessionPersonIn] = []
    materials: list[MaterialIn] = []

    _in_order = field_validator("ends_at")(_not_before("starts_at"))


class EventIn(Record):
    title: line(300)
    slug: Slug | None = None
    organisers: list[line(300)] = []
    place: line(300) | None = None
    city: line(120) | None = None
    country: Literal[COUNTRIES] | None = None  # type: ignore[valid-type]
    start_date: date | None = None
    end_date: date | None = None
    description: Text = ""
    language: Literal[CONTENT_LANGUAGES] | None = None  # type: ignore[valid-type]
    registration_url: Url | None = None
    sessions: list[SessionIn] = []

    _in_order = field_validator("end_date")(_not_before("start_date"))


Year = Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)]


class KeyFigureIn(Record):
    label: line(300)
    value: Annotated[float, BeforeValidator(_number), Field(allow_inf_nan=False)]
    unit: line(40) | None = None
    year: Year | None = None
    #: Where the number comes from; without one it is the owner's own.
    source: line(300) | None = None


class LinkIn(Record):
    url: Url
    title: line(300) | None = None


class PresentationIn(Record):
    """Where the case was presented: an event by title, and a session by title if known."""

    event: line(300)
    session: line(300) | None = None


#: The practice template's keys of a case, in the order records and forms show them
#: (each optional; docs/editorial.md says what they mean).
TEMPLATE_KEYS = (
    "background",
    "evaluation_method",
    "evaluated_by",
    "evaluation_url",
    "funding",
    "budget_band",
    "staff",
    "practice_status",
    "practice_status_year",
    "lessons_learned",
    "transferability",
)


class CaseIn(Record):
    ref: line(100) | None = None
    slug: Slug | None = None
    title: line(300)
    language: Literal[CONTENT_LANGUAGES]  # type: ignore[valid-type]
    country: Literal[COUNTRIES]  # type: ignore[valid-type]
    municipality: line(300) | None = None
    region: line(300) | None = None
    population_band: PopulationBand | None = None
    urban_rural: UrbanRural | None = None
    themes: list[Key] = []
    target_groups: list[Key] = []
    target_description: Text | None = None
    period: Annotated[str, _described(PERIOD_PATTERN)] | None = None
    summary: Text = ""
    body: Text = ""
    outcomes: Text | None = None
    background: Text | None = None
    evaluation_method: Text | None = None
    evaluated_by: EvaluatedBy | None = None
    evaluation_url: Url | None = None
    funding: Text | None = None
    budget_band: BudgetBand | None = None
    staff: Text | None = None
    practice_status: PracticeStatus | None = None
    practice_status_year: Year | None = None
    lessons_learned: Text | None = None
    transferability: Text | None = None
    key_figures: list[KeyFigureIn] = []
    links: list[LinkIn] = []
    status: CaseStatus = CaseStatus.DRAFT
    sessions: list[PresentationIn] = []
    contacts: list[ContactIn] = []
    materials: list[MaterialIn] = []

    @field_validator("period")
    @classmethod
    def _period(cls, period: str | None) -> str | None:
        if period is None:
            return None
        match = _PERIOD.match(period.strip())
        if not match:
            raise ValueError('must be "YYYY-YYYY", "YYYY-" (still running) or "YYYY"')
        start, end = match.group(1), match.group(2)
        if end and int(end) < int(start):
            raise ValueError("ends before it starts")
        return period.strip()

    @field_validator("practice_status_year")
    @classmethod
    def _status_first(cls, year: int | None, info: Any) -> int | None:
        """A year is the year of a status: without the status it says nothing."""
        if year is not None and info.data.get("practice_status") is None:
            raise ValueError("give practice_status too: the year is when it took that status")
        return year

    @property
    def years(self) -> tuple[int | None, int | None]:
        """``(start_year, end_year)``; an open period has no end year."""
        if self.period is None:
            return None, None
        match = _PERIOD.match(self.period)
        assert match is not None  # noqa: S101 - validated above
        start = int(match.group(1))
        if match.group(2):
            return start, int(match.group(2))
        return (start, None) if self.period.endswith("-") else (start, start)


class DumpIn(Record):
    format: Literal["nordic-good-practice-kb"]
    version: Literal[1]
    exported_at: datetime | None = None
    organisations: list[OrganisationIn] = []
    events: list[EventIn] = []
    cases: list[dict[str, Any]] = []


class Problem(BaseModel):
    """One reason a record cannot be imported."""

    section: str
    position: int
    ref: str | None
    field: str
    message: str

    def __str__(self) -> str:
        who = f"{self.section} #{self.position}" + (f" (ref {self.ref})" if self.ref else "")
        where = f" {self.field}:" if self.field else ""
        return f"{who}:{where} {self.message}"


def problems_from(
    error: ValidationError, section: str, position: int, ref: str | None
) -> list[Problem]:
    """Turn pydantic's errors into lines a person can act on."""
    problems = []
    for item in error.errors(include_url=False):
        field = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (not part of the format)"
        problems.append(
            Problem(section=section, position=position, ref=ref, field=field, message=message)
        )
    return problems
