"""Whoosh 2.7.5's segment files read as arrays: posting blocks, lengths, columns.

The only module that knows Whoosh's private layout (which is why ``whoosh-reloaded`` is
pinned exactly). A term's posting list is one or more blocks: each block is its byte length
(negative for the last), a pickled summary and the pickled, zlib-compressed tuple (document
number deltas, weights, values); short lists are kept inline in the term dictionary. A
positional field's value is the term's positions in the document, pickled as deltas.

Two readers use this: the sidecar writer (``kb.search.whoosh_arrays``), which reads every
list of a segment once, in batches of terms (``segment_batches``), and the matcher's
fallback for a segment without a sidecar, which reads the lists a query asks for.
"""

from __future__ import annotations

import io
import os
import pickle
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import Any

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, WHOOSH3_HEADER_MAGIC, _lenfield
from whoosh.filedb.compound import SubFile
from whoosh.formats import Positions
from whoosh.reading import SegmentReader
from whoosh.system import _INT_SIZE, unpack_int

#: How a pickle (protocol 2) of a list of deltas starts: protocol, empty list, memo 0.
_PICKLED_LIST = b"\x80\x02]q\x00"
_MARK, _APPENDS, _APPEND = ord("("), ord("e"), ord("a")
_BININT1, _BININT2, _BININT = ord("K"), ord("M"), ord("J")
#: A block's values in its pickle: the function each is made with, its memo numbers.
_ENCODE = b"c_codecs\nencode\n"
_LATIN1 = b"latin1"
_GLOBAL, _BINGET, _BINUNICODE = ord("c"), ord("h"), ord("X")
_BINPUT, _LONG_BINPUT, _TUPLE2, _REDUCE = ord("q"), ord("r"), 0x86, ord("R")
_TUPLE, _SMALL_TUPLES = ord("t"), [0x85, 0x86, 0x87]
#: Closes a pickle cut before its values: an empty tuple, the 3-tuple, stop.
_CLOSE = b")\x87."
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


@dataclass
class Batch:
    """Consecutive terms of a segment, decoded together: each term's field and text, its
    number of postings and whether its field keeps positions; their postings one after
    another (document numbers, weights) and the positions of the positional ones (each
    posting's number of positions, and all of them in posting order)."""

    terms: list[tuple[str, bytes]]
    counts: np.ndarray
    positional: np.ndarray
    docs: np.ndarray
    weights: np.ndarray
    occurrences: np.ndarray
    positions: np.ndarray


def segment_batches(leaf: SegmentReader, postings: int = 1 << 18) -> Iterator[Batch]:
    """Every term of a segment in the term dictionary's order (fields together, each
    field's terms sorted), in batches of about ``postings`` postings: a big segment is
    never decoded all at once. Blocks are read with ``os.pread`` where the postings lie
    in a real file, and their deltas and positions are decoded per batch in numpy."""
    positional = {
        name: isinstance(leaf.schema[name].format, Positions) for name in leaf.indexed_field_names()
    }
    read = _reader(leaf._terms._postfile)
    batch = _Gatherer()
    for (field, btext), info in leaf._terms.items():
        with_values = positional.get(field, False)
        batch.term(field, btext, with_values)
        if info.is_inlined():  # a short list kept in the term dictionary itself
            ids, weights, vals = info.inlined_postings()
            batch.block(ids, weights, list(vals), absolute=True)
        else:
            offset, size = info.extent()
            size = size[0] if isinstance(size, tuple) else size  # Whoosh 2.7: a 1-tuple
            for _count, ids, weights, vals in _blocks(read(offset, size), with_values):
                batch.block(ids, weights, vals, absolute=False)
        if len(batch.ids) >= postings:
            yield batch.done()
            batch = _Gatherer()
    if batch.terms:
        yield batch.done()


