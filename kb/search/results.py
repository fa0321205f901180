"""What a search returns: one set of cases behind the total, every facet count, the pages,
the exports, the feed and the API. Both backends follow these rules (docs/search.md).

The set is decided from the query alone, before filters, sort and paging: the cases that
match every word (directly or through the cross-language vocabulary) and, when fewer than
``RELAX_BELOW`` of those exist in the whole index, the cases that match some of the words
(the backend's relaxations, loosest last, each taken whole) until there are that many.
Filters then narrow that set, so a filter shows exactly the count its facet value showed,
and a page size never changes which cases are found.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

#: Fewer cases than this match every word: those matching some of them are added.
RELAX_BELOW = 20
#: Fewer cases than this match every word: a "did you mean" is looked for.
SUGGEST_BELOW = 3
#: Facets whose values are ordered by value, newest first, rather than by count.
BY_VALUE_DESCENDING = frozenset({"year"})


def relaxations_taken(strict: int, widened: Iterator[int]) -> int:
    """How many relaxations the result set takes.

    ``strict`` is how many cases match every word (no filters); ``widened`` yields, one
    relaxation at a time and only when asked, how many cases the set holds with it added.
    """
    taken, size = 0, strict
    while size < RELAX_BELOW:
        following = next(widened, None)
        if following is None:
            break
        taken, size = taken + 1, following
    return taken


def wants_suggestion(strict: int) -> bool:
    """Whether to look for a "did you mean": few cases match every word (cases matching
    only some of them do not count, so a misspelt word is still corrected)."""
    return strict < SUGGEST_BELOW


def facet_order(name: str, counts: Mapping[str, int]) -> dict[str, int]:
    """A facet's values as shown: years newest first, other facets the most frequent
    first (then by value, so equal counts keep one order); empty values left out."""
    kept = {value: n for value, n in counts.items() if value not in (None, "") and n > 0}
    if name in BY_VALUE_DESCENDING:
        return dict(sorted(kept.items(), key=lambda item: _numeric(item[0]), reverse=True))
    return dict(sorted(kept.items(), key=lambda item: (-item[1], item[0])))


def _numeric(value: str) -> tuple[int, str]:
    return (int(value), value) if value.lstrip("-").isdigit() else (0, value)
