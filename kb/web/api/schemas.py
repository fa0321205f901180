"""What the API returns, as pydantic models: they check every response and generate the
OpenAPI description, so the description cannot drift from the code."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from kb.models import PopulationBand, UrbanRural
from kb.models.choices import BudgetBand, EvaluatedBy, PracticeStatus

LOCAL_TIME = "Local time at the event (ISO 8601, no offset)."


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(Out):
    code: str = Field(description="A stable, machine-readable code, e.g. `not_found`.")
    message: str = Field(description="What went wrong, in the caller's language.")
    details: dict[str, object] = Field(default_factory=dict)


class Error(Out):
    error: ErrorDetail


class KeyFigure(Out):
    label: str
    value: float
    unit: str | None = None
    year: int | None = Field(None, description="The year the number is for.")
    source: str | None = Field(
        None, description="Where the number comes from; none: the case's owner's own figure."
    )


class Link(Out):
    url: str
    title: str | None = None


class Contact(Out):
    """A person as the public sees them: e-mail and phone only with their consent."""

    name: str
    slug: str | None = None
    url: str | None = None
    title: str | None = None
    organisation: str | None = None
    email: str | None = None
    phone: str | None = None
    role: str | None = None


class Material(Out):
    kind: str
    title: str
    language: str | None = None
    url: str = Field(description="The link, or the file's download address.")


class Presentation(Out):
    event: str
    session: str | None = None
    event_url: str
    session_url: str | None = None


class CaseSummary(Out):
    id: int
    ref: str | None = None
    slug: str
    url: str
    title: str
    summary: str
    language: str
    country: str
    municipality: str | None = None
    region: str | None = None
    population_band: PopulationBand | None = Field(
        None, description="Inhabitants of the municipality, in bands; none when not given."
    )
    urban_rural: UrbanRural | None = Field(
        None, description="How urban or rural the municipality is; none when not given."
    )
    themes: list[str]
    target_groups: list[str]
    period: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    last_confirmed_at: datetime | None = Field(
        None,
        description="When the case was last confirmed as still accurate (by its author or "
        "an editor); publishing confirms it.",
    )
    stale: bool = Field(False, description="True when nobody has confirmed the case for two years.")


class Case(CaseSummary):
    target_description: str | None = None
    body: str
    outcomes: str | None = None
    background: str | None = Field(None, description="The problem the practice answers.")
    evaluation_method: str | None = Field(None, description="How the results were measured.")
    evaluated_by: EvaluatedBy | None = Field(
        None, description="Who measured them: the owner, an external evaluator, researchers."
    )
    evaluation_url: str | None = Field(None, description="The evaluation report.")
    funding: str | None = Field(None, description="Who paid for it.")
    budget_band: BudgetBand | None = Field(None, description="Total budget in euros.")
    staff: str | None = Field(None, description="The people it took.")
    practice_status: PracticeStatus | None = Field(
        None, description="Where the practice stands (`permanent`: made permanent or scaled up)."
    )
    practice_status_year: int | None = Field(None, description="Since when it stands so.")
    lessons_learned: str | None = Field(None, description="Including what did not work.")
    transferability: str | None = Field(
        None, description="What it takes to do it elsewhere: conditions for success."
    )
    status: str
    key_figures: list[KeyFigure]
    links: list[Link]
    sessions: list[Presentation]
    contacts: list[Contact]
    materials: list[Material]


class CaseList(Out):
    items: list[Case]
    page: int
    per_page: int
    total: int


class SessionOut(Out):
    title: str
    slug: str
    url: str
    starts_at: str | None = Field(None, description=LOCAL_TIME)
    ends_at: str | None = Field(None, description=LOCAL_TIME)
    room: str | None = None
    description: str
    people: list[Contact]
    materials: list[Material]


class Event(Out):
    title: str
    slug: str
    url: str
    organisers: list[str]
    place: str | None = None
    city: str | None = None
    country: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    description: str
    language: str | None = None
    registration_url: str | None = None
    sessions: list[SessionOut]


class EventList(Out):
    items: list[Event]


class Organisation(Out):
    name: str
    slug: str
    url: str
    country: str | None = None
    website: str | None = None


class OrganisationList(Out):
    items: list[Organisation]


class PersonList(Out):
    items: list[Contact]
    page: int
    per_page: int
    total: int


class Term(Out):
    key: str
    labels: dict[str, str] = Field(description="The term's name per language code.")


class Vocabularies(Out):
    themes: list[Term]
    target_groups: list[Term]


class SearchHit(Out):
    id: int
    ref: str | None = None
    slug: str
    url: str
    title: str
    summary: str
    snippet: str = Field(description="HTML: matches in <mark>, everything else escaped.")
    language: str
    country: str
    score: float
    direct: bool
    partial: bool


class SearchResults(Out):
    query: str
    total: int
    page: int
    per_page: int
    results: list[SearchHit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None = None


class Dump(Out):
    """The whole public knowledge base in the exchange format (as `kb export --public`)."""

    model_config = ConfigDict(extra="allow")
    format: str
    version: int
    exported_at: str
