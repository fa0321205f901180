"""How many pages a list has: one rule for the search page, the lists and the API's links."""

from __future__ import annotations


def page_count(total: int, per_page: int) -> int:
    """Pages needed for ``total`` items, ``per_page`` a page; an empty list is one empty page.

    Flask-SQLAlchemy's ``Pagination.pages`` says 0 for an empty list; a page number and a
    "last" link want 1 there, so the catalogue's pages take their count from here too.
    """
    return max(1, -(-total // per_page))
