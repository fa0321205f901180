"""A search plan: what a query means, as a small tree that every backend can execute.

The planner (``kb.search.planner``) builds these trees from the query and the index's own
words; a backend only turns them into its engine's terms (Whoosh queries, a tsquery). Fields
are named as the analysis names them: ``title_<lang>``, ``summary_<lang>``, ``body_<lang>``,
``files_<lang>`` hold a language's stems, ``text_all`` every word folded, and a facet's name
its values. ``boost`` is what the planner weighs a leaf by; each backend adds its own field
weights (BM25F boosts, ts_rank's A-D weights).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Union

#: The field of every word folded, neither stemmed nor left out (names, other languages).
NEUTRAL_FIELD = "text_all"
#: Per-language text fields and their weight: titles and summaries count more than bodies.
TEXT_FIELDS = {"title": 4.0, "summary": 2.0, "body": 1.0, "files": 0.5}
#: Text fields whose words are indexed with positions, so phrases can be asked of them.
PHRASE_FIELDS = ("title", "summary", "body")


def text_field(name: str, language: str) -> str:
    return f"{name}_{language}"


def split_field(field: str) -> tuple[str, str]:
    """("body", "nb") of "body_nb"; ("", field) for a field of no language."""
    name, _, language = field.rpartition("_")
    return (name, language) if name in TEXT_FIELDS else ("", field)


@dataclass(frozen=True)
class Term:
    """One indexed term of one field. ``marked``: a reader sees it highlighted."""

    field: str
    text: str
    boost: float = 1.0
    marked: bool = True


@dataclass(frozen=True)
class Phrase:
    """Terms standing next to each other in one field."""

    field: str
    words: tuple[str, ...]
    boost: float = 1.0
    marked: bool = True


@dataclass(frozen=True)
class Prefix:
    """Every term of a language's titles, summaries and bodies that starts with ``stem``:
    ``terms``, all of them (an engine may ask for the prefix itself)."""

    language: str
    stem: str
    terms: tuple[str, ...]
    boost: float = 1.0
    marked: bool = True

    def expanded(self) -> tuple[Term, ...]:
        return tuple(
            Term(text_field(name, self.language), term, self.boost, self.marked)
            for name in PHRASE_FIELDS
            for term in self.terms
        )


@dataclass(frozen=True)
class All:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Any:
    """At least ``at_least`` of the parts (scores add up)."""

    parts: tuple[Node, ...]
    at_least: int = 1


@dataclass(frozen=True)
class Best:
    """Any of the parts, scored by the best of them (a concept counts once)."""

    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Boosting:
    """``required`` must match; ``optional`` only adds to the score."""

    required: Node
    optional: Node


@dataclass(frozen=True)
class Without:
    """``positive`` and not ``negative``."""

    positive: Node
    negative: Node


@dataclass(frozen=True)
class _Constant:
    name: str


#: Every case / no case.
EVERY = _Constant("every")
NOTHING = _Constant("nothing")

Node = Union[Term, Phrase, Prefix, All, Any, Best, Boosting, Without, _Constant]  # noqa: UP007


def any_of(parts: Sequence[Node], at_least: int = 1) -> Node:
    kept = tuple(p for p in parts if p is not NOTHING)
    if not kept:
        return NOTHING
    return kept[0] if len(kept) == 1 and at_least <= 1 else Any(kept, at_least)


def all_of(parts: Sequence[Node]) -> Node:
    if not parts or any(p is NOTHING for p in parts):
        return NOTHING
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def best_of(parts: Sequence[Node]) -> Node:
    kept = tuple(p for p in parts if p is not NOTHING)
    if not kept:
        return NOTHING
    return kept[0] if len(kept) == 1 else Best(kept)


def without(positive: Node, negative: Node) -> Node:
    return positive if negative is NOTHING else Without(positive, negative)


def children(node: Node) -> tuple[Node, ...]:
    if isinstance(node, All | Any | Best):
        return node.parts
    if isinstance(node, Boosting):
        return (node.required, node.optional)
    if isinstance(node, Without):
        return (node.positive,)  # an excluded word is never a match to mark or rank
    return ()


def leaves(node: Node) -> Iterator[Term | Phrase]:
    """The terms and phrases that can make a case match (or score) this node."""
    if isinstance(node, Term | Phrase):
        yield node
    if isinstance(node, Prefix):
        yield from node.expanded()
    for child in children(node):
        yield from leaves(child)
