"""From a query plan (``kb.search.concepts``) to PostgreSQL tsqueries.

The user's words reach PostgreSQL only as bound parameters of ``plainto_tsquery``,
``phraseto_tsquery`` and ``to_tsquery(quote_literal(word) || ':*')``, each in one text
search configuration: PostgreSQL analyses every "leaf" of the query. The leaves are
fetched in one round trip (and remembered), then joined with ``&``, ``|`` and ``!`` into
the several queries a search needs (all words, direct words only, relaxations, ranking,
highlighting): joining tsquery text that PostgreSQL itself produced, in parentheses, is
safe and avoids repeating the analysis in each of them.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import combinations

from sqlalchemy import Connection, text

from kb.search.analysis import ANALYZED_LANGUAGES, stop_words
from kb.search.common import EXPANDED_BOOST, MIN_PREFIX, NO_SPLIT, split_candidates
from kb.search.concepts import QueryPlan, Requirement
from kb.search.postgres.schema import SCHEMA, SIMPLE, config_for, prepare
from kb.search.query import Unit

#: Relaxing "all words but one" is spelled out as alternatives; beyond this many parts
#: the query would grow too large, and the relaxation is skipped.
MAX_RELAXED_PARTS = 6
#: Leaves each process remembers (the analysis of a word changes only with a migration).
LEAF_CACHE_SIZE = 50_000
#: A head's document frequency is summed over at most this many lexemes it starts.
PREFIX_SCAN = 500

_PREFIX = re.compile(r"'((?:[^'\\]|''|\\.)*)':\*")

_LEAVES = text(
    """
    SELECT x.i, CAST(CASE
        WHEN x.t = '' THEN NULL
        WHEN x.kind = 'plain' THEN plainto_tsquery(CAST(x.cfg AS regconfig), x.t)
        WHEN x.kind = 'phrase' THEN phraseto_tsquery(CAST(x.cfg AS regconfig), x.t)
        ELSE to_tsquery(CAST(x.cfg AS regconfig), quote_literal(x.t) || ':*')
    END AS text)
    FROM unnest(CAST(:kinds AS text[]), CAST(:cfgs AS text[]), CAST(:texts AS text[]))
        WITH ORDINALITY AS x(kind, cfg, t, i)
    """
)

_SPLITS = text(
    f"""
    SELECT x.i, h.lexeme, t.lexeme,
        (SELECT l.ndoc FROM {SCHEMA}.lexemes AS l
          WHERE l.language = x.lang AND l.lexeme = t.lexeme),
        (SELECT sum(p.ndoc) FROM (
            SELECT l.ndoc FROM {SCHEMA}.lexemes AS l
             WHERE l.language = x.lang AND l.lexeme >= h.lexeme
               AND l.lexeme < h.lexeme || chr(1114111)
             LIMIT {PREFIX_SCAN}) AS p)
    FROM unnest(
        CAST(:langs AS text[]), CAST(:cfgs AS text[]),
        CAST(:heads AS text[]), CAST(:tails AS text[])
    ) WITH ORDINALITY AS x(lang, cfg, head, tail, i)
    CROSS JOIN LATERAL (
        SELECT CASE WHEN cardinality(a) = 1 THEN a[1] END AS lexeme
        FROM tsvector_to_array(to_tsvector(CAST(x.cfg AS regconfig), x.head)) AS a
    ) AS h
    CROSS JOIN LATERAL (
        SELECT CASE WHEN cardinality(a) = 1 THEN a[1] END AS lexeme
        FROM tsvector_to_array(to_tsvector(CAST(x.cfg AS regconfig), x.tail)) AS a
    ) AS t
    """
)


@dataclass(frozen=True)
class Leaf:
    """One unit of the query analysed in one configuration."""

    kind: str  # "plain" (words ANDed), "phrase", or "prefix" (one word, stem:*)
    config: str
    text: str


#: A query tree: a leaf, or ("and" | "or", children).
Expr = Leaf | tuple[str, tuple["Expr", ...]]


def _any(items: Iterable[Expr]) -> Expr:
    return ("or", tuple(items))


def _all(items: Iterable[Expr]) -> Expr:
    return ("and", tuple(items))


@dataclass
class Compiled:
    """The tsqueries of one search (``""`` when empty)."""

    full: str
    direct: str
    excluded: str
    relaxations: list[str]
    #: (weight, query of every leaf of that weight) for ts_rank.
    rank: list[tuple[float, str]]
    #: Per configuration, every word to mark in a case analysed with it.
    highlight: dict[str, str]


@dataclass
class _Req:
    direct: list[tuple[str, Expr]] = field(default_factory=list)
    expanded: list[tuple[str, Expr]] = field(default_factory=list)
    content: list[Leaf] = field(default_factory=list)


class LeafCache:
    """Analysed leaves, shared by the threads of a process."""

    def __init__(self, size: int = LEAF_CACHE_SIZE) -> None:
        self.size = size
        self._items: OrderedDict[Leaf, str] = OrderedDict()
        self._lock = threading.Lock()

    def resolve(self, connection: Connection, leaves: Iterable[Leaf]) -> dict[Leaf, str]:
        wanted = list(dict.fromkeys(leaves))
        with self._lock:
            found = {leaf: self._items[leaf] for leaf in wanted if leaf in self._items}
        missing = [leaf for leaf in wanted if leaf not in found]
        if missing:
            rows = connection.execute(
                _LEAVES,
                {
                    "kinds": [leaf.kind for leaf in missing],
                    "cfgs": [leaf.config for leaf in missing],
                    "texts": [prepare(leaf.config, leaf.text) for leaf in missing],
                },
            )
            for i, value in rows:
                leaf = missing[i - 1]
                found[leaf] = _checked(leaf, value or "")
            with self._lock:
                for leaf in missing:
                    self._items[leaf] = found[leaf]
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
        return found


def _checked(leaf: Leaf, value: str) -> str:
    """A prefix leaf counts only as one stem of MIN_PREFIX letters or more."""
    if leaf.kind != "prefix" or not value:
        return value
    match = _PREFIX.fullmatch(value)
    return value if match and len(match.group(1)) >= MIN_PREFIX else ""


class Compiler:
    """Builds the queries of one search: the plan's requirements, in the languages asked."""

    def __init__(self, connection: Connection, cache: LeafCache, language: str | None) -> None:
        self.connection = connection
        self.cache = cache
        self.languages = (language,) if language else ANALYZED_LANGUAGES
        self.configs = list(dict.fromkeys(config_for(lang) for lang in self.languages))
        self.snowball = [c for c in self.configs if c != SIMPLE]
        self._splits: dict[tuple[str, str], tuple[str, str] | None] = {}

    # -- building ---------------------------------------------------------------------

    def compile(self, plan: QueryPlan, word_plan: QueryPlan | None) -> Compiled:
        plans = [plan] + ([word_plan] if word_plan else [])
        self._load_splits(plans)
        reqs = {id(r): self._requirement(r) for p in plans for r in p.requirements}
        excluded = [self._any_language(unit) for unit in plan.excluded]
        trees: list[Expr] = [e for r in reqs.values() for _, e in r.direct + r.expanded]
        leaves = [leaf for tree in trees + excluded for leaf in _leaves(tree)]
        leaves += [leaf for r in reqs.values() for leaf in r.content]
        resolved = self.cache.resolve(self.connection, leaves)
        render = _Renderer(resolved)

        def kept(p: QueryPlan) -> list[Requirement]:
            found = [r for r in p.requirements if self._has_content(reqs[id(r)], resolved)]
            return found or p.requirements

        def full(r: Requirement) -> str:
            return render.any([e for _, e in reqs[id(r)].direct + reqs[id(r)].expanded])

        main = kept(plan)
        buckets: dict[str, list[Expr]] = {}
        for r in main:
            for kind, tree in reqs[id(r)].direct + reqs[id(r)].expanded:
                buckets.setdefault(_BUCKET[kind], []).extend(_leaves(tree))
        return Compiled(
            full=render.all_of([full(r) for r in main]),
            direct=render.all_of([render.any([e for _, e in reqs[id(r)].direct]) for r in main]),
            excluded=render.any(excluded),
            relaxations=self._relaxations(plans, [kept(p) for p in plans], full, render),
            rank=[(_RANKED[k], q) for k, items in buckets.items() if (q := render.any(items))],
            # As with Whoosh, a one-word concept term is marked (it is why a case in another
            # language matched); the words of a longer term need not stand together, so one
            # alone ("background" of "refugee background") is not marked.
            highlight=self._highlight(
                render,
                [
                    leaf
                    for k, items in buckets.items()
                    for leaf in items
                    if k != "expanded" or " " not in leaf.text
                ],
            ),
        )

    def _highlight(self, render: _Renderer, leaves: list[Leaf]) -> dict[str, str]:
        """Words to mark, per configuration: a word of another language that happens to
        match ("by" in Danish) is not marked in a Swedish text."""
        found = {}
        for config in dict.fromkeys(config_for(lang) for lang in ANALYZED_LANGUAGES):
            mine = [leaf for leaf in leaves if leaf.config in (config, SIMPLE)]
            if query := render.any(mine):
                found[config] = query
        return found

    def _relaxations(
        self,
        plans: list[QueryPlan],
        kept: list[list[Requirement]],
        full: Callable[[Requirement], str],
        render: _Renderer,
    ) -> list[str]:
        """Ever looser queries for when too few cases match every word, loosest last
        (the steps of the Whoosh backend's ``relaxations``): across languages, first
        the requirements the vocabulary can translate; then all requirements but one;
        then all words but one; for a single compound word, one of its parts."""
        queries: list[str] = []
        main = kept[0]
        translatable = [r for r in main if r.expanded]
        if len(self.languages) > 1 and translatable and len(translatable) < len(main):
            core = render.all_of([full(r) for r in translatable])
            if core:
                queries.append(core)
        for each in kept:
            parts = [full(r) for r in each]
            if 1 < len(parts) <= MAX_RELAXED_PARTS:
                combos = combinations(parts, len(parts) - 1)
                queries.append(render.any_text([render.all_of(list(c)) for c in combos]))
        words = [u.words[0] for r in plans[-1].requirements for u in r.direct if len(u.words) == 1]
        if len(words) == 1:
            pieces = [
                piece
                for lang in self.languages
                for part in self._splits.get((words[0], lang)) or ()
                for piece in self._part(part)
            ]
            relaxed = render.any(pieces)
            if relaxed:
                queries.append(relaxed)
        return queries

    def _requirement(self, requirement: Requirement) -> _Req:
        req = _Req()
        for unit in requirement.direct:
            multi = len(unit.words) > 1
            kind = "plain" if requirement.loose or not multi else "phrase"
            for config in self.configs + ([SIMPLE] if SIMPLE not in self.configs else []):
                req.direct.append(("exact", Leaf(kind, config, unit.text)))
                if multi:
                    continue
                word = unit.words[0]
                if config in self.configs:
                    req.direct.append(("prefix", Leaf("prefix", config, word)))
                if config == config_for("fi") and word.endswith("nen"):
                    # Snowball leaves "pakolainen" and "pakolaiset" apart; the Whoosh
                    # analysis aligns them, here the query asks for the "-se-" stem too.
                    req.direct.append(("exact", Leaf("prefix", config, word[:-3] + "set")))
            for lang in self.languages:
                if not multi:
                    req.direct += [("compound", p) for p in self._pieces(unit.words[0], lang)]
            req.content += [Leaf(kind, c, unit.text) for c in self.snowball]
            if not self.snowball and any(w not in stop_words("is") for w in unit.words):
                req.content.append(Leaf("plain", SIMPLE, unit.text))
        for language, unit in requirement.expanded:
            req.expanded.append(("expanded", Leaf("plain", config_for(language), unit.text)))
        return req

    def _has_content(self, req: _Req, resolved: dict[Leaf, str]) -> bool:
        """A unit has content when no configuration drops it all as stop words; a word
        that is a stop word in one of the languages asked ("i", "och") is left out."""
        units: dict[str, list[str]] = {}
        for leaf in req.content:
            units.setdefault(leaf.text, []).append(resolved.get(leaf, ""))
        return any(all(values) for values in units.values())

    def _any_language(self, unit: Unit) -> Expr:
        """A unit in every language (for exclusions)."""
        kind = "phrase" if len(unit.words) > 1 else "plain"
        configs = list(dict.fromkeys([*(config_for(lang) for lang in ANALYZED_LANGUAGES), SIMPLE]))
        items: list[Expr] = [Leaf(kind, c, unit.text) for c in configs]
        if len(unit.words) == 1:
            items += [Leaf("prefix", c, unit.text) for c in configs]
        return _any(items)

    # -- compounds ---------------------------------------------------------------------

    def _pieces(self, word: str, language: str) -> list[Expr]:
        """The two known parts of a compound, each as itself or starting a longer word."""
        split = self._splits.get((word, language))
        if not split:
            return []
        return [_all(_any(self._part(part)) for part in split)]

    @staticmethod
    def _part(lexeme: str) -> list[Expr]:
        """A part of a compound (a lexeme already): itself, or starting a longer word."""
        return [Leaf("plain", SIMPLE, lexeme), Leaf("prefix", SIMPLE, lexeme)]

    def _load_splits(self, plans: list[QueryPlan]) -> None:
        """Find, in one round trip, how each long query word splits into two words the
        index knows in each language (by their document frequencies)."""
        words = {
            u.words[0] for p in plans for r in p.requirements for u in r.direct if len(u.words) == 1
        }
        asks: list[tuple[str, str, str, str]] = []
        for word in sorted(words):
            for lang in self.languages:
                if lang in NO_SPLIT:
                    continue
                for head, tail in split_candidates(word):
                    asks.append((word, lang, head, tail))
        if not asks:
            return
        rows = self.connection.execute(
            _SPLITS,
            {
                "langs": [a[1] for a in asks],
                "heads": [prepare(config_for(a[1]), a[2]) for a in asks],
                "tails": [prepare(config_for(a[1]), a[3]) for a in asks],
                "cfgs": [config_for(a[1]) for a in asks],
            },
        )
        best: dict[tuple[str, str], tuple[int, str, str]] = {}
        for i, head, tail, tail_df, head_df in sorted(rows):
            word, lang = asks[i - 1][:2]
            score = min(int(head_df or 0), int(tail_df or 0))
            key = (word, lang)
            if head and tail and score and (key not in best or score > best[key][0]):
                best[key] = (score, head, tail)
        self._splits = {key: value[1:] for key, value in best.items()}


