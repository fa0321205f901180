"""E-mail alerts: new cases for any search, and news of an event, mailed weekly or monthly.

Every search page offers "E-mail me new cases for this search", every event page "Follow this
event" (its new cases, sessions and material). A person gives an address and a frequency,
confirms by the signed link mailed to them (double opt-in), and from then on
``kb alerts send weekly`` / ``kb alerts send monthly`` (run by cron) mails a digest of what is
new: the cases the search page itself finds, newly published. Every digest unsubscribes in
one click (RFC 8058), and a person sees and cancels all their alerts from a signed link.
Subscriptions are personal data: ``kb people export-address`` / ``erase-address`` (and the
export and erasure of a person) include them. Table: ``alerts_subscription`` (migration
branch ``alerts``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import click
from flask import Blueprint, Flask
from flask.cli import with_appcontext

from kb import toolkit
from kb.toolkit import MenuLink, Section, _l, hookimpl

from . import follows, sending, subscriptions
from .views import bp, subscribe_form


@hookimpl
def register_blueprints(app: Flask) -> list[Blueprint]:
    return [bp]


@hookimpl
def page_sections(slot: str, context: Mapping[str, Any]) -> list[Section]:
    results = context.get("results")
    if slot == "search" and results is not None:
        form = subscribe_form("search", follows.search_target(results.request))
        return [Section("alerts/subscribe_section.html", {"form": form, "kind": "search"})]
    event = context.get("event")
    if slot == "event" and isinstance(event, toolkit.Event):
        form = subscribe_form("event", event.slug)
        return [Section("alerts/subscribe_section.html", {"form": form, "kind": "event"})]
    return []


@hookimpl
def menu_links(menu: str) -> list[MenuLink]:
    if menu == "footer":
        return [MenuLink(label=_l("My e-mail alerts"), endpoint="plugin_alerts.ask_manage")]
    return []


@hookimpl
def personal_data_export(email: str) -> dict[str, Any] | None:
    alerts = subscriptions.export(email)
    return {"subscriptions": alerts} if alerts else None


@hookimpl
def personal_data_erase(email: str) -> int:
    return subscriptions.erase(email)


@click.group("alerts")
def alerts_group() -> None:
    """E-mail alerts for searches and events (the alerts plugin)."""


@alerts_group.command("send")
@click.argument("frequency", type=click.Choice(subscriptions.FREQUENCIES))
@click.option("--dry-run", is_flag=True, help="List what would be mailed; mail nothing.")
@with_appcontext
def send_command(frequency: str, dry_run: bool) -> None:
    """Mail the FREQUENCY (weekly or monthly) alerts their digest of what is new.

    Safe to run again: each alert remembers what its digests covered. Run it from cron, e.g.
    weekly on Monday morning and monthly on the 1st (docs/plugins.md).
    """
    try:
        outcome = sending.run(frequency, dry_run=dry_run, report=click.echo)
    except sending.SendFailed as failed:
        raise click.ClickException(str(failed)) from None
    verb = "would be sent" if dry_run else "sent"
    dropped = (
        ""
        if dry_run
        else f", {outcome.dropped_unconfirmed} unconfirmed alert(s) past their link's week removed"
    )
    click.echo(
        f"{frequency}: {outcome.sent} digest(s) {verb}, {outcome.nothing_new} alert(s) with "
        f"nothing new, {outcome.skipped} skipped{dropped}."
    )


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(alerts_group)
