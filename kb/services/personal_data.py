"""Personal data: everything stored about a person, and erasing them.

Erasing removes the person and their links to sessions, cases and an account, and takes
them out of the cases' kept revisions (found by identity, whatever their name or e-mail was
then); the cases and sessions stay, without that contact. The export holds the same: the
person, their links, and every revision's entry about them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from kb import plugins
from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseContact, Person, Session, SessionPerson, User
from kb.services.indexing import outbox
from kb.services.revisions import PERSON_ID, forget_person, mentions


def person_data(person: Person) -> dict[str, Any]:
    """All data about one person, as JSON-ready values (for a data-subject request)."""
    sessions = db.session.execute(
        select(Session, SessionPerson.role)
        .join(SessionPerson, SessionPerson.session_id == Session.id)
        .where(SessionPerson.person_id == person.id)
        .order_by(Session.id)
    ).all()
    cases = db.session.execute(
        select(Case, CaseContact.role)
        .join(CaseContact, CaseContact.case_id == Case.id)
        .where(CaseContact.person_id == person.id)
        .order_by(Case.id)
    ).all()
    accounts = db.session.scalars(select(User).where(User.person_id == person.id)).all()
    return {
        "id": person.id,
        "name": person.name,
        "title": person.title,
        "organisation": person.organisation.name if person.organisation else None,
        "email": person.email,
        "phone": person.phone,
        "consent_to_publish_contact": person.consent_to_publish_contact,
        "consent_given_at": person.consent_given_at.isoformat()
        if person.consent_given_at
        else None,
        "created_at": person.created_at.isoformat() if person.created_at else None,
        "updated_at": person.updated_at.isoformat() if person.updated_at else None,
        "sessions": [
            {"event": s.event.title, "session": s.title, "role": role} for s, role in sessions
        ],
        "case_contacts": [
            {"case": c.title, "ref": c.ref, "slug": c.slug, "role": role} for c, role in cases
        ],
        "accounts": [{"email": u.email, "role": u.role} for u in accounts],
        "case_revisions": [
            {
                "case": revision.case.ref or revision.case.slug,
                "revision": revision.number,
                "saved_at": revision.created_at.isoformat(),
                "action": revision.action,
                "contact": {k: v for k, v in contact.items() if k != PERSON_ID},
            }
            for revision, contact in mentions(person)
        ],
        "plugins": plugin_data(person.email),
    }


def normal_address(email: str | None) -> str:
    """An address as plugins file it: trimmed and lowercased."""
    return (email or "").strip().lower()


def plugin_data(email: str | None) -> dict[str, Any]:
    """What each enabled plugin keeps about this address, by plugin name (none: left out)."""
    address = normal_address(email)
    if not address:
        return {}
    return dict(plugins.answers("personal_data_export", email=address))


def erase_plugin_data(email: str | None) -> dict[str, int]:
    """Erase what each enabled plugin keeps about this address; records removed, by plugin."""
    address = normal_address(email)
    if not address:
        return {}
    return {name: int(n) for name, n in plugins.answers("personal_data_erase", email=address)}


def erase_person(person: Person) -> dict[str, int]:
    """Remove the person and every link to them, and what plugins keep under their address;
    returns what was removed (a plugin's records as ``plugin:<name>``)."""
    email = person.email
    with write_transaction() as session:
        db.session.add(person)
        outbox.touch_cases_of(session, person)
        counts = {
            "session_roles": db.session.execute(
                delete(SessionPerson).where(SessionPerson.person_id == person.id)
            ).rowcount,
            "case_contacts": db.session.execute(
                delete(CaseContact).where(CaseContact.person_id == person.id)
            ).rowcount,
            "accounts_unlinked": db.session.execute(
                update(User).where(User.person_id == person.id).values(person_id=None)
            ).rowcount,
            "revisions": forget_person(person),
        }
        db.session.delete(person)
    db.session.expire_all()
    counts.update({f"plugin:{name}": n for name, n in erase_plugin_data(email).items()})
    return counts
