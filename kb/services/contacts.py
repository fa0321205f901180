"""The contacts editors keep: people to contact and the organisations they work for.

Names are unique (an organisation's name; a person's name within their organisation), so
a duplicate is refused with ``Taken`` before the database would refuse it less kindly.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kb.extensions import db
from kb.i18n import _
from kb.models import Organisation, Person, User
from kb.services.slugs import unique_slug
from kb.services.unique_names import Taken, unique_write

#: How many people the editors' list shows at once; a search narrows it down.
PEOPLE_LIST_LIMIT = 100


@dataclass
class OrganisationFields:
    name: str
    country: str | None = None
    website: str | None = None


@dataclass
class PersonFields:
    name: str
    title: str | None = None
    organisation_id: int | None = None
    email: str | None = None
    phone: str | None = None
    consent: bool = False


# Organisations


def organisations() -> list[Organisation]:
    return list(db.session.scalars(select(Organisation).order_by(Organisation.name)))


def organisation_choices() -> list[tuple[int, str]]:
    """(id, name) of every organisation, for select boxes."""
    rows = db.session.execute(
        select(Organisation.id, Organisation.name).order_by(Organisation.name)
    )
    return [(row.id, row.name) for row in rows]


def find_organisation(organisation_id: int) -> Organisation | None:
    return db.session.get(Organisation, organisation_id)


def _organisation_name_taken() -> str:
    return _("An organisation with this name already exists.")


def _check_organisation_name(name: str, organisation: Organisation | None) -> None:
    query = select(Organisation.id).where(Organisation.name == name)
    if organisation is not None and organisation.id is not None:
        query = query.where(Organisation.id != organisation.id)
    if db.session.scalar(query.limit(1)) is not None:
        raise Taken("name", _organisation_name_taken())


def create_organisation(fields: OrganisationFields) -> Organisation:
    """A new organisation; its slug is made from the name once and kept."""
    with unique_write("name", _organisation_name_taken):
        _check_organisation_name(fields.name, None)
        organisation = Organisation(slug=unique_slug(Organisation, fields.name))
        _apply_organisation(organisation, fields)
        db.session.add(organisation)
    return organisation


def update_organisation(organisation: Organisation, fields: OrganisationFields) -> None:
    """Change an organisation's details; the slug (its public address) stays."""
    with unique_write("name", _organisation_name_taken):
        db.session.add(organisation)
        _check_organisation_name(fields.name, organisation)
        _apply_organisation(organisation, fields)


def _apply_organisation(organisation: Organisation, fields: OrganisationFields) -> None:
    organisation.name = fields.name
    organisation.country = fields.country
    organisation.website = fields.website


# People


def people(search: str = "", limit: int = PEOPLE_LIST_LIMIT) -> tuple[list[Person], int]:
    """People whose name contains ``search`` (all without it), by name: (first ``limit``, total)."""
    query = select(Person)
    if search:
        escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Person.name.ilike(f"%{escaped}%", escape="\\"))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    found = db.session.scalars(
        query.options(selectinload(Person.organisation))
        .order_by(Person.name, Person.id)
        .limit(limit)
    )
    return list(found), total


def people_choices() -> list[tuple[int, str]]:
    """(id, "name (organisation)") of every person, for choosing speakers and moderators."""
    rows = db.session.execute(
        select(Person.id, Person.name, Organisation.name.label("organisation"))
        .outerjoin(Person.organisation)
        .order_by(Person.name, Organisation.name, Person.id)
    )
    return [
        (row.id, f"{row.name} ({row.organisation})" if row.organisation else row.name)
        for row in rows
    ]


def find_person(person_id: int) -> Person | None:
    """A person with what their editing page shows: organisation and who recorded consent."""
    return db.session.scalar(
        select(Person)
        .where(Person.id == person_id)
        .options(selectinload(Person.organisation), selectinload(Person.consent_recorded_by))
    )


def people_with_address(email: str) -> list[Person]:
    """The people whose e-mail address is ``email`` (compared without case)."""
    wanted = email.strip().lower()
    return list(
        db.session.scalars(
            select(Person).where(func.lower(Person.email) == wanted).order_by(Person.id)
        )
    )


def _person_taken() -> str:
    return _("A person with this name already exists in this organisation.")


def _check_person_name(name: str, organisation_id: int | None, person: Person | None) -> None:
    """Also refuses a second person of the same name without an organisation (SQL would not)."""
    query = select(Person.id).where(
        Person.name == name,
        Person.organisation_id == organisation_id
        if organisation_id is not None
        else Person.organisation_id.is_(None),
    )
    if person is not None and person.id is not None:
        query = query.where(Person.id != person.id)
    if db.session.scalar(query.limit(1)) is not None:
        raise Taken("name", _person_taken())


def create_person(fields: PersonFields, by: User | None) -> Person:
    """A new person; ``by`` is recorded as who gave the consent, if any."""
    with unique_write("name", _person_taken):
        _check_person_name(fields.name, fields.organisation_id, None)
        person = Person(slug=unique_slug(Person, fields.name), consent_to_publish_contact=False)
        db.session.add(person)
        _apply_person(person, fields, by)
    return person


def update_person(person: Person, fields: PersonFields, by: User | None) -> None:
    """Change a person's details; a change of consent records when and by whom."""
    with unique_write("name", _person_taken):
        db.session.add(person)
        _check_person_name(fields.name, fields.organisation_id, person)
        _apply_person(person, fields, by)


def _apply_person(person: Person, fields: PersonFields, by: User | None) -> None:
    person.name = fields.name
    person.title = fields.title
    person.organisation = (
        db.session.get(Organisation, fields.organisation_id)
        if fields.organisation_id is not None
        else None
    )
    person.email = fields.email
    person.phone = fields.phone
    person.set_consent(fields.consent, by=by)
