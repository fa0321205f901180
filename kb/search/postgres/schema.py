"""The PostgreSQL search schema as migration 0007 created it: configurations, tables, indexes.

Since migration 0012 the vectors hold the project's own analysed terms, written from Python
(``kb.search.postgres.vectors``): the configurations below and ``lexemes`` are no longer
used by searches (``terms`` replaces ``lexemes``; ``config`` is dropped).

Everything lives in the schema ``kb_search`` so the application's own tables (and the
migration test that compares them with the models) never see it. Migration 0007 runs
``UPGRADE_0007`` on PostgreSQL only; SQLite databases get nothing.

Migration 0007 created copies of PostgreSQL's Snowball configurations (stop words, then
``unaccent``, then the stemmer) for the analysis PostgreSQL did itself until 0012.
"""

from __future__ import annotations

from kb.search.analysis import SNOWBALL

SCHEMA = "kb_search"
SIMPLE = f"{SCHEMA}.simple"
#: Namespace of the advisory locks that serialise writes of one case's search row.
LOCK_NAMESPACE = 0x6B62

_TOKENS = "asciiword, asciihword, hword_asciipart, word, hword, hword_part"


def _configuration(name: str) -> list[str]:
    return [
        f"CREATE TEXT SEARCH DICTIONARY {SCHEMA}.{name}_stop "
        f"(TEMPLATE = pg_catalog.simple, STOPWORDS = {name}, ACCEPT = false)",
        f"CREATE TEXT SEARCH CONFIGURATION {SCHEMA}.{name} (COPY = pg_catalog.{name})",
        f"ALTER TEXT SEARCH CONFIGURATION {SCHEMA}.{name} ALTER MAPPING FOR {_TOKENS} "
        f"WITH {SCHEMA}.{name}_stop, unaccent, pg_catalog.{name}_stem",
    ]


#: What migration 0007 creates. Frozen: a later change to the search schema goes into a new
#: list applied by a new migration, so that every database gets the same steps.
UPGRADE_0007: list[str] = [
    # Both are trusted extensions (PostgreSQL 13+): a database owner may create them.
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE SCHEMA {SCHEMA}",
    *[line for name in sorted(set(SNOWBALL.values())) for line in _configuration(name)],
    f"CREATE TEXT SEARCH CONFIGURATION {SIMPLE} (COPY = pg_catalog.simple)",
    f"ALTER TEXT SEARCH CONFIGURATION {SIMPLE} ALTER MAPPING FOR {_TOKENS} "
    "WITH unaccent, pg_catalog.simple",
    f"""CREATE TABLE {SCHEMA}.documents (
        case_id integer PRIMARY KEY,
        version text NOT NULL,
        ref text,
        slug text NOT NULL,
        language text NOT NULL,
        config regconfig NOT NULL,
        country text NOT NULL,
        title text NOT NULL,
        summary text NOT NULL,
        body text NOT NULL,
        -- every facet value as "facet:value" (country:NO, theme:employment, year:1996,
        -- and plugins' facets): one GIN index filters them all, one unnest counts them all
        facet_keys text[] NOT NULL,
        published_at timestamptz,
        words text[] NOT NULL,
        -- title (A) and summary (B) alone: small enough to rank many matches quickly
        head tsvector NOT NULL,
        vector tsvector NOT NULL
    )""",
    # lz4 decompresses several times faster than pglz (where the server has it).
    f"""DO $$ BEGIN
        ALTER TABLE {SCHEMA}.documents ALTER COLUMN vector SET COMPRESSION lz4;
    EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL;
    END $$""",
    f"CREATE INDEX documents_vector ON {SCHEMA}.documents USING gin (vector)",
    f"CREATE INDEX documents_facet_keys ON {SCHEMA}.documents USING gin (facet_keys)",
    f"CREATE INDEX documents_country ON {SCHEMA}.documents (country)",
    f"CREATE INDEX documents_language ON {SCHEMA}.documents (language)",
    f"CREATE INDEX documents_published ON {SCHEMA}.documents (published_at DESC NULLS LAST)",
    # In how many cases of a language each lexeme occurs: compound splitting and
    # "related" need document frequencies, and ts_stat over every row is far too slow.
    f"""CREATE TABLE {SCHEMA}.lexemes (
        language text NOT NULL,
        lexeme text COLLATE "C" NOT NULL,
        ndoc integer NOT NULL,
        PRIMARY KEY (language, lexeme)
    )""",
    # Words as written (lowercase, not folded) with their document counts: "did you mean".
    f"""CREATE TABLE {SCHEMA}.words (
        word text COLLATE "C" PRIMARY KEY,
        ndoc integer NOT NULL
    )""",
    f"CREATE INDEX words_trigrams ON {SCHEMA}.words USING gin (word gin_trgm_ops)",
]

DOWNGRADE_0007: list[str] = [f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"]

#: Tables that hold the index (emptied by a rebuild, and by the test fixtures); since
#: migration 0012 ``terms`` (the planner's document frequencies) replaces ``lexemes``.
TABLES = (f"{SCHEMA}.documents", f"{SCHEMA}.terms", f"{SCHEMA}.words")
