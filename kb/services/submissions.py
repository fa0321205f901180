"""Speakers submit cases; editors edit them. One workflow, with a revision for every save.

The form edits part of a case; the rest (reference, slug, stored files) comes from the
case's own record, so saving never drops what the form does not show. Everything, the
text and an uploaded file, is saved in one transaction or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from pydantic import ValidationError
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import _
from kb.models import (
    Case,
    CaseStatus,
    MaterialKind,
    PendingUpload,
    Person,
    RevisionAction,
    Role,
    User,
    Vocabulary,
)
from kb.models.base import utcnow
from kb.services import pending_uploads, revisions
from kb.services.exchange.exporter import case_record, material_record
from kb.services.exchange.importer import UnknownPlace, apply_case
from kb.services.exchange.schema import TEMPLATE_KEYS, CaseIn
from kb.services.materials import StoredFile, attach_stored, kept_upload
from kb.services.slugs import unique_slug
from kb.services.vocabulary import terms_by_key

#: The keys of the exchange format the submission form edits.
FORM_KEYS = (
    "title",
    "language",
    "country",
    "municipality",
    "region",
    "population_band",
    "urban_rural",
    "themes",
    "target_groups",
    "target_description",
    "period",
    "summary",
    "body",
    "outcomes",
    *TEMPLATE_KEYS,
    "key_figures",
    "links",
    "sessions",
    "contacts",
)

#: What an API client may write: the exchange format's fields; files come as uploads.
API_KEYS = (*FORM_KEYS, "ref", "status", "materials")
_SPEAKER_EDITABLE = {CaseStatus.DRAFT, CaseStatus.SUBMITTED}
#: The revision an editor's change of status is recorded as.
_STATUS_ACTIONS = {
    CaseStatus.PUBLISHED: RevisionAction.PUBLISHED,
    CaseStatus.ARCHIVED: RevisionAction.ARCHIVED,
}


class SubmissionInvalid(ValueError):
    """The data breaks a rule of the exchange format; ``problems`` maps field paths to them."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))
        self.problems = problems


class RefTaken(ValueError):
    """Another case has this reference already."""


@dataclass
class Upload:
    stream: BinaryIO
    filename: str
    title: str
    kind: MaterialKind = MaterialKind.OTHER


@dataclass
class HeldAttachment:
    """A file the form stored before (``kb.services.pending_uploads``), to attach on saving."""

    upload_id: int
    title: str
    kind: MaterialKind = MaterialKind.OTHER


@dataclass
class Submission:
    """What the form sends: the record's form keys, and changes to the attachments."""

    fields: dict[str, Any]
    submit: bool = False
    upload: Upload | None = None
    held: HeldAttachment | None = None
    remove_materials: set[int] = field(default_factory=set)


def is_editor(user: User) -> bool:
    return user.has_role(Role.EDITOR)


def may_edit(user: User, case: Case) -> bool:
    """Editors edit any case; a speaker edits their own until it is published."""
    if is_editor(user):
        return True
    return case.owner_id == user.id and case.status in _SPEAKER_EDITABLE


def may_propose(user: User, case: Case) -> bool:
    """A speaker changes their published case by proposing a version: the published one
    stays live until an editor publishes the proposal (``kb.services.restoring``)."""
    return case.status == CaseStatus.PUBLISHED and case.owner_id == user.id and user.active


def proposes(user: User, case: Case | None) -> bool:
    """Whether saving the form would propose a version rather than change the case."""
    return case is not None and not may_edit(user, case) and may_propose(user, case)


def may_change_person(user: User) -> Callable[[Person], bool]:
    """Editors may correct anyone's details; a speaker only their own.

    The same rule decides whose stored e-mail, phone and title a speaker's form shows: a
    speaker who names someone already known must not read details they could not change.
    """
    if is_editor(user):
        return lambda _person: True
    return lambda person: (
        person.id == user.person_id
        or (person.email is not None and person.email.lower() == user.email)
    )


