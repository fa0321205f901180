"""Whoosh's segment writers with costs of its indexing taken out that have nothing to do with
the index's contents; the index they write is the same, byte for byte.

A profile of a 2-process rebuild (10,000 cases) put most of the indexing CPU in Whoosh's
indexing processes, not in our analysis (docs/performance.md), and there:

- **The sorting pool's runs.** Every posting is put in a pool that is sorted and spilled
  to a temporary "run" file whenever it holds 128 MB, and the runs are merged at the
  commit. Whoosh pickles each posting on its own into the run and unpickles it again
  (a fifth of an indexing process's time). ``ChunkedPostingPool`` writes a run as
  ``marshal`` dumps of many postings at once: the same tuples (str, bytes, int, float)
  come back, in the same order.
- **Field lengths at the commit.** Writing the postings, Whoosh asks each posting's field
  length of the segment's length column, one seek and read per posting (another sixth).
  ``_Lengths`` reads each field's column once.
- **Type assertions** on every posting put in the pool (our fields make them).

``SegmentWriter`` is Whoosh's writer with all three; ``MpWriter``'s indexing processes write
with it (its own pool gets no postings: each process writes a segment of its own).
Whoosh's ``poolclass`` argument would be the place for the pool, but Whoosh 2.7 ignores it.
"""

from __future__ import annotations

import marshal
from collections.abc import Iterator
from typing import Any, BinaryIO

from whoosh import multiproc, writing
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length

#: Postings per ``marshal`` dump in a run (one dump of a list, not one per posting).
RUN_CHUNK = 4096
#: Whoosh's estimate of a posting's bytes in the pool, less its texts' lengths.
_POSTING_SIZE = 28 + 4 * 5 + 21 + 26 + 18 + 16 + 21

__all__ = ["ChunkedPostingPool", "MpWriter", "SegmentWriter"]


class ChunkedPostingPool(writing.PostingPool):
    """Whoosh's posting pool whose runs are ``marshal``-ed lists of postings."""

    def add(self, item: tuple) -> None:
        """Whoosh's ``add`` (the same size estimate, so the same runs) without its per-posting
        type assertions: the postings come from our own fields."""
        fieldname, btext, _docnum, _weight, value = item
        self.fieldnames.add(fieldname)
        self.currentsize += _POSTING_SIZE + len(fieldname) + 2 * len(btext) + len(value or b"")
        if self.currentsize > self.limit:
            self.save()
        self.current.append(item)

    def _write_run(self, f: BinaryIO, items: Any) -> None:
        chunk: list[tuple] = []
        for item in items:  # a list, or the merge of other runs (``reduce_to``)
            chunk.append(item)
            if len(chunk) == RUN_CHUNK:
                marshal.dump(chunk, f)
                chunk = []
        if chunk:
            marshal.dump(chunk, f)
        f.close()

    def _read_run(self, path: str) -> Iterator[tuple]:
        f = self._open_run(path)
        try:
            while True:
                try:
                    chunk = marshal.load(f)  # noqa: S302 - a run this writer wrote
                except EOFError:
                    return
                yield from chunk
        finally:
            f.close()
            self._remove_run(path)


class _Lengths:
    """A segment's per-document reader whose field lengths come from each field's length
    column read once, for the postings written at a commit (one per posting)."""

    def __init__(self, reader: Any) -> None:
        self._reader = reader
        self._lengths: dict[str, list[int | None] | None] = {}

    def doc_field_length(self, docnum: int, fieldname: str, default: int = 0) -> int | None:
        if fieldname not in self._lengths:
            self._lengths[fieldname] = self._load(fieldname)
        lengths = self._lengths[fieldname]
        if lengths is None:
            return default
        # As Whoosh's reader answers: None for a length byte of 0 (and past the end).
        return lengths[docnum] if docnum < len(lengths) else None

    def _load(self, fieldname: str) -> list[int | None] | None:
        column = _lenfield(fieldname)
        if not self._reader.has_column(column):
            return None
        encoded = self._reader.column_reader(column, LENGTHS_COLUMN).load()
        return [byte_to_length(b) if b else None for b in encoded]

    def close(self) -> None:
        self._reader.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._reader, name)


class SegmentWriter(writing.SegmentWriter):
    """Whoosh's segment writer with the chunked pool and the lengths read once."""

    def __init__(self, ix: Any, **kwargs: Any) -> None:
        super().__init__(ix, **kwargs)
        self.pool = ChunkedPostingPool(
            self._tempstorage, self.newsegment, limitmb=kwargs.get("limitmb", 128)
        )

    def _flush_segment(self) -> None:
        self.perdocwriter.close()
        lengths = _Lengths(self.per_document_reader()) if self.codec.length_stats else None
        self.fieldwriter.add_postings(self.schema, lengths, self.pool.iter_postings())
        self.fieldwriter.close()
        if lengths:
            lengths.close()


class _SubWriterTask(multiproc.SubWriterTask):
    """One indexing process of ``MpWriter``, writing its own segment with ``SegmentWriter``
    (Whoosh's ``run`` names its writer class inline; this is its multisegment branch)."""

    def run(self) -> None:
        ix = self.storage.open_index(self.indexname)
        writer = self.writer = SegmentWriter(ix, _lk=False, **self.kwargs)
        while self.running:
            job = self.jobqueue.get()
            if job is None:
                break
            self._process_file(*job)
        if not self.running:
            writer.cancel()
            return
        segment = writer._finalize_segment()
        self.resultqueue.put((None, writer.pool.fieldnames, segment), timeout=5)


class MpWriter(multiproc.MpWriter):
    """Whoosh's multiprocess writer, one segment per indexing process (``multisegment``
    only: merging the processes' runs into one segment is Whoosh's other branch)."""

    def __init__(self, ix: Any, procs: int, **kwargs: Any) -> None:
        super().__init__(ix, procs=procs, multisegment=True, **kwargs)

    def _new_task(self) -> multiproc.SubWriterTask:
        task = _SubWriterTask(
            self.storage, self.indexname, self.jobqueue, self.resultqueue, self.subargs, True
        )
        self.tasks.append(task)
        task.start()
        return task
