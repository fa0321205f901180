"""Cross-language query expansion from a curated vocabulary of the domain.

``kb/search/data/concepts.json`` lists concepts (refugee, work placement, rural area, ...)
with their terms in every content language. A query word or phrase that names a concept
is searched as typed *and* as the concept's terms in all the other languages; the backend
ranks those expanded matches below direct ones. The file is data: edit it, bump its
``version``, and run ``kb reindex`` only if you also changed the analysis.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from kb.search.analysis import ANALYZED_LANGUAGES, stem, stop_words, words
from kb.search.common import split_candidates
from kb.search.query import ParsedQuery, Unit

MAX_SPAN = 4
#: A compound whose two parts each name a concept (*flyktningfamilie*, *maahanmuuttajaperheet*)
#: is expanded to pairs of the concepts' terms, this many terms of each concept per language.
COMPOUND_TERMS = 3


@dataclass(frozen=True)
class Concept:
    id: str
    terms: dict[str, tuple[str, ...]]


@dataclass
class Requirement:
    """One part of the query that every hit must satisfy, directly or through expansion."""

    direct: list[Unit]
    #: Words that must all occur, not necessarily together (a span the vocabulary knows).
    loose: bool = False
    expanded: list[tuple[str, Unit]] = field(default_factory=list)


@dataclass
class QueryPlan:
    requirements: list[Requirement]
    excluded: list[Unit]


def _key(text_words: tuple[str, ...], language: str) -> tuple[str, ...]:
    stops = stop_words(language)
    return tuple(stem(w, language) for w in text_words if w not in stops)


class Vocabulary:
    def __init__(self, concepts: list[Concept], version: int) -> None:
        self.concepts = concepts
        self.version = version
        self._by_key: dict[tuple[str, tuple[str, ...]], set[int]] = {}
        for number, concept in enumerate(concepts):
            for language, terms in concept.terms.items():
                for term in terms:
                    key = _key(tuple(words(term)), language)
                    if key:
                        self._by_key.setdefault((language, key), set()).add(number)

    @classmethod
    def load(cls, path: Path | None = None) -> Vocabulary:
        if path is None:
            text = resources.files("kb.search").joinpath("data/concepts.json").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        data = json.loads(text)
        concepts = [
            Concept(id=c["id"], terms={k: tuple(v) for k, v in c["terms"].items()})
            for c in data["concepts"]
        ]
        return cls(concepts, int(data.get("version", 1)))

    def concepts_for(self, text_words: tuple[str, ...], language: str | None) -> set[int]:
        languages = (language,) if language else ANALYZED_LANGUAGES
        found: set[int] = set()
        for lang in languages:
            key = _key(text_words, lang)
            if key:
                found |= self._by_key.get((lang, key), set())
        return found

    def expansions(self, numbers: set[int], typed: tuple[str, ...]) -> list[tuple[str, Unit]]:
        """Every term of these concepts, in its own language, except what was typed."""
        seen = set()
        result = []
        for number in sorted(numbers):
            for language, terms in self.concepts[number].terms.items():
                for term in terms:
                    unit = Unit(tuple(words(term)))
                    if unit.words and unit.words != typed and (language, unit) not in seen:
                        seen.add((language, unit))
                        result.append((language, unit))
        return result

    def compound_expansions(self, word: str, language: str | None) -> list[tuple[str, Unit]]:
        """A compound no concept names, whose head and tail each name one: pairs of the two
        concepts' terms, in each language, both words required (*flyktningfamilie* ->
        "refugee family", "pakolainen perhe", ...). Empty when no split names two concepts."""
        for head, tail in split_candidates(word):
            heads = self.concepts_for((head,), language)
            tails = self.concepts_for((tail,), language) if heads else set()
            if heads and tails:
                return self._pairs(heads, tails)
        return []

    def _pairs(self, heads: set[int], tails: set[int]) -> list[tuple[str, Unit]]:
        result: list[tuple[str, Unit]] = []
        for language in ANALYZED_LANGUAGES:
            firsts = self._terms(heads, language)
            seconds = self._terms(tails, language)
            pairs = [
                (language, Unit(tuple(words(first)) + tuple(words(second))))
                for first in firsts
                for second in seconds
            ]
            result += pairs[: COMPOUND_TERMS**2]
        return result

    def _terms(self, numbers: set[int], language: str) -> list[str]:
        return [
            term
            for number in sorted(numbers)
            for term in self.concepts[number].terms.get(language, ())[:COMPOUND_TERMS]
        ]

    def plan(
        self, query: ParsedQuery, language: str | None, *, join_spans: bool = True
    ) -> QueryPlan:
        """Group the query into requirements, joining word runs that name one concept."""
        requirements: list[Requirement] = []
        clauses = query.clauses
        i = 0
        while i < len(clauses):
            span = self._longest_span(clauses, i, language) if join_spans else 1
            if span > 1:
                typed = tuple(c.alternatives[0].words[0] for c in clauses[i : i + span])
                requirements.append(
                    Requirement(
                        direct=[Unit(typed)],
                        loose=True,
                        expanded=self.expansions(self.concepts_for(typed, language), typed),
                    )
                )
                i += span
                continue
            clause = clauses[i]
            expanded: list[tuple[str, Unit]] = []
            for unit in clause.alternatives:
                named = self.concepts_for(unit.words, language)
                if named or len(unit.words) > 1:
                    expanded += self.expansions(named, unit.words)
                else:
                    expanded += self.compound_expansions(unit.words[0], language)
            requirements.append(Requirement(direct=list(clause.alternatives), expanded=expanded))
            i += 1
        return QueryPlan(requirements=requirements, excluded=list(query.excluded))

    def _longest_span(self, clauses: list, start: int, language: str | None) -> int:
        """How many single-word clauses from ``start`` form one concept term (1 if none)."""
        for length in range(min(MAX_SPAN, len(clauses) - start), 1, -1):
            part = clauses[start : start + length]
            if any(len(c.alternatives) != 1 or len(c.alternatives[0].words) != 1 for c in part):
                continue
            typed = tuple(c.alternatives[0].words[0] for c in part)
            if self.concepts_for(typed, language):
                return length
        return 1


@cache
def default_vocabulary() -> Vocabulary:
    return Vocabulary.load()
