"""The plugin's table, as its migration ``alerts_0001`` creates it.

``alerts_subscription`` holds one row per alert a person asked for: their address, what they
follow (a search, by its normalised URL parameters, or an event, by its slug), how often and
in which language they want the digest. ``confirmed_at`` is set by the link of the double
opt-in; until then nothing is sent. ``sent_until`` is the high-water mark: the newest
publication time (or session and material creation time) a digest has covered, so
``kb alerts send`` never sends the same thing twice.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
)

metadata = MetaData()


class UTCTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite keeps no zone), read back as aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None else None


EMAIL_LENGTH = 320
TARGET_LENGTH = 1000

subscriptions = Table(
    "alerts_subscription",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("email", String(EMAIL_LENGTH), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("target", String(TARGET_LENGTH), nullable=False),
    Column("frequency", String(10), nullable=False),
    Column("language", String(8), nullable=False),
    Column("created_at", UTCTime(), nullable=False),
    Column("confirmed_at", UTCTime()),
    Column("sent_until", UTCTime()),
    Column("last_sent_at", UTCTime()),
    UniqueConstraint("email", "kind", "target"),
)
