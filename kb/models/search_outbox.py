"""Cases whose search index entry must be refreshed, written in the same transaction as
the change itself, so that no committed change can be missed by the index."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db
from kb.models.base import utcnow
from kb.models.types import UTCDateTime


class SearchOutbox(db.Model):
    __tablename__ = "search_outbox"
    # Ids must never be reused (SQLite reuses the highest rowid after a delete): a drain
    # deletes the rows it read by id, and must not delete a newer row that got the same id.
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(primary_key=True)
    # No foreign key: the row must outlive a deleted case, to remove it from the index.
    case_id: Mapped[int] = mapped_column(index=True)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
