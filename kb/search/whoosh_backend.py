"""The default search backend: a Whoosh index in the instance folder.

One index per process is opened once; each thread keeps a searcher and reopens it only
when the index has a newer generation. The planner's nodes (``kb.search.planner``) become
Whoosh query trees here, evaluated over arrays by ``kb.search.whoosh_matching`` (see
docs/performance.md for why); the walk of a search is ``kb.search.searching``.
Writers wait for Whoosh's lock (``writer(timeout=...)``), so several worker processes can
write in turn; a caller with a budget waits less and gets ``IndexBusy``.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from whoosh import index
from whoosh.filedb.filestore import FileStorage
from whoosh.index import LockError
from whoosh.query import (
    And,
    AndMaybe,
    AndNot,
    DisjunctionMax,
    Every,
    NullQuery,
    Or,
    Phrase,
    Query,
    Term,
)
from whoosh.reading import IndexReader
from whoosh.searching import Searcher
from whoosh.util.times import datetime_to_long
from whoosh.writing import CLEAR

from kb.search import plan, searching
from kb.search.analysis import fold, words
from kb.search.backend import (
    PROFILE_FACETS,
    IndexBusy,
    IndexDocument,
    SearchBackend,
    SearchHit,
    SearchRequest,
    SearchResults,
    Write,
)
from kb.search.common import MAX_EDITS, edit_distance
from kb.search.concepts import Vocabulary
from kb.search.highlight import Highlighter
from kb.search.planner import (
    RELATED_FACET_BOOST,
    RELATED_FACETS,
    RELATED_FIELDS,
    RELATED_PROFILE_BOOST,
    Planner,
)
from kb.search.whoosh_arrays import ArrayStore
from kb.search.whoosh_matching import ArrayCache, Found, Matcher, Parts, ranked
from kb.search.whoosh_schema import (
    INDEX_NAME,
    NEUTRAL_FIELD,
    TEXT_FIELDS,
    VERSION_COLUMN,
    build_schema,
    facet_field,
    fields_of,
)
from kb.search.whoosh_writing import MpWriter, SegmentWriter

log = logging.getLogger(__name__)

WRITE_TIMEOUT = 30.0
#: The sorts by a date, newest first, and the column each reads.
DATE_SORTS = {"newest": "published", "confirmed": "confirmed"}

#: "Did you mean" ranks this many times the candidates it shows by edit distance.
SPELLING_CANDIDATES = 5
#: Cases whose related cases each thread remembers (until the index changes).
RELATED_CACHE_SIZE = 2000


class WhooshBackend(SearchBackend):
    def __init__(
        self,
        directory: Path,
        vocabulary: Vocabulary,
        cache: ArrayCache | None = None,
        rebuild_procs: int = 1,
    ) -> None:
        self.directory = Path(directory)
        self.vocabulary = vocabulary
        #: Processes that index at once in a full rebuild (each writes its own segment).
        self.rebuild_procs = max(1, rebuild_procs)
        #: Each segment's arrays, mapped from the files beside the index (all workers share them).
        self.arrays = ArrayStore(self.directory, INDEX_NAME)
        #: What is read from Whoosh's blocks of a segment still without its arrays.
        self.cache = cache or ArrayCache()
        self._index: index.Index | None = None
        self._open_lock = threading.Lock()
        self._local = threading.local()

    # -- index management ---------------------------------------------------------

    @property
    def ix(self) -> index.Index:
        """The index, opened once per process.

        Without memory mapping: Whoosh 2.7 copies each mapped segment file into a
        ``BytesIO`` for every searcher (the whole postings file, 700 MB at 100,000 cases);
        read through the file, segments cost only what is read, from the page cache that
        all workers share.
        """
        with self._open_lock:
            if self._index is None:
                self.directory.mkdir(parents=True, exist_ok=True)
                storage = FileStorage(str(self.directory), supports_mmap=False)
                if storage.index_exists(INDEX_NAME):
                    self._index = storage.open_index(INDEX_NAME)
                else:
                    self._index = storage.create_index(build_schema(), INDEX_NAME)
            return self._index

    def _searcher(self) -> Searcher:
        """This thread's searcher, reopened only when the index has a newer generation.

        (``Searcher.refresh()`` in Whoosh 2.7 fails when reusing some segment readers.)
        """
        return self._matcher().searcher

    def _matcher(self) -> Matcher:
        """This thread's searcher as arrays; a new one when the index has changed."""
        matcher: Matcher | None = getattr(self._local, "matcher", None)
        if matcher is not None and not matcher.searcher.up_to_date():
            matcher.close()
            matcher = None
        if matcher is None:
            ix = self.ix
            matcher = Matcher(ix.searcher(), self.cache, self.arrays, open_reader=ix.reader)
            self._local.matcher = matcher
        else:
            matcher.adopt_sidecars()
        return matcher

    def write_arrays(self, wait: bool = False) -> None:
        """After a commit: the arrays of every new segment, written beside the index (the
        segments merged away lose theirs); a big merged segment's in the background unless
        ``wait``. A failure leaves the index right: the matcher reads Whoosh's blocks for a
        segment without arrays and builds them later."""
        try:
            with self.ix.reader() as reader:
                self.arrays.update(reader, None if wait else self.ix.reader)
        except Exception:
            log.exception("Could not write the search index's arrays")

    def close(self) -> None:
        """This thread's searcher and the index closed, once a background build of arrays
        has finished (its thread must not outlive a fork, nor write after a close)."""
        self.arrays.wait()
        matcher = getattr(self._local, "matcher", None)
        if matcher is not None:
            matcher.close()
            self._local.matcher = None
        self._local.related = None
        self.cache.clear()
        if self._index is not None:
            self._index.close()
            self._index = None

    def index(self, documents: Iterable[IndexDocument]) -> None:
        self.apply(documents, ())

    def remove(self, ids: Iterable[int]) -> None:
        self.apply((), ids)

    def apply(self, documents: Iterable[IndexDocument], removed: Iterable[int]) -> None:
        with self.writer() as write:
            write(documents, removed)

    @contextmanager
    def writer(self, timeout: float | None = None) -> Iterator[Write]:
        """Whoosh's write lock (a file lock, so across processes) for the block.

        Nothing written: the writer is cancelled, so searchers keep their generation.
        """
        wait = WRITE_TIMEOUT if timeout is None else timeout
        try:
            writer = SegmentWriter(self.ix, timeout=wait)
        except LockError:
            raise IndexBusy(
                f"Another process held the search index's lock for {wait:g} s."
            ) from None
        changed = False

        def write(documents: Iterable[IndexDocument], removed: Iterable[int]) -> None:
            nonlocal changed
            for case_id in removed:
                writer.delete_by_term("id", str(case_id))
                changed = True
            for doc in documents:
                writer.update_document(**fields_of(doc))
                changed = True

        try:
            yield write
        except BaseException:
            writer.cancel()
            raise
        if not changed:
            writer.cancel()
            return
        try:
            writer.commit()
        except BaseException:
            # A failed commit would otherwise keep the lock (every later write "busy") and
            # its segment files open until the garbage collector gets to the writer.
            if not writer.is_closed:
                writer.cancel()
            raise
        self.write_arrays()

    def rebuild(
        self, documents: Iterable[IndexDocument], progress: Callable[[int], None] | None = None
    ) -> int:
        """Index everything anew; with ``rebuild_procs`` > 1, Whoosh's multiprocess writer
        indexes batches in parallel and keeps one segment per process (no final merge)."""
        if self.rebuild_procs > 1:
            writer = MpWriter(self.ix, procs=self.rebuild_procs, timeout=WRITE_TIMEOUT)
        else:
            writer = SegmentWriter(self.ix, timeout=WRITE_TIMEOUT)
        count = 0
        try:
            for doc in documents:
                writer.add_document(**fields_of(doc))
                count += 1
                if progress:
                    progress(1)
        except BaseException:
            writer.cancel()
            _stop_helpers(writer)
            raise
        writer.commit(mergetype=CLEAR)  # the new documents replace every old segment
        self.write_arrays(wait=True)
        return count

    def versions(self) -> dict[int, str]:
        matcher = self._matcher()
        reader = matcher.searcher.reader()
        if not reader.has_column(VERSION_COLUMN):
            return {}
        column = reader.column_reader(VERSION_COLUMN)
        found = {}
        for docnum in np.flatnonzero(matcher.live).tolist():
            case_id, _, version = column[docnum].decode("utf-8").partition(" ")
            found[int(case_id)] = version
        return found

    # -- searching ----------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResults:
        return searching.search(request, self.vocabulary, _Execution(self._matcher()))

    def related(self, case_id: int, limit: int = 4) -> list[SearchHit]:
        """More like this (``_QueryBuilder.like``), among the cases that share a theme.

        Case pages ask for the same cases again and again, so each thread keeps the answers
        until the index changes.
        """
        matcher = self._matcher()
        owner, cache = getattr(self._local, "related", None) or (None, {})
        if owner is not matcher or len(cache) >= RELATED_CACHE_SIZE:
            cache = {}
            self._local.related = (matcher, cache)
        if (case_id, limit) not in cache:
            cache[(case_id, limit)] = self._related(matcher, case_id, limit)
        return [
            _hit(matcher.searcher, docnum, score, same_language, False, Highlighter({}))
            for docnum, score, same_language in cache[(case_id, limit)]
        ]

    def _related(self, matcher: Matcher, case_id: int, limit: int) -> list[tuple[int, float, bool]]:
        """(docnum, score, in the same language) of the cases most like this one."""
        searcher = matcher.searcher
        docnum = searcher.document_number(id=str(case_id))
        if docnum is None or limit < 1:
            return []
        fields = searcher.stored_fields(docnum)
        reader = searcher.reader()
        texts = {name: fields.get(f"{name}_text") or "" for name in RELATED_FIELDS}
        planner = Planner(self.vocabulary, _Lexicon(matcher))
        values = {name: _values_of(reader, name, docnum) for name in RELATED_FACETS}
        shared = [plan.Term(name, v, RELATED_FACET_BOOST) for name in values for v in values[name]]
        query = plan.any_of([planner.like(texts, fields["language"]), *shared])
        if query is plan.NOTHING:
            return []
        # A case with themes is related only to cases sharing one: words alone can mislead.
        themes = plan.any_of([plan.Term("theme", theme) for theme in values["theme"]])
        found = matcher.evaluate(whoosh_query(query))
        if themes is not plan.NOTHING:
            found = _within(found, matcher.evaluate(whoosh_query(themes)).mask)
        found.mask[docnum] = False
        _prefer_like_profiles(matcher, found, docnum)
        return [
            (
                int(other),
                float(found.score[other]),
                searcher.stored_fields(int(other))["language"] == fields["language"],
            )
            for other in ranked(found)[:limit]
        ]

    def suggest(self, text: str, limit: int = 5) -> list[str]:
        word = text.strip().lower()
        if not word:
            return []
        return _spellings(self._matcher(), word, limit=limit)


