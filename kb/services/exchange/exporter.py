"""Export everything in the exchange format, so that importing the file rebuilds it.

The export is the administrator's full copy and holds contact details of people who
did not consent to publication; ``public=True`` leaves those out (open data).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.models import (
    Case,
    CaseStatus,
    Event,
    Material,
    Organisation,
    Person,
    Session,
    SessionPerson,
)
from kb.services.catalogue import WHOLE_CASE
from kb.services.exchange.schema import FORMAT_NAME, FORMAT_VERSION, TEMPLATE_KEYS


def export_document(*, public: bool = False) -> dict[str, Any]:
    """The whole knowledge base as one JSON-ready document."""
    return _header() | {
        "organisations": [organisation_record(o) for o in _organisations()],
        "events": [event_record(e, public=public) for e in _events()],
        "cases": [case_record(c, public=public) for c in iter_cases(public=public)],
    }


def cases_document(cases: Iterable[Case], *, public: bool) -> dict[str, Any]:
    """Some cases alone (a case page's or a search's download), importable like a dump."""
    return _header() | {"cases": [case_record(c, public=public) for c in cases]}


def _header() -> dict[str, Any]:
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def iter_cases(*, public: bool = False) -> Iterator[Case]:
    query = select(Case).options(*WHOLE_CASE).order_by(Case.ref, Case.id)
    if public:
        query = query.where(Case.status == CaseStatus.PUBLISHED)
    yield from db.session.scalars(query)


def _organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))


def _events() -> list[Event]:
    return list(
        db.session.scalars(
            select(Event)
            .options(
                selectinload(Event.organisers),
                selectinload(Event.sessions).selectinload(Session.materials),
                selectinload(Event.sessions)
                .selectinload(Session.participants)
                .selectinload(SessionPerson.person),
            )
            .order_by(Event.start_date, Event.title)
        )
    )


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def organisation_record(org: Organisation) -> dict[str, Any]:
    return {"name": org.name, "slug": org.slug, "country": org.country, "website": org.website}


def person_record(person: Person, *, public: bool) -> dict[str, Any]:
    contact = person.public_contact() if public else person
    return {
        "name": person.name,
        "title": person.title,
        "organisation": person.organisation.name if person.organisation else None,
        "email": contact.email if contact else None,
        "phone": contact.phone if contact else None,
        "consent_to_publish_contact": person.consent_to_publish_contact,
    }


def material_record(material: Material) -> dict[str, Any]:
    record = {"kind": material.kind, "title": material.title, "language": material.language}
    if material.is_file:
        record |= {"file": material.stored_name, "original_filename": material.original_filename}
    else:
        record["url"] = material.url
    return record


def event_record(event: Event, *, public: bool) -> dict[str, Any]:
    return {
        "title": event.title,
        "slug": event.slug,
        "organisers": [org.name for org in event.organisers],
        "place": event.place,
        "city": event.city,
        "country": event.country,
        "start_date": _iso(event.start_date),
        "end_date": _iso(event.end_date),
        "description": event.description,
        "language": event.language,
        "registration_url": event.registration_url,
        "sessions": [
            {
                "title": s.title,
                "slug": s.slug,
                "starts_at": _iso(s.starts_at),
                "ends_at": _iso(s.ends_at),
                "room": s.room,
                "description": s.description,
                "people": [
                    person_record(sp.person, public=public) | {"role": sp.role}
                    for sp in s.participants
                ],
                "materials": [material_record(m) for m in s.materials],
            }
            for s in event.sessions
        ],
    }


def case_record(case: Case, *, public: bool) -> dict[str, Any]:
    return {
        "ref": case.ref,
        "slug": case.slug,
        "title": case.title,
        "language": case.language,
        "country": case.country,
        "municipality": case.municipality,
        "region": case.region,
        "population_band": case.population_band,
        "urban_rural": case.urban_rural,
        "themes": [t.key for t in case.themes],
        "target_groups": [t.key for t in case.target_groups],
        "target_description": case.target_description,
        "period": case.period,
        "summary": case.summary,
        "body": case.body,
        "outcomes": case.outcomes,
        **{key: getattr(case, key) for key in TEMPLATE_KEYS},
        "key_figures": [
            {"label": k.label, "value": k.value, "unit": k.unit, "year": k.year, "source": k.source}
            for k in case.key_figures
        ],
        "links": [{"url": link.url, "title": link.title} for link in case.links],
        "status": case.status,
        "sessions": [
            {"event": p.event.title, "session": p.session.title if p.session else None}
            for p in case.presentations
        ],
        "contacts": [
            person_record(c.person, public=public) | {"role": c.role} for c in case.contacts
        ],
        "materials": [material_record(m) for m in case.materials],
    }
