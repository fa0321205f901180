"""Bulk reading for harvesters (the OAI-PMH plugin): every case that is or was public.

A case that was published once and is no longer public (sent back to review, archived)
stays in the list, so that harvesters learn to drop their copy; drafts that were never
published never appear. Lists are ordered by last change, ``(updated_at, id)``, and
paged by keyset: a page starts after the last case of the previous one, which stays
right when cases change between requests (offsets would skip or repeat cases).

Times are aware UTC datetimes both ways: the columns' type (``kb.models.types.UTCDateTime``)
converts parameters to UTC and marks what SQLite reads back as UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from babel import Locale
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.elements import ColumnElement

from kb.extensions import db
from kb.models import COUNTRIES, Case, CaseContact, CasePresentation, Person, VocabularyTerm

#: Published now, or published once: the cases a harvester may know about.
_harvestable = Case.published_at.is_not(None)

#: What a harvested record shows, loaded in a fixed number of queries.
RECORD_PARTS = (
    selectinload(Case.themes),
    selectinload(Case.contacts).selectinload(CaseContact.person).selectinload(Person.organisation),
    selectinload(Case.presentations).selectinload(CasePresentation.event),
    selectinload(Case.presentations).selectinload(CasePresentation.session),
)


@dataclass(frozen=True)
class HarvestFilter:
    """Which cases a harvest asks for; ``None`` leaves a criterion out.

    ``changed_from`` is inclusive and ``changed_before`` exclusive, so a caller can turn
    an inclusive "until" of any granularity into the start of the next second or day.
    ``theme`` is a theme key; ``any_theme`` asks for cases with at least one theme.
    """

    changed_from: datetime | None = None
    changed_before: datetime | None = None
    country: str | None = None
    theme: str | None = None
    any_theme: bool = False


@dataclass(frozen=True)
class Position:
    """Where a page ended: the last change time and id of its last case."""

    updated_at: datetime
    case_id: int


def _conditions(wanted: HarvestFilter) -> list[ColumnElement[bool]]:
    conditions = [_harvestable]
    if wanted.changed_from is not None:
        conditions.append(Case.updated_at >= wanted.changed_from)
    if wanted.changed_before is not None:
        conditions.append(Case.updated_at < wanted.changed_before)
    if wanted.country is not None:
        conditions.append(Case.country == wanted.country)
    if wanted.theme is not None:
        conditions.append(Case.themes.any(VocabularyTerm.key == wanted.theme))
    elif wanted.any_theme:
        conditions.append(Case.themes.any())
    return conditions


def harvest_page(wanted: HarvestFilter, after: Position | None, limit: int) -> list[Case]:
    """Up to ``limit`` cases in order of change, starting after ``after``; whole records."""
    conditions = _conditions(wanted)
    if after is not None:
        moment = after.updated_at
        conditions.append(
            or_(
                Case.updated_at > moment,
                and_(Case.updated_at == moment, Case.id > after.case_id),
            )
        )
    query = (
        select(Case)
        .where(*conditions)
        .options(*RECORD_PARTS)
        .order_by(Case.updated_at, Case.id)
        .limit(limit)
    )
    return list(db.session.scalars(query))


def harvest_count(wanted: HarvestFilter) -> int:
    """How many cases the whole list holds (for a harvester's progress)."""
    query = select(func.count()).select_from(Case).where(*_conditions(wanted))
    return db.session.scalar(query) or 0


def harvestable_case(case_id: int) -> Case | None:
    """One case that is or was public, with its record's parts; ``None`` otherwise."""
    return db.session.scalar(
        select(Case).where(Case.id == case_id, _harvestable).options(*RECORD_PARTS)
    )


def earliest_change() -> datetime | None:
    """The oldest change time of any case a harvester may know about."""
    earliest = db.session.scalar(select(func.min(Case.updated_at)).where(_harvestable))
    return earliest


def country_names() -> dict[str, str]:
    """Every country a case may come from, with its English name (for metadata)."""
    territories = Locale("en").territories
    return {code: territories.get(code, code) for code in COUNTRIES}
