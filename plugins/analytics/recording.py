"""Recording a search and the opening of one of its results, without personal data.

Called in the search request, so it is one short INSERT in a transaction of its own, and
every failure (a missing table, a locked database) is logged and dropped: statistics are
never worth a failed search.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import date
from urllib.parse import urlencode

from sqlalchemy import update

from kb import toolkit

from .tables import searches

log = logging.getLogger(__name__)

#: Long enough to be unguessable for the life of a results page, short enough for a URL.
TOKEN_BYTES = 6
TOKEN = re.compile(r"[A-Za-z0-9_-]{8}")
QUERY_LENGTH = searches.c.query.type.length
FILTERS_LENGTH = searches.c.filters.type.length
#: Built once: the row comes as parameters, so SQLAlchemy compiles the statement once and
#: finds it in its cache by identity (a ``.values(**row)`` statement is built and keyed anew
#: on every search).
INSERT = searches.insert()


def month_of(day: date) -> str:
    return day.strftime("%Y-%m")


def normalised(query: str) -> str:
    """The words as the search reads them: folded, lowercased, single spaces."""
    return " ".join(toolkit.fold(query).split())[:QUERY_LENGTH]


def filters_text(search: toolkit.SearchRequest) -> str:
    """The filters as URL parameters in a fixed order (``country=NO&theme=health``)."""
    pairs = sorted((name, value) for name, values in search.filters.items() for value in values)
    return urlencode(pairs)[:FILTERS_LENGTH]


def record(
    search: toolkit.SearchRequest, results: toolkit.SearchResults, language: str
) -> str | None:
    """Store one search; its token, or None when it could not be stored (logged)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = {
        "token": token,
        "month": month_of(date.today()),
        "language": language[:8],
        "query": normalised(search.q),
        "filters": filters_text(search),
        "results": results.total,
        "page": search.page,
        "opens": 0,
    }
    try:
        # A search's statistics are not worth waiting for the disk.
        with toolkit.data_transaction(durable=False) as connection:
            connection.execute(INSERT, row)
    except Exception:
        log.exception("Search analytics: the search could not be recorded (dropped)")
        return None
    return token


def opened(token: str) -> None:
    """Count a result opened from the search named ``token`` (unknown tokens change nothing)."""
    if not TOKEN.fullmatch(token):
        return
    try:
        with toolkit.data_transaction(durable=False) as connection:
            connection.execute(
                update(searches).where(searches.c.token == token).values(opens=searches.c.opens + 1)
            )
    except Exception:
        log.exception("Search analytics: an opened result could not be recorded (dropped)")
