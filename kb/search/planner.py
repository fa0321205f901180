"""The one search planner: from what a user typed to a plan every backend executes alike.

It analyses the query in every language (the project's stems, ``kb.search.analysis``),
expands the concepts it names with weights by how specific they are, splits compounds
against the index's own words, builds the looser queries of the result set (partial
matches), chooses the words of a "did you mean" and the features of "related cases".
The index is asked only through ``Lexicon``: how many cases have a term, which terms
start with a prefix, how many cases a plan matches, which words are spelt alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from kb.search import plan as p
from kb.search.analysis import ANALYZED_LANGUAGES, fold, stem, stop_words, words
from kb.search.common import (
    COMPOUND_BOOST,
    EXPANDED_BOOST,
    MIN_PREFIX,
    NO_SPLIT,
    PREFIX_BOOST,
    specificity,
    split_candidates,
)
from kb.search.concepts import MAX_SPAN, QueryPlan, Requirement, Vocabulary
from kb.search.plan import NEUTRAL_FIELD, PHRASE_FIELDS, TEXT_FIELDS, Node, text_field
from kb.search.query import ParsedQuery, Unit

#: A word also finds at most this many longer indexed words it starts, per field.
MAX_PREFIX_TERMS = 30
#: A compound's head counts the cases of at most this many words it starts, per field.
PREFIX_SCAN = 500
#: "More like this" (related cases): a case's most distinctive words by tf-idf within its
#: language, at most RELATED_WORDS (a word must occur twice, once in a title or summary is
#: enough, and have RELATED_MIN_STEM letters, unless it names a concept); the terms in every
#: language of the first RELATED_CONCEPTS concepts named; the case's themes and target groups.
RELATED_FIELDS = ("title", "summary", "body")
RELATED_WORDS = 24
RELATED_CONCEPTS = 8
RELATED_MIN_COUNT = 2.0
RELATED_MIN_STEM = 4
RELATED_EXPANDED_BOOST = 0.5
RELATED_FACETS = ("theme", "target_group")
RELATED_FACET_BOOST = 0.5
#: A tie-break, not a reason to be related: a related case's score is multiplied by
#: 1 + RELATED_PROFILE_BOOST for each part of the municipality's profile (population band,
#: urban-rural type) it shares, so of two cases about as like this one (within 5 to 10 %),
#: the one from a municipality like its own comes first.
RELATED_PROFILE_BOOST = 0.05

T = TypeVar("T")
_MISSING = object()


class Lexicon(Protocol):
    """What the planner asks of an index (answers may be remembered for one search)."""

    def frequency(self, field: str, term: str) -> int:
        """In how many cases ``field`` holds ``term``."""

    def prefix_terms(self, field: str, prefix: str, limit: int) -> tuple[str, ...]:
        """The first ``limit`` terms of ``field`` that start with ``prefix`` (itself too),
        in code point order."""

    def prefix_frequency(self, field: str, prefix: str, limit: int) -> int:
        """The cases of the first ``limit`` terms starting with ``prefix``, summed."""

    def cases(self, language: str | None = None) -> int:
        """How many cases the index holds (of one language)."""

    def count(self, node: Node) -> int:
        """How many cases match ``node``."""


@dataclass
class SearchPlan:
    """What one query means, for every backend."""

    #: Cases matching every word (directly or through the vocabulary), excluded words out.
    strict: Node
    #: Of those, the direct hits (no word found only through the vocabulary).
    direct: Node
    #: Ever looser queries for the partial matches, loosest last (``kb.search.results``).
    relaxations: list[Node]
    #: Per language, the stems a reader sees marked in a shown case.
    marks: dict[str, set[str]] = field(default_factory=dict)
    #: The words typed (for a "did you mean").
    units: list[Unit] = field(default_factory=list)
    truncated: bool = False


class Planner:
    """Plans searches over one index (its ``Lexicon``) with one vocabulary."""

    def __init__(self, vocabulary: Vocabulary, lexicon: Lexicon) -> None:
        self.vocabulary = vocabulary
        self.lexicon = lexicon
        self.languages = ANALYZED_LANGUAGES
        self._marking = True
        #: The nodes of words, units and compounds this search has built: its strict query,
        #: its direct hits and each relaxation ask for the same ones (a two-word search
        #: built each word in each language about eight times, asking the index each time).
        #: Kept for one ``search`` call, so a lexicon that answers in rounds
        #: (``searching.settled``) gets its questions asked again in the next round.
        self._built: dict[tuple, Any] = {}

    # -- a search -------------------------------------------------------------------------

    def search(self, parsed: ParsedQuery) -> SearchPlan:
        self._built = {}
        excluded = p.any_of([self.any_language(u) for u in parsed.excluded])
        if parsed.is_empty:
            everything = p.without(p.EVERY, excluded)
            return SearchPlan(everything, everything, [], truncated=parsed.truncated)
        plan = self.vocabulary.plan(parsed, None)
        word_plan = self.vocabulary.plan(parsed, None, join_spans=False)
        strict = p.without(p.all_of(self.parts(plan, expanded=True)), excluded)
        direct = p.without(p.all_of(self.parts(plan, expanded=False)), excluded)
        relaxations = [p.without(q, excluded) for q in self.relaxations(plan, word_plan)]
        return SearchPlan(
            strict=strict,
            direct=direct,
            relaxations=relaxations,
            marks=marks([strict, *relaxations]),
            units=parsed.units,
            truncated=parsed.truncated,
        )

    def _remembered(self, key: tuple, build: Callable[[], T]) -> T:
        """``build()``, once per search for each ``key``."""
        found = self._built.get(key, _MISSING)
        if found is _MISSING:
            found = self._built[key] = build()
        return found

    @contextmanager
    def _not_marked(self) -> Iterator[None]:
        self._marking = False
        try:
            yield
        finally:
            self._marking = True

    def parts(self, plan: QueryPlan, *, expanded: bool) -> list[Node]:
        """One query per requirement; requirements of stop words only are left out."""
        kept = [r for r in plan.requirements if self._has_content(r)] or plan.requirements
        return [self._requirement(r, expanded=expanded) for r in kept]

    def relaxations(self, plan: QueryPlan, word_plan: QueryPlan) -> list[Node]:
        """Ever looser queries for when too few cases match every word, loosest last.

        Across languages a word the vocabulary cannot translate cannot match in other
        languages, so first the translatable requirements must all match and the others
        only raise the score; then all requirements but one; then all words but one, or
        for a single compound word one of its parts.
        """
        queries: list[Node] = []
        kept = [r for r in plan.requirements if self._has_content(r)]
        translatable = [r for r in kept if r.expanded]
        if len(self.languages) > 1 and translatable and len(translatable) < len(kept):
            core = p.all_of([self._requirement(r, expanded=True) for r in translatable])
            others = p.any_of([self._requirement(r, expanded=True) for r in kept if not r.expanded])
            if core is not p.NOTHING:
                queries.append(core if others is p.NOTHING else p.Boosting(core, others))
        for each in (plan, word_plan):
            parts = self.parts(each, expanded=True)
            if len(parts) > 1:
                queries.append(p.any_of(parts, at_least=max(1, len(parts) - 1)))
        typed = [u.words[0] for r in word_plan.requirements for u in r.direct if len(u.words) == 1]
        if len(typed) == 1:
            pieces = p.any_of(
                [
                    self._word(part, language, COMPOUND_BOOST, prefix=True)
                    for language in self.languages
                    for part in self._split(typed[0], language)
                ]
            )
            if pieces is not p.NOTHING:
                queries.append(pieces)
        return queries

    def any_language(self, unit: Unit) -> Node:
        """The unit in any language (for exclusions)."""
        with self._not_marked():
            options = [self._neutral(unit, loose=False)]
            options += [self._unit(unit, language, loose=False) for language in ANALYZED_LANGUAGES]
        return p.any_of(options)

    def _has_content(self, requirement: Requirement) -> bool:
        return any(_stems(u, lang) for u in requirement.direct for lang in self.languages)

    def _requirement(self, requirement: Requirement, *, expanded: bool) -> Node:
        key = (
            "requirement",
            tuple(requirement.direct),
            requirement.loose,
            tuple(requirement.expanded),
            expanded,
            self._marking,
        )
        return self._remembered(key, lambda: self._requirement_node(requirement, expanded))

    def _requirement_node(self, requirement: Requirement, expanded: bool) -> Node:
        options: list[Node] = []
        for unit in requirement.direct:
            for language in self.languages:
                options.append(self._unit(unit, language, loose=requirement.loose))
                if len(unit.words) == 1:
                    options += self._compound_parts(unit.words[0], language)
            options.append(self._neutral(unit, loose=requirement.loose))
        if expanded and requirement.expanded:
            boost = EXPANDED_BOOST * self._specificity(requirement)
            for language, unit in requirement.expanded:
                if len(unit.words) == 1:
                    options.append(self._unit(unit, language, loose=True, boost=boost))
                    continue
                # The words of a multi-word term need not stand together: none is marked.
                with self._not_marked():
                    options.append(self._unit(unit, language, loose=True, boost=boost))
        return p.any_of(options)

    def _specificity(self, requirement: Requirement) -> float:
        """``specificity`` of a requirement's concepts, from the cases their terms match."""
        key = ("specificity", tuple(requirement.expanded))
        return self._remembered(key, lambda: self._specificity_of(requirement))

    def _specificity_of(self, requirement: Requirement) -> float:
        with self._not_marked():
            terms = p.any_of([self._unit(u, lang, loose=True) for lang, u in requirement.expanded])
        if terms is p.NOTHING:
            return 1.0
        return specificity(self.lexicon.count(terms), self.lexicon.cases())

    # -- terms, pruned to what the index holds ---------------------------------------------

    def _exists(self, field_name: str, text: str) -> bool:
        return self.lexicon.frequency(field_name, text) > 0

    def _word(self, word_stem: str, language: str, boost: float, prefix: bool) -> Node:
        key = ("word", word_stem, language, boost, prefix, self._marking)
        return self._remembered(key, lambda: self._word_node(word_stem, language, boost, prefix))

    def _word_node(self, word_stem: str, language: str, boost: float, prefix: bool) -> Node:
        marked = self._marking
        queries: list[Node] = [
            p.Term(text_field(name, language), word_stem, boost, marked)
            for name in TEXT_FIELDS
            if self._exists(text_field(name, language), word_stem)
        ]
        if prefix and len(word_stem) >= MIN_PREFIX:
            # Compounds: "arbeid" also finds "arbeidsmarkedet", "flygtning" "flygtningebaggrund"
            # (in titles, summaries and bodies, each word in all three alike). The word
            # itself is among them: typed in full it weighs 1 + PREFIX_BOOST.
            lists = [
                self.lexicon.prefix_terms(text_field(name, language), word_stem, MAX_PREFIX_TERMS)
                for name in PHRASE_FIELDS
            ]
            longer = tuple(dict.fromkeys(term for found in lists for term in found))
            prefixed = p.Prefix(language, word_stem, longer, boost * PREFIX_BOOST, marked)
            if longer and all(len(found) < MAX_PREFIX_TERMS for found in lists):
                queries.append(prefixed)  # all of them
            else:
                queries += prefixed.expanded()
        return p.any_of(queries)

    def _unit(self, unit: Unit, language: str, *, loose: bool, boost: float = 1.0) -> Node:
        key = ("unit", unit, language, loose, boost, self._marking)
        return self._remembered(key, lambda: self._unit_node(unit, language, loose, boost))

    def _unit_node(self, unit: Unit, language: str, loose: bool, boost: float) -> Node:
        stems = _stems(unit, language)
        if not stems:
            return p.NOTHING
        if len(stems) == 1:
            return self._word(stems[0], language, boost, prefix=boost == 1.0)
        if loose:
            return p.all_of([self._word(s, language, boost, prefix=False) for s in stems])
        return p.any_of(
            [
                p.Phrase(text_field(name, language), tuple(stems), boost, self._marking)
                for name in PHRASE_FIELDS
                if all(self._exists(text_field(name, language), s) for s in stems)
            ]
        )

    def _neutral(self, unit: Unit, *, loose: bool) -> Node:
        folded = [fold(w) for w in unit.words]
        if not all(self._exists(NEUTRAL_FIELD, w) for w in folded):
            return p.NOTHING
        if len(folded) == 1:
            return p.Term(NEUTRAL_FIELD, folded[0], marked=False)
        if loose:
            return p.All(tuple(p.Term(NEUTRAL_FIELD, w, marked=False) for w in folded))
        return p.Phrase(NEUTRAL_FIELD, tuple(folded), marked=False)

    def _known(self, word_stem: str, language: str, *, as_prefix: bool = False) -> int:
        """In how many documents the stem occurs (as a word, or starting words)."""
        total = 0
        for name in ("title", "summary", "body"):
            field_name = text_field(name, language)
            if as_prefix:
                total += self.lexicon.prefix_frequency(field_name, word_stem, PREFIX_SCAN)
            else:
                total += self.lexicon.frequency(field_name, word_stem)
        return total

    def _compound_parts(self, word: str, language: str) -> list[Node]:
        """A compound typed as one word also matches its parts written apart:
        "glesbygdskommuner" finds "kommuner i glesbygden", "danskundervisning"
        "undervisning i dansk". Parts must be words the index knows (in this language)."""
        parts = self._split(word, language)
        if not parts:
            return []
        return [
            p.all_of([self._word(part, language, COMPOUND_BOOST, prefix=True) for part in parts])
        ]

    def _split(self, word: str, language: str) -> tuple[str, ...]:
        """The stems of the two known words a compound is made of, or ``()``."""
        return self._remembered(("split", word, language), lambda: self._split_of(word, language))

    def _split_of(self, word: str, language: str) -> tuple[str, ...]:
        if language in NO_SPLIT:
            return ()
        best: tuple[int, str, str] | None = None
        for head, tail in split_candidates(word):
            tail_stem = stem(tail, language)
            tail_df = self._known(tail_stem, language)
            if not tail_df:
                continue
            head_stem = stem(head, language)
            score = min(self._known(head_stem, language, as_prefix=True), tail_df)
            if score and (best is None or score > best[0]):
                best = (score, head_stem, tail_stem)
        return best[1:] if best else ()

    # -- did you mean ------------------------------------------------------------------------

    def unknown(self, word: str) -> bool:
        """Whether a typed word is worth correcting: the index has it in no language."""
        if len(word) < 4 or word.isdigit():
            return False
        if self.lexicon.frequency(NEUTRAL_FIELD, fold(word)) > 0:
            return False
        return not any(
            self.lexicon.frequency(text_field("body", lang), stem(word, lang)) > 0
            for lang in ANALYZED_LANGUAGES
        )

    # -- related cases ---------------------------------------------------------------------

    def like(self, texts: dict[str, str], language: str) -> Node:
        """A case's most distinctive words (tf-idf within its language); those that name a
        concept also as the concept's terms, so cases in other languages match too."""
        features: dict[tuple[str, ...], _Feature] = {}
        stops = stop_words(language)
        for name in RELATED_FIELDS:
            tokens = words(texts.get(name) or "")
            stems = [None if w in stops else stem(w, language) for w in tokens]
            for start in range(len(tokens)):
                for end in range(start + 1, min(start + MAX_SPAN, len(tokens)) + 1):
                    key = tuple(s for s in stems[start:end] if s)
                    # A run of words counts only as a concept's term, beside its own words.
                    if not key or (end - start > 1 and len(key) < 2):
                        continue
                    span = Unit(tuple(tokens[start:end]))
                    concepts = self.vocabulary.concepts_for(span.words, language)
                    if end - start == 1 or concepts:
                        feature = features.setdefault(key, _Feature(span))
                        feature.count += TEXT_FIELDS[name]
                        feature.concepts |= concepts
        cases = self.lexicon.cases(language) + 1
        body = text_field("body", language)
        weights: dict[tuple[str, ...], float] = {}
        for key, feature in features.items():
            # Short stems are mostly function words the stop lists miss ("sid", "fa").
            joined = "".join(key)
            if not feature.concepts and (
                feature.count < RELATED_MIN_COUNT
                or len(joined) < RELATED_MIN_STEM
                or joined.isdigit()
            ):
                continue
            df = min(self.lexicon.frequency(body, s) for s in key)
            if df > 1 or feature.concepts:
                weights[key] = (1 + math.log(feature.count)) * math.log(cases / max(df, 1))
        chosen = sorted(weights, key=lambda k: -weights[k])[:RELATED_WORDS]
        if not chosen:
            return p.NOTHING
        top = weights[chosen[0]] or 1.0
        queries: list[Node] = []
        seen: set[int] = set()
        for key in chosen:
            boost, feature = weights[key] / top, features[key]
            queries.append(self._in_body(language, key, boost))
            new = feature.concepts - seen
            if new and len(seen) < RELATED_CONCEPTS:
                seen |= new
                expanded = self.vocabulary.expansions(new, feature.typed.words)
                terms = {(other, tuple(_stems(unit, other))) for other, unit in expanded}
                options = [
                    self._in_body(other, stems, boost * RELATED_EXPANDED_BOOST)
                    for other, stems in sorted(terms - {(language, key)})
                    if stems
                ]
                # A concept counts once, however many of its terms a case uses.
                queries.append(p.best_of(options))
        return p.any_of(queries)

    def _in_body(self, language: str, stems: tuple[str, ...], boost: float) -> Node:
        """A word's stem or a phrase's stems in the bodies of one language (where nearly
        all of a case's words are: one field keeps the query small)."""
        name = text_field("body", language)
        if not all(self._exists(name, s) for s in stems):
            return p.NOTHING
        if len(stems) == 1:
            return p.Term(name, stems[0], boost)
        return p.Phrase(name, stems, boost)


@dataclass
class _Feature:
    """A word (its stem) or a concept's term in a case: as first written, how often
    (weighted by field), and the concepts it names."""

    typed: Unit
    count: float = 0.0
    concepts: set[int] = field(default_factory=set)


def _stems(unit: Unit, language: str) -> list[str]:
    stops = stop_words(language)
    return [stem(w, language) for w in unit.words if w not in stops]


def marks(nodes: list[Node]) -> dict[str, set[str]]:
    """The stems to mark per language: the words typed, their compounds and one-word
    concept terms; not the words of a multi-word concept term, nor excluded words."""
    found: dict[str, set[str]] = {}
    for node in nodes:
        for leaf in p.leaves(node):
            name, language = p.split_field(leaf.field)
            if leaf.marked and name:
                texts = (leaf.text,) if isinstance(leaf, p.Term) else leaf.words
                found.setdefault(language, set()).update(texts)
    return found
