"""Query evaluation over Whoosh's posting lists, whole arrays at a time (numpy).

Whoosh's own matchers walk a query tree one document at a time in Python, and its
``groupedby`` facets build a list per value on every search: at 10,000 cases a faceted
search took 150-500 ms. Here each term's posting list is read once per process into arrays
(document numbers, term frequencies) and kept while its segment lives; a query tree is
evaluated as array operations over all documents (a match mask and BM25F scores computed as
Whoosh computes them), and facets are counted with one ``bincount`` per facet.

Whoosh still stores and merges the segments, keeps the term dictionaries and stored
fields, and checks phrases with its positional matcher. Segments never change once written
(deletions are kept apart), so cached arrays stay right until their segment is merged away.
Reading the blocks relies on the private layout of ``whoosh-reloaded`` 2.7.5, which is why
that version is pinned exactly; ``tests/test_search.py`` compares the results with Whoosh's.
"""

from __future__ import annotations

import io
import pickle
import threading
import weakref
import zlib
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np
from whoosh import query as q
from whoosh.codec.whoosh3 import (
    LENGTHS_COLUMN,
    WHOOSH3_HEADER_MAGIC,
    W3LeafMatcher,
    _lenfield,
)
from whoosh.reading import SegmentReader
from whoosh.searching import Searcher
from whoosh.system import _INT_SIZE, unpack_int
from whoosh.util.numeric import byte_to_length

#: BM25F as Whoosh's default weighting: the same scores, computed for many documents at once.
K1 = 1.2
B = 0.75
#: Field lengths are stored as one byte each (Whoosh's logarithmic approximation).
_LENGTH_OF_BYTE = np.array([max(1, byte_to_length(b) or 1) for b in range(256)], np.float32)
#: Per process, for all threads: posting lists, field lengths and facet tables.
DEFAULT_CACHE_BYTES = 96 * 2**20

#: Positions are combined with document numbers into one key (positions stay below this).
_POSITIONS_PER_DOC = 1 << 24
#: Term dictionary answers each thread's searcher remembers.
LEXICON_ENTRIES = 200_000

_EMPTY_IDS = np.zeros(0, np.int32)
_EMPTY_WEIGHTS = np.zeros(0, np.float32)


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


@dataclass
class Found:
    """The documents a query matches (a mask over all documents) and their scores."""

    mask: np.ndarray
    score: np.ndarray