def _prefer_like_profiles(matcher: Matcher, found: Found, docnum: int) -> None:
    """Scale each related case's score by the parts of the municipality's profile it
    shares with this case (``RELATED_PROFILE_BOOST``): a tie-break among cases about as related."""
    reader = matcher.searcher.reader()
    shared = np.zeros(matcher.size)
    for name in PROFILE_FACETS:
        for value in _values_of(reader, facet_field(name), docnum):
            shared += matcher.evaluate(Term(facet_field(name), value)).mask
    if shared.any():
        found.score *= (1.0 + RELATED_PROFILE_BOOST * shared) * found.mask


def _hit(
    searcher: Searcher,
    docnum: int,
    score: float,
    is_direct: bool,
    is_partial: bool,
    marker: Highlighter,
) -> SearchHit:
    fields = searcher.stored_fields(docnum)
    language = fields["language"]
    return SearchHit(
        id=int(fields["id"]),
        ref=fields.get("ref"),
        slug=fields["slug"],
        title=fields["title_text"],
        summary=fields["summary_text"],
        language=language,
        country=fields["country"],
        score=round(float(score), 4) if math.isfinite(score) else 0.0,
        title_html=marker.mark(fields["title_text"], language, whole=True),
        snippet_html=marker.mark(
            fields["body_text"] or fields["summary_text"], language, whole=False
        ),
        direct=is_direct,
        partial=is_partial,
    )


