"""Case studies: what a municipality or region did, for whom, and what came of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from kb.extensions import db
from kb.models.base import Timestamped, is_valid_slug, one_of
from kb.models.choices import (
    CONTENT_LANGUAGES,
    BudgetBand,
    CaseStatus,
    EvaluatedBy,
    PracticeStatus,
    Vocabulary,
    check_country,
)
from kb.models.event import Event, Session
from kb.models.municipality import PopulationBand, UrbanRural
from kb.models.people import Person
from kb.models.types import UTCDateTime
from kb.models.vocabulary import VocabularyTerm

#: The years the case form accepts for the period, a status or a key figure.
FIRST_YEAR, LAST_YEAR = 1900, 2100

if TYPE_CHECKING:
    from kb.models.material import Material
    from kb.models.user import User


def _term_link_table(name: str) -> Table:
    return Table(
        name,
        db.metadata,
        Column("case_id", ForeignKey("case_study.id", ondelete="CASCADE"), primary_key=True),
        Column(
            "term_id",
            ForeignKey("vocabulary_term.id", ondelete="RESTRICT"),
            primary_key=True,
            index=True,
        ),
    )


case_theme = _term_link_table("case_theme")
case_target_group = _term_link_table("case_target_group")


def period_text(start_year: int | None, end_year: int | None) -> str | None:
    """The period as written in the import format: "2011-2014", "2015-" or "2018"."""
    if start_year is None:
        return None
    if end_year == start_year:
        return str(start_year)
    return f"{start_year}-{end_year or ''}"


class Case(Timestamped, db.Model):
    __tablename__ = "case_study"
    __table_args__ = (
        one_of("status", CaseStatus),
        one_of("population_band", PopulationBand),
        one_of("urban_rural", UrbanRural),
        CheckConstraint(
            "end_year IS NULL OR start_year IS NULL OR start_year <= end_year",
            name="period_in_order",
        ),
        one_of("practice_status", PracticeStatus),
        one_of("evaluated_by", EvaluatedBy),
        one_of("budget_band", BudgetBand),
        CheckConstraint(
            "practice_status_year IS NULL OR practice_status IS NOT NULL",
            name="practice_status_year_has_status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str | None] = mapped_column(String(100), unique=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(5))
    country: Mapped[str] = mapped_column(String(2), index=True)
    municipality: Mapped[str | None] = mapped_column(String(300))
    region: Mapped[str | None] = mapped_column(String(300))
    # The municipality's profile (kb.models.municipality), kept with the case: see
    # docs/editorial.md for why it is not a municipality register shared by cases.
    population_band: Mapped[str | None] = mapped_column(String(20))
    urban_rural: Mapped[str | None] = mapped_column(String(20))
    target_description: Mapped[str | None] = mapped_column(Text)
    start_year: Mapped[int | None]
    end_year: Mapped[int | None]
    outcomes: Mapped[str] = mapped_column(Text, default="")
    # The practice template (docs/editorial.md): each part optional, in the case's language.
    background: Mapped[str | None] = mapped_column(Text)
    evaluation_method: Mapped[str | None] = mapped_column(Text)
    evaluated_by: Mapped[str | None] = mapped_column(String(20))
    evaluation_url: Mapped[str | None] = mapped_column(String(1000))
    funding: Mapped[str | None] = mapped_column(Text)
    budget_band: Mapped[str | None] = mapped_column(String(20), index=True)
    staff: Mapped[str | None] = mapped_column(Text)
    # Where the practice stands, and since when; ``status`` is the publication workflow.
    practice_status: Mapped[str | None] = mapped_column(String(20), index=True)
    practice_status_year: Mapped[int | None] = mapped_column(Integer)
    lessons_learned: Mapped[str | None] = mapped_column(Text)
    transferability: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=CaseStatus.DRAFT, index=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    #: When the case was last said to be still accurate: on publication, and each time its
    #: owner or an editor confirms it (``kb.services.freshness``).
    last_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # The speaker who submitted it; they may edit it until it is published.
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL"), index=True
    )

    themes: Mapped[list[VocabularyTerm]] = relationship(
        secondary=case_theme, order_by=VocabularyTerm.position
    )
    target_groups: Mapped[list[VocabularyTerm]] = relationship(
        secondary=case_target_group, order_by=VocabularyTerm.position
    )
    key_figures: Mapped[list[KeyFigure]] = relationship(
        order_by="KeyFigure.position", cascade="all, delete-orphan"
    )
    links: Mapped[list[CaseLink]] = relationship(
        order_by="CaseLink.position", cascade="all, delete-orphan"
    )
    contacts: Mapped[list[CaseContact]] = relationship(
        back_populates="case", order_by="CaseContact.position", cascade="all, delete-orphan"
    )
    presentations: Mapped[list[CasePresentation]] = relationship(
        back_populates="case", order_by="CasePresentation.id", cascade="all, delete-orphan"
    )
    materials: Mapped[list[Material]] = relationship(
        back_populates="case",
        order_by="(Material.position, Material.id)",
        cascade="all, delete-orphan",
    )
    owner: Mapped[User | None] = relationship()

    @validates("language")
    def _check_language(self, _name: str, language: str) -> str:
        if language not in CONTENT_LANGUAGES:
            raise ValueError(f"unknown language {language!r}")
        return language

    _check_country = validates("country")(check_country)

    @validates("slug")
    def _check_slug(self, _name: str, slug: str) -> str:
        if not is_valid_slug(slug):
            raise ValueError(f"invalid slug {slug!r}")
        return slug

    @validates("practice_status", "evaluated_by", "budget_band")
    def _check_choice(self, name: str, value: str | None) -> str | None:
        """Each of these is empty or one value of its closed list."""
        choices = _TEMPLATE_CHOICES[name]
        if value is not None and value not in {c.value for c in choices}:
            raise ValueError(f"unknown {name} {value!r}")
        return value

    @validates("practice_status_year")
    def _check_status_year(self, _name: str, year: int | None) -> int | None:
        return check_year(year)

    @validates("themes", "target_groups")
    def _check_term(self, name: str, term: VocabularyTerm) -> VocabularyTerm:
        expected = Vocabulary.THEME if name == "themes" else Vocabulary.TARGET_GROUP
        if term.vocabulary != expected:
            raise ValueError(f"{term.key!r} is a {term.vocabulary}, not a {expected}")
        return term

    @property
    def is_published(self) -> bool:
        return self.status == CaseStatus.PUBLISHED

    @property
    def period(self) -> str | None:
        return period_text(self.start_year, self.end_year)

    @property
    def sessions(self) -> list[Session]:
        return [p.session for p in self.presentations if p.session is not None]

    @property
    def events(self) -> list[Event]:
        seen: dict[int, Event] = {}
        for p in self.presentations:
            seen.setdefault(p.event.id, p.event)
        return list(seen.values())

    def __repr__(self) -> str:
        return f"<Case {self.slug!r}>"


#: The closed list each choice of the practice template takes its value from.
_TEMPLATE_CHOICES: dict[str, type[StrEnum]] = {
    "practice_status": PracticeStatus,
    "evaluated_by": EvaluatedBy,
    "budget_band": BudgetBand,
}


def check_year(year: int | None) -> int | None:
    """A year a practice can be dated to (the case form's own range), or none."""
    if year is not None and not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"year {year} is not between {FIRST_YEAR} and {LAST_YEAR}")
    return year


