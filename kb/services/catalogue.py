"""Read-only queries: public pages show only published cases; ``any_case`` and
``cases_owned_by`` serve the authors and editors, behind their access checks.

A public query loads everything its page shows in a fixed number of queries, and ends with
``NO_LAZY``: a template reaching for a relationship nobody loaded fails (in the tests, by
tests/test_query_counts.py) instead of querying once per item on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.orm import contains_eager, raiseload, selectinload

from kb.extensions import db
from kb.models import (
    Case,
    CaseContact,
    CasePresentation,
    CaseStatus,
    Event,
    Material,
    Organisation,
    Person,
    Session,
    SessionPerson,
    User,
    Vocabulary,
    VocabularyTerm,
)
from kb.models.case import case_theme, period_text
from kb.search import get_backend
from kb.search.backend import SearchRequest
from kb.services import labels

_published = Case.status == CaseStatus.PUBLISHED
#: A person is public only through a published case or a programme's session (sessions are
#: public as soon as an editor adds them): a contact typed into a draft is not.
_public_person = or_(
    Person.id.in_(
        select(CaseContact.person_id).join(Case, CaseContact.case_id == Case.id).where(_published)
    ),
    Person.id.in_(select(SessionPerson.person_id)),
)
#: No lazy load that would query: what a public page shows is loaded with its query.
NO_LAZY = raiseload("*", sql_only=True)

#: Loader options for everything a case page or an export shows, in a fixed number of queries.
WHOLE_CASE = (
    selectinload(Case.themes),
    selectinload(Case.target_groups),
    selectinload(Case.key_figures),
    selectinload(Case.links),
    selectinload(Case.materials),
    selectinload(Case.contacts).selectinload(CaseContact.person).selectinload(Person.organisation),
    selectinload(Case.presentations).selectinload(CasePresentation.session),
    selectinload(Case.presentations).selectinload(CasePresentation.event),
)


#: What a case card shows besides the case's own columns.
CARD = (selectinload(Case.themes), NO_LAZY)


def latest_cases(limit: int = 6) -> list[Case]:
    return list(
        db.session.scalars(
            select(Case)
            .where(_published)
            .options(*CARD)
            .order_by(Case.published_at.desc(), Case.id.desc())
            .limit(limit)
        )
    )


def published_cases(page: int = 1, per_page: int = 20) -> Pagination:
    """One page of the published cases, by title, with their count."""
    query = select(Case).where(_published).options(*CARD).order_by(Case.title)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def published_case(slug: str) -> Case | None:
    """A published case with everything its page shows, the material of the sessions it was
    presented in included."""
    return db.session.scalar(
        select(Case)
        .where(Case.slug == slug, _published)
        .options(
            *WHOLE_CASE,
            selectinload(Case.presentations)
            .selectinload(CasePresentation.session)
            .selectinload(Session.materials),
            NO_LAZY,
        )
    )


def published_by_ids(ids: list[int], *, whole: bool = True) -> list[Case]:
    """Published cases in the order of ``ids`` (e.g. a search's hits); others left out.

    ``whole=False`` loads only what a case card shows.
    """
    if not ids:
        return []
    found = {
        case.id: case
        for case in db.session.scalars(
            select(Case)
            .where(Case.id.in_(ids), _published)
            .options(*((*WHOLE_CASE, NO_LAZY) if whole else CARD))
        )
    }
    return [found[i] for i in ids if i in found]


@dataclass(frozen=True)
class HitCard:
    """What the search page shows beside a hit besides the index's own fields."""

    municipality: str | None
    period: str | None
    themes: tuple[labels.Term, ...]


_cases = Case.__table__.c
#: Built once, of the tables' columns rather than the models': the session runs it without
#: the ORM's compile step, and SQLAlchemy keys its cache on this one object (about 0.3 ms a
#: search page with the query built anew through the ORM).
_HIT_CARDS = (
    select(_cases.id, _cases.municipality, _cases.start_year, _cases.end_year, case_theme.c.term_id)
    .outerjoin(case_theme, case_theme.c.case_id == _cases.id)
    .where(_cases.id.in_(bindparam("ids", expanding=True)), _cases.status == CaseStatus.PUBLISHED)
)


def hit_cards(ids: list[int]) -> dict[int, HitCard]:
    """The published cases among ``ids``, by id: one query, themes named from the labels'
    cache (no ORM objects: the search page asks for these on every request)."""
    if not ids:
        return {}
    rows = db.session.execute(_HIT_CARDS, {"ids": ids})
    found: dict[int, tuple[str | None, str | None]] = {}
    themes: dict[int, list[labels.Term]] = {}
    terms = labels.current().by_id
    for case_id, municipality, start_year, end_year, term_id in rows:
        found[case_id] = (municipality, period_text(start_year, end_year))
        if term_id in terms:
            themes.setdefault(case_id, []).append(terms[term_id])
    return {
        case_id: HitCard(
            municipality,
            period,
            tuple(sorted(themes.get(case_id, ()), key=lambda t: (t.position, t.key))),
        )
        for case_id, (municipality, period) in found.items()
    }


def found_cases(request: SearchRequest) -> tuple[list[Case], int]:
    """The whole published cases on this page of a search, and how many it found in all.

    The index finds them; the database has the last word on what is public.
    """
    found = get_backend().search(request)
    return published_by_ids([hit.id for hit in found.hits]), found.total


def events(upcoming_from: date | None = None) -> list[Event]:
    """All events, newest first; with ``upcoming_from`` only those not yet over."""
    query = select(Event).options(selectinload(Event.organisers), NO_LAZY)
    if upcoming_from is not None:
        query = query.where(func.coalesce(Event.end_date, Event.start_date) >= upcoming_from)
    return list(db.session.scalars(query.order_by(Event.start_date.desc(), Event.title)))


def event(slug: str) -> Event | None:
    """An event with its programme: sessions, their people (for the API, with their
    organisations) and materials."""
    return db.session.scalar(
        select(Event)
        .where(Event.slug == slug)
        .options(
            selectinload(Event.organisers),
            selectinload(Event.sessions)
            .selectinload(Session.participants)
            .selectinload(SessionPerson.person)
            .selectinload(Person.organisation),
            selectinload(Event.sessions).selectinload(Session.materials),
            NO_LAZY,
        )
    )


def session(event_slug: str, slug: str) -> Session | None:
    return db.session.scalar(
        select(Session)
        .join(Session.event)
        .where(Event.slug == event_slug, Session.slug == slug)
        .options(
            contains_eager(Session.event),
            selectinload(Session.participants)
            .selectinload(SessionPerson.person)
            .selectinload(Person.organisation),
            selectinload(Session.materials),
            NO_LAZY,
        )
    )


def cases_presented(*, event: Event | None = None, session: Session | None = None) -> list[Case]:
    """Published cases presented at an event (in any of its sessions) or in one session.

    For a session, with the cases' material: a speaker's slides attached to their case are
    the session's follow-up material too.
    """
    query = select(Case).join(Case.presentations).where(_published)
    options = CARD
    if session is not None:
        query = query.where(CasePresentation.session_id == session.id)
        options = (selectinload(Case.materials), *CARD)
    elif event is not None:
        query = query.where(CasePresentation.event_id == event.id)
    return list(db.session.scalars(query.options(*options).distinct().order_by(Case.title)))


def person(slug: str) -> Person | None:
    """A person with a public page (see ``_public_person``)."""
    return db.session.scalar(
        select(Person)
        .where(Person.slug == slug, _public_person)
        .options(selectinload(Person.organisation), NO_LAZY)
    )


def people(page: int = 1, per_page: int = 50) -> Pagination:
    """Everyone with a public page, by name (their details follow their consent)."""
    query = (
        select(Person)
        .where(_public_person)
        .options(selectinload(Person.organisation), NO_LAZY)
        .order_by(Person.name, Person.id)
    )
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def cases_with_contact(person: Person) -> list[Case]:
    return list(
        db.session.scalars(
            select(Case)
            .join(Case.contacts)
            .where(CaseContact.person_id == person.id, _published)
            .options(*CARD)
            .order_by(Case.title)
        )
    )


def sessions_with(person: Person) -> list[Session]:
    return list(
        db.session.scalars(
            select(Session)
            .join(Session.participants)
            .where(SessionPerson.person_id == person.id)
            .options(selectinload(Session.event), NO_LAZY)
            .distinct()
            .order_by(Session.starts_at, Session.title)
        )
    )


def organisation(slug: str) -> Organisation | None:
    return db.session.scalar(select(Organisation).where(Organisation.slug == slug).options(NO_LAZY))


def people_of(organisation: Organisation) -> list[Person]:
    """The organisation's people who have a public page, by name."""
    return list(
        db.session.scalars(
            select(Person)
            .where(Person.organisation_id == organisation.id, _public_person)
            .options(NO_LAZY)
            .order_by(Person.name, Person.id)
        )
    )


def cases_of(organisation: Organisation) -> list[Case]:
    """Published cases with a contact person from the organisation, by title."""
    return list(
        db.session.scalars(
            select(Case)
            .where(
                _published,
                Case.contacts.any(
                    CaseContact.person.has(Person.organisation_id == organisation.id)
                ),
            )
            .options(*CARD)
            .order_by(Case.title)
        )
    )


def term(vocabulary: Vocabulary, key: str) -> VocabularyTerm | None:
    return db.session.scalar(
        select(VocabularyTerm).where(
            VocabularyTerm.vocabulary == vocabulary, VocabularyTerm.key == key
        )
    )


def cases_with_term(term: VocabularyTerm) -> list[Case]:
    """Published cases with a theme or target group, newest first."""
    relationship = Case.themes if term.vocabulary == Vocabulary.THEME else Case.target_groups
    return list(
        db.session.scalars(
            select(Case)
            .where(_published, relationship.any(VocabularyTerm.id == term.id))
            .options(*CARD)
            .order_by(Case.published_at.desc(), Case.id.desc())
        )
    )


def vocabulary(vocabulary: Vocabulary) -> list[VocabularyTerm]:
    return list(
        db.session.scalars(
            select(VocabularyTerm)
            .where(VocabularyTerm.vocabulary == vocabulary)
            .order_by(VocabularyTerm.position, VocabularyTerm.key)
        )
    )


def public_material(material_id: int) -> Material | None:
    """A material anyone may download: a session's, or a published case's."""
    material = db.session.get(Material, material_id)
    if material is None or (material.case is not None and not material.case.is_published):
        return None
    return material


def any_case(case_id: int) -> Case | None:
    """A case whatever its status: for its author and the editors, never for public pages."""
    return db.session.scalar(select(Case).where(Case.id == case_id).options(*WHOLE_CASE))


def cases_owned_by(user: User) -> list[Case]:
    return list(
        db.session.scalars(
            select(Case).where(Case.owner_id == user.id).order_by(Case.updated_at.desc())
        )
    )


def events_with_sessions() -> list[Event]:
    """Every event with its programme, newest first: the choices of "presented at"."""
    return list(
        db.session.scalars(
            select(Event)
            .options(selectinload(Event.sessions))
            .order_by(Event.start_date.desc().nulls_last(), Event.title)
        )
    )
