"""What a search returns: one set of cases behind the total, every facet count, the pages,
the exports, the feed and the API. Both backends follow these rules (docs/search.md).

The set is decided from the query alone, before filters, sort and paging: the cases that
match every word (directly or through the cross-language vocabulary) and, in each language
where fewer than ``RELAX_BELOW`` cases match every word, the cases of that language that
match some of the words (the backend's relaxations, loosest last, each taken whole) until
that language has that many. Filters then narrow that set, so a filter shows exactly the
count its facet value showed, and a page size never changes which cases are found.
Deciding per language keeps what a search within one language finds (a Swedish compound
split into its parts) even when other languages match the whole word through the
vocabulary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

#: Fewer cases than this match every word: those matching some of them are added.
RELAX_BELOW = 20
#: Fewer cases than this match every word: a "did you mean" is looked for.
SUGGEST_BELOW = 3
#: Facets whose values are ordered by value, newest first, rather than by count.
BY_VALUE_DESCENDING = frozenset({"year"})


def relaxations_taken(
    strict: Mapping[str, int], widen: Callable[[int, list[str]], Mapping[str, int] | None]
) -> dict[str, int]:
    """How many relaxations the result set takes in each language.

    ``strict`` counts, for every language of the index (0 where none), the cases that
    match every word, without filters. ``widen(step, languages)`` counts, in those
    languages (the ones still short of cases), the cases that match every word or one of
    the first ``step`` relaxations; ``None`` when there is no such relaxation.
    """
    sizes = dict(strict)
    taken = dict.fromkeys(sizes, 0)
    level = 0
    while growing := [lang for lang in sizes if taken[lang] == level and sizes[lang] < RELAX_BELOW]:
        following = widen(level + 1, growing)
        if following is None:
            break
        level += 1
        for lang in growing:
            taken[lang], sizes[lang] = level, following.get(lang, 0)
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