class _Gatherer:
    """One batch as it is read: typed buffers, a block's ids as Whoosh stored them, and
    the values of positional postings either as a list (unpickled) or still packed in
    their block (``_Packed``)."""

    def __init__(self) -> None:
        self.terms: list[tuple[str, bytes]] = []
        self.positional = array("b")
        self.counts = array("q")
        self.ids = array("i")
        self.weights = array("f")
        self.block_sizes = array("q")
        self.absolute = array("b")
        self.listed: list[bytes] = []
        self.packed: list[_Packed] = []
        self.is_packed = array("b")
        self._with_values = False

    def term(self, field: str, btext: bytes, positional: bool) -> None:
        self.terms.append((field, btext))
        self.positional.append(positional)
        self.counts.append(0)
        self._with_values = positional

    def block(self, ids: Any, weights: Any, values: Any, absolute: bool) -> None:
        count = len(ids)
        if not count:
            return
        self.ids.extend(ids)
        if weights is None:
            self.weights.extend(array("f", [1.0]) * count)
        elif isinstance(weights, float):
            self.weights.extend([weights] * count)
        else:
            self.weights.extend(weights)
        if self._with_values:
            packed = isinstance(values, _Packed)
            if packed:
                self.packed.append(values)
            else:
                self.listed.extend(values)
            self.is_packed.extend(array("b", [packed]) * count)
        self.counts[-1] += count
        self.block_sizes.append(count)
        self.absolute.append(absolute)

    def done(self) -> Batch:
        """The batch with document numbers (each block's deltas, the first from 0, summed;
        an inlined list's numbers kept) and positions."""
        raw = np.frombuffer(self.ids, np.int32).astype(np.int64)
        sizes = np.frombuffer(self.block_sizes, np.int64)
        deltas = raw.copy()
        absolute = np.repeat(np.frombuffer(self.absolute, np.int8).astype(bool), sizes)
        inside = absolute[1:].copy()
        starts = _firsts(sizes)
        deltas[1:][inside] -= raw[:-1][inside]
        deltas[starts] = raw[starts]
        occurrences, positions = self._positions()
        return Batch(
            terms=self.terms,
            counts=np.frombuffer(self.counts, np.int64),
            positional=np.frombuffer(self.positional, np.int8).astype(bool),
            docs=_within(deltas, sizes).astype(np.int32),
            weights=np.frombuffer(self.weights, np.float32),
            occurrences=occurrences,
            positions=positions,
        )

    def _positions(self) -> tuple[np.ndarray, np.ndarray]:
        """The positional postings' values, packed and listed, decoded in posting order."""
        packed, packed_sizes = _unpack(self.packed)
        listed = b"".join(self.listed)
        buf = _padded(packed + listed)
        is_packed = np.frombuffer(self.is_packed, np.int8).astype(bool)
        sizes = np.zeros(len(is_packed), np.int64)
        starts = np.zeros(len(is_packed), np.int64)
        sizes[is_packed] = packed_sizes
        starts[is_packed] = _firsts(packed_sizes)
        listed_sizes = np.fromiter(map(len, self.listed), np.int64, len(self.listed))
        sizes[~is_packed] = listed_sizes
        starts[~is_packed] = len(packed) + _firsts(listed_sizes)
        if not len(sizes):
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return _decode_values(buf, starts, sizes)


class _Packed:
    """A block's values still in its pickle: the block, where its values begin and how
    many there are (unpacked for a whole batch at once by ``_unpack``)."""

    __slots__ = ("block", "count", "start")

    def __init__(self, block: bytes, start: int, count: int) -> None:
        self.block, self.start, self.count = block, start, count


def _reader(postfile: Any) -> Any:
    """A function reading (offset, size) of the postings file: ``os.pread`` on the
    segment's file where Whoosh reads it as a part of one (a quarter of the time of a
    whole segment's read went to Whoosh's seek-and-read layers)."""
    part = getattr(postfile, "file", None)
    base = getattr(part, "_file", None)
    if isinstance(part, SubFile) and hasattr(base, "fileno"):
        fileno, start = base.fileno(), part._offset
        return lambda offset, size: os.pread(fileno, size, start + offset)
    return postfile.get


def _blocks(raw: bytes, packed: bool = False) -> Iterator[tuple[int, Any, Any, Any]]:
    """A posting list's blocks: (count, id deltas, weights, values) as Whoosh pickled them;
    with ``packed``, a block's values are left in its pickle (``_Packed``) where it has
    the usual shape: unpickling them was most of the time of reading a block."""
    stream = io.BytesIO(raw)
    stream.seek(len(WHOOSH3_HEADER_MAGIC))
    while True:
        start = stream.tell()
        length = unpack_int(stream.read(_INT_SIZE))[0]
        end = start + _INT_SIZE + abs(length)
        count, _, _, compressed, _, _ = pickle.load(stream)  # noqa: S301 - Whoosh's own format
        data = raw[stream.tell() : end]
        block = zlib.decompress(data) if compressed else data
        yield count, *(_split(block, count) if packed else pickle.loads(block))  # noqa: S301
        if length < 0:
            return
        stream.seek(end)


