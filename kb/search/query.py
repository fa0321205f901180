"""What the user typed, turned into a small query tree that any backend can execute.

The syntax is forgiving: words are ANDed, ``"quoted phrases"``, ``-word`` or ``NOT word``
excludes, ``OR`` (or ``|``) between two parts makes them alternatives. Anything else
(unbalanced quotes, ``title:``, ``*``, a lone ``-``, emoji) is read as plain words, so
every string gives a query or an empty one, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb.search.analysis import words

MAX_QUERY_CHARS = 500
MAX_UNITS = 24

# Operators in capitals, in English and the Nordic languages (a lowercase word is a word).
_OR = {"OR", "|", "||", "ELLER", "TAI", "EÐA"}
_AND = {"AND", "&", "&&", "+", "OG", "OCH", "JA"}
_NOT = {"NOT", "IKKE", "INTE", "EI", "EKKI"}
_TOKEN = re.compile(r'"[^"]*"|\S+')


@dataclass(frozen=True)
class Unit:
    """A word, or a phrase of several words that must stand together."""

    words: tuple[str, ...]

    @property
    def text(self) -> str:
        return " ".join(self.words)


@dataclass
class Clause:
    """Alternatives of which at least one must match (one item when there is no OR)."""

    alternatives: list[Unit]


@dataclass
class ParsedQuery:
    clauses: list[Clause] = field(default_factory=list)
    excluded: list[Unit] = field(default_factory=list)
    truncated: bool = False

    @property
    def is_empty(self) -> bool:
        return not self.clauses

    @property
    def units(self) -> list[Unit]:
        return [unit for clause in self.clauses for unit in clause.alternatives]


def parse(text: str) -> ParsedQuery:
    """Parse a user's query string; never raises."""
    query = ParsedQuery()
    text = (text or "")[: MAX_QUERY_CHARS * 4]
    if len(text) > MAX_QUERY_CHARS:
        text, query.truncated = text[:MAX_QUERY_CHARS], True
    pending_or = negate = False
    for raw in _TOKEN.findall(text):
        if raw in _OR:
            pending_or = bool(query.clauses)
            continue
        if raw in _AND:
            continue
        if raw in _NOT:
            negate = True
            continue
        if raw.startswith("-") and len(raw) > 1:
            negate, raw = True, raw[1:]
        unit = _unit(raw)
        if unit is None:
            continue
        if negate:
            query.excluded.append(unit)
        elif pending_or:
            query.clauses[-1].alternatives.append(unit)
        else:
            query.clauses.append(Clause([unit]))
        pending_or = negate = False
        if len(query.units) + len(query.excluded) >= MAX_UNITS:
            query.truncated = True
            break
    return query


def _unit(raw: str) -> Unit | None:
    found = tuple(words(raw.strip('"')))
    return Unit(found) if found else None
