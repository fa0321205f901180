"""Each Whoosh segment's posting lists as raw arrays in one memory-mapped file beside it.

Whoosh 2.7 keeps a posting list as blocks of pickled, zlib-compressed tuples: unpickling
them was ~40 % of a cold query, and every worker kept its own decoded copy. A segment
never changes once written (deletions are kept apart, in the table of contents), so after
each commit its lists are written once more, as arrays, to ``arrays/<segment>.arrays``
in the index folder; every worker maps that file read-only, so the pages are shared
through the page cache and a query unpickles nothing. Whoosh's index stays the system of
record: a sidecar is derived from it and rebuilt from it when missing.

One file per segment: a header (magic, format version, length of the manifest), a JSON
manifest (format version, index, segment id, document count, the segment files' sizes, and
where each array lies), then the arrays, each 64-byte aligned. The file is written under a
temporary name and renamed, so a reader never sees half of one; a reader uses it only if the
manifest names this format, this segment and its document count and files, so a stale or
foreign file is never used (the matcher then reads Whoosh's blocks for that segment).

The arrays: the terms in the term dictionary's order (each field's terms together, sorted),
their keys (field and term) in one byte string, each term's first 8 bytes as a sortable
number (prefix expansion is two ``searchsorted``), a sorted 64-bit hash of each key with the term it
belongs to (a lookup is one ``searchsorted``; the key is compared, so a collision is
harmless), the postings of all terms (segment-local document numbers, int32, and weights,
float32) with each term's start, the positions of positional fields (uint16 or int32, in
posting order: a posting has as many as its weight), per scored field the one-byte length
codes, per facet field each posting's value number, and the sortable columns.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import mmap
import multiprocessing
import os
import struct
import tempfile
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from whoosh.fields import ID, KEYWORD, NUMERIC
from whoosh.filedb.filestore import FileStorage
from whoosh.reading import SegmentReader

from kb.search import whoosh_blocks

log = logging.getLogger(__name__)

#: Bump when what a sidecar holds or how it is laid out changes: older files are ignored
#: (and replaced), never read.
FORMAT_VERSION = 1
MAGIC = b"KBARRAYS"
SUFFIX = ".arrays"
FOLDER = "arrays"
_HEADER = struct.Struct("<8sIQ")  # magic, format version, manifest length
_ALIGN = 64
#: Fields whose postings are not facets though they are not scored: one term per document.
_NOT_FACETS = frozenset({"id"})
#: After a write, segments up to this size get their sidecar at once (milliseconds);
#: bigger ones (merges) in the background.
BUILD_NOW_DOCS = 2_000
#: A posting list's array of at least this many bytes is read through the mapping; a
#: shorter one with ``pread`` (``SegmentArrays._list``). At 100,000 cases no list the
#: bench reads is this long: 64 KB still left 103 MB of long lists mapped in 4 workers
#: (phrases' positions, common words' postings) at the same CPU per query.
MAPPED_FROM = 1024 * 1024
#: Term numbers each segment remembers (a small table: the terms searches ask for).
TERMS_REMEMBERED = 50_000
_UNKNOWN = object()
#: How the processes of a parallel build start: forked where possible (a spawned one would
#: import the whole app again, seconds, and the caller's main module).
_START_METHOD = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
#: Separates a field from its term in a key (never a byte of UTF-8).
_SEPARATOR = b"\xff"


def term_key(field: str, btext: bytes) -> bytes:
    return field.encode("utf-8") + _SEPARATOR + btext


def key_hash(key: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")


class SegmentArrays:
    """One segment's sidecar, mapped read-only: the matcher's reads as array slices."""

    def __init__(
        self,
        manifest: dict[str, Any],
        arrays: dict[str, np.ndarray],
        file: _File | None = None,
    ) -> None:
        self.manifest = manifest
        #: The sidecar opened for positional reads of short lists (``_list``), if any.
        self._file = file
        self.doc_count: int = manifest["doc_count"]
        self.fields: dict[str, tuple[int, int]] = {
            name: tuple(span) for name, span in manifest["fields"].items()
        }
        self.facet_values: dict[str, list[str]] = manifest["facets"]
        self._scored = frozenset(manifest["scored"])
        self._arrays = arrays
        self._hashes = arrays["hashes"]
        self._hash_terms = arrays["hash_terms"]
        self._key_ends = arrays["key_ends"]
        self._keys = arrays["keys"]
        self._heads = arrays["heads"]
        self._terms: dict[tuple[str, bytes], int | None] = {}
        self._starts = arrays["post_starts"]
        self._pos_starts = arrays["pos_starts"]
        self.docs = arrays["docs"]
        self.weights = arrays["weights"]
        self.positions = arrays["positions"]

    def term(self, field: str, btext: bytes) -> int | None:
        """The term's number in this segment, or None (remembered: a search asks for a
        term's frequency, then its postings)."""
        found = self._terms.get((field, btext), _UNKNOWN)
        if found is _UNKNOWN:
            if len(self._terms) >= TERMS_REMEMBERED:
                self._terms.clear()
            found = self._terms[(field, btext)] = self._find(field, btext)
        return found

    def _find(self, field: str, btext: bytes) -> int | None:
        key = term_key(field, btext)
        wanted = key_hash(key)
        # The array's own method: ``np.searchsorted`` costs 3 µs more a call in dispatch,
        # and a search looks up hundreds of terms (each word in each language and field).
        at = int(self._hashes.searchsorted(np.uint64(wanted)))
        while at < len(self._hashes) and int(self._hashes[at]) == wanted:
            term = int(self._hash_terms[at])
            if self._key(term) == key:
                return term
            at += 1
        return None

    def expand_prefix(self, field: str, prefix: bytes, limit: int | None = None) -> list[bytes]:
        """The field's terms that start with ``prefix``, sorted (the first ``limit``)."""
        span = self.fields.get(field)
        if span is None:
            return []
        first, end = span
        heads = self._heads[first:end]
        low = int(heads.searchsorted(np.uint64(_head(prefix, 0)), "left"))
        high = int(heads.searchsorted(np.uint64(_head(prefix, 0xFF)), "right"))
        found = []
        for term in range(first + low, first + high):
            key = self._key(term)
            if key.startswith(prefix, len(field.encode("utf-8")) + 1):  # beyond 8 bytes
                found.append(key.partition(_SEPARATOR)[2])
                if limit is not None and len(found) >= limit:
                    break
        return found

    def _key(self, term: int) -> bytes:
        start = int(self._key_ends[term - 1]) if term else 0
        return self._keys[start : int(self._key_ends[term])].tobytes()

    def doc_frequency(self, field: str, btext: bytes) -> int:
        term = self.term(field, btext)
        return 0 if term is None else int(self._starts[term + 1] - self._starts[term])

    def postings(self, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        term = self.term(field, btext)
        if term is None:
            return whoosh_blocks.EMPTY_IDS, whoosh_blocks.EMPTY_WEIGHTS
        start, end = int(self._starts[term]), int(self._starts[term + 1])
        return self._list("docs", start, end), self._list("weights", start, end)

    def positions_of(self, field: str, btext: bytes) -> tuple[np.ndarray, np.ndarray]:
        """(document, position) pairs, one per occurrence (empty for an unpositioned field)."""
        term = self.term(field, btext)
        if term is None:
            return whoosh_blocks.EMPTY_IDS, whoosh_blocks.EMPTY_IDS
        start, end = int(self._starts[term]), int(self._starts[term + 1])
        first, last = int(self._pos_starts[term]), int(self._pos_starts[term + 1])
        if first == last:
            return whoosh_blocks.EMPTY_IDS, whoosh_blocks.EMPTY_IDS
        counts = self._list("weights", start, end).astype(np.int64)
        return np.repeat(self._list("docs", start, end), counts), self._list(
            "positions", first, last
        )

    def _list(self, name: str, start: int, end: int) -> np.ndarray:
        """``self._arrays[name][start:end]``: a view of the mapping when it is long, else
        read with ``pread``. Touching a mapped page makes the kernel map its neighbours
        too (fault-around, 64 KB), so a list of a few postings counted 64 KB of each of
        its arrays in the worker's memory: at 100,000 cases the first search mapped
        95 MB of postings to read 4.4 MB. Read, a list is a copy the search lets go of;
        the page cache that all workers share keeps it either way. Only a long list is
        worth mapping: copying it would cost more than its faults."""
        values = self._arrays[name]
        size = (end - start) * values.itemsize
        if self._file is None or size >= MAPPED_FROM or size == 0:
            return values[start:end]
        data = os.pread(self._file.fd, size, self._file.offsets[name] + start * values.itemsize)
        return np.frombuffer(data, values.dtype)

    def lengths(self, field: str) -> np.ndarray | None:
        """The field's one-byte length codes (0 where a document lacks the field); None
        where the field is not scored."""
        found = self._arrays.get(f"lengths:{field}")
        if found is None and field in self._scored:
            found = self._arrays[f"lengths:{field}"] = np.zeros(self.doc_count, np.uint8)
        return found

    def facet(self, field: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(values, documents, each document's value number) of a keyword field."""
        values = self.facet_values.get(field)
        if not values:
            return [], whoosh_blocks.EMPTY_IDS, whoosh_blocks.EMPTY_IDS
        first, end = self.fields[field]
        start, stop = int(self._starts[first]), int(self._starts[end])
        return values, self.docs[start:stop], self._arrays[f"facet:{field}"]

    def column(self, field: str) -> np.ndarray | None:
        return self._arrays.get(f"column:{field}")


# -- writing -------------------------------------------------------------------------------


def build(
    leaf: SegmentReader, index_name: str, files: dict[str, int], scratch: Path
) -> tuple[dict, dict[str, np.ndarray | Spool]]:
    """A segment's manifest and arrays, read from Whoosh's blocks a batch of terms at a
    time. The postings and positions go to spool files in ``scratch`` as they are
    decoded, so a big segment's arrays are never all in memory at once; the arrays per
    term, per document and per facet value stay in memory."""
    keys: list[bytes] = []
    fields: dict[str, list[int]] = {}
    post_counts: list[np.ndarray] = []
    pos_counts: list[np.ndarray] = []
    docs = Spool(scratch, np.int32)
    weights = Spool(scratch, np.float32)
    positions = Spool(scratch, np.int32)
    for batch in whoosh_blocks.segment_batches(leaf):
        for field, btext in batch.terms:
            number = len(keys)
            fields.setdefault(field, [number, number])[1] = number + 1
            keys.append(term_key(field, btext))
        docs.append(batch.docs)
        weights.append(batch.weights)
        post_counts.append(batch.counts)
        pos_counts.append(_add_positions(batch, positions))
    positions.narrow(np.uint16)
    arrays: dict[str, np.ndarray | Spool] = {}
    hashes = np.fromiter((key_hash(k) for k in keys), np.uint64, len(keys))
    order = np.argsort(hashes, kind="stable")
    arrays["hashes"] = hashes[order]
    arrays["hash_terms"] = order.astype(np.int32)
    arrays["key_ends"] = np.cumsum([len(k) for k in keys], dtype=np.int64)
    arrays["keys"] = np.frombuffer(b"".join(keys), np.uint8)
    arrays["heads"] = np.fromiter((_head(_term_bytes(k), 0) for k in keys), np.uint64, len(keys))
    arrays["post_starts"] = _starts(post_counts)
    arrays["docs"], arrays["weights"], arrays["positions"] = docs, weights, positions
    arrays["pos_starts"] = _starts(pos_counts)
    facets: dict[str, list[str]] = {}
    for field, (first, end) in fields.items():
        if leaf.schema[field].scorable:
            arrays[f"lengths:{field}"] = whoosh_blocks.lengths(leaf, field)
        elif isinstance(leaf.schema[field], ID | KEYWORD) and field not in _NOT_FACETS:
            facets[field] = [_term_text(keys[t]) for t in range(first, end)]
            counts = np.diff(arrays["post_starts"][first : end + 1])
            arrays[f"facet:{field}"] = np.repeat(np.arange(end - first, dtype=np.int32), counts)
    for field in leaf.schema.names():
        if isinstance(leaf.schema[field], NUMERIC) and leaf.has_column(field):
            arrays[f"column:{field}"] = whoosh_blocks.column(leaf, field)
    manifest = {
        "version": FORMAT_VERSION,
        "index": index_name,
        "segment": leaf.segment().segment_id(),
        "doc_count": leaf.doc_count_all(),
        "files": files,
        "fields": fields,
        "scored": sorted(leaf.schema.scorable_names()),
        "facets": facets,
    }
    return manifest, arrays


def _add_positions(batch: whoosh_blocks.Batch, positions: Spool) -> np.ndarray:
    """The batch's positions decoded and spooled; each term's number of them."""
    counts, places = batch.occurrences, batch.positions
    positions.append(places)
    per_posting = np.repeat(batch.positional, batch.counts)
    if not np.array_equal(counts, batch.weights[per_posting]):
        raise ValueError("a posting's weight is not its number of positions")
    ends = np.cumsum(batch.counts[batch.positional])
    totals = np.concatenate([[0], np.cumsum(counts)])
    per_term = np.zeros(len(batch.counts), np.int64)
    per_term[batch.positional] = totals[ends] - totals[ends - batch.counts[batch.positional]]
    return per_term


def _starts(counts: list[np.ndarray]) -> np.ndarray:
    """Where each term's run starts, and where the last ends."""
    return np.concatenate([[0], np.cumsum(np.concatenate([np.zeros(0, np.int64), *counts]))])


class Spool:
    """An array written in pieces to an unnamed temporary file, then copied into the sidecar
    in pieces: the postings of a big segment never all in memory at once."""

    #: Items copied at a time.
    PIECE = 1 << 20

    def __init__(self, folder: Path, dtype: Any) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._file = tempfile.TemporaryFile(dir=folder)  # noqa: SIM115 - closed by close()
        self._stored = np.dtype(dtype)
        self.dtype = self._stored
        self.size = 0
        self._low: int | float = 0
        self._high: int | float = 0

    @property
    def shape(self) -> tuple[int]:
        return (self.size,)

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def append(self, values: np.ndarray) -> None:
        if not len(values):
            return
        values = np.ascontiguousarray(values, self._stored)
        self._low = min(self._low, values.min())
        self._high = max(self._high, values.max())
        self._file.write(values.data)
        self.size += len(values)

    def narrow(self, dtype: Any) -> None:
        """Copy out as ``dtype`` if every value fits in it."""
        limits = np.iinfo(dtype)
        if limits.min <= self._low and self._high <= limits.max:
            self.dtype = np.dtype(dtype)

    def pieces(self) -> Iterator[np.ndarray]:
        self._file.flush()
        self._file.seek(0)
        left = self.size
        while left:
            count = min(left, self.PIECE)
            data = self._file.read(count * self._stored.itemsize)
            yield np.frombuffer(data, self._stored).astype(self.dtype, copy=False)
            left -= count

    def close(self) -> None:
        self._file.close()


def _term_text(key: bytes) -> str:
    return _term_bytes(key).decode("utf-8")


def _term_bytes(key: bytes) -> bytes:
    return key.partition(_SEPARATOR)[2]


def _head(btext: bytes, fill: int) -> int:
    """A term's first 8 bytes as a number that sorts as the terms do (short ones filled):
    the terms starting with a prefix lie between its fills with 0x00 and with 0xFF."""
    return int.from_bytes(btext[:8].ljust(8, bytes([fill])), "big")


def write(path: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray | Spool]) -> None:
    """The sidecar file, written under a temporary name and renamed into place (a spooled
    array is copied in pieces)."""
    layout: dict[str, list] = {}
    offset = 0
    for name, values in arrays.items():
        layout[name] = [values.dtype.str, offset, list(values.shape)]
        offset += _aligned(values.nbytes)
    head = json.dumps({**manifest, "arrays": layout}).encode("utf-8")
    start = _aligned(_HEADER.size + len(head))
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(_HEADER.pack(MAGIC, FORMAT_VERSION, len(head)) + head)
            out.write(b"\0" * (start - _HEADER.size - len(head)))
            for values in arrays.values():
                pieces = values.pieces() if isinstance(values, Spool) else [values]
                for piece in pieces:
                    out.write(np.ascontiguousarray(piece).data)
                out.write(b"\0" * (_aligned(values.nbytes) - values.nbytes))
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _aligned(size: int) -> int:
    return -(-size // _ALIGN) * _ALIGN


# -- reading -------------------------------------------------------------------------------


def load(path: Path, expected: dict[str, Any]) -> SegmentArrays | None:
    """The sidecar at ``path`` if it is whole and of this format, index, segment, document
    count and segment files (``expected``); else None. Reads only the header: the arrays
    are views of the mapped file."""
    try:
        with path.open("rb") as stream:
            magic, version, size = _HEADER.unpack(stream.read(_HEADER.size))
            if magic != MAGIC or version != FORMAT_VERSION or size > 2**24:
                return None
            manifest = json.loads(stream.read(size))
            if any(manifest.get(key) != value for key, value in expected.items()):
                return None
            start = _aligned(_HEADER.size + size)
            total = os.fstat(stream.fileno()).st_size
            mapped = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) if total else None
            arrays, offsets = {}, {}
            for name, (dtype, offset, shape) in manifest.pop("arrays").items():
                count = int(np.prod(shape))
                if start + offset + count * np.dtype(dtype).itemsize > total:
                    return None  # cut short: never used
                arrays[name] = np.frombuffer(mapped, dtype, count, start + offset).reshape(shape)
                offsets[name] = start + offset
            file = _File(os.dup(stream.fileno()), offsets)
    except (OSError, ValueError, struct.error, UnicodeDecodeError):
        return None
    try:
        return SegmentArrays(manifest, arrays, file)
    except KeyError:  # an array this version needs is missing
        return None


class _File:
    """A sidecar's descriptor for ``pread`` (no shared file offset, so a worker forked
    with it reads safely) and where each array starts; closed with the last reference."""

    def __init__(self, fd: int, offsets: dict[str, int]) -> None:
        self.fd = fd
        self.offsets = offsets
        weakref.finalize(self, os.close, fd)


class ArrayStore:
    """The sidecars of one index folder: found, checked, written after commits, and built
    in the background for a segment a worker finds without one."""

    def __init__(self, directory: Path, index_name: str) -> None:
        self.directory = Path(directory)
        self.folder = self.directory / FOLDER
        self.index_name = index_name
        self._pending: set[str] = set()
        self._lock = threading.Lock()
        self._builder: threading.Thread | None = None

    def path(self, segment_id: str) -> Path:
        return self.folder / f"{segment_id}{SUFFIX}"

    def expected(self, leaf: SegmentReader) -> dict[str, Any]:
        """What a sidecar of this segment must say of itself."""
        return {
            "version": FORMAT_VERSION,
            "index": self.index_name,
            "segment": leaf.segment().segment_id(),
            "doc_count": leaf.doc_count_all(),
            "files": self._files(leaf.segment().segment_id()),
        }

    def _files(self, segment_id: str) -> dict[str, int]:
        """The segment's files and their sizes: a segment of a reused name differs."""
        prefix = f"{segment_id}."
        found = {}
        with contextlib.suppress(OSError):
            for entry in os.scandir(self.directory):
                if entry.name.startswith(prefix):
                    found[entry.name] = entry.stat().st_size
        return found

    def open(self, leaf: SegmentReader) -> SegmentArrays | None:
        return load(self.path(leaf.segment().segment_id()), self.expected(leaf))

    def ensure(self, leaf: SegmentReader) -> None:
        """Write the segment's sidecar unless a valid one is there."""
        if self.open(leaf) is not None:
            return
        expected = self.expected(leaf)
        manifest, arrays = build(leaf, self.index_name, expected["files"], self.folder)
        try:
            write(self.path(expected["segment"]), manifest, arrays)
        finally:
            for values in arrays.values():
                if isinstance(values, Spool):
                    values.close()

    def update(self, reader: Any, open_reader: Any = None) -> None:
        """After a commit: a sidecar for each segment of ``reader`` that lacks one, and the
        sidecars of segments merged away removed. With ``open_reader``, a big segment
        (a merge) is left to the background, so that a request's write does not wait."""
        live = set()
        big = []
        for leaf, _ in reader.leaf_readers():
            if leaf.segment() is None:
                continue
            segment = leaf.segment().segment_id()
            live.add(segment)
            if leaf.doc_count_all() <= BUILD_NOW_DOCS:
                self.ensure(leaf)
            elif self.open(leaf) is not None:
                continue
            elif open_reader is not None:
                self.build_soon(segment, open_reader)
            else:
                big.append(segment)
        self._build_apart(big, reader)
        self.remove_others(live)

    def _build_apart(self, segments: list[str], reader: Any) -> None:
        """The sidecars of big segments, each in a process of its own where there are
        several (a multiprocess rebuild leaves one segment per process): the work is
        CPU-bound, so threads would only take turns."""
        processes = min(len(segments), os.cpu_count() or 1)
        if processes < 2:
            for segment in segments:
                self.ensure_segment(reader, segment)
            return
        context = multiprocessing.get_context(_START_METHOD)
        with ProcessPoolExecutor(processes, mp_context=context) as pool:
            jobs = [
                pool.submit(build_segment, str(self.directory), self.index_name, segment)
                for segment in segments
            ]
            for job in jobs:
                job.result()

    def ensure_segment(self, reader: Any, segment_id: str) -> None:
        """``ensure`` for the segment of ``reader`` named ``segment_id`` (none if merged away)."""
        for leaf, _ in reader.leaf_readers():
            if leaf.segment() is not None and leaf.segment().segment_id() == segment_id:
                self.ensure(leaf)

    def remove_others(self, live: Iterable[str]) -> None:
        """Remove the sidecars (and leftover temporary files) of segments not in ``live``."""
        keep = {self.path(segment).name for segment in live}
        with contextlib.suppress(FileNotFoundError):
            for entry in os.scandir(self.folder):
                mine = entry.name.startswith(f"{self.index_name}_") and entry.name.endswith(SUFFIX)
                if (mine and entry.name not in keep) or _stale_temporary(entry):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(entry.path)

    def build_soon(self, segment_id: str, open_reader: Any) -> None:
        """Build a missing sidecar in a background thread (one per process), from a reader
        of its own: a big segment takes seconds, which no request should wait for."""
        with self._lock:
            if segment_id in self._pending:
                return
            self._pending.add(segment_id)
            if self._builder is None or not self._builder.is_alive():
                self._builder = threading.Thread(
                    target=self._build_pending,
                    args=(open_reader,),
                    daemon=True,
                    name="kb-search-arrays",
                )
                self._builder.start()

    def wait(self, timeout: float | None = None) -> None:
        """Until the background builds are done (for tests and commands)."""
        builder = self._builder
        if builder is not None:
            builder.join(timeout)

    def _build_pending(self, open_reader: Any) -> None:
        while True:
            with self._lock:
                if not self._pending:
                    self._builder = None
                    return
                segment_id = next(iter(self._pending))
            try:
                reader = open_reader()
                try:
                    self.ensure_segment(reader, segment_id)
                finally:
                    reader.close()
            except Exception:  # the matcher keeps reading Whoosh's blocks
                log.exception("Could not write the search arrays of segment %s", segment_id)
            finally:
                with self._lock:
                    self._pending.discard(segment_id)


def build_segment(directory: str, index_name: str, segment_id: str) -> None:
    """Write one segment's sidecar from the index opened anew (file handles are not shared
    with the parent, and unmapped: Whoosh 2.7 copies a mapped segment file into memory):
    the work of a process of ``ArrayStore._build_apart``."""
    opened = FileStorage(directory, supports_mmap=False).open_index(index_name)
    try:
        reader = opened.reader()
        try:
            ArrayStore(Path(directory), index_name).ensure_segment(reader, segment_id)
        finally:
            reader.close()
    finally:
        opened.close()


def _stale_temporary(entry: os.DirEntry) -> bool:
    """A temporary file left by a writer that died (an hour old: none is still writing)."""
    if not (entry.name.startswith(".") and entry.name.endswith(".tmp")):
        return False
    with contextlib.suppress(OSError):
        return time.time() - entry.stat().st_mtime > 3600
    return False
