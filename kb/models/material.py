"""Follow-up material (slides, reports, recordings): a link, or a file we store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship, validates

from kb.extensions import db
from kb.models.base import Timestamped, one_of
from kb.models.choices import MaterialKind, TextStatus

if TYPE_CHECKING:
    from kb.models.case import Case
    from kb.models.event import Session


class Material(Timestamped, db.Model):
    __tablename__ = "material"
    __table_args__ = (
        CheckConstraint("(session_id IS NULL) <> (case_id IS NULL)", name="one_owner"),
        CheckConstraint("(url IS NULL) <> (stored_name IS NULL)", name="link_or_file"),
        one_of("kind", MaterialKind),
        one_of("text_status", TextStatus),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("programme_session.id", ondelete="CASCADE"), index=True
    )
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("case_study.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20), default=MaterialKind.OTHER)
    title: Mapped[str] = mapped_column(String(300))
    language: Mapped[str | None] = mapped_column(String(5))
    position: Mapped[int] = mapped_column(default=0)
    url: Mapped[str | None] = mapped_column(String(1000))
    # A stored file: a generated name under the upload folder, never the user's name.
    stored_name: Mapped[str | None] = mapped_column(String(100), unique=True)
    original_filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str | None] = mapped_column(String(120))
    size_bytes: Mapped[int | None] = mapped_column(Integer)
    # A file's text, read once at upload in a child process with limits (kb.services.extraction):
    # indexing reads it from here and never parses a file. Deferred: pages listing
    # materials do not need it. ``text_status`` is None for a link.
    text_status: Mapped[str | None] = mapped_column(String(10))
    extracted_text: Mapped[str | None] = deferred(mapped_column(Text))

    session: Mapped[Session | None] = relationship(back_populates="materials")
    case: Mapped[Case | None] = relationship(back_populates="materials")

    @validates("stored_name")
    def _file_text_pending(self, _name: str, stored_name: str | None) -> str | None:
        """A file stored without its text read (an import, a restored revision) waits for
        `kb materials reextract --pending`."""
        if stored_name is not None and self.text_status is None:
            self.text_status = TextStatus.PENDING
        return stored_name

    @property
    def is_file(self) -> bool:
        return self.stored_name is not None

    @property
    def text_unreadable(self) -> bool:
        """A stored file whose text could not be read for search (shown to its editors)."""
        return self.text_status == TextStatus.FAILED
