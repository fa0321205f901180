"""The yearly "is this still accurate?" e-mail, and its two single-use links.

``kb reminders send`` runs daily (docs/deployment.md); it is idempotent because each mail
sent is a ``CaseReminder`` row: a case gets a reminder when it has gone ``REMIND_AFTER_YEARS``
without a confirmation and without a reminder. Two runs at once (a slow run overlapping the
next day's) send each reminder once: the row is written only after the case is checked again
under a lock. The mail goes to the case's owner, or, for a
case without an owner account, to a contact who consented to show their e-mail, in the
case's language.

The links are signed (itsdangerous, the secret key) and name the reminder; the reminder
stamps each link when it is used, so a link works once. *Still accurate* confirms without
a login (the signature is the proof); *update it* opens the case form, behind the login.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import force_locale
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import ColumnElement, and_, exists, func, select, update
from sqlalchemy.orm import selectinload

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import _, _l, ui_language
from kb.models import Case, CaseContact, CaseReminder, CaseStatus
from kb.models.base import utcnow
from kb.services import freshness
from kb.services.accounts import LinkInvalid
from kb.services.mail import MailNotSent, external_url, send_mail

#: A case unconfirmed this long, and not reminded this long, gets a reminder.
REMIND_AFTER_YEARS = 1
#: How long the links of a reminder work (the next reminder comes a year later).
LINK_MAX_AGE = 90 * 24 * 3600
_SALT = "kb-reminder"
CONFIRM = "confirm"
UPDATE = "update"
SUBJECT = _l("Is your case in Nordic Good Practice KB still accurate?")


class LinkUsed(LinkInvalid):
    """The link worked once already; ``when`` it was used."""

    def __init__(self, reminder: CaseReminder, when: datetime) -> None:
        super().__init__(_("This link has already been used."))
        self.reminder = reminder
        self.when = when


class ReminderFailed(RuntimeError):
    """A mail could not be sent; the reminders sent before it stay sent."""


@dataclass(frozen=True)
class Due:
    """A case to remind, and whom."""

    case: Case
    email: str
    #: True: the case's owner (who can edit it); False: a consenting contact.
    owner: bool


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def recipient(case: Case) -> tuple[str, bool] | None:
    """The owner's address, else the first consenting contact's; ``None``: nobody to ask."""
    if case.owner is not None and case.owner.active:
        return case.owner.email, True
    for contact in case.contacts:
        person = contact.person
        if person.consent_to_publish_contact and person.email:
            return person.email, False
    return None


def _is_due(since: datetime) -> ColumnElement[bool]:
    """Published, and neither confirmed nor reminded after ``since``."""
    confirmed = func.coalesce(Case.last_confirmed_at, Case.published_at)
    reminded = exists().where(CaseReminder.case_id == Case.id, CaseReminder.sent_at > since)
    return and_(Case.status == CaseStatus.PUBLISHED, confirmed <= since, ~reminded)


def due(now: datetime | None = None) -> list[Due]:
    """Published cases unconfirmed and unreminded for ``REMIND_AFTER_YEARS``, with whom to
    ask (cases with nobody to ask are left out: the editors' stale list shows them)."""
    since = freshness.years_before(now or utcnow(), REMIND_AFTER_YEARS)
    cases = db.session.scalars(
        select(Case)
        .where(_is_due(since))
        .options(
            selectinload(Case.owner),
            selectinload(Case.contacts).selectinload(CaseContact.person),
        )
        .order_by(Case.id)
    )
    found = []
    for case in cases:
        to = recipient(case)
        if to is not None:
            found.append(Due(case, *to))
    return found


def links(reminder: CaseReminder) -> dict[str, str]:
    """The reminder's two links, by what they do."""
    serializer = _serializer()
    return {
        action: external_url(
            f"freshness.{action}_link", token=serializer.dumps([reminder.id, action])
        )
        for action in (CONFIRM, UPDATE)
    }


def send(item: Due, now: datetime | None = None) -> CaseReminder | None:
    """Mail one reminder; the reminder is kept only if the mail went out. ``None``: the
    case is no longer due (another run reminded it, or it was confirmed since ``due``).

    The case row is locked first, then checked again in a statement of its own (on
    PostgreSQL a statement sees what committed before it began, so a check within the
    locking statement would miss the other run's reminder; SQLite's write transaction holds
    the whole database): of two runs at once only one writes the row and mails.
    """
    case = item.case
    moment = now or utcnow()
    since = freshness.years_before(moment, REMIND_AFTER_YEARS)
    with write_transaction():
        db.session.execute(select(Case.id).where(Case.id == case.id).with_for_update())
        still_due = db.session.scalar(select(Case.id).where(Case.id == case.id, _is_due(since)))
        if still_due is None:
            return None
        reminder = CaseReminder(case_id=case.id, sent_at=moment)
        db.session.add(reminder)
    urls = links(reminder)
    try:
        with force_locale(ui_language(case.language) or "en"):
            send_mail(
                item.email,
                str(SUBJECT),
                "reminder",
                case=case,
                owner=item.owner,
                confirmed=freshness.confirmed_at(case),
                case_url=external_url("public.case", slug=case.slug),
                confirm_link=urls[CONFIRM],
                update_link=urls[UPDATE],
            )
    except Exception as exc:
        with write_transaction():
            db.session.delete(reminder)
        if isinstance(exc, MailNotSent):
            raise ReminderFailed(f"{case.slug}: {exc}") from exc
        raise
    return reminder


def reminder_for(token: str, action: str) -> CaseReminder:
    """The reminder behind a link for ``action``, if genuine, fresh and its case published;
    ``LinkUsed`` when that link worked already."""
    try:
        data = _serializer().loads(token, max_age=LINK_MAX_AGE)
    except SignatureExpired:
        raise LinkInvalid(_("This link has expired; the next reminder brings a new one.")) from None
    except BadSignature:
        raise LinkInvalid(_("This link is not valid.")) from None
    if not (isinstance(data, list) and len(data) == 2 and data[1] == action):
        raise LinkInvalid(_("This link is not valid."))
    reminder = db.session.get(CaseReminder, data[0]) if isinstance(data[0], int) else None
    case = db.session.get(Case, reminder.case_id) if reminder is not None else None
    if reminder is None or case is None or not case.is_published:
        raise LinkInvalid(_("This link is not valid."))
    used = reminder.confirmed_at if action == CONFIRM else reminder.update_opened_at
    if used is not None:
        raise LinkUsed(reminder, used)
    return reminder


def case_of(reminder: CaseReminder) -> Case:
    case = db.session.get(Case, reminder.case_id)
    if case is None:  # pragma: no cover - the row goes with its case
        raise LinkInvalid(_("This link is not valid."))
    return case


def _spend(reminder: CaseReminder, column: str) -> None:
    """Stamp one link of the reminder as used, unless another request just did (the
    conditional UPDATE decides, on SQLite as on PostgreSQL)."""
    stamp = getattr(CaseReminder, column)
    spent = db.session.execute(
        update(CaseReminder)
        .where(CaseReminder.id == reminder.id, stamp.is_(None))
        .values({column: utcnow()})
    )
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(reminder)
        raise LinkUsed(reminder, getattr(reminder, column))


def use_confirm_link(reminder: CaseReminder) -> Case:
    """Confirm the case and spend the link, in one transaction."""
    case = case_of(reminder)
    with write_transaction():
        _spend(reminder, "confirmed_at")
        db.session.add(case)
        case.last_confirmed_at = utcnow()
    db.session.refresh(reminder)
    return case


def use_update_link(reminder: CaseReminder) -> Case:
    """Spend the update link; the case form itself is behind the login."""
    with write_transaction():
        _spend(reminder, "update_opened_at")
    return case_of(reminder)
