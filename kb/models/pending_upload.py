"""A file chosen on the case form and stored before the case is saved.

It is stored (typed, its text read) when the form is first posted, so Preview and
validation errors never lose it; the form carries a signed reference to it. Saving the case
turns it into a material; one left behind is deleted after ``PENDING_UPLOAD_HOURS``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from kb.extensions import db
from kb.models.base import utcnow
from kb.models.types import UTCDateTime


class PendingUpload(db.Model):
    __tablename__ = "pending_upload"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Only its uploader may see it or attach it.
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)
    original_filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size_bytes: Mapped[int] = mapped_column(Integer)
    text_status: Mapped[str] = mapped_column(String(10))
    extracted_text: Mapped[str | None] = deferred(mapped_column(Text))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<PendingUpload {self.id} {self.original_filename!r} of user {self.user_id}>"
