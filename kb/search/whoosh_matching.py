"""Query evaluation over Whoosh's posting lists, whole arrays at a time (numpy).

Whoosh's own matchers walk a query tree one document at a time in Python, and its
``groupedby`` facets build a list per value on every search: at 10,000 cases a faceted
search took 150-500 ms. Here a query tree is evaluated as array operations over all
documents (a match mask and BM25F scores computed as Whoosh computes them), and facets are
counted with one ``bincount`` per facet.

Each segment's posting lists, lengths, facet tables and columns come from its sidecar
(``kb.search.whoosh_arrays``): arrays mapped read-only, shared by every worker, nothing
unpickled. A segment without a valid sidecar (just written by another process, or by an
older version) is read from Whoosh's blocks (``kb.search.whoosh_blocks``, kept in a small
per-process cache) while its sidecar is built in the background. Whoosh still stores and
merges the segments, keeps the term dictionaries and stored fields; ``tests/test_search.py``
compares the results with Whoosh's own searcher.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Any, Protocol

import numpy as np
from whoosh import query as q
from whoosh.reading import SegmentReader
from whoosh.searching import Searcher
from whoosh.util.numeric import byte_to_length

from kb.search import whoosh_blocks
from kb.search.whoosh_arrays import ArrayStore, SegmentArrays

#: BM25F as Whoosh's default weighting: the same scores, computed for many documents at once.
K1 = 1.2
B = 0.75
#: Field lengths are stored as one byte each (Whoosh's logarithmic approximation).
_LENGTH_OF_BYTE = np.array([max(1, byte_to_length(b) or 1) for b in range(256)], np.float32)
#: Per process, for all threads: what is read from the blocks of segments without a
#: sidecar (only until their sidecars are built).
DEFAULT_CACHE_BYTES = 32 * 2**20
#: How often a matcher looks again for the sidecar of a segment it reads from blocks.
RETRY_SECONDS = 1.0

#: Positions are combined with document numbers into one key (positions stay below this).
_POSITIONS_PER_DOC = 1 << 24
#: Per thread: the posting lists the current search has read (``Matcher.term_postings``).
SCORED_BYTES = 16 * 2**20
#: Term dictionary answers each thread's searcher remembers.
LEXICON_ENTRIES = 200_000

_EMPTY_IDS = whoosh_blocks.EMPTY_IDS
_EMPTY_WEIGHTS = whoosh_blocks.EMPTY_WEIGHTS
_EMPTY_CODES = np.zeros(0, np.uint8)


class ArrayCache:
    """Arrays keyed by (segment id, ...), least recently used dropped beyond a byte budget."""

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple, tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, load: Callable[[], Any]) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
                return entry[0]
        value = load()
        size = _nbytes(value)
        with self._lock:
            if key not in self._entries:
                self._entries[key] = (value, size)
                self.bytes += size
            while self.bytes > self.max_bytes and len(self._entries) > 1:
                _, (_, dropped) = self._entries.popitem(last=False)
                self.bytes -= dropped
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.bytes = 0


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return value.nbytes + 100
    if isinstance(value, tuple | list):
        return sum(_nbytes(v) for v in value) + 100
    return 100


class Source(Protocol):
    """One segment's arrays: its sidecar (``SegmentArrays``) or its blocks (``BlockSource``)."""

    def doc_frequency(self, field: str, btext: bytes) -> int: ...

    def expand_prefix(self, field: str, prefix: bytes, limit: int | None) -> list[bytes]: ...

    def postings(self, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]: ...

    def positions_of(self, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]: ...

    def lengths(self, field: str) -> np.ndarray | None: ...

    def facet(self, field: str) -> tuple[list[str], np.ndarray, np.ndarray]: ...

    def column(self, field: str) -> np.ndarray | None: ...


