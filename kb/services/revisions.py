"""Revisions of a case: record each change with who and when, compare two, restore one.

A revision is the case in the exchange format, so comparing is comparing two records and
restoring is applying a record with the importer's own code, the same path an import takes.
Each contact in a revision also carries ``person_id``: revisions refer to people by
identity, so erasing a person finds them whatever their name or e-mail was then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseRevision, Person, RevisionAction, User
from kb.services.exchange.exporter import case_record, person_record
from kb.services.exchange.importer import apply_case
from kb.services.exchange.schema import CaseIn
from kb.services.revision_diff import PERSON_ID

#: Actions by the case's author, and proposals; the others mark a version an editor has seen.
_AUTHOR_ACTIONS = {RevisionAction.SAVED, RevisionAction.SUBMITTED, RevisionAction.PROPOSED}


def snapshot(case: Case) -> dict[str, Any]:
    """The case as a revision keeps it: its record, each contact with the person's id."""
    record = case_record(case, public=False)
    record["contacts"] = [
        {**entry, PERSON_ID: contact.person.id}
        for entry, contact in zip(record["contacts"], case.contacts, strict=True)
    ]
    return record


def history(case: Case) -> list[CaseRevision]:
    return list(
        db.session.scalars(
            select(CaseRevision)
            .where(CaseRevision.case_id == case.id)
            .order_by(CaseRevision.number.desc())
        )
    )


def record(
    case: Case,
    action: RevisionAction,
    author: User | None,
    note: str | None = None,
    data: dict[str, Any] | None = None,
) -> CaseRevision:
    """Keep the case as it is now (or ``data``, a version proposed but not applied).

    Call inside ``write_transaction()``, after the change."""
    db.session.flush()
    number = (
        db.session.scalar(
            select(func.max(CaseRevision.number)).where(CaseRevision.case_id == case.id)
        )
        or 0
    ) + 1
    revision = CaseRevision(
        case=case,
        number=number,
        author=author,
        action=action,
        status=case.status,
        note=note,
        data=data if data is not None else snapshot(case),
    )
    db.session.add(revision)
    return revision


def keep_original(case: Case) -> None:
    """Before the first recorded change of an existing case (e.g. imported), keep it as it was."""
    if case.id is None:
        return
    has_any = db.session.scalar(
        select(func.count()).select_from(CaseRevision).where(CaseRevision.case_id == case.id)
    )
    if not has_any:
        record(case, RevisionAction.ORIGINAL, None)


def last_reviewed(case: Case) -> CaseRevision | None:
    """The latest version an editor has seen (published, commented, edited …), if any."""
    return db.session.scalar(
        select(CaseRevision)
        .where(
            CaseRevision.case_id == case.id,
            CaseRevision.action.not_in([a.value for a in _AUTHOR_ACTIONS]),
        )
        .order_by(CaseRevision.number.desc())
        .limit(1)
    )


def restored_record(case: Case, revision: CaseRevision) -> dict[str, Any]:
    """The case as restoring ``revision`` would make it: its content, the status as it is
    now, each person as they are now, and files that are still stored.

    The files attached now are kept when the version had none (a restore never drops the
    slides added since); a version with files of its own brings back those still stored.
    """
    if revision.case_id != case.id:
        raise ValueError("the revision belongs to another case")
    current = snapshot(case)
    old_files = [m for m in revision.data.get("materials", []) if _still_stored(m)]
    return {
        **revision.data,
        "contacts": [_as_now(contact) for contact in revision.data.get("contacts", [])],
        "materials": old_files or current["materials"],
        "status": case.status,
    }


def apply(
    case: Case,
    restored: dict[str, Any],
    author: User,
    action: RevisionAction,
    note: str,
    *,
    may_create_places: bool = True,
) -> CaseRevision:
    """Make the case say what ``restored`` (from ``restored_record``) says, as one revision.

    Consent is the person's own, so it is left as it is now (``None`` changes nothing).
    Raises ``UnknownPlace`` for a session deleted since, unless ``may_create_places``."""
    contacts = [
        {k: v for k, v in c.items() if k != PERSON_ID} | {"consent_to_publish_contact": None}
        for c in restored.get("contacts", [])
    ]
    data = CaseIn.model_validate({**restored, "contacts": contacts, "status": case.status})
    with write_transaction():
        db.session.add(case)
        keep_original(case)
        apply_case(
            case,
            data,
            recorded_by=author,
            may_update=lambda _person: False,
            may_create_places=may_create_places,
        )
        return record(case, action, author, note=note)


def _still_stored(material: dict[str, Any]) -> bool:
    if not material.get("file"):
        return True
    return (Path(current_app.config["UPLOAD_DIR"]) / material["file"]).is_file()


def _as_now(contact: dict[str, Any]) -> dict[str, Any]:
    """A revision's contact as the person is now (their details and consent are theirs, not
    the case's): restoring never brings back an old phone number, a withdrawn consent, or a
    second person under a name they no longer use."""
    entry = dict(contact)
    person = db.session.get(Person, contact[PERSON_ID]) if contact.get(PERSON_ID) else None
    if person is not None:
        entry |= person_record(person, public=False)
    return entry


def refers_to(contact: dict[str, Any], person: Person) -> bool:
    """Whether a revision's contact is this person: by id; a contact kept before ids were
    (one the data migration could not match) by e-mail in any case, or name and organisation."""
    if contact.get(PERSON_ID) is not None:
        return contact[PERSON_ID] == person.id
    email = contact.get("email")
    if email and person.email and email.lower() == person.email.lower():
        return True
    organisation = person.organisation.name if person.organisation else None
    return contact.get("name") == person.name and contact.get("organisation") == organisation


def mentions(person: Person) -> list[tuple[CaseRevision, dict[str, Any]]]:
    """Every kept revision's contact entry that is this person (a data-subject request).

    Rare, so a scan of the revisions is fine.
    """
    return [
        (revision, contact)
        for revision in db.session.scalars(select(CaseRevision).order_by(CaseRevision.id))
        for contact in revision.data.get("contacts", [])
        if refers_to(contact, person)
    ]


def forget_person(person: Person) -> int:
    """Remove a person from every kept revision (erasure); returns how many were changed.

    Call inside ``write_transaction()``.
    """
    changed = {revision for revision, _contact in mentions(person)}
    for revision in changed:
        kept = [c for c in revision.data["contacts"] if not refers_to(c, person)]
        revision.data = {**revision.data, "contacts": kept}
    return len(changed)
