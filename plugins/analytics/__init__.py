"""Search analytics for editors: what people look for, what they do not find, what they skip.

Each search on the search page is recorded (folded query text, page language, filters, number
of results, results page) with no personal data at all, and its result links count an opened
result. Editors see the top queries, the queries that found nothing and those whose results
nobody opened, by month and language, with a CSV download. Raw rows are kept for
``ANALYTICS_RETENTION_MONTHS`` (13) months; ``kb analytics prune`` folds older ones into
monthly totals. Tables: ``analytics_search``, ``analytics_month`` (migration branch
``analytics``).
"""

from __future__ import annotations

from datetime import date

import click
from flask import Blueprint, Flask, current_app
from flask.cli import with_appcontext

from kb import toolkit
from kb.toolkit import MenuLink, ResultLink, _l, hookimpl

from . import recording, reports
from .views import bp

RETENTION_SETTING = "ANALYTICS_RETENTION_MONTHS"


@hookimpl
def register_blueprints(app: Flask) -> list[Blueprint]:
    return [bp]


@hookimpl
def search_performed(
    search: toolkit.SearchRequest, results: toolkit.SearchResults, language: str
) -> ResultLink | None:
    token = recording.record(search, results, language)
    return None if token is None else ResultLink("plugin_analytics.opened", {"token": token})


@hookimpl
def menu_links(menu: str) -> list[MenuLink]:
    if menu == "editor":
        return [MenuLink(label=_l("Search analytics"), endpoint="plugin_analytics.report")]
    return []


def retention_months() -> int:
    return int(current_app.config.get(RETENTION_SETTING, reports.DEFAULT_RETENTION_MONTHS))


@click.group("analytics")
def analytics_group() -> None:
    """Search analytics (the analytics plugin)."""


@analytics_group.command("prune")
@click.option("--months", type=click.IntRange(min=1), help="Keep raw rows this many months.")
@with_appcontext
def prune_command(months: int | None) -> None:
    """Fold raw searches older than the retention period into monthly totals (safe to rerun)."""
    kept = months or retention_months()
    deleted = reports.prune(date.today(), kept)
    click.echo(
        f"{deleted} search(es) from before {reports.cutoff(date.today(), kept)} folded into "
        "monthly totals."
    )


@hookimpl
def register_commands(cli: click.Group) -> None:
    cli.add_command(analytics_group)
