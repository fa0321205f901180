"""Pieces shared by the models."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kb.models.types import UTCDateTime

SLUG_MAX_LENGTH = 120
_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def utcnow() -> datetime:
    return datetime.now(UTC)


def is_valid_slug(value: str) -> bool:
    """Readable URL part: lowercase ASCII words joined by single hyphens."""
    return bool(_SLUG.match(value)) and len(value) <= SLUG_MAX_LENGTH


def one_of(column: str, choices: type[StrEnum]) -> CheckConstraint:
    """A CHECK that keeps ``column`` to the values of a closed list, in the database itself."""
    values = ", ".join(f"'{choice.value}'" for choice in choices)
    return CheckConstraint(f"{column} IN ({values})", name=column)


class Timestamped:
    """Creation and last-change times, kept in UTC."""

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
