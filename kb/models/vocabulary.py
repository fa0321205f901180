"""Managed vocabularies (themes, target groups): stable keys, a label per UI language.

Terms are rows, not code: editors add keys without a release.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from kb.extensions import db
from kb.models.base import one_of
from kb.models.choices import Vocabulary

_KEY = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def label_in(labels: Mapping[str, str], key: str, locale: str | None) -> str:
    """The label in ``locale``, else English, else the key itself."""
    if locale:
        for candidate in (locale, locale.split("_")[0]):
            if labels.get(candidate):
                return labels[candidate]
    return labels.get("en") or key


class VocabularyTerm(db.Model):
    __tablename__ = "vocabulary_term"
    __table_args__ = (
        UniqueConstraint("vocabulary", "key"),
        one_of("vocabulary", Vocabulary),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vocabulary: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(60))
    labels: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    position: Mapped[int] = mapped_column(default=0)

    @validates("key")
    def _check_key(self, _name: str, key: str) -> str:
        if not _KEY.match(key or ""):
            raise ValueError(f"vocabulary key {key!r} must be lowercase words joined by '-'")
        return key

    def label(self, locale: str | None) -> str:
        return label_in(self.labels or {}, self.key, locale)

    def __repr__(self) -> str:
        return f"<VocabularyTerm {self.vocabulary}:{self.key}>"
