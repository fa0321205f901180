"""Editorial review: the queue, and the decisions (publish, unpublish, archive, ask for changes).

Each decision is a status change recorded as a revision. The search index follows the
status on its own (the outbox sees the change at commit), so publishing makes a case
searchable and unpublishing or archiving removes it. The speaker is e-mailed after the
commit, never before it.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import _, _l
from kb.models import Case, CaseStatus, RevisionAction, User
from kb.models.base import utcnow
from kb.services import freshness, materials, revisions
from kb.services.mail import external_url, send_mail


class DecisionRefused(ValueError):
    """The decision does not fit the case's current status."""


#: decision -> (statuses it applies to, resulting status, revision action)
DECISIONS: dict[str, tuple[set[CaseStatus], CaseStatus, RevisionAction]] = {
    "publish": (
        {CaseStatus.DRAFT, CaseStatus.SUBMITTED, CaseStatus.ARCHIVED},
        CaseStatus.PUBLISHED,
        RevisionAction.PUBLISHED,
    ),
    "unpublish": ({CaseStatus.PUBLISHED}, CaseStatus.SUBMITTED, RevisionAction.UNPUBLISHED),
    "archive": (
        {CaseStatus.DRAFT, CaseStatus.SUBMITTED, CaseStatus.PUBLISHED},
        CaseStatus.ARCHIVED,
        RevisionAction.ARCHIVED,
    ),
    "request_changes": (
        {CaseStatus.DRAFT, CaseStatus.SUBMITTED},
        CaseStatus.DRAFT,
        RevisionAction.CHANGES_REQUESTED,
    ),
}

CHANGES_SUBJECT = _l("The editors ask for changes to your case")


def cases_with_status(status: CaseStatus) -> list[Case]:
    """Oldest first for the queue, so nobody waits longest; newest first otherwise."""
    order = Case.updated_at if status == CaseStatus.SUBMITTED else Case.updated_at.desc()
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.status == status)
            .options(selectinload(Case.owner))
            .order_by(order, Case.id)
        )
    )


def allowed_decisions(case: Case) -> list[str]:
    return [name for name, (sources, _t, _a) in DECISIONS.items() if case.status in sources]


def decide(case: Case, decision: str, editor: User, message: str = "") -> None:
    """Apply an editor's decision; asking for changes needs a message and mails the owner."""
    if decision not in DECISIONS:
        raise DecisionRefused(_("Unknown decision."))
    sources, target, action = DECISIONS[decision]
    if case.status not in sources:
        raise DecisionRefused(_("This decision does not apply to a case with this status."))
    message = message.strip()
    if decision == "request_changes" and not message:
        raise DecisionRefused(_("Write what the speaker should change."))
    with write_transaction():
        db.session.add(case)
        revisions.keep_original(case)
        case.status = target
        if target == CaseStatus.PUBLISHED:
            freshness.note_publication(case)
            if case.published_at is None:
                case.published_at = utcnow()
        revisions.record(case, action, editor, note=message or None)
    if decision == "request_changes" and case.owner is not None:
        send_mail(
            case.owner.email,
            str(CHANGES_SUBJECT),
            "changes_requested",
            case=case,
            message=message,
            link=external_url("submission.edit", case_id=case.id),
        )


def delete_case(case: Case) -> None:
    """Delete a case with its history for good; its stored files go after the commit."""
    paths = [materials.path_of(m) for m in case.materials if m.is_file]
    with write_transaction():
        db.session.delete(case)
    materials.delete_files(paths)


def latest_request(case: Case) -> str | None:
    """The editors' latest request for changes, while the case is back with its author."""
    if case.status != CaseStatus.DRAFT:
        return None
    for revision in revisions.history(case):
        if revision.action == RevisionAction.CHANGES_REQUESTED:
            return revision.note
        if revision.action == RevisionAction.SUBMITTED:
            return None
    return None
