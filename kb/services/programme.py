"""Events and their programme as editors keep them: sessions, who is on stage, material.

Slugs (the public addresses) are made from the title once and kept when a title changes,
so links people shared keep working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import _
from kb.models import (
    Event,
    Material,
    MaterialKind,
    Organisation,
    Person,
    Session,
    SessionPerson,
    SessionRole,
)
from kb.models.event import EVENT_DETAILS
from kb.services import materials
from kb.services.slugs import unique_slug
from kb.services.unique_names import Taken, unique_write


@dataclass
class EventFields:
    title: str
    place: str | None = None
    city: str | None = None
    country: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    description: str = ""
    language: str | None = None
    registration_url: str | None = None
    organiser_ids: list[int] = field(default_factory=list)


@dataclass
class SessionFields:
    title: str
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    room: str | None = None
    description: str = ""
    position: int = 0
    speaker_ids: list[int] = field(default_factory=list)
    moderator_ids: list[int] = field(default_factory=list)


# Events


def find_event(event_id: int) -> Event | None:
    """An event with what its editing page shows: organisers and sessions."""
    return db.session.scalar(
        select(Event)
        .where(Event.id == event_id)
        .options(selectinload(Event.organisers), selectinload(Event.sessions))
    )


def _event_title_taken() -> str:
    return _("An event with this title already exists.")


def _check_event_title(title: str, event: Event | None) -> None:
    query = select(Event.id).where(Event.title == title)
    if event is not None and event.id is not None:
        query = query.where(Event.id != event.id)
    if db.session.scalar(query.limit(1)) is not None:
        raise Taken("title", _event_title_taken())


def create_event(fields: EventFields) -> Event:
    with unique_write("title", _event_title_taken):
        _check_event_title(fields.title, None)
        event = Event(slug=unique_slug(Event, fields.title))
        db.session.add(event)
        _apply_event(event, fields)
    return event


def update_event(event: Event, fields: EventFields) -> None:
    with unique_write("title", _event_title_taken):
        db.session.add(event)
        _check_event_title(fields.title, event)
        _apply_event(event, fields)


def _apply_event(event: Event, fields: EventFields) -> None:
    for name in ("title", *EVENT_DETAILS):
        setattr(event, name, getattr(fields, name))
    wanted = set(fields.organiser_ids)
    event.organisers = (
        list(db.session.scalars(select(Organisation).where(Organisation.id.in_(wanted))))
        if wanted
        else []
    )


# Sessions


def find_session(session_id: int) -> Session | None:
    """A session with what its editing page shows: event, people on stage, material."""
    return db.session.scalar(
        select(Session)
        .where(Session.id == session_id)
        .options(
            selectinload(Session.event),
            selectinload(Session.participants).selectinload(SessionPerson.person),
            selectinload(Session.materials),
        )
    )


def create_session(event: Event, fields: SessionFields) -> Session:
    with write_transaction():
        db.session.add(event)
        session = Session(event=event, slug=unique_slug(Session, fields.title, event_id=event.id))
        db.session.add(session)
        _apply_session(session, fields)
    return session


def update_session(session: Session, fields: SessionFields) -> None:
    with write_transaction():
        db.session.add(session)
        _apply_session(session, fields)


def _apply_session(session: Session, fields: SessionFields) -> None:
    for name in ("title", "starts_at", "ends_at", "room", "description", "position"):
        setattr(session, name, getattr(fields, name))
    _set_people(session, fields.speaker_ids, fields.moderator_ids)


def _set_people(session: Session, speaker_ids: list[int], moderator_ids: list[int]) -> None:
    """Keep the links that stay (and their order), add the new ones, drop the others."""
    wanted = {SessionRole.SPEAKER: speaker_ids, SessionRole.MODERATOR: moderator_ids}
    ids = {*speaker_ids, *moderator_ids}
    people = (
        {p.id: p for p in db.session.scalars(select(Person).where(Person.id.in_(ids)))}
        if ids
        else {}
    )
    existing = {(sp.person_id, sp.role): sp for sp in session.participants}
    kept: list[SessionPerson] = []
    for role, person_ids in wanted.items():
        ordered = sorted(
            (pid for pid in dict.fromkeys(person_ids) if pid in people),
            key=lambda pid: (
                existing[(pid, role)].position if (pid, role) in existing else len(existing)
            ),
        )
        for position, pid in enumerate(ordered):
            link = existing.get((pid, role)) or SessionPerson(person=people[pid], role=role)
            link.position = position
            kept.append(link)
    session.participants = kept


# Session material


def find_material(material_id: int) -> Material | None:
    return db.session.get(Material, material_id)


def _next_position(session: Session) -> int:
    last = db.session.scalar(
        select(func.max(Material.position)).where(Material.session_id == session.id)
    )
    return 0 if last is None else last + 1


def add_link(session: Session, *, title: str, url: str, kind: MaterialKind) -> Material:
    """A link (slides online, a recording) at the end of the session's material."""
    with write_transaction():
        db.session.add(session)
        material = Material(kind=kind, title=title, url=url, position=_next_position(session))
        session.materials.append(material)
    return material


def add_file(
    session: Session, stream: BinaryIO, *, title: str, original_filename: str, kind: MaterialKind
) -> Material:
    """Store an upload (checked by ``materials.attach_file``) at the end of the list.

    Raises ``materials.MaterialRejected`` when the file is refused; nothing is stored then.
    """
    position = _next_position(session)
    material = materials.attach_file(
        session, stream, title=title, original_filename=original_filename, kind=kind
    )
    with write_transaction():
        db.session.add(material)
        material.position = position
    return material


def remove_material(material: Material) -> None:
    """Remove a material; a stored file is deleted once the removal is committed."""
    paths = [materials.path_of(material)] if material.is_file else []
    with write_transaction():
        db.session.delete(material)
    materials.delete_files(paths)