def _split(block: bytes, count: int) -> tuple[Any, Any, Any]:
    """A block's id deltas and weights unpickled, its values left packed: the pickle is
    cut where the values' tuple begins (a tuple of 4 or more opens with a mark) and closed
    with an empty one."""
    at = block.find(_ENCODE)
    if count >= 4:
        at -= 1
    if at < 2 or (count >= 4 and block[at] != _MARK):
        return pickle.loads(block)  # noqa: S301 - the index's own
    deltas, weights, _ = pickle.loads(block[:at] + _CLOSE)  # noqa: S301 - the index's own
    return deltas, weights, _Packed(block, at, count)


def _unpack(blocks: list[_Packed]) -> tuple[bytes, np.ndarray]:
    """The values of packed blocks, one after another, and each value's size.

    A block's values are pickled (protocol 2) as ``_codecs.encode(text, "latin1")``, the
    text in UTF-8: the pickles of all blocks are walked at once, one value per step, and
    the texts turned back into bytes in numpy. A batch where any block has another shape
    is unpickled instead.
    """
    if not blocks:
        return b"", np.zeros(0, np.int64)
    found = _walk(blocks)
    if found is None:
        return _unpack_by_pickle(blocks)
    buf, starts, sizes = found
    if not sizes.all():
        return _unpack_by_pickle(blocks)
    edges = np.zeros(len(buf) + 1, np.int8)
    edges[starts] = 1
    edges[starts + sizes] = -1
    text = buf[np.cumsum(edges[:-1], dtype=np.int8).view(bool)]
    lead = text >= 0xC0  # a character of 128-255 is two bytes in UTF-8
    leads = np.flatnonzero(lead)
    follows = text[leads + 1] if len(leads) else text[:0]
    high = np.flatnonzero(text >= 0x80)
    if (
        (len(leads) and leads[-1] + 1 >= len(text))
        or np.any((text[leads] != 0xC2) & (text[leads] != 0xC3))
        or np.any((follows & 0xC0) != 0x80)
        or len(high) != 2 * len(leads)
    ):
        return _unpack_by_pickle(blocks)
    text = text.copy()
    text[leads + 1] = ((text[leads] & 0x03) << 6) | (follows & 0x3F)
    in_lead = np.zeros(len(sizes), np.int64)
    if len(leads):
        owner = np.searchsorted(_firsts(sizes), leads, "right") - 1
        in_lead = np.bincount(owner, minlength=len(sizes))
    return text[~lead].tobytes(), sizes - in_lead


def _unpack_by_pickle(blocks: list[_Packed]) -> tuple[bytes, np.ndarray]:
    """``_unpack`` by unpickling each block again."""
    values = [v for b in blocks for v in pickle.loads(b.block)[2]]  # noqa: S301
    return b"".join(values), np.fromiter(map(len, values), np.int64, len(values))