def _apply(case: Case, data: CaseIn, author: User) -> None:
    """Write the record; a speaker may only name events and sessions that exist."""
    try:
        apply_case(
            case,
            data,
            recorded_by=author,
            may_update=may_change_person(author),
            may_create_places=is_editor(author),
        )
    except UnknownPlace as unknown:
        message = _(
            "There is no event or session called “%(title)s”. Choose one that exists; "
            "an editor adds new ones.",
            title=unknown.title,
        )
        raise SubmissionInvalid({unknown.field: message}) from None


def save(case: Case | None, submission: Submission, author: User) -> Case:
    """Create or update a case from the form; returns it, saved with a new revision (or,
    for a speaker's published case, with a proposed version for the editors)."""
    if case is not None and proposes(author, case):
        return _propose(case, submission, author)
    with _stored(submission.upload) as stored, write_transaction():
        if case is None:
            title = str(submission.fields.get("title") or "case")
            case = Case(slug=unique_slug(Case, title), owner=author, status=CaseStatus.DRAFT)
            base: dict[str, Any] = {}
        else:
            revisions.keep_original(case)
            base = case_record(case, public=False)
        status, action = _next_status(case, author, submit=submission.submit)
        edited = {k: v for k, v in submission.fields.items() if k in FORM_KEYS}
        record = {**base, **edited, "status": status}
        record["slug"] = case.slug
        record["materials"] = [
            material_record(m) for m in case.materials if m.id not in submission.remove_materials
        ]
        data = _validated(record)
        _apply(case, data, author)
        if submission.upload is not None and stored is not None:
            _attach(case, submission.upload, stored, data.language)
        if submission.held is not None:
            _adopt(case, submission.held, author, data.language)
        revisions.record(case, action, author)
    return case


def _propose(case: Case, submission: Submission, author: User) -> Case:
    """Keep the form's version as a proposal; nothing on the site changes until an editor
    publishes it. Files are left to the editors (a proposal carries no new file)."""
    if submission.upload or submission.held or submission.remove_materials:
        raise SubmissionInvalid(
            {
                "attachment": _(
                    "The files of a published case are changed by the editors; "
                    "write to them, or send the text now and the file later."
                )
            }
        )
    with write_transaction():
        db.session.add(case)
        revisions.keep_original(case)
        edited = {k: v for k, v in submission.fields.items() if k in FORM_KEYS}
        record = {**revisions.snapshot(case), **edited, "status": case.status, "slug": case.slug}
        _validated(record)
        revisions.record(case, RevisionAction.PROPOSED, author, data=record)
    return case


def _adopt(case: Case, held: HeldAttachment, author: User, language: str) -> None:
    pending = db.session.get(PendingUpload, held.upload_id)
    if pending is None or pending.user_id != author.id:
        raise SubmissionInvalid(
            {"attachment": _("The file chosen earlier is no longer kept; choose it again.")}
        )
    pending_uploads.adopt(pending, case, title=held.title, kind=held.kind, language=language)


def save_record(case: Case | None, fields: dict[str, Any], author: User) -> Case:
    """Create or update a case from an API client's record; fields left out keep their value.

    A speaker's case goes to review (``submitted``) whatever status it asks for; an editor
    may set any status. Link materials come in the record, files as separate uploads (the
    case's stored files are kept).
    """
    unknown = sorted(set(fields) - set(API_KEYS))
    if unknown:
        raise SubmissionInvalid(dict.fromkeys(unknown, _("This field cannot be written.")))
    with write_transaction():
        if case is None:
            title = str(fields.get("title") or "case")
            case = Case(slug=unique_slug(Case, title), owner=author, status=CaseStatus.DRAFT)
            base: dict[str, Any] = {}
        else:
            revisions.keep_original(case)
            base = case_record(case, public=False)
        status, action = _api_status(case, author, fields.get("status", _NOT_ASKED))
        record = {**base, **fields, "status": status, "slug": case.slug}
        if "materials" in fields:
            record["materials"] = _with_files(_links_only(fields["materials"]), case)
        data = _validated(record)
        _check_references(case, data)
        _apply(case, data, author)
        if status == CaseStatus.PUBLISHED and case.published_at is None:
            case.published_at = utcnow()
        revisions.record(case, action, author)
    return case


