"""The PostgreSQL search backend: one row per published case in ``kb_search.documents``.

Construct it from an SQLAlchemy engine or URL and a vocabulary, as the app does::

    PostgresBackend(create_engine("postgresql+psycopg://..."), default_vocabulary())

Writes go through ``write(connection, ...)`` so that the app can run them inside the
transaction that changed the cases (``kb.services.indexing.outbox``); the public
``index``/``remove``/``apply``/``rebuild`` open a transaction of their own. Searches may be
sent to a read replica (``read_engine``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from markupsafe import escape
from sqlalchemy import Connection, Engine, create_engine, text

from kb.search.analysis import ANALYZED_LANGUAGES, WORD_PATTERN, fold
from kb.search.backend import (
    IndexDocument,
    SearchBackend,
    SearchHit,
    SearchRequest,
    SearchResults,
)
from kb.search.common import MAX_EDITS, edit_distance, shorten
from kb.search.concepts import QueryPlan, Vocabulary
from kb.search.highlight import snippet
from kb.search.postgres.schema import LOCK_NAMESPACE, SCHEMA, TABLES, config_for, prepare
from kb.search.postgres.tsquery import Compiled, Compiler, LeafCache
from kb.search.query import Unit, parse
from kb.search.results import facet_order, relaxations_taken, wants_suggestion

BATCH = 1000
#: ts_rank's weights of D (attached files), C (body), B (summary), A (title).
RANK_WEIGHTS = "{0.125, 0.25, 0.5, 1.0}"
#: Above this many matches only titles and summaries are ranked (``head``): ranking each
#: case's whole vector costs about 15 µs a case.
RANK_ALL = 1500
#: ts_rank normalisation: divide by 1 + log(document length), as BM25 dampens long texts.
RANK_NORMALIZATION = 0
#: Private-use characters stand for <mark>, </mark> and the fragment gap in headlines: the
#: text is escaped first and only then are they replaced, so no stored text becomes HTML.
START, STOP = "\ue000", "\ue001"
SENTINELS = START + STOP
TITLE_OPTIONS = f'HighlightAll=true, StartSel="{START}", StopSel="{STOP}"'
#: The whole text comes back marked; ``snippet`` picks the passages as for Whoosh
#: (ts_headline would take the first ones).
SNIPPET_OPTIONS = TITLE_OPTIONS
#: Snippets come from the first this many characters of the body (ts_headline parses all
#: it is given, for each of the shown hits).
SNIPPET_SOURCE = 20_000
SUGGESTION_CANDIDATES = 40
#: pg_trgm's similarity above which a word is a candidate (its default, 0.3, misses a
#: swap of two letters in a short word: "arbied" and "arbeid" share 3 of 11 trigrams).
SUGGESTION_SIMILARITY = 0.2

_DOCUMENTS = f"{SCHEMA}.documents"
_FULL = "CAST(:full AS tsquery)"
#: GIN finds the matches; the planner's guess that a scan of every row (decompressing each
#: vector) is cheaper is wrong for full-text conditions. JIT compiling costs more than it saves.
_SEARCH_SETTINGS = "SET LOCAL enable_seqscan = off; SET LOCAL jit = off"

_INSERT = text(
    f"""
    INSERT INTO {_DOCUMENTS} (case_id, version, ref, slug, language, config, country,
        title, summary, body, facet_keys, published_at,
        words, head, vector)
    SELECT :id, :version, :ref, :slug, :language, c.cfg, :country, :title, :summary, :body,
        CAST(:facet_keys AS text[]), :published_at,
        CAST(:words AS text[]), h.head,
        h.head || setweight(to_tsvector(c.cfg, :text_terms), 'C')
        || setweight(to_tsvector(c.cfg, :files_terms), 'D')
    FROM (SELECT CAST(:config AS regconfig) AS cfg) AS c
    CROSS JOIN LATERAL (
        SELECT setweight(to_tsvector(c.cfg, :title_terms), 'A')
            || setweight(to_tsvector(c.cfg, :summary_terms), 'B') AS head
    ) AS h
    """
)

# Document frequencies follow every change: subtract what the old rows counted, add what
# the new rows count (keys in order, so concurrent writers lock them in the same order).
# A count that falls to 0 stays as a row (readers ask for ndoc > 0): deleting it would lock
# rows other writers may hold; a rebuild starts the counts afresh.
_COUNT = """
    WITH rows AS ({rows}),
    lexemes AS (
        INSERT INTO {schema}.lexemes AS s (language, lexeme, ndoc)
        SELECT rows.language, x.lexeme, {sign} count(*)
        FROM rows, unnest(tsvector_to_array(rows.vector)) AS x(lexeme)
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (language, lexeme) DO UPDATE SET ndoc = s.ndoc + EXCLUDED.ndoc
    )
    INSERT INTO {schema}.words AS w (word, ndoc)
    SELECT x.word, {sign} count(*) FROM rows, unnest(rows.words) AS x(word)
    GROUP BY 1 ORDER BY 1
    ON CONFLICT (word) DO UPDATE SET ndoc = w.ndoc + EXCLUDED.ndoc
