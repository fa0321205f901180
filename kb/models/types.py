"""Column types shared by the models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A moment, always an aware UTC datetime in Python, on SQLite as on PostgreSQL.

    Stored as ``DateTime(timezone=True)`` (``timestamptz`` on PostgreSQL, naive UTC text on
    SQLite, which keeps no offset), so the schema is the one the migrations made. Values
    are converted to UTC before they are bound; a naive value is taken to be UTC already.
    Reading marks SQLite's naive values as UTC, so code never compares naive and aware.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return as_utc(value) if value is not None else None

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return as_utc(value) if value is not None else None


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
