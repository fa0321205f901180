"""The speaker's Preview: the case as the form says it now, shaped like a saved case so the
public page's own partial (``_case.html``) renders it. Nothing is saved or looked up beyond
the vocabulary and the programme the form already offers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kb.models import Case, Event, Material, PublicContact, Session, Vocabulary, VocabularyTerm
from kb.services import catalogue
from kb.services.exchange.schema import TEMPLATE_KEYS
from kb.web.case_form import CaseForm, record_fields


@dataclass(frozen=True)
class _Named:
    """An organisation named on the form (no page of its own yet, so no address)."""

    name: str
    slug: None = None


@dataclass(frozen=True)
class PreviewPerson:
    name: str
    title: str | None
    organisation: _Named | None
    email: str | None
    phone: str | None
    consents: bool
    slug: None = None

    def public_contact(self) -> PublicContact | None:
        """The same rule as ``Person.public_contact``: details only with consent."""
        if not self.consents or not (self.email or self.phone):
            return None
        return PublicContact(email=self.email, phone=self.phone)


@dataclass(frozen=True)
class _Contact:
    person: PreviewPerson
    role: str | None


@dataclass(frozen=True)
class _Figure:
    label: str
    value: float
    unit: str | None
    year: int | None
    source: str | None


@dataclass(frozen=True)
class _Link:
    url: str
    title: str | None


@dataclass(frozen=True)
class _Presentation:
    event: Event
    session: Session | None


@dataclass
class CasePreview:
    """The attributes of a ``Case`` that ``_case.html`` reads."""

    id: int | None
    title: str
    language: str
    country: str | None
    municipality: str | None
    region: str | None
    population_band: str | None
    urban_rural: str | None
    period: str | None
    summary: str
    body: str
    outcomes: str
    target_description: str | None
    background: str | None = None
    evaluation_method: str | None = None
    evaluated_by: str | None = None
    evaluation_url: str | None = None
    funding: str | None = None
    budget_band: str | None = None
    staff: str | None = None
    practice_status: str | None = None
    practice_status_year: int | None = None
    lessons_learned: str | None = None
    transferability: str | None = None
    published_at: None = None
    themes: list[VocabularyTerm] = field(default_factory=list)
    target_groups: list[VocabularyTerm] = field(default_factory=list)
    key_figures: list[_Figure] = field(default_factory=list)
    links: list[_Link] = field(default_factory=list)
    presentations: list[_Presentation] = field(default_factory=list)
    contacts: list[_Contact] = field(default_factory=list)
    materials: list[Material] = field(default_factory=list)


def from_form(
    form: CaseForm, case: Case | None, events: list[Event], language: str | None
) -> CasePreview:
    """The case as it would read once saved (files kept unless marked for removal)."""
    record = record_fields(form, language, places={})
    removed = set(form.remove_materials.data or [])
    return CasePreview(
        id=case.id if case is not None else None,
        title=record["title"] or "",
        language=language or "",
        **{k: record[k] for k in _AS_IS},
        themes=_terms(Vocabulary.THEME, record["themes"]),
        target_groups=_terms(Vocabulary.TARGET_GROUP, record["target_groups"]),
        key_figures=[
            _Figure(k["label"], value, k["unit"], k["year"], k["source"])
            for k in record["key_figures"]
            if (value := _number(k["value"])) is not None
        ],
        links=[_Link(link["url"], link["title"]) for link in record["links"]],
        presentations=_places(form.presented_at.data or [], events),
        contacts=[_contact(c) for c in record["contacts"] if c["name"]],
        materials=[m for m in (case.materials if case else []) if m.id not in removed],
    )


#: Record keys the preview shows as the form has them.
_AS_IS = (
    "country",
    "municipality",
    "region",
    "population_band",
    "urban_rural",
    "period",
    "summary",
    "body",
    "outcomes",
    "target_description",
    *TEMPLATE_KEYS,
)


def _contact(entry: dict[str, Any]) -> _Contact:
    organisation = entry["organisation"]
    person = PreviewPerson(
        name=entry["name"],
        title=entry["title"],
        organisation=_Named(organisation) if organisation else None,
        email=entry["email"],
        phone=entry["phone"],
        consents=entry["consent_to_publish_contact"],
    )
    return _Contact(person, entry["role"])


def _terms(vocabulary: Vocabulary, keys: list[str] | None) -> list[VocabularyTerm]:
    chosen = set(keys or [])
    return [term for term in catalogue.vocabulary(vocabulary) if term.key in chosen]


def _places(values: list[str], events: list[Event]) -> list[_Presentation]:
    found = []
    for event in events:
        if f"e{event.id}" in values:
            found.append(_Presentation(event, None))
        found += [_Presentation(event, s) for s in event.sessions if f"s{s.id}" in values]
    return found


def _number(text: Any) -> float | None:
    try:
        return float(str(text).replace(" ", "").replace("\u00a0", "").replace(",", "."))
    except ValueError:
        return None