class _CasePart:
    """A row that belongs to one case, in a given order."""

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_study.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)


class KeyFigure(_CasePart, db.Model):
    """A number that tells the result, e.g. "in work or education after 2 years: 64 %"."""

    __tablename__ = "key_figure"

    label: Mapped[str] = mapped_column(String(300))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str | None] = mapped_column(String(40))
    #: The year the number is for, and where it comes from; without a source the number is
    #: the owner's own.
    year: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str | None] = mapped_column(String(300))

    @validates("year")
    def _check_year(self, _name: str, year: int | None) -> int | None:
        return check_year(year)


class CaseLink(_CasePart, db.Model):
    __tablename__ = "case_link"

    url: Mapped[str] = mapped_column(String(1000))
    title: Mapped[str | None] = mapped_column(String(300))


class CaseContact(db.Model):
    """A person to contact about a case, in a role such as "project lead"."""

    __tablename__ = "case_contact"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_study.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str | None] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(default=0)

    case: Mapped[Case] = relationship(back_populates="contacts")
    person: Mapped[Person] = relationship()


class CasePresentation(db.Model):
    """Where a case was presented: at an event, and in one of its sessions when known."""

    __tablename__ = "case_presentation"
    __table_args__ = (UniqueConstraint("case_id", "event_id", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_study.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme_session.id", ondelete="CASCADE"), index=True
    )

    case: Mapped[Case] = relationship(back_populates="presentations")
    event: Mapped[Event] = relationship(back_populates="presentations")
    session: Mapped[Session | None] = relationship(back_populates="presentations")

    @validates("session")
    def _session_sets_event(self, _name: str, session: Session | None) -> Session | None:
        """The event is always the session's own event."""
        if session is not None:
            self.event = session.event
        return session

    @validates("event")
    def _event_matches_session(self, _name: str, event: Event) -> Event:
        if self.session is not None and self.session.event is not event:
            raise ValueError("the session belongs to another event")
        return event
