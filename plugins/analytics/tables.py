"""The plugin's two tables, as its migration ``analytics_0001`` creates them.

``analytics_search`` holds one row per search page shown, for the retention period; nothing
in it points to a person: no IP address, account, cookie, user agent or time of day (only the
month). ``token`` is a random name for the search itself, carried by its result links so an
opened result can be counted. ``analytics_month`` keeps the monthly totals of pruned months.
"""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table

metadata = MetaData()

#: The columns a search is grouped by, in reports and in the monthly totals.
GROUP = ("month", "language", "query", "filters")


def _group_columns(primary: bool) -> list[Column[str]]:
    return [
        Column("month", String(7), nullable=False, primary_key=primary, index=not primary),
        Column("language", String(8), nullable=False, primary_key=primary),
        Column("query", String(200), nullable=False, primary_key=primary),
        Column("filters", String(500), nullable=False, primary_key=primary),
    ]


searches = Table(
    "analytics_search",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("token", String(16), nullable=False, unique=True),
    *_group_columns(primary=False),
    Column("results", Integer, nullable=False),
    Column("page", Integer, nullable=False),
    Column("opens", Integer, nullable=False, server_default="0"),
)

months = Table(
    "analytics_month",
    metadata,
    *_group_columns(primary=True),
    Column("searches", Integer, nullable=False),
    Column("zero_results", Integer, nullable=False),
    Column("opened", Integer, nullable=False),
    Column("results", Integer, nullable=False),
)