class Matcher:
    """One searcher's documents as arrays; answers queries for as long as it is current."""

    def __init__(self, searcher: Searcher, cache: ArrayCache) -> None:
        self.searcher = searcher
        self.cache = cache
        # Its files are closed with it, also when it is just dropped with its thread or app.
        self.close = weakref.finalize(self, searcher.close)
        reader = searcher.reader()
        self.size = reader.doc_count_all()
        self.leaves: list[tuple[SegmentReader, int, str]] = [
            (leaf, offset, leaf.segment().segment_id())
            for leaf, offset in reader.leaf_readers()
            if leaf.segment() is not None  # an empty index has a reader without segments
        ]
        self.live = np.ones(self.size, bool)
        for leaf, offset, _ in self.leaves:
            if leaf.has_deletions():
                deleted = np.fromiter(leaf.segment().deleted_docs(), np.int64)
                self.live[deleted + offset] = False
        self._lexicon: dict[tuple, Any] = {}
        #: (field, text) of every term that matched something: what highlighting marks.
        self.matched_terms: set[tuple[str, str]] = set()

    # -- the term dictionary, remembered: a query asks the same questions many times ----

    def doc_frequency(self, field: str, text: str | bytes) -> int:
        return self._remember(("df", field, text), self.searcher.reader().doc_frequency)

    def expand_prefix(self, field: str, prefix: str) -> tuple[bytes, ...]:
        """The indexed terms of ``field`` that start with ``prefix`` (as bytes)."""
        return self._remember(
            ("prefix", field, prefix),
            lambda f, p: tuple(self.searcher.reader().expand_prefix(f, p)),
        )

    def count(self, query: q.Query) -> int:
        """How many live documents ``query`` matches (a concept's specificity asks it on
        every search naming the concept)."""
        return self._remember(
            ("count", repr(query), None),
            lambda _key, _none: int(np.count_nonzero(self.evaluate(query).mask)),
        )

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
        for leaf, offset, segment in self.leaves:
            ids, weights = self.cache.get(
                ("postings", segment, field, btext), lambda leaf=leaf: _read(leaf, field, btext)
            )
            if len(ids):
                parts.append((ids + offset if offset else ids, weights))
        if not parts:
            return _EMPTY_IDS, _EMPTY_WEIGHTS
        if len(parts) == 1:
            return parts[0]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def _lengths(self, field: str) -> np.ndarray | None:
        """Every document's length of ``field`` as Whoosh's one-byte code, or None if the
        field is not scored."""
        parts = [
            self.cache.get(
                ("lengths", segment, field), lambda leaf=leaf: _read_lengths(leaf, field)
            )
            for leaf, _, segment in self.leaves
        ]
        if any(p is None for p in parts):
            return None
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def term_scores(
        self, field: str, text: str | bytes, boost: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, BM25F scores) of one term, as Whoosh's BM25F scores them."""
        ids, weights = self.postings(field, text)
        if not len(ids):
            return ids, weights
        text = text.decode("utf-8") if isinstance(text, bytes) else text
        self.matched_terms.add((field, text))
        lengths = self._lengths(field)
        if lengths is None:  # an unscored field (keywords): the frequency is the score
            return ids, weights * boost
        idf = self.searcher.idf(field, text)
        average = self.searcher.avg_field_length(field) or 1.0
        norm = K1 * ((1 - B) + B * _LENGTH_OF_BYTE[lengths[ids]] / average)
        return ids, (idf * boost) * (weights * (K1 + 1)) / (weights + norm)

    # -- evaluation ---------------------------------------------------------------------

    def evaluate(self, query: q.Query) -> Found:
        """The documents ``query`` matches, with Whoosh's scores (deleted ones left out)."""
        found = self._evaluate(query)
        found.mask &= self.live
        found.score *= found.mask
        return found

    def _evaluate(self, query: q.Query) -> Found:
        if query is q.NullQuery:
            return self._none()
        if isinstance(query, q.Term):
            ids, scores = self.term_scores(query.fieldname, query.text, query.boost)
            return self._dense([(ids, scores)])
        if isinstance(query, q.Or):
            return self._any(query.subqueries, query.minmatch)
        if isinstance(query, q.And):
            parts = [self._evaluate(sub) for sub in query.subqueries]
            mask = np.logical_and.reduce([p.mask for p in parts])
            return Found(mask, sum(p.score for p in parts) * mask)
        if isinstance(query, q.AndNot):
            positive, negative = self._evaluate(query.a), self._evaluate(query.b)
            positive.mask &= ~negative.mask
            positive.score *= positive.mask
            return positive
        if isinstance(query, q.AndMaybe):
            required, optional = self._evaluate(query.a), self._evaluate(query.b)
            required.score += optional.score * required.mask
            return required
        if isinstance(query, q.DisjunctionMax):
            parts = [self._evaluate(sub) for sub in query.subqueries]
            mask = np.logical_or.reduce([p.mask for p in parts])
            return Found(mask, np.maximum.reduce([p.score for p in parts]))
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

    def _any(self, queries: Iterable[q.Query], minmatch: int = 0) -> Found:
        """An Or: terms are summed together, other parts evaluated and added."""
        terms, others = [], []
        for query in queries:
            if isinstance(query, q.Term):
                terms.append(self.term_scores(query.fieldname, query.text, query.boost))
            elif query is not q.NullQuery:
                others.append(self._evaluate(query))
        found = self._dense(terms)
        if minmatch > 1:
            counts = sum((np.bincount(ids, minlength=self.size) for ids, _ in terms), start=0)
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
        words' scores. Where they stand comes from each word's cached positions."""
        docs = [
            self._phrase_docs(leaf, offset, segment, query) for leaf, offset, segment in self.leaves
        ]
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

    def _phrase_docs(
        self, leaf: SegmentReader, offset: int, segment: str, query: q.Phrase
    ) -> np.ndarray:
        """The documents of one segment where the words stand in a row: a word's
        (document, position) pairs, shifted back by its place in the phrase, intersected."""
        together: np.ndarray | None = None
        for place, word in enumerate(query.words):
            btext = word if isinstance(word, bytes) else word.encode("utf-8")
            docs, positions = self.cache.get(
                ("positions", segment, query.fieldname, btext),
                lambda btext=btext: _read_positions(leaf, query.fieldname, btext),
            )
            keys = docs.astype(np.int64) * _POSITIONS_PER_DOC + (positions.astype(np.int64) - place)
            together = keys if together is None else _common(together, keys)
            if not len(together):
                return _EMPTY_IDS
        return np.unique(together // _POSITIONS_PER_DOC).astype(np.int32) + offset

    # -- facets and sorting --------------------------------------------------------------

    def facet_counts(self, field: str, mask: np.ndarray) -> dict[str, int]:
        """How many matched documents have each value of a keyword field."""
        counts: Counter[str] = Counter()
        for leaf, offset, segment in self.leaves:
            values, docs, value_of = self.cache.get(
                ("facet", segment, field), lambda leaf=leaf: self._facet_table(leaf, field)
            )
            if not len(docs):
                continue
            inside = mask[offset : offset + leaf.doc_count_all()]
            tally = np.bincount(value_of[inside[docs]], minlength=len(values))
            counts.update({values[i]: int(tally[i]) for i in np.flatnonzero(tally)})
        return dict(counts)

    @staticmethod
    def _facet_table(leaf: SegmentReader, field: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """A segment's (value, document) pairs of a keyword field, as two arrays."""
        values: list[str] = []
        docs, value_of = [], []
        for btext in leaf.lexicon(field) if field in leaf.indexed_field_names() else ():
            ids, _ = _read(leaf, field, btext)
            values.append(btext.decode("utf-8"))
            docs.append(ids)
            value_of.append(np.full(len(ids), len(values) - 1, np.int32))
        if not docs:
            return [], _EMPTY_IDS, _EMPTY_IDS
        return values, np.concatenate(docs), np.concatenate(value_of)

    def sortable(self, field: str) -> np.ndarray:
        """Every document's value of a sortable numeric column (0 where it has none)."""
        parts = [
            self.cache.get(("column", segment, field), lambda leaf=leaf: _read_column(leaf, field))
            for leaf, _, segment in self.leaves
        ]
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