def add_upload(case: Case, upload: Upload, author: User) -> None:
    """Attach a file to a case, with a revision; ``MaterialRejected`` stores nothing."""
    with kept_upload(upload.stream, upload.filename) as stored, write_transaction():
        db.session.add(case)
        revisions.keep_original(case)
        _attach(case, upload, stored, case.language)
        action = RevisionAction.EDITED if is_editor(author) else RevisionAction.SAVED
        revisions.record(case, action, author)


@contextmanager
def _stored(upload: Upload | None) -> Iterator[StoredFile | None]:
    """The upload stored and its text read before the write transaction begins, so that the
    reading (seconds, in a child process) never holds the database's write lock."""
    if upload is None:
        yield None
        return
    with kept_upload(upload.stream, upload.filename) as stored:
        yield stored


def _attach(case: Case, upload: Upload, stored: StoredFile, language: str) -> None:
    attach_stored(
        case, stored, title=upload.title or upload.filename, kind=upload.kind, language=language
    )


#: No status in an API write (``None`` is a status sent, and not a valid one).
_NOT_ASKED = object()


def _api_status(case: Case, author: User, asked: object) -> tuple[CaseStatus, RevisionAction]:
    """The status an API write leads to. A status that is not one of ``CaseStatus`` is
    refused whoever sends it, as the API describes; a speaker's case is then submitted
    whatever status they asked for, an editor's takes it."""
    status: CaseStatus | None = None
    if asked is not _NOT_ASKED:
        if isinstance(asked, str) and asked in set(CaseStatus):
            status = CaseStatus(asked)
        else:
            choices = ", ".join(s.value for s in CaseStatus)
            raise SubmissionInvalid({"status": _("Choose one of: %(choices)s.", choices=choices)})
    if not is_editor(author):
        return CaseStatus.SUBMITTED, RevisionAction.SUBMITTED
    if status is None:
        return CaseStatus(case.status), RevisionAction.EDITED
    return status, _STATUS_ACTIONS.get(status, RevisionAction.EDITED)


def _with_files(links: object, case: Case) -> object:
    """The links sent plus the case's stored files; anything but a list is left for the
    schema to refuse (``{}`` must not become an empty list)."""
    if not isinstance(links, list):
        return links
    return [*links, *(material_record(m) for m in case.materials if m.is_file)]


def _links_only(materials: object) -> list[Any]:
    if not isinstance(materials, list):
        return materials  # type: ignore[return-value]  # the schema reports it
    for position, material in enumerate(materials):
        if isinstance(material, dict) and material.get("file"):
            raise SubmissionInvalid(
                {f"materials-{position}-file": _("Upload files to the case's materials.")}
            )
    return materials


def _check_references(case: Case, data: CaseIn) -> None:
    """Vocabulary keys must exist; a reference must be the only one of its kind."""
    problems = {}
    for name, vocabulary in (
        ("themes", Vocabulary.THEME),
        ("target_groups", Vocabulary.TARGET_GROUP),
    ):
        known = terms_by_key(vocabulary)
        for position, key in enumerate(getattr(data, name)):
            if key not in known:
                problems[f"{name}-{position}"] = _("Unknown key %(key)s.", key=key)
    if problems:
        raise SubmissionInvalid(problems)
    if data.ref is not None:
        taken = db.session.scalar(select(Case.id).where(Case.ref == data.ref, Case.id != case.id))
        if taken is not None:
            raise RefTaken(_("Another case has the reference %(ref)s.", ref=data.ref))


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
