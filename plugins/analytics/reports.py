"""What the editors' page and its CSV show, and pruning raw rows into monthly totals.

Both read the same ``report()``, so the download always equals the page. A row is one
(month, UI language, query, filters): its searches (first result pages shown), how many of
those found nothing, how many searches had a result opened, and the most results found.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qsl

from sqlalchemy import Select, case, delete, func, select, union_all

from kb import toolkit

from .recording import month_of
from .tables import GROUP, months, searches

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
#: Rows per list on the page (and in the CSV).
LIMIT = 100
DEFAULT_RETENTION_MONTHS = 13


@dataclass(frozen=True)
class Row:
    month: str
    language: str
    query: str
    filters: str
    searches: int
    zero_results: int
    opened: int
    results: int

    def search_params(self) -> dict[str, list[str]]:
        """The search's URL parameters, to link to it."""
        params: dict[str, list[str]] = {"q": [self.query]} if self.query else {}
        for name, value in parse_qsl(self.filters):
            params.setdefault(name, []).append(value)
        return params


@dataclass(frozen=True)
class Report:
    top: list[Row]
    zero: list[Row]
    unopened: list[Row]

    def lists(self) -> dict[str, list[Row]]:
        return {"top": self.top, "zero": self.zero, "unopened": self.unopened}


def _raw_totals() -> Select:
    """The raw rows counted the way ``analytics_month`` keeps them."""
    first_page = searches.c.page == 1
    return select(
        *(searches.c[name] for name in GROUP),
        func.sum(case((first_page, 1), else_=0)).label("searches"),
        func.sum(case((first_page & (searches.c.results == 0), 1), else_=0)).label("zero_results"),
        func.sum(case((searches.c.opens > 0, 1), else_=0)).label("opened"),
        func.max(searches.c.results).label("results"),
    ).group_by(*(searches.c[name] for name in GROUP))


def report(month: str | None = None, language: str | None = None) -> Report:
    """The three lists for one month and UI language (None: all of them)."""
    both = union_all(
        _raw_totals(),
        select(
            *(months.c[name] for name in GROUP),
            months.c.searches,
            months.c.zero_results,
            months.c.opened,
            months.c.results,
        ),
    ).subquery()
    wanted = select(
        *(both.c[name] for name in GROUP),
        func.sum(both.c.searches),
        func.sum(both.c.zero_results),
        func.sum(both.c.opened),
        func.max(both.c.results),
    ).group_by(*(both.c[name] for name in GROUP))
    if month:
        wanted = wanted.where(both.c.month == month)
    if language:
        wanted = wanted.where(both.c.language == language)
    with toolkit.data_reader() as connection:
        rows = [Row(*r[:4], *(int(v or 0) for v in r[4:])) for r in connection.execute(wanted)]
    by_searches = _most(rows, "searches")
    return Report(
        top=[r for r in by_searches if r.searches][:LIMIT],
        zero=[r for r in _most(rows, "zero_results") if r.zero_results][:LIMIT],
        unopened=[r for r in by_searches if r.searches and r.results and not r.opened][:LIMIT],
    )


def _most(rows: list[Row], count: str) -> list[Row]:
    """Largest ``count`` first; ties in a fixed order (month, language, query, filters)."""
    return sorted(rows, key=lambda r: (-getattr(r, count), r.month, r.language, r.query, r.filters))


def months_recorded() -> list[str]:
    """Every month with searches, newest first."""
    both = union_all(select(searches.c.month), select(months.c.month)).subquery()
    with toolkit.data_reader() as connection:
        return list(
            connection.scalars(select(both.c.month).distinct().order_by(both.c.month.desc()))
        )


def cutoff(today: date, retention_months: int) -> str:
    """The first month whose raw rows are kept."""
    index = today.year * 12 + today.month - 1 - retention_months
    return month_of(date(index // 12, index % 12 + 1, 1))


def prune(today: date, retention_months: int = DEFAULT_RETENTION_MONTHS) -> int:
    """Fold the raw rows of months before the retention period into monthly totals and delete
    them; returns how many were deleted. Running it again changes nothing."""
    first_kept = cutoff(today, retention_months)
    totals = _raw_totals().where(searches.c.month < first_kept)
    with toolkit.data_transaction() as connection:
        for row in connection.execute(totals).mappings().all():
            key = {name: row[name] for name in GROUP}
            where = [months.c[name] == value for name, value in key.items()]
            kept = connection.execute(select(months).where(*where)).mappings().first()
            counts = {n: int(row[n]) for n in ("searches", "zero_results", "opened", "results")}
            if kept is None:
                connection.execute(months.insert().values(**key, **counts))
            else:
                connection.execute(
                    months.update()
                    .where(*where)
                    .values(
                        searches=kept["searches"] + counts["searches"],
                        zero_results=kept["zero_results"] + counts["zero_results"],
                        opened=kept["opened"] + counts["opened"],
                        results=max(kept["results"], counts["results"]),
                    )
                )
        deleted = connection.execute(delete(searches).where(searches.c.month < first_kept))
    return deleted.rowcount
