"""The default search backend: a Whoosh index in the instance folder.

One index per process is opened once; each thread keeps a searcher and reopens it only
when the index has a newer generation. Queries are built here as Whoosh query trees and
evaluated over arrays by ``kb.search.whoosh_matching`` (see docs/performance.md for why).
Writers wait for Whoosh's lock (``writer(timeout=...)``), so several worker processes can
write in turn; a caller with a budget waits less and gets ``IndexBusy``.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
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
from whoosh.writing import CLEAR

from kb.search.analysis import (
    ANALYZED_LANGUAGES,
    fold,
    stem,
    stop_words,
    words,
)
from kb.search.backend import (
    IndexBusy,
    IndexDocument,
    SearchBackend,
    SearchHit,
    SearchRequest,
    SearchResults,
    Write,
)
from kb.search.common import (
    COMPOUND_BOOST,
    EXPANDED_BOOST,
    MAX_EDITS,
    MIN_PREFIX,
    NO_SPLIT,
    PREFIX_BOOST,
    edit_distance,
    specificity,
    split_candidates,
)
from kb.search.concepts import MAX_SPAN, QueryPlan, Requirement, Vocabulary
from kb.search.highlight import Highlighter
from kb.search.query import Unit, parse
from kb.search.results import facet_order, relaxations_taken, wants_suggestion
from kb.search.whoosh_matching import ArrayCache, Found, Matcher, ranked
from kb.search.whoosh_schema import (
    INDEX_NAME,
    NEUTRAL_FIELD,
    PHRASE_FIELDS,
    TEXT_FIELDS,
    VERSION_COLUMN,
    build_schema,
    facet_field,
    fields_of,
)

WRITE_TIMEOUT = 30.0

MAX_PREFIX_TERMS = 30
#: "More like this" (``related``): a case's most distinctive words by tf-idf within its
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
        #: Posting lists and facet tables read from the index, shared by this process's threads.
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
            matcher = self._local.matcher = Matcher(self.ix.searcher(), self.cache)
        return matcher

    def close(self) -> None:
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
            writer = self.ix.writer(timeout=wait)
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
        if changed:
            writer.commit()
        else:
            writer.cancel()

    def rebuild(
        self, documents: Iterable[IndexDocument], progress: Callable[[int], None] | None = None
    ) -> int:
        """Index everything anew; with ``rebuild_procs`` > 1, Whoosh's multiprocess writer
        indexes batches in parallel and keeps one segment per process (no final merge)."""
        if self.rebuild_procs > 1:
            writer = self.ix.writer(
                timeout=WRITE_TIMEOUT, procs=self.rebuild_procs, multisegment=True
            )
        else:
            writer = self.ix.writer(timeout=WRITE_TIMEOUT)
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
        """The result set of ``kb.search.results``: decided on the whole index (the query
        is analysed in every language, whatever the filters), then filtered and paged."""
        parsed = parse(request.q)
        matcher = self._matcher()
        matcher.matched_terms = set()
        notices = ["truncated"] if parsed.truncated else []
        relaxations: list[Query] = []
        builder = _QueryBuilder(None, matcher)
        if parsed.is_empty:
            plan = QueryPlan(requirements=[], excluded=list(parsed.excluded))
            full = direct = Every()
        else:
            plan = self.vocabulary.plan(parsed, None)
            full = _all(builder.parts(plan, expanded=True))
            direct = _all(builder.parts(plan, expanded=False))
            word_plan = self.vocabulary.plan(parsed, None, join_spans=False)
            relaxations = builder.relaxations(plan, word_plan)
        excluded = _any([builder.any_language(u) for u in plan.excluded])
        if excluded is not NullQuery:
            full, direct = AndNot(full, excluded), AndNot(direct, excluded)
            relaxations = [AndNot(q, excluded) for q in relaxations]
        found = matcher.evaluate(full)
        in_set, score = found.mask.copy(), found.score.copy()
        levels = np.zeros(matcher.size, np.int8)
        for number, more in enumerate(self._relaxed(matcher, found, relaxations), 1):
            in_set |= more.mask
            levels[more.mask] = number
            score[more.mask] = more.score[more.mask]
        filter_query = _filter_query(request.filters)
        if filter_query:
            in_set &= matcher.evaluate(filter_query).mask
        matches = Found(in_set, score * in_set)
        strict = int(np.count_nonzero(in_set & found.mask))
        wanted = request.page * request.per_page
        if request.sort == "newest":
            is_direct = found.mask
            order = ranked(matches, limit=wanted, by=matcher.sortable("published"))
        else:
            is_direct = found.mask if direct == full else matcher.evaluate(direct).mask
            is_direct = is_direct & found.mask
            order = _by_relevance(matches, is_direct, levels, wanted)
        marker = Highlighter(_highlight_terms(builder.highlighted(matcher.matched_terms)))
        hits = [
            self._hit(
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
        suggestion = None
        if parsed.units and wants_suggestion(strict):
            suggestion = self._suggestion(matcher, parsed.units)
        return SearchResults(
            request=request,
            total=total,
            hits=hits,
            facets={
                name: facet_order(name, matcher.facet_counts(facet_field(name), in_set))
                for name in request.facets
            },
            suggestion=suggestion,
            notices=notices,
            partial_total=total - strict,
        )

    def _relaxed(self, matcher: Matcher, found: Found, relaxations: list[Query]) -> list[Found]:
        """The cases each relaxation of the result set adds (``kb.search.results``), each
        only in the languages that take it; evaluated only as far as a language needs."""
        language = facet_field("language")
        union = found.mask.copy()
        added: list[Found] = []

        def widen(step: int, _languages: list[str]) -> dict[str, int] | None:
            if step > len(relaxations):
                return None
            more = matcher.evaluate(relaxations[step - 1])
            more.mask &= ~union
            np.logical_or(union, more.mask, out=union)
            added.append(more)
            return matcher.facet_counts(language, union)

        every = dict.fromkeys(matcher.facet_counts(language, matcher.live), 0)
        taken = relaxations_taken({**every, **matcher.facet_counts(language, found.mask)}, widen)
        for number, more in enumerate(added, 1):
            languages = [Term(language, lang) for lang, n in taken.items() if n >= number]
            more.mask &= matcher.evaluate(Or(languages)).mask if languages else False
        return added

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
            self._hit(matcher.searcher, docnum, score, same_language, False, Highlighter({}))
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
        values = {name: _values_of(reader, name, docnum) for name in RELATED_FACETS}
        shared = [Term(name, v, boost=RELATED_FACET_BOOST) for name in values for v in values[name]]
        query = _any([*_QueryBuilder(None, matcher).like(fields, self.vocabulary), *shared])
        if query is NullQuery:
            return []
        # A case with themes is related only to cases sharing one: words alone can mislead.
        themes = _any([Term("theme", theme) for theme in values["theme"]])
        found = matcher.evaluate(query)
        if themes is not NullQuery:
            found = _within(found, matcher.evaluate(themes).mask)
        found.mask[docnum] = False
        return [
            (
                int(other),
                float(found.score[other]),
                searcher.stored_fields(int(other))["language"] == fields["language"],
            )
            for other in ranked(found)[:limit]
        ]

    def _hit(
        self,
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

    def _suggestion(self, matcher: Matcher, units: list[Unit]) -> str | None:
        """A "did you mean" for the words the index does not know."""
        reader = matcher.searcher.reader()
        changed = False
        corrected = []
        for unit in units:
            fixed = []
            for word in unit.words:
                folded = fold(word)
                known = reader.frequency(NEUTRAL_FIELD, folded) > 0 or any(
                    reader.frequency(f"body_{lang}", stem(word, lang)) > 0
                    for lang in ANALYZED_LANGUAGES
                )
                if known or len(word) < 4 or word.isdigit():
                    fixed.append(word)
                    continue
                options = self._spellings(matcher, word, limit=1)
                if options and fold(options[0]) != folded:
                    fixed.append(options[0])
                    changed = True
                else:
                    fixed.append(word)
            corrected.append(" ".join(fixed))
        return " ".join(corrected) if changed else None

    def suggest(self, text: str, limit: int = 5) -> list[str]:
        word = text.strip().lower()
        if not word:
            return []
        return self._spellings(self._matcher(), word, limit=limit)

    def _spellings(self, matcher: Matcher, word: str, limit: int) -> list[str]:
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
    keys = [docs, -matches.score[docs], ~is_direct[docs], level[docs]]
    return docs[np.lexsort(keys)][:limit]


class _QueryBuilder:
    """Turns a query plan into Whoosh queries over the per-language fields."""

    def __init__(self, language: str | None, lexicon: Matcher) -> None:
        self.languages = (language,) if language else ANALYZED_LANGUAGES
        #: Term lookups, remembered while the index is unchanged.
        self.lexicon = lexicon
        #: (field, stem) of the terms built for what a reader should see marked (the words
        #: typed, their compounds, one-word concept terms), and of those built only to
        #: find cases: the words of a multi-word concept term ("refugee background",
        #: "employment rate"), which need not stand together, and excluded words.
        self.marked: set[tuple[str, str]] = set()
        self.unmarked: set[tuple[str, str]] = set()
        self._marking = True

    @contextmanager
    def _not_marked(self) -> Iterator[None]:
        self._marking = False
        try:
            yield
        finally:
            self._marking = True

    def highlighted(self, matched: set[tuple[str, str]]) -> set[tuple[str, str]]:
        """Of the terms that matched, those a reader should see marked."""
        return matched - (self.unmarked - self.marked)

    def parts(self, plan: QueryPlan, *, expanded: bool) -> list[Query]:
        """One query per requirement; requirements of stop words only are left out."""
        kept = [r for r in plan.requirements if self._has_content(r)] or plan.requirements
        return [self._requirement(r, expanded=expanded) for r in kept]

    def relaxations(self, plan: QueryPlan, word_plan: QueryPlan) -> list[Query]:
        """Ever looser queries for when too few cases match every word, loosest last.

        Across languages a word the vocabulary cannot translate cannot match in other
        languages, so first the translatable requirements must all match and the others
        only raise the score; then all requirements but one; then all words but one, or
        for a single compound word one of its parts.
        """
        queries: list[Query] = []
        kept = [r for r in plan.requirements if self._has_content(r)]
        translatable = [r for r in kept if r.expanded]
        if len(self.languages) > 1 and translatable and len(translatable) < len(kept):
            core = _all([self._requirement(r, expanded=True) for r in translatable])
            others = _any([self._requirement(r, expanded=True) for r in kept if not r.expanded])
            if core is not NullQuery:
                queries.append(core if others is NullQuery else AndMaybe(core, others))
        for each in (plan, word_plan):
            parts = self.parts(each, expanded=True)
            if len(parts) > 1:
                queries.append(Or(parts, minmatch=max(1, len(parts) - 1)))
        words = [u.words[0] for r in word_plan.requirements for u in r.direct if len(u.words) == 1]
        if len(words) == 1:
            pieces = _any(
                [
                    self._word(part, language, COMPOUND_BOOST, prefix=True)
                    for language in self.languages
                    for part in self._split(words[0], language)
                ]
            )
            if pieces is not NullQuery:
                queries.append(pieces)
        return queries

    def like(self, fields: dict[str, Any], vocabulary: Vocabulary) -> list[Query]:
        """A stored case's most distinctive words (tf-idf within its language); those that
        name a concept also as the concept's terms, so cases in other languages match too."""
        language = fields["language"]
        features: dict[tuple[str, ...], _Feature] = {}
        stops = stop_words(language)
        for name in RELATED_FIELDS:
            tokens = words(fields.get(f"{name}_text") or "")
            stems = [None if w in stops else stem(w, language) for w in tokens]
            for start in range(len(tokens)):
                for end in range(start + 1, min(start + MAX_SPAN, len(tokens)) + 1):
                    key = tuple(s for s in stems[start:end] if s)
                    # A run of words counts only as a concept's term, beside its own words.
                    if not key or (end - start > 1 and len(key) < 2):
                        continue
                    span = Unit(tuple(tokens[start:end]))
                    concepts = vocabulary.concepts_for(span.words, language)
                    if end - start == 1 or concepts:
                        feature = features.setdefault(key, _Feature(span))
                        feature.count += TEXT_FIELDS[name]
                        feature.concepts |= concepts
        cases = self.lexicon.doc_frequency("language", language) + 1
        weights: dict[tuple[str, ...], float] = {}
        for key, feature in features.items():
            # Short stems are mostly function words the stop lists miss ("sid", "fa").
            text = "".join(key)
            if not feature.concepts and (
                feature.count < RELATED_MIN_COUNT or len(text) < RELATED_MIN_STEM or text.isdigit()
            ):
                continue
            df = min(self.lexicon.doc_frequency(f"body_{language}", s) for s in key)
            if df > 1 or feature.concepts:
                weights[key] = (1 + math.log(feature.count)) * math.log(cases / max(df, 1))
        chosen = sorted(weights, key=lambda k: -weights[k])[:RELATED_WORDS]
        if not chosen:
            return []
        top = weights[chosen[0]] or 1.0
        queries: list[Query] = []
        seen: set[int] = set()
        for key in chosen:
            boost, feature = weights[key] / top, features[key]
            queries.append(self._in_body(language, key, boost))
            new = feature.concepts - seen
            if new and len(seen) < RELATED_CONCEPTS:
                seen |= new
                expanded = vocabulary.expansions(new, feature.typed.words)
                terms = {(other, tuple(_stems(unit, other))) for other, unit in expanded}
                options = [
                    self._in_body(other, stems, boost * RELATED_EXPANDED_BOOST)
                    for other, stems in sorted(terms - {(language, key)})
                    if stems
                ]
                # A concept counts once, however many of its terms a case uses.
                queries.append(_best([q for q in options if q is not NullQuery]))
        return [query for query in queries if query is not NullQuery]

    def _in_body(self, language: str, stems: tuple[str, ...], boost: float) -> Query:
        """A word's stem or a phrase's stems in the bodies of one language (where nearly
        all of a case's words are: one field keeps the query small)."""
        name = f"body_{language}"
        if not all(self._exists(name, s) for s in stems):
            return NullQuery
        if len(stems) == 1:
            return Term(name, stems[0], boost=boost)
        return Phrase(name, list(stems), boost=boost)

    def _has_content(self, requirement: Requirement) -> bool:
        return any(_stems(u, lang) for u in requirement.direct for lang in self.languages)

    def _requirement(self, requirement: Requirement, *, expanded: bool) -> Query:
        options: list[Query] = []
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
                with self._not_marked():
                    options.append(self._unit(unit, language, loose=True, boost=boost))
        return _any(options)

    def _specificity(self, requirement: Requirement) -> float:
        """``specificity`` of a requirement's concepts, from the cases their terms match."""
        with self._not_marked():  # counting a concept's cases marks none of its words
            terms = _any([self._unit(u, lang, loose=True) for lang, u in requirement.expanded])
        if terms is NullQuery:
            return 1.0
        return specificity(self.lexicon.count(terms), int(np.count_nonzero(self.lexicon.live)))

    # -- terms, pruned to what the index holds (a tree of absent terms is costly) -----

    def _exists(self, field: str, text: str) -> bool:
        return self.lexicon.doc_frequency(field, text) > 0

    def _word(self, word_stem: str, language: str, boost: float, prefix: bool) -> Query:
        queries: list[Query] = [
            Term(f"{field}_{language}", word_stem, boost=weight * boost)
            for field, weight in TEXT_FIELDS.items()
            if self._exists(f"{field}_{language}", word_stem)
        ]
        if prefix and len(word_stem) >= MIN_PREFIX:
            # Compounds: "arbeid" also finds "arbeidsmarkedet", "flygtning" "flygtningebaggrund".
            for field, weight in TEXT_FIELDS.items():
                if field == "files":
                    continue
                name = f"{field}_{language}"
                longer = [t for t in self.lexicon.expand_prefix(name, word_stem) if t != word_stem]
                queries += [
                    Term(name, t, boost=weight * boost * PREFIX_BOOST)
                    for t in longer[:MAX_PREFIX_TERMS]
                ]
        built = self.marked if self._marking else self.unmarked
        built.update((q.fieldname, _text(q.text)) for q in queries if isinstance(q, Term))
        return _any(queries)

    def _unit(self, unit: Unit, language: str, *, loose: bool, boost: float = 1.0) -> Query:
        stems = _stems(unit, language)
        if not stems:
            return NullQuery
        if len(stems) == 1:
            return self._word(stems[0], language, boost, prefix=boost == 1.0)
        if loose:
            return _all([self._word(s, language, boost, prefix=False) for s in stems])
        return _any(
            [
                Phrase(f"{field}_{language}", stems, boost=TEXT_FIELDS[field] * boost)
                for field in PHRASE_FIELDS
                if all(self._exists(f"{field}_{language}", s) for s in stems)
            ]
        )

    def _neutral(self, unit: Unit, *, loose: bool) -> Query:
        folded = [fold(w) for w in unit.words]
        if not all(self._exists(NEUTRAL_FIELD, w) for w in folded):
            return NullQuery
        if len(folded) == 1:
            return Term(NEUTRAL_FIELD, folded[0])
        if loose:
            return And([Term(NEUTRAL_FIELD, w) for w in folded])
        return Phrase(NEUTRAL_FIELD, folded)

    def any_language(self, unit: Unit) -> Query:
        """The unit in any language (for exclusions)."""
        with self._not_marked():
            options = [self._neutral(unit, loose=False)]
            options += [self._unit(unit, language, loose=False) for language in ANALYZED_LANGUAGES]
        return _any(options)

    def _known(self, word_stem: str, language: str, *, as_prefix: bool = False) -> int:
        """In how many documents the stem occurs (as a word, or starting words)."""
        total = 0
        for field in ("title", "summary", "body"):
            name = f"{field}_{language}"
            if as_prefix:
                total += sum(
                    self.lexicon.doc_frequency(name, term)
                    for term in self.lexicon.expand_prefix(name, word_stem)
                )
            else:
                total += self.lexicon.doc_frequency(name, word_stem)
        return total

    def _compound_parts(self, word: str, language: str) -> list[Query]:
        """A compound typed as one word also matches its parts written apart:
        "glesbygdskommuner" finds "kommuner i glesbygden", "danskundervisning"
        "undervisning i dansk". Parts must be words the index knows (in this language)."""
        parts = self._split(word, language)
        if not parts:
            return []
        return [_all([self._word(part, language, COMPOUND_BOOST, prefix=True) for part in parts])]

    def _split(self, word: str, language: str) -> tuple[str, ...]:
        """The stems of the two known words a compound is made of, or ``()``."""
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


