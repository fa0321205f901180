"""Revisions of a case: record each change with who and when, compare two, restore one.

A revision is the case in the exchange format, so comparing is comparing two records and
restoring is applying a record with the importer's own code, the same path an import takes.
Each contact in a revision also carries ``person_id``: revisions refer to people by
identity, so erasing a person finds them whatever their name or e-mail was then.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from kb.database import write_transaction
from kb.extensions import db
from kb.models import Case, CaseRevision, Person, RevisionAction, User
from kb.services.exchange.exporter import case_record, person_record
from kb.services.exchange.importer import apply_case
from kb.services.exchange.schema import CaseIn

#: Actions by the case's author; the others mark a version an editor has seen.
_AUTHOR_ACTIONS = {RevisionAction.SAVED, RevisionAction.SUBMITTED}

#: Fields compared as prose, word by word; the rest are shown as whole values.
_PROSE = ("title", "summary", "body", "outcomes", "target_description")


@dataclass(frozen=True)
class Change:
    """One field that differs: its key, and the text as (operation, words) pieces."""

    field: str
    pieces: list[tuple[str, str]]


#: The key of a revision's contact that names the person by identity (not in the format).
PERSON_ID = "person_id"


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
    case: Case, action: RevisionAction, author: User | None, note: str | None = None
) -> CaseRevision:
    """Keep the case as it is now. Call inside ``write_transaction()``, after the change."""
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
        data=snapshot(case),
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


def restore(case: Case, revision: CaseRevision, author: User) -> CaseRevision:
    """Bring back a revision's content; the status stays as it is now."""
    if revision.case_id != case.id:
        raise ValueError("the revision belongs to another case")
    contacts = [_as_now(contact) for contact in revision.data.get("contacts", [])]
    data = CaseIn.model_validate({**revision.data, "contacts": contacts, "status": case.status})
    with write_transaction():
        db.session.add(case)
        apply_case(case, data, recorded_by=author, may_update=lambda _person: False)
        return record(case, RevisionAction.RESTORED, author, note=f"#{revision.number}")


def _as_now(contact: dict[str, Any]) -> dict[str, Any]:
    """A revision's contact as the person is now (their details and consent are theirs, not
    the case's): restoring never brings back an old phone number, a withdrawn consent, or a
    second person under a name they no longer use."""
    entry = {k: v for k, v in contact.items() if k != PERSON_ID}
    person = db.session.get(Person, contact[PERSON_ID]) if contact.get(PERSON_ID) else None
    if person is not None:
        entry |= person_record(person, public=False)
    return entry | {"consent_to_publish_contact": None}


def changes(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Change]:
    """What differs between two records, field by field, in the order of the record."""
    old = old or {}
    found = []
    for key, value in new.items():
        if key == "status":
            continue
        before, after = _as_text(old.get(key)), _as_text(value)
        if before != after:
            found.append(Change(key, _word_diff(before, after, prose=key in _PROSE)))
    return found


def _as_text(value: Any) -> str:
    """A value as lines a person can compare: lists one item per line, records as "k: v"."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(_as_text(item) for item in value)
    if isinstance(value, dict):
        return ", ".join(
            f"{k}: {v}" for k, v in value.items() if v not in (None, "", []) and k != PERSON_ID
        )
    return str(value)


_TOKENS = re.compile(r"\s+|[^\s]+")


def _word_diff(before: str, after: str, *, prose: bool) -> list[tuple[str, str]]:
    """Pieces tagged "same", "removed" or "added"; prose word by word, values as a whole."""
    if not prose:
        pieces = []
        if before:
            pieces.append(("removed", before))
        if after:
            pieces.append(("added", after))
        return pieces
    a, b = _TOKENS.findall(before), _TOKENS.findall(after)
    pieces = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            pieces.append(("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            pieces.append(("removed", "".join(a[i1:i2])))
        if j2 > j1:
            pieces.append(("added", "".join(b[j1:j2])))
    return pieces


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