def _read(leaf: SegmentReader, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    """One segment's posting list of a term: block by block, without a matcher per posting."""
    if (field, btext) not in leaf:
        return _EMPTY_IDS, _EMPTY_WEIGHTS
    matcher = leaf.postings(field, btext)
    if not isinstance(matcher, W3LeafMatcher):  # a short list kept inline in the dictionary
        ids, weights = [], []
        while matcher.is_active():
            ids.append(matcher.id())
            weights.append(matcher.weight())
            matcher.next()
        return np.array(ids, np.int32), np.array(weights, np.float32)
    # The whole list in one read, then block by block: a block is its byte length (negative
    # for the last), a pickled summary, and the pickled (maybe zlib-compressed) postings.
    size = matcher._length  # Whoosh 2.7 reads it back as a 1-tuple
    raw = matcher._postfile.get(matcher._startoffset, size[0] if isinstance(size, tuple) else size)
    stream = io.BytesIO(raw)
    stream.seek(len(WHOOSH3_HEADER_MAGIC))
    ids: list[int] = []
    weights: list[float] = []
    while True:
        start = stream.tell()
        length = unpack_int(stream.read(_INT_SIZE))[0]
        end = start + _INT_SIZE + abs(length)
        count, _, _, compressed, _, _ = pickle.load(stream)  # noqa: S301 - Whoosh's own format
        data = raw[stream.tell() : end]
        block = zlib.decompress(data) if compressed else data
        deltas, block_weights, _ = pickle.loads(block)  # noqa: S301 - the index's own blocks
        ids.extend(accumulate(deltas))
        if block_weights is None:
            weights.extend([1.0] * count)
        elif isinstance(block_weights, float):
            weights.extend([block_weights] * count)
        else:
            weights.extend(block_weights)
        if length < 0:
            return np.array(ids, np.int32), np.array(weights, np.float32)
        stream.seek(end)


def _read_positions(leaf: SegmentReader, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    """One segment's (document, position) pairs of a term, one pair per occurrence."""
    if (field, btext) not in leaf:
        return _EMPTY_IDS, _EMPTY_IDS
    decode = leaf.schema[field].format.decode_positions
    docs: list[int] = []
    positions: list[int] = []
    matcher = leaf.postings(field, btext)
    while matcher.is_active():
        for position in decode(matcher.value()):
            docs.append(matcher.id())
            positions.append(position)
        matcher.next()
    return np.array(docs, np.int32), np.array(positions, np.int32)


def _read_lengths(leaf: SegmentReader, field: str) -> np.ndarray | None:
    """A segment's per-document length codes of a field: Whoosh's one-byte length column."""
    if not leaf.schema[field].scorable:
        return None
    column = leaf._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    codes = np.zeros(leaf.doc_count_all(), np.uint8)
    if column is not None:  # None: no document of this segment has the field
        raw = np.frombuffer(column._dbfile.get(column._basepos, column._count), np.uint8)
        codes[: len(raw)] = raw[: len(codes)]
    return codes


def _read_column(leaf: SegmentReader, field: str) -> np.ndarray:
    if not leaf.has_column(field):
        return np.zeros(leaf.doc_count_all(), np.int64)
    return np.array(list(leaf.column_reader(field, translate=False)), dtype=np.float64)


def _common(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The values in both of two sorted arrays without repeats (no sorting needed)."""
    if len(a) > len(b):
        a, b = b, a
    if not len(a):
        return a
    at = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return a[b[at] == a]
