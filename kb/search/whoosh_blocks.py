"""Whoosh 2.7.5's segment files read as arrays: posting blocks, lengths, columns.

The only module that knows Whoosh's private layout (which is why ``whoosh-reloaded`` is
pinned exactly). A term's posting list is one or more blocks: each block is its byte length
(negative for the last), a pickled summary and the pickled, zlib-compressed tuple (document
number deltas, weights, values); short lists are kept inline in the term dictionary. A
positional field's value is the term's positions in the document, pickled as deltas.

Two readers use this: the sidecar writer (``kb.search.whoosh_arrays``), which reads every
list of a segment once, and the matcher's fallback for a segment without a sidecar, which
reads the lists a query asks for.
"""

from __future__ import annotations

import io
import pickle
import zlib
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, _lenfield
from whoosh.formats import Positions
from whoosh.reading import SegmentReader
from whoosh.system import _INT_SIZE, unpack_int

#: How a pickle (protocol 2) of a list of deltas starts: protocol, empty list, memo 0.
_PICKLED_LIST = b"\x80\x02]q\x00"
_MARK, _APPENDS, _APPEND = ord("("), ord("e"), ord("a")
_BININT1, _BININT2, _BININT = ord("K"), ord("M"), ord("J")
#: Pickle appends a list's items in batches of this many.
_PICKLE_BATCH = 1000
EMPTY_IDS = np.zeros(0, np.int32)
EMPTY_WEIGHTS = np.zeros(0, np.float32)


