"""The one walk of a search, for every backend: plan, decide the result set, select, answer.

``search`` plans the query (``kb.search.planner``), decides per language which partial
matches the result set takes (``kb.search.results``), asks the backend's ``Execution`` for
the filtered, counted and paged set, and chooses the "did you mean". A backend provides
only the primitives of ``Execution``: it never decides what a query means.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from kb.search import plan as p
from kb.search.analysis import fold
from kb.search.backend import SearchHit, SearchRequest, SearchResults
from kb.search.concepts import Vocabulary
from kb.search.highlight import Highlighter
from kb.search.plan import Node
from kb.search.planner import Lexicon, Planner
from kb.search.query import Unit, parse
from kb.search.results import facet_order, relaxations_taken, wants_suggestion

T = TypeVar("T")
#: A lexicon that answers in rounds (a database) is given this many before it answers
#: each remaining question at once.
ROUNDS = 4


@dataclass
class Selection:
    """The result set of one search, as plan nodes."""

    strict: Node
    direct: Node
    #: Each relaxation the set takes, with the languages that take it (in order).
    relaxed: list[tuple[Node, list[str]]] = field(default_factory=list)


@dataclass
class Selected:
    """What a backend found for a selection, within the request's filters."""

    total: int
    #: Of ``total``, the cases added by a relaxation.
    partial: int
    #: Facet -> value -> count (unordered).
    facets: dict[str, dict[str, int]]
    hits: list[SearchHit]


class Execution(Protocol):
    """One search's access to an index: the primitives a backend must provide."""

    lexicon: Lexicon

    def languages(self) -> list[str]:
        """The languages of the indexed cases."""

    def language_counts(self, nodes: Sequence[Node]) -> dict[str, int]:
        """Per language, the cases matching any of ``nodes`` (whole index, no filters)."""

    def select(self, selection: Selection, request: SearchRequest, marker: Highlighter) -> Selected:
        """Filter, count, facet, rank and page the selection; hits marked by ``marker``."""

    def spellings(self, word: str, limit: int) -> list[str]:
        """Indexed words within two edits of ``word``, the closest and most frequent first."""


def settled(lexicon: Lexicon, build: Callable[[], T]) -> T:
    """``build()`` once every question it asks the lexicon has its real answer: a lexicon
    that answers in rounds gives provisional answers and fetches the questions together."""
    result = build()
    complete = getattr(lexicon, "complete", None)  # fetches what was asked; True: nothing
    if complete is None:
        return result
    for _ in range(ROUNDS + 2):
        if complete():
            return result
        result = build()
    return result


def search(request: SearchRequest, vocabulary: Vocabulary, execution: Execution) -> SearchResults:
    """The result set of ``kb.search.results``: decided on the whole index (the query is
    analysed in every language, whatever the filters), then filtered and paged."""
    parsed = parse(request.q)
    planner = Planner(vocabulary, execution.lexicon)
    plan = settled(execution.lexicon, lambda: planner.search(parsed))
    selection = Selection(
        plan.strict, plan.direct, _relaxed(execution, plan.strict, plan.relaxations)
    )
    if selection.strict is p.NOTHING and not selection.relaxed:
        selected = Selected(0, 0, {}, [])
    else:
        selected = execution.select(selection, request, Highlighter(plan.marks))
    suggestion = None
    if plan.units and wants_suggestion(selected.total - selected.partial):
        suggestion = _suggestion(planner, execution, plan.units)
    return SearchResults(
        request=request,
        total=selected.total,
        hits=selected.hits,
        facets={name: facet_order(name, selected.facets.get(name, {})) for name in request.facets},
        suggestion=suggestion,
        notices=["truncated"] if plan.truncated else [],
        partial_total=selected.partial,
    )


def _relaxed(
    execution: Execution, strict: Node, relaxations: list[Node]
) -> list[tuple[Node, list[str]]]:
    """The relaxations the result set takes, each with the languages that take it,
    counted only as far as a language needs them."""
    if not relaxations:
        return []

    def widen(step: int, _languages: list[str]) -> dict[str, int] | None:
        if step > len(relaxations):
            return None
        return execution.language_counts([strict, *relaxations[:step]])

    every = dict.fromkeys(execution.languages(), 0)
    taken = relaxations_taken({**every, **execution.language_counts([strict])}, widen)
    return [
        (node, sorted(lang for lang, n in taken.items() if n >= number))
        for number, node in enumerate(relaxations[: max(taken.values(), default=0)], 1)
    ]


def _suggestion(planner: Planner, execution: Execution, units: list[Unit]) -> str | None:
    """A "did you mean" for the words the index does not know (the others kept)."""
    typed = [word for unit in units for word in unit.words]
    unknown = settled(planner.lexicon, lambda: [planner.unknown(word) for word in typed])
    changed = False
    corrected = []
    for word, is_unknown in zip(typed, unknown, strict=True):
        options = execution.spellings(word, 1) if is_unknown else []
        if options and fold(options[0]) != fold(word):
            corrected.append(options[0])
            changed = True
        else:
            corrected.append(word)
    return " ".join(corrected) if changed else None
