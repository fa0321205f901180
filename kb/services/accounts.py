"""Accounts: creation, passwords, single-use password links, login bookkeeping.

Password links are signed (itsdangerous) and carry a fingerprint of the account's current
password hash and session token; setting a password changes both, so a link works once.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from typing import Literal

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import _, _l
from kb.models import Person, Role, User
from kb.models.base import utcnow
from kb.services.mail import external_url, send_mail

MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
#: An e-mail name counts against a password from this length on (see ``email_names``).
MIN_EMAIL_NAME_LENGTH = 4
_EMAIL_NAME_SEPARATORS = re.compile(r"[._+\-]+")
LinkKind = Literal["welcome", "reset"]
#: How long a link is valid: a new account's owner may take a week, a reset an hour.
LINK_MAX_AGE = {"welcome": 7 * 24 * 3600, "reset": 3600}
_SALT = "kb-password-link"
# Compared against when the e-mail is unknown, so a wrong e-mail takes as long as a wrong password.
_DUMMY_HASH = generate_password_hash("not a real password, only for timing")


class AccountError(ValueError):
    """A request about an account that cannot be done; the message is for the user."""


class PasswordRejected(AccountError):
    pass


class LinkInvalid(AccountError):
    pass


@cache
def _common_passwords() -> frozenset[str]:
    """30,000 most common passwords (the list zxcvbn ships)."""
    return frozenset(FREQUENCY_LISTS["passwords"])


def check_password_policy(password: str, email: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordRejected(
            _("The password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH)
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordRejected(_("The password is too long."))
    lowered = password.lower()
    if lowered in _common_passwords():
        raise PasswordRejected(
            _("This password is among the most common passwords. Please choose another.")
        )
    for name in email_names(email):
        if name in lowered:
            raise PasswordRejected(
                _(
                    "The password contains your e-mail name “%(name)s”, which is easy to "
                    "guess. Please choose one without it.",
                    name=name,
                )
            )


def email_names(email: str) -> list[str]:
    """The parts of an e-mail's local part a guesser would try first: the whole local part
    and each of its pieces ("ola.nordmann" -> "ola.nordmann", "nordmann").

    Pieces shorter than ``MIN_EMAIL_NAME_LENGTH`` are left out: "ola" turns up inside many
    strong passwords ("Kolari ..."), and three letters add little for a guesser anyway.
    """
    local = email.partition("@")[0].strip().lower()
    names = [local, *_EMAIL_NAME_SEPARATORS.split(local)]
    return [n for n in dict.fromkeys(names) if len(n) >= MIN_EMAIL_NAME_LENGTH]


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email.strip().lower()))


def create_user(email: str, role: Role | str, person: Person | None = None) -> User:
    email = email.strip().lower()
    with write_transaction():
        if db.session.scalar(select(func.count()).select_from(User).where(User.email == email)):
            raise AccountError(_("An account with this e-mail address already exists."))
        user = User(email=email, role=Role(role), person=person)
        db.session.add(user)
    return user


def set_password(user: User, password: str) -> None:
    """Set a new password; every other session of the account ends."""
    check_password_policy(password, user.email)
    with write_transaction():
        db.session.add(user)
        user.password_hash = generate_password_hash(password)
        user.renew_auth_token()


def authenticate(email: str, password: str) -> User | None:
    user = find_user(email)
    if user is None or not user.password_hash or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def record_login(user: User) -> None:
    with write_transaction():
        db.session.add(user)
        user.last_login_at = utcnow()


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(user: User) -> str:
    state = f"{user.password_hash or ''}|{user.auth_token}".encode()
    return hashlib.sha256(state).hexdigest()[:24]


def password_link(user: User, kind: LinkKind) -> str:
    token = _serializer().dumps({"u": user.id, "f": _fingerprint(user), "k": kind})
    return external_url("auth.set_password", token=token)


def user_for_link(token: str) -> User:
    """The account a password link is for, if the link is genuine, fresh and unused."""
    serializer = _serializer()
    try:
        data = serializer.loads(token, max_age=max(LINK_MAX_AGE.values()))
        kind = data["k"]
        serializer.loads(token, max_age=LINK_MAX_AGE[kind])
    except SignatureExpired:
        raise LinkInvalid(_("This link has expired. Ask for a new one.")) from None
    except (BadSignature, KeyError, TypeError):
        raise LinkInvalid(_("This link is not valid.")) from None
    user = db.session.get(User, data.get("u"))
    if user is None or not user.active or _fingerprint(user) != data.get("f"):
        raise LinkInvalid(_("This link has already been used. Ask for a new one.")) from None
    return user


RESET_SUBJECT = _l("Set a new password for Nordic Good Practice KB")
WELCOME_SUBJECT = _l("Your account at Nordic Good Practice KB")


def send_password_reset(email: str) -> None:
    """E-mail a reset link if the account exists; say nothing either way (no enumeration)."""
    user = find_user(email)
    if user is None or not user.active:
        return
    send_mail(
        user.email,
        str(RESET_SUBJECT),
        "password_reset",
        link=password_link(user, "reset"),
        hours=LINK_MAX_AGE["reset"] // 3600,
    )
