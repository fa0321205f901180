"""Invitations: an editor invites a speaker to submit the case of their session.

The link is signed, expires after two weeks and works once: accepting it stamps the
invitation, and a stamped invitation is refused.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, get_locale
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import _, _l, ui_language
from kb.models import Event, Invitation, Role, Session, User
from kb.models.base import utcnow
from kb.services.accounts import AccountError, LinkInvalid, create_user, find_user
from kb.services.mail import external_url, send_mail

MAX_AGE = 14 * 24 * 3600
_SALT = "kb-invitation"
SUBJECT = _l("Invitation to share your case in Nordic Good Practice KB")


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


class InvitationUsed(LinkInvalid):
    """The invitation was accepted already: its speaker logs in instead."""

    def __init__(self, invitation: Invitation) -> None:
        super().__init__(_("This invitation has already been used. Log in instead."))
        self.invitation = invitation


def mail_language(event: Event, override: str | None = None) -> str:
    """The language of an invitation mail: the one asked for, else the event's (a Norwegian
    session gets a Norwegian mail), else the language of the person sending it."""
    chosen = ui_language(override) or ui_language(event.language)
    return chosen or str(get_locale() or "en")


def invite(
    email: str,
    place: Session | Event,
    invited_by: User | None = None,
    language: str | None = None,
) -> str:
    """Invite a speaker (creating their speaker account if needed); e-mails and returns the link.

    The mail is in ``language`` if given, else in the event's language (``mail_language``).
    """
    user = find_user(email)
    if user is None:
        user = create_user(email, Role.SPEAKER)
    elif not user.active:
        raise AccountError(_("This account is closed."))
    session = place if isinstance(place, Session) else None
    event = place.event if isinstance(place, Session) else place
    with write_transaction():
        invitation = Invitation(
            email=user.email, user=user, event=event, session=session, invited_by=invited_by
        )
        db.session.add(invitation)
    token = _serializer().dumps({"i": invitation.id})
    link = external_url("auth.invitation", token=token)
    with force_locale(mail_language(event, language)):
        send_mail(
            user.email,
            str(SUBJECT),
            "invitation",
            link=link,
            event=event,
            session=session,
            days=MAX_AGE // 86400,
        )
    return link


def invitation_for(token: str) -> Invitation:
    """The invitation behind a link, if the link is genuine, fresh and not used yet."""
    try:
        data = _serializer().loads(token, max_age=MAX_AGE)
    except SignatureExpired:
        raise LinkInvalid(
            _("This invitation has expired. Ask the organisers for a new one.")
        ) from None
    except BadSignature:
        raise LinkInvalid(_("This link is not valid.")) from None
    invitation = db.session.get(Invitation, data.get("i")) if isinstance(data, dict) else None
    if invitation is None or not invitation.user.active:
        raise LinkInvalid(_("This link is not valid."))
    if invitation.accepted_at is not None:
        raise InvitationUsed(invitation)
    return invitation


def accept(invitation: Invitation) -> None:
    with write_transaction():
        db.session.add(invitation)
        invitation.accepted_at = utcnow()


def invitations_of(user: User) -> list[Invitation]:
    return list(
        db.session.scalars(
            select(Invitation).where(Invitation.user_id == user.id).order_by(Invitation.id.desc())
        )
    )


def recent(limit: int = 50) -> list[Invitation]:
    """The latest invitations, for the editors' overview."""
    return list(db.session.scalars(select(Invitation).order_by(Invitation.id.desc()).limit(limit)))