def _spellings(matcher: Matcher, word: str, limit: int) -> list[str]:
    """Indexed words within two edits of ``word``, the closest first, then the most
    frequent (as PostgreSQL's search ranks them), as written.

    The word list is the folded neutral field; a suggestion is shown as a case wrote it.
    Whoosh ranks by frequency alone, so *bostäer* got *bostad* (two edits) rather than
    *bostäder* (one): more candidates are asked for and ranked again.
    """
    typed = fold(word)
    options = matcher.searcher.suggest(
        NEUTRAL_FIELD, typed, limit=limit * SPELLING_CANDIDATES, maxdist=MAX_EDITS, prefix=1
    )
    closest = sorted(options, key=lambda option: edit_distance(typed, option))[:limit]
    return [_as_written(matcher, option) for option in closest]


def _stop_helpers(writer: Any) -> None:
    """End a cancelled multiprocess writer's helper processes: Whoosh 2.7's cancel only
    flags them in this process, and they would wait for work (and this process for them)
    forever."""
    for task in getattr(writer, "tasks", ()):
        task.terminate()
        task.join()


def _as_written(matcher: Matcher, folded: str) -> str:
    """A folded word as a case that uses it writes it ("nyanlanda" -> "nyanlända")."""
    ids, _ = matcher.postings(NEUTRAL_FIELD, folded)
    for docnum in ids[:3].tolist():
        fields = matcher.searcher.stored_fields(docnum)
        text = " ".join(fields.get(f"{name}_text") or "" for name in RELATED_FIELDS)
        for word in words(text):
            if fold(word) == folded:
                return word
    return folded


