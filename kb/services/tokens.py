"""Personal API tokens: create, list, revoke, and find the account behind a bearer token.

The secret (``kbt_`` + 43 URL-safe characters, 256 random bits) is returned once by
``create_token`` and never stored; the database keeps its SHA-256 hash (see
``kb.models.token`` for why a fast hash is right here).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from kb.database import write_transaction
from kb.extensions import db
from kb.i18n import _
from kb.models import ApiToken, User
from kb.models.base import utcnow
from kb.models.token import NAME_MAX_LENGTH, PREFIX_LENGTH
from kb.services.accounts import AccountError

SECRET_PREFIX = "kbt_"  # noqa: S105 - not a secret: what every token starts with
SECRET_BYTES = 32
#: ``kbt_`` and what ``secrets.token_urlsafe(32)`` gives: 43 characters of base64url.
_SECRET = re.compile(rf"{SECRET_PREFIX}[A-Za-z0-9_-]{{43}}")
#: ``last_used_at`` is written at most this often, not on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


class TokenRejected(AccountError):
    """A token cannot be created as asked; the message is for the user."""


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise TokenRejected(_("Give the token a name, such as the system that will use it."))
    if len(name) > NAME_MAX_LENGTH:
        raise TokenRejected(_("The name can have at most %(n)d characters.", n=NAME_MAX_LENGTH))
    return name


def create_token(user: User, name: str) -> tuple[ApiToken, str]:
    """A new token for ``user``, and its secret: the only time the secret is available."""
    name = _clean_name(name)
    if not user.active:
        raise TokenRejected(_("This account is closed."))
    secret = SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    with write_transaction():
        token = ApiToken(
            user_id=user.id,
            name=name,
            token_hash=_hash(secret),
            prefix=secret[:PREFIX_LENGTH],
        )
        db.session.add(token)
    return token, secret


def tokens_of(user: User) -> list[ApiToken]:
    """All of the user's tokens, newest first; revoked ones too, so their holder sees
    which systems lost access and when."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .where(ApiToken.user_id == user.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def all_tokens() -> list[ApiToken]:
    """Every token with its owner, newest first (for administrators, on the command line)."""
    return list(
        db.session.scalars(
            select(ApiToken)
            .options(selectinload(ApiToken.user))
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
        )
    )


def find_token(token_id: int) -> ApiToken | None:
    return db.session.get(ApiToken, token_id)


def revoke(token: ApiToken) -> None:
    """End a token for good; revoking it again changes nothing (the first time stays)."""
    with write_transaction():
        db.session.add(token)
        if token.revoked_at is None:
            token.revoked_at = utcnow()


def authenticate(secret: str) -> User | None:
    """The active account a token secret belongs to; ``None`` for anything else.

    Unknown, revoked and malformed secrets, and tokens of closed accounts, all give
    ``None``. The lookup is by the secret's SHA-256: what the database comparison could
    reveal through timing is about the hash, which tells nothing about a secret that would
    match. The found hash is compared again in constant time all the same.
    """
    if not isinstance(secret, str) or not _SECRET.fullmatch(secret):
        return None
    digest = _hash(secret)
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if (
        token is None
        or not hmac.compare_digest(token.token_hash, digest)
        or token.revoked_at is not None
        or not token.user.active
    ):
        return None
    _note_use(token)
    return token.user


def authenticate_header(authorization: str | None) -> User | None:
    """The account of an ``Authorization: Bearer <secret>`` header value, or ``None``.

    The scheme is case-insensitive (RFC 7235); anything but exactly one scheme and one
    secret is refused.
    """
    scheme, _sep, secret = (authorization or "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return authenticate(secret)


def _note_use(token: ApiToken) -> None:
    """Record the time of use, at most once a minute: not a write per API request."""
    now = utcnow()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    with write_transaction():
        db.session.add(token)
        token.last_used_at = now
