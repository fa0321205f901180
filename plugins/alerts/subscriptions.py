"""Alert subscriptions: asked for, confirmed by a signed link, cancelled, and everything an
address has (for "manage my alerts" and the personal-data commands).

Every link in a mail is signed with the site's secret and names both the subscription and
its address, so a link can neither be forged nor, when ids are reused after a deletion,
reach someone else's subscription. Confirmation and manage links expire after a week; an
unsubscribe link works as long as the subscription exists, as RFC 8058 expects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row

from kb import toolkit
from kb.toolkit import _

from .tables import subscriptions

KINDS = ("search", "event")
FREQUENCIES = ("weekly", "monthly")
#: A confirmation or manage link expires after this; so do unconfirmed subscriptions.
LINK_MAX_AGE = timedelta(days=7)


class LinkInvalid(Exception):
    """A link from a mail is forged, expired or for something gone; the message says which."""


@dataclass(frozen=True)
class Subscription:
    id: int
    email: str
    kind: str
    target: str
    frequency: str
    language: str
    created_at: datetime
    confirmed_at: datetime | None
    sent_until: datetime | None
    last_sent_at: datetime | None

    @property
    def confirmed(self) -> bool:
        return self.confirmed_at is not None


def now() -> datetime:
    return datetime.now(UTC)


def _subscription(row: Row[Any]) -> Subscription:
    return Subscription(**row._mapping)


def _find(subscription_id: Any, email: Any) -> Subscription | None:
    if not isinstance(subscription_id, int) or not isinstance(email, str):
        return None
    with toolkit.data_reader() as connection:
        row = connection.execute(
            select(subscriptions).where(
                subscriptions.c.id == subscription_id, subscriptions.c.email == email
            )
        ).first()
    return _subscription(row) if row is not None else None


def _loads(purpose: str, token: str, max_age: timedelta | None) -> dict[str, Any]:
    signer = toolkit.link_signer(f"alerts-{purpose}")
    try:
        data = signer.loads(token, max_age=max_age.total_seconds() if max_age else None)
    except toolkit.SignatureExpired:
        raise LinkInvalid(_("This link has expired. Ask for a new one.")) from None
    except toolkit.BadSignature:
        raise LinkInvalid(_("This link is not valid.")) from None
    if not isinstance(data, dict):
        raise LinkInvalid(_("This link is not valid."))
    return data


# -- asking and confirming ----------------------------------------------------------------


def request(email: str, kind: str, target: str, frequency: str, language: str) -> str:
    """Note an alert someone asked for (unconfirmed until its link is followed) and return
    the confirmation token. Asking again for the same alert keeps the one row; the
    frequency and language asked for travel in the token and count only once confirmed."""
    email = toolkit.normal_address(email)
    with toolkit.data_transaction() as connection:
        found = connection.execute(
            select(subscriptions.c.id).where(
                subscriptions.c.email == email,
                subscriptions.c.kind == kind,
                subscriptions.c.target == target,
            )
        ).scalar()
        if found is None:
            found = connection.execute(
                insert(subscriptions).values(
                    email=email,
                    kind=kind,
                    target=target,
                    frequency=frequency,
                    language=language,
                    created_at=now(),
                )
            ).inserted_primary_key[0]
    payload = {"s": found, "e": email, "f": frequency, "l": language}
    return toolkit.link_signer("alerts-confirm").dumps(payload)


def _confirmation(token: str) -> tuple[Subscription, dict[str, Any]]:
    data = _loads("confirm", token, LINK_MAX_AGE)
    found = _find(data.get("s"), data.get("e"))
    if found is None or data.get("f") not in FREQUENCIES:
        raise LinkInvalid(_("This alert no longer exists. Ask for it again."))
    return found, data


def pending(token: str) -> tuple[Subscription, str]:
    """The subscription a confirmation link is for, and the frequency it confirms."""
    found, data = _confirmation(token)
    return found, data["f"]


def confirm(token: str) -> Subscription:
    """Start the alert a confirmation link is for: from now on, new cases count. Confirming
    again changes only the frequency and language (nothing already sent is sent again)."""
    found, data = _confirmation(token)
    moment = now()
    started = replace(
        found,
        frequency=data["f"],
        language=data["l"] if data.get("l") in toolkit.ui_languages() else found.language,
        confirmed_at=found.confirmed_at or moment,
        sent_until=found.sent_until or moment,
    )
    with toolkit.data_transaction() as connection:
        connection.execute(
            update(subscriptions)
            .where(subscriptions.c.id == found.id)
            .values(
                frequency=started.frequency,
                language=started.language,
                confirmed_at=started.confirmed_at,
                sent_until=started.sent_until,
            )
        )
    return started


# -- unsubscribing and managing -----------------------------------------------------------


def unsubscribe_token(subscription: Subscription) -> str:
    signer = toolkit.link_signer("alerts-unsubscribe")
    return signer.dumps({"s": subscription.id, "e": subscription.email})


def by_unsubscribe_token(token: str) -> tuple[Subscription | None, str]:
    """The subscription an unsubscribe link names (None once cancelled), and its address."""
    data = _loads("unsubscribe", token, None)
    return _find(data.get("s"), data.get("e")), str(data.get("e", ""))


def cancel(subscription_id: int, email: str) -> bool:
    """End one alert of this address; False if it was gone already."""
    with toolkit.data_transaction() as connection:
        result = connection.execute(
            delete(subscriptions).where(
                subscriptions.c.id == subscription_id, subscriptions.c.email == email
            )
        )
    return result.rowcount > 0


def manage_token(email: str) -> str:
    return toolkit.link_signer("alerts-manage").dumps({"e": toolkit.normal_address(email)})


def address_of_manage_token(token: str) -> str:
    email = _loads("manage", token, LINK_MAX_AGE).get("e")
    if not isinstance(email, str) or not email:
        raise LinkInvalid(_("This link is not valid."))
    return email


def of_address(email: str) -> list[Subscription]:
    """Every alert of an address, confirmed or not, oldest first."""
    with toolkit.data_reader() as connection:
        rows = connection.execute(
            select(subscriptions)
            .where(subscriptions.c.email == toolkit.normal_address(email))
            .order_by(subscriptions.c.id)
        ).all()
    return [_subscription(row) for row in rows]


def erase(email: str) -> int:
    """Remove every alert of an address, confirmed or not; how many there were."""
    with toolkit.data_transaction() as connection:
        result = connection.execute(
            delete(subscriptions).where(subscriptions.c.email == toolkit.normal_address(email))
        )
    return result.rowcount


def export(email: str) -> list[dict[str, Any]]:
    """An address's alerts as JSON-ready values (for an access request)."""
    return [
        {
            "kind": s.kind,
            "follows": s.target,
            "frequency": s.frequency,
            "language": s.language,
            **{
                name: moment.isoformat() if moment else None
                for name, moment in (
                    ("asked_at", s.created_at),
                    ("confirmed_at", s.confirmed_at),
                    ("sent_until", s.sent_until),
                    ("last_sent_at", s.last_sent_at),
                )
            },
        }
        for s in of_address(email)
    ]