@dataclasses.dataclass
class _Feature:
    """A word (its stem) or a concept's term in a case: as first written, how often
    (weighted by field), and the concepts it names."""

    typed: Unit
    count: float = 0.0
    concepts: set[int] = dataclasses.field(default_factory=set)


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def _stems(unit: Unit, language: str) -> list[str]:
    stops = stop_words(language)
    return [stem(w, language) for w in unit.words if w not in stops]


def _any(queries: list[Query], **kwargs: Any) -> Query:
    queries = [q for q in queries if q is not NullQuery]
    if not queries:
        return NullQuery
    return queries[0] if len(queries) == 1 and not kwargs else Or(queries, **kwargs)


def _best(queries: list[Query]) -> Query:
    """Matches what any of the queries matches, scored by the best of them."""
    if not queries:
        return NullQuery
    return queries[0] if len(queries) == 1 else DisjunctionMax(queries)


def _all(queries: list[Query]) -> Query:
    if not queries or any(q is NullQuery for q in queries):
        return NullQuery
    return queries[0] if len(queries) == 1 else And(queries)


def _highlight_terms(matched: set[tuple[str, str]]) -> dict[str, set[str]]:
    """The indexed stems a search matched, per language (prefixes expanded)."""
    terms: dict[str, set[str]] = {}
    for field, text in matched:
        name, _, language = field.rpartition("_")
        if name in TEXT_FIELDS:
            terms.setdefault(language, set()).add(text)
    return terms
