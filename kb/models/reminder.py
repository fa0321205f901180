"""A yearly "is this still accurate?" e-mail about a case, and what became of its links.

A row per mail sent: it is what makes ``kb reminders send`` idempotent (no second mail
within a year) and each link single-use (a used link has its time stamped here). No
address is kept: the recipient is whoever the case names when the mail goes out.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db
from kb.models.base import utcnow
from kb.models.types import UTCDateTime


class CaseReminder(db.Model):
    __tablename__ = "case_reminder"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_study.id", ondelete="CASCADE"), index=True
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: When the "still accurate" link was used (it works once).
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the "update it" link was used (it works once).
    update_opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<CaseReminder {self.id} for case {self.case_id}>"