# -- sending --------------------------------------------------------------------------------


def confirmed(frequency: str) -> list[Subscription]:
    """The confirmed alerts of one frequency, in a fixed order (so a run can be followed)."""
    with toolkit.data_reader() as connection:
        rows = connection.execute(
            select(subscriptions)
            .where(
                subscriptions.c.frequency == frequency,
                subscriptions.c.confirmed_at.is_not(None),
            )
            .order_by(subscriptions.c.id)
        ).all()
    return [_subscription(row) for row in rows]


def claim(subscription: Subscription, sent_until: datetime, at: datetime) -> bool:
    """Record a digest as sent (what it covers up to, and when) just before it is mailed,
    unless another run moved the mark since ``subscription`` was read: then False, and this
    run must not mail it. One conditional UPDATE decides, on SQLite as on PostgreSQL."""
    with toolkit.data_transaction() as connection:
        claimed = connection.execute(
            update(subscriptions)
            .where(
                subscriptions.c.id == subscription.id,
                subscriptions.c.sent_until.is_not_distinct_from(subscription.sent_until),
            )
            .values(sent_until=sent_until, last_sent_at=at)
        )
    return claimed.rowcount == 1


def unclaim(subscription: Subscription, sent_until: datetime) -> None:
    """Put the mark back after the claimed digest could not be mailed, so the next run
    sends it (unless a later run has moved the mark on since)."""
    with toolkit.data_transaction() as connection:
        connection.execute(
            update(subscriptions)
            .where(
                subscriptions.c.id == subscription.id,
                subscriptions.c.sent_until == sent_until,
            )
            .values(sent_until=subscription.sent_until, last_sent_at=subscription.last_sent_at)
        )


def drop_unconfirmed(older_than: datetime) -> int:
    """Forget alerts nobody confirmed in time: an address someone else typed in stays no
    longer than its confirmation link could work."""
    with toolkit.data_transaction() as connection:
        result = connection.execute(
            delete(subscriptions).where(
                subscriptions.c.confirmed_at.is_(None), subscriptions.c.created_at < older_than
            )
        )
    return result.rowcount