class BlockSource:
    """A segment without a sidecar, read from Whoosh's blocks into the process's cache."""

    def __init__(self, leaf: SegmentReader, segment: str, cache: ArrayCache) -> None:
        self.leaf = leaf
        self.segment = segment
        self.cache = cache

    def doc_frequency(self, field: str, btext: bytes) -> int:
        return self.leaf.doc_frequency(field, btext)

    def expand_prefix(self, field: str, prefix: bytes, limit: int | None) -> list[bytes]:
        found = []
        for term in self.leaf.expand_prefix(field, prefix):
            if limit is not None and len(found) >= limit:
                break
            found.append(term)
        return found

    def postings(self, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        return self.cache.get(
            ("postings", self.segment, field, btext),
            lambda: whoosh_blocks.postings(self.leaf, field, btext),
        )

    def positions_of(self, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        return self.cache.get(
            ("positions", self.segment, field, btext),
            lambda: whoosh_blocks.positions(self.leaf, field, btext),
        )

    def lengths(self, field: str) -> np.ndarray | None:
        return self.cache.get(
            ("lengths", self.segment, field), lambda: whoosh_blocks.lengths(self.leaf, field)
        )

    def facet(self, field: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        return self.cache.get(("facet", self.segment, field), lambda: self._facet_table(field))

    def column(self, field: str) -> np.ndarray | None:
        return self.cache.get(
            ("column", self.segment, field), lambda: whoosh_blocks.column(self.leaf, field)
        )

    def _facet_table(self, field: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The segment's (value, document) pairs of a keyword field, as two arrays."""
        leaf = self.leaf
        values: list[str] = []
        docs, value_of = [], []
        for btext in leaf.lexicon(field) if field in leaf.indexed_field_names() else ():
            ids, _ = whoosh_blocks.postings(leaf, field, btext)
            values.append(btext.decode("utf-8"))
            docs.append(ids)
            value_of.append(np.full(len(ids), len(values) - 1, np.int32))
        if not docs:
            return [], _EMPTY_IDS, _EMPTY_IDS
        return values, np.concatenate(docs), np.concatenate(value_of)


@dataclass
class Leaf:
    """A segment of the searcher: where its documents start, and where its arrays are."""

    reader: SegmentReader
    offset: int
    segment: str
    source: Source
    retry_at: float = 0.0

    @property
    def mapped(self) -> bool:
        return isinstance(self.source, SegmentArrays)


@dataclass
class Found:
    """The documents a query matches (a mask over all documents) and their scores."""

    mask: np.ndarray
    score: np.ndarray


#: One search's evaluated compound parts: id(query) -> (the query, what it found).
Parts = dict[int, tuple[q.Query, Found]]


class Matcher:
    """One searcher's documents as arrays; answers queries for as long as it is current."""

    def __init__(
        self,
        searcher: Searcher,
        cache: ArrayCache,
        store: ArrayStore | None = None,
        open_reader: Callable[[], Any] | None = None,
    ) -> None:
        self.searcher = searcher
        self.cache = cache
        self.store = store
        self._open_reader = open_reader
        # Its files are closed with it, also when it is just dropped with its thread or app.
        self.close = weakref.finalize(self, searcher.close)
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.leaves: list[Leaf] = []
        for leaf, offset in reader.leaf_readers():
            if leaf.segment() is None:  # an empty index has a reader without segments
                continue
            segment = leaf.segment().segment_id()
            self.leaves.append(Leaf(leaf, offset, segment, BlockSource(leaf, segment, cache)))
        self.adopt_sidecars()
        self.live = np.ones(self.size, bool)
        for leaf in self.leaves:
            if leaf.reader.has_deletions():
                deleted = np.fromiter(leaf.reader.segment().deleted_docs(), np.int64)
                self.live[deleted + leaf.offset] = False
        self._lexicon: dict[tuple, Any] = {}
        self._scored = ArrayCache(SCORED_BYTES)
        self._averages: dict[str, np.ndarray] = {}
        self._live_counts: dict[str, dict[str, int]] = {}
        self._bounds: dict[tuple[str, str, bool], list[int] | None] = {}
        #: (field, text) of every term that matched something: what highlighting marks.
        self.matched_terms: set[tuple[str, str]] = set()

    def adopt_sidecars(self) -> None:
        """Map the sidecar of each segment read from blocks, once it is there (looked for
        at most every ``RETRY_SECONDS``); a missing one is built in the background."""
        if self.store is None:
            return
        now = time.monotonic()
        for leaf in self.leaves:
            if leaf.mapped or now < leaf.retry_at:
                continue
            arrays = self.store.open(leaf.reader)
            if arrays is not None:
                leaf.source = arrays
                continue
            leaf.retry_at = now + RETRY_SECONDS
            if self._open_reader is not None:
                self.store.build_soon(leaf.segment, self._open_reader)

    # -- the term dictionary, remembered: a query asks the same questions many times ----

    def doc_frequency(self, field: str, text: str | bytes) -> int:
        """In how many documents (deleted ones too, as Whoosh counts) a term is."""
        return self._remember(("df", field, text), self._doc_frequency)

    def _doc_frequency(self, field: str, text: str | bytes) -> int:
        btext = text if isinstance(text, bytes) else text.encode("utf-8")
        return sum(leaf.source.doc_frequency(field, btext) for leaf in self.leaves)

    def idf(self, field: str, text: str | bytes) -> float:
        """Whoosh's inverse document frequency (``WeightingModel.idf``)."""
        return math.log(self.size / (self.doc_frequency(field, text) + 1)) + 1

    def expand_prefix(self, field: str, prefix: str, limit: int | None = None) -> tuple[bytes, ...]:
        """The indexed terms of ``field`` that start with ``prefix`` (as bytes, sorted; the
        first ``limit``)."""
        return self._remember(("prefix", field, (prefix, limit)), self._expand_prefix)

    def _expand_prefix(self, field: str, asked: tuple[str, int | None]) -> tuple[bytes, ...]:
        prefix, limit = asked
        bprefix = prefix.encode("utf-8")
        found = set()
        for leaf in self.leaves:
            found.update(leaf.source.expand_prefix(field, bprefix, limit))
        return tuple(sorted(found)[:limit])

    def count(self, query: q.Query) -> int:
        """How many live documents ``query`` matches (a concept's specificity asks it on
        every search naming the concept)."""
        return self._remember(
            ("count", repr(query), None),
            lambda _key, _none: int(np.count_nonzero(self.matching(query))),
        )

    def matching(self, query: q.Query, parts: Parts | None = None) -> np.ndarray:
        """The live documents ``query`` matches, as ``evaluate`` finds them, without their
        scores: a count, a filter or a set of languages needs no BM25F."""
        return self._matching(query, parts) & self.live

    def _matching(self, query: q.Query, parts: Parts | None = None) -> np.ndarray:
        """What ``_evaluate`` would match, deleted documents too, from the posting lists'
        document numbers alone; a part this search has evaluated already is looked up."""
        known = parts.get(id(query)) if parts is not None else None
        if known is not None and known[0] is query:
            return known[1].mask
        if query is q.NullQuery:
            return np.zeros(self.size, bool)
        if isinstance(query, q.Term):
            mask = np.zeros(self.size, bool)
            text = query.text.decode("utf-8") if isinstance(query.text, bytes) else query.text
            mask[self.term_postings(query.fieldname, text)[0]] = True
            return mask
        if isinstance(query, q.Or) and query.minmatch > 1:
            found = sum(self._matching(sub, parts).astype(np.int32) for sub in query.subqueries)
            return np.asarray(found >= query.minmatch)
        if isinstance(query, q.Or | q.DisjunctionMax):
            found = np.zeros(self.size, bool)
            for sub in query.subqueries:
                found |= self._matching(sub, parts)
            return found
        if isinstance(query, q.And):
            return np.logical_and.reduce([self._matching(sub, parts) for sub in query.subqueries])
        if isinstance(query, q.AndNot):
            return self._matching(query.a, parts) & ~self._matching(query.b, parts)
        if isinstance(query, q.AndMaybe):
            return self._matching(query.a, parts)
        if isinstance(query, q.Phrase):
            mask = np.zeros(self.size, bool)
            for leaf in self.leaves:
                mask[self._phrase_docs(leaf, query)] = True
            return mask
        if isinstance(query, q.Every):
            return np.ones(self.size, bool)
        raise TypeError(f"No array evaluation for {type(query).__name__}")

    def _remember(self, key: tuple, lookup: Callable[[str, Any], Any]) -> Any:
        found = self._lexicon.get(key)
        if found is None:
            if len(self._lexicon) >= LEXICON_ENTRIES:
                self._lexicon.clear()
            found = self._lexicon[key] = lookup(key[1], key[2])
        return found

    # -- posting lists ----------------------------------------------------------------

    def postings(self, field: str, text: str | bytes) -> tuple[np.ndarray, np.ndarray]:
        """Document numbers and term frequencies of a term, over all segments."""
        btext = text if isinstance(text, bytes) else text.encode("utf-8")
        parts = []
        for leaf in self.leaves:
            ids, weights = leaf.source.postings(field, btext)
            if len(ids):
                parts.append((ids + leaf.offset if leaf.offset else ids, weights))
        return _joined(parts)

    def begin_search(self) -> None:
        """Forget the last search's posting lists (``term_postings``): kept longer, they
        would be each worker's own copy of what the mapped arrays give every worker."""
        self._scored.clear()

    def term_postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """A term's document numbers, frequencies and field length codes, over all segments.

        A search asks the same terms again and again (its strict query, its direct hits,
        each relaxation, a concept's count): they are read once and kept until
        ``begin_search``.
        """
        found = self._scored.get((field, text), lambda: self._read_postings(field, text))
        if len(found[0]):
            self.matched_terms.add((field, text))
        return found

    def _read_postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        btext = text.encode("utf-8")
        scored = self.searcher.schema[field].scorable
        ids, weights, codes = [], [], []
        for leaf in self.leaves:
            found, frequencies = leaf.source.postings(field, btext)
            if len(found):
                ids.append(found + leaf.offset if leaf.offset else found)
                weights.append(frequencies)
                lengths = leaf.source.lengths(field) if scored else None
                codes.append(np.zeros(len(found), np.uint8) if lengths is None else lengths[found])
        if len(ids) == 1:
            return ids[0], weights[0], codes[0]
        if not ids:
            return _EMPTY_IDS, _EMPTY_WEIGHTS, _EMPTY_CODES
        return np.concatenate(ids), np.concatenate(weights), np.concatenate(codes)

    def term_scores(
        self, field: str, text: str | bytes, boost: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, BM25F scores) of one term, as Whoosh's BM25F scores them."""
        return self._terms_scores([q.Term(field, text, boost=boost)])

    def _terms_scores(self, terms: list[q.Term]) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, boosted BM25F scores) of an Or's terms, computed for all of
        them at once: a word is asked in four fields of each language and a prefix in up
        to 30 terms a field, and a search scored some 50 lists one by one. Within a
        document the scores keep the order of the terms, so their sums are the same to
        the last bit as term by term."""
        fields = list(dict.fromkeys(t.fieldname for t in terms))
        tables = [self._norms(f) if self.searcher.schema[f].scorable else None for f in fields]
        # The fields' norms one after the other: a posting's length code + its field's start.
        norms = np.concatenate([_LENGTH_OF_BYTE if t is None else t for t in tables])
        ids, weights, codes, sizes, idfs, starts = [], [], [], [], [], []
        for term in terms:
            text = term.text.decode("utf-8") if isinstance(term.text, bytes) else term.text
            found, frequencies, lengths = self.term_postings(term.fieldname, text)
            sizes.append(len(found))
            place = fields.index(term.fieldname)
            starts.append(place * len(_LENGTH_OF_BYTE))
            idfs.append(1.0 if tables[place] is None else self.idf(term.fieldname, text))
            if len(found):
                ids.append(found)
                weights.append(frequencies)
                codes.append(lengths)
        if not ids:
            return _EMPTY_IDS, _EMPTY_WEIGHTS
        each = partial(np.repeat, repeats=sizes)
        weight = np.concatenate(weights) if len(weights) > 1 else weights[0]
        code = np.concatenate(codes) if len(codes) > 1 else codes[0]
        norm = norms[code + each(np.array(starts, np.intp))]
        idf = each(np.array(idfs, np.float32))
        scores = idf * (weight * (K1 + 1)) / (weight + norm)
        if any(t is None for t in tables):  # an unscored field (keywords): the frequency
            unscored = [tables[fields.index(t.fieldname)] is None for t in terms]
            scores = np.where(each(np.array(unscored)), weight, scores)
        boosts = [t.boost for t in terms]
        if any(boost != 1.0 for boost in boosts):
            scores = scores * each(np.array(boosts, np.float32))
        return (np.concatenate(ids) if len(ids) > 1 else ids[0]), scores

    def _norms(self, field: str) -> np.ndarray:
        """BM25's length normalisation of the field for each one-byte length code."""
        found = self._averages.get(field)
        if found is None:
            average = self.searcher.avg_field_length(field) or 1.0
            found = self._averages[field] = K1 * ((1 - B) + B * _LENGTH_OF_BYTE / average)
        return found

    def _term_mask(self, term: q.Term) -> np.ndarray:
        """How often (0 or 1) each document has the term."""
        text = term.text.decode("utf-8") if isinstance(term.text, bytes) else term.text
        return np.bincount(self.term_postings(term.fieldname, text)[0], minlength=self.size)

    # -- evaluation ---------------------------------------------------------------------

    def evaluate(self, query: q.Query, parts: Parts | None = None) -> Found:
        """The documents ``query`` matches, with Whoosh's scores (deleted ones left out).

        ``parts``: one search's results of compound parts, by the part's identity. A
        search's strict query, direct hits and relaxations share the parts the planner
        built once (a word in every language): each is evaluated once a search.
        """
        found = self._evaluate(query, parts)
        mask = found.mask & self.live
        return Found(mask, found.score * mask)

    def _evaluate(self, query: q.Query, parts: Parts | None = None) -> Found:
        """A query's matches and scores; the arrays of a part found in ``parts`` are
        shared, so nothing here changes the arrays of the parts it combines."""
        if query is q.NullQuery:
            return self._none()
        if isinstance(query, q.Term):
            ids, scores = self.term_scores(query.fieldname, query.text, query.boost)
            return self._dense([(ids, scores)])
        if parts is None:
            return self._combined(query, None)
        known = parts.get(id(query))
        if known is not None and known[0] is query:  # the query held, so its id is its own
            return known[1]
        found = self._combined(query, parts)
        parts[id(query)] = (query, found)
        return found

    def _combined(self, query: q.Query, parts: Parts | None) -> Found:
        if isinstance(query, q.Or):
            return self._any(query.subqueries, query.minmatch, parts)
        if isinstance(query, q.And):
            found = [self._evaluate(sub, parts) for sub in query.subqueries]
            mask = np.logical_and.reduce([f.mask for f in found])
            return Found(mask, sum(f.score for f in found) * mask)
        if isinstance(query, q.AndNot):
            positive = self._evaluate(query.a, parts)
            negative = self._evaluate(query.b, parts)
            mask = positive.mask & ~negative.mask
            return Found(mask, positive.score * mask)
        if isinstance(query, q.AndMaybe):
            required = self._evaluate(query.a, parts)
            optional = self._evaluate(query.b, parts)
            return Found(required.mask.copy(), required.score + optional.score * required.mask)
        if isinstance(query, q.DisjunctionMax):
            found = [self._evaluate(sub, parts) for sub in query.subqueries]
            mask = np.logical_or.reduce([f.mask for f in found])
            return Found(mask, np.maximum.reduce([f.score for f in found]))
        if isinstance(query, q.Phrase):
            return self._phrase(query)
        if isinstance(query, q.Every):
            return Found(np.ones(self.size, bool), np.zeros(self.size))
        raise TypeError(f"No array evaluation for {type(query).__name__}")

    def _none(self) -> Found:
        return Found(np.zeros(self.size, bool), np.zeros(self.size))

    def _dense(self, postings: list[tuple[np.ndarray, np.ndarray]]) -> Found:
        """Sum the scores of several terms' postings (one ``bincount`` for them all)."""
        postings = [p for p in postings if len(p[0])]
        if not postings:
            return self._none()
        ids = np.concatenate([p[0] for p in postings]) if len(postings) > 1 else postings[0][0]
        scores = np.concatenate([p[1] for p in postings]) if len(postings) > 1 else postings[0][1]
        mask = np.zeros(self.size, bool)
        mask[ids] = True
        return Found(mask, np.bincount(ids, weights=scores, minlength=self.size))

    def _any(
        self, queries: Iterable[q.Query], minmatch: int = 0, parts: Parts | None = None
    ) -> Found:
        """An Or: terms are summed together, other parts evaluated and added."""
        terms: list[q.Term] = []
        others = []
        for query in queries:
            if isinstance(query, q.Term):
                terms.append(query)
            elif query is not q.NullQuery:
                others.append(self._evaluate(query, parts))
        found = self._dense([self._terms_scores(terms)] if terms else [])
        if minmatch > 1:
            counts = sum((self._term_mask(term) for term in terms), start=0)
            counts = counts + sum((o.mask.astype(np.int32) for o in others), start=0)
        for other in others:
            found.mask |= other.mask
            found.score += other.score
        if minmatch > 1:
            found.mask &= counts >= minmatch
            found.score *= found.mask
        return found

    def _phrase(self, query: q.Phrase) -> Found:
        """Words next to each other, scored as Whoosh scores a phrase: by the sum of the
        words' scores. Where they stand comes from each word's positions."""
        docs = [self._phrase_docs(leaf, query) for leaf in self.leaves]
        docs = [d for d in docs if len(d)]
        if not docs:
            return self._none()
        words = [self.term_scores(query.fieldname, w, query.boost) for w in query.words]
        found = self._dense(words)
        inside = np.zeros(self.size, bool)
        inside[np.concatenate(docs)] = True
        found.mask &= inside
        found.score *= found.mask
        return found

    @staticmethod
    def _phrase_docs(leaf: Leaf, query: q.Phrase) -> np.ndarray:
        """The documents of one segment where the words stand in a row: a word's
        (document, position) pairs, shifted back by its place in the phrase, intersected."""
        together: np.ndarray | None = None
        for place, word in enumerate(query.words):
            btext = word if isinstance(word, bytes) else word.encode("utf-8")
            docs, positions = leaf.source.positions_of(query.fieldname, btext)
            keys = docs.astype(np.int64) * _POSITIONS_PER_DOC + (positions.astype(np.int64) - place)
            together = keys if together is None else _common(together, keys)
            if not len(together):
                return _EMPTY_IDS
        return np.unique(together // _POSITIONS_PER_DOC).astype(np.int32) + leaf.offset

    # -- facets and sorting --------------------------------------------------------------

    def facet_counts(self, field: str, mask: np.ndarray) -> dict[str, int]:
        """How many matched documents have each value of a keyword field. A segment's
        (value, document) pairs come grouped by value, so each value's count is the
        matched documents in its stretch (a search counts about ten facets: at 100,000
        cases a ``bincount`` weighted by the mask took 1 to 3 ms each)."""
        counts: dict[str, int] = {}
        for leaf in self.leaves:
            values, docs, value_of = leaf.source.facet(field)
            if not len(docs):
                continue
            inside = mask[leaf.offset : leaf.offset + leaf.reader.doc_count_all()][docs]
            bounds = self._facet_bounds(leaf, field, value_of, len(values))
            if bounds is None:
                tally = np.bincount(value_of[inside], minlength=len(values)).tolist()
            else:
                tally = [np.count_nonzero(inside[a:b]) for a, b in pairwise(bounds)]
            for value, found in zip(values, tally, strict=True):
                if found:
                    counts[value] = counts.get(value, 0) + found
        return counts

    def _facet_bounds(
        self, leaf: Leaf, field: str, value_of: np.ndarray, values: int
    ) -> list[int] | None:
        """Where each value's pairs start and end in a segment's facet table (None if the
        table is not grouped by value); found once per searcher."""
        key = (leaf.segment, field, leaf.mapped)
        if key not in self._bounds:
            grouped = bool(np.all(value_of[1:] >= value_of[:-1]))
            found = np.searchsorted(value_of, np.arange(values + 1)).tolist() if grouped else None
            self._bounds[key] = found
        return self._bounds[key]

    def live_counts(self, field: str) -> dict[str, int]:
        """``facet_counts`` of every live document (the same for each of the searcher's
        searches, so counted once)."""
        found = self._live_counts.get(field)
        if found is None:
            found = self._live_counts[field] = self.facet_counts(field, self.live)
        return dict(found)

    def sortable(self, field: str) -> np.ndarray:
        """Every document's value of a sortable numeric column (0 where it has none)."""
        parts = []
        for leaf in self.leaves:
            found = leaf.source.column(field)
            parts.append(np.zeros(leaf.reader.doc_count_all()) if found is None else found)
        if not parts:
            return np.zeros(0)
        return parts[0] if len(parts) == 1 else np.concatenate(parts)


def ranked(
    found: Found,
    first_by: np.ndarray | None = None,
    limit: int | None = None,
    by: np.ndarray | None = None,
) -> np.ndarray:
    """The matched document numbers, best first: ``first_by`` (True first), then the
    score (or the value in ``by``), then document number, so equal scores keep one order
    from page to page. With a ``limit``, only the first ones, found without sorting all."""
    docs = np.flatnonzero(found.mask)
    values = (found.score if by is None else by)[docs]
    if limit is not None and len(docs) > 4 * limit:
        key = values
        if first_by is not None:
            key = key - key.min() + first_by[docs] * (float(key.max() - key.min()) + 1.0)
        threshold = np.partition(key, len(key) - limit)[len(key) - limit]
        kept = key >= threshold  # equal keys at the threshold stay, so ties sort right
        docs, values = docs[kept], values[kept]
    keys: list[np.ndarray] = [docs, -values]
    if first_by is not None:
        keys.append(~first_by[docs])
    order = docs[np.lexsort(keys)]
    return order if limit is None else order[:limit]


def _joined(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    if not parts:
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


def _common(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values in both of two sorted arrays without repeats (no sorting needed)."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return a
    at = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return a[b[at] == a]
