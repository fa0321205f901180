"""Personal API tokens: how municipal systems and portals call the JSON API for a user.

A client sends ``Authorization: Bearer kbt_...``. The secret is shown to its holder once,
when it is created; the database keeps only its SHA-256 hash and its first characters
(``prefix``), so a token can be recognised in a list and revoked, never read back.

Why a fast hash and not scrypt like passwords: a password is short and chosen by a person,
so its hash must be slow to make guessing expensive. A token is 256 random bits; nobody
can guess it however fast the hash is, and a fast hash lets every API request look the
token up by an indexed, unique column instead of checking a slow hash per row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kb.extensions import db
from kb.models.base import utcnow
from kb.models.types import UTCDateTime
from kb.models.user import User

NAME_MAX_LENGTH = 100
PREFIX_LENGTH = 12


class ApiToken(db.Model):
    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    #: The holder's label, e.g. "Municipal intranet".
    name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    #: SHA-256 of the whole secret, as 64 hex digits.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The first characters of the secret ("kbt_" and 8 more), shown to recognise it.
    prefix: Mapped[str] = mapped_column(String(PREFIX_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} {self.prefix}… of user {self.user_id}>"