def _within(found: Found, allowed: np.ndarray | None) -> Found:
    """Only the documents the filters allow."""
    if allowed is not None:
        found.mask &= allowed
        found.score *= found.mask
    return found


def confirmed_since(matcher: Matcher, since: datetime) -> np.ndarray:
    """The cases confirmed at or after ``since`` (the column holds Whoosh's long dates)."""
    return matcher.sortable("confirmed") >= datetime_to_long(since.replace(tzinfo=None))


def _filter_query(filters: dict[str, tuple[str, ...]]) -> Query | None:
    parts = [
        Or([Term(facet_field(name), value) for value in values])
        for name, values in filters.items()
        if values
    ]
    return And(parts) if parts else None


def _values_of(reader: IndexReader, field: str, docnum: int) -> list[str]:
    """A document's values of an unstored keyword field (a few posting lists to skip in)."""
    found = []
    for value in reader.field_terms(field):
        postings = reader.postings(field, value)
        postings.skip_to(docnum)
        if postings.is_active() and postings.id() == docnum:
            found.append(value)
    return found


def _by_relevance(
    matches: Found, is_direct: np.ndarray, level: np.ndarray, limit: int
) -> np.ndarray:
    """Cases matching every word first (direct hits before cross-language ones), then
    those of each relaxation in turn; by score within each."""
    if not level.any():
        return ranked(matches, first_by=is_direct, limit=limit)
    docs = np.flatnonzero(matches.mask)
    # Only the groups (level, then direct first) that fill the page are sorted, and of the
    # last of them only its best scores: at 100,000 cases a page sorted tens of thousands.
    group = level[docs].astype(np.intp) * 2 + ~is_direct[docs]
    filled = np.cumsum(np.bincount(group))
    last = int(np.searchsorted(filled, limit))
    if last < len(filled):
        in_last = group == last
        scores = matches.score[docs[in_last]]
        room = limit - (int(filled[last - 1]) if last else 0)
        keep = group < last
        if len(scores) > room:
            keep[in_last] = scores >= np.partition(scores, len(scores) - room)[len(scores) - room]
        else:
            keep |= in_last
        docs = docs[keep]
    keys = [docs, -matches.score[docs], ~is_direct[docs], level[docs]]
    return docs[np.lexsort(keys)][:limit]


def whoosh_query(node: plan.Node, built: dict[int, Query] | None = None) -> Query:
    """A plan node as a Whoosh query (field weights as BM25F boosts). With ``built``, one
    search's compound nodes, by identity: a node met again is the same query, so its
    evaluation is shared (``Matcher.evaluate``'s ``parts``)."""
    if node is plan.EVERY:
        return Every()
    if node is plan.NOTHING:
        return NullQuery
    if isinstance(node, plan.Term):
        name, _ = plan.split_field(node.field)
        field = node.field if name or node.field == NEUTRAL_FIELD else facet_field(node.field)
        return Term(field, node.text, boost=node.boost * TEXT_FIELDS.get(name, 1.0))
    if isinstance(node, plan.Phrase):
        name, _ = plan.split_field(node.field)
        return Phrase(node.field, list(node.words), boost=node.boost * TEXT_FIELDS.get(name, 1.0))
    if built is not None and id(node) in built:
        return built[id(node)]
    parts = [whoosh_query(child, built) for child in plan.children(node)]
    if isinstance(node, plan.Prefix):
        query: Query = Or([whoosh_query(term) for term in node.expanded()])
    elif isinstance(node, plan.All):
        query = And(parts)
    elif isinstance(node, plan.Any):
        query = Or(parts, minmatch=node.at_least) if node.at_least > 1 else Or(parts)
    elif isinstance(node, plan.Best):
        query = DisjunctionMax(parts)
    elif isinstance(node, plan.Boosting):
        query = AndMaybe(parts[0], parts[1])
    elif isinstance(node, plan.Without):
        query = AndNot(parts[0], whoosh_query(node.negative, built))
    else:
        raise TypeError(f"No Whoosh query for {node!r}")
    if built is not None:
        built[id(node)] = query
    return query


