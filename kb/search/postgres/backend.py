"""The PostgreSQL search backend: per published case a narrow row to match in
(``kb_search.documents``) and a row of what a hit shows (``kb_search.shown``).

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
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text

from kb.search import plan, searching
from kb.search.analysis import WORD_PATTERN
from kb.search.backend import (
    PROFILE_FACETS,
    IndexDocument,
    SearchBackend,
    SearchHit,
    SearchRequest,
    SearchResults,
)
from kb.search.common import MAX_EDITS, edit_distance, idf
from kb.search.concepts import Vocabulary
from kb.search.highlight import Highlighter
from kb.search.planner import (
    RELATED_FACET_BOOST,
    RELATED_FACETS,
    RELATED_FIELDS,
    RELATED_PROFILE_BOOST,
    Planner,
)
from kb.search.postgres.compile import Conditions, lexeme, rank_groups, ranked_terms
from kb.search.postgres.lexicon import PostgresLexicon
from kb.search.postgres.schema import DOCUMENTS, LOCK_NAMESPACE, SCHEMA, SHOWN, TABLES
from kb.search.postgres.vectors import vectors

BATCH = 1000
#: ts_rank's weights of D (attached files), C (body), B (summary), A (title).
RANK_WEIGHTS = "{0.125, 0.25, 0.5, 1.0}"
#: Above this many matches only titles and summaries are ranked (``head``): ranking each
#: case's whole vector costs about 15 µs a case.
RANK_ALL = 1500
#: ts_rank normalisation: divide by 1 + log(document length), as BM25 dampens long texts.
RANK_NORMALIZATION = 0
SUGGESTION_CANDIDATES = 40
#: Cases matching every word first (direct hits before cross-language ones), then those of
#: each relaxation in turn; by score within each (as ``whoosh_backend._by_relevance``).
RELEVANCE_ORDER = "s.level, s.direct DESC, s.score DESC, s.case_id"
NEWEST_ORDER = "s.published_at DESC NULLS LAST, s.case_id DESC"
#: The most recently confirmed as still accurate first.
CONFIRMED_ORDER = "s.confirmed_at DESC NULLS LAST, s.case_id DESC"
DATE_ORDERS = {"newest": NEWEST_ORDER, "confirmed": CONFIRMED_ORDER}
#: pg_trgm's similarity above which a word is a candidate (its default, 0.3, misses a
#: swap of two letters in a short word: "arbied" and "arbeid" share 3 of 11 trigrams).
SUGGESTION_SIMILARITY = 0.2

#: GIN finds the matches; the planner's guess that a scan of every row (decompressing each
#: vector) is cheaper is wrong for full-text conditions. JIT compiling costs more than it saves.
#: The matches of a search (thousands of rows) stay in memory: spilled to disk they cost
#: more than ranking them.
_SEARCH_SETTINGS = (
    "SET LOCAL enable_seqscan = off; SET LOCAL jit = off; SET LOCAL work_mem = '32MB'"
)

#: A case's two rows: the narrow one first (the shown row refers to it).
_INSERTS = (
    text(
        f"""
        INSERT INTO {DOCUMENTS} (case_id, version, language, country, facet_keys,
            published_at, confirmed_at, vector)
        VALUES (:id, :version, :language, :country, CAST(:facet_keys AS text[]),
            :published_at, :confirmed_at, CAST(:vector AS tsvector))
        """
    ),
    text(
        f"""
        INSERT INTO {SHOWN} (case_id, ref, slug, title, summary, body, words, head)
        VALUES (:id, :ref, :slug, :title, :summary, :body, CAST(:words AS text[]),
            CAST(:head AS tsvector))
        """
    ),
)

# Document frequencies follow every change: subtract what the old rows counted, add what
# the new rows count (keys in order, so concurrent writers lock them in the same order).
# Old rows are counted before they are deleted (their shown rows go with them).
# A stem's field is its weight (A title, B summary, C body), ``<lang>/`` marks attached
# files; a folded word is in text_all. A count that falls to 0 stays as a row (readers ask
# for ndoc > 0): deleting it
# would lock rows other writers may hold; a rebuild starts the counts afresh.
_COUNT = """
    WITH rows AS ({rows}),
    fields AS (
        SELECT DISTINCT rows.case_id,
            CASE WHEN strpos(u.lexeme, ':') > 0
                    THEN CASE w WHEN 'A' THEN 'title' WHEN 'B' THEN 'summary' ELSE 'body' END
                    || '_' || split_part(u.lexeme, ':', 1)
                WHEN strpos(u.lexeme, '/') > 0 THEN 'files_' || split_part(u.lexeme, '/', 1)
                ELSE 'text_all' END AS field,
            substr(u.lexeme, greatest(strpos(u.lexeme, ':'), strpos(u.lexeme, '/')) + 1) AS term
        FROM rows, unnest(rows.vector) AS u, unnest(u.weights) AS w
    ),
    terms AS (
        INSERT INTO {schema}.terms AS s (field, term, ndoc)
        SELECT field, term, {sign} count(*) FROM fields
        GROUP BY 1, 2 ORDER BY 1, 2
        ON CONFLICT (field, term) DO UPDATE SET ndoc = s.ndoc + EXCLUDED.ndoc
    )
    INSERT INTO {schema}.words AS w (word, ndoc)
    SELECT x.word, {sign} count(*) FROM rows, unnest(rows.words) AS x(word)
    GROUP BY 1 ORDER BY 1
    ON CONFLICT (word) DO UPDATE SET ndoc = w.ndoc + EXCLUDED.ndoc
