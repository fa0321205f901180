"""Plan nodes (``kb.search.plan``) as SQL conditions over a case's ``tsvector``.

The vector holds the project's own analysed terms (``kb.search.postgres.vectors``): a
language's stem as ``<lang>:<stem>`` with the field as its weight (A title, B summary,
C body, D files), a folded word as itself. A term is therefore written into tsquery text
here, quoted, never analysed by PostgreSQL; every value reaches the statement as a bound
parameter. A node becomes one tsquery where it can (GIN finds the cases); "at least k of
these" becomes the tsquery of every k of them, or, when those are too many, a sum of
matches over the cases the tsquery of all of them finds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from itertools import combinations
from typing import Any

from kb.search import plan as p
from kb.search.plan import Node

#: A text field's weight label in the vector.
WEIGHTS = {"title": "A", "summary": "B", "body": "C", "files": "D"}
#: Ranked terms are weighed by their boost times their IDF (as BM25 does), then grouped
#: into this many weights, each half the one before (one ts_rank call a group: every call
#: is a pass over the case's vector). Measured on the relevance set: cross-language
#: nDCG@10 0.634 with fixed groups by boost alone, 0.675 with these.
RANK_GROUPS = 3
RANK_RATIO = 2.0
#: "At least k of n parts" is one tsquery while it has at most this many sets of k parts
#: (a query of n words relaxed to n - 1 has n).
MAX_COMBINATIONS = 20


def lexeme(field: str, term: str) -> str:
    """The lexeme a field's term is stored as: ``nb:arbeid`` in a title, summary or body,
    ``nb/arbeid`` in attached files, a folded word as itself."""
    name, language = p.split_field(field)
    if not name:
        return term
    return f"{language}/{term}" if name == "files" else f"{language}:{term}"


def quoted(value: str) -> str:
    """A lexeme as tsquery/tsvector text."""
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _item(field: str, term: str) -> str:
    """A term as a tsquery item. Unrestricted by weight: the planner asks for a stem in each
    of title, summary and body where the index has it, so the stem in any of them is the
    same set of cases, and GIN then needs no second look at each case's vector (a weight
    restriction makes it read every candidate's vector again)."""
    return quoted(lexeme(field, term))


def tsquery(node: Node) -> str | None:
    """The node as tsquery text, or None when a tsquery cannot say it."""
    if isinstance(node, p.Term):
        return _item(node.field, node.text)
    if isinstance(node, p.Prefix):
        return quoted(lexeme(p.text_field("body", node.language), node.stem)) + ":*"
    if isinstance(node, p.Phrase):
        return "( " + " <-> ".join(_item(node.field, w) for w in node.words) + " )"
    if isinstance(node, p.Boosting):
        return tsquery(node.required)
    if isinstance(node, p.Without):
        positive, negative = tsquery(node.positive), tsquery(node.negative)
        if positive is None or negative is None:
            return None
        return f"( {positive} ) & !( {negative} )"
    if isinstance(node, p.All | p.Any | p.Best):
        if isinstance(node, p.Any) and node.at_least > 1:
            return _at_least(node)
        if isinstance(node, p.All):
            parts = [tsquery(child) for child in node.parts]
            if any(part is None for part in parts):
                return None
            return " & ".join(f"( {part} )" for part in dict.fromkeys(parts))
        return _either(node.parts)
    return None  # EVERY, NOTHING


def _at_least(node: p.Any) -> str | None:
    """ "At least k of these parts" as the tsquery of every k of them (GIN answers it; a
    sum of matches is tested on each candidate's vector), when there are few such sets."""
    if not 0 < math.comb(len(node.parts), node.at_least) <= MAX_COMBINATIONS:
        return None  # too many sets, or more parts asked than there are
    parts = [tsquery(child) for child in node.parts]
    if any(part is None for part in parts):
        return None
    sets = combinations([f"( {part} )" for part in parts], node.at_least)
    return " | ".join("( " + " & ".join(chosen) + " )" for chosen in sets)


def _either(nodes: Iterable[Node]) -> str | None:
    """Alternatives as one tsquery, each lexeme once (a word asked in every field and
    language stays a short query: each item costs a lookup in every case's vector)."""
    items: list[str] = []
    for node in _flattened(nodes):
        text = tsquery(node)
        if text is None:
            return None
        items.append(text if isinstance(node, p.Term | p.Prefix) else f"( {text} )")
    return " | ".join(dict.fromkeys(items)) or None


def _flattened(nodes: Iterable[Node]) -> Iterator[Node]:
    """Alternatives within alternatives, as one list."""
    for node in nodes:
        if isinstance(node, p.Any | p.Best) and not (isinstance(node, p.Any) and node.at_least > 1):
            yield from _flattened(node.parts)
        else:
            yield node


class Conditions:
    """Builds the SQL conditions of one statement, collecting their parameters."""

    def __init__(self, params: dict[str, Any] | None = None, prefix: str = "q") -> None:
        self.params = {} if params is None else params
        self.prefix = prefix

    def param(self, value: Any) -> str:
        name = f"{self.prefix}{len(self.params)}"
        while name in self.params:
            name += "_"
        self.params[name] = value
        return name

    def match(self, node: Node, vector: str = "d.vector") -> str:
        """An SQL condition: the case (its ``vector``) matches the node."""
        if node is p.EVERY:
            return "TRUE"
        if node is p.NOTHING:
            return "FALSE"
        text = tsquery(node)
        if text is not None:
            return f"{vector} @@ CAST(:{self.param(text)} AS tsquery)"
        if isinstance(node, p.Without):
            negative = self.match(node.negative, vector)
            return f"({self.match(node.positive, vector)} AND NOT {negative})"
        if isinstance(node, p.Boosting):
            return self.match(node.required, vector)
        if isinstance(node, p.All):
            return "(" + " AND ".join(self.match(c, vector) for c in node.parts) + ")"
        if isinstance(node, p.Any) and node.at_least > 1:
            found = self.match(p.Any(node.parts), vector)
            matched = " + ".join(f"({self.match(c, vector)})::int" for c in node.parts)
            return f"({found} AND ({matched}) >= {node.at_least})"
        if isinstance(node, p.Any | p.Best):
            return "(" + " OR ".join(self.match(c, vector) for c in node.parts) + ")"
        raise TypeError(f"No SQL for {node!r}")


def ranked_terms(nodes: Iterable[Node]) -> list[tuple[str, str, float]]:
    """(field, term, boost) of every term that ranks the nodes' matches."""
    found = []
    for node in nodes:
        for leaf in p.leaves(node):
            texts = (leaf.text,) if isinstance(leaf, p.Term) else leaf.words
            found += [(leaf.field, text, leaf.boost) for text in texts]
    return found


def rank_groups(weights: dict[str, float]) -> list[tuple[float, str]]:
    """(weight, tsquery of its lexemes) to rank by, from each lexeme's weight: the field
    weights come from the vector's labels."""
    if not weights:
        return []
    top = max(weights.values()) or 1.0
    groups: dict[float, list[str]] = {}
    for key, weight in weights.items():
        step = 0
        while step < RANK_GROUPS - 1 and weight < top / RANK_RATIO ** (step + 0.5):
            step += 1
        groups.setdefault(top / RANK_RATIO**step, []).append(quoted(key))
    return [(weight, " | ".join(sorted(items))) for weight, items in sorted(groups.items())[::-1]]
