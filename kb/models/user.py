"""Accounts: editors and admins run the knowledge base, speakers submit their cases.

Public visitors need no account. A password is stored only as a scrypt hash; an account
created by an admin has none until its owner follows the single-use set-password link.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from kb.extensions import db
from kb.models.base import Timestamped, one_of
from kb.models.choices import Role
from kb.models.people import Person
from kb.models.types import UTCDateTime


def _new_auth_token() -> str:
    return secrets.token_urlsafe(16)


class User(Timestamped, db.Model):
    __tablename__ = "user_account"
    __table_args__ = (one_of("role", Role),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    role: Mapped[str] = mapped_column(String(20), default=Role.SPEAKER)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the login session: changing it (password change, "log out everywhere")
    # ends every session of this account.
    auth_token: Mapped[str] = mapped_column(String(64), default=_new_auth_token)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("person.id", ondelete="SET NULL"), index=True
    )

    person: Mapped[Person | None] = relationship(foreign_keys=[person_id])

    @validates("email")
    def _normalise_email(self, _name: str, email: str) -> str:
        email = (email or "").strip().lower()
        if "@" not in email or len(email) > 320:
            raise ValueError(f"{email!r} is not an e-mail address")
        return email

    @validates("role")
    def _check_role(self, _name: str, role: str) -> str:
        return Role(role).value

    def renew_auth_token(self) -> None:
        self.auth_token = _new_auth_token()

    # Flask-Login's user protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.auth_token}"

    def has_role(self, *roles: Role) -> bool:
        """Admins can do everything editors can."""
        wanted = {Role(r) for r in roles}
        if Role.EDITOR in wanted:
            wanted.add(Role.ADMIN)
        return Role(self.role) in wanted

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"
