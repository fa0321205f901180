"""Speakers submit cases; editors edit them. One workflow, with a revision for every save.

The form edits part of a case; the rest (reference, slug, stored files) comes from the
case's own record, so saving never drops what the form does not show. Everything, the
text and an uploaded file, is saved in one transaction or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from pydantic import ValidationError

from kb.database import write_transaction
from kb.models import Case, CaseStatus, MaterialKind, Person, RevisionAction, Role, User
from kb.services import revisions
from kb.services.exchange.exporter import material_record
from kb.services.exchange.importer import apply_case
from kb.services.exchange.schema import CaseIn
from kb.services.materials import attach_file
from kb.services.slugs import unique_slug

#: The keys of the exchange format the submission form edits.
FORM_KEYS = (
    "title",
    "language",
    "country",
    "municipality",
    "region",
    "themes",
    "target_groups",
    "target_description",
    "period",
    "summary",
    "body",
    "outcomes",
    "key_figures",
    "links",
    "sessions",
    "contacts",
)

_SPEAKER_EDITABLE = {CaseStatus.DRAFT, CaseStatus.SUBMITTED}


class SubmissionInvalid(ValueError):
    """The data breaks a rule of the exchange format; ``problems`` maps field paths to them."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


@dataclass
class Upload:
    stream: BinaryIO
    filename: str
    title: str
    kind: MaterialKind = MaterialKind.OTHER


@dataclass
class Submission:
    """What the form sends: the record's form keys, and changes to the attachments."""

    fields: dict[str, Any]
    submit: bool = False
    upload: Upload | None = None
    remove_materials: set[int] = field(default_factory=set)


def is_editor(user: User) -> bool:
    return user.has_role(Role.EDITOR)


def may_edit(user: User, case: Case) -> bool:
    """Editors edit any case; a speaker edits their own until it is published."""
    if is_editor(user):
        return True
    return case.owner_id == user.id and case.status in _SPEAKER_EDITABLE


def _person_guard(user: User) -> Callable[[Person], bool]:
    """Editors may correct anyone's details; a speaker only their own."""
    if is_editor(user):
        return lambda _person: True
    return lambda person: (
        person.id == user.person_id
        or (person.email is not None and person.email.lower() == user.email)
    )


def save(case: Case | None, submission: Submission, author: User) -> Case:
    """Create or update a case from the form; returns it, saved with a new revision."""
    with write_transaction():
        if case is None:
            title = str(submission.fields.get("title") or "case")
            case = Case(slug=unique_slug(Case, title), owner=author, status=CaseStatus.DRAFT)
            base: dict[str, Any] = {}
        else:
            revisions.keep_original(case)
            base = revisions.snapshot(case)
        status, action = _next_status(case, author, submit=submission.submit)
        edited = {k: v for k, v in submission.fields.items() if k in FORM_KEYS}
        record = {**base, **edited, "status": status}
        record["slug"] = case.slug
        record["materials"] = [
            material_record(m) for m in case.materials if m.id not in submission.remove_materials
        ]
        data = _validated(record)
        apply_case(case, data, recorded_by=author, may_update=_person_guard(author))
        if submission.upload is not None:
            upload = submission.upload
            attach_file(
                case,
                upload.stream,
                title=upload.title or upload.filename,
                original_filename=upload.filename,
                kind=upload.kind,
                language=data.language,
            )
        revisions.record(case, action, author)
    return case


def _next_status(case: Case, author: User, *, submit: bool) -> tuple[CaseStatus, RevisionAction]:
    """An editor's edit keeps the status; the author saves a draft or submits it."""
    if is_editor(author) and case.owner_id not in (None, author.id):
        return CaseStatus(case.status), RevisionAction.EDITED
    if is_editor(author) and case.status not in _SPEAKER_EDITABLE:
        return CaseStatus(case.status), RevisionAction.EDITED
    if submit:
        return CaseStatus.SUBMITTED, RevisionAction.SUBMITTED
    return CaseStatus.DRAFT, RevisionAction.SAVED


def _validated(record: dict[str, Any]) -> CaseIn:
    try:
        return CaseIn.model_validate(record)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors(include_url=False):
            path = "-".join(str(part) for part in error["loc"])
            problems.setdefault(path, error["msg"].removeprefix("Value error, "))
        raise SubmissionInvalid(problems) from None
