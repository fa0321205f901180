"""A number per kind of cached data, raised in the transaction that changes the data.

Every worker keeps read-mostly data (vocabulary labels, event titles) in memory and reads
this one row per request: a change committed by any worker shows in every worker at once.
"""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from kb.extensions import db


class CacheGeneration(db.Model):
    __tablename__ = "cache_generation"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    generation: Mapped[int] = mapped_column(default=0)
