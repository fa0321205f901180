"""``kb reminders``: the yearly "is this case still accurate?" e-mails (run it daily)."""

from __future__ import annotations

from datetime import datetime

import click
from flask.cli import with_appcontext

from kb.models.types import as_utc
from kb.services import reminders
from kb.services.mail import one_connection


@click.group("reminders")
def reminders_group() -> None:
    """Ask the owners of published cases once a year whether their case is still accurate."""


@reminders_group.command("send")
@click.option("--dry-run", is_flag=True, help="List the reminders due; send nothing.")
@click.option(
    "--now",
    "now",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    hidden=True,
    help="Act as if it were this moment (UTC), for tests and trials.",
)
@with_appcontext
def send(dry_run: bool, now: datetime | None) -> None:
    """E-mail every case due a reminder: unconfirmed and not reminded for a year.

    Safe to run as often as you like (daily from cron or a systemd timer): a case gets
    one reminder a year. Exits 1 if a mail cannot be sent; those sent before it stay sent.
    """
    moment = as_utc(now) if now is not None else None
    due = reminders.due(moment)
    if dry_run:
        for item in due:
            click.echo(f"would remind {item.email} about {item.case.slug} ({item.case.language})")
        click.echo(f"{len(due)} reminder(s) due; none sent (--dry-run).")
        return
    sent = 0
    try:
        with one_connection():
            for number, item in enumerate(due, 1):
                if reminders.send(item, moment) is None:
                    click.echo(f"[{number}/{len(due)}] {item.case.slug}: no longer due, skipped")
                    continue
                sent += 1
                click.echo(f"[{number}/{len(due)}] reminded {item.email} about {item.case.slug}")
    except reminders.ReminderFailed as failed:
        raise click.ClickException(
            f"Could not send a reminder ({failed}); {sent} of {len(due)} sent. "
            "Check KB_MAIL_SERVER and run the command again: it sends only what is still due."
        ) from None
    click.echo(f"Sent {sent} reminder(s).")
