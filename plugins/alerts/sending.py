"""``kb alerts send``: one run mails every confirmed alert of a frequency its digest.

Idempotent by the high-water mark each alert keeps (``sent_until``): a digest covers what
was published after it, and the mark moves to the newest thing it lists just before it is
mailed (back again if the mail fails). So a second run, or a run after a failure, sends only
what no digest has covered yet, and of two runs at once only the one that moved the mark
mails. A mail failure stops the run with an error; the digests mailed before it stay
recorded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from kb import toolkit

from . import follows, mailing, subscriptions


class SendFailed(Exception):
    """A digest could not be mailed; the message says to whom and why."""


@dataclass
class Outcome:
    sent: int = 0
    nothing_new: int = 0
    skipped: int = 0
    dropped_unconfirmed: int = 0


def run(frequency: str, *, dry_run: bool, report: Callable[[str], None]) -> Outcome:
    """Mail (or with ``dry_run`` list) the digests of ``frequency``; ``report`` gets a line
    per alert."""
    moment = subscriptions.now()
    outcome = Outcome()
    if not dry_run:
        outcome.dropped_unconfirmed = subscriptions.drop_unconfirmed(
            moment - subscriptions.LINK_MAX_AGE
        )
    due = subscriptions.confirmed(frequency)
    with toolkit.one_mail_connection():
        for number, subscription in enumerate(due, 1):
            _run_one(subscription, f"[{number}/{len(due)}]", moment, outcome, dry_run, report)
    return outcome


def _run_one(
    subscription: subscriptions.Subscription,
    position: str,
    moment: datetime,
    outcome: Outcome,
    dry_run: bool,
    report: Callable[[str], None],
) -> None:
    """One alert's digest: mailed (or listed), skipped, or nothing new."""
    where = f"{position} alert {subscription.id} ({subscription.email})"
    since = subscription.sent_until or subscription.confirmed_at or moment
    try:
        news = follows.news(subscription, since)
    except follows.UnknownTarget as unknown:
        outcome.skipped += 1
        report(f"{where}: skipped, it follows what no longer exists ({unknown})")
        return
    if news.empty:
        outcome.nothing_new += 1
        report(f"{where}: nothing new")
        return
    counts = (
        f"{len(news.cases)} case(s), {len(news.sessions)} session(s), "
        f"{len(news.materials)} material(s)"
    )
    if dry_run:
        outcome.sent += 1
        report(f"{where}: would send {counts}")
        for case in news.cases:
            report(f"    {case.published_at:%Y-%m-%d} {case.slug}: {case.title}")
        for item in (*news.sessions, *news.materials):
            report(f"    {item.created_at:%Y-%m-%d} {item.title}")
        return
    covered = news.newest(since)
    if not subscriptions.claim(subscription, covered, moment):
        outcome.skipped += 1
        report(f"{where}: skipped, another run has just sent it")
        return
    try:
        mailing.send_digest(subscription, news)
    except toolkit.MailNotSent as error:
        subscriptions.unclaim(subscription, covered)
        raise SendFailed(
            f"{where}: the mail could not be sent ({error}). {outcome.sent} digest(s) "
            "were sent before it and are recorded; run the command again to go on."
        ) from error
    outcome.sent += 1
    report(f"{where}: sent {counts}")