"""
_BOTH_ROWS = (
    f"SELECT d.case_id, d.vector, s.words FROM {DOCUMENTS} AS d "
    f"JOIN {SHOWN} AS s ON s.case_id = d.case_id"
)
_SOME = " WHERE d.case_id = ANY(CAST(:ids AS integer[]))"
_UNCOUNT = text(_COUNT.format(rows=_BOTH_ROWS + _SOME, schema=SCHEMA, sign="-"))
_DELETE = text(f"DELETE FROM {DOCUMENTS} WHERE case_id = ANY(CAST(:ids AS integer[]))")
_ADD = text(_COUNT.format(rows=_BOTH_ROWS + _SOME, schema=SCHEMA, sign=""))
_ADD_ALL = text(_COUNT.format(rows=_BOTH_ROWS, schema=SCHEMA, sign=""))
#: The languages of the indexed cases, by skipping along the index on ``language``.
_LANGUAGES = text(
    f"""
    WITH RECURSIVE l AS (
        SELECT min(language) AS language FROM {DOCUMENTS}
        UNION ALL
        SELECT (SELECT min(d.language) FROM {DOCUMENTS} AS d WHERE d.language > l.language)
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
    head, vector = vectors(doc)
    return {
        "id": doc.id,
        "version": doc.version,
        "ref": doc.ref,
        "slug": doc.slug,
        "language": doc.language,
        "country": doc.country,
        "title": doc.title,
        "summary": doc.summary,
        "body": doc.body,
        "facet_keys": facet_keys(doc),
        "published_at": doc.published_at,
        "confirmed_at": doc.confirmed_at,
        "words": sorted(_spelling_words(doc)),
        "head": head,
        "vector": vector,
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
        "practice_status": (doc.practice_status,),
        "budget_band": (doc.budget_band,),
        **doc.extra_facets,
        **doc.profile(),
    }
    keys = (facet_key(name, v) for name, items in values.items() for v in items if v != "")
    return list(dict.fromkeys(keys))


def _spelling_words(doc: IndexDocument) -> set[str]:
    """Words as written (lowercase) that a "did you mean" may offer (the analysis's own
    word pattern, without building Whoosh tokens: rebuilds send 100,000 documents)."""
    found = _WORD.findall("\n".join([doc.title, doc.summary, doc.body, doc.places]).lower())
    return {w for w in found if len(w) > 2 and not w.isdigit()}


def _insert(connection: Connection, rows: list[dict[str, Any]]) -> None:
    for statement in _INSERTS:
        connection.execute(statement, rows)


def _batches(items: Iterable[IndexDocument], size: int) -> Iterator[list[IndexDocument]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


class PostgresBackend(SearchBackend):
    """Full-text search in PostgreSQL (tsvector, GIN, ts_rank, pg_trgm), planned by the planner."""

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
        connection.execute(_UNCOUNT, {"ids": ids})
        connection.execute(_DELETE, {"ids": ids})
        if docs:
            _insert(connection, [_row(doc) for doc in docs.values()])
            connection.execute(_ADD, {"ids": sorted(docs)})

    def rebuild(
        self, documents: Iterable[IndexDocument], progress: Callable[[int], None] | None = None
    ) -> int:
        """Replace every row in one transaction (readers see the old index until it
        commits); vectors are built in SQL, rows sent in batches, frequencies counted once."""
        count = 0
        with self.engine.begin() as connection:
            # Writers wait until the new rows are in (readers do not).
            connection.execute(text(f"LOCK TABLE {DOCUMENTS} IN EXCLUSIVE MODE"))
            for table in TABLES:
                connection.execute(text(f"DELETE FROM {table}"))
            for batch in _batches(documents, BATCH):
                _insert(connection, [_row(doc) for doc in batch])
                count += len(batch)
                if progress:
                    progress(len(batch))
            connection.execute(_ADD_ALL)
        self._vacuum()
        return count

    def _vacuum(self) -> None:
        """Statistics and the visibility map for the new rows (VACUUM runs outside a
        transaction): the planner's estimates, and counts by index alone without a visit
        to every row (measured before autovacuum had run, on 10,000 cases: two-word
        searches 85 -> 70 ms median)."""
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            for table in TABLES:
                connection.exec_driver_sql(f"VACUUM (ANALYZE) {table}")

    def versions(self) -> dict[int, str]:
        with self.engine.connect() as connection:
            rows = connection.execute(text(f"SELECT case_id, version FROM {DOCUMENTS}"))
            return {row.case_id: row.version for row in rows}

    # -- searching ----------------------------------------------------------------------

    def search(self, request: SearchRequest) -> SearchResults:
        with self.read_engine.connect() as connection:
            connection.exec_driver_sql(_SEARCH_SETTINGS)
            return searching.search(request, self.vocabulary, _Execution(connection))

    def suggest(self, text_: str, limit: int = 5) -> list[str]:
        word = text_.strip().lower()
        if not word:
            return []
        with self.read_engine.connect() as connection:
            return [w for w, _ in _candidates(connection, word)][:limit]

    def related(self, case_id: int, limit: int = 4) -> list[SearchHit]:
        """More like this (``Planner.like``), among the cases that share a theme: each
        feature the case shares adds its weight, each shared theme or target group
        RELATED_FACET_BOOST; the sum is scaled by RELATED_PROFILE_BOOST for each part of the
        municipality's profile shared (as ``WhooshBackend`` does)."""
        if limit < 1:
            return []
        with self.read_engine.connect() as connection:
            connection.exec_driver_sql(_SEARCH_SETTINGS)
            me = connection.execute(_CASE, {"id": case_id}).one_or_none()
            if me is None:
                return []
            lexicon = PostgresLexicon(connection)
            planner = Planner(self.vocabulary, lexicon)
            texts = {name: getattr(me, name) or "" for name in RELATED_FIELDS}
            like = searching.settled(lexicon, lambda: planner.like(texts, me.language))
            features = list(like.parts) if isinstance(like, plan.Any) else [like]
            features = [f for f in features if f is not plan.NOTHING]
            shared = [k for k in me.facet_keys if k.partition(":")[0] in RELATED_FACETS]
            profile = [k for k in me.facet_keys if k.partition(":")[0] in PROFILE_FACETS]
            themes = [k for k in me.facet_keys if k.startswith("theme:")]
            if not features and not shared:
                return []
            conditions = Conditions()
            score = [
                f"CASE WHEN {conditions.match(feature)} THEN {_weight(feature)!r} ELSE 0 END"
                for feature in features
            ]
            found = [conditions.match(plan.any_of(features))] if features else []
            params = conditions.params
            params.update(id=case_id, shared=shared, themes=themes, profile=profile, limit=limit)
            found.append("d.facet_keys && CAST(:shared AS text[])")
            where = [f"({' OR '.join(found)})", "d.case_id <> :id"]
            if themes:
                where.append("d.facet_keys && CAST(:themes AS text[])")
            score.append(
                f"{RELATED_FACET_BOOST!r} * cardinality(ARRAY(SELECT unnest(d.facet_keys) "
                "INTERSECT SELECT unnest(CAST(:shared AS text[]))))"
            )
            total = f"({' + '.join(score)})"
            if profile:  # a tie-break: a municipality like this one's (docs/search.md)
                total += (
                    f" * (1 + {RELATED_PROFILE_BOOST!r} * cardinality(ARRAY(SELECT "
                    "unnest(d.facet_keys) INTERSECT SELECT unnest(CAST(:profile AS text[])))))"
                )
            best = (
                f"SELECT d.case_id, d.language, d.country, {total} AS score "
                f"FROM {DOCUMENTS} AS d WHERE {' AND '.join(where)} "
                "ORDER BY score DESC, d.case_id LIMIT :limit"
            )
            rows = connection.execute(
                text(
                    f"SELECT {_SHOWN}, d.score FROM ({best}) AS d "
                    f"JOIN {SHOWN} AS h ON h.case_id = d.case_id ORDER BY d.score DESC, d.case_id"
                ),
                params,
            ).all()
        marker = Highlighter({})
        return [
            _hit(row._asdict(), row.score, row.language == me.language, False, marker)
            for row in rows
        ]


class _Execution:
    """One search in one connection: the primitives of ``kb.search.searching``."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.lexicon = PostgresLexicon(connection)

    def languages(self) -> list[str]:
        return list(self.connection.scalars(_LANGUAGES))

    def language_counts(self, nodes: Sequence[plan.Node]) -> dict[str, int]:
        conditions = Conditions()
        match = conditions.match(plan.any_of(list(nodes)))
        if match == "FALSE":
            return {}
        # The fence (OFFSET 0) keeps PostgreSQL from walking the index on language to
        # group, which tests every case's vector (measured ten times slower than GIN).
        statement = text(
            f"SELECT m.language, count(*) FROM (SELECT d.language FROM {DOCUMENTS} AS d "
            f"WHERE {match} OFFSET 0) AS m GROUP BY m.language"
        )
        return dict(self.connection.execute(statement, conditions.params).all())

    def spellings(self, word: str, limit: int) -> list[str]:
        return [w for w, _ in _candidates(self.connection, word)][:limit]

    def _rank_groups(self, nodes: list[plan.Node]) -> list[tuple[float, str]]:
        """The ranked lexemes in groups of their boost times their IDF (BM25's)."""
        terms = ranked_terms(nodes)
        lexicon = self.lexicon
        found = searching.settled(lexicon, lambda: [lexicon.frequency(f, t) for f, t, _ in terms])
        cases = lexicon.cases()
        weights: dict[str, float] = {}
        for (field_name, term, boost), df in zip(terms, found, strict=True):
            if not df:  # a compound's word asked in a field that lacks it
                continue
            key = lexeme(field_name, term)
            weights[key] = max(weights.get(key, 0.0), boost * idf(df, cases))
        return rank_groups(weights)

    def select(
        self, selection: searching.Selection, request: SearchRequest, marker: Highlighter
    ) -> searching.Selected:
        """Count, facets and the page of the selection in one statement."""
        where, params = _filters(request.filters)
        if request.confirmed_since is not None:
            where = [*where, "d.confirmed_at >= :confirmed_since"]
            params["confirmed_since"] = request.confirmed_since
        conditions = Conditions(params)
        newest = request.sort in DATE_ORDERS
        groups = self._rank_groups([selection.strict, *(node for node, _ in selection.relaxed)])
        ranks = [(weight, conditions.param(query)) for weight, query in groups]
        direct = "TRUE"  # by a date, no words to rank by, or every match is direct
        score = "CAST(0 AS real)"
        if not newest and ranks:
            # Only the cases of the (level, direct) groups the page falls in are ranked
            # (their vectors read for them alone): the others' order does not show. Few
            # matches: decompress each vector once and rank by all of it. Many: rank the
            # cases whose title or summary has a ranked word by those (``head``, in the
            # shown rows, looked up by key for the page's groups alone: a GIN index on
            # ``head`` read every case with the word, in any group, and cost as much or,
            # filtered, ten times more), the others after them. Direct hits are told by
            # the index (the same filters, so the scan stays within the matches).
            def rank(vector: str) -> str:
                return " + ".join(
                    f"{weight!r} * ts_rank(CAST('{RANK_WEIGHTS}' AS real[]), {vector}, "
                    f"CAST(:{name} AS tsquery), {RANK_NORMALIZATION})"
                    for weight, name in ranks
                )

            if selection.direct != selection.strict:
                direct = (
                    f"x.case_id IN (SELECT d.case_id FROM "
                    f"{_found(conditions.match(selection.direct))} WHERE {' AND '.join(where)})"
                )
            ranked_words = conditions.param(" | ".join(f"( {q} )" for _, q in groups))
            score = (
                f"CASE WHEN n.total > :rank_all THEN coalesce((SELECT {rank('h.head')} "
                f"FROM {SHOWN} AS h WHERE h.case_id = m.case_id "
                f"AND h.head @@ CAST(:{ranked_words} AS tsquery)), 0) "
                f"ELSE (SELECT {rank('v.vector')} FROM {DOCUMENTS} AS d CROSS JOIN LATERAL ("
                "SELECT d.vector || CAST('' AS tsvector) AS vector OFFSET 0) AS v "
                "WHERE d.case_id = m.case_id) END"
            )
        matched = _matched(selection, where, conditions)
        order = DATE_ORDERS.get(request.sort, RELEVANCE_ORDER)
        params.update(
            rank_all=RANK_ALL,
            limit=request.per_page,
            offset=(request.page - 1) * request.per_page,
        )
        # The page is taken before its rows are numbered: a sort under LIMIT keeps only
        # the top rows, where numbering every match first sorted all of them.
        statement = f"""
            WITH m AS MATERIALIZED (SELECT x.*, {direct} AS direct FROM ({matched}) AS x),
            n AS (SELECT count(*) AS total, count(*) FILTER (WHERE m.level > 0) AS partial
                FROM m),
            b AS (
                SELECT m.level, m.direct, count(*) AS size,
                    sum(count(*)) OVER (ORDER BY m.level, m.direct DESC) AS upto
                FROM m GROUP BY m.level, m.direct
            ),
            s AS MATERIALIZED (
                SELECT m.case_id, m.published_at, m.confirmed_at, m.level, m.direct,
                    {score} AS score
                FROM m JOIN b ON b.level = m.level AND b.direct = m.direct CROSS JOIN n
                WHERE {_IN_PAGE}
                UNION ALL
                SELECT m.case_id, m.published_at, m.confirmed_at, m.level, m.direct, 0
                FROM m JOIN b ON b.level = m.level AND b.direct = m.direct
                WHERE NOT ({_IN_PAGE})
            ),
            page AS (
                SELECT s.*, row_number() OVER (ORDER BY {order}) AS n FROM (
                    SELECT * FROM s ORDER BY {order} LIMIT :limit OFFSET :offset
                ) AS s
            ),
            hits AS (
                SELECT page.n, page.direct AND page.level = 0 AS direct, page.score,
                    page.level, {_SHOWN}
                FROM page JOIN {DOCUMENTS} AS d ON d.case_id = page.case_id
                    JOIN {SHOWN} AS h ON h.case_id = page.case_id
            )
            SELECT (SELECT total FROM n), (SELECT partial FROM n),
                (SELECT coalesce(json_agg(json_build_array(f.k, f.n)), '[]')
                   FROM ({_FACETS_SQL}) AS f(k, n)),
                (SELECT coalesce(json_agg(hits ORDER BY hits.n), '[]') FROM hits)
        """
        total, partial, facet_rows, hit_rows = self.connection.execute(
            text(statement), params
        ).one()
        hits = [
            _hit(row, row["score"], row["direct"], row["level"] > 0, marker) for row in hit_rows
        ]
        return searching.Selected(total, partial, _facet_counts(request.facets, facet_rows), hits)


def _matched(selection: searching.Selection, where: list[str], conditions: Conditions) -> str:
    """SQL of the selection's matches within the filters, each with its level: 0 matches
    every word, i the i-th relaxation in its languages (the lowest counts).

    Each level is its own GIN scan, its languages and the filters tested after it (the
    fence, ``_found``): a condition on the rows, or the language or facet index first,
    would decompress the vector of every candidate (measured: most of a search's time
    with thousands of matches). Only the narrow rows are read: ranking reads the vectors
    or heads of the cases it ranks.
    """
    filters = " AND ".join(where)
    strict = _found(conditions.match(selection.strict))
    levels = [f"SELECT {_MATCHED}, 0 AS level FROM {strict} WHERE {filters}"]
    if not selection.relaxed:
        return levels[0]
    for i, (node, languages) in enumerate(selection.relaxed, 1):
        languages_param = conditions.param(languages)
        levels.append(
            f"SELECT {_MATCHED}, {i} AS level FROM {_found(conditions.match(node))} "
            f"WHERE d.language = ANY(CAST(:{languages_param} AS text[])) AND {filters}"
        )
    union = " UNION ALL ".join(levels)
    return f"SELECT DISTINCT ON (u.case_id) u.* FROM ({union}) AS u ORDER BY u.case_id, u.level"


def _found(match: str) -> str:
    """The narrow rows (as ``d``) that the GIN index finds for ``match``, tested for
    nothing else: a filter or language is tested on them after (``OFFSET 0`` keeps
    PostgreSQL from testing the match on the rows that another index finds, reading each
    one's vector). The narrow rows stay in shared buffers, so testing the filters on
    every match costs less than one vector read a candidate."""
    return f"(SELECT d.* FROM {DOCUMENTS} AS d WHERE {match} OFFSET 0) AS d"


#: A group of matches (``b``: same level, direct or not) has cases on the page.
_IN_PAGE = "b.upto > :offset AND b.upto - b.size < :offset + :limit"
#: What the statement of ``select`` needs of each match.
_MATCHED = "d.case_id, d.facet_keys, d.published_at, d.confirmed_at"


#: The columns a hit shows (``d`` its narrow row, ``h`` its shown row).
_SHOWN = "d.case_id, h.ref, h.slug, h.title, h.summary, h.body, d.language, d.country"
_CASE = text(
    f"SELECT d.language, h.title, h.summary, h.body, d.facet_keys FROM {DOCUMENTS} AS d "
    f"JOIN {SHOWN} AS h ON h.case_id = d.case_id WHERE d.case_id = :id"
)


def _weight(node: plan.Node) -> float:
    """What a related case's feature adds when the case matches it: its best leaf's boost."""
    return max((leaf.boost for leaf in plan.leaves(node)), default=0.0)


def _hit(
    row: dict[str, Any], score: float, direct: bool, partial: bool, marker: Highlighter
) -> SearchHit:
    value = float(score or 0.0)
    language = row["language"]
    return SearchHit(
        id=row["case_id"],
        ref=row["ref"],
        slug=row["slug"],
        title=row["title"],
        summary=row["summary"],
        language=language,
        country=row["country"],
        score=round(value, 4) if math.isfinite(value) else 0.0,
        title_html=marker.mark(row["title"], language, whole=True),
        snippet_html=marker.mark(row["body"] or row["summary"], language, whole=False),
        direct=direct,
        partial=partial,
    )


def _candidates(connection: Connection, word: str) -> list[tuple[str, int]]:
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


#: The set-returning function in the select list (ProjectSet), not a join with unnest:
#: measured twice as fast over thousands of matches.
_FACETS_SQL = (
    "SELECT u.k, count(*) FROM (SELECT unnest(m.facet_keys) AS k FROM m) AS u GROUP BY u.k"
)


def _facet_counts(names: tuple[str, ...], rows: list[list[Any]]) -> dict[str, dict[str, int]]:
    """Counts per asked facet from ("facet:value", count) rows."""
    counts: dict[str, dict[str, int]] = {name: {} for name in names}
    for key, n in rows:
        facet, _, value = str(key).partition(":")
        if facet in counts and value:
            counts[facet][value] = int(n)
    return counts