class _Lexicon:
    """The planner's questions, answered from this searcher's term dictionary."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher

    def frequency(self, field: str, term: str) -> int:
        return self.matcher.doc_frequency(field, term)

    def prefix_terms(self, field: str, prefix: str, limit: int) -> tuple[str, ...]:
        return tuple(t.decode("utf-8") for t in self.matcher.expand_prefix(field, prefix, limit))

    def prefix_frequency(self, field: str, prefix: str, limit: int) -> int:
        return sum(
            self.matcher.doc_frequency(field, t)
            for t in self.matcher.expand_prefix(field, prefix, limit)
        )

    def cases(self, language: str | None = None) -> int:
        if language is None:
            return int(np.count_nonzero(self.matcher.live))
        return self.matcher.doc_frequency("language", language)

    def count(self, node: plan.Node) -> int:
        return self.matcher.count(whoosh_query(node))


class _Execution:
    """One search over this thread's searcher, evaluated as arrays."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.lexicon = _Lexicon(matcher)
        matcher.begin_search()
        self._built: dict[int, Query] = {}
        self._found: dict[int, Found] = {}
        self._parts: Parts = {}
        self._nodes: list[plan.Node] = []  # keeps the ids of the remembered nodes valid

    def evaluate(self, node: plan.Node) -> Found:
        """The cases a node matches with their scores (each node evaluated once a search)."""
        found = self._evaluated(node)
        return Found(found.mask.copy(), found.score.copy())

    def _evaluated(self, node: plan.Node) -> Found:
        """``evaluate``'s arrays themselves, to be read and not changed."""
        if id(node) not in self._found:
            self._nodes.append(node)
            query = whoosh_query(node, self._built)
            self._found[id(node)] = self.matcher.evaluate(query, self._parts)
        return self._found[id(node)]

    def matching(self, node: plan.Node) -> np.ndarray:
        """The cases a node matches, without scores (its parts this search has evaluated
        are looked up, the others read as document numbers only)."""
        if id(node) in self._found:
            return self._found[id(node)].mask.copy()
        return self.matcher.matching(whoosh_query(node, self._built), self._parts)

    def languages(self) -> list[str]:
        return list(self.matcher.live_counts(facet_field("language")))

    def language_counts(self, nodes: Sequence[plan.Node]) -> dict[str, int]:
        union = np.logical_or.reduce([self._evaluated(node).mask for node in nodes])
        return self.matcher.facet_counts(facet_field("language"), union)

    def spellings(self, word: str, limit: int) -> list[str]:
        return _spellings(self.matcher, word, limit)

    def select(
        self, selection: searching.Selection, request: SearchRequest, marker: Highlighter
    ) -> searching.Selected:
        matcher = self.matcher
        found = self.evaluate(selection.strict)
        in_set, score = found.mask.copy(), found.score.copy()
        levels = np.zeros(matcher.size, np.int8)
        union = found.mask.copy()
        for number, (node, languages) in enumerate(selection.relaxed, 1):
            more = self.evaluate(node)
            more.mask &= ~union
            union |= more.mask
            allowed = [Term(facet_field("language"), lang) for lang in languages]
            more.mask &= matcher.matching(Or(allowed)) if allowed else False
            in_set |= more.mask
            levels[more.mask] = number
            score[more.mask] = more.score[more.mask]
        filter_query = _filter_query(request.filters)
        if filter_query:
            in_set &= matcher.matching(filter_query)
        if request.confirmed_since is not None:
            in_set &= confirmed_since(matcher, request.confirmed_since)
        matches = Found(in_set, score * in_set)
        strict = int(np.count_nonzero(in_set & found.mask))
        wanted = request.page * request.per_page
        if request.sort in DATE_SORTS:
            is_direct = found.mask
            by = matcher.sortable(DATE_SORTS[request.sort])
            order = ranked(matches, limit=wanted, by=by)
        else:
            same = selection.direct == selection.strict
            is_direct = found.mask if same else self.matching(selection.direct)
            is_direct = is_direct & found.mask
            order = _by_relevance(matches, is_direct, levels, wanted)
        hits = [
            _hit(
                matcher.searcher,
                docnum,
                float(matches.score[docnum]),
                bool(is_direct[docnum]),
                bool(levels[docnum]),
                marker,
            )
            for docnum in order[wanted - request.per_page :].tolist()
        ]
        total = int(np.count_nonzero(in_set))
        facets = {name: matcher.facet_counts(facet_field(name), in_set) for name in request.facets}
        return searching.Selected(total, total - strict, facets, hits)