def _walk(blocks: list[_Packed]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Where each packed value's text lies in the blocks joined, and its length in UTF-8;
    None if a block strays from the usual shape. A value is pickled as the global
    ``_codecs.encode`` (or a memo get of it), its text, the text ``latin1`` (or a get),
    a 2-tuple, a reduce, each object followed by a memo put (a value pickled twice would
    be one memo get: then the text does not follow, and the shape is not the usual)."""
    sizes = np.fromiter((len(b.block) for b in blocks), np.int64, len(blocks))
    buf = _padded(b"".join(b.block for b in blocks), 32)
    limit = len(buf) - 32
    counts = np.fromiter((b.count for b in blocks), np.int64, len(blocks))
    cursor = _firsts(sizes) + np.fromiter((b.start for b in blocks), np.int64, len(blocks))
    several = counts >= 4
    cursor += several  # the mark
    first = _firsts(counts)
    starts = np.zeros(int(counts.sum()), np.int64)
    lengths = np.zeros(len(starts), np.int64)
    active = np.arange(len(blocks))
    step = 0
    while len(active):
        at = cursor[active]
        code = buf[at]
        fresh = code == _GLOBAL  # the first value names the function, the others get it
        ok = fresh | (code == _BINGET)
        at = at + np.where(fresh, len(_ENCODE), 2)
        at, ok = _put(buf, at, ok, fresh)
        ok &= buf[at] == _BINUNICODE
        length = _uint32(buf, at + 1)
        starts[first[active] + step] = at + 5
        lengths[first[active] + step] = length
        at = np.minimum(at + 5 + length, limit)
        at, ok = _put(buf, at, ok)
        fresh = buf[at] == _BINUNICODE
        ok &= fresh | (buf[at] == _BINGET)
        ok &= ~fresh | (_uint32(buf, at + 1) == len(_LATIN1))
        at = at + np.where(fresh, 5 + len(_LATIN1), 2)
        at, ok = _put(buf, at, ok, fresh)
        ok &= buf[at] == _TUPLE2
        at, ok = _put(buf, at + 1, ok)
        ok &= buf[at] == _REDUCE
        at, ok = _put(buf, at + 1, ok)
        if not ok.all():
            return None
        cursor[active] = at
        step += 1
        active = active[counts[active] > step]
    closing = np.select([counts == 1, counts == 2, counts == 3], _SMALL_TUPLES, _TUPLE)
    if np.any(buf[cursor] != closing) or np.any(cursor > limit):
        return None
    return buf, starts, lengths


def _put(
    buf: np.ndarray, at: np.ndarray, ok: np.ndarray, where: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Past a memo put (2 or 5 bytes) at ``at`` (only ``where`` given)."""
    code = buf[at]
    width = np.where(code == _BINPUT, 2, np.where(code == _LONG_BINPUT, 5, 0))
    if where is not None:
        width = np.where(where, width, 0)
        ok = ok & (~where | (width > 0))
    else:
        ok = ok & (width > 0)
    return np.minimum(at + width, len(buf) - 32), ok


def _uint32(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    at = np.minimum(at, len(buf) - 5)
    value = np.zeros(len(at), np.int64)
    for byte in (3, 2, 1, 0):
        value = (value << 8) | buf[at + byte]
    return value


def _padded(data: bytes, spare: int = 8) -> np.ndarray:
    return np.frombuffer(data + b"\0" * spare, np.uint8)


def _firsts(counts: np.ndarray) -> np.ndarray:
    """Where each of consecutive runs of ``counts`` starts."""
    firsts = np.zeros(len(counts), np.int64)
    np.cumsum(counts[:-1], out=firsts[1:])
    return firsts


def decode_positions(values: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Each ``Positions`` value's number of positions, and all the positions in order.

    A value is a count (4 bytes) and the pickled list of deltas: the pickles are parsed
    for all values at once, one list item per step (``pickle.loads`` per value was half
    the time of writing a sidecar). A value of another shape is unpickled.
    """
    if not values:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sizes = np.fromiter(map(len, values), np.int64, len(values))
    return _decode_values(_padded(b"".join(values)), _firsts(sizes), sizes)


def _decode_values(
    buf: np.ndarray, starts: np.ndarray, sizes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``decode_positions`` of the values at ``starts`` (``sizes`` long) in ``buf`` (which
    has 8 bytes to spare at its end)."""
    head = len(_PICKLED_LIST) + _INT_SIZE
    regular = sizes >= head + 3
    at = np.where(regular, starts, 0)
    counts = np.zeros(len(sizes), np.int64)
    for byte in range(_INT_SIZE):  # the count, big-endian
        counts = (counts << 8) | buf[at + byte]
    for place, byte in enumerate(_PICKLED_LIST, _INT_SIZE):
        regular &= buf[at + place] == byte
    regular &= (counts >= 1) & (counts <= _PICKLE_BATCH)
    several = counts >= 2
    regular &= ~several | (buf[at + head] == _MARK)
    cursor = starts + head + several
    ends = np.zeros(len(sizes), np.int64)
    deltas = np.zeros(int(counts[regular].sum()), np.int64)
    first = np.zeros(len(sizes), np.int64)
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
        value = buf[starts[number] : starts[number] + sizes[number]].tobytes()
        found = np.array(_decode_one(value), np.int64)
        counts[number] = len(found)
        parts.append(found)
    positions = np.zeros(int(counts.sum()), np.int64)
    placed = _firsts(counts)
    kept = np.flatnonzero(regular)
    if len(kept):
        mine = deltas[_spans(first[kept], counts[kept])]
        positions[_spans(placed[kept], counts[kept])] = _within(mine, counts[kept])
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
    ids: list[int] = []
    weights: list[float] = []
    found: list[bytes] = []
    for count, deltas, block_weights, block_values in _blocks(
        leaf._terms._postfile.get(offset, size)
    ):
        ids.extend(accumulate(deltas))  # each block's first delta is from 0
        if block_weights is None:
            weights.extend([1.0] * count)
        elif isinstance(block_weights, float):
            weights.extend([block_weights] * count)
        else:
            weights.extend(block_weights)
        if values:
            found.extend(block_values)
    return ids, weights, found


def _decode_one(value: bytes) -> list[int]:
    """Whoosh's ``Positions`` value: a count, then the pickled deltas."""
    deltas = pickle.loads(value[_INT_SIZE:] + (b"" if value.endswith(b".") else b"."))  # noqa: S301
    return list(accumulate(deltas))
