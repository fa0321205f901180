"""Tell plugins what happened to cases, once the commit that made it happen succeeded.

Status changes are noticed while a transaction flushes, whichever code path made them
(the form, review, import, restore), so no workflow can forget to announce one. The
announcements wait for the commit (after the search index has caught up) and are dropped
when the transaction rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from typing import Any

from flask import Flask
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from kb import plugins
from kb.database import on_commit
from kb.extensions import db
from kb.models import Case, CaseStatus

_PENDING = "kb_case_events"
_COMMITTED = "kb_case_events_committed"


@dataclass
class _Pending:
    #: Each changed case with its status when the transaction first touched it.
    before: dict[Case, CaseStatus | None] = field(default_factory=dict)
    deleted: list[tuple[int, str, str | None]] = field(default_factory=list)


def _collect(session: Session, _context: Any, _instances: Any) -> None:
    pending: _Pending = session.info.setdefault(_PENDING, _Pending())
    for obj in chain(session.new, session.dirty):
        if not isinstance(obj, Case) or obj in pending.before:
            continue
        history = inspect(obj).attrs.status.history
        if obj in session.new:
            pending.before[obj] = None
        elif history.deleted:
            pending.before[obj] = CaseStatus(history.deleted[0])
    for obj in session.deleted:
        if isinstance(obj, Case):
            pending.before.pop(obj, None)
            pending.deleted.append((obj.id, obj.slug, obj.ref))


def _committed(session: Session) -> None:
    """Kept apart from the pending ones: after-commit work may roll back a new read."""
    pending = session.info.pop(_PENDING, None)
    if pending is not None:
        session.info.setdefault(_COMMITTED, []).append(pending)


def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)


def transitions(before: CaseStatus | None, after: CaseStatus) -> list[str]:
    """The hooks a status change calls, in order."""
    published = CaseStatus.PUBLISHED
    called = []
    if before == published and after != published:
        called.append("case_unpublished")
    if after == CaseStatus.SUBMITTED and before in (None, CaseStatus.DRAFT):
        called.append("case_submitted")
    if after == published and before != published:
        called.append("case_published")
    return called


def _announce() -> None:
    for pending in db.session.info.pop(_COMMITTED, []):
        for case_id, slug, ref in pending.deleted:
            plugins.announce("case_deleted", case_id=case_id, slug=slug, ref=ref)
        for case, before in pending.before.items():
            for hook_name in transitions(before, CaseStatus(case.status)):
                plugins.announce(hook_name, case=case)


def init_app(app: Flask) -> None:
    on_commit(app, _announce)


event.listen(db.session, "before_flush", _collect)
event.listen(db.session, "after_commit", _committed)
event.listen(db.session, "after_rollback", _forget)