#: Leaves are ranked in two groups, one ts_rank call each (each call is a pass over the
#: case's vector): the words as typed, and the vocabulary's words at EXPANDED_BOOST. Within
#: the first, a word typed in full also matches as a prefix, so an exact match counts twice
#: and a longer word once (Whoosh weighs them 1 and PREFIX_BOOST).
_BUCKET = {"exact": "typed", "prefix": "typed", "compound": "typed", "expanded": "expanded"}
_RANKED = {"typed": 1.0, "expanded": EXPANDED_BOOST}


def _leaves(tree: Expr) -> list[Leaf]:
    if isinstance(tree, Leaf):
        return [tree]
    return [leaf for child in tree[1] for leaf in _leaves(child)]


class _Renderer:
    """Joins analysed leaves into tsquery text; an empty string is an empty query."""

    def __init__(self, resolved: dict[Leaf, str]) -> None:
        self.resolved = resolved

    def render(self, tree: Expr) -> str:
        if isinstance(tree, Leaf):
            return self.resolved.get(tree, "")
        op, children = tree
        parts = [self.render(child) for child in children]
        return self.all_of(parts) if op == "and" else self.any_text(parts)

    def any(self, trees: list[Expr]) -> str:
        return self.any_text([self.render(tree) for tree in trees])

    @staticmethod
    def any_text(parts: list[str]) -> str:
        parts = list(dict.fromkeys(p for p in parts if p))
        return parts[0] if len(parts) == 1 else " | ".join(f"( {p} )" for p in parts)

    @staticmethod
    def all_of(parts: list[str]) -> str:
        """Every part must match; one empty part makes the whole query empty."""
        if not parts or not all(parts):
            return ""
        parts = list(dict.fromkeys(parts))
        return parts[0] if len(parts) == 1 else " & ".join(f"( {p} )" for p in parts)
