"""Freshness: when a case was last said to be still accurate, and when that is too long ago.

A case is confirmed when it is published and each time its owner or an editor says it is
still accurate (a button, or the link of the yearly reminder, ``kb.services.reminders``).
Not confirmed for ``STALE_AFTER_YEARS`` it is shown as "may be out of date", on its page,
in the API and to the editors. Every function takes the moment it works at (``now``), so
the command line and the tests can move the clock instead of waiting.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import _
from kb.models import Case, CaseStatus, User
from kb.models.base import utcnow
from kb.services.submissions import is_editor

#: Not confirmed for this many years: "may be out of date".
STALE_AFTER_YEARS = 2


class ConfirmRefused(PermissionError):
    """The user may not confirm this case (or it is not published); the message says why."""


def years_before(moment: datetime, years: int) -> datetime:
    """The same moment ``years`` earlier (29 February becomes the 28th)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)


def confirmed_at(case: Case) -> datetime | None:
    """When the case was last confirmed; a published case never confirmed counts from its
    publication."""
    return case.last_confirmed_at or case.published_at


def stale_since(now: datetime | None = None) -> datetime:
    """Cases last confirmed before this moment may be out of date."""
    return years_before(now or utcnow(), STALE_AFTER_YEARS)


def is_stale(case: Case, now: datetime | None = None) -> bool:
    """Whether a published case has gone ``STALE_AFTER_YEARS`` without a confirmation."""
    when = confirmed_at(case)
    return case.is_published and when is not None and when < stale_since(now)


def note_publication(case: Case, now: datetime | None = None) -> None:
    """Publishing a case confirms it. Call inside the transaction that publishes it."""
    case.last_confirmed_at = now or utcnow()


def may_confirm(user: User, case: Case) -> bool:
    """Editors confirm any published case; a speaker the published cases they own."""
    if not case.is_published:
        return False
    return is_editor(user) or (case.owner_id is not None and case.owner_id == user.id)


def confirm(case: Case, user: User, now: datetime | None = None) -> None:
    """``user`` says the case is still accurate now (the reminder's link confirms through
    ``kb.services.reminders.use_confirm_link``, the signature standing in for the login)."""
    if not case.is_published:
        raise ConfirmRefused(_("Only a published case can be confirmed."))
    if not may_confirm(user, case):
        raise ConfirmRefused(_("You may not confirm this case."))
    with write_transaction():
        db.session.add(case)
        case.last_confirmed_at = now or utcnow()


def stale_cases(now: datetime | None = None) -> list[Case]:
    """Published cases not confirmed for ``STALE_AFTER_YEARS``, the longest unconfirmed first."""
    confirmed = func.coalesce(Case.last_confirmed_at, Case.published_at)
    return list(
        db.session.scalars(
            select(Case)
            .where(Case.status == CaseStatus.PUBLISHED, confirmed < stale_since(now))
            .options(selectinload(Case.owner))
            .order_by(confirmed, Case.id)
        )
    )
