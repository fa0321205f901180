"""How many messages visitors sent about a case through its contact form.

Only the number and the time of the last one are kept, for the editors: the messages
themselves (the visitor's name, address and text) are mailed and never stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db
from kb.models.types import UTCDateTime


class CaseContactCount(db.Model):
    __tablename__ = "case_contact_count"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("case_study.id", ondelete="CASCADE"), primary_key=True
    )
    messages: Mapped[int] = mapped_column(default=0)
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
