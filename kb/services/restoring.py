"""Bringing back an earlier version of a case, never as a silent live change.

Who restores decides how. A case not on the site is restored at once (its status stays).
A published case stays as it is: restoring proposes the earlier version as a new revision
that waits for an editor, who publishes or declines it; only an editor may restore and
publish in one step, and only by choosing that explicitly.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import _
from kb.models import Case, CaseRevision, CaseStatus, RevisionAction, User
from kb.services import freshness, revisions
from kb.services.exchange.importer import UnknownPlace
from kb.services.revision_diff import Change, changes
from kb.services.submissions import is_editor

#: Restore now; the status stays (a case that is not on the site).
RESTORE = "restore"
#: A published case: the version waits for an editor, the published one stays live.
PROPOSE = "propose"
#: A published case, by an editor who chose it: the version goes live now.
PUBLISH = "publish"

_OWNER_MAY_RESTORE = {CaseStatus.DRAFT, CaseStatus.SUBMITTED}


class RestoreRefused(Exception):
    """The version is not restored: not allowed this way, or it no longer fits; the message
    says why in the user's language."""


def modes(user: User, case: Case) -> list[str]:
    """How ``user`` may restore a version of ``case``, the gentlest first (none: not at all)."""
    editor = is_editor(user)
    owner = case.owner_id is not None and case.owner_id == user.id
    if case.status == CaseStatus.PUBLISHED:
        if editor:
            return [PROPOSE, PUBLISH]
        return [PROPOSE] if owner else []
    if editor or (owner and case.status in _OWNER_MAY_RESTORE):
        return [RESTORE]
    return []


def find_revision(case: Case, number: int) -> CaseRevision | None:
    return db.session.scalar(
        select(CaseRevision).where(CaseRevision.case_id == case.id, CaseRevision.number == number)
    )


def what_changes(case: Case, revision: CaseRevision) -> list[Change]:
    """The case as it is now -> as restoring ``revision`` (or publishing a proposal) would
    make it."""
    return changes(revisions.snapshot(case), revisions.restored_record(case, revision))


def keeps_current_files(case: Case, revision: CaseRevision) -> bool:
    """Whether the restored version keeps the files attached now (it had none of its own)."""
    restored = revisions.restored_record(case, revision)
    return restored["materials"] == revisions.snapshot(case)["materials"]


def restore(case: Case, revision: CaseRevision, user: User, mode: str) -> CaseRevision:
    """Restore ``revision`` as ``mode`` allows; the server's check, whatever the page offered."""
    if mode not in modes(user, case):
        raise RestoreRefused(_("You may not restore this version in this way."))
    restored = revisions.restored_record(case, revision)
    note = f"#{revision.number}"
    if mode == PROPOSE:
        with write_transaction():
            db.session.add(case)
            revisions.keep_original(case)
            return revisions.record(case, RevisionAction.PROPOSED, user, note=note, data=restored)
    return _apply(case, restored, user, note)


def _apply(case: Case, restored: dict[str, Any], user: User, note: str) -> CaseRevision:
    """Apply a restored version; a speaker may not bring back a session deleted since."""
    try:
        return revisions.apply(
            case,
            restored,
            user,
            RevisionAction.RESTORED,
            note,
            may_create_places=is_editor(user),
        )
    except UnknownPlace as unknown:
        raise RestoreRefused(
            _(
                "This version names “%(title)s”, which no longer exists; an editor can restore it.",
                title=unknown.title,
            )
        ) from None
    except ValidationError:
        raise RestoreRefused(
            _("This version no longer fits the rules for a case and cannot be restored.")
        ) from None


def pending_proposal(case: Case) -> CaseRevision | None:
    """The version proposed for this published case, while nothing has happened since."""
    latest = db.session.scalar(
        select(CaseRevision)
        .where(CaseRevision.case_id == case.id)
        .order_by(CaseRevision.number.desc())
        .limit(1)
    )
    if latest is None or latest.action != RevisionAction.PROPOSED:
        return None
    return latest


def publish_proposal(case: Case, proposal: CaseRevision, editor: User) -> CaseRevision:
    """An editor puts the proposed version live (people as they are now, files still stored)."""
    if not is_editor(editor) or pending_proposal(case) != proposal:
        raise RestoreRefused(_("There is no proposed version to publish."))
    restored = revisions.restored_record(case, proposal)
    with write_transaction():
        db.session.add(case)
        freshness.note_publication(case)  # the author's update, published: it is current
        return _apply(case, restored, editor, f"#{proposal.number}")


def decline_proposal(case: Case, proposal: CaseRevision, editor: User, note: str) -> CaseRevision:
    """An editor turns the proposal down; the live case stays as it is."""
    if not is_editor(editor) or pending_proposal(case) != proposal:
        raise RestoreRefused(_("There is no proposed version to decline."))
    with write_transaction():
        db.session.add(case)
        return revisions.record(case, RevisionAction.DECLINED, editor, note=note or None)


def cases_with_proposals() -> list[Case]:
    """Published cases whose latest revision is a proposal: they wait for an editor too."""
    latest = (
        select(CaseRevision.case_id, func.max(CaseRevision.number).label("number"))
        .group_by(CaseRevision.case_id)
        .subquery()
    )
    return list(
        db.session.scalars(
            select(Case)
            .join(latest, latest.c.case_id == Case.id)
            .join(
                CaseRevision,
                (CaseRevision.case_id == Case.id) & (CaseRevision.number == latest.c.number),
            )
            .where(CaseRevision.action == RevisionAction.PROPOSED)
            .order_by(Case.updated_at, Case.id)
        )
    )