"""
_REMOVE = text(
    _COUNT.format(
        rows=f"DELETE FROM {_DOCUMENTS} WHERE case_id = ANY(CAST(:ids AS integer[])) "
        "RETURNING language, vector, words",
        schema=SCHEMA,
        sign="-",
    )
)
_ADD = text(
    _COUNT.format(
        rows=f"SELECT language, vector, words FROM {_DOCUMENTS} "
        "WHERE case_id = ANY(CAST(:ids AS integer[]))",
        schema=SCHEMA,
        sign="",
    )
)
_ADD_ALL = text(
    _COUNT.format(rows=f"SELECT language, vector, words FROM {_DOCUMENTS}", schema=SCHEMA, sign="")
)
_KNOWN = text(
    f"""
    SELECT EXISTS (SELECT 1 FROM {SCHEMA}.words WHERE word = :word AND ndoc > 0)
        OR EXISTS (
            SELECT 1 FROM {SCHEMA}.lexemes AS l
            JOIN (
                SELECT DISTINCT c.lang, x.lexeme
                FROM unnest(CAST(:langs AS text[]), CAST(:cfgs AS text[]), CAST(:texts AS text[]))
                    AS c(lang, cfg, t),
                    unnest(tsvector_to_array(to_tsvector(CAST(c.cfg AS regconfig), c.t)))
                    AS x(lexeme)
            ) AS q ON l.language = q.lang AND l.lexeme = q.lexeme AND l.ndoc > 0
        )
    """
)
#: The languages of the indexed cases, by skipping along the index on ``language``.
_LANGUAGES = text(
    f"""
    WITH RECURSIVE l AS (
        SELECT min(language) AS language FROM {_DOCUMENTS}
        UNION ALL
        SELECT (SELECT min(d.language) FROM {_DOCUMENTS} AS d WHERE d.language > l.language)
        FROM l WHERE l.language IS NOT NULL
    )
    SELECT language FROM l WHERE language IS NOT NULL
    """
)
_LOCK = text(
    "SELECT pg_advisory_xact_lock(:namespace, s.id) FROM "
    "(SELECT id FROM unnest(CAST(:ids AS integer[])) AS id ORDER BY id) AS s"
)


def _row(doc: IndexDocument) -> dict[str, Any]:
    config = config_for(doc.language)
    text = "\n".join(part for part in (doc.body, doc.places, doc.extra_text) if part)
    return {
        "id": doc.id,
        "version": doc.version,
        "ref": doc.ref,
        "slug": doc.slug,
        "language": doc.language,
        "config": config,
        "country": doc.country,
        "title": doc.title,
        "summary": doc.summary,
        "body": doc.body,
        "title_terms": prepare(config, doc.title),
        "summary_terms": prepare(config, doc.summary),
        "text_terms": prepare(config, text),
        "files_terms": prepare(config, doc.files_text),
        "facet_keys": facet_keys(doc),
        "published_at": doc.published_at,
        "words": sorted(_spelling_words(doc)),
    }


_WORD = re.compile(WORD_PATTERN)


def facet_key(facet: str, value: object) -> str:
    return f"{facet}:{value}"


def facet_keys(doc: IndexDocument) -> list[str]:
    """Every facet value of a case as "facet:value" (a facet's name has no colon)."""
    values: dict[str, tuple[object, ...]] = {
        "country": (doc.country,),
        "language": (doc.language,),
        "theme": doc.themes,
        "target_group": doc.target_groups,
        "event": doc.events,
        "year": doc.years,
        **doc.extra_facets,
    }
    keys = (facet_key(name, v) for name, items in values.items() for v in items if v != "")
    return list(dict.fromkeys(keys))


def _spelling_words(doc: IndexDocument) -> set[str]:
    """Words as written (lowercase) that a "did you mean" may offer (the analysis's own
    word pattern, without building Whoosh tokens: rebuilds send 100,000 documents)."""
    found = _WORD.findall("\n".join([doc.title, doc.summary, doc.body, doc.places]).lower())
    return {w for w in found if len(w) > 2 and not w.isdigit()}


def _batches(items: Iterable[IndexDocument], size: int) -> Iterator[list[IndexDocument]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _marked(value: str) -> str:
    """Escape a headline, then turn the sentinels into <mark>."""
    return str(escape(value)).replace(START, "<mark>").replace(STOP, "</mark>")


def _spans(value: str) -> tuple[str, list[tuple[int, int, str]]]:
    """The text of a marked headline and its marks: (start, end, word lowercased)."""
    text_parts: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start = None
    for piece in re.split(f"([{START}{STOP}])", value):
        if piece == START:
            start = length
        elif piece == STOP:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            text_parts.append(piece)
            length += len(piece)
    text = "".join(text_parts)
    return text, [(a, b, text[a:b].lower()) for a, b in spans]


@dataclass
class _Query:
    """The SQL pieces of one search."""

    where: list[str]
    params: dict[str, Any]
    compiled: Compiled | None
    #: The relaxations in the result set, each with the languages that take it (their
    #: cases follow those matching every word).
    relaxed: list[tuple[str, list[str]]] = field(default_factory=list)

    def matching(self) -> list[str]:
        """Conditions of which a case of the result set meets the first it can (in order)."""
        return [f"d.vector @@ {_FULL}"] + [
            f"(d.language = ANY(CAST(:relaxed_languages{i} AS text[])) "
            f"AND d.vector @@ CAST(:relaxed{i} AS tsquery))"
            for i in range(len(self.relaxed))
        ]

    def level(self) -> str:
        """0 for a case matching every word, else the number of the first relaxation
        that adds it (as the Whoosh backend numbers them)."""
        if not self.relaxed:
            return "0"
        steps = " ".join(f"WHEN {c} THEN {i}" for i, c in enumerate(self.matching()))
        return f"CASE {steps} END"


class PostgresBackend(SearchBackend):
    """Full-text search in PostgreSQL (tsvector, GIN, ts_rank, ts_headline, pg_trgm)."""

    def __init__(
        self,
        engine: Engine | str,
        vocabulary: Vocabulary,
        *,
        read_engine: Engine | str | None = None,
    ) -> None:
        self._owned: list[Engine] = []
        self.engine = self._engine(engine)
        self.read_engine = self._engine(read_engine) if read_engine else self.engine
        self.vocabulary = vocabulary
        self.leaves = LeafCache()

    def _engine(self, engine: Engine | str) -> Engine:
        if isinstance(engine, Engine):
            return engine
        created = create_engine(engine, pool_pre_ping=True)
        self._owned.append(created)
        return created

    def close(self) -> None:
        """Dispose of the engines this backend created (never the app's own)."""
        for engine in self._owned:
            engine.dispose()

    # -- writing ------------------------------------------------------------------------

    def index(self, documents: Iterable[IndexDocument]) -> None:
        self.apply(documents, ())

    def remove(self, ids: Iterable[int]) -> None:
        self.apply((), ids)

    def apply(self, documents: Iterable[IndexDocument], removed: Iterable[int]) -> None:
        with self.engine.begin() as connection:
            self.write(connection, documents, removed)

    def write(
        self, connection: Connection, documents: Iterable[IndexDocument], removed: Iterable[int]
    ) -> None:
        """Replace these cases' rows and remove others, in the caller's transaction.

        An advisory lock per case makes concurrent writers of one case take turns, so
        the document frequencies subtract exactly what the previous row counted.
        """
        docs = {doc.id: doc for doc in documents}
        ids = sorted(set(docs) | set(removed))
        if not ids:
            return
        connection.execute(_LOCK, {"namespace": LOCK_NAMESPACE, "ids": ids})
        connection.execute(_REMOVE, {"ids": ids})
        if docs:
            connection.execute(_INSERT, [_row(doc) for doc in docs.values()])
            connection.execute(_ADD, {"ids": sorted(docs)})

    def rebuild(
        self, documents: Iterable[IndexDocument], progress: Callable[[int], None] | None = None
    ) -> int:
        """Replace every row in one transaction (readers see the old index until it
        commits); vectors are built in SQL, rows sent in batches, frequencies counted once."""
        count = 0
        with self.engine.begin() as connection:
            # Writers wait until the new rows are in (readers do not).
            connection.execute(text(f"LOCK TABLE {_DOCUMENTS} IN EXCLUSIVE MODE"))
            for table in TABLES:
                connection.execute(text(f"DELETE FROM {table}"))
            for batch in _batches(documents, BATCH):
                connection.execute(_INSERT, [_row(doc) for doc in batch])
                count += len(batch)
                if progress:
                    progress(len(batch))
            connection.execute(_ADD_ALL)
        return count

    def versions(self) -> dict[int, str]:
        with self.engine.connect() as connection:
            rows = connection.execute(text(f"SELECT case_id, version FROM {_DOCUMENTS}"))
            return {row.case_id: row.version for row in rows}

    # -- searching ----------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResults:
        """The result set of ``kb.search.results``: decided on the whole index (the query
        is analysed in every language, whatever the filters), then filtered and paged."""
        parsed = parse(request.q)
        notices = ["truncated"] if parsed.truncated else []
        with self.read_engine.connect() as connection:
            connection.exec_driver_sql(_SEARCH_SETTINGS)
            compiled = None
            if not parsed.is_empty:
                plan = self.vocabulary.plan(parsed, None)
                word_plan = self.vocabulary.plan(parsed, None, join_spans=False)
                compiled = Compiler(connection, self.leaves, None).compile(plan, word_plan)
            elif parsed.excluded:
                plan = QueryPlan(requirements=[], excluded=list(parsed.excluded))
                compiled = Compiler(connection, self.leaves, None).compile(plan, None)
            query = self._query(connection, request, compiled, parsed.is_empty)
            if query is None:
                total, partial = 0, 0
                facets: dict[str, dict[str, int]] = {name: {} for name in request.facets}
                rows: dict[int, dict[str, Any]] = {}
                page: list[tuple] = []
            else:
                total, partial, facets, rows, page = self._run(connection, request, query)
            suggestion = None
            if parsed.units and wants_suggestion(total - partial):
                suggestion = self._suggestion(connection, parsed.units)
        highlight = bool(compiled and compiled.highlight)
        hits = [
            self._hit(rows[case_id], score, direct, is_partial, highlight)
            for case_id, score, direct, is_partial in page
            if case_id in rows
        ]
        return SearchResults(
            request=request,
            total=total,
            hits=hits,
            facets=facets,
            suggestion=suggestion,
            notices=notices,
            partial_total=partial,
        )

    def _query(
        self,
        connection: Connection,
        request: SearchRequest,
        compiled: Compiled | None,
        everything: bool,
    ) -> _Query | None:
        """The WHERE clauses and parameters, or None when nothing can match."""
        where, params = _filters(request.filters)
        query = _Query(where=where, params=params, compiled=compiled)
        if compiled is None:
            return query
        if compiled.excluded:
            where.append("NOT (d.vector @@ CAST(:excluded AS tsquery))")
            params["excluded"] = compiled.excluded
        if everything:
            return query
        if not compiled.full:
            return None
        params["full"] = compiled.full
        query.relaxed = self._relaxations_taken(connection, compiled)
        for i, (relaxed, languages) in enumerate(query.relaxed):
            params[f"relaxed{i}"], params[f"relaxed_languages{i}"] = relaxed, languages
        where.append(f"({' OR '.join(query.matching())})")
        return query

    def _relaxations_taken(
        self, connection: Connection, compiled: Compiled
    ) -> list[tuple[str, list[str]]]:
        """The relaxations in the result set, each with the languages that take it,
        counted per language over the whole index (no filters). Every language is counted
        at each step: a condition on the language leads PostgreSQL to scan the cases of
        those languages rather than the full-text index (measured three times slower)."""
        clauses = ["d.vector @@ CAST(:q AS tsquery)"]
        params: dict[str, Any] = {}
        if compiled.excluded:
            clauses.append("NOT (d.vector @@ CAST(:excluded AS tsquery))")
            params["excluded"] = compiled.excluded
        count = text(
            f"SELECT d.language, count(*) FROM {_DOCUMENTS} AS d "
            f"WHERE {' AND '.join(clauses)} GROUP BY d.language"
        )

        def size(step: int, _languages: list[str]) -> dict[str, int] | None:
            if step > len(compiled.relaxations):
                return None
            matching = " | ".join(f"({q})" for q in [compiled.full, *compiled.relaxations[:step]])
            return dict(connection.execute(count, dict(params, q=matching)).all())

        every = list(connection.scalars(_LANGUAGES))
        strict = size(0, every) or {}
        taken = relaxations_taken({**dict.fromkeys(every, 0), **strict}, size)
        return [
            (relaxed, sorted(lang for lang, n in taken.items() if n > i))
            for i, relaxed in enumerate(compiled.relaxations[: max(taken.values(), default=0)])
        ]

    def _score(self, query: _Query, vector: str) -> str:
        compiled = query.compiled
        if compiled is None or not compiled.rank:
            return "CAST(0 AS real)"
        terms = []
        for i, (weight, tsquery) in enumerate(compiled.rank):
            query.params[f"rank{i}"] = tsquery
            terms.append(
                f"{weight!r} * ts_rank(CAST('{RANK_WEIGHTS}' AS real[]), {vector}, "
                f"CAST(:rank{i} AS tsquery), {RANK_NORMALIZATION})"
            )
        return " + ".join(terms)

    def _direct(self, query: _Query, vector: str) -> str:
        compiled = query.compiled
        if compiled is None or not compiled.full or compiled.direct == compiled.full:
            return "TRUE"  # nothing came from the vocabulary: every match is direct
        if not compiled.direct:
            return "FALSE"  # every match came through the vocabulary
        query.params["direct"] = compiled.direct
        return f"{vector} @@ CAST(:direct AS tsquery)"

    def _columns(self, query: _Query) -> str:
        """The shown columns of a hit, with highlights when the query has words."""
        if query.compiled is None or not query.compiled.highlight:
            return "NULL AS title_html, NULL AS snippet_html"
        query.params.update(
            sentinels=SENTINELS, title_options=TITLE_OPTIONS, snippet_options=SNIPPET_OPTIONS
        )
        cases = []
        for i, (config, tsquery) in enumerate(sorted(query.compiled.highlight.items())):
            query.params[f"hl_config{i}"] = config
            query.params[f"hl{i}"] = tsquery
            cases.append(f"WHEN CAST(:hl_config{i} AS regconfig) THEN CAST(:hl{i} AS tsquery)")
        marks = f"CASE d.config {' '.join(cases)} ELSE CAST('' AS tsquery) END"
        return (
            f"ts_headline(d.config, translate(d.title, :sentinels, ''), {marks}, "
            ":title_options) AS title_html, "
            "ts_headline(d.config, translate(left(coalesce(nullif(d.body, ''), d.summary), "
            f"{SNIPPET_SOURCE}), "
            f":sentinels, ''), {marks}, :snippet_options) AS snippet_html"
        )

    def _run(
        self, connection: Connection, request: SearchRequest, query: _Query
    ) -> tuple[int, int, dict[str, dict[str, int]], dict[int, dict[str, Any]], list[tuple]]:
        """Count (all, partial), facets and the page of the result set in one statement."""
        newest = request.sort == "newest"
        score = "CAST(0 AS real)" if newest else self._score(query, "v.vector")
        direct = "TRUE" if newest else self._direct(query, "v.vector")
        if newest or "full" not in query.params:  # newest first, or no words to rank by
            scored = "TRUE AS direct, CAST(0 AS real) AS score"
        else:
            # Few matches: decompress each vector once and rank by all of it. Many: rank
            # the cases whose title or summary matches by those (a small vector, stored
            # inline), the others after them; tell direct hits by the index (the same
            # filters, so the index scans stay within the matches).
            indexed = self._direct(query, "d.vector")
            big_direct = (
                indexed
                if indexed in ("TRUE", "FALSE")
                else f"m.case_id IN (SELECT d.case_id FROM {_DOCUMENTS} AS d "
                f"WHERE {' AND '.join([indexed, *query.where])})"
            )
            in_head = f"m.head @@ {_FULL}"
            scored = (
                f"CASE WHEN n.total > :rank_all THEN {big_direct} ELSE {direct} END AS direct, "
                f"CASE WHEN n.total <= :rank_all THEN {score} "
                f"WHEN {in_head} THEN {self._score(query, 'm.head')} ELSE 0 END AS score"
            )
        query.params["rank_all"] = RANK_ALL
        order = (
            "s.published_at DESC NULLS LAST, s.case_id DESC"
            if newest
            else "s.level, s.direct DESC, s.score DESC, s.case_id"
        )
        query.params.update(limit=request.per_page, offset=(request.page - 1) * request.per_page)
        statement = f"""
            WITH m AS MATERIALIZED (
                SELECT d.case_id, d.facet_keys, d.published_at, d.head, d.vector,
                    {query.level()} AS level
                FROM {_DOCUMENTS} AS d WHERE {" AND ".join(query.where)}
            ),
            n AS (SELECT count(*) AS total, count(*) FILTER (WHERE m.level > 0) AS partial
                FROM m),
            s AS MATERIALIZED (
                SELECT m.case_id, m.published_at, m.level, {scored}
                FROM m CROSS JOIN n CROSS JOIN LATERAL (
                    SELECT CASE WHEN n.total <= :rank_all
                        THEN m.vector || CAST('' AS tsvector) END AS vector
                    OFFSET 0
                ) AS v
            ),
            page AS (
                SELECT s.case_id, s.direct AND s.level = 0 AS direct, s.score, s.level,
                    row_number() OVER (ORDER BY {order}) AS n
                FROM s ORDER BY {order} LIMIT :limit OFFSET :offset
            ),
            hits AS (
                SELECT page.n, page.case_id, page.direct, page.score, page.level, d.ref,
                    d.slug, d.title, d.summary, d.body, d.language, d.country,
                    {self._columns(query)}
                FROM page JOIN {_DOCUMENTS} AS d ON d.case_id = page.case_id
            )
            SELECT (SELECT total FROM n), (SELECT partial FROM n),
                (SELECT coalesce(json_agg(json_build_array(f.k, f.n)), '[]')
                   FROM ({_FACETS_SQL}) AS f(k, n)),
                (SELECT coalesce(json_agg(hits ORDER BY hits.n), '[]') FROM hits)
        """
        total, partial, facet_rows, hit_rows = connection.execute(
            text(statement), query.params
        ).one()
        facets = _facet_counts(request.facets, facet_rows)
        rows = {row["case_id"]: row for row in hit_rows}
        page = [(row["case_id"], row["score"], row["direct"], row["level"] > 0) for row in hit_rows]
        return total, partial, facets, rows, page

    def _details(
        self, connection: Connection, ids: list[int], query: _Query
    ) -> dict[int, dict[str, Any]]:
        params = dict(query.params, ids=ids)
        statement = (
            f"SELECT d.case_id, d.ref, d.slug, d.title, d.summary, d.body, d.language, "
            f"d.country, {self._columns(_Query([], params, query.compiled))} "
            f"FROM {_DOCUMENTS} AS d WHERE d.case_id = ANY(:ids)"
        )
        return {row.case_id: row._asdict() for row in connection.execute(text(statement), params)}

    def _hit(
        self, row: dict[str, Any], score: float, direct: bool, partial: bool, highlight: bool
    ) -> SearchHit:
        value = float(score or 0.0)
        return SearchHit(
            id=row["case_id"],
            ref=row["ref"],
            slug=row["slug"],
            title=row["title"],
            summary=row["summary"],
            language=row["language"],
            country=row["country"],
            score=round(value, 4) if math.isfinite(value) else 0.0,
            title_html=_marked(row["title_html"]) if highlight else str(escape(row["title"])),
            snippet_html=(
                snippet(*_spans(row["snippet_html"]))
                if highlight
                else str(escape(shorten(row["body"] or row["summary"])))
            ),
            direct=direct,
            partial=partial,
        )

    # -- suggestions --------------------------------------------------------------------

    def suggest(self, text_: str, limit: int = 5) -> list[str]:
        word = text_.strip().lower()
        if not word:
            return []
        with self.read_engine.connect() as connection:
            return [w for w, _ in self._candidates(connection, word)][:limit]

    def _candidates(self, connection: Connection, word: str) -> list[tuple[str, int]]:
        """Indexed words within MAX_EDITS of ``word`` with the same first letter, the
        closest and most frequent first (pg_trgm finds the candidates)."""
        connection.execute(
            text("SELECT set_config('pg_trgm.similarity_threshold', :threshold, true)"),
            {"threshold": str(SUGGESTION_SIMILARITY)},
        )
        rows = connection.execute(
            text(
                f"SELECT word, ndoc FROM {SCHEMA}.words WHERE word % :word AND ndoc > 0 "
                "AND left(word, 1) = left(:word, 1) AND word <> :word "
                "ORDER BY similarity(word, :word) DESC, ndoc DESC LIMIT :limit"
            ),
            {"word": word, "limit": SUGGESTION_CANDIDATES},
        ).all()
        scored = [(edit_distance(word, w), -n, w) for w, n in rows]
        return [(w, -n) for d, n, w in sorted(scored) if d <= MAX_EDITS]

    def _known(self, connection: Connection, word: str) -> bool:
        """A word is known when it is written in a case or its stem occurs in any language."""
        return bool(
            connection.scalar(
                _KNOWN,
                {
                    "word": word,
                    "langs": list(_LANGUAGE_CONFIGS),
                    "cfgs": list(_LANGUAGE_CONFIGS.values()),
                    "texts": [prepare(cfg, word) for cfg in _LANGUAGE_CONFIGS.values()],
                },
            )
        )

    def _suggestion(self, connection: Connection, units: list[Unit]) -> str | None:
        """A "did you mean" for words the index does not know."""
        changed = False
        corrected = []
        for unit in units:
            fixed = []
            for word in unit.words:
                if len(word) < 4 or word.isdigit() or self._known(connection, word):
                    fixed.append(word)
                    continue
                options = self._candidates(connection, word)
                if options and fold(options[0][0]) != fold(word):
                    fixed.append(options[0][0])
                    changed = True
                else:
                    fixed.append(word)
            corrected.append(" ".join(fixed))
        return " ".join(corrected) if changed else None

    # -- related ------------------------------------------------------------------------

    def related(self, case_id: int, limit: int = 4) -> list[SearchHit]:
        from kb.search.postgres.related import related_cases

        if limit < 1:
            return []
        with self.read_engine.connect() as connection:
            found = related_cases(connection, self.vocabulary, self.leaves, case_id, limit)
            if not found:
                return []
            rows = self._details(connection, [i for i, _, _ in found], _Query([], {}, None))
        return [
            self._hit(rows[i], score, same_language, False, False)
            for i, score, same_language in found
            if i in rows
        ]


_LANGUAGE_CONFIGS = {language: config_for(language) for language in ANALYZED_LANGUAGES}


def _filters(filters: dict[str, tuple[str, ...]]) -> tuple[list[str], dict[str, Any]]:
    """AND between facets, OR within one (each facet's keys overlap the case's)."""
    where: list[str] = []
    params: dict[str, Any] = {}
    for i, (name, values) in enumerate(sorted(filters.items())):
        if values:
            where.append(f"d.facet_keys && CAST(:filter{i} AS text[])")
            params[f"filter{i}"] = [facet_key(name, _value(name, v)) for v in values]
    return where or ["TRUE"], params


def _value(facet: str, value: object) -> str:
    """A filter's value as indexed (years as plain numbers: "01996" is 1996)."""
    text_ = str(value).strip()
    if facet == "year" and text_.lstrip("-").isdigit():
        return str(int(text_))
    return text_


_FACETS_SQL = "SELECT k, count(*) FROM m, unnest(m.facet_keys) AS k GROUP BY k"


def _facet_counts(names: tuple[str, ...], rows: list[list[Any]]) -> dict[str, dict[str, int]]:
    """Counts per asked facet, in the shared order, from ("facet:value", count) rows."""
    counts: dict[str, dict[str, int]] = {name: {} for name in names}
    for key, n in rows:
        facet, _, value = str(key).partition(":")
        if facet in counts and value:
            counts[facet][value] = int(n)
    return {name: facet_order(name, values) for name, values in counts.items()}
