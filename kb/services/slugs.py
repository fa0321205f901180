"""Readable, unique, stable slugs: made once from a title, never changed after."""

from __future__ import annotations

from typing import Any

from slugify import slugify
from sqlalchemy import select

from kb.extensions import db
from kb.models.base import SLUG_MAX_LENGTH

# Scandinavian letters that a plain transliteration gets wrong or drops.
_REPLACEMENTS = [["æ", "ae"], ["Æ", "Ae"], ["ø", "o"], ["Ø", "O"], ["å", "a"], ["Å", "A"]]


def slug_base(text: str) -> str:
    """ "Nærøy: tidlig i arbeid" -> "naeroy-tidlig-i-arbeid"."""
    return (
        slugify(
            text, max_length=SLUG_MAX_LENGTH - 4, word_boundary=True, replacements=_REPLACEMENTS
        )
        or "item"
    )


def unique_slug(model: type[Any], text: str, *, preferred: str | None = None, **scope: Any) -> str:
    """A slug for ``text`` not yet used by ``model`` (within ``scope``, e.g. one event).

    ``preferred`` (e.g. from an import file) is kept when it is free.
    """
    column = model.slug
    query = select(column).where(*(getattr(model, k) == v for k, v in scope.items()))
    if preferred and not db.session.scalar(query.where(column == preferred)):
        return preferred
    base = slug_base(text)
    used = set(db.session.scalars(query.where(column.like(f"{base}%"))))
    candidate, n = base, 2
    while candidate in used:
        candidate = f"{base}-{n}"
        n += 1
    return candidate
