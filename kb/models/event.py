"""Events (conferences, seminars) and the sessions of their programme."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from kb.extensions import db
from kb.models.base import Timestamped, one_of
from kb.models.choices import SessionRole, check_country
from kb.models.people import Organisation, Person

if TYPE_CHECKING:
    from kb.models.case import CasePresentation
    from kb.models.material import Material

#: An event's descriptive fields: what forms and imports set, besides title and relations.
EVENT_DETAILS = (
    "place",
    "city",
    "country",
    "start_date",
    "end_date",
    "description",
    "language",
    "registration_url",
)

event_organiser = Table(
    "event_organiser",
    db.metadata,
    Column("event_id", ForeignKey("event.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True),
)


class Event(Timestamped, db.Model):
    __tablename__ = "event"
    __table_args__ = (
        CheckConstraint("end_date IS NULL OR start_date <= end_date", name="dates_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300), unique=True)
    place: Mapped[str | None] = mapped_column(String(300))
    city: Mapped[str | None] = mapped_column(String(120))
    country: Mapped[str | None] = mapped_column(String(2))
    start_date: Mapped[date | None] = mapped_column(Date, index=True)
    end_date: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str | None] = mapped_column(String(5))
    registration_url: Mapped[str | None] = mapped_column(String(500))

    organisers: Mapped[list[Organisation]] = relationship(
        secondary=event_organiser, order_by=Organisation.name
    )
    sessions: Mapped[list[Session]] = relationship(
        back_populates="event",
        order_by="(Session.position, Session.starts_at, Session.id)",
        cascade="all, delete-orphan",
    )
    presentations: Mapped[list[CasePresentation]] = relationship(
        back_populates="event", cascade="all, delete-orphan"
    )

    _check_country = validates("country")(check_country)

    def __repr__(self) -> str:
        return f"<Event {self.title!r}>"


class Session(Timestamped, db.Model):
    """One item of an event's programme: a talk, a panel, a workshop."""

    __tablename__ = "programme_session"
    __table_args__ = (
        UniqueConstraint("event_id", "slug"),
        CheckConstraint("ends_at IS NULL OR starts_at <= ends_at", name="times_in_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime | None] = mapped_column(DateTime)
    ends_at: Mapped[datetime | None] = mapped_column(DateTime)
    room: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="sessions")
    participants: Mapped[list[SessionPerson]] = relationship(
        back_populates="session",
        order_by="(SessionPerson.role, SessionPerson.position)",
        cascade="all, delete-orphan",
    )
    presentations: Mapped[list[CasePresentation]] = relationship(
        back_populates="session", cascade="all, delete-orphan"
    )
    materials: Mapped[list[Material]] = relationship(
        back_populates="session",
        order_by="(Material.position, Material.id)",
        cascade="all, delete-orphan",
    )

    def people(self, role: SessionRole) -> list[Person]:
        return [p.person for p in self.participants if p.role == role]

    @property
    def speakers(self) -> list[Person]:
        return self.people(SessionRole.SPEAKER)

    @property
    def moderators(self) -> list[Person]:
        return self.people(SessionRole.MODERATOR)

    def __repr__(self) -> str:
        return f"<Session {self.title!r}>"


class SessionPerson(db.Model):
    """A person on a session's stage, as speaker or moderator."""

    __tablename__ = "session_person"
    __table_args__ = (one_of("role", SessionRole),)

    session_id: Mapped[int] = mapped_column(
        ForeignKey("programme_session.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True, default=SessionRole.SPEAKER)
    position: Mapped[int] = mapped_column(default=0)

    session: Mapped[Session] = relationship(back_populates="participants")
    person: Mapped[Person] = relationship()
