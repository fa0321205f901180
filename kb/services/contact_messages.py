"""A visitor's message to the people behind a case (or to a person), without exposing anyone.

The message is e-mailed to the case's contacts who agreed to be contacted and gave an
e-mail address; where there is none, to the editors, who forward it. The visitor's
address is given only to the recipients, as ``Reply-To``; no recipient's address goes
back to the visitor, not even in the copy they may ask for. The message is not stored:
the mail is its only copy. Each case keeps only how many messages it was sent (for the
editors). The frame of the mail (greeting, what it is about, how to answer) is in the
recipients' language: the case's language for its contacts, the site's default for the
editors, whose accounts record no language.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import _, ui_language
from kb.models import Case, CaseContactCount, Person, Role, User
from kb.models.base import utcnow
from kb.ratelimit.quota import spend
from kb.services.mail import MailNotSent, external_url, send_mail

log = logging.getLogger(__name__)

#: Where each recipient's count lives in the rate-limit storage.
RECIPIENT_SCOPE = "contact-recipient"


@dataclass(frozen=True)
class VisitorMessage:
    """What the visitor typed; ``copy``: send them a copy."""

    name: str
    email: str
    text: str
    copy: bool = False

    @property
    def reply_to(self) -> str:
        return str(Address(display_name=self.name, addr_spec=self.email))


@dataclass(frozen=True)
class Recipients:
    """Who gets a message, in which language; ``editors``: the editors, to forward it."""

    addresses: tuple[str, ...]
    language: str
    editors: bool


class NotSent(Exception):
    """The message was not sent; the text says why, in the visitor's language."""


class TooManyForRecipient(NotSent):
    """The recipients have had as many messages as they take; ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def reachable(person: Person) -> bool:
    """Whether messages go to this person themselves: they agreed and gave an address."""
    return bool(person.consent_to_publish_contact and person.email)


def goes_to_editors(about: Case | Person) -> bool:
    """Whether a message about this case (or to this person) goes to the editors."""
    people = [c.person for c in about.contacts] if isinstance(about, Case) else [about]
    return not any(reachable(person) for person in people)


def recipients(about: Case | Person, language: str | None = None) -> Recipients:
    """The addresses a message goes to; ``language``: the content's, for its contacts."""
    people = [c.person for c in about.contacts] if isinstance(about, Case) else [about]
    addresses = tuple(dict.fromkeys(p.email for p in people if reachable(p) and p.email))
    default = str(current_app.config["BABEL_DEFAULT_LOCALE"])
    if addresses:
        return Recipients(addresses, ui_language(language) or default, editors=False)
    return Recipients(_editor_addresses(), default, editors=True)


def _editor_addresses() -> tuple[str, ...]:
    return tuple(
        db.session.scalars(
            select(User.email)
            .where(User.active.is_(True), User.role.in_([Role.EDITOR, Role.ADMIN]))
            .order_by(User.id)
        )
    )


def send_about_case(case: Case, message: VisitorMessage) -> Recipients:
    """Mail ``message`` about a published case to its recipients, count it; raises
    ``NotSent``."""
    to = recipients(case, case.language)
    _send(to, message, case=case, person=None, url=external_url("public.case", slug=case.slug))
    _count(case)
    return to


def send_to_person(person: Person, language: str | None, message: VisitorMessage) -> Recipients:
    """Mail ``message`` to a person with a public page (or, without their consent, to the
    editors); ``language``: that of the content they are known for. Raises ``NotSent``."""
    to = recipients(person, language)
    url = external_url("public.person", slug=person.slug)
    _send(to, message, case=None, person=person, url=url)
    return to


def _send(
    to: Recipients, message: VisitorMessage, case: Case | None, person: Person | None, url: str
) -> None:
    if not to.addresses:
        log.warning("A contact message could not be delivered: there is no editor account.")
        raise NotSent(_("The message cannot be delivered at the moment. Please try later."))
    copy_to = [message.email] if message.copy else []
    wait = spend(_recipient_limit(), RECIPIENT_SCOPE, [*to.addresses, *copy_to])
    if wait:
        raise TooManyForRecipient(
            _(
                "The recipients of this form have had many messages today. Please try again "
                "tomorrow."
            ),
            wait,
        )
    about = {"case": case, "person": person, "url": url, "visitor": message, "recipients": to}
    try:
        with force_locale(to.language):
            send_mail(
                to.addresses,
                _subject(case, person),
                "contact_message",
                reply_to=message.reply_to,
                **about,
            )
    except MailNotSent as error:
        log.error("A contact message could not be sent: %s", error)
        raise NotSent(
            _("The message could not be sent just now. Please try again in a while.")
        ) from error
    if message.copy:
        _send_copy(message, about)


def _send_copy(message: VisitorMessage, about: dict[str, object]) -> None:
    """The sender's copy, in their own language; it names no recipient's address. A copy
    that fails is only logged: the message itself has gone."""
    try:
        send_mail(message.email, _("Copy of your message"), "contact_copy", **about)
    except MailNotSent as error:
        log.warning("The copy of a contact message could not be sent: %s", error)


def _subject(case: Case | None, person: Person | None) -> str:
    if case is not None:
        return _("Message about “%(title)s” from Nordic Good Practice KB", title=case.title)
    name = person.name if person is not None else ""
    return _("Message for %(name)s from Nordic Good Practice KB", name=name)


def _recipient_limit() -> str:
    return str(current_app.config["CONTACT_LIMIT_PER_RECIPIENT"])


def _count(case: Case) -> None:
    """One more message for ``case``: a single upsert, so workers counting at once add up."""
    now = utcnow()
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(CaseContactCount).values(
        case_id=case.id, messages=1, last_message_at=now
    )
    statement = insert.on_conflict_do_update(
        index_elements=[CaseContactCount.case_id],
        set_={"messages": CaseContactCount.messages + 1, "last_message_at": now},
    )
    with write_transaction():
        db.session.execute(statement)


def message_counts(case_ids: Sequence[int]) -> dict[int, int]:
    """How many messages visitors sent about each of these cases (absent: none)."""
    if not case_ids:
        return {}
    rows = db.session.execute(
        select(CaseContactCount.case_id, CaseContactCount.messages).where(
            CaseContactCount.case_id.in_(case_ids)
        )
    )
    return {row.case_id: row.messages for row in rows}
