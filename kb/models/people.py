"""People to contact and the organisations they work for.

Contact details are personal data: they leave the database for a page or an export
only through ``Person.public_contact()``, which honours consent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from kb.extensions import db
from kb.models.base import Timestamped, utcnow
from kb.models.choices import check_country
from kb.models.types import UTCDateTime

if TYPE_CHECKING:
    from kb.models.user import User


class Organisation(Timestamped, db.Model):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(300), unique=True)
    country: Mapped[str | None] = mapped_column(String(2))
    website: Mapped[str | None] = mapped_column(String(500))

    people: Mapped[list[Person]] = relationship(
        back_populates="organisation", order_by="Person.name"
    )

    _check_country = validates("country")(check_country)

    def __repr__(self) -> str:
        return f"<Organisation {self.name!r}>"


@dataclass(frozen=True)
class PublicContact:
    email: str | None
    phone: str | None


class Person(Timestamped, db.Model):
    __tablename__ = "person"
    __table_args__ = (UniqueConstraint("name", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(300))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="SET NULL"), index=True
    )
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(50))
    consent_to_publish_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    consent_given_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who recorded the consent (a speaker for their contacts, or an editor).
    consent_recorded_by_id: Mapped[int | None] = mapped_column(
        # Accounts and people refer to each other; use_alter breaks the cycle for DROP/CREATE.
        ForeignKey("user_account.id", ondelete="SET NULL", use_alter=True)
    )

    organisation: Mapped[Organisation | None] = relationship(back_populates="people")
    consent_recorded_by: Mapped[User | None] = relationship(foreign_keys=[consent_recorded_by_id])

    def set_consent(self, consent: bool, by: User | None = None) -> None:
        """Record (or withdraw) consent to show e-mail and phone: when, and by whom."""
        if consent and not self.consent_to_publish_contact:
            self.consent_given_at = utcnow()
            self.consent_recorded_by = by
        elif not consent:
            self.consent_given_at = None
            self.consent_recorded_by = None
        self.consent_to_publish_contact = consent

    def public_contact(self) -> PublicContact | None:
        """E-mail and phone for public display, or ``None`` without consent."""
        if not self.consent_to_publish_contact or not (self.email or self.phone):
            return None
        return PublicContact(email=self.email, phone=self.phone)

    def __repr__(self) -> str:
        return f"<Person {self.name!r}>"
