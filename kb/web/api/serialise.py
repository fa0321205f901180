"""Stored objects as the API shows them: the public record plus addresses, checked by the
response models. Built on the exchange format's records, so the two cannot disagree."""

from __future__ import annotations

from flask import url_for

from kb.models import Case, Event, Material, Organisation, Person, Session
from kb.services import freshness
from kb.services.exchange.exporter import case_record, event_record, organisation_record
from kb.web.api import schemas


def _url(endpoint: str, **values: object) -> str:
    return url_for(endpoint, _external=True, **values)


def api_case_url(case_id: int) -> str:
    return _url("api.case", key=str(case_id))


def case_url(slug: str) -> str:
    return _url("public.case", slug=slug)


def contact(person: Person, role: str | None = None) -> schemas.Contact:
    details = person.public_contact()
    return schemas.Contact(
        name=person.name,
        slug=person.slug,
        url=_url("public.person", slug=person.slug),
        title=person.title,
        organisation=person.organisation.name if person.organisation else None,
        email=details.email if details else None,
        phone=details.phone if details else None,
        role=role,
    )


def material(item: Material) -> schemas.Material:
    url = item.url
    if item.is_file:
        name = item.original_filename or item.stored_name
        url = _url("public.material_file", material_id=item.id, filename=name)
    return schemas.Material(kind=item.kind, title=item.title, language=item.language, url=url)


def case(item: Case) -> schemas.Case:
    record = case_record(item, public=True)
    record |= {
        "id": item.id,
        "url": case_url(item.slug),
        "published_at": item.published_at,
        "updated_at": item.updated_at,
        "last_confirmed_at": freshness.confirmed_at(item),
        "stale": freshness.is_stale(item),
        "sessions": [
            schemas.Presentation(
                event=p.event.title,
                session=p.session.title if p.session else None,
                event_url=_url("public.event", slug=p.event.slug),
                session_url=_url("public.session", event_slug=p.event.slug, slug=p.session.slug)
                if p.session
                else None,
            )
            for p in item.presentations
        ],
        "contacts": [contact(c.person, c.role) for c in item.contacts],
        "materials": [material(m) for m in item.materials],
    }
    return schemas.Case.model_validate(record)


def session(item: Session) -> schemas.SessionOut:
    return schemas.SessionOut(
        title=item.title,
        slug=item.slug,
        url=_url("public.session", event_slug=item.event.slug, slug=item.slug),
        starts_at=item.starts_at.isoformat() if item.starts_at else None,
        ends_at=item.ends_at.isoformat() if item.ends_at else None,
        room=item.room,
        description=item.description,
        people=[contact(p.person, p.role) for p in item.participants],
        materials=[material(m) for m in item.materials],
    )


def event(item: Event) -> schemas.Event:
    record = event_record(item, public=True)
    record |= {
        "url": _url("public.event", slug=item.slug),
        "sessions": [session(s) for s in item.sessions],
    }
    return schemas.Event.model_validate(record)


def organisation(item: Organisation) -> schemas.Organisation:
    record = organisation_record(item) | {"url": _url("public.organisation", slug=item.slug)}
    return schemas.Organisation.model_validate(record)
