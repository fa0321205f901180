"""Every change to a case is kept as a revision: who, when, what, and the whole case then.

A revision holds the case in the exchange format (the same record ``kb export`` writes),
so any revision can be compared with another and restored with the importer's code.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db
from kb.models.base import one_of, utcnow
from kb.models.case import Case
from kb.models.types import UTCDateTime
from kb.models.user import User


class RevisionAction(StrEnum):
    ORIGINAL = "original"  # the case as it was before its first recorded change (e.g. imported)
    SAVED = "saved"
    SUBMITTED = "submitted"
    EDITED = "edited"
    CHANGES_REQUESTED = "changes_requested"
    PUBLISHED = "published"
    UNPUBLISHED = "unpublished"
    ARCHIVED = "archived"
    RESTORED = "restored"
    PROPOSED = "proposed"  # an earlier version proposed for a published case, not live yet
    DECLINED = "declined"  # an editor turned a proposed version down


class CaseRevision(db.Model):
    __tablename__ = "case_revision"
    __table_args__ = (
        UniqueConstraint("case_id", "number"),
        one_of("action", RevisionAction),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_study.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    action: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    # A message for the speaker (a change request) or an editor's note.
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)

    case: Mapped[Case] = relationship()
    author: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<CaseRevision {self.case_id}#{self.number} {self.action}>"