def postings(leaf: SegmentReader, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    """One segment's posting list of a term: (document numbers, weights)."""
    if (field, btext) not in leaf:
        return EMPTY_IDS, EMPTY_WEIGHTS
    ids, weights, _ = _term_postings(leaf, leaf._terms.term_info(field, btext), values=False)
    return np.array(ids, np.int32), np.array(weights, np.float32)


def positions(leaf: SegmentReader, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
    """One segment's (document, position) pairs of a term, one pair per occurrence."""
    if (field, btext) not in leaf:
        return EMPTY_IDS, EMPTY_IDS
    ids, _, values = _term_postings(leaf, leaf._terms.term_info(field, btext), values=True)
    counts, places = decode_positions(values)
    return np.repeat(np.array(ids, np.int32), counts), places.astype(np.int32)


def segment_postings(
    leaf: SegmentReader,
) -> Iterator[tuple[str, bytes, list[int], list[float], list[bytes] | None]]:
    """Every term of a segment in the term dictionary's order (fields together, each
    field's terms sorted): field, term, document numbers, weights, and for a positional
    field each posting's value (its positions, for ``decode_positions``)."""
    positional = {
        name: isinstance(leaf.schema[name].format, Positions) for name in leaf.indexed_field_names()
    }
    for (field, btext), info in leaf._terms.items():
        with_values = positional.get(field, False)
        ids, weights, values = _term_postings(leaf, info, values=with_values)
        yield field, btext, ids, weights, values if with_values else None


def decode_positions(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Each ``Positions`` value's number of positions, and all the positions in order.

    A value is a count (4 bytes) and the pickled list of deltas: the pickles are parsed
    for all values at once, one list item per step (``pickle.loads`` per value was half
    the time of writing a sidecar). A value of another shape is unpickled.
    """
    if not values:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sizes = np.fromiter(map(len, values), np.int64, len(values))
    buf = np.frombuffer(b"".join(values) + b"\0" * 8, np.uint8)
    starts = np.zeros(len(values), np.int64)
    np.cumsum(sizes[:-1], out=starts[1:])
    head = len(_PICKLED_LIST) + _INT_SIZE
    regular = sizes >= head + 3
    at = np.where(regular, starts, 0)
    counts = np.zeros(len(values), np.int64)
    for byte in range(_INT_SIZE):  # the count, big-endian
        counts = (counts << 8) | buf[at + byte]
    for place, byte in enumerate(_PICKLED_LIST, _INT_SIZE):
        regular &= buf[at + place] == byte
    regular &= (counts >= 1) & (counts <= _PICKLE_BATCH)
    several = counts >= 2
    regular &= ~several | (buf[at + head] == _MARK)
    cursor = starts + head + several
    ends = np.zeros(len(values), np.int64)
    deltas = np.zeros(int(counts[regular].sum()), np.int64)
    first = np.zeros(len(values), np.int64)
    np.cumsum(np.where(regular, counts, 0)[:-1], out=first[1:])
    active = np.flatnonzero(regular)
    step = 0
    while len(active):
        here = cursor[active]
        code = buf[here]
        one, two = buf[here + 1].astype(np.int64), buf[here + 2].astype(np.int64)
        four = (buf[here + 4].astype(np.int64) << 24) | (buf[here + 3].astype(np.int64) << 16)
        value = np.where(code == _BININT1, one, np.where(code == _BININT2, one | two << 8, 0))
        value = np.where(code == _BININT, (four | (two << 8) | one).astype(np.int32), value)
        width = np.select([code == _BININT1, code == _BININT2, code == _BININT], [2, 3, 5], 0)
        known = width > 0
        regular[active[~known]] = False
        deltas[first[active] + step] = value
        cursor[active] = here + width
        step += 1
        finished = known & (counts[active] <= step)
        ends[active[finished]] = cursor[active[finished]]
        active = active[known & ~finished]
    closing = np.where(several, _APPENDS, _APPEND)
    regular &= buf[np.where(regular, ends, 0)] == closing
    regular &= ends < starts + sizes
    odd = np.flatnonzero(~regular)
    if len(odd) == 0:
        return counts, _within(deltas, counts)
    # Values of another shape: unpickled one by one, then all put in order.
    parts: list[np.ndarray] = []
    for number in odd.tolist():
        found = np.array(_decode_one(values[number]), np.int64)
        counts[number] = len(found)
        parts.append(found)
    positions = np.zeros(int(counts.sum()), np.int64)
    placed = np.zeros(len(values), np.int64)
    np.cumsum(counts[:-1], out=placed[1:])
    kept = np.flatnonzero(regular)
    if len(kept):
        positions[_spans(placed[kept], counts[kept])] = _within(deltas, counts[kept])
    for number, found in zip(odd.tolist(), parts, strict=True):
        positions[placed[number] : placed[number] + len(found)] = found
    return counts, positions


def _within(deltas: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Positions from deltas that start again at each value."""
    total = np.cumsum(deltas)
    firsts = np.zeros(len(counts), np.int64)
    np.cumsum(counts[:-1], out=firsts[1:])
    return total - np.repeat(total[firsts] - deltas[firsts], counts)


def _spans(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The indexes start, start + 1, ... of each (start, count), one after another."""
    firsts = np.zeros(len(counts), np.int64)
    np.cumsum(counts[:-1], out=firsts[1:])
    return np.arange(int(counts.sum())) - np.repeat(firsts - starts, counts)


def lengths(leaf: SegmentReader, field: str) -> np.ndarray | None:
    """A segment's per-document length codes of a field: Whoosh's one-byte length column
    (None for a field that is not scored)."""
    if field not in leaf.schema or not leaf.schema[field].scorable:
        return None
    column = leaf._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    codes = np.zeros(leaf.doc_count_all(), np.uint8)
    if column is not None:  # None: no document of this segment has the field
        raw = np.frombuffer(column._dbfile.get(column._basepos, column._count), np.uint8)
        codes[: len(raw)] = raw[: len(codes)]
    return codes


def column(leaf: SegmentReader, field: str) -> np.ndarray:
    """Every document's value of a sortable numeric column (0 where it has none)."""
    if not leaf.has_column(field):
        return np.zeros(leaf.doc_count_all(), np.float64)
    return np.array(list(leaf.column_reader(field, translate=False)), dtype=np.float64)


def _term_postings(
    leaf: SegmentReader, info: Any, values: bool
) -> tuple[list[int], list[float], list[bytes]]:
    """A term's document numbers, weights and (if asked) raw values, from its term info."""
    if info.is_inlined():  # a short list kept in the term dictionary itself
        ids, weights, vals = info.inlined_postings()
        return list(ids), list(weights), list(vals) if values else []
    offset, size = info.extent()
    size = size[0] if isinstance(size, tuple) else size  # Whoosh 2.7 reads it back as a 1-tuple
    raw = leaf._terms._postfile.get(offset, size)
    stream = io.BytesIO(raw)
    stream.seek(len(WHOOSH3_HEADER_MAGIC))
    ids: list[int] = []
    weights: list[float] = []
    found: list[bytes] = []
    while True:
        start = stream.tell()
        length = unpack_int(stream.read(_INT_SIZE))[0]
        end = start + _INT_SIZE + abs(length)
        count, _, _, compressed, _, _ = pickle.load(stream)  # noqa: S301 - Whoosh's own format
        data = raw[stream.tell() : end]
        block = zlib.decompress(data) if compressed else data
        deltas, block_weights, block_values = pickle.loads(block)  # noqa: S301 - the index's
        ids.extend(accumulate(deltas))  # each block's first delta is from 0
        if block_weights is None:
            weights.extend([1.0] * count)
        elif isinstance(block_weights, float):
            weights.extend([block_weights] * count)
        else:
            weights.extend(block_weights)
        if values:
            found.extend(block_values)
        if length < 0:
            return ids, weights, found
        stream.seek(end)


def _decode_one(value: bytes) -> list[int]:
    """Whoosh's ``Positions`` value: a count, then the pickled deltas."""
    deltas = pickle.loads(value[_INT_SIZE:] + (b"" if value.endswith(b".") else b"."))  # noqa: S301
    return list(accumulate(deltas))
